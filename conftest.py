"""The order in which pytest hands out the tests: the longest work first.

``make test`` spreads the tests over two pytest-xdist workers: notebooks whole (``--dist
loadfile``: a notebook's cells run in order in one kernel) and the site's pages one test each
(``--dist load``). Each worker takes the next piece of work when it is free, so a long notebook
handed out last keeps one worker busy while the other has nothing left: the run takes as long
as the longest worker. Handing out the longest work first (the longest-processing-time rule)
lets the short pieces fill in at the end, and both workers finish close together. Expected
lengths need no timing run:

- a notebook takes about as long as its stored run (``stored_run.seconds`` in its metadata,
  written by ``make outputs``), and notebooks come before the test files;
- within a test file, the tests of a site page take about as long as the page's HTML is big
  (most of it is KaTeX's markup, which the browser lays out and axe-core walks): biggest first.

The test files keep the order in which pytest collected them (the Makefile names the browser
tests before the others), and each file's tests stay together, so that a module's fixtures are
set up once per worker; so do the cells of a notebook. xdist must not reorder the files by their
number of tests itself: the Makefile passes ``--no-loadscope-reorder``.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# pytest put this folder on sys.path to import this file (its "prepend" import mode). Take it off
# again: `import d2lutil` must find the installed package (`make floors` and `make newest` test
# the wheel, and tests/conftest.py stops a run that imported the checkout's copy instead).
while str(ROOT) in sys.path:
    sys.path.remove(str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
import course_infra  # noqa: E402


@cache
def stored_seconds(path: Path) -> float:
    """The seconds of a notebook's stored run (0 if it has no record)."""
    seconds = course_infra.stored_run(path).get("seconds", 0)
    return float(seconds) if isinstance(seconds, int | float) else 0.0


def page_size(item) -> int:
    """The size of the built page a test is parametrized by (0 if none)."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    html = getattr(params.get("page"), "html", None)
    return html.stat().st_size if isinstance(html, Path) and html.is_file() else 0


def work_order(items: list) -> list:
    """Notebooks longest first, then the test files in their order, in each the tests of the
    biggest pages first (a stable sort: everything else keeps its order)."""
    files: dict[Path, int] = {}
    for item in items:
        files.setdefault(Path(str(item.path)), len(files))

    def key(item) -> tuple:
        path = Path(str(item.path))
        if path.suffix == ".ipynb":
            return (0, -stored_seconds(path), files[path], 0)
        return (1, 0, files[path], -page_size(item))

    return sorted(items, key=key)


def pytest_collection_modifyitems(config, items):
    items[:] = work_order(items)
