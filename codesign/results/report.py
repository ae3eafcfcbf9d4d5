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
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from codesign.arch.accelerator import HW_FIELDS, NUMERIC_FIELDS
from codesign.errors import ConfigError
from codesign.names import (
    DESIGN_OBJECTIVES,
    OBJECTIVE_COLUMNS,
    OBJECTIVE_UNITS,
    WORKLOAD_OBJECTIVES,
    objective_column,
    workload_objective,
)
from codesign.results.names import layer_label
from codesign.search.checkpoint import atomic_write_text

__all__ = ["PNG_FILES", "REPORT_FILE", "default_design", "fixed_parameters", "generate_report",
           "page_names", "read_run", "render_report", "write_report"]

#: The report's file name inside a run folder.
REPORT_FILE = "report.html"
#: The PNG figures `write_report` draws next to it.
PNG_FILES: tuple[str, ...] = ("layers.png", "roofline.png", "convergence.png")

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
    if any(isinstance(d, dict) and "hierarchy" in d for d in designs):
        raise _fail(path, "a run over a hierarchy design space; its report.html was written "
                    "with the run (this command rebuilds reports of the default space)")
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


# -- the names the page shows ------------------------------------------------------------
# Every field, objective, level and bottleneck name the page uses is gathered here, from the
# modules that define it, and reaches the script as data (``DATA.names``): report.js spells
# none of them. Only torch-free modules are imported, so that `codesign report` starts fast.

#: Design objectives: the metric (designs.json / pareto.csv column) that holds each and its
#: unit (`codesign.names`).
_OBJECTIVES: tuple[tuple[str, str, str], ...] = tuple(
    (name, OBJECTIVE_COLUMNS[name], OBJECTIVE_UNITS[name]) for name in DESIGN_OBJECTIVES)
#: How the page writes a unit that files spell in ASCII.
_PRETTY_UNITS = {"mm2": "mm²", "J*s": "J·s"}
#: How the report names the hardware fields and design-space parameters, with their unit
#: (`codesign.arch.accelerator.HW_FIELDS`), and the space's technology.
_FIELD_TEXT: dict[str, tuple[str, str]] = {
    **{f.name: (f.label, f.unit) for f in HW_FIELDS}, "technology": ("technology", "")}
#: The PE array's two fields (their product is the PE count) and the field giving the
#: outermost level's bandwidth (the roofline's slope).
_ARRAY_FIELDS = ("pe_rows", "pe_cols")
_ROOF_FIELD = "dram_bw"
#: Labels of the other numbers a design or a layer carries (`explain`'s columns).
_METRIC_TEXT: dict[str, tuple[str, str]] = {
    "n_pes": ("PEs", ""), "utilization": ("utilisation", ""),
    "latency_cycles": ("latency", "cycles"), "latency_gap": ("latency gap", "actual / bound"),
    "energy_gap": ("energy gap", "actual / bound"),
    "vector_latency_frac": ("vector-op latency share", ""),
    "vector_energy_frac": ("vector-op energy share", "")}


def _label(name: str, unit: str) -> str:
    unit = _PRETTY_UNITS.get(unit, unit)
    return f"{name} ({unit})" if unit else name


