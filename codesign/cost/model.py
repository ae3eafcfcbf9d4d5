"""The `CostModel` interface and the `CostResult` it returns.

A cost model is anything with ``evaluate(hardware, workload, mappings) -> CostResult``: one
call for a whole population (``B`` designs x ``L`` unique layers), on whatever device the
inputs live. Shapes: ``B`` designs, ``L`` unique layers, levels ``RF GLB DRAM`` (3), tensors
``W I O`` (3), accesses ``reads writes`` (2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch

from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors

__all__ = ["ACCESS_KINDS", "ENERGY_PARTS", "MEMORY_LEVELS", "CostModel", "CostResult"]

#: Memory levels of the ``accesses`` axis, inner to outer.
MEMORY_LEVELS: tuple[str, ...] = ("RF", "GLB", "DRAM")
#: Access kinds of the last ``accesses`` axis.
ACCESS_KINDS: tuple[str, ...] = ("reads", "writes")
#: Parts of the ``energy_parts_pj`` axis.
ENERGY_PARTS: tuple[str, ...] = ("RF", "GLB", "DRAM", "MAC", "leakage")


@dataclass(frozen=True)
class CostResult:
    """Everything a cost model says about a batch.

    Shape:
        Per layer, ``[B, L]``: cycles, compute_cycles, glb_cycles, dram_cycles (the three
        bounds whose max is ``cycles``), utilization, energy_pj, feasible (bool),
        capacity_excess (>= 0 words over the RF/GLB capacity, 0 when the mapping fits).
        accesses: ``[B, L, 3, 3, 2]`` (level RF/GLB/DRAM, tensor W/I/O, reads/writes); exact
            int64 for integer mappings.
        energy_parts_pj: ``[B, L, 5]`` (RF, GLB, DRAM, MAC, leakage).
        Per design, ``[B]``: area_mm2; vector_cycles and vector_energy_pj (all vector ops);
            latency_cycles and energy_pj (network totals: per-layer values weighted by layer
            counts, plus vector ops); feasible_design (every layer feasible).
        clock_mhz: ``[B]`` to turn cycles into seconds.
    """

    cycles: torch.Tensor
    compute_cycles: torch.Tensor
    glb_cycles: torch.Tensor
    dram_cycles: torch.Tensor
    utilization: torch.Tensor
    energy_pj: torch.Tensor
    feasible: torch.Tensor
    capacity_excess: torch.Tensor
    accesses: torch.Tensor
    energy_parts_pj: torch.Tensor
    area_mm2: torch.Tensor
    vector_cycles: torch.Tensor
    vector_energy_pj: torch.Tensor
    latency_cycles: torch.Tensor
    total_energy_pj: torch.Tensor
    feasible_design: torch.Tensor
    clock_mhz: torch.Tensor

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
        edp (J*s), power (W)."""
        return {
            "latency": self.latency_s,
            "energy": self.energy_j,
            "area": self.area_mm2,
            "edp": self.energy_j * self.latency_s,
            "power": self.power_w,
        }


@runtime_checkable
class CostModel(Protocol):
    """One method: cost a population of designs and their per-layer mappings.

    Implementations must be pure (tensors in, tensors out), follow the inputs' device and
    dtype, and mark infeasible pairs in ``feasible`` rather than raise.
    """

    def evaluate(self, hardware: HardwareBatch, workload: WorkloadTensors,
                 mappings: MappingBatch) -> CostResult: ...
