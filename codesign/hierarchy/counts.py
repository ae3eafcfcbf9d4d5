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

from codesign.hierarchy.levels import FanOut, Hierarchy
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
        fanout_words: ``[B, L, nF]`` words crossing each fan-out (`Hierarchy.fanouts`), all
            tensors: received by the children below it (a multicast word once per child),
            plus outputs drained back up.
    """

    reads: torch.Tensor
    fills: torch.Tensor
    updates: torch.Tensor
    tile: torch.Tensor
    utilized: torch.Tensor
    keep: torch.Tensor
    computes: torch.Tensor
    temporal_steps: torch.Tensor
    fanout_words: torch.Tensor


def _footprints(e, stride, dilation) -> list[torch.Tensor]:
    """W, I, O words of boxes with per-dim extents ``e`` (D tensors ``[N]``; inputs: the
    bounding box). ``stride``, ``dilation``: pairs of ``[N]`` tensors."""
    h = (e[_P] - 1) * stride[0] + (e[_R] - 1) * dilation[0] + 1
    w = (e[_Q] - 1) * stride[1] + (e[_S] - 1) * dilation[1] + 1
    return [e[_G] * e[_K] * e[_C] * e[_R] * e[_S],
            e[_N] * e[_G] * e[_C] * h * w,
            e[_N] * e[_G] * e[_K] * e[_P] * e[_Q]]


def _pick(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``x[index[n], n]`` for ``x [K, N]`` and ``index [N]``."""
    return x.gather(0, index.unsqueeze(0)).squeeze(0)


