"""``report.html``: why each Pareto design wins, in one self-contained file that works offline.

The page holds the run's data as inline JSON and a small vanilla script that draws inline
SVG: the Pareto scatter (axes and colour selectable, hover shows a design's parameters,
click selects it), the chosen design's per-layer breakdown (energy stacked by level, cycles
against the lower bound, bottleneck, mapping), its roofline, and convergence (hypervolume
over evaluations). No CDN, no external file. The designs table is plain HTML, so every
design is listed even where scripts are off. The key plots are also written as PNG
(`codesign.results.plots`).

Pure part: `read_run` (files -> plain data) and `generate_report` (data -> HTML string);
`render_report` chains them; `write_report` writes the HTML (and PNGs) atomically.
"""

from __future__ import annotations

import csv
import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from codesign.arch.accelerator import NUMERIC_FIELDS
from codesign.errors import ConfigError
from codesign.results.names import layer_label
from codesign.search.checkpoint import atomic_write_text

__all__ = ["PNG_FILES", "REPORT_FILE", "default_design", "fixed_parameters", "generate_report",
           "read_run", "render_report", "write_report"]

#: The report's file name inside a run folder.
REPORT_FILE = "report.html"
#: The PNG figures `write_report` draws next to it.
PNG_FILES: tuple[str, ...] = ("layers.png", "roofline.png", "convergence.png")

_HW_FIELDS = NUMERIC_FIELDS
_DIMS = "NGKCPQRS"


def _fail(where: Path, what: str) -> ConfigError:
    return ConfigError(f"{where}: {what}; give the folder `codesign explore --out` wrote")


def _number(text: str) -> Any:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return text
    return int(value) if value.is_integer() and "." not in text and "e" not in text else value


def read_run(run_dir: str | Path) -> dict[str, Any]:
    """The parts of a run folder the report needs, as plain data.

    ``designs.json`` is required; ``history.csv`` and ``run.json`` are optional (an
    interrupted or hand-made folder may lack them). Raises `ConfigError` saying which file
    is missing or malformed.

    Returns:
        ``{"folder", "objectives", "designs", "history", "run"}``.
    """
    folder = Path(run_dir)
    if not folder.is_dir():
        raise _fail(folder, "no such folder")
    path = folder / "designs.json"
    if not path.is_file():
        raise _fail(folder, "no designs.json")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise _fail(path, f"not readable JSON ({exc})") from None
    except RecursionError:
        raise _fail(path, "JSON nested too deep to read (damaged or edited)") from None
    designs = data.get("designs") if isinstance(data, dict) else None
    if not isinstance(designs, list):
        raise _fail(path, "no 'designs' list")
    problems = []
    for i, design in enumerate(designs):
        missing = [k for k in ("accelerator", "metrics", "layers")
                   if not isinstance(design, dict) or k not in design]
        if missing:
            problems.append(f"design #{i} lacks {', '.join(missing)}")
    if problems:
        raise _fail(path, "; ".join(problems))
    history: list[dict[str, Any]] = []
    if (folder / "history.csv").is_file():
        try:
            with open(folder / "history.csv", newline="", encoding="utf-8") as fh:
                history = [{k: _number(v) for k, v in row.items()}
                           for row in csv.DictReader(fh)]
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise _fail(folder / "history.csv", f"not readable CSV ({exc})") from None
    run: dict[str, Any] = {}
    if (folder / "run.json").is_file():
        try:
            run = json.loads((folder / "run.json").read_text())
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise _fail(folder / "run.json", f"not readable JSON ({exc})") from None
        except RecursionError:
            raise _fail(folder / "run.json", "JSON nested too deep to read (damaged or "
                        "edited)") from None
    objectives = data.get("objectives") or run.get("config", {}).get("objectives") or []
    return {"folder": str(folder), "objectives": list(objectives), "designs": designs,
            "history": history, "run": run if isinstance(run, dict) else {}}


def default_design(designs: Sequence[Mapping[str, Any]]) -> int:
    """Position (in ``designs``) of the design the report shows first: the lowest
    energy-delay product, a balanced pick; 0 when no design has one."""
    edp = [d.get("metrics", {}).get("edp_js") for d in designs]
    scored = [(v, i) for i, v in enumerate(edp) if isinstance(v, (int, float)) and v == v]
    return min(scored)[1] if scored else 0


