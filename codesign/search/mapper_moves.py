"""The mapper's moves: random changes to a batch of mappings that keep them valid.

Each move works on ``P`` (candidate, layer) pairs and keeps the product of every dim's
factors (its coverage) and the array fit:

* ``temporal``: a prime factor of one dim moves between two of DRAM, GLB, RF;
* ``unroll``: a prime factor moves from a temporal level onto an array axis that allows the
  dim and still has room for it;
* ``fold``: a prime factor of a spatial factor moves back to a temporal level;
* ``swap``: two loops trade places in one level's order;
* ``resplit``: one dim's spatial factor on one axis is redrawn (any size that fits,
  padding-minimal), the dim's temporal factors are re-split around it.

`mutate` applies them to a whole population (`codesign.search.mapper.search_mappings`).
"""

from __future__ import annotations

import torch

from codesign.mapping.encoding import (
    COLS_SLOT,
    ROWS_SLOT,
    TEMPORAL_SLOTS,
    prime_factors,
    snap_spatial,
)
from codesign.workload.layer import DIMS
from codesign.workload.tensors import ceil_div

__all__ = ["MoveRng", "mutate"]

_N_DIMS = len(DIMS)
_N_MOVES = 5  # temporal, unroll, fold, swap, resplit
_MOVE_WEIGHTS = (0.35, 0.2, 0.1, 0.2, 0.15)

# -- random helpers ----------------------------------------------------------------------


def _temporal_slots(device) -> torch.Tensor:
    """`TEMPORAL_SLOTS` (DRAM, GLB, RF slot indices) as a tensor on ``device``."""
    return torch.tensor(TEMPORAL_SLOTS, device=device)


class MoveRng:
    """Draws from one generator on its device (float64, so CPU and CUDA agree in kind)."""

    def __init__(self, generator: torch.Generator) -> None:
        self.generator = generator
        self.device = generator.device

    def uniform(self, *shape: int) -> torch.Tensor:
        return torch.rand(shape, generator=self.generator, device=self.device,
                          dtype=torch.float64)

    def integers(self, high: int, *shape: int) -> torch.Tensor:
        return torch.randint(high, shape, generator=self.generator, device=self.device)


