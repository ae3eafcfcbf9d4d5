"""Sensitivity of one design: elasticities, objective conflicts and local curvature.

For one design (its accelerator and per-layer mappings, mappings held fixed) the exact
analytical model is differentiated with respect to the hardware sizes in log space
(``theta = ln x``; float sizes are what the cost model's autograd path takes):

- **elasticity** ``d ln f / d ln x``: % change of objective ``f`` per % change of parameter
  ``x`` (scale-free, comparable across objectives and parameters);
- **cosine** between two objectives' elasticity vectors: negative means the objectives pull
  the hardware in opposing directions (a conflict: a trade-off, not a free improvement);
- **Hessian** of ``ln f`` in ``theta``: its eigenvalues classify the point per objective
  (`classify_critical_point`): "local minimum", "saddle", "local maximum", "degenerate" (a
  flat direction: the second-order test cannot tell) or "still sloped" (the gradient is not
  ~0, so curvature does not decide anything yet).

The model is piecewise (``max`` of cycle bounds, capacity); derivatives are those of the
active piece, which is what a small change of the design sees. `design_sensitivity` works on
library objects; `sensitivity` reads a ``codesign explore`` run folder.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from codesign.arch.accelerator import Accelerator
from codesign.arch.space import NUMERIC_GENES
from codesign.arch.technology import Technology
from codesign.errors import ConfigError
from codesign.mapping.mapping import Mapping
from codesign.names import DEFAULT_OBJECTIVES, DESIGN_OBJECTIVES
from codesign.workload.layer import Layer, LayerTable

__all__ = [
    "CRITICAL_KINDS",
    "SENSITIVITY_PARAMS",
    "classify_critical_point",
    "design_sensitivity",
    "format_sensitivity",
    "sensitivity",
]

#: Hardware parameters differentiated by default (the sizes a design space varies).
SENSITIVITY_PARAMS: tuple[str, ...] = NUMERIC_GENES
#: Labels `classify_critical_point` gives.
CRITICAL_KINDS: tuple[str, ...] = ("local minimum", "local maximum", "saddle", "degenerate",
                                   "still sloped")
#: Elasticity-norm below which an objective counts as stationary in the hardware sizes.
GRAD_TOL = 1e-3
#: Eigenvalue magnitude below which curvature counts as zero (ln-space units).
EIG_TOL = 1e-6


def classify_critical_point(f: Callable[[torch.Tensor], torch.Tensor], x: Any, *,
                            grad_tol: float = 1e-6, eig_tol: float = 1e-8) -> dict[str, Any]:
    """Second-order test of a scalar function at ``x``.

    "still sloped" when ``|grad f| > grad_tol``; otherwise by the Hessian's eigenvalues: all
    ``> eig_tol`` "local minimum", all ``< -eig_tol`` "local maximum", both signs "saddle",
    else (some ``|eig| <= eig_tol``, no opposite signs) "degenerate".

    Shape:
        f: ``[n] -> []``; x: ``[n]``; returns ``{"kind", "gradient_norm", "gradient",
        "eigenvalues"}`` (plain floats, eigenvalues ascending).

    >>> classify_critical_point(lambda v: (v ** 2).sum(), [0.0, 0.0])["kind"]
    'local minimum'
    >>> classify_critical_point(lambda v: v[0] ** 2 - v[1] ** 2, [0.0, 0.0])["kind"]
    'saddle'
    """
    x = torch.as_tensor(x, dtype=torch.float64).detach().reshape(-1)
    grad = torch.autograd.functional.jacobian(f, x)
    hess = torch.autograd.functional.hessian(f, x)
    eig = torch.linalg.eigvalsh(0.5 * (hess + hess.T))
    gnorm = float(grad.norm())
    if gnorm > grad_tol:
        kind = "still sloped"
    elif bool((eig > eig_tol).all()):
        kind = "local minimum"
    elif bool((eig < -eig_tol).all()):
        kind = "local maximum"
    elif bool((eig > eig_tol).any()) and bool((eig < -eig_tol).any()):
        kind = "saddle"
    else:
        kind = "degenerate"
    return {"kind": kind, "gradient_norm": gnorm, "gradient": grad.tolist(),
            "eigenvalues": eig.tolist()}


def _min_sizes(table: LayerTable, mappings: Sequence[Mapping]) -> dict[str, int]:
    """The least PE rows/cols, RF and GLB words that still hold every layer's mapping."""
    from codesign.mapping.footprint import tile_boxes, tile_words
    from codesign.workload.layer import DIMS

    need = {"pe_rows": 1, "pe_cols": 1, "rf_words": 1, "glb_words": 1}
    for layer, m in zip(table.layers, mappings, strict=True):
        rf, _, glb, _ = tile_boxes(m.factor_table())
        rows = [m.factor("rows", d) for d in DIMS]
        cols = [m.factor("cols", d) for d in DIMS]
        need["pe_rows"] = max(need["pe_rows"], _prod(rows))
        need["pe_cols"] = max(need["pe_cols"], _prod(cols))
        need["rf_words"] = max(need["rf_words"], sum(tile_words(
            *rf, stride=layer.stride, dilation=layer.dilation)))
        need["glb_words"] = max(need["glb_words"], sum(tile_words(
            *glb, stride=layer.stride, dilation=layer.dilation)))
    return need


