
(function () {
  "use strict";
  // Every string in DATA came from the dump: it is only ever put into the page with
  // textContent or as a text node, never as markup, and never becomes a URL.
  var DATA = JSON.parse(document.getElementById("report-data").textContent);
  var ROWS = DATA.rows, DET = DATA.details, PAGE = 100;
  var RANK = Object.create(null);
  DATA.verdicts.forEach(function (v, i) { RANK[v] = i; });
  var FLAGGED = { likely_altered: 1, decoy_suspected: 1, suspicious: 1 };
  var state = { q: "", verdict: "", type: "", col: -1, dir: 1, page: 0, view: [] };
  var hay = null;

  function own(o, k) { return Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined; }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function add(parent, child) { parent.appendChild(child); return child; }
  function short(t) { return t ? String(t).replace("T", " ").replace(/:\d\d(\.\d+)?Z$/, "Z") : ""; }
  function fileLink(i, text) {
    var a = el("a", "", text === undefined ? ROWS[i][0] : text);
    a.href = "#f=" + i;  // an integer index: never a value from the dump
    return a;
  }

  function haystack() {
    if (!hay) {
      hay = ROWS.map(function (r) {
        return [r[0], r[3], r[5], r[6], r[7], r[11], r[1]].join("\u0001").toLowerCase();
      });
    }
    return hay;
  }

  function compute() {
    var q = state.q.toLowerCase(), h = q ? haystack() : null, out = [];
    for (var i = 0; i < ROWS.length; i++) {
      var r = ROWS[i];
      if (state.verdict === "flagged" ? !FLAGGED[r[1]] : (state.verdict && r[1] !== state.verdict)) { continue; }
      if (state.type && r[3] !== state.type) { continue; }
      if (q && h[i].indexOf(q) < 0) { continue; }
      out.push(i);
    }
    var c = state.col, d = state.dir;
    out.sort(function (a, b) {
      var ra = ROWS[a], rb = ROWS[b], x, y;
      if (c < 0) {
        x = RANK[ra[1]] - RANK[rb[1]];
        if (x) { return x; }
        x = (rb[2] || 0) - (ra[2] || 0);
        return x || (ra[0] < rb[0] ? -1 : ra[0] > rb[0] ? 1 : 0);
      }
      x = ra[c]; y = rb[c];
      if (c === 1) { x = RANK[x]; y = RANK[y]; }
      if (c === 2) { x = x || 0; y = y || 0; }
      if (x === y) { return a - b; }
      if (x === "" || x === null) { return 1; }
      if (y === "" || y === null) { return -1; }
      return (x < y ? -1 : 1) * d;
    });
    state.view = out;
  }

  var tbody = document.getElementById("rows");
  var COLS = [1, 2, 0, 3, 5, 6, 8, 9, 10, 11];
  function render() {
    var view = state.view, pages = Math.max(1, Math.ceil(view.length / PAGE));
    if (state.page >= pages) { state.page = pages - 1; }
    var frag = document.createDocumentFragment();
    var start = state.page * PAGE, end = Math.min(view.length, start + PAGE);
    for (var k = start; k < end; k++) {
      var i = view[k], r = ROWS[i], tr = el("tr");
      tr.dataset.i = String(i);
      for (var j = 0; j < COLS.length; j++) {
        var c = COLS[j], v = r[c], td;
        if (c === 1) { td = el("td"); add(td, el("span", "badge v-" + (RANK[v] === undefined ? "x" : v), v)); }
        else if (c === 2) { td = el("td", "num", v === null ? "" : Math.round(v)); }
        else if (c >= 8 && c <= 10) { td = el("td", "", v ? String(v).slice(0, 10) : ""); td.title = short(v); }
        else if (c === 0) { td = el("td", "", v.length > 72 ? "…" + v.slice(v.length - 71) : v); }
        else { td = el("td", "", v); }
        if (c === 0 || c === 5 || c === 6 || c === 11) { td.title = String(v || "").slice(0, 600); }
        tr.appendChild(td);
      }
      frag.appendChild(tr);
    }
    tbody.textContent = "";
    if (!view.length) { var tr0 = add(tbody, el("tr")); var td0 = add(tr0, el("td", "", "No file matches.")); td0.colSpan = 10; }
    tbody.appendChild(frag);
    document.getElementById("count").textContent = view.length + " of " + ROWS.length + " files";
    document.getElementById("page").textContent = "page " + (state.page + 1) + " / " + pages;
    document.getElementById("prev").disabled = state.page === 0;
    document.getElementById("next").disabled = state.page >= pages - 1;
  }
  function refresh() { compute(); render(); }

  tbody.addEventListener("click", function (ev) {
    var tr = ev.target.closest("tr");
    if (tr && tr.dataset.i !== undefined) { location.hash = "f=" + tr.dataset.i; }
  });
  document.querySelectorAll("#table th").forEach(function (th) {
    th.addEventListener("click", function () {
      var c = Number(th.dataset.col);
      if (state.col === c) { state.dir = -state.dir; } else { state.col = c; state.dir = c === 2 ? -1 : 1; }
      document.querySelectorAll("#table th").forEach(function (o) { o.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", state.dir > 0 ? "ascending" : "descending");
      state.page = 0; refresh();
    });
  });
  var timer = null, qbox = document.getElementById("q");
  qbox.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { state.q = qbox.value; state.page = 0; refresh(); }, 150);
  });
  var fv = document.getElementById("fv"), ft = document.getElementById("ft");
  fv.addEventListener("change", function () { state.verdict = fv.value; state.page = 0; refresh(); });
  ft.addEventListener("change", function () { state.type = ft.value; state.page = 0; refresh(); });
  document.getElementById("prev").addEventListener("click", function () { state.page--; render(); });
  document.getElementById("next").addEventListener("click", function () { state.page++; render(); });

  // --- detail panel ------------------------------------------------------------------
  var panel = document.getElementById("detail"), body = document.getElementById("detail-body");
  function kvTable(parent, pairs, cls) {
    var t = add(parent, el("table", cls || "")), tb = add(t, el("tbody"));
    pairs.forEach(function (p) {
      var tr = add(tb, el("tr"));
      add(tr, el("td", "k", p[0]));
      var td = add(tr, el("td"));
      if (p[1] instanceof Node) { td.appendChild(p[1]); } else { td.textContent = p[1] === null || p[1] === undefined ? "" : String(p[1]); }
    });
    return t;
  }
  function factValue(name, values) {
    if (name !== "email.dkim_result") { return values.join(" | "); }
    var span = el("span");
    values.forEach(function (v, n) {
      if (n) { span.appendChild(document.createTextNode(" | ")); }
      add(span, el("span", v === "pass" ? "dkim-pass" : (v.indexOf("fail") === 0 || v === "invalid" ? "dkim-fail" : ""), v));
    });
    return span;
  }
  var bySha = null;
  function copiesOf(i) {
    if (!bySha) {
      bySha = Object.create(null);
      DET.forEach(function (d, k) { var h = d.h[0]; if (h) { (bySha[h] = bySha[h] || []).push(k); } });
    }
    var h = DET[i].h[0];
    return h ? bySha[h].filter(function (k) { return k !== i; }) : [];
  }
  function showDetail(i) {
    var r = ROWS[i], d = DET[i];
    if (!r || !d) { return; }
    body.textContent = "";
    var parts = r[0].split("!");
    add(body, el("h2", "", parts[parts.length - 1]));
    var head = add(body, el("p"));
    add(head, el("span", "badge v-" + r[1], r[1]));
    head.appendChild(document.createTextNode(" score " + (r[2] === null ? "–" : Math.round(r[2])) + " · " + r[3] + " · status " + r[4]));
    add(body, el("p", "", own(DATA.legend, r[1]) || ""));

    add(body, el("h3", "", "Provenance"));
    var chain = add(body, el("ol", "chain"));
    d.chain.forEach(function (p) { add(add(chain, el("li")), fileLink(p)); });
    add(add(chain, el("li")), el("b", "", r[0]));

    var same = copiesOf(i);
    if (same.length) {
      add(body, el("h4", "", "Same content (sha256) elsewhere in the dump"));
      var sl = add(body, el("ul", "chain"));
      same.slice(0, 50).forEach(function (k) { add(add(sl, el("li")), fileLink(k)); });
    }

    add(body, el("h3", "", "Identity"));
    kvTable(body, [["sha256", d.h[0]], ["md5", d.h[1]], ["size", d.h[2] === null ? "" : d.h[2] + " bytes"],
      ["record id", d.id], ["extractor", d.h[3]], ["container time", d.h[4]]]);

    add(body, el("h3", "", "Findings (" + d.find.length + ")"));
    if (!d.find.length) { add(body, el("p", "", "No rule or corpus check fired. That is not proof the file is genuine.")); }
    d.find.forEach(function (f) {
      var box = add(body, el("div", "finding f-" + f[1])), rule = own(DATA.rules, f[0]);
      var top = add(box, el("p"));
      add(top, el("span", "sev s-" + f[1], f[1]));
      add(top, el("b", "", rule ? rule[0] : f[0]));
      top.appendChild(document.createTextNode(" "));
      add(top, el("code", "", f[0]));
      top.appendChild(document.createTextNode(" · grade " + f[2] + " · " + f[5]));
      add(box, el("p", "", f[4]));
      if (rule && rule[1]) { add(box, el("p", "why", "Why it matters: " + rule[1])); }
      if (rule && rule[2] && rule[2].length) {
        add(box, el("p", "why", "Innocent explanations:"));
        var ul = add(box, el("ul", "why"));
        rule[2].forEach(function (t) { add(ul, el("li", "", t)); });
      }
      add(box, el("p", "why", "Technique: " + (own(DATA.techniques, f[3]) || f[3])));
      if (f[6].length) {
        kvTable(box, f[6].map(function (e) { return [e[0], e[1] + (e[2] ? "  (" + e[2] + ")" : "")]; }));
      }
    });

    if (d.weights) {
      add(body, el("h3", "", "How the verdict was reached"));
      add(body, el("p", "why", "Each finding weighs log10 of how much rarer it is among genuine files than among altered ones; findings reading the same fact count once; context adds little."));
      var wl = add(body, el("ul", "weights"));
      d.weights.forEach(function (t) { add(wl, el("li", "", t)); });
    }

    var revs = null;
    d.facts.forEach(function (g) { g[1].forEach(function (f) { if (f[0] === "pdf.revision_diff") { revs = f[1]; } }); });
    if (revs) {
      add(body, el("h3", "", "Earlier PDF revision (left) against the final text (right)"));
      revs.forEach(function (v) {
        var cut = v.indexOf(" | +"), a = "", b = "";
        if (v.charAt(0) === "-" && cut > 0) { a = v.slice(1, cut); b = v.slice(cut + 4); }
        else if (v.charAt(0) === "-") { a = v.slice(1); }
        else if (v.charAt(0) === "+") { b = v.slice(1); }
        else { a = v; }
        var g = add(body, el("div", "diff"));
        add(g, el("pre", "a", a));
        add(g, el("pre", "b", b));
      });
    }
    if (d.diffs) {
      add(body, el("h3", "", "Differing passages"));
      d.diffs.forEach(function (x) {
        var p = add(body, el("p"));
        p.appendChild(document.createTextNode("This file (left) against "));
        p.appendChild(fileLink(x.other));
        p.appendChild(document.createTextNode(" (right), similarity " + (x.similarity === null ? "?" : Number(x.similarity).toFixed(2))));
        x.hunks.forEach(function (h) {
          var g = add(body, el("div", "diff"));
          add(g, el("pre", "a", h[0]));
          add(g, el("pre", "b", h[1]));
        });
      });
    }
    if (d.corpus) {
      add(body, el("h3", "", "Corpus groups"));
      kvTable(body, d.corpus.map(function (c) { return [c[0], c[1] + (c[2] ? " (" + c[2] + ")" : "")]; }));
    }
    if (d.rare) {
      add(body, el("h3", "", "Rare attribute values"));
      kvTable(body, d.rare.map(function (x) { return [x[0], x[1] + "  (" + x[2] + " of " + x[3] + " files)"]; }));
    }
    if (d.issues) {
      add(body, el("h3", "", "Issues"));
      kvTable(body, d.issues.map(function (x) { return [x[0] + "/" + x[1], x[2]]; }));
    }
    add(body, el("h3", "", "Facts"));
    d.facts.forEach(function (g) {
      add(body, el("h4", "", g[0]));
      kvTable(body, g[1].map(function (f) { return [f[0], factValue(f[0], f[1])]; }));
    });
    if (d.raw) {
      add(body, el("h3", "", "Raw metadata as found"));
      kvTable(body, d.raw);
    }
    panel.hidden = false;
    panel.scrollTop = 0;
  }
  function closeDetail() {
    panel.hidden = true;
    try { history.replaceState(null, "", location.pathname + location.search); } catch (e) { location.hash = ""; }
  }
  document.getElementById("close").addEventListener("click", closeDetail);
  document.addEventListener("keydown", function (ev) { if (ev.key === "Escape" && !panel.hidden) { closeDetail(); } });

  function route() {
    var h = decodeURIComponent(location.hash.slice(1)), eq = h.indexOf("="), key = h.slice(0, eq), val = h.slice(eq + 1);
    if (key === "f" && /^\d+$/.test(val)) { showDetail(Number(val)); return; }
    if (key === "verdict" || key === "rule") {
      if (key === "verdict") { state.verdict = val; fv.value = val; state.q = ""; qbox.value = ""; }
      else { state.q = val; qbox.value = val; state.verdict = ""; fv.value = ""; }
      state.page = 0; refresh();
      document.getElementById("files").scrollIntoView();
    }
  }
  window.addEventListener("hashchange", route);
  refresh();
  route();
  document.documentElement.dataset.rendered = String(ROWS.length);
  window.__leaktriageReady = performance.now();
})();
