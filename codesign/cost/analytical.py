"""`AnalyticalCostModel`: DESIGN.md's v1 analytical model for a whole batch in one call.

Composes the pure pieces: `tiles` and `reloads` -> `access_counts` -> cycles (compute and
bandwidth bounds) -> energy and area (technology tables) -> feasibility -> network totals.
Designs x layers are evaluated at once on the inputs' device; nothing loops over them.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from codesign.arch.technology import Technology
from codesign.cost.access_counts import access_counts, reloads, soa_view, tiles
from codesign.cost.area import area_mm2
from codesign.cost.energy import access_energy_pj, leakage_energy_pj, mac_energy_pj
from codesign.cost.latency import (
    bandwidth_cycles,
    latency_cycles,
    utilization,
)
from codesign.cost.model import MEMORY_LEVELS, CostResult, LevelBreakdown
from codesign.cost.systolic import systolic_compute_cycles
from codesign.cost.vector import vector_cost
from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors

__all__ = ["AnalyticalCostModel", "capacity_excess", "evaluate_batch", "mapping_feasible"]

_ROWS, _COLS = 2, 3


def capacity_excess(tile: torch.Tensor, hardware: HardwareBatch) -> torch.Tensor:
    """Words over capacity: ``relu(sum_t tile(t, RF) - rf_words) + relu(sum_t tile(t, GLB) -
    glb_words)``; 0 when the tiles fit (RF words are per PE).

    Shape:
        tile: ``[B, L, 4, T]`` from `tiles`; returns ``[B, L]`` in ``tile``'s dtype.
    """
    rf_need = tile[..., 0, :].sum(-1)                                     # [B, L]
    glb_need = tile[..., 2, :].sum(-1)                                    # [B, L]
    rf_over = (rf_need - hardware.rf_words.unsqueeze(-1).to(tile.dtype)).clamp(min=0)
    glb_over = (glb_need - hardware.glb_words.unsqueeze(-1).to(tile.dtype)).clamp(min=0)
    return rf_over + glb_over


def mapping_feasible(factors: torch.Tensor, dims: torch.Tensor, hardware: HardwareBatch
                     ) -> torch.Tensor:
    """Structural feasibility (capacity aside): factors cover every dim, the spatial products
    fit ``pe_rows`` and ``pe_cols``, and only dims the dataflow allows are unrolled.

    Shape:
        factors: ``[B, L, F, D]``; dims: ``[L, D]``; returns ``[B, L]`` bool.
    """
    f = factors.movedim((-2, -1), (0, 1))                                 # [F, D, B, L]
    covered = (f.prod(0) >= dims.T.unsqueeze(1)).all(0)                   # [B, L]
    rows_fit = f[_ROWS].prod(0) <= hardware.pe_rows.unsqueeze(-1)
    cols_fit = f[_COLS].prod(0) <= hardware.pe_cols.unsqueeze(-1)
    unrolled = f[_ROWS:_COLS + 1] > 1                                     # [2, D, B, L]
    allowed = hardware.spatial_allowed.permute(1, 2, 0).unsqueeze(-1)     # [2, D, B, 1]
    dataflow_ok = ~(unrolled & ~allowed).flatten(0, 1).any(0)             # [B, L]
    return covered & rows_fit & cols_fit & dataflow_ok


class AnalyticalCostModel:
    """The v1 analytical model of DESIGN.md as a `CostModel`.

    ``technology`` defaults to `Technology.default()` (looked up per call, never frozen at
    import). Access counts are int64 (exact) for int64 factors and follow the factors' float
    dtype under a continuous relaxation, where every output is differentiable in the factors.

    >>> from codesign import Accelerator, Layer, LayerTable, Mapping
    >>> layer = Layer.gemm(M=4, K=4, N=4)
    >>> m = Mapping.from_json({"spatial": {"rows": {"C": 4}, "cols": {"K": 4}},
    ...                        "temporal": {"GLB": {"P": 4}}})
    >>> hw = HardwareBatch.from_accelerators([Accelerator(pe_rows=4, pe_cols=4)])
    >>> wl = WorkloadTensors.from_table(LayerTable.from_layers([layer]))
    >>> res = AnalyticalCostModel().evaluate(hw, wl, MappingBatch.from_mappings([[m]]))
    >>> res.compute_cycles.tolist(), res.utilization.tolist(), res.feasible.tolist()
    ([[4.0]], [[1.0]], [[True]])
    """

    def __init__(self, technology: Technology | None = None, *, compiled: bool = False
                 ) -> None:
        self.technology = technology
        #: Run through `torch.compile` (fuses the whole model into a few kernels: several
        #: times faster on large batches, after a one-off compile of about a minute).
        self.compiled = compiled
        self._compiled_fn = None

    def evaluate(self, hardware: HardwareBatch, workload: WorkloadTensors,
                 mappings: MappingBatch) -> CostResult:
        """Cost every (design, layer) pair of the batch.

        Shape:
            hardware: ``[B]``; workload: ``[L]`` layers (and its vector ops);
            mappings: factors ``[B, L, F, D]``, order ``[B, L, M, D]``.
            returns: a `CostResult` (per-layer ``[B, L]``, per-design ``[B]``).
        """
        tech = self.technology if self.technology is not None else Technology.default()
        if not self.compiled:
            return evaluate_batch(hardware, workload, mappings, tech)
        if self._compiled_fn is None:
            self._compiled_fn = torch.compile(evaluate_batch, dynamic=False)
        return self._compiled_fn(hardware, workload, mappings, tech)


def evaluate_batch(hardware: HardwareBatch, workload: WorkloadTensors, mappings: MappingBatch,
                   tech: Technology, *, reload_fn: Callable = reloads) -> CostResult:
    """The body of `AnalyticalCostModel.evaluate` as a pure function (shapes there).

    ``reload_fn(factors [B, L, F, D], order [B, L, 2, D]) -> [B, L, 2, T]`` counts the
    reloads; the gradient refinement passes a continuous surrogate of the v1 rule
    (`codesign.search.gradient.soft_reloads`) and keeps every other term of the model.
    """
    # One transpose to structure-of-arrays storage: every (slot, dim) value of the batch
    # is then a contiguous [B, L] vector in all the functions below (same [B, L, F, D]
    # shape, different strides). Integer factors are counted in float64, exact below
    # 2**53, and handed back as int64 counts. Only DRAM and GLB orders matter in v1.
    exact = not mappings.factors.is_floating_point()
    factors = soa_view(mappings.factors, torch.float64 if exact else None)  # [B, L, F, D]
    order = soa_view(mappings.order[..., :2, :])                       # [B, L, 2, D]
    tile = tiles(factors, workload.stride, workload.dilation)          # [B, L, 4, T]
    reload = reload_fn(factors, order)                                 # [B, L, 2, T]
    spatial = factors[..., _ROWS, :].prod(-1) * factors[..., _COLS, :].prod(-1)  # [B, L]
    useful_macs = workload.dims.prod(-1)                               # [L]
    counts_f = access_counts(tile, reload, spatial, useful_macs)       # [B, L, 3, 3, 2]
    accesses = counts_f.to(torch.int64) if exact else counts_f

    # v1 product of temporal factors; + fill/drain per fold where hardware.systolic
    compute = systolic_compute_cycles(factors, workload.dims, hardware, order,
                                      reload=reload)                   # [B, L]
    glb, dram = bandwidth_cycles(counts_f, hardware)                   # [B, L]
    cycles = latency_cycles(compute, glb, dram)                        # [B, L]
    util = utilization(useful_macs, compute, hardware)                 # [B, L]

    excess = capacity_excess(tile, hardware)                           # [B, L]
    feasible = mapping_feasible(factors, workload.dims, hardware) & (excess <= 0)

    fdtype = cycles.dtype
    parts = torch.cat([
        access_energy_pj(counts_f, hardware, tech).to(fdtype),         # [B, L, 3]
        mac_energy_pj(useful_macs, hardware, tech).to(fdtype).unsqueeze(-1),
        leakage_energy_pj(cycles, hardware, tech).to(fdtype).unsqueeze(-1),
    ], dim=-1)                                                         # [B, L, 5]
    energy = parts.sum(-1)                                             # [B, L]
    vec_cycles, vec_energy = vector_cost(hardware, workload, tech)     # [B], [B]
    counts = workload.counts.to(fdtype)                                # [L]
    return CostResult(
        cycles=cycles,
        compute_cycles=compute,
        glb_cycles=glb,
        dram_cycles=dram,
        utilization=util,
        energy_pj=energy,
        feasible=feasible,
        capacity_excess=excess.to(fdtype),
        accesses=accesses,
        energy_parts_pj=parts,
        area_mm2=area_mm2(hardware, tech).to(fdtype),
        vector_cycles=vec_cycles.to(fdtype),
        vector_energy_pj=vec_energy.to(fdtype),
        latency_cycles=(cycles * counts).sum(-1) + vec_cycles.to(fdtype),
        total_energy_pj=(energy * counts).sum(-1) + vec_energy.to(fdtype),
        feasible_design=feasible.all(-1),
        clock_mhz=hardware.clock_mhz,
        levels=LevelBreakdown(MEMORY_LEVELS, torch.stack([torch.zeros_like(glb), glb, dram], -1),
                              parts[..., :len(MEMORY_LEVELS)]),
    )