def _pick(mask: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A uniformly random True position along the last axis, and whether there was one.

    Shape:
        mask, u: ``[P, K]``; returns index ``[P]`` int64 and ``[P]`` bool.
    """
    idx = torch.where(mask, u, torch.full_like(u, -1.0)).argmax(-1)
    return idx, mask.any(-1)


def _random_prime(values: torch.Tensor, spf: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """A random prime factor of every value (1 where the value is 1).

    Shape:
        values, u: ``[P]``; returns ``[P]`` int64.
    """
    stacked = prime_factors(values, spf)  # [P, J]
    count = (stacked > 1).sum(-1).clamp(min=1)
    j = torch.minimum((u * count).floor().to(torch.int64), count - 1)
    return stacked.gather(-1, j.unsqueeze(-1)).squeeze(-1)


def _get(flat: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``flat[p, index[p]]``: ``[P, K]`` at ``[P]`` -> ``[P]``."""
    return flat.gather(1, index.unsqueeze(1)).squeeze(1)


def _set_each(flat: torch.Tensor, index: torch.Tensor, value: torch.Tensor,
              ok: torch.Tensor) -> torch.Tensor:
    """``flat`` with ``flat[p, index[p, k]] = value[p, k]`` for every ``k`` where ``ok[p]``:
    one scatter (a row's ``k`` positions must differ).

    Shape:
        flat: ``[P, K']``; index, value: ``[P, k]``; ok: ``[P]``.
    """
    value = torch.where(ok.unsqueeze(1), value, flat.gather(1, index))
    return flat.scatter(1, index, value)


def _transfer(f: torch.Tensor, src: torch.Tensor, dst: torch.Tensor, dim: torch.Tensor,
              p: torch.Tensor, ok: torch.Tensor) -> torch.Tensor:
    """Move factor ``p`` of ``dim`` from slot ``src`` to slot ``dst`` where ``ok``: the dim's
    product, hence its coverage, is unchanged.

    Shape:
        f: ``[P, 5, D]``; src, dst, dim, p, ok: ``[P]``; returns ``[P, 5, D]``.
    """
    flat = f.flatten(1)  # [P, 5 * D]
    at = torch.stack([src, dst], 1) * _N_DIMS + dim.unsqueeze(1)  # [P, 2]: src != dst
    now = flat.gather(1, at)
    moved = torch.stack([torch.div(now[:, 0], p, rounding_mode="floor"), now[:, 1] * p], 1)
    return _set_each(flat, at, moved, ok).view_as(f)


# -- moves ---------------------------------------------------------------------------------
# Each works on P (candidate, layer) pairs: factors f [P, 5, D], and per pair the layer's
# dims [P, D], the array [P, 2] (rows, cols) and the allowed spatial dims [P, 2, D]. It
# returns moved factors (or orders); a pair with nothing to move comes back unchanged.


def _move_temporal(f: torch.Tensor, spf: torch.Tensor, rng: MoveRng) -> torch.Tensor:
    n = f.shape[0]
    slots = _temporal_slots(f.device)
    temporal = f.index_select(1, slots).flatten(1)  # [P, 3 * D]
    idx, ok = _pick(temporal > 1, rng.uniform(n, 3 * _N_DIMS))
    m_src, dim = idx // _N_DIMS, idx % _N_DIMS
    p = _random_prime(_get(temporal, idx), spf, rng.uniform(n))
    m_dst = (m_src + 1 + rng.integers(2, n)) % 3
    return _transfer(f, slots[m_src], slots[m_dst], dim, p, ok)


def _move_unroll(f: torch.Tensor, spf: torch.Tensor, array: torch.Tensor,
                 allowed: torch.Tensor, rng: MoveRng) -> torch.Tensor:
    n = f.shape[0]
    slots = _temporal_slots(f.device)
    axis = rng.integers(2, n)  # [P]
    axis_ok = allowed.gather(1, axis.view(n, 1, 1).expand(n, 1, _N_DIMS)).squeeze(1)  # [P, D]
    temporal = f.index_select(1, slots)  # [P, 3, D]
    idx, ok = _pick(((temporal > 1) & axis_ok.unsqueeze(1)).flatten(1),
                    rng.uniform(n, 3 * _N_DIMS))
    m_src, dim = idx // _N_DIMS, idx % _N_DIMS
    p = _random_prime(_get(temporal.flatten(1), idx), spf, rng.uniform(n))
    axis_slot = axis + ROWS_SLOT
    used = f.gather(1, axis_slot.view(n, 1, 1).expand(n, 1, _N_DIMS)).prod(-1).squeeze(1)
    ok = ok & (used * p <= _get(array, axis))
    return _transfer(f, slots[m_src], axis_slot, dim, p, ok)


def _move_fold(f: torch.Tensor, spf: torch.Tensor, rng: MoveRng) -> torch.Tensor:
    n = f.shape[0]
    spatial = f[:, ROWS_SLOT : COLS_SLOT + 1].flatten(1)  # [P, 2 * D]
    idx, ok = _pick(spatial > 1, rng.uniform(n, 2 * _N_DIMS))
    axis, dim = idx // _N_DIMS, idx % _N_DIMS
    p = _random_prime(_get(spatial, idx), spf, rng.uniform(n))
    dst = _temporal_slots(f.device)[rng.integers(3, n)]
    return _transfer(f, axis + ROWS_SLOT, dst, dim, p, ok)


def _move_swap(f: torch.Tensor, order: torch.Tensor, rng: MoveRng) -> torch.Tensor:
    """Swap two loops with factor > 1 at one temporal level (order ``[P, 3, D]``)."""
    n = f.shape[0]
    level = rng.integers(3, n)  # [P]
    slot = _temporal_slots(f.device)[level]
    busy = f.gather(1, slot.view(n, 1, 1).expand(n, 1, _N_DIMS)).squeeze(1) > 1  # [P, D]
    d1, ok1 = _pick(busy, rng.uniform(n, _N_DIMS))
    others = busy & (torch.arange(_N_DIMS, device=f.device) != d1.unsqueeze(1))
    d2, ok2 = _pick(others, rng.uniform(n, _N_DIMS))
    row = order.gather(1, level.view(n, 1, 1).expand(n, 1, _N_DIMS)).squeeze(1)  # [P, D]
    a, b = d1.unsqueeze(1), d2.unsqueeze(1)
    swapped = torch.where(row == a, b, torch.where(row == b, a, row))
    swapped = torch.where((ok1 & ok2).unsqueeze(1), swapped, row)
    return order.scatter(1, level.view(n, 1, 1).expand(n, 1, _N_DIMS), swapped.unsqueeze(1))


def _move_resplit(f: torch.Tensor, dims: torch.Tensor, array: torch.Tensor,
                  allowed: torch.Tensor, rng: MoveRng) -> torch.Tensor:
    """Redraw one dim's factor on one array axis (any size that fits, padding-minimal) and
    re-split the dim's temporal factors around it: two temporal levels keep what still
    divides, a random third absorbs the rest."""
    n = f.shape[0]
    axis = rng.integers(2, n)
    axis_ok = allowed.gather(1, axis.view(n, 1, 1).expand(n, 1, _N_DIMS)).squeeze(1)  # [P, D]
    dim, ok = _pick(axis_ok & (dims > 1), rng.uniform(n, _N_DIMS))
    flat = f.flatten(1)  # [P, 5 * D]
    axis_slot, other_slot = axis + ROWS_SLOT, (1 - axis) + ROWS_SLOT
    axis_row = f.gather(1, axis_slot.view(n, 1, 1).expand(n, 1, _N_DIMS)).squeeze(1)
    s_old = _get(axis_row, dim)
    cap = torch.div(_get(array, axis), torch.div(axis_row.prod(-1), s_old,
                                                 rounding_mode="floor"), rounding_mode="floor")
    rem = ceil_div(_get(dims, dim), _get(flat, other_slot * _N_DIMS + dim))
    max_s = torch.minimum(cap.clamp(min=1), rem)
    s_new = torch.exp(rng.uniform(n) * torch.log(max_s.to(torch.float64) + 1.0)).floor()
    s_new = snap_spatial(s_new.to(torch.int64).clamp(min=1).minimum(max_s), rem)
    rest = ceil_div(rem, s_new)  # the dim's new temporal product

    slots = _temporal_slots(f.device)
    absorber = rng.integers(3, n)
    new = []
    for m in range(3):  # the two keeping levels, DRAM, GLB, RF order
        keep = torch.gcd(_get(flat, slots[m] * _N_DIMS + dim), rest)
        keep = torch.where(absorber == m, torch.ones_like(keep), keep)
        new.append(keep)
        rest = torch.div(rest, keep, rounding_mode="floor")
    # the axis's and the three temporal levels' factors of the dim, in one scatter
    at = torch.stack([axis_slot, *(slots[m].expand_as(axis_slot) for m in range(3))], 1)
    value = torch.stack([s_new, *(torch.where(absorber == m, rest, new[m]) for m in range(3))],
                        1)
    return _set_each(flat, at * _N_DIMS + dim.unsqueeze(1), value, ok).view_as(f)


def _move_edges(n: int, share: float) -> list[int]:
    """Where each move's pairs start and end in a random order of ``n`` pairs: move ``k``
    takes ``share * _MOVE_WEIGHTS[k]`` of them (rounded), counted on the host.

    >>> _move_edges(20, 1.0), _move_edges(20, 0.5)
    ([0, 7, 11, 13, 17, 20], [0, 4, 6, 6, 8, 10])
    """
    edges, total = [0], 0.0
    for w in _MOVE_WEIGHTS:
        total += w
        edges.append(round(n * share * total))
    return edges


def mutate(f: torch.Tensor, order: torch.Tensor, dims: torch.Tensor, array: torch.Tensor,
            allowed: torch.Tensor, spf: torch.Tensor, rng: MoveRng,
            n_rounds: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """One move per pair, then more for half the pairs each round; each move is computed
    only for its pairs. The pairs are shuffled and each move takes its weight's share of
    them (stratified, not drawn one by one), so every subset's size is known on the host
    and nothing waits for the device.

    Shape:
        f ``[P, 5, D]``, order ``[P, 3, D]``, dims ``[P, D]``, array ``[P, 2]``,
        allowed ``[P, 2, D]``; returns the moved f and order.
    """
    n = f.shape[0]
    for r in range(n_rounds):
        perm = torch.randperm(n, generator=rng.generator, device=f.device)
        edges = _move_edges(n, 1.0 if r == 0 else 0.5)  # later rounds only for some pairs
        # the round's pairs in shuffled order, gathered once: each move then works on a
        # contiguous slice (a view), and one scatter puts them all back
        if edges[-1] == 0:  # no pair gets a move this round
            continue
        idx = perm[: edges[-1]]
        f_r, o_r = f.index_select(0, idx), order.index_select(0, idx)
        dims_r, array_r = dims.index_select(0, idx), array.index_select(0, idx)
        allowed_r = allowed.index_select(0, idx)
        moved_f, moved_o = [], []
        for k in range(_N_MOVES):
            if edges[k + 1] == edges[k]:
                continue
            part = slice(edges[k], edges[k + 1])
            sub, sub_o = f_r[part], o_r[part]
            if k == 0:
                sub = _move_temporal(sub, spf, rng)
            elif k == 1:
                sub = _move_unroll(sub, spf, array_r[part], allowed_r[part], rng)
            elif k == 2:
                sub = _move_fold(sub, spf, rng)
            elif k == 3:
                sub_o = _move_swap(sub, sub_o, rng)
            else:
                sub = _move_resplit(sub, dims_r[part], array_r[part], allowed_r[part], rng)
            moved_f.append(sub)
            moved_o.append(sub_o)
        if edges[-1] == n:  # every pair moved: nothing of the old tensors is kept
            f = torch.empty_like(f).index_copy_(0, idx, torch.cat(moved_f))
            order = torch.empty_like(order).index_copy_(0, idx, torch.cat(moved_o))
        else:
            f = f.index_copy(0, idx, torch.cat(moved_f))
            order = order.index_copy(0, idx, torch.cat(moved_o))
    return f, order
