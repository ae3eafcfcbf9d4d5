"""Pareto designs as plain data: one `ParetoDesign` per front member, with its accelerator,
network totals and per-layer mappings and costs.

This is where batched tensors become Python numbers for reports (``.tolist()`` is fine
here: results are downstream of the cost model). Non-dominated filtering itself lives in
`codesign.search.archive` (the search needs it every generation) and is re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from codesign.arch.accelerator import NUMERIC_FIELDS, Accelerator
from codesign.arch.technology import Technology
from codesign.cost.model import CostResult
from codesign.mapping.batch import MappingBatch
from codesign.names import (
    BOTTLENECKS,
    OBJECTIVE_COLUMNS,
    UNKNOWN_BOTTLENECK,
    WORKLOAD_OBJECTIVES,
    objective_column,
    workload_objective,
)
from codesign.results.explain import EXPLAIN_COLUMNS, explain
from codesign.search.archive import non_dominated_mask
from codesign.workload.layer import LayerTable
from codesign.workload.mix import WorkloadMix

__all__ = ["PARETO_COLUMNS", "ParetoDesign", "non_dominated_mask",
           "pareto_designs"]

#: Hardware columns of ``pareto.csv`` (Accelerator fields), then the metric columns.
HW_COLUMNS: tuple[str, ...] = (*NUMERIC_FIELDS, "dataflow")
METRIC_COLUMNS: tuple[str, ...] = ("latency_cycles", *OBJECTIVE_COLUMNS.values(), "utilization")
#: Then why the design is where it is (bottleneck mix, lower-bound gaps; `explain`).
PARETO_COLUMNS: tuple[str, ...] = ("design", *HW_COLUMNS, *METRIC_COLUMNS, *EXPLAIN_COLUMNS)


@dataclass(frozen=True)
class ParetoDesign:
    """One Pareto-optimal design: hardware, network totals, and per-layer schedules.

    ``metrics`` holds `METRIC_COLUMNS`, `EXPLAIN_COLUMNS` and the objectives a custom cost
    model adds (`CostResult.extra_objectives`, by `objective_column`: a run over several
    workloads has each one's ``latency_s@name``, ``energy_j@name``...); ``workloads``
    (several workloads only): per workload, its weight, figures and layers (the union
    rows it uses, with their mappings); ``layers[i]`` describes unique
    layer ``i`` (its nodes, count, mapping in the JSON form, cycles, energy, utilisation, the
    bound that limits it, feasibility, and `explain`'s traffic, energy by level and
    lower-bound gaps).
    """

    index: int
    accelerator: Accelerator
    metrics: dict[str, float]
    layers: tuple[dict[str, Any], ...]
    workloads: dict[str, dict[str, Any]] | None = None

    def row(self) -> dict[str, Any]:
        """One ``pareto.csv`` row (`PARETO_COLUMNS`)."""
        hw = self.accelerator.to_dict()
        row: dict[str, Any] = {"design": self.index}
        row.update({k: hw[k] for k in HW_COLUMNS})
        row.update(self.metrics)
        return row

    def to_dict(self) -> dict[str, Any]:
        """The ``designs.json`` entry."""
        out = {"design": self.index, "accelerator": self.accelerator.to_dict(),
               "metrics": dict(self.metrics), "layers": list(self.layers)}
        if self.workloads is not None:
            out["workloads"] = self.workloads
        return out


def pareto_designs(accelerators: list[Accelerator], table: LayerTable, mappings: MappingBatch,
                   result: CostResult, technology: Technology | None = None,
                   mix: WorkloadMix | None = None) -> list[ParetoDesign]:
    """Turn a costed batch of front designs into `ParetoDesign` records.

    ``mix``: the workloads whose `union` ``table`` is (each design then says how it does
    on each, `ParetoDesign.workloads`).

    ``technology``: the table the result was costed with (for the energy lower bounds;
    ``None`` = `Technology.default`).

    Shape:
        accelerators: ``B`` designs; mappings ``[B, L]``; result a `CostResult` for them.
    """
    n_b = len(accelerators)
    if n_b == 0:
        return []
    latency_cycles = result.latency_cycles.tolist()
    latency_s = result.latency_s.tolist()
    energy_j = result.energy_j.tolist()
    area = result.area_mm2.tolist()
    power = result.power_w.tolist()
    extra = {name: value.tolist() for name, value in result.extra_objectives.items()}
    counts = np.asarray(table.counts, dtype=np.float64)  # [L]
    macs = np.asarray([layer.macs for layer in table.layers], dtype=np.float64)
    n_pes = np.asarray([a.n_pes for a in accelerators], dtype=np.float64)  # [B]
    # network utilisation: useful MACs over MAC slots during the whole latency
    utilization = (counts * macs).sum() / (np.asarray(latency_cycles) * n_pes)
    cycles = result.cycles.tolist()
    energy_pj = result.energy_pj.tolist()
    layer_util = (result.utilization.tolist() if result.utilization is not None
                  else [[None] * len(table) for _ in accelerators])
    feasible = result.feasible.tolist()
    per_bound = result.bounds()
    bounds = (per_bound.detach().cpu().argmax(-1).tolist() if per_bound is not None
              else None)                                                 # [B, L]
    summaries, notes = explain(accelerators, table, result, technology)
    designs = []
    for b, acc in enumerate(accelerators):
        layers = []
        for i, layer in enumerate(table.layers):
            layers.append({
                "layer": i, "names": list(table.names[i]), "count": table.counts[i],
                "shape": layer.to_dict(),
                "mapping": mappings.mapping(b, i).to_json(),
                "cycles": cycles[b][i], "energy_pj": energy_pj[b][i],
                "utilization": layer_util[b][i],
                "bound": BOTTLENECKS[bounds[b][i]] if bounds is not None else UNKNOWN_BOTTLENECK,
                "feasible": bool(feasible[b][i]), **notes[b][i],
            })
        metrics = {"latency_cycles": latency_cycles[b], "latency_s": latency_s[b],
                   "energy_j": energy_j[b], "area_mm2": area[b],
                   "edp_js": energy_j[b] * latency_s[b], "power_w": power[b],
                   "utilization": float(utilization[b]), **summaries[b]}
        metrics.update({objective_column(name): float(values[b])
                        for name, values in extra.items()})
        workloads = _workloads(mix, metrics, layers) if mix is not None else None
        designs.append(ParetoDesign(b, acc, metrics, tuple(layers), workloads))
    return designs


def _workloads(mix: WorkloadMix, metrics: dict[str, float], layers: list[dict[str, Any]]
               ) -> dict[str, dict[str, Any]]:
    """``designs.json``'s per-workload part of one design: weight, the workload's own
    objectives (`WORKLOAD_OBJECTIVES`' columns) and its layers (union row, its own node
    names and count, the mapping)."""
    out = {}
    for w, name in enumerate(mix.names):
        prefix = f"{name}/"
        figures = {OBJECTIVE_COLUMNS[o]: metrics[objective_column(workload_objective(o, name))]
                   for o in WORKLOAD_OBJECTIVES}
        rows = [{"layer": i, "names": [n.removeprefix(prefix) for n in layers[i]["names"]
                                       if n.startswith(prefix)],
                 "count": mix.count_matrix[w][i], "mapping": layers[i]["mapping"]}
                for i in mix.layer_index[w]]
        out[name] = {"weight": mix.weights[w], **figures, "layers": rows}
    return out