def _distinct_shifts(t: int, fac, child, stride, dilation, exact: bool,
                     fanout: FanOut | None = None) -> torch.Tensor:
    """Children of one fan-out whose tiles of ``t`` differ (identical tiles multicast, or
    for outputs reduce): the fan-out's factors of the dims t uses, except that an input
    window unrolled on both an output dim and its filter dim (P and R) can coincide:
    child (p, r) sits at ``p * A + r * B`` rows with A = P extent x stride and B = R extent
    x dilation, and with g = gcd(A, B), a = A / g, b = B / g, there are
    ``Pf * Rf - max(Pf - b, 0) * max(Rf - a, 0)`` distinct offsets (a pair (p, r) repeats
    (p - b, r + a) exactly when both exist).

    A fan-out that does not multicast (for W, I) or reduce (for O) counts every child.

    Shape: fac, child: D tensors ``[N]`` (the fan-out's X*Y factors, its children's box);
    returns ``[N]``.
    """
    e = fac
    if fanout is not None and not (fanout.reduce if t == _O else fanout.multicast):
        return torch.stack(list(e)).prod(0)    # every child reads (or updates) its own
    if t == _W:
        return e[_G] * e[_K] * e[_C] * e[_R] * e[_S]
    if t == _O:
        return e[_N] * e[_G] * e[_K] * e[_P] * e[_Q]

    def window(n_out, n_filt, ext_out, ext_filt, step_out, step_filt):
        if not exact:
            return n_out * n_filt
        a_ = (ext_out * step_out).to(torch.int64)
        b_ = (ext_filt * step_filt).to(torch.int64)
        g = torch.gcd(a_, b_)
        a_, b_ = (a_ // g).to(n_out.dtype), (b_ // g).to(n_out.dtype)
        return n_out * n_filt - (n_out - b_).clamp(min=0) * (n_filt - a_).clamp(min=0)

    rows = window(e[_P], e[_R], child[_P], child[_R], stride[0], dilation[0])
    cols = window(e[_Q], e[_S], child[_Q], child[_S], stride[1], dilation[1])
    return e[_N] * e[_G] * e[_C] * rows * cols


class _Walk:
    """The temporal loops of every level, outer levels first, each in its order, as one
    sequence ``[M * D, N]``; the loops above level m are its first ``m * D`` rows.

    One prefix product serves every level's reload count, and a running "last loop so far
    that matters" (`last`) finds the innermost relevant loop above every level at once.
    """

    def __init__(self, f, order, tslots, n_m: int, ext) -> None:
        d = len(DIMS)
        n_f = len(ext)
        # [M, D, N] the box just inside each level's temporal slot
        self._inner = torch.stack([ext[tslots[j] + 1] if tslots[j] + 1 < n_f
                                   else torch.ones_like(ext[0]) for j in range(n_m)])
        fac = torch.cat([f[tslots[j]].gather(0, order[j]) for j in range(n_m)])  # [MD, N]
        self.dim = torch.cat([order[j] for j in range(n_m)])                      # [MD, N]
        self.fac = fac
        if fac.requires_grad:     # a relaxation being differentiated
            self.prefix = fac.cumprod(0)
        else:   # row by row: twice as fast as cumprod(0) on CPU, the same values
            self.prefix = torch.empty_like(fac)
            self.prefix[0] = fac[0]
            for k in range(1, fac.shape[0]):
                torch.mul(self.prefix[k - 1], fac[k], out=self.prefix[k])
        # 1 + row index, small ints: the running maxima work on int16, not int64
        self._pos = torch.arange(1, fac.shape[0] + 1, device=fac.device,
                                 dtype=torch.int16).unsqueeze(1)
        self.d, self.n_m = d, n_m
        busy = fac > 1
        # bit t set where the loop has factor > 1 and indexes tensor t (one byte per loop)
        bits = torch.tensor([sum(1 << t for t in range(len(TENSORS)) if _RELEVANCE[t][k])
                             for k in range(d)], dtype=torch.int16, device=fac.device)
        self._code = bits[self.dim] * busy
        self.any_last = self.last_of(busy.to(torch.int16))

    def inner_extent(self, at: torch.Tensor) -> torch.Tensor:
        """``[D, N]``: the box just inside the level that loop row ``at`` ``[N]`` belongs
        to (the extent one step of that loop moves)."""
        level = torch.div(at, self.d, rounding_mode="floor")              # [N]
        index = level.view(1, 1, -1).expand(1, *self._inner.shape[1:])
        return self._inner.gather(0, index).squeeze(0)

    def last(self, t: int) -> list[torch.Tensor]:
        """``[M]`` x ``[N]``: index of the last loop above each level that indexes tensor
        ``t`` and has factor > 1 (-1: none)."""
        return self.last_of((self._code >> t) & 1)

    def last_of(self, active: torch.Tensor) -> list[torch.Tensor]:
        """`last` for any 0/1 ``[MD, N]`` int16 mask: one max per level's block of D
        loops, carried outward to inward."""
        marked = active * self._pos
        out = [torch.zeros_like(marked[0])]
        for j in range(self.n_m - 1):
            out.append(torch.maximum(out[-1], marked[j * self.d:(j + 1) * self.d].amax(0)))
        return [x.to(torch.int64) - 1 for x in out]


def _fetched(walk: _Walk, last_rel: torch.Tensor, t: int, m: int, box, stride, dilation,
             rules: CountingRules) -> torch.Tensor:
    """Words tensor ``t`` brings into one instance of level ``m`` whose tile is ``box`` (D
    tensors ``[N]``) over the whole run: reloads x tile, or with ``halo`` the first tile
    plus the new elements of every slide of the innermost loop (see `nest_counts`).
    ``last_rel``: `_Walk.last` of the loops relevant to t.
    """
    tile = _footprints(box, stride, dilation)[t]
    if m == 0:
        return tile
    last = last_rel[m]                                                    # [N]
    found = last >= 0
    at = last.clamp(min=0)
    reloads = torch.where(found, _pick(walk.prefix, at), 1.0)
    fetched = reloads * tile
    if rules.halo and t == _I:
        # When the innermost loop above (factor > 1) walks P or R, the window along H
        # moves and only new rows come in (Q, S: along W); it steps `n` times in each of
        # `reloads / n` runs, and each run starts with a whole tile. Any other innermost
        # loop (an irrelevant one, or C) refetches whole tiles (06-mapper-convlayer-eyeriss:
        # the GLB under DRAM's M loop gets no halo credit; the ifmap spad under P does).
        slide = found & (walk.any_last[m] == last)
        n = torch.where(slide, _pick(walk.fac, at), 1.0)
        d = _pick(walk.dim, at)
        h = (box[_P] - 1) * stride[0] + (box[_R] - 1) * dilation[0] + 1
        w = (box[_Q] - 1) * stride[1] + (box[_S] - 1) * dilation[1] + 1
        rest = box[_N] * box[_G] * box[_C]
        # one step of the loop moves the window by the extent just inside the loop's own
        # level (the tile, times any fan-out between that level and m)
        inner = walk.inner_extent(at)                                     # D x [N]
        step = torch.where(d == _P, inner[_P] * stride[0],
               torch.where(d == _R, inner[_R] * dilation[0],
               torch.where(d == _Q, inner[_Q] * stride[1], inner[_S] * dilation[1])))
        along_h = (d == _P) | (d == _R)
        along_w = (d == _Q) | (d == _S)
        new = torch.where(along_h, torch.minimum(step, h) * w * rest,
                          torch.minimum(step, w) * h * rest)
        slide = slide & (along_h | along_w)
        fetched = torch.where(slide, reloads / n * (tile + (n - 1) * new), fetched)
    return fetched


def nest_counts(hierarchy: Hierarchy, factors: torch.Tensor, order: torch.Tensor,
                keep: torch.Tensor, stride: torch.Tensor, dilation: torch.Tensor,
                rules: CountingRules = TIMELOOP, useful_macs: torch.Tensor | None = None,
                as_float: bool = False) -> NestCounts:
    """Reads, fills and updates per level and tensor (rules in the module docstring).

    Computed in structure-of-arrays form: every (slot, dim) value of the batch is one
    contiguous ``[N]`` vector (N = B * L), and the loops run over levels, tensors and
    fan-outs only.

    Shape:
        factors: ``[B, L, F, D]``; order: ``[B, L, M, D]``; keep: ``[B, L, M, T]`` bool,
        or None for the hierarchy's own keep sets (then each level's child is known
        without looking at the batch, which is faster); stride, dilation: ``[L, 2]``;
        useful_macs: ``[L]`` (needed by ``rules.useful_operands``). Integer factors give
        int64 counts, or with ``as_float`` the same exact integers in float64 (what the
        cost model computes with; no casts).
    """
    if rules.useful_operands and useful_macs is None:
        raise ValueError("rules.useful_operands needs useful_macs")
    n_b, n_l = factors.shape[:2]
    n = n_b * n_l
    exact = not factors.is_floating_point()
    dtype = torch.float64 if exact else factors.dtype
    n_m, n_t, n_d = len(hierarchy.levels), len(TENSORS), len(DIMS)
    n_f = len(hierarchy.slots)
    tslots = hierarchy.temporal_slots
    spatial = set(hierarchy.spatial_slots)
    # [F, D, N] factors, [M, D, N] orders, [M, T, N] keep: contiguous per (slot, dim)
    # (free when the producer already stores them so: `codesign.cost.access_counts.soa_view`)
    f = factors.movedim((-2, -1), (0, 1)).reshape(n_f, n_d, n).to(dtype)
    o = order.movedim((-2, -1), (0, 1)).reshape(n_m, n_d, n)
    static = keep is None
    if static:   # the hierarchy's keep sets: the child of each level is known up front
        kp = torch.tensor(hierarchy.keep_mask, device=factors.device).unsqueeze(-1)
        keep = kp.squeeze(-1).expand(n_b, n_l, n_m, n_t)
    else:
        kp = keep.movedim((-2, -1), (0, 1)).reshape(n_m, n_t, n)
    st = stride.to(dtype).expand(n_b, n_l, 2).reshape(n, 2).T.contiguous()
    dl = dilation.to(dtype).expand(n_b, n_l, 2).reshape(n, 2).T.contiguous()
    st, dl = (st[0], st[1]), (dl[0], dl[1])
    # the box at or inside each slot (suffix products)
    ext = [None] * n_f
    ext[n_f - 1] = f[n_f - 1]
    for s in range(n_f - 2, -1, -1):
        ext[s] = ext[s + 1] * f[s]
    whole = ext[0]                                                       # [D, N]
    computes = whole.prod(0)
    steps = torch.stack([f[s] for s in tslots]).prod(0).prod(0)
    ones = torch.ones_like(whole)
    above, acc = [], ones                                    # spatial factors above level m
    for s in range(n_f):
        if s in spatial:
            acc = acc * f[s]
        elif s in tslots:
            above.append(acc)
    utilized = [a.prod(0) for a in above]                                # M x [N]
    box = [ext[tslots[m]] for m in range(n_m)]                           # M x [D, N]
    tiles = [_footprints(b, st, dl) for b in box]                        # M x T x [N]
    owned = [_footprints(whole / above[m], st, dl)[_O] for m in range(n_m)]
    walk = _Walk(f, o, tslots, n_m, ext)
    fans = [(s, f[s] * f[s + 1], ext[s + 2] if s + 2 < n_f else ones)
            for s in hierarchy.spatial_slots if hierarchy.slots[s].axis == "X"]

    def spatial_between(lo: int, hi: int) -> torch.Tensor:
        out = ones
        for s in range(lo + 1, hi):
            if s in spatial:
                out = out * f[s]
        return out

    zero = torch.zeros_like(computes)
    crossing = [zero] * len(fans)
    reads = [[zero] * n_t for _ in range(n_m)]
    fills = [[zero] * n_t for _ in range(n_m)]
    updates = [[zero] * n_t for _ in range(n_m)]
    def where(cond, a, b):
        if isinstance(cond, bool):
            return a if cond else b
        return torch.where(cond, a, b)

    for t in range(n_t):
        k = [bool(hierarchy.keep_mask[m][t]) if static else kp[m, t] for m in range(n_m)]
        last_rel = walk.last(t)
        fetched = [_fetched(walk, last_rel, t, m, box[m], st, dl, rules)
                   if k[m] is not False else None for m in range(n_m)]
        shifts = {s: _distinct_shifts(t, fac, child, st, dl, exact,
                                      hierarchy.nodes[hierarchy.slots[s].node])
                  for s, fac, child in fans}

        def distinct(lo: int, hi: int, t=t, shifts=shifts) -> torch.Tensor:
            out = None
            for s, value in shifts.items():
                if lo < s < hi:
                    out = value if out is None else out * value
            return out if out is not None else 1.0

        for m in range(n_m):
            if k[m] is False:
                continue
            util = utilized[m]
            if m > 0:
                own = owned[m] if t == _O else 0.0
                fills[m][t] = where(k[m], (fetched[m] - own) * util, zero)
            # the child of m for t: the next level inward that keeps t, else the compute
            # units, which take one operand per temporal step
            none_between = True
            serve = zero
            for c in range(m + 1, n_m):
                if k[c] is False:
                    continue
                is_child = k[m] & k[c] & none_between
                if rules.union_windows:
                    union = box[c] * spatial_between(tslots[m], tslots[c])
                    words = _fetched(walk, last_rel, t, c, union, st, dl, rules) * util
                else:
                    words = fetched[c] * distinct(tslots[m], tslots[c]) * util
                serve = where(is_child, words, serve)
                none_between = none_between & ~k[c] if not isinstance(k[c], bool) else False
                if none_between is False:
                    break
            if none_between is not False:
                if rules.useful_operands:
                    operands = useful_macs.to(dtype).expand(n_b, n_l).reshape(n)
                else:
                    operands = steps * distinct(tslots[m], n_f) * util
                serve = where(k[m] & none_between, operands, serve)
            if t == _O:
                updates[m][t] = serve
                reads[m][t] = where(k[m], serve - owned[m] * util, zero)
            else:
                reads[m][t] = serve
        # words of t crossing each fan-out: what the first level below it that keeps t
        # receives (fills; outputs also drain back up), or the compute units' operands
        for i, (s, _, _) in enumerate(fans):
            none_above = True
            words = zero
            for c in range(n_m):
                if tslots[c] < s or k[c] is False:
                    continue
                got = fills[c][t] + (fetched[c] * utilized[c] if t == _O else 0.0)
                words = where(k[c] & none_above, got, words)
                none_above = False if isinstance(k[c], bool) else none_above & ~k[c]
                if none_above is False:
                    break
            if none_above is not False:
                words = where(none_above, computes, words)
            crossing[i] = crossing[i] + words

    def out(x: torch.Tensor, *shape: int) -> torch.Tensor:
        # [*shape, N] storage seen as [B, L, *shape]; float64 values here are exact
        # integers (sums and products of integers, divisions that divide), so a plain cast
        x = x.reshape(*shape, n_b, n_l)
        x = x.movedim(tuple(range(len(shape))), tuple(range(-len(shape), 0)))
        return x.to(torch.int64) if exact and not as_float else x

    def mt(rows) -> torch.Tensor:
        return torch.stack([torch.stack(r) for r in rows])               # [M, T, N]

    tile = mt(tiles) * kp
    return NestCounts(reads=out(mt(reads), n_m, n_t), fills=out(mt(fills), n_m, n_t),
                      updates=out(mt(updates), n_m, n_t), tile=out(tile, n_m, n_t),
                      utilized=out(torch.stack(utilized), n_m), keep=keep,
                      computes=out(computes), temporal_steps=out(steps),
                      fanout_words=out(torch.stack(crossing) if crossing else
                                       zero.expand(0, n), len(fans)))
