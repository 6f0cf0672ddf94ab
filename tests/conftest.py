"""Shared pytest hooks: the site tests' figures, the readable nbval report, the installed package.

The site tests (tests/test_site_html.py, tests/test_site_browser.py) record what they checked
with the ``site_stats`` fixture (pages, formulas, links, axe findings, ...). At the end of the
run ``pytest_terminal_summary`` prints those figures, and writes them to
``_build/site-test-summary.txt``. Under pytest-xdist each worker sends its figures to the
controller with the run's other results (``workeroutput``), so the summary covers every worker.

nbval's results have one source, the JUnit XML of the run (``--junitxml``; ``make test`` writes
``_build/reports/nbval.xml``, which the status page reads). When that report holds notebook
cells, the readable summary ``nbval.txt`` next to it (one line per notebook: cells passed,
failed, skipped, seconds, then every failure's report; CI uploads it) is derived from it at the
end of the run by ``course_infra.nbval_summary``.

``scripts/`` is put on ``sys.path`` here, so that tests import the shared test infrastructure
as ``import course_infra``. With ``COURSE_INSTALLED_D2LUTIL=1`` (``make floors``/``newest``) the
run stops unless ``d2lutil`` is the installed package, not this checkout's folder.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import course_infra  # noqa: E402

SUMMARY = ROOT / "_build" / "site-test-summary.txt"

_STATS: dict[str, object] = {}


def _merge(into: dict, new: dict) -> None:
    for key, value in new.items():
        old = into.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            _merge(old, value)
        elif isinstance(old, list) and isinstance(value, list):
            old.extend(value)
        elif isinstance(old, int | float) and isinstance(value, int | float):
            into[key] = old + value
        else:
            into[key] = value


@pytest.fixture(scope="session")
def site() -> Path:
    """The built site, ``_build/html``, for the site tests (tests/test_site_*.py).

    Outside CI a missing build skips the test that asks for it; with CI=true it fails.
    """
    import site_helpers

    return site_helpers.require_site()


@pytest.fixture(scope="session")
def site_stats() -> dict[str, object]:
    """Figures a site test wants in the summary: ``site_stats["key"] = value``.

    Values must be JSON-serialisable; numbers from several workers add up, lists concatenate,
    dicts merge.
    """
    return _STATS


@pytest.fixture
def quiet_board(monkeypatch):
    """No progress board output (D2LUTIL_BOARD=off) and no figure left open after a test.

    The d2lutil unit tests that train use it: ``pytestmark = pytest.mark.usefixtures(...)``.
    """
    monkeypatch.setenv("D2LUTIL_BOARD", "off")
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def _is_worker(config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """xdist controller: collect a worker's figures."""
    payload = getattr(node, "workeroutput", {}).get("site_stats")
    if payload:
        _merge(_STATS, json.loads(payload))


def pytest_sessionstart(session):
    if os.environ.get("COURSE_INSTALLED_D2LUTIL") == "1":
        import d2lutil

        where = Path(d2lutil.__file__).resolve()
        if where.is_relative_to(ROOT / "d2lutil"):
            pytest.exit(
                f"d2lutil was imported from the checkout ({where}), not installed"
            )


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    """A worker sends its figures; the controller derives nbval.txt from the JUnit report
    (junitxml has written it by now: this hook runs last)."""
    if _is_worker(session.config):
        session.config.workeroutput["site_stats"] = json.dumps(_STATS)
        return
    xml = session.config.option.xmlpath
    if not xml or not Path(xml).is_file():
        return
    run = course_infra.read_junit(Path(xml))
    if run.cells:
        text = Path(xml).with_suffix(".txt")
        text.write_text(course_infra.nbval_summary(run), encoding="utf-8")
        session.config._course_nbval_txt = text