def _prod(values: Sequence[int]) -> int:
    out = 1
    for v in values:
        out *= v
    return out


def design_sensitivity(accelerator: Accelerator, table: LayerTable,
                       mappings: Sequence[Mapping], *,
                       objectives: Sequence[str] = DEFAULT_OBJECTIVES,
                       technology: Technology | None = None,
                       params: Sequence[str] = SENSITIVITY_PARAMS,
                       allowed: dict[str, Sequence[float]] | None = None,
                       grad_tol: float = GRAD_TOL, eig_tol: float = EIG_TOL) -> dict[str, Any]:
    """Elasticities, cosines and Hessian classification of one design (module docstring).

    ``mappings[i]`` maps unique layer ``i`` of ``table``; they stay fixed while the sizes
    ``params`` move. Returns plain data: ``objectives`` (values), ``parameters`` (values),
    ``elasticity[objective][param]``, ``cosine[objective][objective]`` (``None`` where an
    objective does not depend on any parameter), ``conflicts`` (pairs with a negative cosine),
    ``hessian[objective]`` (`classify_critical_point` in ``ln`` space), ``min_sizes`` (the
    least sizes that still hold the mappings: shrinking below them makes the design
    infeasible, whatever the elasticity says) and ``feasible``.

    ``within_bounds[objective]``: the same point seen with its limits. A parameter cannot go
    below its least size nor, with ``allowed`` (the design space's values per parameter),
    below the least allowed value that holds it or above the largest allowed value; an
    elasticity that pushes against an active limit is blocked. ``kind`` is "minimum at its
    limits" when no unblocked component is above ``grad_tol`` (a constrained optimum: only
    moving a limit helps), else "still sloped"; ``blocked`` names the limits that hold it.
    """
    from codesign.cost.analytical import AnalyticalCostModel
    from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors
    from codesign.search.problem import parse_objectives

    objectives = parse_objectives(list(objectives))
    params = tuple(params)
    model = AnalyticalCostModel(technology)
    hardware = HardwareBatch.from_accelerators([accelerator])
    workload = WorkloadTensors.from_table(table)
    batch = MappingBatch.from_mappings([list(mappings)])
    batch = MappingBatch(batch.factors.to(torch.float64), batch.order)
    x0 = torch.tensor([float(getattr(accelerator, p)) for p in params], dtype=torch.float64)

    def log_objectives(theta: torch.Tensor) -> torch.Tensor:
        sizes = torch.exp(theta)
        hw = replace(hardware, **{p: sizes[i:i + 1] for i, p in enumerate(params)})
        named = model.evaluate(hw, workload, batch).objectives()
        return torch.log(torch.stack([named[n][0] for n in objectives]))

    theta0 = torch.log(x0)
    values = torch.exp(log_objectives(theta0))
    jac = torch.autograd.functional.jacobian(log_objectives, theta0)       # [K, P]
    norms = jac.norm(dim=-1)                                               # [K]
    unit = jac / norms.clamp(min=1e-300).unsqueeze(-1)
    cos = unit @ unit.T                                                    # [K, K]
    flat = (norms <= 1e-12).tolist()
    cosine = {a: {b: (None if flat[i] or flat[j] else float(cos[i, j]))
                  for j, b in enumerate(objectives)} for i, a in enumerate(objectives)}
    conflicts = [[a, b, cosine[a][b]] for i, a in enumerate(objectives)
                 for b in objectives[i + 1:] if cosine[a][b] is not None and cosine[a][b] < 0]
    hessian = {}
    for k, name in enumerate(objectives):
        point = classify_critical_point(lambda t, k=k: log_objectives(t)[k], theta0,
                                        grad_tol=grad_tol, eig_tol=eig_tol)
        point.pop("gradient")
        hessian[name] = point
    least = _min_sizes(table, mappings)
    within = _within_bounds(objectives, params, x0.tolist(), jac, least, allowed or {},
                            grad_tol)
    result = model.evaluate(hardware, workload, MappingBatch.from_mappings([list(mappings)]))
    return {
        "accelerator": accelerator.to_dict(),
        "objectives": dict(zip(objectives, values.tolist(), strict=True)),
        "parameters": {p: float(v) for p, v in zip(params, x0.tolist(), strict=True)},
        "elasticity": {name: dict(zip(params, jac[k].tolist(), strict=True))
                       for k, name in enumerate(objectives)},
        "cosine": cosine,
        "conflicts": conflicts,
        "hessian": hessian,
        "relaxed_space": "theta = ln(parameter), mappings fixed; f = ln(objective)",
        "min_sizes": least,
        "within_bounds": within,
        "feasible": bool(result.feasible_design[0]),
        "tolerances": {"gradient": grad_tol, "eigenvalue": eig_tol},
    }


