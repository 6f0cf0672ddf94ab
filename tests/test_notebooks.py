"""Hygiene of the course notebooks: what every stored notebook must satisfy.

nbval (run by ``make test``) re-executes the notebooks and compares outputs; these tests check
the things nbval does not: that the stored file is one clean top-to-bottom run, that the table of
contents and the files agree, that the Colab set-up cell is right, and that nothing private leaks
into the outputs.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml
from course_infra import toc_files

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


def test_the_notebooks_are_the_sections_the_readme_lists():
    """One notebook per section of the README's table ("What is in the course"), named by
    its number (N_M_name.ipynb), and no other; so the checks below run over every section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## What is in the course", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"(?<![\d.])(\d)\.(\d+) [a-z]", table)
    numbered = [tuple(p.name.split("_")[:2]) for p in NOTEBOOKS]
    assert len(listed) >= 27, f"the README's table lists only {listed}"
    assert sorted(numbered, key=lambda n: tuple(map(int, n))) == listed


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
    assert chapter_dir, f"{path.parent.name} is not a chapter folder NN_name"
    assert chapter_dir.group(1) == match.group(1), (
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


class _RecordingShell:
    def __init__(self):
        self.magics = []

    def run_line_magic(self, name, line):
        self.magics.append((name, line))


def _run_setup_cell(path: Path, monkeypatch, importable: bool) -> list:
    """Run a notebook's own first code cell as IPython would; return the magics it ran."""
    from IPython.core.inputtransformer2 import TransformerManager

    cell = next(c for c in load(path)["cells"] if c["cell_type"] == "code")
    python = TransformerManager().transform_cell(source(cell))
    if not importable:
        monkeypatch.setitem(sys.modules, "d2lutil", None)  # import d2lutil fails
    shell = _RecordingShell()
    exec(compile(python, str(path), "exec"), {"get_ipython": lambda: shell})
    return shell.magics


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NB_IDS)
def test_setup_cell_installs_only_where_d2lutil_is_missing(path: Path, monkeypatch):
    assert _run_setup_cell(path, monkeypatch, importable=True) == []
    magics = _run_setup_cell(path, monkeypatch, importable=False)
    assert magics == [("pip", f'install --quiet "d2lutil @ git+{repository_url()}"')]


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
    assert headings, "headings"
    assert headings[0] == 1, "the '#' title comes first"
    assert headings.count(1) == 1, "exactly one '#' title"
    for before, after in zip(headings, headings[1:], strict=False):
        assert after <= before + 1, f"heading levels skip from {before} to {after}"
    assert re.search(r"^## Summary\s*$", text, re.MULTILINE), "a '## Summary' section"
    assert re.search(r"^## Exercises\s*$", text, re.MULTILINE), (
        "a '## Exercises' section"
    )
    problems = exercise_problems(cells)
    assert not problems, "exercises and solutions: " + "; ".join(problems)


# Exercises and their solutions (sphinx-exercise). A solution is either one directive,
# ```{solution} ex-...``` with ``:class: dropdown`` (prose only), or, when it has code, a
# ```{solution-start} ex-...``` markdown cell, the solution's code and markdown cells, and a
# ```{solution-end}``` markdown cell: its code then runs in the build and under nbval like any
# other cell. Code in a markdown fence inside a solution is never executed, so it is refused.
DIRECTIVE = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{(?P<name>exercise|solution|solution-start|solution-end)\}"
    r"[ \t]*(?P<arg>\S*)[ \t]*$"
)
PYTHON_FENCE = re.compile(
    r"^[ \t]*(?:`{3,}|~{3,})[ \t]*\{?(?:python3?|py|ipython3?|pycon|code-cell)\b",
    re.IGNORECASE | re.MULTILINE,
)


def exercise_items(cells: list[dict]) -> list[tuple[str, str, str, str]]:
    """The sequence of (kind, label, options, text) in reading order.

    kind is a directive name, "text" (markdown outside any directive) or "code" (a code
    cell); for "solution" the text is the directive's body.
    """
    items: list[tuple[str, str, str, str]] = []
    for cell in cells:
        if cell["cell_type"] == "code":
            items.append(("code", "", "", source(cell)))
            continue
        if cell["cell_type"] != "markdown":
            continue
        lines = source(cell).splitlines()
        outside: list[str] = []
        i = 0
        while i < len(lines):
            match = DIRECTIVE.match(lines[i])
            if not match:
                outside.append(lines[i])
                i += 1
                continue
            if outside:
                items.append(("text", "", "", "\n".join(outside)))
                outside = []
            fence, j = match["fence"], i + 1
            while j < len(lines) and lines[j].strip() != fence:
                j += 1
            body = lines[i + 1 : j]
            options = []
            while body and body[0].startswith(":"):
                options.append(body.pop(0))
            label = match["arg"]
            if match["name"] == "exercise":
                label = next(
                    (o.split(None, 1)[1] for o in options if o.startswith(":label: ")),
                    "",
                )
            items.append((match["name"], label, "\n".join(options), "\n".join(body)))
            i = j + 1
        if outside:
            items.append(("text", "", "", "\n".join(outside)))
    return items


