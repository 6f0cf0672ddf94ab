// Display equations fit the width of the page: on a narrow screen (a phone) MathJax 3 cannot
// break a long formula across lines, so a formula wider than its column is scaled down to fit,
// to no less than MIN_SCALE (45 %) of its size (below that it scrolls sideways, as before). Runs after
// MathJax's typesetting and again after every resize. Jupyter Book adds every script in
// _static/ to every page; on pages without math it does nothing. When it is done it writes the
// window width it fitted for into <html data-math-fitted="..."> (tests/test_site_browser.py
// waits for that).
(function () {
  "use strict";
  var MIN_SCALE = 0.45;

  function fit() {
    var boxes = document.querySelectorAll('mjx-container[display="true"]');
    boxes.forEach(function (box) {
      var formula = box.querySelector("mjx-math");
      if (!formula) return;
      formula.style.fontSize = "";
      var available = box.clientWidth;
      var needed = box.scrollWidth;
      if (available > 0 && needed > available + 1) {
        var scale = Math.max(MIN_SCALE, (available - 2) / needed);
        formula.style.fontSize = (100 * scale).toFixed(1) + "%";
      }
    });
    // Inline formulas cannot break across lines either: one wider than its line is scaled
    // down to the width of the paragraph (or list item, table cell) it sits in.
    document.querySelectorAll('mjx-container:not([display="true"])').forEach(function (box) {
      var formula = box.querySelector("mjx-math");
      var block = box.closest("p, li, td, th, dd, dt, div");
      if (!formula || !block) return;
      formula.style.fontSize = "";
      var style = window.getComputedStyle(block);
      var available =
        block.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      var needed = box.getBoundingClientRect().width;
      if (available > 0 && needed > available + 1) {
        var scale = Math.max(MIN_SCALE, (available - 2) / needed);
        formula.style.fontSize = (100 * scale).toFixed(1) + "%";
      }
    });
    document.documentElement.dataset.mathFitted = String(window.innerWidth);
  }

  function start() {
    var mathjax = window.MathJax && window.MathJax.startup && window.MathJax.startup.promise;
    var ready = mathjax || Promise.resolve();
    ready.then(fit);
    var timer = null;
    window.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        ready.then(fit);
      }, 50);
    });
  }

  if (document.readyState === "complete") {
    start();
  } else {
    window.addEventListener("load", start);
  }
})();