def summary_lines(stats: dict) -> list[str]:
    """The figures of the site tests, as printed at the end of the run."""
    lines = []
    html = stats.get("html")
    if html:
        lines.append(
            f"built HTML checked (no browser): {html['pages']} pages of _toc.yml, "
            f"{html['files']} HTML files"
        )
    if "katex" in stats:
        formulas, pages = stats["katex"]
        lines.append(
            f"  formulas rendered by KaTeX at build time (HTML and MathML, 0 errors): "
            f"{formulas} on {pages} pages"
        )
    if "tex_in_text" in stats:
        known = stats["tex_in_text"]
        lines.append(
            "  TeX left as text outside math, code and outputs: "
            + (
                f"{known} known pieces (KNOWN_TEX_IN_TEXT), no other"
                if known
                else "none"
            )
        )
    if "links" in stats:
        links, fragments = stats["links"]
        lines.append(
            f"  internal links and assets resolved: {links} ({fragments} anchors checked)"
        )
    if "equations" in stats:
        eqs, refs = stats["equations"]
        lines.append(
            f"  numbered equations: {eqs}; equation references checked: {refs}"
        )
    if "images" in stats:
        images = stats["images"]
        lines.append(
            f"  images with alt text: {images['total']} "
            f"({images['context']} alt from context)"
        )
    if "plots" in stats:
        lines.append(f"  plots with an opaque background: {stats['plots']}")
    if "headings" in stats:
        lines.append(f"  headings in order: {stats['headings']}")
    if "bibliography" in stats:
        entries, citations = stats["bibliography"]
        lines.append(
            f"  bibliography: {entries} entries, {citations} citations whose text "
            "equals the entry's author-year label"
        )
    if "setup_cells" in stats:
        lines.append(f"  Colab set-up cells collapsed: {stats['setup_cells']}")
    if "status_rows" in stats:
        lines.append(f"  status page rows: {stats['status_rows']}")
    browser = stats.get("browser")
    if browser:
        lines.append(
            f"browser ({browser['chromium']}, Playwright {browser['playwright']}): "
            f"{browser['pages']} pages loaded over HTTP"
        )
    math = stats.get("math")
    if math:
        nodes = sum(n for n, _ in math.values())
        shown = sum(c for _, c in math.values())
        lines.append(
            f"  formulas drawn with KaTeX's stylesheet and fonts: {shown} of {nodes} "
            f"on {len(math)} pages (those with a layout box)"
        )
    fonts = stats.get("fonts")
    if fonts:
        lines.append(
            f"  math fonts preloaded, each used and none missing: {sum(fonts.values())} "
            f"on {len(fonts)} pages"
        )
    for key, text in (
        ("buttons", "notebook pages: Colab link and .ipynb download checked"),
        ("navigation", "pages walked by next, then back by previous (static HTML)"),
        ("narrow", "pages without horizontal overflow at 390 px"),
        ("search", "search queries typed"),
        ("theme", "text/code/math/plot contrasts measured in dark mode"),
        ("toggles", "set-up cells opened by a click"),
    ):
        if key in stats:
            value = stats[key]
            if isinstance(value, dict):
                value = ", ".join(f"{k} {v}" for k, v in sorted(value.items()))
            lines.append(f"  {text}: {value}")
    scaled = stats.get("scaled")
    if scaled:
        count = sum(n for n, _ in scaled.values())
        page, (_, smallest) = min(scaled.items(), key=lambda kv: kv[1][1])
        lines.append(
            f"  formulas scaled to fit 390 px: {count} on {len(scaled)} pages, "
            f"smallest {smallest:.0f} % ({page})"
        )
    axe = stats.get("axe")
    if axe:
        lines.append(
            f"axe-core {axe.get('version', '?')}: {axe['pages']} page audits "
            f"({', '.join(dict.fromkeys(axe.get('modes', [])))})"
        )
        if without := stats.get("axe_without_katex_layout"):
            whole = axe["pages"] - without["pages"]
            lines.append(
                f"  KaTeX's visual layout audited in {whole} of {axe['pages']} audits, "
                f"left out on {without['pages']} pages "
                f"({without['formulas']} formulas; their MathML audited)"
            )
        by_impact = axe.get("impact", {})
        for impact in ("critical", "serious", "moderate", "minor"):
            rules = by_impact.get(impact, {})
            nodes = sum(rules.values())
            detail = ", ".join(f"{r} {n}" for r, n in sorted(rules.items()))
            lines.append(
                f"  {impact}: {nodes} elements" + (f" ({detail})" if detail else "")
            )
    if "workflows" in stats:
        lines.append(f"workflows (check-jsonschema, offline): {stats['workflows']}")
    if "pre_commit" in stats:
        lines.append(f"pre-commit: {stats['pre_commit']}")
    if stats.get("screenshots"):
        lines.append("screenshots:")
        lines += [f"  {s}" for s in sorted(stats["screenshots"])]
    return lines


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _is_worker(config):
        return
    text = getattr(config, "_course_nbval_txt", None)
    if text:
        terminalreporter.write_line(f"nbval report: {text} (from {text.stem}.xml)")
    lines = summary_lines(_STATS)
    if not lines:
        return
    terminalreporter.section("site checks")
    for line in lines:
        terminalreporter.write_line(line)
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY.write_text("\n".join(lines) + "\n", encoding="utf-8")