def _within_bounds(objectives: Sequence[str], params: Sequence[str], values: list[float],
                   jac: torch.Tensor, least: dict[str, int],
                   allowed: dict[str, Sequence[float]], grad_tol: float
                   ) -> dict[str, dict[str, Any]]:
    """Per objective: the elasticities a limit blocks and what is left (`design_sensitivity`)."""
    out = {}
    for k, name in enumerate(objectives):
        blocked, free = [], []
        for i, p in enumerate(params):
            e = float(jac[k, i])
            need = float(least.get(p, 0))
            choices = sorted(float(v) for v in allowed.get(p, ()))
            fits = [v for v in choices if v >= need]
            low = fits[0] if fits else need          # least allowed value that holds it
            high = choices[-1] if choices else math.inf
            if e > 0 and values[i] <= low * (1 + 1e-9):      # wants smaller, cannot shrink
                blocked.append(f"{p} at its least ({low:.10g})")
            elif e < 0 and values[i] >= high * (1 - 1e-9):   # wants larger, at the maximum
                blocked.append(f"{p} at its largest ({high:.10g})")
            else:
                free.append(e)
        norm = math.sqrt(sum(e * e for e in free))
        out[name] = {"kind": "minimum at its limits" if norm <= grad_tol else "still sloped",
                     "free_gradient_norm": norm, "blocked": blocked}
    return out


def _read_json(path: Path, run_dir: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError:
        raise ConfigError(f"{run_dir}: no readable {path.name}; is this a codesign explore "
                          "output folder?") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc}); re-run explore") from None
    except RecursionError:
        raise ConfigError(f"{path}: JSON nested too deep to read (damaged or edited); "
                          "re-run explore") from None