def page_names() -> dict[str, Any]:
    """The names report.js draws with, as data: hardware fields (label, unit), objectives
    (their metric), energy parts and bottlenecks (label, colour, the keys that hold them).

    >>> names = page_names()
    >>> names["labels"]["glb_bw"], names["objectives"]["area"]["column"]
    ('GLB bandwidth (words/cycle)', 'area_mm2')
    """
    from codesign.results.plots import BOUND_COLOURS, PART_COLOURS

    hardware = list(NUMERIC_FIELDS)
    parts = list(PART_COLOURS)        # energy parts: the memory levels, MAC, leakage
    level_of = {p.lower(): p for p in parts}
    bounds = [{"name": b, "label": level_of.get(b, b), "colour": c,
               "cycles": f"{b}_cycles", "share": f"bound_{b}_frac"}
              for b, c in BOUND_COLOURS.items()]
    labels = {k: _label(*_FIELD_TEXT.get(k, (k, ""))) for k in hardware}
    labels.update({k: _label(*v) for k, v in _METRIC_TEXT.items()})
    labels.update({column: _label(name, unit) for name, column, unit in _OBJECTIVES})
    labels["edp_js"] = _label("EDP", "J*s")
    labels.update({b["share"]: f"{b['label']}-bound share" for b in bounds})
    roof_level = _FIELD_TEXT[_ROOF_FIELD][0].split()[0]
    return {
        "hardware": hardware,
        "text": {k: {"label": v[0], "unit": v[1]} for k, v in _FIELD_TEXT.items()
                 if k in hardware},
        "array": list(_ARRAY_FIELDS), "pe_count": "n_pes",
        "roofline": {"bandwidth": _ROOF_FIELD, "words": f"{roof_level.lower()}_words",
                     "level": roof_level},
        "objectives": {name: {"column": column, "unit": _PRETTY_UNITS.get(unit, unit)}
                       for name, column, unit in _OBJECTIVES},
        "default_axes": [column for _, column, _ in _OBJECTIVES[:3]],
        "summary_metrics": [column for _, column, _ in _OBJECTIVES]
        + ["utilization", "latency_gap", "energy_gap"],
        "colour_fallback": "utilization",
        "labels": labels,
        "parts": [{"name": p, "colour": c} for p, c in PART_COLOURS.items()],
        "bounds": bounds,
    }


def _fmt(value: Any) -> str:
    """A value as the page's text (escaped by the template, not here)."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}"
    if isinstance(value, dict):
        return str(value.get("name", value))
    return str(value)


def _designs_table(designs: Sequence[Mapping[str, Any]], names: Mapping[str, Any]
                   ) -> dict[str, Any]:
    labels = names["labels"]
    rows_key, cols_key = names["array"]
    others = [k for k in names["hardware"] if k not in names["array"]]
    metrics = [*names["summary_metrics"], *(b["share"] for b in names["bounds"])]
    per_workload = _workload_columns(designs)
    metrics += [column for column, _ in per_workload]
    labels = {**labels, **dict(per_workload)}
    head = ["design", labels[names["pe_count"]], *(labels[k] for k in others), "dataflow",
            *(labels.get(k, k) for k in metrics)]
    rows = []
    for position, d in enumerate(designs):
        acc, m = d["accelerator"], d["metrics"]
        rows.append([str(d.get("design", position)),
                     f"{_fmt(acc.get(rows_key))}×{_fmt(acc.get(cols_key))}",
                     *(_fmt(acc.get(k)) for k in others), _fmt(acc.get("dataflow")),
                     *(_fmt(m.get(k)) for k in metrics)])
    return {"head": head, "rows": rows}


def _workload_columns(designs: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """The per-workload metrics (column, label) of a run over several workloads: each
    workload's latency and energy (`WORKLOAD_OBJECTIVES`' first two), in its order."""
    first = designs[0].get("workloads") if designs else None
    if not isinstance(first, Mapping):
        return []
    units = dict((name, unit) for name, _, unit in _OBJECTIVES)
    return [(objective_column(workload_objective(o, w)),
             _label(workload_objective(o, w), units[o]))
            for w in first for o in WORKLOAD_OBJECTIVES[:2]]


def _workload_text(path: Any, stems: bool = False) -> str:
    """run.json's workload path (one, or a list for several) as text."""
    paths = path if isinstance(path, list) else [path]
    return (" + " if stems else ", ").join(Path(str(p)).stem if stems else str(p)
                                           for p in paths)


