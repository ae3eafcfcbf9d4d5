"""Why a design wins: per-layer bottleneck, traffic, energy by level and the gap to the
layer's lower bounds (`codesign.cost.bounds`), plus the network-level summary that
``pareto.csv`` carries (`EXPLAIN_COLUMNS`).

Downstream of the cost model: tensors become Python numbers here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from codesign.arch.accelerator import Accelerator
from codesign.arch.technology import Technology
from codesign.cost.bounds import lower_bounds
from codesign.cost.model import ENERGY_PARTS, CostResult
from codesign.mapping.batch import HardwareBatch, WorkloadTensors
from codesign.names import BOTTLENECKS, UNKNOWN_BOTTLENECK
from codesign.workload.layer import LayerTable

__all__ = ["EXPLAIN_COLUMNS", "explain"]

#: Per-design columns ``pareto.csv`` gains: the share of the MAC layers' cycles (count
#: weighted) limited by each bound, network actual / network lower bound, and the share of
#: the network's latency and energy that goes to vector (non-MAC) ops, which no mapping
#: changes.
EXPLAIN_COLUMNS: tuple[str, ...] = (*(f"bound_{name}_frac" for name in BOTTLENECKS),
                                    "latency_gap", "energy_gap", "vector_latency_frac",
                                    "vector_energy_frac")


def _ratio(actual: torch.Tensor, bound: torch.Tensor) -> torch.Tensor:
    """``actual / bound``; 1 where both are 0 (an empty layer is on its bound)."""
    return torch.where(bound > 0, actual / bound.clamp(min=1e-300),
                       torch.where(actual > 0, torch.inf, 1.0))


def explain(accelerators: Sequence[Accelerator], table: LayerTable, result: CostResult,
            technology: Technology | None = None
            ) -> tuple[list[dict[str, float]], list[list[dict[str, Any]]]]:
    """Summaries (`EXPLAIN_COLUMNS`) and per-layer explanations of ``B`` costed designs.

    The bottleneck of a layer is the largest of its three cycle bounds (compute on ties).
    The network lower bounds add the vector ops' cycles and energy as they are (they have no
    mapping), so a gap of 1 means every MAC layer sits on its bound.

    Shape:
        accelerators: ``B``; table: ``L`` unique layers; result: a `CostResult` of
        ``[B, L]`` (any device). Returns ``B`` summaries and ``B x L`` layer dicts with
        ``bound``, ``macs``, ``glb_words``, ``dram_words``, ``compute_cycles``,
        ``glb_cycles``, ``dram_cycles``, ``energy_parts_pj`` (`ENERGY_PARTS`),
        ``lower_bound`` (cycles, compute/glb/dram cycles, energy_pj) and ``latency_gap``,
        ``energy_gap``.
    """
    n_b = len(accelerators)
    if n_b == 0:
        return [], []
    hardware = HardwareBatch.from_accelerators(accelerators)              # CPU, float64
    workload = WorkloadTensors.from_table(table)
    lb = lower_bounds(hardware, workload, technology)                     # [B, L] each
    dtype = torch.float64
    cycles = result.cycles.detach().cpu().to(dtype)                       # [B, L]
    energy = result.energy_pj.detach().cpu().to(dtype)
    known = result.bounds()        # a model that gives no bounds names no bottleneck
    nan_bl = torch.full_like(cycles, math.nan)
    per_bound = (known.detach().cpu().to(dtype) if known is not None
                 else torch.stack([nan_bl] * 3, -1))                      # [B, L, 3]
    bound = per_bound.argmax(-1)                                          # [B, L]
    counts = workload.counts.to(dtype)                                    # [L]

    weighted = cycles * counts                                            # [B, L]
    share = torch.stack([(weighted * (bound == j)).sum(-1) for j in range(3)], dim=-1)
    total = weighted.sum(-1, keepdim=True)                                # [B, 1]
    frac = torch.where(total > 0, share / total.clamp(min=1e-300), 0.0)   # [B, 3]
    if known is None:
        frac = torch.full_like(frac, math.nan)

    def per_design(x: torch.Tensor | None) -> torch.Tensor:
        return (x.detach().cpu().to(dtype) if x is not None
                else torch.zeros(n_b, dtype=dtype))

    vec_cycles = per_design(result.vector_cycles)                         # [B]
    vec_energy = per_design(result.vector_energy_pj)
    net_lb_cycles = (lb["cycles"] * counts).sum(-1) + vec_cycles          # [B]
    net_lb_energy = (lb["energy_pj"] * counts).sum(-1) + vec_energy
    net_cycles = result.latency_cycles.detach().cpu().to(dtype)           # [B]
    net_energy = result.total_energy_pj.detach().cpu().to(dtype)
    latency_gap = _ratio(net_cycles, net_lb_cycles)
    energy_gap = _ratio(net_energy, net_lb_energy)
    vec_latency = torch.where(net_cycles > 0, vec_cycles / net_cycles.clamp(min=1e-300), 0.0)
    vec_share = torch.where(net_energy > 0, vec_energy / net_energy.clamp(min=1e-300), 0.0)
    summaries = [dict(zip(EXPLAIN_COLUMNS, values, strict=True)) for values in
                 torch.cat([frac, latency_gap[:, None], energy_gap[:, None],
                            vec_latency[:, None], vec_share[:, None]], -1).tolist()]

    if result.accesses is not None:
        acc = result.accesses.detach().cpu().to(dtype)                    # [B, L, 3, 3, 2]
        words = acc.sum(dim=(-2, -1))                                     # [B, L, 3]
    else:
        words = torch.stack([nan_bl] * 3, -1)
    macs = workload.dims.prod(-1).tolist()                                # [L]
    layer_gap = _ratio(cycles, lb["cycles"]).tolist()
    layer_egap = _ratio(energy, lb["energy_pj"]).tolist()
    columns = {
        "glb_words": words[..., 1].tolist(), "dram_words": words[..., 2].tolist(),
        "compute_cycles": per_bound[..., 0].tolist(), "glb_cycles": per_bound[..., 1].tolist(),
        "dram_cycles": per_bound[..., 2].tolist(),
    }
    parts = (result.energy_parts_pj.detach().cpu().to(dtype).tolist()     # [B, L, 5]
             if result.energy_parts_pj is not None else None)
    lb_lists = {k: lb[k].tolist() for k in ("cycles", "compute_cycles", "glb_cycles",
                                            "dram_cycles", "energy_pj")}
    bounds = bound.tolist()
    layers = []
    for b in range(n_b):
        rows = []
        for i in range(len(macs)):
            row: dict[str, Any] = {
                "bound": BOTTLENECKS[bounds[b][i]] if known is not None else UNKNOWN_BOTTLENECK,
                "macs": macs[i]}
            row.update({k: _finite(v[b][i]) for k, v in columns.items()})
            row["energy_parts_pj"] = (dict(zip(ENERGY_PARTS, parts[b][i], strict=True))
                                      if parts is not None else {})
            row["lower_bound"] = {k: v[b][i] for k, v in lb_lists.items()}
            row["latency_gap"] = layer_gap[b][i]
            row["energy_gap"] = layer_egap[b][i]
            rows.append(row)
        layers.append(rows)
    return summaries, layers


def _finite(value: float) -> float | None:
    """A number, or None where the cost model gave none (JSON has no NaN)."""
    return None if math.isnan(value) else value
