(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("run-data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  // Every field, objective, level and bottleneck name comes with the data (report.py's
  // page_names): this script spells none of them.
  var NAMES = DATA.names;
  var LABELS = NAMES.labels;
  var HW = NAMES.hardware;
  var BOUNDS = NAMES.bounds, PARTS = NAMES.parts;
  var BOUND_COLOURS = {};
  BOUNDS.forEach(function (b) { BOUND_COLOURS[b.name] = b.colour; });
  var LINE_COLOUR = BOUNDS[0].colour;
  var ROWS = NAMES.array[0], COLS = NAMES.array[1], ROOF = NAMES.roofline;
  function pesOf(a) { return a[ROWS] * a[COLS]; }
  var designs = DATA.designs;
  var LABEL_ROOM = 20 + 7 * Math.max.apply(null, [8].concat(designs.map(function (d) {
    return Math.max.apply(null, [0].concat(d.layers.map(function (l) {
      return layerName(l).length; })));
  })));
  var tooltip = document.getElementById("tooltip");
  var selected = designs.length ? DATA["default"] : -1;

  function el(tag, attrs, parent, text) {
    var node = document.createElementNS(NS, tag);
    for (var k in attrs) { node.setAttribute(k, attrs[k]); }
    if (text !== undefined) { node.textContent = text; }
    if (parent) { parent.appendChild(node); }
    return node;
  }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }
  function fmt(v) {
    if (v === null || v === undefined) { return "–"; }
    if (typeof v !== "number") { return String(v); }
    if (v === 0) { return "0"; }
    var a = Math.abs(v);
    if (a >= 1e5 || a < 1e-3) { return v.toExponential(2); }
    return Number(v.toPrecision(4)).toString();
  }
  function fields(d) {
    var out = {};
    for (var key in d.metrics) {
      if (typeof d.metrics[key] === "number") { out[key] = d.metrics[key]; }
    }
    HW.forEach(function (k) {
      if (typeof d.accelerator[k] === "number") { out[k] = d.accelerator[k]; }
    });
    out[NAMES.pe_count] = pesOf(d.accelerator);
    return out;
  }
  var FIELDS = designs.map(fields);
  var KEYS = FIELDS.length ? Object.keys(FIELDS[0]) : [];
  function label(k) { return LABELS[k] || k; }

  // -- scales and axes ---------------------------------------------------------------
  function scale(values, r0, r1, log) {
    var v = values.filter(function (x) { return typeof x === "number" && isFinite(x) &&
                                                 (!log || x > 0); });
    var lo = v.length ? Math.min.apply(null, v) : 0;
    var hi = v.length ? Math.max.apply(null, v) : 1;
    if (log && !v.length) { lo = 1; hi = 10; }
    var t0 = log ? Math.log10(lo) : lo, t1 = log ? Math.log10(hi) : hi;
    if (t1 - t0 < 1e-12) { var w = log ? 0.5 : (Math.abs(t0) * 0.1 || 1); t0 -= w; t1 += w; }
    var pad = (t1 - t0) * 0.06;
    t0 -= pad; t1 += pad;
    var f = function (x) {
      var t = log ? Math.log10(x) : x;
      return r0 + (t - t0) / (t1 - t0) * (r1 - r0);
    };
    f.ok = function (x) { return typeof x === "number" && isFinite(x) && (!log || x > 0); };
    f.ticks = function () { return ticks(t0, t1, log); };
    return f;
  }
  function linearTicks(a, b) {
    var span = b - a, step = Math.pow(10, Math.floor(Math.log10(span / 5)));
    if (span / step > 20) { step *= 5; } else if (span / step > 10) { step *= 2; }
    var out = [];
    for (var x = Math.ceil(a / step) * step; x <= b + step * 1e-9; x += step) {
      out.push(Math.abs(x) < step * 1e-9 ? 0 : x);
    }
    return out;
  }
  function ticks(t0, t1, log) {
    if (!log) { return linearTicks(t0, t1); }
    var decades = [], all = [];
    for (var e = Math.floor(t0); e <= Math.ceil(t1); e++) {
      [1, 2, 5].forEach(function (m) {
        var t = Math.log10(m) + e;
        if (t < t0 || t > t1) { return; }
        all.push(m * Math.pow(10, e));
        if (m === 1) { decades.push(Math.pow(10, e)); }
      });
    }
    if (decades.length >= 3 || all.length > 8) { return decades; }
    if (all.length >= 2) { return all; }
    return linearTicks(Math.pow(10, t0), Math.pow(10, t1)).filter(function (x) {
      return x > 0;
    });
  }
  function frame(svg, bx, xs, ys, xlabel, ylabel, xTicks) {
    var g = el("g", {"class": "axes"}, svg);
    el("rect", {x: bx.l, y: bx.t, width: bx.r - bx.l, height: bx.b - bx.t,
                fill: "none", stroke: "#999"}, g);
    var lastX = -1e9, lastY = 1e9;
    (xTicks || xs.ticks()).forEach(function (v) {
      var x = xs(v);
      if (x < bx.l - 0.5 || x > bx.r + 0.5 || x - lastX < 36) { return; }
      lastX = x;
      el("line", {x1: x, x2: x, y1: bx.t, y2: bx.b, stroke: "#eee"}, g);
      el("text", {x: x, y: bx.b + 14, "text-anchor": "middle"}, g, fmt(v));
    });
    ys.ticks().forEach(function (v) {
      var y = ys(v);
      if (y < bx.t - 0.5 || y > bx.b + 0.5 || lastY - y < 16) { return; }
      lastY = y;
      el("line", {x1: bx.l, x2: bx.r, y1: y, y2: y, stroke: "#eee"}, g);
      el("text", {x: bx.l - 4, y: y + 4, "text-anchor": "end"}, g, fmt(v));
    });
    el("text", {x: (bx.l + bx.r) / 2, y: bx.b + 32, "text-anchor": "middle"}, g, xlabel);
    el("text", {x: 14, y: (bx.t + bx.b) / 2, "text-anchor": "middle",
                transform: "rotate(-90 14 " + (bx.t + bx.b) / 2 + ")"}, g, ylabel);
    return g;
  }
  function box(svg, l, r, t, b) {
    var w = Number(svg.getAttribute("width")), h = Number(svg.getAttribute("height"));
    return {l: l, r: w - r, t: t, b: h - b, w: w, h: h};
  }
  function message(svg, text) {
    clear(svg);
    el("text", {x: Number(svg.getAttribute("width")) / 2,
                y: Number(svg.getAttribute("height")) / 2, "text-anchor": "middle"}, svg, text);
  }
  function showTip(evt, text) {
    tooltip.textContent = text;
    tooltip.style.display = "block";
    tooltip.style.left = (evt.clientX + 14) + "px";
    tooltip.style.top = (evt.clientY + 10) + "px";
  }
  function hideTip() { tooltip.style.display = "none"; }
  function viridis(t) {
    var stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
    t = Math.max(0, Math.min(1, t)) * (stops.length - 1);
    var i = Math.min(Math.floor(t), stops.length - 2), f = t - i;
    var c = stops[i].map(function (a, j) { return Math.round(a + f * (stops[i + 1][j] - a)); });
    return "rgb(" + c.join(",") + ")";
  }

  // -- Pareto scatter ----------------------------------------------------------------
  var xSel = document.getElementById("x-axis"), ySel = document.getElementById("y-axis");
  var cSel = document.getElementById("c-axis");
  var logX = document.getElementById("log-x"), logY = document.getElementById("log-y");
  var logC = document.getElementById("log-c");
  function fillSelect(sel, value) {
    KEYS.forEach(function (k) {
      var o = document.createElement("option");
      o.value = k; o.textContent = label(k); sel.appendChild(o);
    });
    if (KEYS.indexOf(value) >= 0) { sel.value = value; }
  }
  var objs = (DATA.objectives || []).map(function (o) {
    return (NAMES.objectives[o] || {column: o}).column;
  });
  var defaults = objs.concat(NAMES.default_axes).filter(function (k) {
    return KEYS.indexOf(k) >= 0;
  });
  fillSelect(xSel, defaults[0]);
  fillSelect(ySel, defaults.filter(function (k) { return k !== defaults[0]; })[0]);
  fillSelect(cSel, defaults.filter(function (k) {
    return k !== xSel.value && k !== ySel.value; })[0] || NAMES.colour_fallback);

  function tipText(i) {
    var d = designs[i], a = d.accelerator, m = d.metrics;
    var df = typeof a.dataflow === "string" ? a.dataflow : (a.dataflow && a.dataflow.name);
    var lines = ["design " + d.design,
      "PE array " + a[ROWS] + " x " + a[COLS] + ", dataflow " + df];
    var hw = HW.filter(function (k) { return k !== ROWS && k !== COLS && k in a; })
      .map(function (k) {
        var t = NAMES.text[k] || {label: k, unit: ""};
        return t.label + " " + fmt(a[k]) + (t.unit ? " " + t.unit : "");
      });
    for (var h = 0; h < hw.length; h += 2) { lines.push(hw.slice(h, h + 2).join(", ")); }
    NAMES.summary_metrics.forEach(function (k) {
      if (k in m) { lines.push(label(k) + ": " + fmt(m[k])); }
    });
    if (BOUNDS.length && BOUNDS[0].share in m) {
      lines.push("cycles bound by " + BOUNDS.map(function (b) {
        return b.label + " " + fmt(m[b.share]);
      }).join(", "));
    }
    return lines.join("\n");
  }
  function drawPareto() {
    var svg = document.getElementById("pareto-plot");
    if (!designs.length) { message(svg, "no feasible design in this run"); return; }
    clear(svg);
    var bx = box(svg, 70, 90, 16, 44);
    var xk = xSel.value, yk = ySel.value, ck = cSel.value;
    var xv = FIELDS.map(function (f) { return f[xk]; });
    var yv = FIELDS.map(function (f) { return f[yk]; });
    var cv = FIELDS.map(function (f) { return f[ck]; });
    var xs = scale(xv, bx.l, bx.r, logX.checked), ys = scale(yv, bx.b, bx.t, logY.checked);
    frame(svg, bx, xs, ys, label(xk), label(yk));
    var cok = cv.filter(isFinite);
    var cmin = Math.min.apply(null, cok), cmax = Math.max.apply(null, cok);
    // log colour, as in pareto.png: areas and energies of a front span decades
    var clog = logC.checked && cok.length > 0 && cmin > 0;
    cSel.setAttribute("data-scale", clog ? "log" : "linear");
    function cpos(v) {
      if (clog) {
        var span = Math.log10(cmax) - Math.log10(cmin);
        return span > 0 ? (Math.log10(v) - Math.log10(cmin)) / span : 0.5;
      }
      return cmax > cmin ? (v - cmin) / (cmax - cmin) : 0.5;
    }
    var order = FIELDS.map(function (_, i) { return i; }).sort(function (a, b) {
      return (a === selected) - (b === selected);
    });
    order.forEach(function (i) {
      if (!xs.ok(xv[i]) || !ys.ok(yv[i])) { return; }
      var c = el("circle", {cx: xs(xv[i]), cy: ys(yv[i]), r: i === selected ? 8 : 5,
        fill: isFinite(cv[i]) ? viridis(cpos(cv[i])) : "#999",
        stroke: i === selected ? "#000" : "#333", "stroke-width": i === selected ? 2.5 : 0.6,
        "class": "design-point", "data-design": i}, svg);
      c.style.cursor = "pointer";
      c.addEventListener("mousemove", function (e) { showTip(e, tipText(i)); });
      c.addEventListener("mouseleave", hideTip);
      c.addEventListener("click", function () { select(i); });
    });
    var defs = el("defs", {}, svg);
    var grad = el("linearGradient", {id: "cgrad", x1: 0, x2: 0, y1: 1, y2: 0}, defs);
    for (var s = 0; s <= 4; s++) {
      el("stop", {offset: s / 4, "stop-color": viridis(s / 4)}, grad);
    }
    var lx = bx.r + 22;
    el("rect", {x: lx, y: bx.t, width: 12, height: bx.b - bx.t, fill: "url(#cgrad)"}, svg);
    el("text", {x: lx + 16, y: bx.t + 10}, svg, fmt(cmax));
    el("text", {x: lx + 16, y: bx.b}, svg, fmt(cmin));
    if (clog && cmax > cmin) {  // the geometric middle, so that the scale reads as log
      el("text", {x: lx + 16, y: (bx.t + bx.b) / 2 + 4}, svg,
         fmt(Math.sqrt(cmin * cmax)));
    }
    el("text", {x: lx + 16, y: bx.b + 14}, svg, clog ? "log" : "linear");
    el("text", {x: lx + 6, y: (bx.t + bx.b) / 2, "text-anchor": "middle",
                transform: "rotate(-90 " + (lx - 6) + " " + (bx.t + bx.b) / 2 + ")"},
       svg, label(ck));
  }

  // -- convergence -------------------------------------------------------------------
  function drawConvergence() {
    var svg = document.getElementById("convergence-plot");
    var rows = (DATA.history || []).filter(function (r) {
      return typeof r.evaluations === "number" && typeof r.hypervolume === "number";
    });
    if (!rows.length) { message(svg, "no history.csv in this run"); return; }
    clear(svg);
    var bx = box(svg, 60, 16, 24, 44);
    var ev = rows.map(function (r) { return r.evaluations; });
    var hv = rows.map(function (r) { return r.hypervolume; });
    var xs = scale(ev, bx.l, bx.r, false), ys = scale(hv, bx.b, bx.t, false);
    frame(svg, bx, xs, ys, "design evaluations", "hypervolume");
    el("text", {x: bx.l, y: 14}, svg, "convergence");
    var pts = rows.map(function (r, i) { return xs(ev[i]) + "," + ys(hv[i]); }).join(" ");
    el("polyline", {points: pts, fill: "none", stroke: LINE_COLOUR,
                    "stroke-width": 2}, svg);
    rows.forEach(function (r, i) {
      var c = el("circle", {cx: xs(ev[i]), cy: ys(hv[i]), r: 3,
                            fill: LINE_COLOUR}, svg);
      el("title", {}, c, "generation " + r.generation + ": " + fmt(ev[i]) +
         " evaluations, hypervolume " + fmt(hv[i]));
    });
  }

  // -- per-layer breakdown -----------------------------------------------------------
  function layerName(l) {
    if (l.label) { return l.label; }
    var n = (l.names && l.names.length) ? l.names[0] : "layer " + l.layer;
    return l.count > 1 ? n + " ×" + l.count : n;
  }
  function layerTitle(l) {  // tooltips: every name the unique layer stands for
    var names = (l.names || []).slice(0, 8).join(", ");
    if ((l.names || []).length > 8) { names += ", … (" + l.names.length + " in all)"; }
    return layerName(l) + (names && names !== layerName(l) ? "\n" + names : "");
  }
  function bars(svg, layers, stacks, ylabel, title, lowers) {
    clear(svg);
    var bx = box(svg, 70, 16, 44, LABEL_ROOM);
    var totals = stacks.map(function (s) {
      return s.reduce(function (a, p) { return a + p.value; }, 0);
    });
    var ys = scale(totals.concat(lowers || []).concat([0]), bx.b, bx.t, false);
    var n = layers.length, band = (bx.r - bx.l) / Math.max(n, 1);
    var g = frame(svg, bx, {ticks: function () { return []; }}, ys, "", ylabel);
    el("text", {x: bx.l, y: 16}, svg, title);
    var y0 = ys(0);
    layers.forEach(function (l, i) {
      var x = bx.l + i * band + band * 0.12, w = band * 0.76, base = 0;
      stacks[i].forEach(function (p) {
        var yTop = ys(base + p.value), yBot = ys(base);
        var r = el("rect", {x: x, y: yTop, width: Math.max(w, 1),
                            height: Math.max(yBot - yTop, 0), fill: p.colour,
                            "class": "bar"}, svg);
        el("title", {}, r, layerTitle(l) + "\n" + p.label + ": " + fmt(p.value));
        base += p.value;
      });
      if (lowers) {
        var yl = ys(lowers[i]);
        var m = el("line", {x1: x - 2, x2: x + w + 2, y1: yl, y2: yl, stroke: "#000",
                            "stroke-width": 2.5, "class": "lower-bound"}, svg);
        el("title", {}, m, layerName(l) + "\nlower bound: " + fmt(lowers[i]));
      }
      var tx = x + w / 2 + 4, ty = bx.b + 8;  // vertical: a label never runs off the left
      el("text", {x: tx, y: ty, "text-anchor": "end", "class": "layer-label",
                  transform: "rotate(-90 " + tx + " " + ty + ")"}, g, layerName(l));
    });
    el("line", {x1: bx.l, x2: bx.r, y1: y0, y2: y0, stroke: "#999"}, svg);
  }
  function legend(svg, entries, x, y) {
    entries.forEach(function (e, i) {
      el("rect", {x: x + i * 80, y: y - 9, width: 10, height: 10, fill: e[1]}, svg);
      el("text", {x: x + i * 80 + 14, y: y}, svg, e[0]);
    });
  }
  function drawLayers(d) {
    var layers = d.layers;
    var esvg = document.getElementById("energy-plot");
    var csvg = document.getElementById("cycles-plot");
    [esvg, csvg].forEach(function (svg) {  // tall enough for the longest layer label
      svg.setAttribute("height", String(Math.round(250 + LABEL_ROOM)));
    });
    if (!layers.length) { message(esvg, "no layers"); message(csvg, "no layers"); return; }
    bars(esvg, layers, layers.map(function (l) {
      return PARTS.map(function (p) {
        return {label: p.name + " energy (µJ, ×count)", colour: p.colour,
                value: ((l.energy_parts_pj || {})[p.name] || 0) * l.count * 1e-6};
      });
    }), "energy (µJ, × count)", "energy by level (count weighted)");
    legend(esvg, PARTS.map(function (p) { return [p.name, p.colour]; }), 70, 34);
    bars(csvg, layers, layers.map(function (l) {
      return [{label: l.bound + "-bound cycles (×count)",
               colour: BOUND_COLOURS[l.bound] || "#888", value: l.cycles * l.count}];
    }), "cycles (× count)", "cycles vs lower bound (bar colour = bottleneck)",
    layers.map(function (l) { return ((l.lower_bound || {}).cycles || 0) * l.count; }));
    legend(csvg, BOUNDS.map(function (b) { return [b.label, b.colour]; })
      .concat([["bound —", "#000"]]), 70, 34);
  }
  function drawRoofline(d) {
    var svg = document.getElementById("roofline-plot");
    var roof = ROOF, words = ROOF.words;
    var a = d.accelerator, pes = pesOf(a), bw = a[roof.bandwidth];
    var pts = d.layers.filter(function (l) {
      return l.macs > 0 && l[words] > 0 && l.cycles > 0;
    }).map(function (l) {
      return {x: l.macs / l[words], y: l.macs / l.cycles, l: l};
    });
    if (!pts.length) { message(svg, "no layer traffic recorded"); return; }
    clear(svg);
    var bx = box(svg, 64, 16, 28, 44);
    var ridge = pes / bw;
    var xv = pts.map(function (p) { return p.x; }).concat([ridge / 4, ridge * 4]);
    var xs = scale(xv, bx.l, bx.r, true);
    var yv = pts.map(function (p) { return p.y; }).concat([pes]);
    var ys = scale(yv, bx.b, bx.t, true);
    frame(svg, bx, xs, ys, "MACs per " + roof.level + " word", "MACs per cycle");
    var bwText = NAMES.text[roof.bandwidth] || {label: roof.bandwidth, unit: ""};
    el("text", {x: bx.l, y: 16}, svg, "roofline: " + pes + " PEs, " + bwText.label + " " +
       bw + " " + bwText.unit);
    var xlo = Math.pow(10, Math.log10(Math.min.apply(null, xv)) - 0.3);
    var xhi = Math.pow(10, Math.log10(Math.max.apply(null, xv)) + 0.3);
    var line = [xlo, ridge, xhi].map(function (x) {
      return [xs(x), ys(Math.min(pes, x * bw))];
    });
    var clip = el("clipPath", {id: "roof-clip"}, el("defs", {}, svg));
    el("rect", {x: bx.l, y: bx.t, width: bx.r - bx.l, height: bx.b - bx.t}, clip);
    el("polyline", {points: line.map(function (p) { return p.join(","); }).join(" "),
                    fill: "none", stroke: "#000", "stroke-width": 1.5,
                    "clip-path": "url(#roof-clip)", "class": "roof"}, svg);
    pts.forEach(function (p) {
      var c = el("circle", {cx: xs(p.x), cy: ys(p.y), r: 5, stroke: "#333",
                            fill: BOUND_COLOURS[p.l.bound] || "#888",
                            "class": "layer-point"}, svg);
      el("title", {}, c, layerName(p.l) + " (" + p.l.bound + "-bound)\n" + fmt(p.x) +
         " MACs/word, " + fmt(p.y) + " MACs/cycle, utilisation " + fmt(p.l.utilization));
    });
  }
  function layerTable(d) {
    var table = document.getElementById("layer-table");
    var cols = [["layer", function (l) { return layerName(l); }, "name"],
      ["shape", function (l) { return l.shape; }, "name"],
      ["bound", function (l) { return l.bound; }, "name"],
      ["util.", function (l) { return fmt(l.utilization); }],
      ["cycles", function (l) { return fmt(l.cycles); }],
      ["bound cycles", function (l) { return fmt((l.lower_bound || {}).cycles); }],
      ["latency gap", function (l) { return fmt(l.latency_gap); }],
      [BOUNDS.map(function (b) { return b.label; }).join(" / ") + " cycles", function (l) {
        return BOUNDS.map(function (b) { return fmt(l[b.cycles]); }).join(" / "); }],
      ["energy (pJ)", function (l) { return fmt(l.energy_pj); }],
      ["bound energy (pJ)", function (l) { return fmt((l.lower_bound || {}).energy_pj); }],
      ["energy gap", function (l) { return fmt(l.energy_gap); }],
      [ROOF.level + " words", function (l) { return fmt(l[ROOF.words]); }],
      ["mapping (outer → inner)", function (l) { return l.mapping; }, "text"]];
    table.textContent = "";
    var head = table.createTHead().insertRow();
    cols.forEach(function (c) {
      var th = document.createElement("th"); th.textContent = c[0]; head.appendChild(th);
    });
    var body = table.createTBody();
    d.layers.forEach(function (l) {
      var tr = body.insertRow();
      cols.forEach(function (c) {
        var td = tr.insertCell(); td.textContent = c[1](l);
        if (c[2]) { td.className = c[2]; }
      });
    });
  }

  // -- selection -----------------------------------------------------------------------
  var dSel = document.getElementById("design-select");
  designs.forEach(function (d, i) {
    var o = document.createElement("option");
    o.value = i; o.textContent = "design " + d.design;
    dSel.appendChild(o);
  });
  function select(i) {
    selected = i;
    var d = designs[i], m = d.metrics;
    dSel.value = String(i);
    document.getElementById("design-title").textContent = "Design " + d.design +
      ": per-layer breakdown";
    var rows = document.querySelectorAll("#designs-table tbody tr");
    for (var r = 0; r < rows.length; r++) {
      rows[r].classList.toggle("selected", Number(rows[r].getAttribute("data-design")) === i);
    }
    document.getElementById("design-summary").textContent = tipText(i).split("\n")
      .slice(1).join(" · ");
    drawPareto();
    drawLayers(d);
    drawRoofline(d);
    layerTable(d);
    return m;
  }
  dSel.addEventListener("change", function () { select(Number(dSel.value)); });
  var trs = document.querySelectorAll("#designs-table tbody tr");
  for (var t = 0; t < trs.length; t++) {
    trs[t].addEventListener("click", function () {
      select(Number(this.getAttribute("data-design")));
    });
  }
  [xSel, ySel, cSel, logX, logY, logC].forEach(function (c) {
    c.addEventListener("change", drawPareto);
  });

  drawConvergence();
  if (selected >= 0) {
    select(selected);
  } else {
    drawPareto();
    ["energy-plot", "cycles-plot", "roofline-plot"].forEach(function (id) {
      message(document.getElementById(id), "no feasible design in this run");
    });
  }
  document.body.setAttribute("data-rendered", "yes");
})();
