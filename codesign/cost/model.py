"""The `CostModel` interface and the `CostResult` it returns.

A cost model is anything with ``evaluate(hardware, workload, mappings) -> CostResult``: one
call for a whole population (``B`` designs x ``L`` unique layers), on whatever device the
inputs live. Shapes: ``B`` designs, ``L`` unique layers, levels ``RF GLB DRAM`` (3), tensors
``W I O`` (3), accesses ``reads writes`` (2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import torch

from codesign.hierarchy.v1 import V1_LEVELS
from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors
from codesign.names import DESIGN_OBJECTIVES

__all__ = [
    "ACCESS_KINDS",
    "ENERGY_PARTS",
    "MEMORY_LEVELS",
    "CostModel",
    "CostResult",
    "LevelBreakdown",
    "objective_names",
]

#: Memory levels of the ``accesses`` axis, inner to outer.
MEMORY_LEVELS: tuple[str, ...] = V1_LEVELS[::-1]
#: Access kinds of the last ``accesses`` axis.
ACCESS_KINDS: tuple[str, ...] = ("reads", "writes")
#: Parts of the ``energy_parts_pj`` axis.
ENERGY_PARTS: tuple[str, ...] = (*MEMORY_LEVELS, "MAC", "leakage")


@dataclass(frozen=True)
class LevelBreakdown:
    """Per-level figures named by the architecture's own levels (optional in a result).

    Shape:
        names: ``M`` level names, outer to inner as the model defines them.
        cycles: ``[B, L, M]`` each level's bound on a layer's cycles (its bandwidth).
        energy_pj: ``[B, L, M]`` each level's energy for one occurrence of the layer.
    """

    names: tuple[str, ...]
    cycles: torch.Tensor
    energy_pj: torch.Tensor


@dataclass(frozen=True)
class CostResult:
    """Everything a cost model says about a batch: a required core, optional breakdowns.

    Shape:
        Core, per layer ``[B, L]``: cycles, energy_pj (one occurrence of the layer),
        feasible (bool). Per design ``[B]``: area_mm2; latency_cycles and total_energy_pj
        (network totals: per-layer values weighted by layer counts, plus vector ops);
        feasible_design (every layer feasible); clock_mhz to turn cycles into seconds.
        extra_objectives: name -> ``[B]`` float, objectives a custom cost model adds
        (minimised; e.g. peak power); empty for the analytical model. The names must not
        shadow `DESIGN_OBJECTIVES`, and the model should list them in its
        ``extra_objectives`` attribute so a search can check names before it starts.

        Optional (None when a model does not know them; nothing downstream invents them):
        compute_cycles, glb_cycles, dram_cycles ``[B, L]`` (v1's three bounds whose max is
        ``cycles``: they name the bottleneck), utilization ``[B, L]``, capacity_excess
        ``[B, L]`` (>= 0 words over capacity, 0 when the mapping fits; lets a search rank
        infeasible mappings), accesses ``[B, L, 3, 3, 2]`` (v1 level RF/GLB/DRAM, tensor
        W/I/O, reads/writes; exact int64 for integer mappings), energy_parts_pj
        ``[B, L, 5]`` (RF, GLB, DRAM, MAC, leakage), vector_cycles and vector_energy_pj
        ``[B]`` (all vector ops), levels (a `LevelBreakdown` by the architecture's names).
    """

    cycles: torch.Tensor
    energy_pj: torch.Tensor
    feasible: torch.Tensor
    area_mm2: torch.Tensor
    latency_cycles: torch.Tensor
    total_energy_pj: torch.Tensor
    feasible_design: torch.Tensor
    clock_mhz: torch.Tensor
    compute_cycles: torch.Tensor | None = None
    glb_cycles: torch.Tensor | None = None
    dram_cycles: torch.Tensor | None = None
    utilization: torch.Tensor | None = None
    capacity_excess: torch.Tensor | None = None
    accesses: torch.Tensor | None = None
    energy_parts_pj: torch.Tensor | None = None
    vector_cycles: torch.Tensor | None = None
    vector_energy_pj: torch.Tensor | None = None
    levels: LevelBreakdown | None = None
    extra_objectives: dict[str, torch.Tensor] = field(default_factory=dict)

    def bounds(self) -> torch.Tensor | None:
        """``[B, L, 3]`` the compute, GLB and DRAM bounds, or None if the model gave none
        (then no bottleneck can be named)."""
        if self.compute_cycles is None or self.glb_cycles is None or self.dram_cycles is None:
            return None
        return torch.stack([self.compute_cycles, self.glb_cycles, self.dram_cycles], -1)

    @property
    def latency_s(self) -> torch.Tensor:
        """``[B]`` network latency in seconds."""
        return self.latency_cycles / (self.clock_mhz * 1e6)

    @property
    def energy_j(self) -> torch.Tensor:
        """``[B]`` network energy in joules."""
        return self.total_energy_pj * 1e-12

    @property
    def power_w(self) -> torch.Tensor:
        """``[B]`` average power over one inference."""
        return self.energy_j / self.latency_s

    def objectives(self) -> dict[str, torch.Tensor]:
        """Named ``[B]`` objectives, all minimised: latency (s), energy (J), area (mm2),
        edp (J*s), power (W), then the cost model's ``extra_objectives``."""
        return {
            "latency": self.latency_s,
            "energy": self.energy_j,
            "area": self.area_mm2,
            "edp": self.energy_j * self.latency_s,
            "power": self.power_w,
            **self.extra_objectives,
        }


@runtime_checkable
class CostModel(Protocol):
    """One method: cost a population of designs and their per-layer mappings.

    Implementations must be pure (tensors in, tensors out), follow the inputs' device and
    dtype, and mark infeasible pairs in ``feasible`` rather than raise. A model that adds
    objectives returns them in `CostResult.extra_objectives` and names them in an optional
    class attribute ``extra_objectives: tuple[str, ...]`` (read by `objective_names`), so
    that ``explore(objectives=...)`` and constraints can accept those names up front.
    Ways to write one (docs/API.md): subclass `AnalyticalCostModel` and change one term,
    wrap a torch module, or hand a per-design function to `FunctionCostModel`.
    """

    def evaluate(self, hardware: HardwareBatch, workload: WorkloadTensors,
                 mappings: MappingBatch) -> CostResult: ...


def objective_names(cost_model: object) -> tuple[str, ...]:
    """Objectives ``cost_model`` can be asked for: `DESIGN_OBJECTIVES` plus the names in
    its optional ``extra_objectives`` attribute (in that order, duplicates dropped).

    >>> class Peaky:
    ...     extra_objectives = ("peak_power",)
    >>> objective_names(Peaky())[-2:]
    ('power', 'peak_power')
    """
    extra = getattr(cost_model, "extra_objectives", ()) or ()
    if isinstance(extra, str):
        extra = (extra,)
    return tuple(dict.fromkeys((*DESIGN_OBJECTIVES, *(str(n) for n in extra))))
