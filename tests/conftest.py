"""Shared pytest hooks: the site tests' figures in the terminal summary, and an nbval report.

The site tests (tests/test_site_html.py, tests/test_site_browser.py) record what they checked
with the ``site_stats`` fixture (pages, formulas, links, axe findings, ...). At the end of the
run ``pytest_terminal_summary`` prints those figures, and writes them to
``_build/site-test-summary.txt``. Under pytest-xdist each worker sends its figures to the
controller with the run's other results (``workeroutput``), so the summary covers every worker.

The nbval results (one line per notebook: cells passed, failed, skipped, seconds, then every
failure's report) are written to ``_build/reports/nbval.txt``, which CI uploads.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = ROOT / "_build" / "site-test-summary.txt"
NBVAL_REPORT = ROOT / "_build" / "reports" / "nbval.txt"

_STATS: dict[str, object] = {}
_NBVAL: dict[str, dict] = defaultdict(
    lambda: {"passed": 0, "failed": 0, "skipped": 0, "seconds": 0.0, "failures": []}
)


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


def pytest_sessionfinish(session):
    if _is_worker(session.config):
        session.config.workeroutput["site_stats"] = json.dumps(_STATS)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """xdist controller: collect a worker's figures."""
    payload = getattr(node, "workeroutput", {}).get("site_stats")
    if payload:
        _merge(_STATS, json.loads(payload))


class _NbvalReport:
    """A plugin object, not a conftest hook: conftest hooks about a test item are only called
    for items under the conftest's folder (tests/), and the notebooks are in chapters/."""

    @staticmethod
    def pytest_runtest_logreport(report):
        _count_nbval(report)


def pytest_configure(config):
    config.pluginmanager.register(_NbvalReport(), "course-nbval-report")


def _count_nbval(report) -> None:
    """Count nbval cell results per notebook (on the controller: reports of every worker)."""
    path = report.nodeid.split("::", 1)[0]
    if not path.endswith(".ipynb"):
        return
    entry = _NBVAL[path]
    if report.when == "call" or (report.when == "setup" and not report.passed):
        outcome = report.outcome
        entry[outcome] = entry.get(outcome, 0) + 1
        if report.failed:
            entry["failures"].append((report.nodeid, report.longreprtext))
    entry["seconds"] += report.duration


def _write_nbval_report() -> None:
    lines = ["nbval: cells passed / failed / skipped and seconds, per notebook", ""]
    for path, e in sorted(_NBVAL.items()):
        lines.append(
            f"{path}: {e['passed']} passed, {e['failed']} failed, "
            f"{e['skipped']} skipped, {e['seconds']:.1f} s"
        )
    failures = [f for e in _NBVAL.values() for f in e["failures"]]
    for nodeid, text in failures:
        lines += ["", "=" * 100, f"FAILED {nodeid}", text]
    NBVAL_REPORT.parent.mkdir(parents=True, exist_ok=True)
    NBVAL_REPORT.write_text("\n".join(lines) + "\n", encoding="utf-8")


def summary_lines(stats: dict) -> list[str]:
    """The figures of the site tests, as printed at the end of the run."""
    lines = []
    html = stats.get("html")
    if html:
        lines.append(
            f"built HTML checked (no browser): {html['pages']} pages of _toc.yml, "
            f"{html['files']} HTML files"
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
        typeset = sum(c for _, c in math.values())
        lines.append(
            f"  formulas typeset after MathJax.startup.promise: {typeset} "
            f"mjx-container for {nodes} math nodes on {len(math)} pages, 0 errors"
        )
    for key, text in (
        ("buttons", "notebook pages: Colab link and .ipynb download checked"),
        ("navigation", "pages walked by next, then back by previous"),
        ("narrow", "pages without horizontal overflow at 390 px"),
        ("search", "search queries typed"),
        ("theme", "text/code/math/plot contrasts measured in dark mode"),
        ("toggles", "set-up cells opened by a click"),
    ):
        if key in stats:
            lines.append(f"  {text}: {stats[key]}")
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
            f"({', '.join(axe.get('modes', []))})"
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
    if _NBVAL:
        _write_nbval_report()
        terminalreporter.write_line(
            f"nbval report: {NBVAL_REPORT.relative_to(ROOT)}", bold=False
        )
    lines = summary_lines(_STATS)
    if not lines:
        return
    terminalreporter.section("site checks")
    for line in lines:
        terminalreporter.write_line(line)
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY.write_text("\n".join(lines) + "\n", encoding="utf-8")
