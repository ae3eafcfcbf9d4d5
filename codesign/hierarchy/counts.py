"""Per level and tensor: reads, fills and updates of a loop nest on any `Hierarchy`.

Timeloop's names and, by default, its counting rules (docs/COST_MODEL.md, "Hierarchies"):

- the tile of tensor t at level m is the footprint of the box of every factor at or inside
  m (m's own temporal loops, the levels and fan-outs below it), per instance;
- a level's tile is refilled when a loop above it steps: walk the temporal loops above m
  (every level's, outer levels first, each in its own order) from the innermost outward,
  skip loops that do not index t (or have factor 1) until the first one that does; from
  there every loop multiplies (`reloads`). With ``halo`` only the new elements of an input
  tile are filled when the innermost such loop slides a window (Timeloop's deltas);
- fills(t, m) = reloads x tile x utilized instances; an output element's first visit is
  not a fill (nothing to fetch), so fills(O, m) subtract the outputs each instance owns;
- a level serves its child (the next level inward that keeps t, or the compute units):
  reads(t, m) are the child's fills seen from the parent, a word multicast to several
  children read once (only identical data, grouped per fan-out: children whose windows
  merely overlap each read their own; `_distinct_shifts`); updates(O, m) are the child's
  drains, partial sums of one output from several children reduced on the way (one
  update); reads(O, m) = updates - owned (the first update of an output reads nothing);
- the compute units take one operand per temporal step: the innermost keeper of W and I
  is read once per compute and of O updated once per compute, less what a fan-out between
  them multicasts (or reduces).

Shapes: ``B`` designs, ``L`` layers, ``F`` slots, ``M`` levels, ``D = 8`` dims, ``T = 3``.
Integer factors count in float64 (exact below 2**53) and return int64.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from codesign.hierarchy.levels import Hierarchy
from codesign.workload.layer import DIMS, RELEVANT_DIMS, TENSORS

__all__ = ["TIMELOOP", "V1", "CountingRules", "NestCounts", "nest_counts"]

_N, _G, _K, _C, _P, _Q, _R, _S = range(len(DIMS))
_W, _I, _O = range(len(TENSORS))
_RELEVANCE = tuple(tuple(d in RELEVANT_DIMS[t] for d in DIMS) for t in TENSORS)


@dataclass(frozen=True)
class CountingRules:
    """Where counting conventions differ between tools, the choice is an option.

    ``halo``: an input tile that slides along a window (P with R, Q with S) fetches only
    its new elements (Timeloop; v1: the whole tile again).
    ``union_windows``: a parent serves its children the bounding box of their tiles, so
    overlapping input windows of neighbouring children are read once (v1's
    ``tile(t, array)``); Timeloop reads each child's window (identical ones once).
    ``useful_operands``: the compute units read (and update) once per *useful* MAC, the
    layer's own iterations (v1); Timeloop counts every iteration of the ceil-padded nest.
    """

    halo: bool = True
    union_windows: bool = False
    useful_operands: bool = False


TIMELOOP = CountingRules()
#: DESIGN.md's v1 rules (see `codesign.hierarchy.v1` for the v1 access table).
V1 = CountingRules(halo=False, union_windows=True, useful_operands=True)


@dataclass(frozen=True)
class NestCounts:
    """Counts summed over all utilized instances.

    Shape:
        reads, fills, updates: ``[B, L, M, T]``.
        tile: ``[B, L, M, T]`` words of each tensor one instance holds (0 where bypassed).
        utilized: ``[B, L, M]`` instances the mapping uses.
        keep: ``[B, L, M, T]`` bool.
        computes: ``[B, L]`` iterations of the (padded) nest.
        temporal_steps: ``[B, L]`` product of every temporal factor (cycles at one op/cycle).
    """

    reads: torch.Tensor
    fills: torch.Tensor
    updates: torch.Tensor
    tile: torch.Tensor
    utilized: torch.Tensor
    keep: torch.Tensor
    computes: torch.Tensor
    temporal_steps: torch.Tensor


def _footprints(ext: torch.Tensor, stride: torch.Tensor, dilation: torch.Tensor,
                ) -> list[torch.Tensor]:
    """W, I, O words of boxes ``ext`` ``[..., D]`` (inputs: the bounding box)."""
    e = ext.unbind(-1)
    h = (e[_P] - 1) * stride[..., 0] + (e[_R] - 1) * dilation[..., 0] + 1
    w = (e[_Q] - 1) * stride[..., 1] + (e[_S] - 1) * dilation[..., 1] + 1
    return [e[_G] * e[_K] * e[_C] * e[_R] * e[_S],
            e[_N] * e[_G] * e[_C] * h * w,
            e[_N] * e[_G] * e[_K] * e[_P] * e[_Q]]


def _loops_above(f: torch.Tensor, order: torch.Tensor, hierarchy: Hierarchy, m: int
                 ) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Factors and dim indices of every temporal loop above level ``m``, outer -> inner.

    Shape: returns two ``[B, L, K]`` tensors (K = m * D), or None at the outermost level.
    """
    if m == 0:
        return None
    facs, dims = [], []
    for j in range(m):
        slot = hierarchy.temporal_slots[j]
        facs.append(f[..., slot, :].gather(-1, order[..., j, :]))
        dims.append(order[..., j, :])
    return torch.cat(facs, -1), torch.cat(dims, -1)


