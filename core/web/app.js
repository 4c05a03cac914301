/* The Muse page: asks /v1/ask, draws charts from /v1/chart, and charts
   pasted readings. No dependencies and no build step.

   Everything a person or the answer wrote goes into the page as text
   (textContent, createTextNode), never as markup. The one piece of markup
   taken from the server, a chart's SVG, is parsed as XML, stripped of
   anything active (scripts, event handlers, foreign objects, outside links)
   and given ids of its own before it is added. */
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var chartSeq = 0;
  var SVG_NS = "http://www.w3.org/2000/svg";

  /* ---- talking to the server ---- */

  function savedToken() {
    try { return window.sessionStorage.getItem("muse-token") || ""; } catch (e) { return ""; }
  }

  function currentToken() {
    var t = $("token").value.trim();
    if (t) {
      try { window.sessionStorage.setItem("muse-token", t); } catch (e) { /* private mode */ }
      return t;
    }
    return savedToken();
  }

  function ApiError(status, code, message) {
    this.status = status;
    this.code = code;
    this.message = message;
  }

  /* POSTs body as JSON; resolves to the Response, rejects with an ApiError
     carrying the server's {"error": {"code", "message"}}. */
  function post(path, body, accept) {
    var headers = { "Content-Type": "application/json", "Accept": accept || "application/json" };
    var token = currentToken();
    if (token) headers["Authorization"] = "Bearer " + token;
    return fetch(path, {
      method: "POST", headers: headers, body: JSON.stringify(body),
      credentials: "omit", cache: "no-store"
    }).then(function (resp) {
      if (resp.ok) return resp;
      if (resp.status === 401) {
        $("token-box").hidden = false;
      }
      return resp.json().then(function (j) {
        var e = (j && j.error) || {};
        throw new ApiError(resp.status, e.code || "error", e.message || ("the server answered " + resp.status));
      }, function () {
        throw new ApiError(resp.status, "error", "the server answered " + resp.status);
      });
    }, function () {
      throw new ApiError(0, "network", "cannot reach the Muse server: is it still running?");
    });
  }

  /* ---- small DOM helpers (text only) ---- */

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function showError(box, message) {
    box.textContent = message;
    box.hidden = false;
  }

  function safeUrl(u) {
    return typeof u === "string" && /^https?:\/\//i.test(u) ? u : null;
  }

  /* ---- the answer ---- */

  var LEVELS = {
    emergency: { title: "Emergency: get help now", role: "alert" },
    urgent: { title: "Urgent: see a clinician within 24 hours", role: "status" },
    routine: { title: "Book an appointment with a clinician", role: "status" },
    self_care: { title: "Self-care is usually enough", role: "status" }
  };

  var REVIEW = {
    draft: "draft: not yet reviewed by a clinician",
    reviewed: "reviewed by a clinician",
    published_guideline: "published guideline",
    retired: "retired"
  };

  function renderSeekCare(answer, verdict) {
    var box = $("seek-care");
    clear(box);
    var seek = (answer && answer.seek_care) || {};
    var level = seek.level;
    if (verdict === "emergency" || verdict === "crisis") level = "emergency";
    var info = LEVELS[level];
    if (!info) { box.hidden = true; box.removeAttribute("role"); return; }
    box.className = "seek-care level-" + level;
    box.setAttribute("role", info.role);
    var strong = el("p", "seek-title", info.title);
    box.appendChild(strong);
    /* For an emergency the summary is what to do now: say it in the banner. */
    var reason = level === "emergency" && verdict !== "allow" ? answer.summary : seek.reason;
    if (reason) box.appendChild(el("p", "seek-reason", reason));
    box.hidden = false;
  }

  function renderSources(sources) {
    var list = $("sources");
    clear(list);
    var numbers = {};
    (sources || []).forEach(function (s, i) {
      numbers[s.id] = i + 1;
      var li = el("li");
      li.id = "source-" + (i + 1);
      li.appendChild(el("span", "source-title", s.title || s.id));
      var status = REVIEW[s.review_status] || s.review_status;
      if (status) li.appendChild(el("span", "badge badge-" + (s.review_status || "unknown"), status));
      var refs = el("ul", "refs");
      (s.references || []).forEach(function (r) {
        var item = el("li");
        var label = [r.publisher, r.title, r.year].filter(function (x) { return x; }).join(", ");
        var url = safeUrl(r.url);
        if (url) {
          var a = el("a", null, label || url);
          a.href = url;
          a.rel = "noopener noreferrer";
          a.target = "_blank";
          item.appendChild(a);
        } else {
          item.textContent = label;
        }
        refs.appendChild(item);
      });
      if (refs.firstChild) li.appendChild(refs);
      list.appendChild(li);
    });
    $("sources-box").hidden = !list.firstChild;
    return numbers;
  }

  function renderSections(sections, numbers) {
    var box = $("sections");
    clear(box);
    (sections || []).forEach(function (s) {
      var sec = el("section", "answer-section");
      sec.appendChild(el("h3", null, s.heading));
      var p = el("p", null, s.text);
      (s.citations || []).forEach(function (id) {
        var n = numbers[id];
        if (!n) return;
        var a = el("a", "cite", "[" + n + "]");
        a.href = "#source-" + n;
        a.setAttribute("aria-label", "source " + n);
        p.appendChild(document.createTextNode(" "));
        p.appendChild(a);
      });
      sec.appendChild(p);
      box.appendChild(sec);
    });
  }

  function renderFollowUps(list) {
    var ul = $("follow-up-list");
    clear(ul);
    (list || []).forEach(function (q) {
      var li = el("li");
      var b = el("button", "link-button", q);
      b.type = "button";
      b.addEventListener("click", function () {
        var box = $("question");
        box.value = box.value.trim() + " " + q;
        box.focus();
      });
      li.appendChild(b);
      ul.appendChild(li);
    });
    $("follow-ups").hidden = !ul.firstChild;
  }

  function renderAnswer(a) {
    var verdict = (a.safety && a.safety.verdict) || "allow";
    var answer = a.answer || {};
    renderSeekCare(answer, verdict);
    var urgentVerdict = verdict === "emergency" || verdict === "crisis";
    /* An emergency's message is already in the banner; say nothing beside it. */
    $("summary").textContent = urgentVerdict ? "" : (answer.summary || "");
    $("summary").hidden = urgentVerdict;
    var numbers = renderSources(a.sources);
    renderSections(answer.sections, numbers);
    renderFollowUps(answer.follow_up_questions);
    $("disclaimer").textContent = answer.disclaimer || "";
    var usage = a.usage || {};
    var bits = [];
    if (a.mode) bits.push("mode: " + a.mode);
    if (typeof usage.latency_ms === "number") bits.push(usage.latency_ms.toFixed(1) + " ms");
    if (typeof usage.passages === "number") bits.push(usage.passages + " passages");
    $("meta").textContent = urgentVerdict ? "" : bits.join(" · ");
    var charts = $("charts");
    clear(charts);
    (a.charts || []).forEach(function (spec) { drawChart(charts, { spec: spec }); });
  }

  function ask(ev) {
    ev.preventDefault();
    var q = $("question").value.trim();
    var err = $("error");
    err.hidden = true;
    if (!q) {
      showError(err, "Type a question first.");
      $("question").focus();
      return;
    }
    var button = $("ask-button");
    var section = $("answer");
    button.disabled = true;
    button.textContent = "Asking…";
    section.setAttribute("aria-busy", "true");
    post("v1/ask", { question: q, mode: $("mode").value, options: { charts: true } })
      .then(function (resp) { return resp.json(); })
      .then(function (a) {
        renderAnswer(a);
        section.hidden = false;
        $("answer-heading").focus();
      }, function (e) {
        showError(err, e.message || String(e));
      })
      .then(function () {
        button.disabled = false;
        button.textContent = "Ask";
        section.setAttribute("aria-busy", "false");
      });
  }

  /* ---- charts ---- */

  var BLOCKED = { script: 1, foreignobject: 1, iframe: 1, object: 1, embed: 1, audio: 1, video: 1,
                  animate: 1, set: 1, animatemotion: 1, animatetransform: 1, handler: 1, listener: 1 };

  /* Removes anything that could run code or reach outside the page. */
  function sanitize(node) {
    var all = node.getElementsByTagName("*");
    for (var i = all.length - 1; i >= 0; i--) {
      var e = all[i];
      if (e.namespaceURI !== SVG_NS || BLOCKED[e.localName.toLowerCase()]) {
        e.parentNode.removeChild(e);
        continue;
      }
      scrub(e);
    }
    scrub(node);
  }

  function scrub(e) {
    for (var k = e.attributes.length - 1; k >= 0; k--) {
      var a = e.attributes[k];
      var name = a.name.toLowerCase();
      var value = a.value;
      if (name.indexOf("on") === 0 ||
          ((name === "href" || name === "xlink:href" || name === "src") && value.charAt(0) !== "#") ||
          (/url\(\s*['"]?(?!#)/i.test(value))) {
        e.removeAttributeNode(a);
      }
    }
  }

  /* Several charts share the page: give every id a per-chart prefix and
     follow it in references (href="#…", url(#…), aria-labelledby). */
  function uniquifyIds(svg, prefix) {
    var map = {};
    var all = [svg].concat(Array.prototype.slice.call(svg.getElementsByTagName("*")));
    all.forEach(function (e) {
      if (e.id) { map[e.id] = prefix + e.id; e.id = map[e.id]; }
    });
    all.forEach(function (e) {
      for (var k = 0; k < e.attributes.length; k++) {
        var a = e.attributes[k];
        var v = a.value, nv = v;
        if ((a.name === "href" || a.name === "xlink:href") && v.charAt(0) === "#" && map[v.slice(1)]) {
          nv = "#" + map[v.slice(1)];
        } else if (v.indexOf("url(#") >= 0) {
          nv = v.replace(/url\(#([^)]+)\)/g, function (m, id) { return map[id] ? "url(#" + map[id] + ")" : m; });
        } else if (a.name === "aria-labelledby" || a.name === "aria-describedby") {
          nv = v.split(/\s+/).map(function (id) { return map[id] || id; }).join(" ");
        }
        if (nv !== v) {
          if (a.namespaceURI) e.setAttributeNS(a.namespaceURI, a.name, nv);
          else e.setAttribute(a.name, nv);
        }
      }
    });
    /* The chart's own stylesheet is scoped by its root id ("#muse .muse-hit"). */
    Array.prototype.forEach.call(svg.getElementsByTagName("style"), function (st) {
      st.textContent = st.textContent.replace(/#([A-Za-z][\w-]*)/g, function (m, id) {
        return map[id] ? "#" + map[id] : m;
      });
    });
  }

  /* Hover and keyboard-focus tooltips for the chart's data points: the
     targets carry a <title> (the browser's own tooltip when the SVG is
     opened alone); here it becomes our tooltip, shown on focus too. */
  function setupTooltips(wrap, svg, tip) {
    var targets = svg.querySelectorAll("[tabindex]");
    Array.prototype.forEach.call(targets, function (t) {
      var title = null;
      for (var c = t.firstElementChild; c; c = c.nextElementSibling)
        if (c.localName === "title") { title = c; break; }
      var text = title ? title.textContent : t.getAttribute("aria-label");
      if (!text) return;
      if (title) t.removeChild(title);
      t.setAttribute("data-tip", text);
      if (!t.getAttribute("aria-label")) t.setAttribute("aria-label", text.replace(/\n/g, ", "));
      t.classList.add("chart-hit");
      t.addEventListener("mouseenter", show);
      t.addEventListener("focus", show);
      t.addEventListener("mouseleave", hide);
      t.addEventListener("blur", hide);
    });
    wrap.addEventListener("keydown", function (ev) { if (ev.key === "Escape") hide(); });
    function show(ev) {
      var t = ev.currentTarget;
      clear(tip);
      t.getAttribute("data-tip").split("\n").forEach(function (line) { tip.appendChild(el("div", null, line)); });
      tip.hidden = false;
      var r = t.getBoundingClientRect(), w = wrap.getBoundingClientRect();
      var x = r.left - w.left + r.width / 2;
      var y = r.top - w.top;
      var tw = tip.offsetWidth;
      x = Math.max(tw / 2 + 4, Math.min(w.width - tw / 2 - 4, x));
      tip.style.left = x + "px";
      tip.style.top = y + "px";
      tip.classList.toggle("below", y < tip.offsetHeight + 12);
    }
    function hide() { tip.hidden = true; }
  }

  function insertSvg(container, text) {
    var doc = new DOMParser().parseFromString(text, "image/svg+xml");
    var root = doc.documentElement;
    if (!root || root.localName !== "svg" || root.namespaceURI !== SVG_NS ||
        doc.getElementsByTagName("parsererror").length) {
      throw new ApiError(0, "bad_chart", "the chart could not be read");
    }
    sanitize(root);
    chartSeq += 1;
    uniquifyIds(root, "c" + chartSeq + "-");
    var svg = document.importNode(root, true);
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    var fig = el("figure", "chart");
    var wrap = el("div", "chart-wrap");
    var tip = el("div", "chart-tip");
    tip.setAttribute("role", "tooltip");
    tip.hidden = true;
    wrap.appendChild(svg);
    wrap.appendChild(tip);
    fig.appendChild(wrap);
    var titleEl = svg.querySelector("title");
    var descEl = svg.querySelector("desc");
    var caption = descEl && descEl.textContent ? descEl.textContent : (titleEl ? titleEl.textContent : "");
    if (caption) fig.appendChild(el("figcaption", null, caption));
    container.appendChild(fig);
    setupTooltips(wrap, svg, tip);
    return fig;
  }

  /* Resolves to the figure, or rejects with an ApiError. */
  function drawChart(container, body) {
    body.format = "svg";
    return post("v1/chart", body, "image/svg+xml")
      .then(function (resp) { return resp.text(); })
      .then(function (text) { return insertSvg(container, text); })
      .catch(function (e) {
        var note = el("p", "chart-note",
          e.status === 501 ? "Charts are not available on this server yet." : "The chart could not be drawn: " + e.message);
        container.appendChild(note);
        throw e;
      });
  }

  function chartReadings(ev) {
    ev.preventDefault();
    var text = $("readings").value.trim();
    var err = $("readings-error");
    var out = $("readings-chart");
    err.hidden = true;
    if (!text) {
      showError(err, "Paste some readings first, one per line.");
      $("readings").focus();
      return;
    }
    var preset = $("preset").value;
    var button = $("chart-button");
    button.disabled = true;
    clear(out);
    var title = preset === "bp_trend" ? "Your blood pressure" : "Your results";
    var notes = $("readings-notes");
    clear(notes);
    notes.hidden = true;
    drawChart(out, { preset: preset, title: title, readings: text })
      .then(function () {
        return post("v1/interpret", { text: text }).then(function (resp) { return resp.json(); })
          .then(function (j) { renderInterpretation(notes, j); }, function () {
            /* Charting worked; an interpretation is extra (501 before it lands). */
          });
      }, function (e) {
        clear(out);
        showError(err, e.message || String(e));
      })
      .then(function () { button.disabled = false; });
  }

  /* The readings as the medical module read them, each with its guideline
     category, then any patterns it found and any lines it could not read. */
  function renderInterpretation(box, j) {
    clear(box);
    var readings = (j && j.readings) || [];
    if (readings.length) {
      box.appendChild(el("h3", null, "What your readings show"));
      var ul = el("ul", "readings-list");
      readings.forEach(function (r) {
        var cat = r.category && r.category.label;
        var text = (r.display || r.label || "") + (cat ? ": " + cat : r.implausible ? ": not interpreted (implausible)" : "");
        ul.appendChild(el("li", null, text));
      });
      box.appendChild(ul);
    }
    var patterns = (j && j.patterns) || [];
    patterns.forEach(function (p) {
      var para = el("p", "pattern pattern-" + (p.severity || "info"), p.explanation);
      if (p.severity === "urgent") para.setAttribute("role", "alert");
      box.appendChild(para);
    });
    var problems = (j && j.problems) || [];
    if (problems.length) {
      box.appendChild(el("h3", null, "Lines that could not be read"));
      var pl = el("ul");
      problems.forEach(function (p) { pl.appendChild(el("li", null, (p.where ? p.where + ": " : "") + p.message)); });
      box.appendChild(pl);
    }
    box.hidden = !box.firstChild;
  }

  /* ---- wiring ---- */

  function init() {
    $("ask-form").addEventListener("submit", ask);
    $("readings-form").addEventListener("submit", chartReadings);
    $("question").addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        $("ask-form").requestSubmit();
      }
    });
    if (savedToken()) $("token-box").hidden = false;
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
