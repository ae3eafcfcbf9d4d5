"""A deliberately naive simulator of a loop nest on a `Hierarchy`: the oracle for `nest_counts`.

It walks the nest. For every storage level it enumerates every time step (the temporal
loops above the level, lexicographically), every instance (the spatial coordinates of the
fan-outs above it) and every iteration point inside the level, takes the bounding box of
the tensor coordinates those points touch, and counts by comparing consecutive boxes and by
grouping children whose boxes are identical. No footprint, reload or halo formula appears
here; the rules below are the whole of it (Timeloop's semantics, docs/COST_MODEL.md,
"Hierarchies"):

- the nest: slots outer -> inner as `Hierarchy.slots`; the index of dim d of an iteration is
  ``sum_s i[s, d] * prod(f[s', d] for s' > s)`` (mixed radix, ceil-padded: nothing clipped);
- the tile of t at level m, for one instance at one step, is the bounding box of the tensor
  coordinates of every iteration inside m (W: g k c r s; I: n g c, h = p*sh + r*dh,
  w = q*sw + s*dw; O: n g k p q), the loops above m held fixed;
- a level fetches the whole tile at its first step; at each later step, if only the
  innermost loop above it advanced (no carry), |new \\ old| (halo) or |new| if the box
  changed (no halo); after a carry |new| if an index the tensor depends on moved (even
  onto a window already held: Timeloop's "stride change" refetch), else nothing;
- fills = fetched summed over instances (O: minus the outputs each instance ever touches);
- reads of a parent (W, I): per step of the child's timeline and per parent instance, the
  children's fetches grouped by identical (new box, old box) *and* identical shift at
  every fan-out between them, each group once (multicast; Timeloop groups each spatial
  level's children separately, so windows that coincide only through two fan-outs'
  shifts together are read twice);
- updates of a parent (O): the child's drains (its whole previous tile whenever its tile
  changes, and its last tile at the end), identical boxes under one parent instance once
  (spatial reduction); reads(O) = updates - the outputs each parent instance ever touches;
- a fan-out with ``multicast=False`` (``reduce=False``, for O) groups none of its
  children: each reads (updates) its own;
- the innermost keeper of a tensor serves the compute units: every compute unit takes its
  operand (sends its update) at every temporal step, nothing is kept; identical operands
  (outputs) of the units under one keeper instance at one step are one read (update), as
  through any fan-out (``compute_multicast=False``: one per iteration).

Besides the counts it reports *aliasing*: steps where a tile is unchanged although the
loop indices its tensor depends on changed (an input window reached again by another
(p, r) pair after a carry), and groups of children with identical input boxes whose
indices differ (a fan-out unrolling both P and R, or P on one fan-out and R on another).
Those are the places where counting by identical data and counting by index slices part
ways.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass

import numpy as np

from codesign.hierarchy import Compute, FanOut, Hierarchy, StorageLevel
from codesign.workload.layer import DIMS, TENSORS

_N, _G, _K, _C, _P, _Q, _R, _S = range(8)
_D = len(DIMS)
#: The dims each tensor's coordinates are computed from (for aliasing: which loop
#: indices a tile depends on).
RELEVANT = {"W": (_G, _K, _C, _R, _S), "I": (_N, _G, _C, _P, _Q, _R, _S),
            "O": (_N, _G, _K, _P, _Q)}
COUNTS = ("reads", "fills", "updates")


@dataclass(frozen=True)
class Case:
    """One mapping of one layer on one hierarchy, as plain lists.

    Shape: factors ``[F][D]`` (slot order `Hierarchy.slots`), order ``[M][D]`` dim indices
    outer -> inner, keep ``[M][T]``; stride and dilation ``(h, w)``; dims the layer's
    ``N G K C P Q R S`` (only to describe the case: the padded nest is what is simulated).
    """

    hierarchy: Hierarchy
    factors: tuple[tuple[int, ...], ...]
    order: tuple[tuple[int, ...], ...]
    keep: tuple[tuple[bool, ...], ...]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    dims: tuple[int, ...]

    def describe(self) -> str:
        names = [s.name for s in self.hierarchy.slots]
        fac = {n: {DIMS[d]: f for d, f in enumerate(row) if f > 1}
               for n, row in zip(names, self.factors, strict=True)}
        nodes = [(n.name, n.keeps) if isinstance(n, StorageLevel) else
                 (n.name, n.x, n.y) + (() if n.multicast else ("no multicast",))
                 + (() if n.reduce else ("no reduce",)) for n in self.hierarchy.nodes]
        keep = [[t for t, k in zip(TENSORS, row, strict=True) if k] for row in self.keep]
        return (f"nodes={nodes} keep={keep} "
                f"dims={dict(zip(DIMS, self.dims, strict=True))} stride={self.stride} "
                f"dilation={self.dilation} factors={fac} "
                f"order={[''.join(DIMS[d] for d in o) for o in self.order]}")


def _coords(t: str, points: np.ndarray, stride, dilation) -> np.ndarray:
    """Tensor coordinates ``[..., 5]`` of iteration points ``[..., D]``."""
    x = points
    if t == "W":
        return x[..., [_G, _K, _C, _R, _S]]
    if t == "O":
        return x[..., [_N, _G, _K, _P, _Q]]
    h = x[..., _P] * stride[0] + x[..., _R] * dilation[0]
    w = x[..., _Q] * stride[1] + x[..., _S] * dilation[1]
    return np.stack([x[..., _N], x[..., _G], x[..., _C], h, w], -1)


def _walk(loops, factors, weight) -> tuple[list[tuple[int, ...]], np.ndarray]:
    """Every combination of the indices of ``loops`` ((slot, dim) pairs, outer -> inner),
    lexicographically: the index tuples and the dim offsets ``[n, D]`` they put on a point."""
    idx = list(itertools.product(*[range(factors[s][d]) for s, d in loops]))
    # one row per loop: the dim offset one step of that loop puts on a point
    per_loop = np.zeros((len(loops), _D), dtype=np.int64)
    for j, (s, d) in enumerate(loops):
        per_loop[j, d] = weight[s][d]
    off = np.array(idx, dtype=np.int64).reshape(len(idx), len(loops)) @ per_loop
    return idx, off


def _size(box) -> int:
    return math.prod(hi - lo + 1 for lo, hi in box)


def _overlap(a, b) -> int:
    return math.prod(max(0, min(ha, hb) - max(la, lb) + 1)
                     for (la, ha), (lb, hb) in zip(a, b, strict=True))


@dataclass
class _Level:
    """What one storage level sees over the run, per tensor (built by `_simulate_level`)."""

    instances: list[tuple[int, ...]]          # spatial index tuples above the level
    n_spatial: int                            # how many spatial loops those tuples have
    steps: int
    carry: list[bool]                         # [steps]: step k > 0 came with a carry
    boxes: dict[str, list[list[tuple]]]       # t -> [steps][instances] box
    keys: dict[str, list[list[tuple]]]        # t -> [steps][instances] relevant indices
    fan_keys: dict[str, list[tuple]]          # t -> [instances] relevant offsets per fan-out
    fan_shifts: dict[str, list[tuple]]        # t -> [instances] (fan-out, shift of t's
                                              # coordinates that fan-out alone puts on it)
    private: dict[str, list[tuple]]           # t -> [instances] indices in the fan-outs
                                              # that do not multicast t (reduce, for O)
    owned: list[int]                          # [instances] distinct outputs ever touched
    points: int                               # iterations inside one tile


def _simulate_level(case: Case, m: int, weight) -> _Level:
    """Level ``m``'s view of the run; ``m = M`` is the compute units (below every slot:
    every temporal loop above them, one iteration per tile)."""
    h = case.hierarchy
    f = case.factors
    tslot = h.temporal_slots[m] if m < len(h.levels) else len(h.slots)
    temporal = [(h.temporal_slots[j], d) for j in range(m) for d in case.order[j]
                if f[h.temporal_slots[j]][d] > 1]
    spatial = [(s, d) for s in h.spatial_slots if s < tslot for d in range(_D) if f[s][d] > 1]
    inner = [(s, d) for s in range(tslot, len(h.slots)) for d in range(_D) if f[s][d] > 1]
    t_idx, t_off = _walk(temporal, f, weight)
    s_idx, s_off = _walk(spatial, f, weight)
    _, in_off = _walk(inner, f, weight)
    # every iteration point of the run, as [step, instance, point inside, dim]
    points = t_off[:, None, None, :] + s_off[None, :, None, :] + in_off[None, None, :, :]
    carry = [False]
    for k in range(1, len(t_idx)):
        advanced = next(j for j in range(len(temporal)) if t_idx[k][j] != t_idx[k - 1][j])
        carry.append(advanced != len(temporal) - 1)
    boxes, keys = {}, {}
    for t in TENSORS:
        c = _coords(t, points, case.stride, case.dilation)
        lo, hi = c.min(2).tolist(), c.max(2).tolist()                # [steps, instances, 5]
        boxes[t] = [[tuple(zip(lo_i, hi_i, strict=True)) for lo_i, hi_i in zip(lo_k, hi_k,
                                                                              strict=True)]
                    for lo_k, hi_k in zip(lo, hi, strict=True)]
        base = (t_off[:, None, :] + s_off[None, :, :])[..., list(RELEVANT[t])].tolist()
        keys[t] = [[tuple(b) for b in row] for row in base]
    # each instance's offset per fan-out above it (to tell which fan-outs an alias spans)
    fans = sorted({h.slots[s].node for s, _ in spatial})
    fan_keys, fan_shifts = {}, {}
    for t in TENSORS:
        rows, shifts = [], []
        for tup in s_idx:
            per_fan, per_shift = [], []
            for node in fans:
                off = [0] * _D
                for (s, d), i in zip(spatial, tup, strict=True):
                    if h.slots[s].node == node:
                        off[d] += i * weight[s][d]
                per_fan.append(tuple(off[d] for d in RELEVANT[t]))
                per_shift.append((node, tuple(_coords(t, np.array(off), case.stride,
                                                      case.dilation).tolist())))
            rows.append(tuple(per_fan))
            shifts.append(tuple(per_shift))
        fan_keys[t] = rows
        fan_shifts[t] = shifts
    private = {}
    for t in TENSORS:
        own = [j for j, (s, _) in enumerate(spatial)
               if not _shares(h.nodes[h.slots[s].node], t)]
        private[t] = [tuple((j, tup[j]) for j in own) for tup in s_idx]
    out = _coords("O", points, case.stride, case.dilation)
    owned = [len({tuple(r) for r in out[:, i].reshape(-1, 5).tolist()})
             for i in range(len(s_idx))]
    return _Level(s_idx, len(spatial), len(t_idx), carry, boxes, keys, fan_keys, fan_shifts,
                  private, owned, len(in_off))


def _shares(fanout: FanOut, t: str) -> bool:
    """Whether children of ``fanout`` with identical data of t share one transfer."""
    return fanout.reduce if t == "O" else fanout.multicast


def _fetches(lv: _Level, t: str, halo: bool) -> list[list[int]]:
    """``[steps][instances]`` words tensor t brings into each instance at each step."""
    out = []
    for k in range(lv.steps):
        row = []
        for i in range(len(lv.instances)):
            new = lv.boxes[t][k][i]
            if k == 0:
                row.append(_size(new))
                continue
            old = lv.boxes[t][k - 1][i]
            if lv.carry[k]:
                # a carry refetches the whole tile when an index t depends on moved, even
                # onto a window held already (Timeloop: the step's translation differs
                # from the last one's, a "stride change")
                row.append(_size(new) if lv.keys[t][k][i] != lv.keys[t][k - 1][i] else 0)
            elif new == old:
                row.append(0)
            elif not halo:
                row.append(_size(new))
            else:
                row.append(_size(new) - _overlap(new, old))
        out.append(row)
    return out


def _drains(lv: _Level) -> list[list[tuple | None]]:
    """``[steps + 1][instances]`` the O box each instance sends up before step k (the last
    row: at the end), or None."""
    out = []
    for k in range(lv.steps + 1):
        row = []
        for i in range(len(lv.instances)):
            last = k == lv.steps
            if last or (k > 0 and lv.boxes["O"][k][i] != lv.boxes["O"][k - 1][i]):
                row.append(lv.boxes["O"][k - 1][i])
            else:
                row.append(None)
        out.append(row)
    return out


def walk(case: Case) -> list[_Level]:
    """Every storage level's view of the run, then the compute units' (rule-independent:
    `simulate` counts from it)."""
    h = case.hierarchy
    f = case.factors
    n_slots = len(h.slots)
    weight = [[math.prod(f[s2][d] for s2 in range(s + 1, n_slots)) for d in range(_D)]
              for s in range(n_slots)]
    return [_simulate_level(case, m, weight) for m in range(len(h.levels) + 1)]


def simulate(case: Case, halo: bool = True, compute_multicast: bool = True,
             levels: list[_Level] | None = None) -> dict:
    """Run the nest. Returns ``{"reads", "fills", "updates", "tile": [M][T] ints,
    "utilized": [M], "computes", "aliased": {(count, m, t): {kind, ...}}}``.

    ``compute_multicast``: a fan-out between the innermost keeper of a tensor and the
    compute units multicasts operands (reduces outputs) as any other fan-out: per step and
    keeper instance, one read per distinct operand among the compute units under it;
    without it, one read (update) per iteration. ``aliased`` names the counts that aliasing
    (module docstring) makes depend on whether identical data or identical index slices
    are counted once, and how: ``"temporal"`` (a tile reached again after a carry),
    ``"spatial"`` (children of one fan-out with identical windows), ``"spatial-across"``
    (children whose windows coincide only through the shifts of two fan-outs together).
    ``levels``: `walk`'s result, if already at hand.
    """
    n_m = len(case.hierarchy.levels)
    levels = walk(case) if levels is None else levels                  # + the compute
    computes = levels[0].points
    assert levels[0].steps == 1 and len(levels[0].instances) == 1
    assert levels[n_m].points == 1
    assert levels[n_m].steps * len(levels[n_m].instances) == computes
    zero = [[0] * len(TENSORS) for _ in range(n_m)]
    res = {"reads": [r[:] for r in zero], "fills": [r[:] for r in zero],
           "updates": [r[:] for r in zero], "tile": [r[:] for r in zero],
           "utilized": [len(lv.instances) for lv in levels[:n_m]], "computes": computes,
           "aliased": {}}
    aliased = res["aliased"]
    for ti, t in enumerate(TENSORS):
        fetched = [_fetches(lv, t, halo) for lv in levels[:n_m]]
        for m, lv in enumerate(levels[:n_m]):
            if not case.keep[m][ti]:
                continue
            res["tile"][m][ti] = _size(lv.boxes[t][0][0])
            if m > 0:
                total = sum(map(sum, fetched[m]))
                res["fills"][m][ti] = total - (sum(lv.owned) if t == "O" else 0)
            # temporal aliasing: the tile stays although the indices it depends on moved
            for k in range(1, lv.steps):
                if any(lv.boxes[t][k][i] == lv.boxes[t][k - 1][i]
                       and lv.keys[t][k][i] != lv.keys[t][k - 1][i]
                       for i in range(len(lv.instances))):
                    aliased.setdefault(("fills", m, t), set()).add("temporal")
                    break
        for m, lv in enumerate(levels[:n_m]):
            if not case.keep[m][ti]:
                continue
            child = next((c for c in range(m + 1, n_m) if case.keep[c][ti]), n_m)
            ch = levels[child]
            if child == n_m:
                if not compute_multicast:
                    served = computes
                elif t == "O":
                    served = _drains_served(ch, lv, [row for row in ch.boxes["O"]])
                else:
                    ones = [[1] * len(ch.instances) for _ in range(ch.steps)]
                    served = _fetches_served(ch, lv, t, ones, aliased, m, old=False)
            elif t == "O":
                drains = _drains(ch)
                served = _drains_served(ch, lv, drains)
                # outputs never slide: the drains equal the no-halo fetches
                for i in range(len(ch.instances)):
                    assert sum(_size(row[i]) for row in drains if row[i] is not None) \
                        == sum(row[i] for row in _fetches(ch, "O", halo=False))
            else:
                served = _fetches_served(ch, lv, t, fetched[child], aliased, m)
            if ("fills", child, t) in aliased:
                aliased.setdefault(("reads", m, t), set()).update(aliased[("fills", child, t)])
            if t == "O":
                res["updates"][m][ti] = served
                res["reads"][m][ti] = served - sum(lv.owned)
            else:
                res["reads"][m][ti] = served
    return res


def _fetches_served(ch: _Level, parent: _Level, t: str, fetched, aliased: dict, m: int,
                    old: bool = True) -> int:
    """Parent reads for the child's fetches: identical (new, old) boxes (``old=False``:
    identical new boxes) under one parent instance at one step are one multicast read."""
    total = 0
    for k in range(ch.steps):
        groups: dict[tuple, tuple[int, dict]] = {}
        for i, inst in enumerate(ch.instances):
            before = ch.boxes[t][k - 1][i] if k and old else None
            # one group per fan-out's distinct shift (Timeloop groups each spatial level's
            # children by identical data, then multiplies across levels): identical boxes
            # reached only through two fan-outs' shifts together are two reads
            key = (inst[:parent.n_spatial], ch.private[t][i], ch.boxes[t][k][i], before,
                   ch.fan_shifts[t][i])
            amount, seen = groups.setdefault(key, (fetched[k][i], {}))
            assert amount == fetched[k][i]
            seen.setdefault(ch.keys[t][k][i], ch.fan_keys[t][i])
        total += sum(amount for amount, _ in groups.values())
        if len({key[:4] for key in groups}) < len(groups):
            # identical windows kept apart: they coincide only through two fan-outs
            aliased.setdefault(("reads", m, t), set()).add("spatial-across")
        for _, seen in groups.values():
            if len(seen) > 1:
                # how many fan-outs do two members with different indices differ in?
                spans = max(sum(x != y for x, y in zip(a, b, strict=True))
                            for a, b in itertools.combinations(seen.values(), 2))
                kind = "spatial" if spans <= 1 else "spatial-across"
                aliased.setdefault(("reads", m, t), set()).add(kind)
    return total


def _drains_served(ch: _Level, parent: _Level, drains) -> int:
    """Parent updates for the child's drains (``[steps][instances]`` box or None):
    identical output boxes under one parent instance at one step are reduced to one."""
    total = 0
    for row in drains:
        groups = {(inst[:parent.n_spatial], ch.private["O"][i], row[i])
                  for i, inst in enumerate(ch.instances) if row[i] is not None}
        total += sum(_size(box) for _, _, box in groups)
    return total


# -- random cases ------------------------------------------------------------------------

def random_case(rng: random.Random, max_computes: int = 600) -> Case:
    """A random hierarchy (1-5 levels with random keep sets, 0-2 fan-outs anywhere below the
    outermost level), a random small layer (conv, depthwise; strides 1-3, dilations 1-2)
    and a random ceil-padded mapping of it with random loop orders."""
    while True:
        n_levels = rng.randint(1, 5)
        n_fan = rng.choice((0, 1, 1, 2, 2))
        after = sorted(rng.randrange(n_levels) for _ in range(n_fan))   # fan-out below level j
        stride = (rng.randint(1, 3), rng.randint(1, 3))
        dilation = (rng.randint(1, 2), rng.randint(1, 2))
        if rng.random() < 0.2:      # depthwise
            g = rng.randint(2, 4)
            dims = (rng.randint(1, 2), g, 1, 1, rng.randint(1, 4), rng.randint(1, 3),
                    rng.randint(1, 3), rng.randint(1, 3))
        else:
            dims = (rng.randint(1, 2), rng.randint(1, 2), rng.randint(1, 4), rng.randint(1, 4),
                    rng.randint(1, 4), rng.randint(1, 4), rng.randint(1, 3), rng.randint(1, 3))
        keeps = [TENSORS] + [tuple(t for t in TENSORS if rng.random() < 0.6)
                             for _ in range(n_levels - 1)]
        # some levels leave the choice to the mapping: they may keep any tensor
        chosen = [j > 0 and rng.random() < 0.3 for j in range(n_levels)]
        layout = []      # ("L", j) or ("F", j)
        for j in range(n_levels):
            layout.append(("L", j))
            layout += [("F", i) for i, a in enumerate(after) if a == j]
        slots = []       # (kind, name) outer -> inner, as Hierarchy.slots lays them out
        for kind, j in layout:
            slots += [("T", j)] if kind == "L" else [("X", j), ("Y", j)]
        factors = [[1] * _D for _ in slots]
        for d, bound in enumerate(dims):
            remaining = bound
            visit = rng.sample(range(len(slots)), len(slots))
            for n, s in enumerate(visit):
                fac = remaining if n == len(visit) - 1 else rng.randint(1, remaining)
                factors[s][d] = fac
                remaining = -(-remaining // fac)
        if n_fan and rng.random() < 0.15:
            # a fan-out unrolling an output dim and its filter dim: input windows alias
            x = rng.choice([i for i, (k, _) in enumerate(slots) if k == "X"])
            y = x + 1
            pair = rng.choice(((_P, _R), (_Q, _S)))
            factors[x][pair[0]] = rng.randint(2, 3)
            factors[rng.choice((x, y))][pair[1]] = rng.randint(2, 3)
            totals = [math.prod(row[d] for row in factors) for d in range(_D)]
            dims = tuple(min(b, n) for b, n in zip(dims, totals, strict=True))
        computes = math.prod(map(math.prod, factors))
        if computes > max_computes:
            continue
        nodes = []
        for (kind, j), idx in zip(layout, _slot_starts(layout), strict=True):
            if kind == "L" and chosen[j]:
                nodes.append(StorageLevel(f"L{j}", keeps=TENSORS, bypass_choice=TENSORS))
            elif kind == "L":
                nodes.append(StorageLevel(f"L{j}", keeps=keeps[j]))
            else:
                xs, ys = math.prod(factors[idx]), math.prod(factors[idx + 1])
                nodes.append(FanOut(f"F{j}", x=xs + rng.randint(0, 1), y=ys,
                                    multicast=rng.random() < 0.85,
                                    reduce=rng.random() < 0.85))
        hierarchy = Hierarchy("random", tuple(nodes), Compute())
        order = tuple(tuple(rng.sample(range(_D), _D)) for _ in range(n_levels))
        keep = tuple(tuple(t in keeps[j] for t in TENSORS) for j in range(n_levels))
        return Case(hierarchy, tuple(map(tuple, factors)), order, keep, stride, dilation, dims)


def _slot_starts(layout) -> list[int]:
    out, s = [], 0
    for kind, _ in layout:
        out.append(s)
        s += 1 if kind == "L" else 2
    return out
