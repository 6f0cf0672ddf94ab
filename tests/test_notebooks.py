"""Hygiene of the course notebooks: what every stored notebook must satisfy.

nbval (run by ``make test``) re-executes the notebooks and compares outputs; these tests check
the things nbval does not: that the stored file is one clean top-to-bottom run, that the table of
contents and the files agree, that the Colab set-up cell is right, and that nothing private leaks
into the outputs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
NOTEBOOKS = sorted(CHAPTERS.rglob("*.ipynb"))
NOTEBOOKS = [p for p in NOTEBOOKS if ".ipynb_checkpoints" not in p.parts]
NB_IDS = [str(p.relative_to(ROOT)) for p in NOTEBOOKS]
SECTION_NAME = re.compile(r"^(\d)_(\d+)_[a-z0-9_]+\.ipynb$")
CHAPTER_DIR = re.compile(r"^0(\d)_[a-z_]+$")


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def tags(cell: dict) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("chapters"))
    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    return files


def repository_url() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"].rstrip("/")


def setup_cell_source(url: str) -> str:
    """The exact Colab set-up cell every notebook starts with (see CONTRIBUTING.md)."""
    return (
        "# Colab set-up: installs the course helpers only where they are missing.\n"
        "try:\n"
        "    import d2lutil  # noqa: F401\n"
        "except ImportError:\n"
        f'    %pip install --quiet "d2lutil @ git+{url}"'
    )


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found under chapters/"


def test_every_notebook_is_in_the_toc_and_every_entry_exists():
    listed = toc_files()
    assert len(listed) == len(set(listed)), "an entry appears twice in _toc.yml"
    missing = [
        f
        for f in listed
        if not any((ROOT / f).with_suffix(s).is_file() for s in (".md", ".ipynb"))
    ]
    assert not missing, f"_toc.yml lists files that do not exist: {missing}"
    unlisted = [
        str(p.relative_to(ROOT))
        for p in NOTEBOOKS
        if str(p.relative_to(ROOT).with_suffix("")) not in listed
    ]
    assert not unlisted, f"notebooks missing from _toc.yml: {unlisted}"


def test_toc_lists_sections_in_reading_order():
    sections = [f for f in toc_files() if SECTION_NAME.match(Path(f).name + ".ipynb")]
    numbers = [
        tuple(int(n) for n in SECTION_NAME.match(Path(f).name + ".ipynb").groups())
        for f in sections
    ]
    assert numbers == sorted(numbers), f"sections out of order in _toc.yml: {sections}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NB_IDS)
def test_notebook_name_shows_its_section(path: Path):
    match = SECTION_NAME.match(path.name)
    assert match, f"{path.name}: name notebooks <chapter>_<section>_<words>.ipynb"
    chapter_dir = CHAPTER_DIR.match(path.parent.name)
    assert chapter_dir and chapter_dir.group(1) == match.group(1), (
        f"{path.name} lies in {path.parent.name}, not in its chapter's folder"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NB_IDS)
def test_stored_outputs_are_one_clean_run(path: Path):
    nb = load(path)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    counts = [c.get("execution_count") for c in code]
    assert counts == list(range(1, len(code) + 1)), (
        f"execution counts {counts}: re-run the notebook top to bottom with `make outputs NB={path.relative_to(ROOT)}`"
    )
    for i, cell in enumerate(code, 1):
        errors = [o for o in cell.get("outputs", []) if o["output_type"] == "error"]
        if "raises-exception" in tags(cell):
            assert errors, (
                f"code cell {i} is tagged raises-exception but stores no error"
            )
        else:
            assert not errors, (
                f"code cell {i} stores an error: {errors[0].get('ename')}"
            )
        stderr = [
            o
            for o in cell.get("outputs", [])
            if o["output_type"] == "stream" and o["name"] == "stderr"
        ]
        assert not stderr, (
            f"code cell {i} writes to stderr: {''.join(stderr[0]['text'])[:200]!r}"
        )


PRIVATE = re.compile(
    r"(/root\b|/home/[A-Za-z]|/Users/[A-Za-z]|/work/|/tmp/|[A-Z]:\\\\Users)"
)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NB_IDS)
def test_no_private_paths_in_outputs_or_metadata(path: Path):
    nb = load(path)
    leaks = []
    for i, cell in enumerate(nb["cells"]):
        blob = json.dumps(cell.get("outputs", [])) + json.dumps(
            cell.get("metadata", {})
        )
        leaks += [(i, m.group(0)) for m in PRIVATE.finditer(blob)]
    leaks += [
        ("metadata", m.group(0)) for m in PRIVATE.finditer(json.dumps(nb["metadata"]))
    ]
    assert not leaks, f"absolute paths or user names stored: {leaks[:5]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NB_IDS)
def test_nbval_markers_are_tags_not_comments(path: Path):
    for i, cell in enumerate(load(path)["cells"]):
        assert not re.search(r"#\s*nbval[_-]", source(cell), re.IGNORECASE), (
            f"cell {i}: use the cell tags nbval-ignore-output / nbval-skip, not comment markers"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NB_IDS)
def test_first_code_cell_is_the_colab_setup_cell(path: Path):
    cells = [c for c in load(path)["cells"] if c["cell_type"] == "code"]
    assert cells, "a section notebook has code"
    assert source(cells[0]).strip() == setup_cell_source(repository_url()), (
        "the first code cell must be the Colab set-up cell of CONTRIBUTING.md, "
        "with the URL of repository.url in _config.yml"
    )


def test_setup_cell_does_nothing_where_d2lutil_is_installed():
    namespace: dict = {}
    body = setup_cell_source(repository_url()).replace(
        "%pip", "raise AssertionError  #"
    )
    exec(compile(body, "<setup cell>", "exec"), namespace)  # noqa: S102
    assert "d2lutil" in namespace


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NB_IDS)
def test_setup_cell_is_collapsed_on_the_site(path: Path):
    """The set-up cell carries the ``hide-input`` tag: the site shows it folded.

    Only that tag: the cell stays a normal code cell (no ``remove-*`` tag, which would drop it
    from the page, and no ``hide-cell``/``hide-output``), so Colab and Jupyter run it as is.
    """
    cells = [c for c in load(path)["cells"] if c["cell_type"] == "code"]
    first = tags(cells[0])
    assert "hide-input" in first, (
        'tag the first code cell "hide-input" (cell metadata {"tags": ["hide-input"]})'
    )
    hiding = [
        t for t in first if t.startswith(("remove-", "hide-")) and t != "hide-input"
    ]
    assert not hiding, f"the set-up cell must only be collapsed, not {hiding}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NB_IDS)
def test_structure_title_summary_exercises(path: Path):
    cells = load(path)["cells"]
    markdown = [source(c) for c in cells if c["cell_type"] == "markdown"]
    text = "\n".join(markdown)
    in_fence = False
    headings = []
    for line in text.splitlines():
        if line.lstrip().startswith(("```", ":::")):
            in_fence = not in_fence
            continue
        if not in_fence and re.match(r"^#{1,6} ", line):
            headings.append(len(line.split(" ")[0]))
    assert headings and headings[0] == 1 and headings.count(1) == 1, (
        "exactly one '#' title, at the top"
    )
    for before, after in zip(headings, headings[1:]):
        assert after <= before + 1, f"heading levels skip from {before} to {after}"
    assert re.search(r"^## Summary\s*$", text, re.MULTILINE), "a '## Summary' section"
    assert re.search(r"^## Exercises\s*$", text, re.MULTILINE), (
        "a '## Exercises' section"
    )
    exercises = re.findall(r"```\{exercise\}[^\n]*\n:label: (\S+)", text)
    solutions = re.findall(r"```\{solution\} (\S+)\n((?::[^\n]*\n)*)", text)
    assert len(exercises) >= 3, f"at least three exercises, found {len(exercises)}"
    solved = {label for label, options in solutions if ":class: dropdown" in options}
    assert set(exercises) <= solved, (
        f"exercises without a worked solution in a dropdown: {sorted(set(exercises) - solved)}"
    )


def test_labels_are_unique_across_the_book():
    seen: dict[str, str] = {}
    pattern = re.compile(
        r"(?:\$\$\s*\(([\w-]+)\)\s*$|^:label: (\S+)|^\(([\w-]+)\)=)", re.MULTILINE
    )
    for path in NOTEBOOKS + sorted(CHAPTERS.rglob("*.md")):
        text = (
            "\n".join(
                source(c) for c in load(path)["cells"] if c["cell_type"] == "markdown"
            )
            if path.suffix == ".ipynb"
            else path.read_text(encoding="utf-8")
        )
        for match in pattern.finditer(text):
            label = next(g for g in match.groups() if g)
            assert label not in seen, f"label {label} in {path.name} and {seen[label]}"
            seen[label] = path.name