def exercise_problems(cells: list[dict]) -> list[str]:
    """What is wrong with a notebook's exercises and solutions (empty when nothing is)."""
    problems: list[str] = []
    exercises: list[str] = []
    solved: list[str] = []
    open_label = None
    for kind, label, options, text in exercise_items(cells):
        if kind == "exercise":
            if open_label is not None:
                problems.append(
                    f"exercise {label} inside the open solution of {open_label}"
                )
                open_label = None
            if not label:
                problems.append("an exercise without :label:")
            exercises.append(label)
        elif kind in ("solution", "solution-start"):
            if open_label is not None:
                problems.append(
                    f"solution of {label} opens inside that of {open_label}"
                )
            if not exercises or label != exercises[-1]:
                problems.append(
                    f"solution {label or '(no label)'} does not follow its exercise"
                    + (f" (the last exercise is {exercises[-1]})" if exercises else "")
                )
            if ":class: dropdown" not in options:
                problems.append(
                    f"solution {label} is not a dropdown (:class: dropdown)"
                )
            if kind == "solution" and PYTHON_FENCE.search(text):
                problems.append(
                    f"solution {label} has code in a markdown fence: make it a code cell "
                    "between solution-start and solution-end"
                )
            solved.append(label)
            open_label = label if kind == "solution-start" else None
        elif kind == "solution-end":
            if open_label is None:
                problems.append("a solution-end without its solution-start")
            open_label = None
        elif kind == "text" and open_label is not None and PYTHON_FENCE.search(text):
            problems.append(
                f"solution {open_label} has code in a markdown fence: make it a code cell"
            )
    if open_label is not None:
        problems.append(f"solution {open_label} is never closed by solution-end")
    if len(exercises) < 3:
        problems.append(f"at least three exercises, found {len(exercises)}")
    unsolved = [e for e in exercises if solved.count(e) != 1]
    if unsolved:
        problems.append(f"exercises without exactly one solution: {unsolved}")
    return problems


def _md(text: str) -> dict:
    return {"cell_type": "markdown", "source": text}


def _code(text: str) -> dict:
    return {"cell_type": "code", "source": text}


def _exercise(label: str) -> dict:
    return _md(f"```{{exercise}}\n:label: {label}\nQuestion.\n```")


def _start(label: str, dropdown: bool = True) -> dict:
    options = ":class: dropdown\n" if dropdown else ""
    return _md(f"```{{solution-start}} {label}\n{options}```\nProse.")


END = _md("```{solution-end}\n```")


def _good() -> list[dict]:
    return [
        _exercise("ex-a"),
        _start("ex-a"),
        _code("1 + 1"),
        _md("More prose."),
        END,
        _exercise("ex-b"),
        _md("```{solution} ex-b\n:class: dropdown\nProse only.\n```"),
        _exercise("ex-c"),
        _start("ex-c"),
        _code("2 + 2"),
        END,
    ]


def test_exercise_checker_accepts_the_house_shape():
    assert exercise_problems(_good()) == []


FENCED_PROSE = _md("Prose.\n\n```python\nprint('never run')\n```")
FENCED_SOLUTION = _md(
    "````{solution} ex-b\n:class: dropdown\n```python\nprint('never run')\n```\n````"
)
BROKEN = {
    "fenced code between start and end": (
        lambda c: c[:3] + [FENCED_PROSE] + c[4:],
        "code in a markdown fence",
    ),
    "fenced code in a solution directive": (
        lambda c: c[:6] + [FENCED_SOLUTION] + c[7:],
        "code in a markdown fence",
    ),
    "solution-end missing before the next exercise": (
        lambda c: c[:4] + c[5:],
        "inside the open solution",
    ),
    "solution-end missing at the end": (lambda c: c[:-1], "never closed"),
    "solution-end without a start": (lambda c: c + [END], "solution-end without"),
    "nested solution-start": (
        lambda c: c[:3] + [_start("ex-a")] + c[3:],
        "opens inside",
    ),
    "exercise without solution": (
        lambda c: c[:6] + c[7:],
        "without exactly one solution",
    ),
    "solution with no matching exercise": (
        lambda c: c[:1] + [_start("ex-z")] + c[2:],
        "does not follow its exercise",
    ),
    "solutions out of order": (
        lambda c: c[:1] + c[5:6] + c[1:5] + c[6:],
        "does not follow its exercise",
    ),
    "solution not a dropdown": (
        lambda c: c[:1] + [_start("ex-a", dropdown=False)] + c[2:],
        "not a dropdown",
    ),
    "fewer than three exercises": (lambda c: c[:5] + c[7:], "at least three"),
}