def _run_table(run_dir: Path, run: dict, layers: list[dict]) -> tuple[LayerTable, list[str]]:
    """The run's workload: its ONNX file again when it is still there and gives the same
    unique layers, else the layer shapes stored in designs.json (without vector ops)."""
    shapes = [Layer.from_dict(entry["shape"]) for entry in layers]
    counts = [int(entry.get("count", 1)) for entry in layers]
    wl = (run.get("config") or {}).get("workload") or {}
    path = wl.get("path")
    if path and Path(path).exists():  # an ONNX file or a folder of Timeloop problems
        from codesign.timeloop.workload import load_workload

        table = load_workload(path, input_shapes=wl.get("input_shapes"), dims=wl.get("dims"),
                          fusion=wl.get("fusion") is not False)
        if [layer.shape_key for layer in table.layers] == [s.shape_key for s in shapes]:
            return table, []
        note = f"{path} no longer gives the run's layers"
    else:
        note = f"the run's model file {path or '(none recorded)'} is not there"
    table = LayerTable(layers=tuple(shapes), counts=tuple(counts),
                       names=tuple(tuple(e.get("names", ())) for e in layers))
    return table, [f"{note}: vector ops are not included (layer shapes from designs.json)"]


def sensitivity(run_dir: str | Path, design_id: int, *,
                objectives: Sequence[str] | None = None) -> dict[str, Any]:
    """`design_sensitivity` of design ``design_id`` of a ``codesign explore`` run folder.

    Reads ``designs.json`` (accelerator, per-layer mappings) and ``run.json`` (model path,
    design space technology, objectives); ``objectives`` defaults to the run's.
    Raises `ConfigError` for a folder that is not a run or an unknown design id.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError(f"{run_dir}: not a folder; pass a codesign explore output folder")
    designs = _read_json(run_dir / "designs.json", run_dir)
    run_path = run_dir / "run.json"
    run = _read_json(run_path, run_dir) if run_path.exists() else {}
    listed = designs.get("designs") if isinstance(designs, dict) else None
    if isinstance(listed, list) and any(isinstance(d, dict) and "hierarchy" in d
                                        for d in listed):
        raise ConfigError(f"{run_dir}: a run over a hierarchy design space; sensitivity "
                          "analyses runs of the default design space")
    if isinstance(run, dict) and run.get("workloads"):
        raise ConfigError(f"{run_dir}: a run over several workloads; sensitivity analyses a "
                          "run of one workload (explore one model for it)")
    try:
        accelerator, table, mappings, technology, objectives, notes = _design_inputs(
            run_dir, designs, run, design_id, objectives)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        # a value of the wrong type in a hand-edited or corrupted designs.json / run.json
        raise ConfigError(f"{run_dir}: designs.json or run.json holds unexpected values "
                          f"({type(exc).__name__}: {exc}); pass a folder codesign explore "
                          "wrote") from exc
    report = design_sensitivity(accelerator, table, mappings, objectives=objectives,
                                technology=technology, allowed=_space_values(run, notes))
    return {"run": str(run_dir), "design": design_id, **report, "notes": notes}


def _space_values(run: dict, notes: list[str]) -> dict[str, tuple[float, ...]]:
    """The allowed values of each size in the run's design space."""
    from codesign.arch.space import DesignSpace

    raw = (run.get("config") or {}).get("space")
    if raw is None:
        notes.append("run.json has no design space: limits are the least sizes only")
        return {}
    try:
        space = DesignSpace.from_dict(raw, where="run.json space")
    except ConfigError as exc:
        notes.append(f"design space limits not used ({exc})")
        return {}
    return {p: tuple(float(v) for v in space.choices(p)) for p in SENSITIVITY_PARAMS}


