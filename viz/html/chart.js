/* Muse chart page: tooltips on hover and keyboard focus, series toggles.
   No dependencies, no network; works with several charts on one page. */
(function () {
  "use strict";
  function setup(fig) {
    var pre = fig.getAttribute("data-prefix");
    var svg = fig.querySelector("svg");
    var wrap = fig.querySelector(".muse-chart");
    var tip = fig.querySelector(".muse-tip");
    if (!pre || !svg || !wrap || !tip) return;
    var hits = svg.querySelectorAll("." + pre + "-hit");
    for (var i = 0; i < hits.length; i++) {
      var h = hits[i];
      var t = h.querySelector("title");
      /* Our tooltip replaces the browser's; the label stays for screen readers. */
      if (t) { h.setAttribute("data-tip", t.textContent); h.removeChild(t); }
      h.addEventListener("mouseenter", show);
      h.addEventListener("focus", show);
      h.addEventListener("mouseleave", hide);
      h.addEventListener("blur", hide);
    }
    function show(ev) {
      var el = ev.currentTarget;
      var text = el.getAttribute("data-tip") || "";
      while (tip.firstChild) tip.removeChild(tip.firstChild);
      var lines = text.split("\n");
      for (var k = 0; k < lines.length; k++) {
        var d = document.createElement("div");
        d.textContent = lines[k];
        tip.appendChild(d);
      }
      var r = el.getBoundingClientRect(), w = wrap.getBoundingClientRect();
      tip.hidden = false;
      var x = r.left - w.left + r.width / 2, y = r.top - w.top;
      var tw = tip.offsetWidth;
      x = Math.max(tw / 2 + 4, Math.min(w.width - tw / 2 - 4, x));
      tip.style.left = x + "px";
      tip.style.top = y + "px";
      tip.classList.toggle("below", y < tip.offsetHeight + 12);
    }
    function hide() { tip.hidden = true; }
    var buttons = fig.querySelectorAll(".muse-toggles button");
    for (var j = 0; j < buttons.length; j++) {
      buttons[j].addEventListener("click", function (ev) {
        var b = ev.currentTarget;
        var groups = svg.querySelectorAll("." + pre + "-s" + b.getAttribute("data-series"));
        if (!groups.length) return;
        var on = b.getAttribute("aria-pressed") !== "true";
        b.setAttribute("aria-pressed", on ? "true" : "false");
        for (var k = 0; k < groups.length; k++) groups[k].classList.toggle(pre + "-off", !on);
        hide();
      });
    }
    document.addEventListener("keydown", function (ev) { if (ev.key === "Escape") hide(); });
  }
  var figs = document.querySelectorAll("figure.muse-figure");
  for (var i = 0; i < figs.length; i++) setup(figs[i]);
})();