def _fetches(loops, t: int, tile_ext: torch.Tensor, stride, dilation, rules: CountingRules
             ) -> torch.Tensor:
    """Words tensor ``t`` brings into one instance whose tile is the box ``tile_ext``
    ``[B, L, D]`` over the whole run: reloads x tile, or with ``halo`` the first tile plus
    the new elements of every slide of the innermost relevant loop.
    """
    tile = _footprints(tile_ext, stride, dilation)[t]
    if loops is None:
        return tile
    fac, dim = loops                                                     # [B, L, K]
    rel = torch.tensor(_RELEVANCE[t], device=fac.device)[dim]            # [B, L, K]
    active = rel & (fac > 1)
    k = fac.shape[-1]
    found = active.any(-1)
    last = (k - 1) - active.flip(-1).to(torch.int8).argmax(-1)          # [B, L]
    prefix = fac.cumprod(-1)
    reloads = torch.where(found, prefix.gather(-1, last.unsqueeze(-1)).squeeze(-1), 1.0)
    fetched = reloads * tile
    if rules.halo and t == _I:
        # When the innermost loop above (factor > 1) walks P or R, the window along H
        # moves and only new rows come in (Q, S: along W); it steps `n` times in each of
        # `reloads / n` runs, and each run starts with a whole tile. Any other innermost
        # loop (an irrelevant one, or C) refetches whole tiles (06-mapper-convlayer-eyeriss:
        # the GLB under DRAM's M loop gets no halo credit; the ifmap spad under P does).
        innermost = (k - 1) - (fac > 1).flip(-1).to(torch.int8).argmax(-1)
        found = found & (innermost == last)
        n = torch.where(found, fac.gather(-1, last.unsqueeze(-1)).squeeze(-1), 1.0)
        d = dim.gather(-1, last.unsqueeze(-1)).squeeze(-1)
        e = tile_ext.unbind(-1)
        h = (e[_P] - 1) * stride[..., 0] + (e[_R] - 1) * dilation[..., 0] + 1
        w = (e[_Q] - 1) * stride[..., 1] + (e[_S] - 1) * dilation[..., 1] + 1
        rest = e[_N] * e[_G] * e[_C]
        step = torch.zeros_like(tile)
        step = torch.where(d == _P, e[_P] * stride[..., 0], step)
        step = torch.where(d == _R, e[_R] * dilation[..., 0], step)
        step = torch.where(d == _Q, e[_Q] * stride[..., 1], step)
        step = torch.where(d == _S, e[_S] * dilation[..., 1], step)
        along_h = (d == _P) | (d == _R)
        along_w = (d == _Q) | (d == _S)
        new_h = torch.minimum(step, h) * w * rest
        new_w = torch.minimum(step, w) * h * rest
        new = torch.where(along_h, new_h, torch.where(along_w, new_w, tile))
        slide = found & (along_h | along_w)
        runs = reloads / n
        fetched = torch.where(slide, runs * (tile + (n - 1) * new), fetched)
    return fetched


