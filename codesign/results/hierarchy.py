"""Results of a hierarchy exploration, in the architecture's own level and fan-out names.

`front_designs` turns the archive of a `HierarchySpace` run into plain records: each
design's parameter values (`codesign.search.hierarchy_space.parameter_name` columns), its
objectives, its whole hierarchy (`hierarchy_dict`), energy and cycles by level, and per
unique layer the mapping (factors by slot, orders by level, keep sets), its cycles, energy by
level and the bottleneck: the level whose bandwidth bound sets the layer's cycles, or
``compute`` when the temporal steps do. `pareto_rows` makes pareto.csv rows of them:
``{level}_energy_j`` and ``{level}_bound_layers`` (how many layers that level bounds) per
level, so no column says RF, GLB or DRAM unless the architecture does; `generate_report`
the run's report.html in the same names.

Shapes: ``N`` front designs, ``L`` unique layers, ``M`` levels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from codesign.hierarchy.io import generate_hierarchy
from codesign.hierarchy.levels import Hierarchy
from codesign.names import COMPUTE_BOUND, OBJECTIVE_COLUMNS
from codesign.workload.layer import DIMS, TENSORS

__all__ = ["HierarchyResult", "front_designs", "generate_report",
           "hierarchy_dict", "level_columns", "pareto_rows"]



def level_columns(levels: tuple[str, ...]) -> tuple[str, ...]:
    """pareto.csv's per-level columns, in level order.

    >>> level_columns(("DRAM", "spad"))
    ('DRAM_energy_j', 'spad_energy_j', 'DRAM_bound_layers', 'spad_bound_layers')
    """
    return (*(f"{lv}_energy_j" for lv in levels), *(f"{lv}_bound_layers" for lv in levels))


def hierarchy_dict(h: Hierarchy) -> dict[str, Any]:
    """``h`` as plain data (designs.json): our hierarchy YAML's form, so a front design's
    hierarchy can be given back to ``codesign map --arch`` (`generate_hierarchy`)."""
    return generate_hierarchy(h)


def front_designs(evaluator: Any, hw_genes: np.ndarray, factors: np.ndarray,
                  order: np.ndarray) -> list[dict[str, Any]]:
    """The designs of an archive (`codesign.search.hierarchy_problem.HierarchyEvaluator`'s),
    costed again exactly, as plain records (module docstring). Host side, once per run."""
    if not len(hw_genes):
        return []
    designs, nests, result = evaluator.cost(hw_genes, factors, order)
    cost = result.nest
    structure = evaluator.structure
    levels = structure.level_names
    space = evaluator.mapspace
    table = evaluator.table
    counts = np.asarray(table.counts, dtype=np.float64)
    layer_level_pj = cost.energy_by_level_pj().cpu().numpy()                 # [N, L, M]
    level_cycles = cost.level_cycles.cpu().numpy()                          # [N, L, M]
    compute_cycles = cost.compute_cycles.cpu().numpy()                      # [N, L]
    cycles = cost.cycles.cpu().numpy()
    energy = cost.energy_pj.cpu().numpy()
    feasible = cost.feasible.cpu().numpy()
    named = {k: v.cpu().numpy() for k, v in result.objectives.items()}
    fac, ordr = nests.factors.cpu().tolist(), nests.order.cpu().tolist()
    keep = cost.counts.keep.cpu().tolist()
    values = evaluator.space.values(hw_genes)
    out = []
    for i in range(len(hw_genes)):
        bound = np.where(level_cycles[i].max(-1) > compute_cycles[i],
                         level_cycles[i].argmax(-1), -1)                    # [L]
        layers = []
        for j, layer in enumerate(table.layers):
            nest = space.loop_nest(fac[i][j], ordr[i][j], None)
            kept = {lv: [t for t, k in zip(TENSORS, keep[i][j][m], strict=True) if k]
                    for m, lv in enumerate(levels)}
            layers.append({
                "layer": j, "names": list(table.names[j]), "count": int(table.counts[j]),
                "dims": dict(zip(DIMS, layer.dims,
                                 strict=True)),
                "mapping": {"factors": nest.factors,
                            "order": {k: list(v) for k, v in nest.order.items()},
                            "keep": kept},
                "cycles": float(cycles[i, j]), "energy_pj": float(energy[i, j]),
                "feasible": bool(feasible[i, j]),
                "energy_by_level_pj": dict(zip(levels, layer_level_pj[i, j].tolist(),
                                               strict=True)),
                "cycles_by_level": {COMPUTE_BOUND: float(compute_cycles[i, j]),
                                    **dict(zip(levels, level_cycles[i, j].tolist(),
                                               strict=True))},
                "bottleneck": COMPUTE_BOUND if bound[j] < 0 else levels[bound[j]],
            })
        by_level = (layer_level_pj[i] * counts[:, None]).sum(0) * 1e-12      # [M] J
        bottlenecks = [lay["bottleneck"] for lay in layers]
        out.append({
            "design": i, "parameters": values[i],
            "metrics": {OBJECTIVE_COLUMNS[k]: float(v[i]) for k, v in named.items()},
            "energy_by_level_j": dict(zip(levels, by_level.tolist(), strict=True)),
            "bound_layers": {b: bottlenecks.count(b) for b in (COMPUTE_BOUND, *levels)},
            "hierarchy": hierarchy_dict(designs.hierarchy(i)),
            "layers": layers,
        })
    return out


def pareto_rows(designs: list[dict[str, Any]], space_columns: tuple[str, ...],
                levels: tuple[str, ...]) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """pareto.csv rows and columns: design, the space's parameters, the objectives,
    then energy and bound layer counts per level (`level_columns`) and compute-bound
    layers."""
    metrics = tuple(OBJECTIVE_COLUMNS.values())
    columns = ("design", *space_columns, *metrics, *level_columns(levels),
               f"{COMPUTE_BOUND}_bound_layers")
    rows = []
    for d in designs:
        row: dict[str, Any] = {"design": d["design"], **d["parameters"], **d["metrics"]}
        for lv in levels:
            row[f"{lv}_energy_j"] = d["energy_by_level_j"][lv]
            row[f"{lv}_bound_layers"] = d["bound_layers"][lv]
        row[f"{COMPUTE_BOUND}_bound_layers"] = d["bound_layers"][COMPUTE_BOUND]
        rows.append(row)
    return rows, columns


def generate_report(designs: list[dict[str, Any]], levels: tuple[str, ...],
                    title: str = "") -> str:
    """``report.html`` of a hierarchy run: the front (parameters, objectives, energy by
    level, layers bound by each level), then per design its layers' cycles, bottleneck level
    and energy by level. Plain HTML (every name escaped), no script, works offline."""
    from html import escape

    def table(header: list[str], rows: list[list[Any]]) -> str:
        head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{escape(_fmt(v))}</td>" for v in row) + "</tr>"
                       for row in rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    params = list(designs[0]["parameters"]) if designs else []
    metrics = list(designs[0]["metrics"]) if designs else []
    header = ["design", *params, *metrics, *(f"{lv} energy J" for lv in levels),
              *(f"{b} bound layers" for b in (COMPUTE_BOUND, *levels))]
    rows = [[d["design"], *d["parameters"].values(), *d["metrics"].values(),
             *(d["energy_by_level_j"][lv] for lv in levels),
             *(d["bound_layers"][b] for b in (COMPUTE_BOUND, *levels))] for d in designs]
    parts = [f"<h1>{escape(title or 'codesign hierarchy run')}</h1>",
             f"<h2>Pareto designs ({len(designs)})</h2>", table(header, rows)]
    for d in designs:
        layer_rows = [[lay["layer"], " ".join(lay["names"][:3]), lay["count"], lay["cycles"],
                       lay["bottleneck"], *(lay["energy_by_level_pj"][lv] for lv in levels),
                       lay["feasible"]] for lay in d["layers"]]
        parts += [f"<h2>Design {d['design']}: layers</h2>",
                  table(["layer", "names", "count", "cycles", "bottleneck",
                         *(f"{lv} energy pJ" for lv in levels), "fits"], layer_rows)]
    style = ("body{font-family:sans-serif;margin:1em}table{border-collapse:collapse;"
             "margin-bottom:1em}td,th{border:1px solid #ccc;padding:2px 6px;"
             "font-size:12px;text-align:right}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
            f"{escape(title or 'codesign')}</title><style>{style}</style></head><body>"
            + "".join(parts) + "</body></html>")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class HierarchyResult:
    """What a hierarchy exploration found: the front's records (`front_designs`, sorted by
    the first objective), the per-generation history and the run record (``run.json``)."""

    def __init__(self, pareto: list[dict[str, Any]], history: list[dict[str, Any]],
                 run: dict[str, Any], space_columns: tuple[str, ...],
                 levels: tuple[str, ...]) -> None:
        self.pareto, self.history, self.run = pareto, history, run
        self.space_columns, self.levels = space_columns, levels

    @property
    def interrupted(self) -> bool:
        return bool(self.run.get("interrupted"))

    def rows(self) -> list[dict[str, Any]]:
        return pareto_rows(self.pareto, self.space_columns, self.levels)[0]

    def write(self, folder: Any) -> None:
        """pareto.csv, designs.json, history.csv, run.json and report.html (each
        atomically)."""
        from pathlib import Path

        from codesign.results.export import write_csv, write_json

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        rows, columns = pareto_rows(self.pareto, self.space_columns, self.levels)
        write_csv(folder / "pareto.csv", rows, columns)
        write_json(folder / "designs.json", {"objectives": self.run["config"]["objectives"],
                                             "levels": list(self.levels),
                                             "designs": self.pareto})
        columns = list(self.history[0]) if self.history else ["generation", "evaluations"]
        write_csv(folder / "history.csv", self.history, columns)
        write_json(folder / "run.json", self.run)
        from codesign.results.report import REPORT_FILE
        from codesign.search.checkpoint import atomic_write_text

        atomic_write_text(folder / REPORT_FILE, generate_report(
            self.pareto, self.levels, f"{self.run['config'].get('model') or 'workload'} on "
            f"{self.run['config']['space']['base']}"))
