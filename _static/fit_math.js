// Formulas fit the width of the page. KaTeX renders every formula when the site is built
// (_ext/katex_math.py), but a line of math cannot break: on a narrow screen (a phone) a display
// formula wider than its column is scaled down to fit, to no less than MIN_SCALE (45 %) of its
// size (below that it scrolls sideways in its own box), and so is an inline formula wider than
// its line. While the HTML is parsed, every frame fits the formulas that arrived since the last
// one, before they are first painted (the formula still being parsed waits for the next
// frame, and all wait while a font is loading); when the parse ends, the rest; then everything
// again once all fonts are in, after every resize and after a click that may have opened a
// dropdown (formulas in a closed one have no width). Each pass measures first and writes
// after, and writes only the scales that change. Jupyter Book adds every script in _static/ to
// every page; on pages without math it changes nothing. Once all fonts are in and the page is
// fitted, it writes the window width it fitted for into <html data-math-fitted="...">
// (tests/test_site_browser.py waits for that).
(function () {
  "use strict";
  var MIN_SCALE = 0.45;
  var DISPLAY = "div.math > .katex-display";
  var INLINE = "span.math";
  var range = document.createRange();

  // The scale a formula needs: its natural width is its width now over the scale it has now.
  function needed(element, available, width) {
    var now = parseFloat(element.style.fontSize) / 100 || 1;
    var natural = width / now;
    if (available > 0 && natural > available + 1) {
      // (4 px to spare: a glyph may overhang the boxes KaTeX laid out)
      return Math.max(MIN_SCALE, (available - 4) / natural);
    }
    return 1;
  }

  // A display formula: its box is as wide as it may be (it scrolls what does not fit); the
  // formula is as wide as the boxes KaTeX laid out in it.
  function display(box) {
    var layout = box.querySelector(".katex-html");
    if (!layout) return [box, 1];
    range.selectNodeContents(layout);
    return [box, needed(box, box.clientWidth, range.getBoundingClientRect().width)];
  }

  // An inline formula: the line it sits in (paragraph, list item, table cell) is what it has.
  function inline(math) {
    var formula = math.querySelector(".katex");
    var block = math.closest("p, li, td, th, dd, dt, div");
    if (!formula || !block) return [math, 1];
    var style = window.getComputedStyle(block);
    var available =
      block.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    return [math, needed(math, available, formula.getBoundingClientRect().width)];
  }

  function write(changes) {
    changes.forEach(function (change) {
      var element = change[0];
      var now = parseFloat(element.style.fontSize) / 100 || 1;
      if (Math.abs(change[1] - now) < 0.005) return;
      if (change[1] < 1) {
        element.style.fontSize = (100 * change[1]).toFixed(1) + "%";
      } else {
        element.style.removeProperty("font-size");
      }
    });
  }

  // Formulas from the index-th of their kind on; all but the last while the HTML is parsed.
  function fitFrom(start, parsed) {
    var displays = document.querySelectorAll(DISPLAY);
    var inlines = document.querySelectorAll(INLINE);
    var ends = [displays.length - (parsed ? 0 : 1), inlines.length - (parsed ? 0 : 1)];
    var changes = [];
    for (var d = start[0]; d < ends[0]; d++) changes.push(display(displays[d]));
    for (var i = start[1]; i < ends[1]; i++) changes.push(inline(inlines[i]));
    write(changes);
    return [Math.max(start[0], ends[0]), Math.max(start[1], ends[1])];
  }

  function fitAll() {
    fitFrom([0, 0], true);
    document.documentElement.dataset.mathFitted = String(window.innerWidth);
  }

  // Widths are measured only with every requested font in: until its font arrives, a
  // formula is laid out in a stand-in font (and drawn blank: KaTeX's font-display is block).
  function loadingFonts() {
    var loading = [];
    document.fonts.forEach(function (face) {
      if (face.status === "loading") loading.push(face.loaded);
    });
    return loading;
  }

  var done = [0, 0];
  function frame() {
    if (document.readyState !== "loading") return;
    if (!loadingFonts().length) done = fitFrom(done, false);
    window.requestAnimationFrame(frame);
  }
  window.requestAnimationFrame(frame);

  function parsed() {
    // The rest as soon as the fonts now loading are in (document.fonts.ready waits longer:
    // for the page's layout too).
    var rest = function () {
      done = fitFrom(done, true);
    };
    Promise.all(loadingFonts()).then(rest, rest);
    document.fonts.ready.then(fitAll);
    var timer = null;
    function later() {
      clearTimeout(timer);
      timer = setTimeout(function () {
        document.fonts.ready.then(fitAll);
      }, 50);
    }
    window.addEventListener("resize", later);
    document.addEventListener("click", later);
  }

  if (document.readyState === "loading") {
    document.addEventListener("readystatechange", parsed, { once: true });
  } else {
    parsed();
  }
})();