def _distinct_shifts(t: int, fac: torch.Tensor, child: torch.Tensor, stride: torch.Tensor,
                     dilation: torch.Tensor, exact: bool) -> torch.Tensor:
    """Children of one fan-out whose tiles of ``t`` differ (identical tiles multicast, or
    for outputs reduce): the fan-out's factors of the dims t uses, except that an input
    window unrolled on both an output dim and its filter dim (P and R) can coincide:
    child (p, r) sits at ``p * A + r * B`` rows with A = P extent x stride and B = R extent
    x dilation, and with g = gcd(A, B), a = A / g, b = B / g, there are
    ``Pf * Rf - max(Pf - b, 0) * max(Rf - a, 0)`` distinct offsets (a pair (p, r) repeats
    (p - b, r + a) exactly when both exist).

    Shape: fac, child: ``[B, L, D]`` (the fan-out's X*Y factors, its children's box);
    returns ``[B, L]``.
    """
    e = fac.unbind(-1)
    if t == _W:
        return e[_G] * e[_K] * e[_C] * e[_R] * e[_S]
    if t == _O:
        return e[_N] * e[_G] * e[_K] * e[_P] * e[_Q]
    x = child.unbind(-1)

    def window(n_out, n_filt, ext_out, ext_filt, step_out, step_filt):
        if not exact:
            return n_out * n_filt
        a_ = (ext_out * step_out).to(torch.int64)
        b_ = (ext_filt * step_filt).to(torch.int64)
        g = torch.gcd(a_, b_)
        a_, b_ = (a_ // g).to(n_out.dtype), (b_ // g).to(n_out.dtype)
        return n_out * n_filt - (n_out - b_).clamp(min=0) * (n_filt - a_).clamp(min=0)

    rows = window(e[_P], e[_R], x[_P], x[_R], stride[..., 0], dilation[..., 0])
    cols = window(e[_Q], e[_S], x[_Q], x[_S], stride[..., 1], dilation[..., 1])
    return e[_N] * e[_G] * e[_C] * rows * cols


def nest_counts(hierarchy: Hierarchy, factors: torch.Tensor, order: torch.Tensor,
                keep: torch.Tensor, stride: torch.Tensor, dilation: torch.Tensor,
                rules: CountingRules = TIMELOOP, useful_macs: torch.Tensor | None = None
                ) -> NestCounts:
    """Reads, fills and updates per level and tensor (rules in the module docstring).

    Shape:
        factors: ``[B, L, F, D]``; order: ``[B, L, M, D]``; keep: ``[B, L, M, T]`` bool;
        stride, dilation: ``[L, 2]``; useful_macs: ``[L]`` (needed by
        ``rules.useful_operands``).
    """
    if rules.useful_operands and useful_macs is None:
        raise ValueError("rules.useful_operands needs useful_macs")
    exact = not factors.is_floating_point()
    f = factors.to(torch.float64) if exact else factors
    stride = stride.to(f.dtype)
    dilation = dilation.to(f.dtype)
    n_m, n_t = len(hierarchy.levels), len(TENSORS)
    tslots = hierarchy.temporal_slots
    spatial = set(hierarchy.spatial_slots)
    # suffix products: the box at or inside each slot
    ext = f.flip(-2).cumprod(-2).flip(-2)                                # [B, L, F, D]
    whole = ext[..., 0, :]                                               # [B, L, D]
    computes = whole.prod(-1)                                            # [B, L]
    steps = torch.stack([f[..., s, :] for s in tslots], -2).prod(-1).prod(-1)

    def spatial_between(lo: int, hi: int) -> torch.Tensor:
        """``[B, L, D]`` product of the spatial factors in slots lo < s < hi."""
        out = torch.ones_like(whole)
        for s in range(lo + 1, hi):
            if s in spatial:
                out = out * f[..., s, :]
        return out

    n_slots = len(hierarchy.slots)
    ones = torch.ones_like(whole)
    # per fan-out (its X slot index): factors of both axes, and the box its children hold
    fans = {s: (f[..., s, :] * f[..., s + 1, :],
                ext[..., s + 2, :] if s + 2 < n_slots else ones)
            for s in hierarchy.spatial_slots if hierarchy.slots[s].axis == "X"}

    def distinct(t: int, lo: int, hi: int) -> torch.Tensor:
        """``[B, L]`` children under one instance of the level at slot ``lo`` that hold
        different data of ``t``, for the fan-outs in slots lo < s < hi: per fan-out the
        distinct shifts of t's tile (`_distinct_shifts`), multiplied across fan-outs."""
        out = torch.ones_like(computes)
        for s, (fac, child) in fans.items():
            if lo < s < hi:
                out = out * _distinct_shifts(t, fac, child, stride, dilation, exact)
        return out

    above = [spatial_between(-1, tslots[m]) for m in range(n_m)]        # [B, L, D] each
    utilized = torch.stack([a.prod(-1) for a in above], -1)             # [B, L, M]
    box = [ext[..., tslots[m], :] for m in range(n_m)]
    tile = torch.stack([torch.stack(_footprints(b, stride, dilation), -1) for b in box], -2)
    tile = tile * keep
    # outputs one instance of level m owns over the run (its spatial position fixed)
    owned = [_footprints(whole / above[m], stride, dilation)[_O] for m in range(n_m)]
    loops = [_loops_above(f, order, hierarchy, m) for m in range(n_m)]

    zero = torch.zeros_like(computes)
    reads = [[zero] * n_t for _ in range(n_m)]
    fills = [[zero] * n_t for _ in range(n_m)]
    updates = [[zero] * n_t for _ in range(n_m)]
    kept = keep.unbind(-2)                                               # M x [B, L, T]
    for t in range(n_t):
        k = [kept[m][..., t] for m in range(n_m)]
        fetched = [_fetches(loops[m], t, box[m], stride, dilation, rules) for m in range(n_m)]
        for m in range(n_m):
            util = utilized[..., m]
            if m > 0:
                own = owned[m] if t == _O else 0.0
                fills[m][t] = torch.where(k[m], (fetched[m] - own) * util, zero)
            # the child of m for t: the next level inward that keeps t, else the compute
            # units, which take one operand per temporal step
            none_between = torch.ones_like(k[m])
            serve = zero
            for c in range(m + 1, n_m):
                is_child = k[m] & k[c] & none_between
                if rules.union_windows:
                    union = box[c] * spatial_between(tslots[m], tslots[c])
                    words = _fetches(loops[c], t, union, stride, dilation, rules) * util
                else:
                    words = fetched[c] * distinct(t, tslots[m], tslots[c]) * util
                serve = torch.where(is_child, words, serve)
                none_between = none_between & ~k[c]
            to_compute = k[m] & none_between
            if rules.useful_operands:
                operands = useful_macs.to(f.dtype).expand_as(computes)
            else:
                operands = steps * distinct(t, tslots[m], n_slots) * util
            serve = torch.where(to_compute, operands, serve)
            if t == _O:
                updates[m][t] = serve
                reads[m][t] = torch.where(k[m], serve - owned[m] * util, zero)
            else:
                reads[m][t] = serve

    def stack(rows):
        out = torch.stack([torch.stack(r, -1) for r in rows], -2)        # [B, L, M, T]
        return out.round().to(torch.int64) if exact else out

    cast = (lambda x: x.round().to(torch.int64)) if exact else (lambda x: x)
    return NestCounts(reads=stack(reads), fills=stack(fills), updates=stack(updates),
                      tile=cast(tile), utilized=cast(utilized), keep=keep,
                      computes=cast(computes), temporal_steps=cast(steps))