@pytest.mark.parametrize("fault", sorted(BROKEN))
def test_exercise_checker_finds_each_fault(fault):
    change, message = BROKEN[fault]
    problems = exercise_problems(change(_good()))
    assert any(message in p for p in problems), problems


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


# Every numbered figure is referenced. A figure with a number and a caption
# (myst-nb's ``mystnb.figure.name`` in a code cell, or a ``{figure}`` directive with ``:name:``)
# exists to be pointed at; one that no sentence points at leaves the reader to guess which
# figure the text describes, and a reference to the wrong figure leaves one unreferenced.
FIGURE_REFERENCE = re.compile(r"\{(?:numref|ref)\}`(?:[^`<]*<)?(fig-[\w-]+)>?`")
FIGURE_DIRECTIVE_NAME = re.compile(r"^:name:\s*(fig-[\w-]+)\s*$", re.MULTILINE)


def markdown_text(path: Path) -> str:
    """The markdown of a page: a notebook's markdown cells, or a MyST file."""
    if path.suffix == ".md":
        return path.read_text(encoding="utf-8")
    cells = load(path)["cells"]
    return "\n".join(source(c) for c in cells if c["cell_type"] == "markdown")


def figure_names(path: Path) -> list[str]:
    """The names of the numbered figures a page defines."""
    names = FIGURE_DIRECTIVE_NAME.findall(markdown_text(path))
    if path.suffix == ".ipynb":
        for cell in load(path)["cells"]:
            figure = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
            if figure.get("name"):
                names.append(figure["name"])
    return names


def unreferenced_figures(figures: dict[str, str], texts: list[str]) -> list[str]:
    """The figures (name -> page) that no {numref} or {ref} in `texts` points at."""
    referenced = {m for text in texts for m in FIGURE_REFERENCE.findall(text)}
    return [
        f"{name} ({page})" for name, page in figures.items() if name not in referenced
    ]


BOOK_PAGES = NOTEBOOKS + sorted(CHAPTERS.rglob("*.md"))


def test_every_numbered_figure_is_referenced():
    figures = {name: path.name for path in BOOK_PAGES for name in figure_names(path)}
    missing = unreferenced_figures(figures, [markdown_text(p) for p in BOOK_PAGES])
    assert not missing, (
        "numbered figures that no {numref}/{ref} points at (say in the text which figure "
        f"shows what): {missing}"
    )


def test_figure_check_finds_an_unreferenced_figure():
    figures = {"fig-9-1-a": "a", "fig-9-1-b": "b", "fig-9-1-c": "c"}
    texts = [
        "As {numref}`fig-9-1-a` shows, and {numref}`Figure %s <fig-9-1-b>` too.",
        "See {ref}`fig-9-1-c`.",
    ]
    assert unreferenced_figures(figures, texts) == []
    texts[0] = "As {numref}`fig-9-1-a` shows (the other figure is not cited)."
    assert unreferenced_figures(figures, texts) == ["fig-9-1-b (b)"]
    assert unreferenced_figures(figures, ["`fig-9-1-c` in code is no reference"]) == [
        "fig-9-1-a (a)",
        "fig-9-1-b (b)",
        "fig-9-1-c (c)",
    ]


# A worked solution runs after the section's main cells alone (CONTRIBUTING.md). A solution
# that reads a variable which only another solution defines works when the notebook runs top
# to bottom, but not for a reader who opens just that solution, and it breaks as soon as the
# other solution changes. Static analysis of the cells: the names a solution's code reads
# must be bound by the section's main cells, by the solution itself, or be builtins.
IPYTHON_LINE = re.compile(r"^(\s*)[%!].*$", re.MULTILINE)