def _design_inputs(run_dir: Path, designs: Any, run: Any, design_id: int,
                   objectives: Sequence[str] | None) -> tuple:
    """What `design_sensitivity` needs, read from the run's JSON files."""
    from codesign.arch.io import parse_accelerator
    from codesign.arch.presets import resolve_technology

    if not isinstance(designs, dict) or not isinstance(run, dict):
        raise TypeError("expected JSON objects at the top of designs.json and run.json")
    entries = {d.get("design"): d for d in designs.get("designs", [])}
    if design_id not in entries:
        ids = sorted(k for k in entries if isinstance(k, int))
        have = f"{ids[0]}..{ids[-1]}" if ids else "none"
        raise ConfigError(f"{run_dir}: no design {design_id} in designs.json (designs: "
                          f"{have}); pick one from pareto.csv's design column")
    entry = entries[design_id]
    source = f"{run_dir}/designs.json design {design_id}"
    accelerator = parse_accelerator(entry["accelerator"], source=source)
    layers = entry["layers"]
    if isinstance(layers, list) and not layers:
        raise ConfigError(f"{source}: 'layers' is empty, so there is nothing to differentiate "
                          "(every design has one entry per unique layer); pass a folder "
                          "codesign explore wrote")
    mappings = [Mapping.from_json(e["mapping"], where=f"{source} layer {i}")
                for i, e in enumerate(layers)]
    table, notes = _run_table(run_dir, run, layers)
    space = (run.get("config") or {}).get("space") or {}
    technology = resolve_technology(entry["accelerator"].get("technology")
                                    or space.get("technology"))
    objectives = objectives or designs.get("objectives") or DEFAULT_OBJECTIVES
    if isinstance(objectives, str) or not all(isinstance(o, str) for o in objectives):
        raise TypeError(f"objectives must be a list of names, got {objectives!r}")
    skipped = [o for o in objectives if o not in DESIGN_OBJECTIVES]
    if skipped:   # a custom cost model's own objectives: not in the analytical model
        notes.append(f"objectives {', '.join(skipped)} come from the run's own cost model; "
                     "this report differentiates the analytical model only")
        objectives = [o for o in objectives if o in DESIGN_OBJECTIVES] or list(DEFAULT_OBJECTIVES)
    return accelerator, table, mappings, technology, objectives, notes


def format_sensitivity(report: dict[str, Any]) -> str:
    """The text tables ``codesign sensitivity`` prints for a `sensitivity` report."""
    acc = report["accelerator"]
    objectives = list(report["objectives"])
    params = list(report["parameters"])
    lines = [f"design {report.get('design', '?')}: {acc['pe_rows']}x{acc['pe_cols']} PEs, "
             f"RF {acc['rf_words']} words, GLB {acc['glb_words']} words, GLB bw "
             f"{acc['glb_bw']:g} words/cycle, {acc['dataflow']}"
             + ("" if report["feasible"] else "  (INFEASIBLE)"),
             "  " + "  ".join(f"{k} {v:.4g}" for k, v in report["objectives"].items()),
             "",
             "Elasticity: % change of the objective per +1% of the parameter",
             f"{'parameter':<11}{'value':>10}{'min fits':>10}"
             + "".join(f"{o:>11}" for o in objectives)]
    for p in params:
        least = report["min_sizes"].get(p)
        lines.append(f"{p:<11}{report['parameters'][p]:>10g}"
                     f"{'' if least is None else least:>10}"
                     + "".join(f"{report['elasticity'][o][p]:>+11.4f}" for o in objectives))
    lines += ["", "Cosine between objective gradients (negative = conflict)",
              " " * 11 + "".join(f"{o:>11}" for o in objectives)]
    for a in objectives:
        cells = [report["cosine"][a][b] for b in objectives]
        lines.append(f"{a:<11}" + "".join(f"{'n/a' if c is None else f'{c:+.3f}':>11}"
                                          for c in cells))
    lines += ["", "Hessian of ln(objective) in ln(parameters), mappings fixed"]
    for o in objectives:
        h = report["hessian"][o]
        eig = ", ".join(f"{e:+.3g}" for e in h["eigenvalues"])
        lines.append(f"{o:<11}{h['kind']:<15} |grad| {h['gradient_norm']:.3g}  eig [{eig}]")
    within = report.get("within_bounds")
    if within:
        lines += ["", "Within the limits (sizes that hold the mappings, design space values)"]
        for o in objectives:
            w = within[o]
            held = f"; held by {', '.join(w['blocked'])}" if w["blocked"] else ""
            lines.append(f"{o:<11}{w['kind']:<22} |free grad| {w['free_gradient_norm']:.3g}"
                         f"{held}")
    for note in report.get("notes", []):
        lines.append(f"note: {note}")
    return "\n".join(lines)