def _shape_text(shape: Mapping[str, Any]) -> str:
    dims = " ".join(f"{d}{shape[d]}" for d in _DIMS if shape.get(d, 1) != 1)
    stride = shape.get("stride")
    if stride and list(stride) != [1, 1]:
        dims += f" /{stride[0]}" if stride[0] == stride[1] else f" /{stride[0]}x{stride[1]}"
    return f"{shape.get('op_type', '')} {dims}".strip()


def _mapping_text(mapping: Mapping[str, Any]) -> str:
    parts = []
    spatial = mapping.get("spatial", {})
    temporal = mapping.get("temporal", {})
    order = mapping.get("order", {})
    for level, factors in (("DRAM", temporal.get("DRAM", {})), ("GLB", temporal.get("GLB", {})),
                           ("rows", spatial.get("rows", {})), ("cols", spatial.get("cols", {})),
                           ("RF", temporal.get("RF", {}))):
        dims = [d for d in order.get(level, []) if d in factors] + \
            [d for d in factors if d not in order.get(level, [])]
        text = " ".join(f"{d}{factors[d]}" for d in dims if factors[d] != 1)
        if text:
            parts.append(f"{level}: {text}")
    return " | ".join(parts)


_LAYER_KEYS = ("layer", "names", "count", "cycles", "energy_pj", "utilization", "bound",
               "feasible", "macs", "glb_words", "dram_words", "compute_cycles", "glb_cycles",
               "dram_cycles", "energy_parts_pj", "lower_bound", "latency_gap", "energy_gap")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _page_data(run: Mapping[str, Any]) -> dict[str, Any]:
    designs = []
    for position, design in enumerate(run["designs"]):
        layers = []
        for layer in design["layers"]:
            row = {k: layer[k] for k in _LAYER_KEYS if k in layer}
            row["label"] = layer_label(layer.get("names") or [], layer.get("count", 1),
                                       f"layer {layer.get('layer', '?')}")
            row["shape"] = _shape_text(layer.get("shape", {}))
            row["mapping"] = _mapping_text(layer.get("mapping", {}))
            layers.append(row)
        designs.append({"design": design.get("design", position),
                        "accelerator": design["accelerator"], "metrics": design["metrics"],
                        "layers": layers})
    return _finite({"objectives": run["objectives"], "designs": designs,
                    "history": run["history"], "default": default_design(run["designs"])})


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}"
    if isinstance(value, dict):
        return html.escape(str(value.get("name", value)))
    return html.escape(str(value))


_TABLE_METRICS = (("latency_s", "latency (s)"), ("energy_j", "energy (J)"),
                  ("area_mm2", "area (mm²)"), ("edp_js", "EDP (J·s)"), ("power_w", "power (W)"),
                  ("utilization", "util."), ("latency_gap", "latency gap"),
                  ("energy_gap", "energy gap"), ("bound_compute_frac", "compute-bound"),
                  ("bound_glb_frac", "GLB-bound"), ("bound_dram_frac", "DRAM-bound"))