def bound_and_read(code: str) -> tuple[set[str], set[str]]:
    """The names a piece of code binds anywhere (assignment, def, import, argument, loop
    variable, ...) and the names it reads."""
    import ast

    tree = ast.parse(IPYTHON_LINE.sub(r"\1pass", code))
    bound: set[str] = set()
    read: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
            bound.add(node.name)
    return bound, read


def solution_code(cells: list[dict]) -> tuple[list[str], dict[str, list[str]]]:
    """The code of the main cells, and the code of each solution, by exercise label."""
    main: list[str] = []
    solutions: dict[str, list[str]] = {}
    open_label = None
    for kind, label, _options, text in exercise_items(cells):
        if kind == "solution-start":
            open_label = label
            solutions.setdefault(label, [])
        elif kind == "solution-end":
            open_label = None
        elif kind == "code":
            (solutions[open_label] if open_label else main).append(text)
    return main, solutions


def borrowed_names(cells: list[dict]) -> list[str]:
    """Names that a solution reads but only another solution defines."""
    import builtins

    main, solutions = solution_code(cells)
    defined_in_main: set[str] = set()
    for code in main:
        defined_in_main |= bound_and_read(code)[0]
    bound = {label: set() for label in solutions}
    read = {label: set() for label in solutions}
    for label, codes in solutions.items():
        for code in codes:
            b, r = bound_and_read(code)
            bound[label] |= b
            read[label] |= r
    problems = []
    for label in solutions:
        free = read[label] - bound[label] - defined_in_main - set(dir(builtins))
        for other in solutions:
            if other != label and free & bound[other]:
                names = ", ".join(sorted(free & bound[other]))
                problems.append(f"the solution of {label} uses {names} from {other}")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NB_IDS)
def test_solutions_use_no_names_of_other_solutions(path: Path):
    problems = borrowed_names(load(path)["cells"])
    assert not problems, (
        "a solution must run after the section's main cells alone; put shared set-up in "
        "the main cells or repeat it: " + "; ".join(problems)
    )


def test_borrowed_name_check_finds_a_name_from_another_solution():
    cells = [
        _code("import torch\nshared = torch.ones(3)\n%xmode Minimal"),
        _exercise("ex-a"),
        _start("ex-a"),
        _code("def helper(x, scale=2):\n    return [scale * v for v in x]\nsmall = 1"),
        END,
        _exercise("ex-b"),
        _start("ex-b"),
        _code("result = helper(shared)\nfor k in range(3):\n    print(k, result, len)"),
        END,
        _exercise("ex-c"),
        _start("ex-c"),
        _code("small = 2\nprint(small + shared.sum())"),
        END,
    ]
    assert borrowed_names(cells) == ["the solution of ex-b uses helper from ex-a"]
    cells[0] = _code("import torch\nshared = torch.ones(3)\nhelper = print")
    assert borrowed_names(cells) == []


# Inline math that runs over several lines of markdown must not have a line that starts like
# a list item: Markdown reads `+ b_1 - b_2)$` at the start of a line as a bullet, splits the
# formula, and the page shows raw TeX ("$\sigma(\mathbf{x}(\mathbf{w}_1 ..." and a bullet).
LIST_ITEM_START = re.compile(r"^\s*(?:[-+*]|\d+[.)])(?:\s|$)")
CODE_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})(.*)$")


def inline_math_problems(markdown: str) -> list[str]:
    """Lines inside inline math ($...$) that Markdown would read as a list item."""
    kept: list[str] = []
    fences: list[tuple[str, bool]] = []  # open fences: (fence, holds code)
    display = False
    for line in markdown.splitlines():
        match = CODE_FENCE.match(line)
        if match and fences and not match.group(2).strip():
            if match.group(1).startswith(fences[-1][0]):
                fences.pop()  # a bare fence closes the innermost open one
                kept.append("")
                continue
        if match and match.group(2).strip():
            # a directive ({exercise}, {solution}, ...) holds markdown; other fences code
            fences.append((match.group(1), not match.group(2).strip().startswith("{")))
            kept.append("")
            continue
        if any(code for _, code in fences):
            kept.append("")
            continue
        if line.strip().startswith("$$"):  # display math on lines of its own
            display = not display if line.strip() == "$$" or not display else False
            kept.append("")
            continue
        kept.append("" if display else line)
    text = "\n".join(kept)
    text = re.sub(r"(`+)(?:(?!\1).)+?\1", "", text, flags=re.DOTALL)  # code spans
    text = text.replace(r"\$", "")
    problems = []
    for match in re.finditer(r"(?<!\$)\$(?!\$)(.+?)(?<!\$)\$(?!\$)", text, re.DOTALL):
        start = match.start(1)
        while (start := text.find("\n", start, match.end(1))) != -1:
            start += 1  # a line of the page that begins inside the formula
            end = text.find("\n", start)
            line = text[start:] if end == -1 else text[start:end]
            if LIST_ITEM_START.match(line):
                formula = match.group(1).strip()[:60]
                problems.append(f"${formula}...$ has the line {line!r}")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NB_IDS)
