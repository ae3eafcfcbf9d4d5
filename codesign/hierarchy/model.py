"""Cycles, energy and capacity of loop nests on a `Hierarchy`, batched.

Cycles: the temporal steps (one compute per instance per step, ``ops_per_cycle`` at once),
or a level's bandwidth where it is slower: per instance, reads over ``read_bw``, fills and
updates over ``write_bw``, all three over ``shared_bw``; the slowest bound wins.
Energy per level and tensor, per instance: ``ceil(reads / block) * read_pj + ceil(fills /
block) * fill_pj + ceil(updates / block) * update_pj`` (a vector access moves a block),
times the utilized instances; plus leakage (``leak_pj`` per cycle per utilized instance, as
Timeloop: simple_weight_stationary uses 12 of 256 PE scratchpads and leaks 12) and
``computes * mac_pj`` (Timeloop charges the compute units no leakage), plus the words
crossing each fan-out times its ``hop_pj``. Capacity: the tiles
a level keeps fit its shared capacity (divided by ``multiple_buffering``) or each tensor
its partition.

Shapes: ``B`` designs, ``L`` layers, ``M`` levels, ``T = 3`` tensors.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from codesign.hierarchy.batch import HierarchyBatch, as_batch
from codesign.hierarchy.counts import TIMELOOP, CountingRules, NestCounts, nest_counts
from codesign.hierarchy.levels import Hierarchy
from codesign.hierarchy.nest import NestBatch

__all__ = ["NestCost", "nest_cost", "straight_through_ceil"]


@dataclass(frozen=True)
class NestCost:
    """Shape:
        counts: `NestCounts` (``[B, L, M, T]`` reads, fills, updates, ...), in float64
            holding exact integers (below 2**53) for integer mappings.
        cycles: ``[B, L]``; level_cycles: ``[B, L, M]`` (each level's bandwidth bound);
        compute_cycles: ``[B, L]``.
        energy_pj: ``[B, L]``; level_energy_pj: ``[B, L, M, T]`` (accesses, no leakage);
        leak_pj: ``[B, L, M]``; compute_energy_pj: ``[B, L]``.
        network_energy_pj: ``[B, L]`` words crossing each fan-out x its ``hop_pj``.
        feasible: ``[B, L]`` bool: every tile fits, every fan-out axis holds its factors
            and unrolls only the dims it allows, and (with ``dims``) the factors cover the
            layer; capacity_excess: ``[B, L, M]`` words over capacity.
        area_mm2: the hierarchy's area (`Hierarchy.area_mm2`; ``[B]`` for a
            `HierarchyBatch`).
    """

    counts: NestCounts
    cycles: torch.Tensor
    level_cycles: torch.Tensor
    compute_cycles: torch.Tensor
    energy_pj: torch.Tensor
    level_energy_pj: torch.Tensor
    leak_pj: torch.Tensor
    compute_energy_pj: torch.Tensor
    network_energy_pj: torch.Tensor
    feasible: torch.Tensor
    capacity_excess: torch.Tensor
    area_mm2: float | torch.Tensor

    def energy_by_level_pj(self) -> torch.Tensor:
        """``[B, L, M]`` access plus leakage energy of each level."""
        return self.level_energy_pj.sum(-1) + self.leak_pj


def _blocks(x: torch.Tensor, block_words: int) -> torch.Tensor:
    """Vector accesses that move ``x`` scalars, ``block_words`` at a time."""
    return torch.ceil(x / block_words) if block_words > 1 else x


def straight_through_ceil(x: torch.Tensor) -> torch.Tensor:
    """``ceil(x)``'s exact values with the gradient of ``x`` (a straight-through
    estimator): ``ceil`` is flat almost everywhere, so a bandwidth's or an extent's effect
    on cycles would otherwise read 0."""
    return torch.ceil(x).detach() + (x - x.detach())


def spatial_feasible(hierarchy: Hierarchy | HierarchyBatch, factors: torch.Tensor,
                     dims: torch.Tensor | None = None) -> torch.Tensor:
    """``[B, L]`` bool: each fan-out axis's factors multiply to at most its size and unroll
    only the dims it allows (``x_dims`` / ``y_dims``); with ``dims`` ``[L, D]`` also that
    every dim's factors cover the layer (ceil-padding allowed).

    Shape: factors ``[B, L, F, D]``; a `HierarchyBatch` has 1 or ``B`` designs.
    """
    batch = as_batch(hierarchy, factors.device)
    ok = torch.ones(factors.shape[:2], dtype=torch.bool, device=factors.device)
    for s in batch.structure.spatial_slots:
        fac = factors[..., s, :]                                          # [B, L, D]
        size = batch.axis_size(s).unsqueeze(-1)                           # [B, 1]
        ok = ok & (fac.prod(-1) <= size)
        banned = ~batch.slot_dims(s).unsqueeze(1)                         # [B, 1, D]
        ok = ok & ~((fac > 1) & banned).any(-1)
    if dims is not None:
        ok = ok & (factors.prod(-2) >= dims).all(-1)
    return ok


def nest_cost(hierarchy: Hierarchy | HierarchyBatch, nests: NestBatch, stride: torch.Tensor,
              dilation: torch.Tensor, rules: CountingRules = TIMELOOP,
              dims: torch.Tensor | None = None, relaxed: bool = False,
              straight_through: bool = False) -> NestCost:
    """Cost ``nests`` (``[B, L]`` loop nests) on ``hierarchy`` (rules in the module doc):
    one `Hierarchy` for every design, or a `HierarchyBatch` of 1 or ``B`` designs (design
    ``b``'s nests on hierarchy ``b``). ``dims`` ``[L, D]`` (the layers' bounds) adds the
    coverage check to ``feasible`` and gives the `V1` rules their useful MACs.
    ``relaxed`` drops the ``ceil`` of cycles and vector blocks (a continuous relaxation
    for float factors, differentiable; only `codesign.search.hierarchy_gradient` uses
    it: every design it keeps is costed again without it). ``straight_through`` keeps the
    exact values but differentiates every ``ceil`` as the identity
    (`straight_through_ceil`: sensitivity and refinement of a hierarchy's sizes)."""
    batch = as_batch(hierarchy, nests.factors.device)
    structure = batch.structure
    useful = dims.prod(-1) if dims is not None else None
    keep = nests.keep
    if batch.varied_keep:      # each design's own keep sets (and the mapping's bypass)
        own = batch.keep.unsqueeze(1)                                     # [B, 1, M, T]
        keep = own.expand(*nests.factors.shape[:2], *own.shape[2:]) if keep is None \
            else keep & own
    c = nest_counts(structure, nests.factors, nests.order, keep, stride, dilation, rules,
                    useful_macs=useful, as_float=True)
    dtype = torch.float64
    util = c.utilized.to(dtype).clamp(min=1)                            # [B, L, M]
    reads, fills, updates = (x.to(dtype) for x in (c.reads, c.fills, c.updates))
    per = [x / util.unsqueeze(-1) for x in (reads, fills, updates)]     # per instance
    ops = structure.compute.ops_per_cycle
    ceil = (lambda x: x) if relaxed else straight_through_ceil if straight_through \
        else torch.ceil
    blocks = (lambda x, b: x / b) if relaxed else (
        (lambda x, b: straight_through_ceil(x / b) if b > 1 else x) if straight_through
        else _blocks)
    compute_cycles = ceil(c.temporal_steps.to(dtype) / ops)
    level_cycles, level_energy, capacity_excess = [], [], []
    for m, level in enumerate(structure.levels):
        r, f, u = (x[..., m, :].sum(-1) for x in per)                     # [B, L]
        bound = torch.zeros_like(r)
        bound = torch.maximum(bound, r / batch.read_bw[:, m, None])       # [B, L]
        bound = torch.maximum(bound, (f + u) / batch.write_bw[:, m, None])
        bound = torch.maximum(bound, (r + f + u) / batch.shared_bw[:, m, None])
        level_cycles.append(ceil(bound))
        blk = level.block_words
        e = (blocks(per[0][..., m, :], blk) * batch.read_pj[:, m, None, None]
             + blocks(per[1][..., m, :], blk) * batch.fill_pj[:, m, None, None]
             + blocks(per[2][..., m, :], blk) * batch.update_pj[:, m, None, None]
             ) * util[..., m, None]
        level_energy.append(e)                                            # [B, L, T]
        tile = c.tile[..., m, :].to(dtype)                                # [B, L, T]
        if level.partition_words is not None:
            cap = batch.partition_words[:, m].unsqueeze(1)                # [B, 1, T]
            excess = (tile - cap).clamp(min=0).sum(-1)
        elif level.capacity_words is not None:
            cap = batch.capacity_words[:, m, None]                        # [B, 1]
            excess = (tile.sum(-1) - cap / level.multiple_buffering).clamp(min=0)
        else:
            excess = torch.zeros_like(r)
        capacity_excess.append(excess)
    level_cycles = torch.stack(level_cycles, -1)                          # [B, L, M]
    cycles = torch.maximum(compute_cycles, level_cycles.amax(-1))
    level_energy = torch.stack(level_energy, -2)                          # [B, L, M, T]
    leak_pj = cycles.unsqueeze(-1) * batch.leak_pj.unsqueeze(1) * util   # [B, L, M]
    compute_pj = c.computes.to(dtype) * batch.mac_pj.unsqueeze(-1)       # [B, L]
    network_pj = (c.fanout_words.to(dtype) * batch.hop_pj.unsqueeze(1)).sum(-1)  # [B, L]
    energy = level_energy.sum((-1, -2)) + leak_pj.sum(-1) + compute_pj + network_pj
    excess = torch.stack(capacity_excess, -1)
    feasible = (excess.sum(-1) == 0) & spatial_feasible(batch, nests.factors, dims)
    area = hierarchy.area_mm2 if isinstance(hierarchy, Hierarchy) else batch.area_mm2
    return NestCost(c, cycles, level_cycles, compute_cycles, energy, level_energy, leak_pj,
                    compute_pj, network_pj, feasible, excess, area)
