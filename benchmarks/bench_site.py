"""How fast the built site reads: bytes, first paint and final math of every page.

Run with ``make bench-site`` (it builds the site first). The built site (``_build/html``, or
``--site DIR``) is served on 127.0.0.1 and every page of ``_toc.yml`` is loaded in headless
Chromium (Debian's, or ``$CHROMIUM``), each load in a fresh browser context (an empty cache, as a
first visit), under two settings:

- ``1x``: a 1280 x 900 desktop window, the CPU at full speed;
- ``4x``: a 390 x 844 phone-sized window with the CPU throttled 4x (Chrome DevTools'
  ``Emulation.setCPUThrottlingRate``), as phone-class hardware.

Per load it measures:

- ``bytes``: the uncompressed bodies of everything the page loaded (the HTML, scripts,
  stylesheets, fonts, images: Resource Timing's ``decodedBodySize``), and ``requests``;
- ``fcp``: first contentful paint (the Paint Timing API), in seconds from navigation;
- ``math_final``: when the math a reader may have seen stops changing, in seconds: the latest
  of first paint, the last change to a formula after it was first painted (typesetting in the
  browser, scaling to fit the width: any change but the HTML parser inserting the formula)
  and the arrival of the last math font that came after the first formula was painted (until
  then the formulas that use it are drawn blank or in another font). A formula the parser
  inserts and nothing changes once it shows is final when it shows (one that
  ``_static/fit_math.js`` keeps invisible until the parser has finished it shows, and so
  arrives, when the script shows it). Pages that typeset in the
  browser (MathJax) are waited for through ``MathJax.startup.promise``; every page then until
  its math has been quiet for 0.5 s;
- ``parsed``: when the HTML was parsed (``domInteractive``): the last formula of the page has
  arrived;
- ``math_changes``: how many changes to formulas already painted counted in ``math_final``.

Each setting is loaded ``--runs`` times (default 3) and the median is reported. Prints one JSON
object per page::

    {"bench": "site_page", "page": "chapters/...", "section": "4.1", "formulas": 449,
     "bytes": 2010435, "requests": 37, "fcp_1x_s": 0.21, "math_final_1x_s": 0.21,
     "parsed_1x_s": 0.5, "math_changes_1x": 0, "fcp_4x_s": 0.62, "math_final_4x_s": 0.62,
     "parsed_4x_s": 2.1, "math_changes_4x": 0}

then a ``site_summary`` line: the largest figures and the targets of issue 22: math final at
4x within 1.5 s and within first paint + 0.3 s on every page and, given ``--baseline`` (the
output of an earlier run, e.g. on a build of the commit before), each page's bytes at most
half of the same page's there. A figure no load could measure is ``null``.

Timings depend on the machine and on what else runs on it; compare runs on one quiet machine.

Usage: python benchmarks/bench_site.py [--site DIR] [--runs N] [--pages SUBSTRING ...]
                                      [--baseline EARLIER.jsonl]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))  # course_infra, which site_helpers uses

import site_helpers as sh  # noqa: E402  (the page list, the web server, Chromium)

SETTINGS = {
    "1x": {"viewport": {"width": 1280, "height": 900}, "throttle": 1},
    "4x": {"viewport": {"width": 390, "height": 844}, "throttle": 4},
}
QUIET_S = 0.5  # math unchanged for this long counts as final
MATH_FONTS = (
    r"/(KaTeX|MathJax)_[^/]*\.woff2?(\?.*)?$/"  # math font files, both renderers
)
TARGET_MATH_FINAL_4X_S = 1.5
TARGET_AFTER_FCP_S = 0.3
TARGET_BYTES_RATIO = 0.5  # of the same page's bytes in a baseline run (--baseline)

# Installed before any script of the page runs. A frame counter (requestAnimationFrame runs
# once per rendering update, this callback before the page's own) tells whether a formula was
# painted before it changed: a formula is first painted in the frame after the one in which
# it arrived, so a change in that next frame's callbacks (where _static/fit_math.js scales a
# new formula) comes before its first paint, and a change later comes after it. Nodes the
# HTML parser inserts are the formula arriving; anything else touching a formula (typesetting
# in the browser, scaling, attributes) is a change. It also records each frame's time, to
# tell when the first formula was painted.
RECORDER = """(() => {
  const t = {mutation: 0, frame: 0, frames: [], firstShown: Infinity, changes: 0};
  window.__benchMath = t;
  const arrived = new WeakMap();  // formula -> frame number when it arrived
  const tick = () => {
    t.frame += 1;
    t.frames.push(performance.now());
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  const formulaOf = node => {
    const e = node.nodeType === 1 ? node : node.parentElement;
    return e && (e.closest('.math') || e.closest('mjx-container'));
  };
  new MutationObserver(records => {
    const parsing = document.readyState === 'loading';
    for (const r of records) {
      const formulas = [r.target, ...r.addedNodes].map(formulaOf).filter(Boolean);
      // _static/fit_math.js keeps a formula the parser may not have finished invisible
      // (data-math-pending) and shows it once it is complete and fitted: for the reader it
      // arrives then, and what is done to it in the same frame comes before its first paint.
      const shownNow = r.type === 'attributes' && r.attributeName === 'data-math-pending' &&
        !r.target.hasAttribute('data-math-pending');
      for (const formula of formulas) {
        if (shownNow) {
          arrived.set(formula, t.frame - 1);
          continue;
        }
        if (!arrived.has(formula)) {
          arrived.set(formula, t.frame);
          t.firstShown = Math.min(t.firstShown, t.frame + 1);
        }
        const parser = parsing && r.type === 'childList';
        if (!parser && t.frame > arrived.get(formula) + 1) {
          t.mutation = performance.now();
          t.changes += 1;
        }
      }
    }
  }).observe(document, {subtree: true, childList: true, attributes: true,
                        characterData: true});
})();"""

SETTLE = """async (quiet) => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await document.fonts.ready;
  const t = window.__benchMath;
  const start = performance.now();
  while (performance.now() - t.mutation < quiet &&
         performance.now() - start < 60000) {
    await new Promise(r => setTimeout(r, 50));
  }
  await document.fonts.ready;
  const paint = performance.getEntriesByName('first-contentful-paint')[0];
  const navigation = performance.getEntriesByType('navigation')[0];
  const entries = [navigation, ...performance.getEntriesByType('resource')];
  const fcp = paint ? paint.startTime : NaN;
  // Math fonts that arrived after the first formula was painted: until then the formulas that
  // use one are drawn blank (KaTeX's font-display is block) or in another font. (Resource
  // Timing: FontFaceSet's events wait for the page's layout too.)
  const shown = t.frames[t.firstShown - 1];
  const fonts = shown === undefined ? [] : entries
    .filter(e => FONTS.test(e.name) && e.responseEnd > shown).map(e => e.responseEnd);
  return {
    fcp: fcp / 1000,
    math_final: Math.max(fcp, t.mutation, ...fonts) / 1000,
    parsed: navigation.domInteractive / 1000,
    changes: t.changes,
    late_fonts: fonts.length,
    bytes: entries.reduce((sum, e) => sum + (e.decodedBodySize || 0), 0),
    requests: entries.length,
    formulas: document.querySelectorAll('.math').length,
  };
}""".replace("FONTS", MATH_FONTS)


def load(browser, url: str, setting: dict) -> dict:
    context = browser.new_context(viewport=setting["viewport"])
    try:
        page = context.new_page()
        page.add_init_script(RECORDER)
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": setting["throttle"]})
        page.goto(url, wait_until="load", timeout=120_000)
        return page.evaluate(SETTLE, QUIET_S * 1000)
    finally:
        context.close()


def median(values) -> float | None:
    """The median of the values that were measured (a load can miss its paint entry)."""
    measured = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(measured) if measured else None


def measure(browser, base: str, page: sh.Page, runs: int) -> dict:
    row: dict = {"bench": "site_page", "page": page.docname, "section": page.number}
    for name, setting in SETTINGS.items():
        loads = [load(browser, base + page.url_path, setting) for _ in range(runs)]
        if name == "1x":
            row["formulas"] = loads[0]["formulas"]
            row["bytes"] = int(median(x["bytes"] for x in loads))
            row["requests"] = int(median(x["requests"] for x in loads))
        for key in ("fcp", "math_final", "parsed"):
            value = median(x[key] for x in loads)
            row[f"{key}_{name}_s"] = None if value is None else round(value, 3)
        row[f"math_changes_{name}"] = int(median(x["changes"] for x in loads))
    return row


def summary(rows: list[dict], baseline: dict[str, dict]) -> dict:
    def worst(key: str) -> dict:
        row = max(rows, key=lambda r: -1 if r[key] is None else r[key])
        return {"value": row[key], "page": row["page"]}

    def over(row: dict, key: str, limit: float) -> bool:
        return row[key] is None or row[key] > limit

    slow = [
        r["page"] for r in rows if over(r, "math_final_4x_s", TARGET_MATH_FINAL_4X_S)
    ]
    late = [
        r["page"]
        for r in rows
        if over(r, "math_final_4x_s", (r["fcp_4x_s"] or 0) + TARGET_AFTER_FCP_S)
    ]
    result = {
        "bench": "site_summary",
        "pages": len(rows),
        "formulas": sum(r["formulas"] for r in rows),
        "max_bytes": worst("bytes"),
        "max_math_final_1x_s": worst("math_final_1x_s"),
        "max_math_final_4x_s": worst("math_final_4x_s"),
        "max_fcp_4x_s": worst("fcp_4x_s"),
        f"math_final_4x_within_{TARGET_MATH_FINAL_4X_S}_s": not slow,
        f"math_final_4x_within_fcp_plus_{TARGET_AFTER_FCP_S}_s": not late,
        "missed": {"math_final_4x": slow, "after_fcp": late},
    }
    if baseline:  # each page's bytes at most half of the same page's in the baseline
        ratios = {
            r["page"]: round(r["bytes"] / baseline[r["page"]]["bytes"], 3)
            for r in rows
            if r["page"] in baseline
        }
        heavy = [page for page, ratio in ratios.items() if ratio > TARGET_BYTES_RATIO]
        result["max_bytes_ratio_to_baseline"] = max(ratios.values(), default=None)
        result[f"bytes_within_{TARGET_BYTES_RATIO}_of_baseline"] = not heavy
        result["missed"]["bytes"] = heavy
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=sh.HTML, help="the built site")
    parser.add_argument(
        "--runs", type=int, default=3, help="loads per page and setting"
    )
    parser.add_argument(
        "--pages",
        nargs="*",
        default=[],
        help="only pages whose name contains one of these",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="the JSON lines of an earlier run, to compare each page's bytes with",
    )
    args = parser.parse_args(argv)
    baseline = {}
    if args.baseline:
        for line in args.baseline.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row.get("bench") == "site_page":
                baseline[row["page"]] = row
    if not (args.site / "index.html").is_file():
        parser.error(f"no built site at {args.site}: run `make book` first")
    executable = sh.chromium_executable()
    if executable is None:
        parser.error(
            "Chromium not found: `make test-deps` (or `apt-get install chromium`), "
            "or set $CHROMIUM to a Chromium or Chrome binary"
        )
    pages = [
        p
        for p in sh.toc_pages()
        if not args.pages or any(s in p.docname for s in args.pages)
    ]
    from playwright.sync_api import sync_playwright

    rows = []
    with sh.serve(args.site.resolve()) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            for page in pages:
                rows.append(measure(browser, base, page, args.runs))
                print(json.dumps(rows[-1]), flush=True)
        finally:
            browser.close()
    print(json.dumps(summary(rows, baseline)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
