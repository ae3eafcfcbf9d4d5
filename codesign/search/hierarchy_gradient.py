"""Gradient refinement of a hierarchy run's front: MGDA steps on the mapping factors.

`codesign.search.gradient` polishes the default space's designs; this module does the same
for a `HierarchySpace` run (``explore --space S --refine gradient`` with a ``base``). A
design's mappings are relaxed to ``theta``: ``log2`` of the temporal factor of every
(layer, dim) at every storage level except the outermost, which takes the rest
(``f_outer = T / prod f_inner`` with ``T`` the mapping's temporal product of that dim), so
the relaxed tiling always covers the layer. Spatial factors, loop orders, keep sets and the
hardware stay as they are. (The hardware sizes are not relaxed yet: that needs a
differentiable `HierarchySpace` decode, which this module does not have.)

The objectives are `nest_cost` with float factors and ``relaxed=True`` (no ``ceil`` of
cycles or vector blocks), the maximum of the compute and level cycle bounds replaced by
`smooth_max` as in v1; the reload rule stays the exact one (which loops count is fixed
between integer points, so the relaxed nest is smooth there). The step, the step lengths
and the archive merge are v1's: `mgda_direction`, `nearest_divisor`, `smooth_max` are
imported from `codesign.search.gradient`. `project` picks, innermost level first, the
divisor of what is left nearest to each relaxed factor; a layer whose projected tiles do
not fit its design keeps its old mapping, so every candidate is a valid design.

Shapes: ``B`` designs, ``L`` layers, ``F`` factor slots, ``M`` storage levels, ``D`` dims,
``K`` objectives, ``n = L * (M - 1) * D`` relaxed variables, ``T`` step lengths.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from codesign.hierarchy.model import nest_cost
from codesign.hierarchy.nest import NestBatch
from codesign.search.gradient import (
    DEFAULT_LENGTHS,
    DEFAULT_SMOOTH_P,
    DEFAULT_STEPS,
    RefineStats,
    _snap,
    accept_step,
    mgda_direction,
    nearest_divisor,
    smooth_max,
)

__all__ = ["NestFrame", "nest_gradients", "project_nests", "refine_hierarchy", "relax_nests",
           "relaxed_nest_objectives", "unrelax_nests"]


@dataclass(frozen=True)
class NestFrame:
    """What stays discrete while ``theta`` moves.

    Shape:
        factors: ``[B, L, F, D]`` int64 factors of the designs (spatial slots are kept).
        total: ``[B, L, D]`` int64 product of each dim's temporal factors.
        free: ``[B, n]`` bool: variables a step may move (a dim with ``total`` 1 stays).
        tslots: each storage level's temporal slot, outermost first.
    """

    factors: torch.Tensor
    total: torch.Tensor
    free: torch.Tensor
    tslots: tuple[int, ...]


def relax_nests(factors: torch.Tensor, tslots: Sequence[int]) -> tuple[torch.Tensor, NestFrame]:
    """Integer mappings to ``theta`` (log2 inner temporal factors) and their frame.

    Shape: factors ``[B, L, F, D]`` int64; returns theta ``[B, n]`` float64 and a frame.
    """
    tslots = tuple(tslots)
    inner = factors[..., list(tslots[1:]), :].to(torch.float64)           # [B, L, M-1, D]
    total = factors[..., list(tslots), :].prod(-2)                        # [B, L, D]
    free = (total > 1).unsqueeze(-2).expand_as(inner).flatten(1)
    return torch.log2(inner).flatten(1), NestFrame(factors, total, free, tslots)


def unrelax_nests(theta: torch.Tensor, frame: NestFrame) -> torch.Tensor:
    """``theta`` to float factors ``[B, L, F, D]`` (differentiable; the outermost level
    takes the rest of each dim's temporal product)."""
    n_b, n_l, n_f, n_d = frame.factors.shape
    inner = _snap(torch.exp2(theta.reshape(n_b, n_l, len(frame.tslots) - 1, n_d)))
    outer = _snap(frame.total.to(theta.dtype) / inner.prod(-2))          # [B, L, D]
    fixed = frame.factors.to(theta.dtype)
    rows = []
    for s in range(n_f):   # slots, not designs
        if s == frame.tslots[0]:
            rows.append(outer)
        elif s in frame.tslots:
            rows.append(inner[..., frame.tslots.index(s) - 1, :])
        else:
            rows.append(fixed[..., s, :])
    return torch.stack(rows, dim=-2)


def relaxed_nest_objectives(evaluator, designs, factors: torch.Tensor, order: torch.Tensor,
                            keep: torch.Tensor, smooth_p: float | None = DEFAULT_SMOOTH_P
                            ) -> torch.Tensor:
    """Natural logs of the run's objectives of float mappings (`nest_cost` relaxed, the
    cycle bounds' maximum smoothed with ``smooth_p``; leakage, linear in cycles, follows).

    Shape: factors ``[B, L, F, D]`` float; order ``[B, L, M, D]``; keep ``[B, L, M, T]``;
    returns ``[B, K]``.
    """
    ms = evaluator.mapspace
    cost = nest_cost(designs, NestBatch(factors, order, keep), ms.stride, ms.dilation,
                     evaluator.rules, ms.dims, relaxed=True)
    cycles, energy_pj = cost.cycles, cost.energy_pj                      # [B, L]
    if smooth_p is not None:
        soft = smooth_max(cost.compute_cycles, *cost.level_cycles.unbind(-1), p=smooth_p)
        leak_per_cycle = cost.leak_pj.sum(-1) / cycles.clamp(min=1e-300)
        energy_pj = energy_pj + (soft - cycles) * leak_per_cycle
        cycles = soft
    w = evaluator.counts                                                  # [L]
    latency_s = (cycles * w).sum(-1) / (evaluator.structure.clock_mhz * 1e6)
    energy_j = (energy_pj * w).sum(-1) * 1e-12
    area = torch.as_tensor(cost.area_mm2, dtype=torch.float64,
                           device=factors.device).expand_as(energy_j)
    named = {"latency": latency_s, "energy": energy_j, "area": area,
             "edp": energy_j * latency_s, "power": energy_j / latency_s}
    return torch.log(torch.stack([named[n] for n in evaluator.objectives], dim=-1))


def nest_gradients(evaluator, designs, theta: torch.Tensor, frame: NestFrame,
                   order: torch.Tensor, keep: torch.Tensor,
                   smooth_p: float | None = DEFAULT_SMOOTH_P
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Relaxed log objectives and their gradients in ``theta`` (one forward, K backward);
    fixed variables and non-finite designs get zero gradients.

    Shape: theta ``[B, n]``; returns values ``[B, K]`` and gradients ``[B, K, n]``.
    """
    with torch.enable_grad():
        x = theta.detach().clone().requires_grad_(True)
        values = relaxed_nest_objectives(evaluator, designs, unrelax_nests(x, frame), order,
                                         keep, smooth_p)
        grads = []
        for k in range(values.shape[1]):
            (g,) = torch.autograd.grad(values[:, k].sum(), x, retain_graph=True,
                                       allow_unused=True)
            grads.append(torch.zeros_like(x) if g is None else g)
    grads = torch.stack(grads, dim=1) * frame.free.unsqueeze(1)          # [B, K, n]
    ok = torch.isfinite(grads).flatten(1).all(-1) & torch.isfinite(values).all(-1)
    return values.detach(), torch.where(ok[:, None, None], grads, torch.zeros_like(grads))


def project_nests(theta: torch.Tensor, frame: NestFrame) -> torch.Tensor:
    """The nearest integer mappings: innermost level first, the divisor of what is left of
    each dim's temporal product nearest (log distance) to its relaxed factor; the
    outermost level takes the rest, so the product (and coverage) is the parent's.

    Shape: theta ``[B, n]``; returns factors ``[B, L, F, D]`` int64.
    """
    n_b, n_l, _, n_d = frame.factors.shape
    inner = torch.exp2(theta.detach().reshape(n_b, n_l, len(frame.tslots) - 1, n_d))
    rest = frame.total
    out = frame.factors.clone()
    for j in range(len(frame.tslots) - 1, 0, -1):   # levels, innermost first
        f = nearest_divisor(rest, inner[..., j - 1, :])
        out[..., frame.tslots[j], :] = f
        rest = rest // f
    out[..., frame.tslots[0], :] = rest
    return out


def _repeat(x: np.ndarray, n: int) -> np.ndarray:
    return np.repeat(x, n, axis=0)


def refine_hierarchy(evaluator, archive, *, n_steps: int = DEFAULT_STEPS,
                     lengths: Sequence[float] = DEFAULT_LENGTHS,
                     smooth_p: float | None = DEFAULT_SMOOTH_P,
                     time_limit_s: float | None = None, stationary_tol: float = 1e-6,
                     normalize: bool = True) -> RefineStats:
    """`codesign.search.gradient.refine` for a `HierarchyEvaluator`'s archive (in place):
    MGDA direction on the relaxed mappings, scaled so the largest-moving factor moves one
    doubling, every step length tried, projected (`project_nests`; a layer whose tiles no
    longer fit keeps its mapping), re-costed exactly in one batch, merged; a design goes on
    from its longest candidate that dominates it. Objectives the mappings do not move (area)
    are left out of the MGDA direction (they stay equal along a step)."""
    started = time.perf_counter()
    dev = evaluator.device
    lengths_t = torch.tensor(list(lengths), dtype=torch.float64, device=dev)   # [T]
    n_t = lengths_t.shape[0]
    tslots = evaluator.structure.temporal_slots
    hw_genes, factors, order = archive.hw_genes, archive.factors, archive.order
    current = archive.objectives
    n_evals = n_added = steps = 0
    for _ in range(n_steps):
        if hw_genes.shape[0] == 0:
            break
        if time_limit_s is not None and time.perf_counter() - started >= time_limit_s:
            break
        steps += 1
        designs, nests, _ = evaluator.cost(hw_genes, factors, order)
        keep = nests.keep
        theta, frame = relax_nests(nests.factors, tslots)
        _, grads = nest_gradients(evaluator, designs, theta, frame, nests.order, keep,
                                  smooth_p)
        # an objective the mappings cannot move (area: the hardware is fixed) would make
        # every design Pareto-stationary; it is constant along any step, so MGDA skips it
        varies = grads.norm(dim=-1).amax(0) > 0                           # [K]
        direction = mgda_direction(grads[:, varies], normalize)           # [B, n]
        size = direction.abs().amax(-1, keepdim=True)                     # [B, 1]
        moving = (size.squeeze(-1) > stationary_tol).cpu().numpy()
        unit = direction / size.clamp(min=1e-300)
        cand = (theta.unsqueeze(1) + lengths_t[None, :, None] * unit.unsqueeze(1))
        cand_frame = NestFrame(frame.factors.repeat_interleave(n_t, 0),
                               frame.total.repeat_interleave(n_t, 0),
                               frame.free.repeat_interleave(n_t, 0), tslots)
        new = project_nests(cand.flatten(0, 1), cand_frame)              # [B*T, L, F, D]
        new_genes, new_order = _repeat(hw_genes, n_t), _repeat(order, n_t)
        _, _, trial = evaluator.cost(new_genes, new.cpu().numpy(), new_order)
        fits = trial.layer_feasible.unsqueeze(-1).unsqueeze(-1)           # [B*T, L, 1, 1]
        new = torch.where(fits, new, cand_frame.factors).cpu().numpy()
        _, _, result = evaluator.cost(new_genes, new, new_order)
        objs, _, feasible = evaluator.outputs(result)
        objs, feasible = objs.cpu().numpy(), feasible.cpu().numpy()
        n_evals += int(new_genes.shape[0])
        added, rows = accept_step(archive, objs, feasible, moving, current, new_genes,
                                  new, new_order)
        n_added += added
        if rows is None:
            break
        hw_genes, factors = new_genes[rows], new[rows]
        order, current = new_order[rows], objs[rows]
    return RefineStats(n_evals=n_evals, n_steps=steps, n_added=n_added,
                       wall_s=time.perf_counter() - started)