def _summary(run: Mapping[str, Any]) -> list[tuple[str, str]]:
    info = run["run"]
    cfg = info.get("config", {})
    path = (cfg.get("workload") or {}).get("path")
    workload = _workload_text(path) if path else "in-memory workload"
    mix = info.get("workloads")
    weights = (", ".join(f"{w.get('name')} x{w.get('weight')}" for w in mix
                         if isinstance(w, Mapping)) if isinstance(mix, list) else None)
    items = [
        ("workload", workload),
        ("inference mix", weights),
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
    return [(k, _fmt(v)) for k, v in items if v not in (None, "", "? / ?")]


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
        if key not in _FIELD_TEXT:
            continue
        if isinstance(value, list):
            if len(value) == 1:
                fixed.append((key, value[0]))
        else:
            fixed.append((key, value))
    return fixed


def _fixed_text(space: Any) -> tuple[str, str]:
    """What the space fixed, as one sentence's list; and the DRAM bandwidth's field name
    when it is among them (the note then says what that means for DRAM-bound shares)."""
    fixed = fixed_parameters(space)

    def text(key: str, value: Any) -> str:
        name, unit = _FIELD_TEXT[key]
        if key == "technology" and value is None:
            return "technology: the default 45 nm table"
        if key == "systolic":
            return f"{name}: {'yes' if value else 'no'}"
        return f"{name} {_fmt(value)}" + (f" {unit}" if unit else "")

    dram = _ROOF_FIELD if any(k == _ROOF_FIELD for k, _ in fixed) else ""
    return ", ".join(text(k, v) for k, v in fixed), dram


def _hypervolume_text(run: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the hypervolume (HV, in the summary, history.csv and the progress line) is
    measured against: run.json's normalisation bounds."""
    info = (run["run"].get("hypervolume") or {}) if isinstance(run.get("run"), Mapping) else {}
    objectives = list(run.get("objectives") or [])
    lo, hi = info.get("lo_log10"), info.get("hi_log10")
    ref = info.get("reference_point", 1.1)
    bounds = ""
    units = {name: _PRETTY_UNITS.get(unit, unit) for name, _, unit in _OBJECTIVES}
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
        return None
    return {"bounds": bounds, "ref": _fmt(ref), "n_obj": n_obj, "best": f"{best:.4g}"}


def _environment() -> Any:
    """The jinja2 environment of the templates folder: autoescaped, JSON in source order."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("codesign.results", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    # tojson escapes <, >, & and ' (no "</script>" or "<!--" can end the data block); keep
    # the keys in their order (the axis menus list them so) and refuse NaN
    env.policies["json.dumps_kwargs"] = {"sort_keys": False, "allow_nan": False,
                                         "separators": (",", ":")}
    return env


def _asset(env: Any, name: str, closing: str) -> Any:
    """A template file's text to inline verbatim (``Markup``, not escaped); it must not hold
    the tag that would end its block early."""
    from markupsafe import Markup

    text = env.loader.get_source(env, name)[0]
    assert closing not in text.lower(), f"{name} holds {closing}"
    return Markup(text.strip("\n"))


def generate_report(run: Mapping[str, Any], title: str = "") -> str:
    """The report page for ``run`` (as `read_run` returns it): one HTML string, no I/O but
    reading the package's templates (templates/report.html.j2, report.css, report.js)."""
    workload = ((run["run"].get("config") or {}).get("workload") or {}).get("path")
    title = title or "codesign report" + (f": {_workload_text(workload, stems=True)}"
                                          if workload else "")
    names = page_names()
    data = _page_data(run)
    data["names"] = names
    fixed, fixed_dram = _fixed_text((run["run"].get("config") or {}).get("space"))
    env = _environment()
    return env.get_template("report.html.j2").render(
        title=title, summary=_summary(run), fixed=fixed, fixed_dram=fixed_dram,
        hv=_hypervolume_text(run), table=_designs_table(run["designs"], names), data=data,
        css=_asset(env, "report.css", "</style"), script=_asset(env, "report.js", "</script"))


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

