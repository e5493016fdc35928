
(function () {
  "use strict";
  // Every string in the data came from the dump: it is only ever put into the page with
  // textContent or as a text node, never as markup, and never becomes a URL.
  var META = JSON.parse(document.getElementById("report-meta").textContent);
  var PAGE = META.page, ROWS = [], ORDER = [], GROUPS = Object.create(null);
  var RANK = Object.create(null);
  META.verdicts.forEach(function (v, i) { RANK[v] = i; });
  var FLAGGED = { likely_altered: 1, decoy_suspected: 1, suspicious: 1 };
  var state = { q: "", verdict: "", type: "", group: "", col: -1, dir: 1, page: 0, view: [] };
  var hay = null, loaded = false, pending = false;
  // Without DecompressionStream the table falls back to the plain pages of every flagged
  // file, one page parsed at a time.
  var PACKED = typeof DecompressionStream === "function" && typeof Response === "function" &&
    typeof Blob === "function" && typeof Blob.prototype.stream === "function";
  var PAGES = document.querySelectorAll("script.p-rows"), pageIdx = [], allPages = false;

  function own(o, k) { return Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined; }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function add(parent, child) { parent.appendChild(child); return child; }
  function text(parent, t) { parent.appendChild(document.createTextNode(t)); }
  function short(t) { return t ? String(t).replace("T", " ").replace(/:\d\d(\.\d+)?Z$/, "Z") : ""; }
  function isId(v) { return typeof v === "number" && v >= 0 && Math.floor(v) === v; }
  function fileLink(i, label) {
    var a = el("a", "", label === undefined ? (ROWS[i] ? ROWS[i][0] : "file " + i) : label);
    if (isId(i)) { a.href = "#f=" + i; }  // an integer index: never a value from the dump
    return a;
  }
  function groupLink(g) {
    var a = el("a", "", "group " + g);
    if (isId(g)) { a.href = "#group=" + g; }
    return a;
  }

  // --- unpacking ------------------------------------------------------------------------
  function bytesOf(b64) {
    var bin = atob(b64), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out;
  }
  function unpack(node) {
    // gzip in base64 -> bytes -> Blob stream -> DecompressionStream -> text -> JSON.
    var stream = new Blob([bytesOf(node.textContent)]).stream()
      .pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text().then(function (t) { return JSON.parse(t); });
  }
  var CHUNKS = document.querySelectorAll("script.z-details"), chunkCache = [], chunkKeys = [];
  function chunk(k) {
    if (!chunkCache[k]) {
      var node = CHUNKS[k];
      if (!node || Number(node.dataset.first) !== k * META.chunk) { return Promise.reject(new Error("no chunk")); }
      chunkCache[k] = unpack(node);
      chunkKeys.push(k);
      if (chunkKeys.length > 8) { delete chunkCache[chunkKeys.shift()]; }
    }
    return chunkCache[k];
  }
  function detailOf(i) {
    // A chunk is columnar: {key: [the value of each of its files, or null]}.
    if (!PACKED) { return Promise.reject(new Error("no DecompressionStream")); }
    var k = Math.floor(i / META.chunk), j = i - k * META.chunk;
    return chunk(k).then(function (columns) {
      var d = {};
      Object.keys(columns).forEach(function (key) {
        var v = columns[key][j];
        if (v !== null && v !== undefined) { d[key] = v; }
      });
      if (!d.h) { return null; }
      if (!isId(d.facts_of)) { return d; }
      // The same content's facts are written once, in the detail of its first file.
      return detailOf(d.facts_of).then(function (t) {
        d.facts = t && t.facts ? t.facts : [];
        if (t && t.raw) { d.raw = t.raw; d.raw_more = t.raw_more; }
        return d;
      }, function () { d.facts = []; return d; });
    });
  }
  function readPage(p) {
    // The indexes of the files on fallback page p, its rows read into ROWS the first time.
    if (!pageIdx[p]) {
      pageIdx[p] = [];
      JSON.parse(PAGES[p] ? PAGES[p].textContent : "[]").forEach(function (pair) {
        if (!isId(pair[0])) { return; }
        pageIdx[p].push(pair[0]);
        if (ROWS[pair[0]] === undefined) { ROWS[pair[0]] = pair[1]; ORDER.push(pair[0]); }
      });
    }
    return pageIdx[p];
  }
  function readAllPages() {
    if (!allPages) {
      for (var p = 0; p < PAGES.length; p++) { readPage(p); }
      allPages = true; hay = null;
    }
  }

  // --- table ----------------------------------------------------------------------------
  function haystack() {
    if (!hay) {
      hay = [];
      ORDER.forEach(function (i) {
        var r = ROWS[i];
        hay[i] = [r[0], r[3], r[5], r[6], r[7], r[11], r[1]].join("\u0001").toLowerCase();
      });
    }
    return hay;
  }
  function lazy() {
    // The fallback's first order is the pages' own: no page is read before it is shown.
    return !PACKED && !allPages && !state.q && !state.verdict && !state.type && !state.group && state.col < 0;
  }
  function compute() {
    if (!PACKED && !lazy()) { readAllPages(); }
    if (lazy()) { state.view = null; return; }
    var q = state.q.toLowerCase(), h = q ? haystack() : null, out = [];
    var g = state.group ? " " + state.group + " " : "";
    for (var n = 0; n < ORDER.length; n++) {
      var i = ORDER[n], r = ROWS[i];
      if (state.verdict === "flagged" ? !FLAGGED[r[1]] : (state.verdict && r[1] !== state.verdict)) { continue; }
      if (state.type && r[3] !== state.type) { continue; }
      if (g && (" " + r[12] + " ").indexOf(g) < 0) { continue; }
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
        return x || (ra[0] < rb[0] ? -1 : ra[0] > rb[0] ? 1 : a - b);
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
    var total = state.view ? state.view.length : META.fallback;
    var pages = Math.max(1, Math.ceil(total / PAGE));
    if (state.page >= pages) { state.page = pages - 1; }
    var view = state.view, start = state.page * PAGE;
    if (!view) { view = readPage(state.page); start = 0; }
    var frag = document.createDocumentFragment(), end = Math.min(view.length, start + PAGE);
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
    if (!end) { var tr0 = add(tbody, el("tr")); var td0 = add(tr0, el("td", "", "No file matches.")); td0.colSpan = 10; }
    tbody.appendChild(frag);
    var known = PACKED ? ROWS.length : META.fallback;
    document.getElementById("count").textContent = total + " of " + known + " files";
    document.getElementById("page").textContent = "page " + (state.page + 1) + " / " + pages;
    document.getElementById("prev").disabled = state.page === 0;
    document.getElementById("next").disabled = state.page >= pages - 1;
  }
  function refresh() { compute(); render(); }

  function groupCaption() {
    var cap = document.getElementById("groupcap");
    cap.textContent = "";
    cap.hidden = !state.group;
    if (!state.group) { return; }
    var g = GROUPS[state.group];
    text(cap, "Members of group " + state.group);
    if (g) {
      text(cap, " · " + g[1] + " · " + g[2] + " · " + g[3] + " files (" + g[4] + " in this table, " + g[5] + " flagged)");
      g[6].forEach(function (kv) { text(cap, " · " + kv[0] + "=" + kv[1]); });
    }
    text(cap, " ");
    var all = add(cap, el("a", "", "show every file"));
    all.href = "#members=";
  }

  tbody.addEventListener("click", function (ev) {
    var tr = ev.target.closest("tr");
    if (tr && tr.dataset.i !== undefined) { location.hash = "f=" + tr.dataset.i; }
  });
  document.querySelectorAll("#table th").forEach(function (th) {
    th.addEventListener("click", function () {
      if (!loaded) { return; }
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
    timer = setTimeout(function () { if (loaded) { state.q = qbox.value; state.page = 0; refresh(); } }, 150);
  });
  var fv = document.getElementById("fv"), ft = document.getElementById("ft");
  fv.addEventListener("change", function () { if (loaded) { state.verdict = fv.value; state.page = 0; refresh(); } });
  ft.addEventListener("change", function () { if (loaded) { state.type = ft.value; state.page = 0; refresh(); } });
  document.getElementById("prev").addEventListener("click", function () { state.page--; render(); });
  document.getElementById("next").addEventListener("click", function () { state.page++; render(); });

  // --- detail panel ---------------------------------------------------------------------
  var panel = document.getElementById("detail"), body = document.getElementById("detail-body");
  var shownDetail = 0;
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
  // A passage that differs between two versions, shown as what was removed and what came
  // in its place: "old → new" (an altered copy's passage) or "-old | +new" (an earlier PDF
  // revision's text). Any other shape stays plain text.
  function evidenceValue(e) {
    var note = e[2] ? "  (" + e[2] + ")" : "", value = String(e[1]), parts = null;
    if (e[0] === "corpus.diff") {
      var halves = value.split(" \u2192 ");
      if (halves.length === 2) { parts = [["-", halves[0]], ["+", halves[1]]]; }
    } else if (e[0] === "pdf.revision_diff") {
      parts = value.split(" | ").map(function (p) { return [p.charAt(0), p.slice(1)]; });
      if (!parts.every(function (p) { return p[0] === "-" || p[0] === "+"; })) { parts = null; }
    }
    if (!parts) { return value + note; }
    var span = el("span", "passage");
    parts.forEach(function (p, n) {
      if (n) { text(span, e[0] === "corpus.diff" ? " \u2192 " : " | "); }
      add(span, el(p[0] === "-" ? "del" : "ins", p[0] === "-" ? "was" : "now", p[1]));
    });
    if (note) { text(span, note); }
    return span;
  }
  function factValue(name, values) {
    if (name !== "email.dkim_result") { return values.join(" | "); }
    var span = el("span");
    values.forEach(function (v, n) {
      if (n) { text(span, " | "); }
      add(span, el("span", v === "pass" ? "dkim-pass" : (v.indexOf("fail") === 0 || v === "invalid" ? "dkim-fail" : ""), v));
    });
    return span;
  }
  // A fact the table row shows is written as the number of its column.
  function facts(r, v) { return typeof v === "number" ? [String(r[v])] : v; }
  function more(n, what) { return n ? el("p", "why", "… and " + n + " more " + what + " (files.jsonl and triage.sqlite have them all)") : null; }
  function addMore(parent, n, what) { var p = more(n, what); if (p) { parent.appendChild(p); } }
  function head(i, r) {
    body.textContent = "";
    var parts = r[0].split("!");
    add(body, el("h2", "", parts[parts.length - 1]));
    var p = add(body, el("p"));
    add(p, el("span", "badge v-" + (RANK[r[1]] === undefined ? "x" : r[1]), r[1]));
    text(p, [" score " + (r[2] === null ? "–" : Math.round(r[2])), r[3], r[4] ? "status " + r[4] : ""]
      .filter(Boolean).join(" · "));
    add(body, el("p", "", own(META.legend, r[1]) || ""));
  }
  function showDetail(i) {
    if (!ROWS[i] && !PACKED) { readAllPages(); }
    var r = ROWS[i];
    if (!r) { return; }
    var token = ++shownDetail;
    delete body.dataset.shown;
    head(i, r);
    add(body, el("p", "why", PACKED ? "Unpacking the detail…" : ""));
    panel.hidden = false;
    panel.scrollTop = 0;
    detailOf(i).then(function (d) {
      if (token !== shownDetail) { return; }
      if (d) { drawDetail(i, r, d); } else { drawRowOnly(i, r); }
      body.dataset.shown = String(i);
    }, function () {
      if (token === shownDetail) { drawRowOnly(i, r); body.dataset.shown = String(i); }
    });
  }
  function drawRowOnly(i, r) {
    head(i, r);
    add(body, el("p", "caveat", "This browser cannot unpack the page's compressed data (it lacks DecompressionStream: Chrome and Edge 80, Firefox 113 and Safari 16.4 have it), so this panel shows the file's row only. files.jsonl and triage.sqlite hold its full detail."));
    kvTable(body, [["path", r[0]], ["author", r[5]], ["application", r[6]], ["title", r[7]], ["created", r[8]],
      ["modified", r[9]], ["email date", r[10]], ["groups", r[12]]].filter(function (kv) { return kv[1]; }));
    add(body, el("h3", "", "Rules that fired"));
    var ul = add(body, el("ul"));
    String(r[11] || "").split(" ").filter(Boolean).forEach(function (id) {
      var rule = own(META.rules, id), li = add(ul, el("li"));
      add(li, el("code", "", id));
      if (rule) { text(li, " " + rule[0]); }
    });
  }
  // A picture's bytes wait in an inert block (a data: URI of PNG or JPEG) until its file's
  // detail is drawn; the file's index and the picture's number are integers, never a value
  // from the dump, and the URI is checked to be an image before it becomes one.
  var PICTURE_URI = /^data:image\/(png|jpeg);base64,[A-Za-z0-9+\/]+=*$/;
  function drawPictures(i, d) {
    add(body, el("h3", "", "Pictures of the evidence"));
    var where = d.id ? "evidence/" + d.id + "/" : "the scan's evidence folder ";
    d.pics.forEach(function (p, n) {
      var fig = add(body, el("figure", "pic"));
      var node = p[6] && isId(i) && isId(n) ?
        document.querySelector('script.z-pic[data-file="' + i + '"][data-n="' + n + '"]') : null;
      var uri = node ? node.textContent : "";
      if (uri && PICTURE_URI.test(uri)) {
        var img = add(fig, el("img"));
        img.alt = p[2];
        if (isId(p[4]) && isId(p[5]) && p[4] && p[5]) { img.width = p[4]; img.height = p[5]; }
        img.src = uri;
      } else if (p[3] === "application/pdf") {
        add(fig, el("p", "why", "Kept as a PDF of its own: " + where + p[0]));
      } else {
        add(fig, el("p", "why", "Not in this page (the pictures share a size budget, the most worrying files first): " + where + p[0]));
      }
      var cap = add(fig, el("figcaption", "", p[2] + " "));
      add(cap, el("code", "", p[0]));
    });
  }
  function drawDetail(i, r, d) {
    head(i, r);
    if (d.cut) {
      add(body, el("p", "caveat cut", "The details in this page share a size budget, so that the page stays small enough to open; this file's detail is cut to " +
        (d.cut === "brief" ? "its identity, provenance, findings and groups (its facts, raw metadata, weight chain and differing passages are left out)."
          : "its identity, provenance and groups; the rules that fired are named in its row of the table.") +
        " files.jsonl, triage.sqlite and `leaktriage show OUT PATH` keep everything."));
    } else if (!FLAGGED[r[1]] && META.light) {
      add(body, el("p", "caveat", "This file is not flagged, so its detail is shortened to keep the page light: values cut at " +
        META.light.value + " characters, lists at " + META.light.items + " elements, " + META.light.evidence +
        " evidence items per finding, no text sample, no md5 or record id. files.jsonl and triage.sqlite keep everything."));
    }
    add(body, el("h3", "", "Provenance"));
    var chain = add(body, el("ol", "chain"));
    d.chain.forEach(function (p) { add(add(chain, el("li")), fileLink(p)); });
    add(add(chain, el("li")), el("b", "", r[0]));

    if (d.same) {
      add(body, el("h4", "", "Same content (sha256) in " + d.same_count + " other place" + (d.same_count === 1 ? "" : "s") + " of the table"));
      var sl = add(body, el("ul", "chain"));
      d.same.forEach(function (k) { add(add(sl, el("li")), fileLink(k)); });
      if (d.same_count > d.same.length) { add(sl, el("li", "", "and " + (d.same_count - d.same.length) + " more")); }
    }

    add(body, el("h3", "", "Identity"));
    var ident = [["sha256", d.h[0].length < 64 && d.h[0] ? d.h[0] + "… (the first " + d.h[0].length + " characters; files.csv has them all)" : d.h[0]]];
    if (d.h[1]) { ident.push(["md5", d.h[1]]); }
    ident.push(["size", d.h[2] === null ? "" : d.h[2] + " bytes"]);
    if (d.id) { ident.push(["record id", d.id]); }
    ident.push(["extractor", d.h[3]], ["container time", d.h[4]]);
    kvTable(body, ident);

    var extra = 0;
    (d.find_more || []).forEach(function (m) { extra += m[1]; });
    // A stub's findings are not in the page (its row names the rules that fired).
    if (d.cut !== "stub") { add(body, el("h3", "", "Findings (" + (d.find.length + extra) + ")")); }
    if (!d.find.length && d.cut !== "stub") { add(body, el("p", "", "No rule or corpus check fired. That is not proof the file is genuine.")); }
    d.find.forEach(function (f) {
      var box = add(body, el("div", "finding f-" + f[1])), rule = own(META.rules, f[0]);
      var top = add(box, el("p"));
      add(top, el("span", "sev s-" + f[1], f[1]));
      add(top, el("b", "", rule ? rule[0] : f[0]));
      text(top, " ");
      add(top, el("code", "", f[0]));
      text(top, " · grade " + f[2] + " · " + f[5]);
      add(box, el("p", "", f[4]));
      if (rule && rule[1]) { add(box, el("p", "why", "Why it matters: " + rule[1])); }
      if (rule && rule[2] && rule[2].length) {
        add(box, el("p", "why", "Innocent explanations:"));
        var ul = add(box, el("ul", "why"));
        rule[2].forEach(function (t) { add(ul, el("li", "", t)); });
      }
      add(box, el("p", "why", "Technique: " + (own(META.techniques, f[3]) || f[3])));
      if (f[6].length) {
        kvTable(box, f[6].map(function (e) { return [e[0], evidenceValue(e)]; }));
      }
      addMore(box, f[7], "evidence items");
      if (f[8]) { add(box, el("p", "why", "… and " + f[8] + " other files of its group, listed under Corpus groups below.")); }
    });
    (d.find_more || []).forEach(function (m) {
      var rule = own(META.rules, m[0]);
      add(body, el("p", "why", "… and " + m[1] + " more findings of " + (rule ? rule[0] + " (" + m[0] + ")" : m[0]) +
        ", not shown; the weight chain below counts them all, files.jsonl has them."));
    });

    if (d.weights) {
      add(body, el("h3", "", "How the verdict was reached"));
      add(body, el("p", "why", "Each finding weighs log10 of how much rarer it is among genuine files than among altered ones; findings reading the same fact count once; context adds little."));
      var wl = add(body, el("ul", "weights"));
      d.weights.forEach(function (t) { add(wl, el("li", "", t)); });
    }

    var revs = null;
    d.facts.forEach(function (g) { g[1].forEach(function (f) { if (f[0] === "pdf.revision_diff") { revs = facts(r, f[1]); } }); });
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
    if (d.pics) { drawPictures(i, d); }
    if (d.diffs) {
      add(body, el("h3", "", "Differing passages"));
      d.diffs.forEach(function (x) {
        var p = add(body, el("p"));
        text(p, "This file (left) against ");
        p.appendChild(fileLink(x.other));
        text(p, " (right), similarity " + (x.similarity === null ? "?" : Number(x.similarity).toFixed(2)));
        x.hunks.forEach(function (h) {
          var g = add(body, el("div", "diff"));
          add(g, el("pre", "a", h[0]));
          add(g, el("pre", "b", h[1]));
        });
        addMore(body, x.more, "differing passages");
      });
      addMore(body, d.diffs_more, "copies with differing passages");
    }
    if (d.groups) {
      add(body, el("h3", "", "Corpus groups"));
      kvTable(body, d.groups.map(function (m) {
        var g = GROUPS[m[0]], span = el("span");
        span.appendChild(groupLink(m[0]));
        if (g) { text(span, " · " + g[1] + " · " + g[2] + " · " + g[3] + " files"); }
        return [m[1] || "member", span];
      }));
    }
    if (d.rare) {
      add(body, el("h3", "", "Rare attribute values"));
      kvTable(body, d.rare.map(function (x) { return [x[0], x[1] + "  (" + x[2] + " of " + x[3] + " files)"]; }));
    }
    if (d.issues) {
      add(body, el("h3", "", "Issues"));
      kvTable(body, d.issues.map(function (x) { return [x[0] + "/" + x[1], x[2]]; }));
    }
    if (!d.cut) { add(body, el("h3", "", "Facts")); }
    d.facts.forEach(function (g) {
      add(body, el("h4", "", g[0]));
      kvTable(body, g[1].map(function (f) { return [f[0], factValue(f[0], facts(r, f[1]))]; }));
    });
    if (d.raw) {
      add(body, el("h3", "", "Raw metadata as found"));
      kvTable(body, d.raw);
      addMore(body, d.raw_more, "raw entries");
    }
  }
  function closeDetail() {
    panel.hidden = true;
    shownDetail++;
    try { history.replaceState(null, "", location.pathname + location.search); } catch (e) { location.hash = ""; }
  }
  document.getElementById("close").addEventListener("click", closeDetail);
  document.addEventListener("keydown", function (ev) { if (ev.key === "Escape" && !panel.hidden) { closeDetail(); } });

  function route() {
    if (!loaded) { pending = true; return; }
    var h = decodeURIComponent(location.hash.slice(1)), eq = h.indexOf("="), key = h.slice(0, eq), val = h.slice(eq + 1);
    if (key === "f" && /^\d+$/.test(val)) { showDetail(Number(val)); return; }
    if (key === "group" && /^\d+$/.test(val) && document.getElementById("g-" + val)) {
      var box = document.getElementById("g-" + val);
      box.open = true;
      panel.hidden = true;
      box.scrollIntoView();
      return;
    }
    if ((key === "group" || key === "members") && /^\d*$/.test(val)) {
      state.group = val; panel.hidden = true;
      groupCaption();
      state.page = 0; refresh();
      document.getElementById("files").scrollIntoView();
      return;
    }
    if (key === "verdict" || key === "rule") {
      if (key === "verdict") { state.verdict = val; fv.value = val; state.q = ""; qbox.value = ""; }
      else { state.q = val; qbox.value = val; state.verdict = ""; fv.value = ""; }
      state.page = 0; refresh();
      document.getElementById("files").scrollIntoView();
    }
  }
  window.addEventListener("hashchange", route);

  function ready(mode) {
    loaded = true;
    var note = document.getElementById("mode");
    if (mode) { note.textContent = mode; note.hidden = false; }
    var cutNode = document.getElementById("report-cut"), cutNote = document.getElementById("cut-note");
    var cut = cutNode ? JSON.parse(cutNode.textContent) : null;
    if (PACKED && cut && cutNote && (cut.brief || cut.stub)) {
      cutNote.textContent = "The files' details in this page share a budget of " + cut.budget + " characters, so that it stays small enough to open: " +
        (cut.brief ? cut.brief + " details are cut to the identity, provenance, findings and groups" : "") + (cut.brief && cut.stub ? ", and " : "") +
        (cut.stub ? cut.stub + " to the identity, provenance and groups" : "") +
        " (files that are not flagged first; each such detail says so). files.jsonl and triage.sqlite keep every detail.";
      cutNote.hidden = false;
    }
    refresh();
    document.documentElement.dataset.rendered = String(PACKED ? ROWS.length : META.fallback);
    document.documentElement.dataset.mode = PACKED ? "packed" : "fallback";
    window.__leaktriageReady = performance.now();
    if (pending || location.hash) { route(); }
  }
  function fallback() {
    PACKED = false;
    ROWS = []; ORDER = [];
    ready("This browser cannot unpack the page's compressed table (it lacks DecompressionStream: Chrome and Edge 80, Firefox 113 and Safari 16.4 have it). The table shows the " +
      META.fallback + " flagged files, kept uncompressed for it; files.csv and triage.sqlite hold every file.");
  }
  if (PACKED) {
    tbody.textContent = "";
    var wait = add(add(tbody, el("tr")), el("td", "", "Unpacking the table of " + META.files + " files…"));
    wait.colSpan = 10;
    var zcols = Array.prototype.slice.call(document.querySelectorAll("script.z-col"));
    var parts = zcols.map(function (node, k) {
      return Number(node.dataset.col) === k ? unpack(node) : Promise.reject(new Error("column"));
    });
    parts.push(unpack(document.getElementById("z-groups")));
    Promise.all(parts).then(function (got) {
      // One array per column; paths as [characters shared with the previous path, rest].
      var cols = got.slice(0, zcols.length), n = cols[0].length, path = "";
      ROWS = new Array(n);
      for (var i = 0; i < n; i++) {
        var fc = cols[0][i], r = [];
        path = path.slice(0, fc[0]) + fc[1];
        r.push(path);
        for (var c = 1; c < cols.length; c++) { r.push(cols[c][i]); }
        ROWS[i] = r;
        ORDER.push(i);
      }
      got[zcols.length].forEach(function (g) { GROUPS[g[0]] = g; });
      ready("");
    }, fallback);
  } else {
    fallback();
  }
})();
