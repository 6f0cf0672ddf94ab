// Formulas fit the width of the page. KaTeX renders every formula when the site is built
// (_ext/katex_math.py), but a line of math cannot break: on a narrow screen (a phone) a display
// formula wider than its column is scaled down to fit, to no less than MIN_SCALE (45 %) of its
// size (below that it scrolls sideways in its own box), and so is an inline formula wider than
// its line. Widths are measured once the math fonts are in, all formulas first and then all
// changes written (one layout for the page, not one per formula), before the next paint; again
// after every resize and after a click that may have opened a dropdown (formulas in a closed
// one have no width). Jupyter Book adds every script in _static/ to every page; on pages
// without math it changes nothing. When done it writes the window width it fitted for into
// <html data-math-fitted="..."> (tests/test_site_browser.py waits for that).
(function () {
  "use strict";
  var MIN_SCALE = 0.45;
  var scaled = []; // the elements whose font size this script has set

  function scale(available, needed) {
    if (available > 0 && needed > available + 1) {
      return Math.max(MIN_SCALE, (available - 2) / needed);
    }
    return 1;
  }

  function fit() {
    scaled.forEach(function (element) {
      element.style.removeProperty("font-size");
    });
    scaled = [];
    var changes = [];
    // A display formula: its box (.katex-display) scrolls; its content is what it needs.
    document.querySelectorAll("div.math > .katex-display").forEach(function (box) {
      changes.push([box, scale(box.clientWidth, box.scrollWidth)]);
    });
    // An inline formula: the line it sits in (paragraph, list item, table cell) is what it has.
    document.querySelectorAll("span.math").forEach(function (math) {
      var formula = math.querySelector(".katex");
      var block = math.closest("p, li, td, th, dd, dt, div");
      if (!formula || !block) return;
      var style = window.getComputedStyle(block);
      var available =
        block.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      changes.push([math, scale(available, formula.getBoundingClientRect().width)]);
    });
    changes.forEach(function (change) {
      if (change[1] < 1) {
        change[0].style.fontSize = (100 * change[1]).toFixed(1) + "%";
        scaled.push(change[0]);
      }
    });
    document.documentElement.dataset.mathFitted = String(window.innerWidth);
  }

  function start() {
    // Reading a layout property lays the page out, which requests the fonts its formulas use;
    // document.fonts.ready then waits for them.
    void document.documentElement.offsetHeight;
    document.fonts.ready.then(fit);
    var timer = null;
    function later() {
      clearTimeout(timer);
      timer = setTimeout(function () {
        document.fonts.ready.then(fit);
      }, 50);
    }
    window.addEventListener("resize", later);
    document.addEventListener("click", later);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
