"""`MixCostModel`: one design costed on several workloads at once (a `WorkloadMix`).

The search sees one workload, the mix's `union` of unique layers: one mapping per union
layer (a shape two models share is mapped once and runs with the same mapping in both).
This model costs a batch on each workload with its own layers, counts and vector ops (the
mappings of its layers gathered from the union's), through the inner cost model, so each
workload's figures are exactly what that model says for the workload alone. The network
totals of the result are the mix's, one batched weighted sum over the workloads::

    latency_mix = sum_w weight_w * latency_w       (seconds for the whole inference mix)
    energy_mix  = sum_w weight_w * energy_w        (joules for the whole inference mix)

so ``edp`` and ``power`` of the mix follow from those (`CostResult.objectives`), ``area`` is
the chip's. Each workload's own latency, energy, edp and power are
``extra_objectives`` named ``latency@<workload>`` (`codesign.names.workload_objectives`), to
minimise or constrain like any other; objectives the inner model adds are summed over the
mix in the same way. Per-layer fields (``[B, L]``) come from the first workload that has
the layer: a layer's cost on a design does not depend on the other layers.

Two ways to get there, with the same figures:

- **Any inner model**: it is called once per workload (a loop over the few workloads, never
  over designs or layers); a layer two workloads share is costed in each of their calls.
- **The analytical model** (`AnalyticalCostModel` itself), whose totals are documented sums
  (``latency_cycles = sum_l count_l * cycles_l + vector cycles``, the same for energy;
  `codesign.cost.analytical`): one call costs the union's layers, each costed once; one
  batched product ``[B, L] @ [L, W]`` with the count matrix gives each workload's layer
  totals, and `vector_cost` of each workload's vector ops adds theirs. For ResNet-50,
  BERT-base and MobileNetV2 a call took 1.2x the time of costing the union alone, the
  per-workload calls 2.6x (``benchmarks/bench_mix.py``; docs/PERFORMANCE.md, "Several
  workloads").
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace
from typing import Any

import torch

from codesign.arch.technology import Technology
from codesign.cost.analytical import AnalyticalCostModel
from codesign.cost.model import CostModel, CostResult, objective_names
from codesign.cost.vector import vector_cost
from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors
from codesign.names import (
    DESIGN_OBJECTIVES,
    WORKLOAD_OBJECTIVES,
    workload_objective,
    workload_objectives,
)
from codesign.workload.mix import WorkloadMix

__all__ = ["MixCostModel"]

#: `CostResult` fields with a layer axis (``[B, L, ...]``), taken from the workloads' results.
_LAYER_FIELDS = ("cycles", "energy_pj", "feasible", "compute_cycles", "glb_cycles",
                 "dram_cycles", "utilization", "capacity_excess", "accesses",
                 "energy_parts_pj", "levels")
#: Per-design totals summed over the mix with the weights.
_SUMMED_FIELDS = ("latency_cycles", "total_energy_pj", "vector_cycles", "vector_energy_pj")


class MixCostModel:
    """The cost of each design on a `WorkloadMix`, through ``inner`` (module docstring).

    ``evaluate`` takes the union's `WorkloadTensors` (``WorkloadTensors.from_table(
    mix.union)``) and returns a `CostResult` over the union's layers with the mix's totals
    and the per-workload objectives in ``extra_objectives``.
    """

    def __init__(self, inner: CostModel, mix: WorkloadMix) -> None:
        self.inner = inner
        self.mix = mix
        inner_extra = tuple(n for n in objective_names(inner) if n not in DESIGN_OBJECTIVES)
        #: the per-workload objectives, then the inner model's own (summed over the mix)
        self.extra_objectives = (*workload_objectives(mix.names), *inner_extra)
        self._inner_extra = inner_extra
        concat = [i for index in mix.layer_index for i in index]  # union row of each
        #: the position, in the workloads' layers one after another, of each union layer
        self._first = tuple(concat.index(i) for i in range(len(mix.union)))
        self._cache: dict[str, dict[str, Any]] = {}

    def _tensors(self, device: torch.device) -> dict[str, Any]:
        """The mix's index and count tensors on ``device``, made once per device (no
        host-to-device copy per batch)."""
        key = str(device)
        if key not in self._cache:
            def ints(values: Any) -> torch.Tensor:
                return torch.tensor(values, dtype=torch.int64, device=device)

            self._cache[key] = {
                "rows": [ints(index) for index in self.mix.layer_index],
                "counts": [ints(t.counts) for t in self.mix.tables],
                "matrix": ints(self.mix.count_matrix), "weights": ints(self.mix.weights),
                "take": ints(self._first)}
        return self._cache[key]

    @property
    def technology(self) -> Any:
        """The inner model's technology (the report's energy lower bounds use it)."""
        return getattr(self.inner, "technology", None)

    def __repr__(self) -> str:
        return f"MixCostModel({self.inner!r}, workloads={', '.join(self.mix.names)})"

    def evaluate(self, hardware: HardwareBatch, workload: WorkloadTensors,
                 mappings: MappingBatch) -> CostResult:
        """Cost every design on every workload of the mix.

        Shape:
            hardware: ``[B]``; workload: the union's ``L`` layers; mappings ``[B, L, ...]``.
            returns a `CostResult` over ``[B, L]`` with the mix's ``[B]`` totals.
        """
        if workload.n_layers != len(self.mix.union):
            raise ValueError(f"MixCostModel: the workload has {workload.n_layers} layers, the "
                             f"mix's union {len(self.mix.union)}; pass the union's tensors")
        if type(self.inner) is AnalyticalCostModel:
            return self._additive(hardware, workload, mappings)
        dev = workload.dims.device
        results = []
        tensors = self._tensors(dev)
        for w, rows in enumerate(tensors["rows"]):
            own = WorkloadTensors(
                dims=workload.dims[rows], stride=workload.stride[rows],
                dilation=workload.dilation[rows],
                counts=tensors["counts"][w],
                vector_ops=workload.vector_ops[self.mix.vector_slices[w]],
                vector_words=workload.vector_words[self.mix.vector_slices[w]])
            own_mappings = MappingBatch(mappings.factors.index_select(1, rows),
                                        mappings.order.index_select(1, rows))
            results.append(self.inner.evaluate(hardware, own, own_mappings))
        return self._combine(results)

    def _additive(self, hardware: HardwareBatch, workload: WorkloadTensors,
                  mappings: MappingBatch) -> CostResult:
        """The analytical model's mix: the union costed once, each workload's totals from
        the count matrix and its own vector ops (module docstring)."""
        union = self.inner.evaluate(hardware, workload, mappings)
        dtype, dev = union.cycles.dtype, union.cycles.device
        tech = self.inner.technology if self.inner.technology is not None \
            else Technology.default()
        counts = self._tensors(dev)["matrix"].to(dtype).T                           # [L, W]
        vectors = [vector_cost(hardware, _vector_ops(workload, part), tech)
                   for part in self.mix.vector_slices]
        vec_cycles = torch.stack([c for c, _ in vectors], -1).to(dtype)            # [B, W]
        vec_energy = torch.stack([e for _, e in vectors], -1).to(dtype)            # [B, W]
        latency = union.cycles @ counts + vec_cycles                                 # [B, W]
        energy = union.energy_pj @ counts + vec_energy                               # [B, W]
        weights = self._tensors(dev)["weights"].to(dtype)                           # [W]
        seconds = latency / (union.clock_mhz.to(dtype) * 1e6).unsqueeze(-1)
        joules = energy * 1e-12
        named = {"latency": seconds, "energy": joules, "edp": seconds * joules,
                 "power": joules / seconds}
        extra = {workload_objective(o, name): named[o][:, w]
                 for w, name in enumerate(self.mix.names) for o in WORKLOAD_OBJECTIVES}
        return replace(union, latency_cycles=latency @ weights,
                       total_energy_pj=energy @ weights, vector_cycles=vec_cycles @ weights,
                       vector_energy_pj=vec_energy @ weights, extra_objectives=extra)

    def _combine(self, results: list[CostResult]) -> CostResult:
        """One `CostResult` of the mix from each workload's (module docstring)."""
        first = results[0]
        dev = first.latency_cycles.device
        take = self._tensors(dev)["take"]
        values: dict[str, Any] = {}
        for name in _LAYER_FIELDS:
            values[name] = _take_layers([getattr(r, name) for r in results], take)
        for name in _SUMMED_FIELDS:
            values[name] = self._mix_sum([getattr(r, name) for r in results])
        values["feasible_design"] = torch.stack([r.feasible_design for r in results]).all(0)
        values["area_mm2"], values["clock_mhz"] = first.area_mm2, first.clock_mhz
        extra: dict[str, torch.Tensor] = {}
        for name, result in zip(self.mix.names, results, strict=True):
            named = result.objectives()
            extra.update({workload_objective(o, name): named[o] for o in WORKLOAD_OBJECTIVES})
        for name in self._inner_extra:
            extra[name] = self._mix_sum([r.extra_objectives[name] for r in results])
        values["extra_objectives"] = extra
        return CostResult(**values)

    def _mix_sum(self, parts: list[torch.Tensor | None]) -> torch.Tensor | None:
        """``sum_w weight_w * parts[w]`` (``[B]`` each), one batched op; ``None`` if a
        workload's model gave none."""
        if any(p is None for p in parts):
            return None
        stacked = torch.stack(parts, -1)                                  # [B, W]
        weights = self._tensors(stacked.device)["weights"].to(stacked.dtype)
        if not stacked.is_floating_point():
            return (stacked * weights).sum(-1)
        return stacked @ weights                                          # [B]


def _vector_ops(workload: WorkloadTensors, part: slice) -> WorkloadTensors:
    """The vector ops ``part`` of ``workload`` (no layers): what `vector_cost` reads."""
    return WorkloadTensors(dims=workload.dims[:0], stride=workload.stride[:0],
                           dilation=workload.dilation[:0], counts=workload.counts[:0],
                           vector_ops=workload.vector_ops[part],
                           vector_words=workload.vector_words[part])


def _take_layers(parts: list[Any], take: torch.Tensor) -> Any:
    """The union's ``[B, L, ...]`` field from the workloads' ``[B, L_w, ...]`` ones (each
    union layer from the first workload that has it); a breakdown dataclass field by
    field; ``None`` when a workload's model gave none."""
    if any(p is None for p in parts):
        return None
    if isinstance(parts[0], torch.Tensor):
        return torch.cat(parts, 1).index_select(1, take)
    if is_dataclass(parts[0]):
        return type(parts[0])(**{
            f.name: (_take_layers([getattr(p, f.name) for p in parts], take)
                     if isinstance(getattr(parts[0], f.name), torch.Tensor)
                     else getattr(parts[0], f.name))
            for f in fields(parts[0])})
    return parts[0]