def _designs_table(designs: Sequence[Mapping[str, Any]]) -> str:
    head = ["design", "PEs", "RF words", "GLB words", "GLB bw", "DRAM bw", "bits", "dataflow",
            *(label for _, label in _TABLE_METRICS)]
    rows = []
    for position, d in enumerate(designs):
        acc, m = d["accelerator"], d["metrics"]
        cells = [str(d.get("design", position)),
                 f"{_fmt(acc.get('pe_rows'))}×{_fmt(acc.get('pe_cols'))}",
                 *(_fmt(acc.get(k)) for k in ("rf_words", "glb_words", "glb_bw", "dram_bw",
                                              "word_bits", "dataflow")),
                 *(_fmt(m.get(k)) for k, _ in _TABLE_METRICS)]
        rows.append(f'<tr data-design="{position}" id="design-row-{position}">'
                    + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return ('<table id="designs-table"><thead><tr>' + "".join(f"<th>{h}</th>" for h in head)
            + "</tr></thead><tbody>" + "\n".join(rows) + "</tbody></table>")


def _summary(run: Mapping[str, Any]) -> str:
    info = run["run"]
    cfg = info.get("config", {})
    workload = (cfg.get("workload") or {}).get("path") or "in-memory workload"
    items = [
        ("workload", workload),
        ("Pareto designs", len(run["designs"])),
        ("objectives", ", ".join(run["objectives"])),
        ("evaluations", info.get("evaluations")),
        ("generations", info.get("generations_done")),
        ("search time (s)", info.get("wall_s")),
        ("strategy / algorithm", f"{cfg.get('strategy', '?')} / {cfg.get('algorithm', '?')}"),
        ("seed", info.get("seed")),
        ("device", f"{info.get('device', '?')} ({info.get('device_name', '')})"),
        ("status", info.get("status")),
        ("hypervolume (HV)", (info.get("hypervolume") or {}).get("value")),
        ("versions", ", ".join(f"{k} {v}" for k, v in (info.get("versions") or {}).items())),
        ("command", " ".join(info.get("command") or [])),
    ]
    return ("<dl>" + "".join(f"<dt>{html.escape(k)}</dt><dd>{_fmt(v)}</dd>" for k, v in items
                             if v not in (None, "", "? / ?")) + "</dl>"
            + _fixed_note(cfg.get("space")) + _hypervolume_note(run))


#: How the report names the design-space parameters (unit included).
_SPACE_LABELS = {"pe_rows": ("PE rows", ""), "pe_cols": ("PE cols", ""),
                 "rf_words": ("RF", " words/PE"), "glb_words": ("GLB", " words"),
                 "glb_bw": ("GLB bandwidth", " words/cycle"), "dataflow": ("dataflow", ""),
                 "dram_bw": ("DRAM bandwidth", " words/cycle"), "word_bits": ("word", " bits"),
                 "clock_mhz": ("clock", " MHz"), "technology": ("technology", ""),
                 "systolic": ("systolic array", "")}


def fixed_parameters(space: Any) -> list[tuple[str, Any]]:
    """The parameters a design space (run.json's ``config.space``) does not let the search
    change, with their one value: a gene with a single choice, and the platform values
    (DRAM bandwidth, word width, clock, technology, systolic) that every space fixes.

    >>> fixed_parameters({"pe_rows": [4, 8], "rf_words": [64], "dram_bw": 16.0})
    [('rf_words', 64), ('dram_bw', 16.0)]
    """
    if not isinstance(space, Mapping):
        return []
    fixed = []
    for key, value in space.items():
        if key not in _SPACE_LABELS:
            continue
        if isinstance(value, list):
            if len(value) == 1:
                fixed.append((key, value[0]))
        else:
            fixed.append((key, value))
    return fixed


def _fixed_note(space: Any) -> str:
    fixed = fixed_parameters(space)
    if not fixed:
        return ""

    def text(key: str, value: Any) -> str:
        name, unit = _SPACE_LABELS[key]
        if key == "technology" and value is None:
            return "technology: the default 45 nm table"
        if key == "systolic":
            return f"{name}: {'yes' if value else 'no'}"
        return f"{name} {_fmt(value)}{unit}"

    items = ", ".join(text(k, v) for k, v in fixed)
    dram = any(k == "dram_bw" for k, _ in fixed)
    why = (" A design's DRAM-bound share therefore says what this one DRAM bandwidth "
           "allows, not something the search found: set dram_bw in --space to your "
           "platform's value (the default space assumes 16 words/cycle)." if dram else "")
    return (f'<p class="note" id="fixed-parameters"><b>Fixed by the design space</b> (the '
            f"same for every design): {html.escape(items)}.{why}</p>")


def _hypervolume_note(run: Mapping[str, Any]) -> str:
    """What the hypervolume (HV, in the summary, history.csv and the progress line) is
    measured against: run.json's normalisation bounds."""
    info = (run["run"].get("hypervolume") or {}) if isinstance(run.get("run"), Mapping) else {}
    objectives = list(run.get("objectives") or [])
    lo, hi = info.get("lo_log10"), info.get("hi_log10")
    ref = info.get("reference_point", 1.1)
    bounds = ""
    units = {"latency": "s", "energy": "J", "area": "mm²", "edp": "J·s", "power": "W"}
    if isinstance(lo, list) and isinstance(hi, list) and len(lo) == len(hi) == len(objectives):
        try:
            bounds = " (" + "; ".join(
                f"{name} {_fmt(10.0 ** float(a))} to {_fmt(10.0 ** float(b))} "
                f"{units.get(name, '')}".rstrip()
                for name, a, b in zip(objectives, lo, hi, strict=True)) + ")"
        except (TypeError, ValueError, OverflowError):
            bounds = ""
    n_obj = max(len(objectives), 1)
    try:
        best = float(ref) ** n_obj
    except (TypeError, ValueError, OverflowError):
        return ""
    return ('<p class="note" id="hypervolume-note"><b>Hypervolume (HV)</b>: the volume of '
            "objective space the front dominates, on log10 objectives scaled so that 0 and 1 "
            "are the best and the worst value among the first generation's feasible designs"
            f"{html.escape(bounds)}, measured up to the reference point {_fmt(ref)} in every "
            f"objective. Larger is better: a front that dominates that whole box scores "
            f"{_fmt(ref)}^{n_obj} = {best:.4g}, and more when it beats the first "
            "generation's best.</p>")


def generate_report(run: Mapping[str, Any], title: str = "") -> str:
    """The report page for ``run`` (as `read_run` returns it): one HTML string, no I/O."""
    workload = ((run["run"].get("config") or {}).get("workload") or {}).get("path")
    title = title or "codesign report" + (f": {Path(workload).stem}" if workload else "")
    data = json.dumps(_page_data(run), allow_nan=False, separators=(",", ":"))
    data = data.replace("<", "\\u003c")   # no "</script>" or "<!--" inside the data block
    return (_TEMPLATE.replace("__TITLE__", html.escape(title))
            .replace("__SUMMARY__", _summary(run))
            .replace("__TABLE__", _designs_table(run["designs"]))
            .replace("__SCRIPT__", _SCRIPT)
            .replace("__DATA__", data))


def render_report(run_dir: str | Path) -> str:
    """`generate_report` of the run folder ``run_dir``."""
    return generate_report(read_run(run_dir))


def write_report(run_dir: str | Path, png: bool = True, design: int | None = None) -> Path:
    """Write ``report.html`` (and, with ``png``, `PNG_FILES` for design position ``design``,
    default `default_design`) into ``run_dir``; every file atomically. Returns the HTML path.
    """
    run = read_run(run_dir)
    folder = Path(run_dir)
    designs = run["designs"]
    if design is not None and not 0 <= design < len(designs):
        raise ConfigError(f"--design {design}: the run has {len(designs)} Pareto designs "
                          f"(0..{len(designs) - 1})")
    path = folder / REPORT_FILE
    try:
        atomic_write_text(path, generate_report(run))
        if png:
            from codesign.results.plots import plot_convergence, plot_layers, plot_roofline

            if designs:
                chosen = designs[default_design(designs) if design is None else design]
                plot_layers(chosen, folder / "layers.png")
                plot_roofline(chosen, folder / "roofline.png")
            plot_convergence(run["history"], folder / "convergence.png")
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        # read_run checks the files' outline; a value of the wrong type deeper in a
        # hand-edited or corrupted file ends up here
        raise _fail(folder, f"designs.json, history.csv or run.json holds unexpected values "
                            f"({type(exc).__name__}: {exc})") from exc
    return path


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fff; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.1em 1em; }
dt { font-weight: 600; } dd { margin: 0; }
table { border-collapse: collapse; font-size: 12px; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; white-space: nowrap; }
th { background: #f3f3f3; position: sticky; top: 0; }
td.text { text-align: left; white-space: normal; min-width: 24em; }
td.name { text-align: left; }
#designs-table tbody tr { cursor: pointer; }
tr.selected td { background: #fff3c4; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
.controls { margin: 0.4em 0; } .controls label { margin-right: 1em; }
svg { background: #fff; border: 1px solid #eee; }
svg text { font: 11px system-ui, sans-serif; fill: #222; }
.scroll { max-height: 420px; overflow: auto; }
#tooltip { position: fixed; pointer-events: none; background: rgba(255,255,255,0.96);
  border: 1px solid #999; padding: 4px 8px; font-size: 12px; display: none; z-index: 10;
  white-space: pre; }
#errors { color: #b00; white-space: pre-wrap; }
.legend span { display: inline-block; margin-right: 1em; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
p.note { max-width: 60em; color: #333; }
</style>
</head>
<body>
<h1>__TITLE__</h1>
<div id="errors" hidden></div>
<noscript><p>Scripts are off: the plots need JavaScript; the tables below still list every
design.</p></noscript>
<h2>Run</h2>
__SUMMARY__
<h2>Pareto front</h2>
<div class="controls">
<label>x <select id="x-axis"></select></label>
<label>y <select id="y-axis"></select></label>
<label>colour <select id="c-axis"></select></label>
<label><input type="checkbox" id="log-x" checked> log x</label>
<label><input type="checkbox" id="log-y" checked> log y</label>
<label><input type="checkbox" id="log-c" checked> log colour</label>
</div>
<div class="plots">
<svg id="pareto-plot" width="640" height="440" role="img" aria-label="Pareto scatter"></svg>
<svg id="convergence-plot" width="460" height="300" role="img" aria-label="convergence"></svg>
</div>
<p>Hover a point for its parameters; click a point or a table row to explain that design.</p>
<div class="scroll">__TABLE__</div>
<h2 id="design-title">Design</h2>
<div class="controls"><label>design <select id="design-select"></select></label></div>
<div id="design-summary"></div>
<div class="plots">
<svg id="energy-plot" width="720" height="360" role="img" aria-label="energy by level"></svg>
<svg id="cycles-plot" width="720" height="360" role="img" aria-label="cycles and bound"></svg>
<svg id="roofline-plot" width="520" height="380" role="img" aria-label="roofline"></svg>
</div>
<div class="scroll"><table id="layer-table"></table></div>
<div id="tooltip"></div>
<script type="application/json" id="run-data">__DATA__</script>
<script>
window.addEventListener("error", function (e) {
  var box = document.getElementById("errors");
  box.hidden = false;
  box.textContent += "Script error: " + e.message + " (line " + e.lineno + ")\\n";
  document.body.setAttribute("data-errors", "yes");
});
</script>
<script>
__SCRIPT__
</script>
</body>
</html>
"""

_SCRIPT = r"""
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("run-data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  var BOUND_COLOURS = {compute: "#4c78a8", glb: "#f58518", dram: "#e45756"};
  var PART_COLOURS = {RF: "#4c78a8", GLB: "#72b7b2", DRAM: "#e45756", MAC: "#54a24b",
                      leakage: "#b79a20"};
  var LABELS = {latency_s: "latency (s)", energy_j: "energy (J)", area_mm2: "area (mm²)",
    edp_js: "EDP (J·s)", power_w: "power (W)", utilization: "utilisation",
    latency_cycles: "latency (cycles)", latency_gap: "latency gap (actual / bound)",
    energy_gap: "energy gap (actual / bound)", bound_compute_frac: "compute-bound share",
    bound_glb_frac: "GLB-bound share", bound_dram_frac: "DRAM-bound share",
    pe_rows: "PE rows", pe_cols: "PE cols", n_pes: "PEs", rf_words: "RF words / PE",
    glb_words: "GLB words", glb_bw: "GLB bw (words/cycle)", dram_bw: "DRAM bw (words/cycle)",
    word_bits: "word bits", clock_mhz: "clock (MHz)"};
  var HW = ["pe_rows", "pe_cols", "rf_words", "glb_words", "glb_bw", "dram_bw", "word_bits",
            "clock_mhz"];
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
    for (var k in d.metrics) { if (typeof d.metrics[k] === "number") { out[k] = d.metrics[k]; } }
    HW.forEach(function (k) {
      if (typeof d.accelerator[k] === "number") { out[k] = d.accelerator[k]; }
    });
    out.n_pes = d.accelerator.pe_rows * d.accelerator.pe_cols;
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
  function frame(svg, box, xs, ys, xlabel, ylabel, xTicks) {
    var g = el("g", {"class": "axes"}, svg);
    el("rect", {x: box.l, y: box.t, width: box.r - box.l, height: box.b - box.t,
                fill: "none", stroke: "#999"}, g);
    var lastX = -1e9, lastY = 1e9;
    (xTicks || xs.ticks()).forEach(function (v) {
      var x = xs(v);
      if (x < box.l - 0.5 || x > box.r + 0.5 || x - lastX < 36) { return; }
      lastX = x;
      el("line", {x1: x, x2: x, y1: box.t, y2: box.b, stroke: "#eee"}, g);
      el("text", {x: x, y: box.b + 14, "text-anchor": "middle"}, g, fmt(v));
    });
    ys.ticks().forEach(function (v) {
      var y = ys(v);
      if (y < box.t - 0.5 || y > box.b + 0.5 || lastY - y < 16) { return; }
      lastY = y;
      el("line", {x1: box.l, x2: box.r, y1: y, y2: y, stroke: "#eee"}, g);
      el("text", {x: box.l - 4, y: y + 4, "text-anchor": "end"}, g, fmt(v));
    });
    el("text", {x: (box.l + box.r) / 2, y: box.b + 32, "text-anchor": "middle"}, g, xlabel);
    el("text", {x: 14, y: (box.t + box.b) / 2, "text-anchor": "middle",
                transform: "rotate(-90 14 " + (box.t + box.b) / 2 + ")"}, g, ylabel);
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
    return {latency: "latency_s", energy: "energy_j", area: "area_mm2", edp: "edp_js",
            power: "power_w"}[o] || o;
  });
  var defaults = objs.concat(["latency_s", "energy_j", "area_mm2"]).filter(function (k) {
    return KEYS.indexOf(k) >= 0;
  });
  fillSelect(xSel, defaults[0]);
  fillSelect(ySel, defaults.filter(function (k) { return k !== defaults[0]; })[0]);
  fillSelect(cSel, defaults.filter(function (k) {
    return k !== xSel.value && k !== ySel.value; })[0] || "utilization");

  function tipText(i) {
    var d = designs[i], a = d.accelerator, m = d.metrics;
    var df = typeof a.dataflow === "string" ? a.dataflow : (a.dataflow && a.dataflow.name);
    var lines = ["design " + d.design,
      "PE array " + a.pe_rows + " x " + a.pe_cols + ", dataflow " + df,
      "RF " + a.rf_words + " words/PE, GLB " + fmt(a.glb_words) + " words",
      "bandwidth GLB " + a.glb_bw + ", DRAM " + a.dram_bw + " words/cycle",
      a.word_bits + "-bit words, " + a.clock_mhz + " MHz"];
    ["latency_s", "energy_j", "area_mm2", "edp_js", "power_w", "utilization", "latency_gap",
     "energy_gap"].forEach(function (k) {
      if (k in m) { lines.push(label(k) + ": " + fmt(m[k])); }
    });
    if ("bound_compute_frac" in m) {
      lines.push("cycles bound by compute " + fmt(m.bound_compute_frac) + ", GLB " +
                 fmt(m.bound_glb_frac) + ", DRAM " + fmt(m.bound_dram_frac));
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
    el("polyline", {points: pts, fill: "none", stroke: BOUND_COLOURS.compute,
                    "stroke-width": 2}, svg);
    rows.forEach(function (r, i) {
      var c = el("circle", {cx: xs(ev[i]), cy: ys(hv[i]), r: 3,
                            fill: BOUND_COLOURS.compute}, svg);
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
    var parts = Object.keys(PART_COLOURS);
    bars(esvg, layers, layers.map(function (l) {
      return parts.map(function (p) {
        return {label: p + " energy (µJ, ×count)", colour: PART_COLOURS[p],
                value: ((l.energy_parts_pj || {})[p] || 0) * l.count * 1e-6};
      });
    }), "energy (µJ, × count)", "energy by level (count weighted)");
    legend(esvg, parts.map(function (p) { return [p, PART_COLOURS[p]]; }), 70, 34);
    bars(csvg, layers, layers.map(function (l) {
      return [{label: l.bound + "-bound cycles (×count)",
               colour: BOUND_COLOURS[l.bound] || "#888", value: l.cycles * l.count}];
    }), "cycles (× count)", "cycles vs lower bound (bar colour = bottleneck)",
    layers.map(function (l) { return ((l.lower_bound || {}).cycles || 0) * l.count; }));
    legend(csvg, [["compute", BOUND_COLOURS.compute], ["GLB", BOUND_COLOURS.glb],
                  ["DRAM", BOUND_COLOURS.dram], ["bound —", "#000"]], 70, 34);
  }
  function drawRoofline(d) {
    var svg = document.getElementById("roofline-plot");
    var a = d.accelerator, pes = a.pe_rows * a.pe_cols, bw = a.dram_bw;
    var pts = d.layers.filter(function (l) {
      return l.macs > 0 && l.dram_words > 0 && l.cycles > 0;
    }).map(function (l) {
      return {x: l.macs / l.dram_words, y: l.macs / l.cycles, l: l};
    });
    if (!pts.length) { message(svg, "no layer traffic recorded"); return; }
    clear(svg);
    var bx = box(svg, 64, 16, 28, 44);
    var ridge = pes / bw;
    var xv = pts.map(function (p) { return p.x; }).concat([ridge / 4, ridge * 4]);
    var xs = scale(xv, bx.l, bx.r, true);
    var yv = pts.map(function (p) { return p.y; }).concat([pes]);
    var ys = scale(yv, bx.b, bx.t, true);
    frame(svg, bx, xs, ys, "MACs per DRAM word", "MACs per cycle");
    el("text", {x: bx.l, y: 16}, svg, "roofline: " + pes + " PEs, DRAM " + bw +
       " words/cycle");
    var xlo = Math.pow(10, Math.log10(Math.min.apply(null, xv)) - 0.3);
    var xhi = Math.pow(10, Math.log10(Math.max.apply(null, xv)) + 0.3);
    var roof = [xlo, ridge, xhi].map(function (x) {
      return [xs(x), ys(Math.min(pes, x * bw))];
    });
    var clip = el("clipPath", {id: "roof-clip"}, el("defs", {}, svg));
    el("rect", {x: bx.l, y: bx.t, width: bx.r - bx.l, height: bx.b - bx.t}, clip);
    el("polyline", {points: roof.map(function (p) { return p.join(","); }).join(" "),
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
      ["compute / GLB / DRAM cycles", function (l) {
        return [l.compute_cycles, l.glb_cycles, l.dram_cycles].map(fmt).join(" / "); }],
      ["energy (pJ)", function (l) { return fmt(l.energy_pj); }],
      ["bound energy (pJ)", function (l) { return fmt((l.lower_bound || {}).energy_pj); }],
      ["energy gap", function (l) { return fmt(l.energy_gap); }],
      ["DRAM words", function (l) { return fmt(l.dram_words); }],
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

  // Opened as report.html#selftest (tests/results/test_report_browser.py): hover the first
  // point, change the x axis, select the last design by its table row; record what happened.
  if (location.hash === "#selftest" && designs.length) {
    var point = document.querySelector("#pareto-plot .design-point");
    point.dispatchEvent(new MouseEvent("mousemove", {clientX: 20, clientY: 20}));
    var tip = tooltip.textContent, shown = tooltip.style.display;
    xSel.value = KEYS[KEYS.length - 1];
    xSel.dispatchEvent(new Event("change"));
    var last = designs.length - 1;
    document.getElementById("design-row-" + last).click();
    var clipped = [];
    document.querySelectorAll("svg").forEach(function (svg) {
      var box = svg.getBoundingClientRect();
      svg.querySelectorAll("text").forEach(function (t) {
        var r = t.getBoundingClientRect();
        if (r.width && (r.left < box.left - 1 || r.right > box.right + 1 ||
                        r.top < box.top - 1 || r.bottom > box.bottom + 1)) {
          clipped.push(svg.id + ": " + t.textContent);
        }
      });
    });
    document.body.setAttribute("data-selftest", JSON.stringify({
      clipped: clipped, colour_scale: cSel.getAttribute("data-scale"),
      tooltip: tip, shown: shown, x: xSel.value,
      xlabel: document.querySelector("#pareto-plot .axes").textContent,
      selected: Number(dSel.value), title: document.getElementById("design-title").textContent,
      points: document.querySelectorAll("#pareto-plot .design-point").length}));
  }
})();
"""