def test_no_inline_math_line_starts_like_a_list_item(path: Path):
    problems = inline_math_problems(markdown_text(path))
    assert not problems, (
        "move the line break inside the formula so that no line starts with +, -, * or "
        "a number and a dot: " + "; ".join(problems)
    )


def test_inline_math_check_finds_the_lines_markdown_would_list():
    good = (
        "the model $\\sigma(\\mathbf{x}(\\mathbf{w}_1 - \\mathbf{w}_2) + b_1 -\n"
        "b_2)$ is logistic, $a\n= b$, and\n\n- a list item with $x$ in it\n"
        "```python\nx = '$a\n+ b$'\n```\n$$\nx\n+ y\n$$ (eq-x)\n"
        "a price of `$5` and\n`$6`; $1.\n5$ is fine, and $\\min(x_i,\n0)$ too"
    )
    assert inline_math_problems(good) == []
    for start in ("+ b_1", "- b_1", "* b_1", "12. b_1", "   + b_1"):
        bad = f"is $\\sigma(\\mathbf{{x}}(\\mathbf{{w}}_1 - \\mathbf{{w}}_2)\n{start} - b_2)$."
        problems = inline_math_problems(bad)
        assert len(problems) == 1, (start, problems)
        assert repr(start + " - b_2)$.") in problems[0]


# Section titles in one style, sentence case: the first word capitalised, the others in lower
# case unless they are names. They show in the sidebar and on the status page side by side.
# A word with a capital letter after its first character (PyTorch, MNIST, Fashion-MNIST,
# Kullback–Leibler, XOR) is a name or an acronym; single capitalised names are listed here.
PROPER_NOUNS = {"Python", "Google", "Colab", "Gaussian", "Bayes", "Jupyter", "Apple"}
HEADING = re.compile(r"^(#{1,6}) (.+?)\s*$")


def sentence_case_problems(title: str) -> list[str]:
    """The words of a heading that sentence case would write in lower case."""
    words = re.findall(r"[^\s]+", re.sub(r"[`$][^`$]*[`$]", "", title))
    problems = []
    for word in words[1:]:
        letters = word.strip("()[]{}.,:;!?\"'*_")
        if not letters[:1].isupper() or letters in PROPER_NOUNS:
            continue
        if any(c.isupper() or c.isdigit() for c in letters[1:]):
            continue  # an acronym or a name with inner capitals
        problems.append(letters)
    return problems


def headings(text: str) -> list[str]:
    """The Markdown headings of a page, outside code blocks and directives."""
    found, in_fence = [], False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", ":::")):
            in_fence = not in_fence
            continue
        match = HEADING.match(line)
        if match and not in_fence:
            found.append(match.group(2))
    return found


# The book's own title (chapters/intro.md) is a name, not a section title.
TITLED_PAGES = [p for p in BOOK_PAGES if p.name != "intro.md"]


@pytest.mark.parametrize(
    "path", TITLED_PAGES, ids=[str(p.relative_to(ROOT)) for p in TITLED_PAGES]
)
def test_headings_are_in_sentence_case(path: Path):
    problems = {
        title: words
        for title in headings(markdown_text(path))
        if (words := sentence_case_problems(title))
    }
    assert not problems, (
        "write headings in sentence case (names excepted, see PROPER_NOUNS): "
        f"{problems}"
    )


def test_sentence_case_check_finds_title_case():
    for title in (
        "Data manipulation",
        "Conversion to other Python objects",
        "Why Fashion-MNIST?",
        "Cross-entropy and the Kullback–Leibler divergence",
        "The smallest counterexample: XOR",
        "The `Classifier` class",
        "In Google Colab",
    ):
        assert sentence_case_problems(title) == [], title
    assert sentence_case_problems("Data Manipulation") == ["Manipulation"]
    assert sentence_case_problems("Forward Propagation, Backward Propagation") == [
        "Propagation",
        "Backward",
        "Propagation",
    ]
    assert headings("# Title Case\n```python\n# Not A Heading\n```\n## Next") == [
        "Title Case",
        "Next",
    ]
