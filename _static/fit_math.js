// Formulas fit the width of the page. KaTeX renders every formula when the site is built
// (_ext/katex_math.py), but a line of math cannot break: on a narrow screen (a phone) a display
// formula wider than its column is scaled down to fit, to no less than MIN_SCALE (45 %) of its
// size (below that it scrolls sideways in its own box), and so is an inline formula wider than
// its line.
//
// Each formula is fitted before it is first painted, so that no reader sees one change: while
// the HTML is parsed, every frame (before it is painted) fits the formulas the parser has
// finished since the last frame (a formula is finished once something follows it), measuring
// them only with every font they ask for in (a formula laid out before its font arrives has
// the stand-in font's width; _ext/katex_math.py preloads the fonts each page uses, so that
// they are in before the first formula is). The one formula the parser may still be in the
// middle of, the last one so far, is kept invisible (data-math-pending, see
// _static/accessibility.css) until it is finished, then fitted and shown in one frame: the
// parser can pause anywhere, and a formula painted before it was complete would change when
// fitted. Formulas that are not shown (the closed solution dropdowns) are left alone until a
// click shows them. When the parse ends: the rest; then everything again after every resize,
// every change of the text column's width and every click. Each pass measures first and
// writes after, and writes only the scales that change.
//
// Jupyter Book adds every script in _static/ to every page; on pages without math it changes
// nothing. Once the fonts are in and the page is fitted, it writes the window width it fitted
// for into <html data-math-fitted="..."> (tests/test_site_browser.py waits for that).
(function () {
  "use strict";
  var MIN_SCALE = 0.45;
  var DISPLAY = "div.math > .katex-display";
  var INLINE = "span.math";
  var range = document.createRange();

  // The scale a formula needs, from its natural width: its width when it was last measured
  // unscaled (a width measured at another scale, divided by that scale, can be a pixel or
  // two off: KaTeX's rules and struts do not all scale with the font). The width now over the
  // scale now only where it was never measured unscaled.
  var naturalWidths = new WeakMap();
  var unscaled = []; // [element, width] measured in this pass: kept if every font was in
  function needed(element, available, width) {
    var now = parseFloat(element.style.fontSize) / 100 || 1;
    if (now === 1) unscaled.push([element, width]);
    var natural = now === 1 ? width : naturalWidths.get(element) || width / now;
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
    if (!layout) return null;
    range.selectNodeContents(layout);
    return [box, needed(box, box.clientWidth, range.getBoundingClientRect().width)];
  }

  // An inline formula: the line it sits in (paragraph, list item, table cell) is what it has.
  function inline(math) {
    var formula = math.querySelector(".katex");
    var block = math.closest("p, li, td, th, dd, dt, div");
    if (!formula || !block) return null;
    var style = window.getComputedStyle(block);
    var available =
      block.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    return [math, needed(math, available, formula.getBoundingClientRect().width)];
  }

  // Shown to the reader: not in a hidden box (a closed dropdown hides its content with
  // visibility: hidden, and its formulas keep a width that is not the one they will have).
  function shown(element) {
    if (element.checkVisibility) {
      return element.checkVisibility({ visibilityProperty: true });
    }
    return element.getClientRects().length > 0;
  }

  // The parser is past the element: something follows it in the document.
  function finished(element) {
    for (var e = element; e && e !== document.body; e = e.parentNode) {
      if (e.nextSibling) return true;
    }
    return false;
  }

  // A scale is written as a percentage with one decimal, and only where that changes: the
  // scale a formula ends up with depends on the width it has, not on the widths it had before.
  function write(changes) {
    changes.forEach(function (change) {
      var element = change[0];
      var size = change[1] < 1 ? (100 * change[1]).toFixed(1) + "%" : "";
      if (element.style.fontSize === size) return;
      if (size) {
        element.style.fontSize = size;
      } else {
        element.style.removeProperty("font-size");
      }
    });
  }

  // The math fonts being fetched now: until one arrives, the text that asked for it is laid
  // out in a stand-in font (and drawn blank: KaTeX's font-display is block).
  function loadingFonts() {
    var loading = [];
    document.fonts.forEach(function (face) {
      if (face.status === "loading" && face.family.replace(/["']/g, "").indexOf("KaTeX") === 0) {
        loading.push(face.loaded);
      }
    });
    return loading;
  }

  // Measure the formulas from the start-th of each kind on (only finished ones while the HTML
  // is parsed: the first unfinished one is kept invisible) and write their scales, unless
  // measuring them asked for a font that is not in yet. Returns where the next pass starts,
  // or null if nothing was written for that reason.
  function fitFrom(start, parsed) {
    var kinds = [
      [document.querySelectorAll(DISPLAY), display],
      [document.querySelectorAll(INLINE), inline],
    ];
    var changes = [];
    var measured = [];
    unscaled = [];
    var next = start.slice();
    kinds.forEach(function (kind, k) {
      var found = kind[0];
      for (var n = start[k]; n < found.length; n++) {
        if (!parsed && !finished(found[n])) {
          found[n].dataset.mathPending = "";
          break;
        }
        if (shown(found[n])) {
          var change = kind[1](found[n]);
          if (change) changes.push(change);
        }
        measured.push(found[n]);
        next[k] = n + 1;
      }
    });
    if (loadingFonts().length) return null; // measured in a stand-in font
    unscaled.forEach(function (entry) {
      naturalWidths.set(entry[0], entry[1]);
    });
    // Shown in the frame in which they are fitted: first shown, then scaled (no paint comes
    // between the two).
    measured.forEach(function (element) {
      if ("mathPending" in element.dataset) delete element.dataset.mathPending;
    });
    write(changes);
    return next;
  }

  // The text column, and its width when every formula was last fitted (null before that).
  function column() {
    return document.querySelector("article") || document.body;
  }
  var fittedWidth = null;

  // Every formula shown, once the math fonts it asks for are in; then the mark for the tests.
  function fitAll() {
    // (read before the pass writes anything: reading after it would lay the page out again)
    var width = column().getBoundingClientRect().width;
    if (fitFrom([0, 0], true) === null) {
      Promise.all(loadingFonts()).then(fitAll, fitAll);
      return;
    }
    fittedWidth = width;
    document.documentElement.dataset.mathFitted = String(window.innerWidth);
  }

  var done = [0, 0];
  function frame() {
    if (document.readyState !== "loading") return;
    if (!loadingFonts().length) done = fitFrom(done, false) || done;
    window.requestAnimationFrame(frame);
  }
  window.requestAnimationFrame(frame);

  function parsed() {
    // The rest as soon as the math fonts now loading are in, then everything once all fonts
    // are (a late font can change a formula's width).
    Promise.all(loadingFonts()).then(fitAll, fitAll);
    document.fonts.ready.then(fitAll);
    var timer = null;
    function later() {
      clearTimeout(timer);
      timer = setTimeout(fitAll, 50);
    }
    window.addEventListener("resize", later);
    document.addEventListener("click", later);
    // The text column can change width without a resize of the window, or after it: the
    // theme slides its sidebars in and out with a CSS transition, so that a pass 50 ms after
    // a resize may see the column at a width it only passes through. Every change of the
    // column's width is fitted to before it is painted (a ResizeObserver's callback runs
    // after layout, before paint), its first callback included: a width other than the one
    // the last full pass fitted to. (Before the first full pass, that pass is still to come.)
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        var now = column().getBoundingClientRect().width;
        if (fittedWidth !== null && Math.abs(now - fittedWidth) >= 0.5) fitAll();
      }).observe(column());
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("readystatechange", parsed, { once: true });
  } else {
    parsed();
  }
})();
