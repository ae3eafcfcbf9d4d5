"""The mapper: the best mapping of every layer on given designs, searched in batch.

`search_mappings` is the batched core: all ``B`` designs x ``L`` layers x ``n`` candidates
live in one population and every step costs it with **one** `CostModel.evaluate` call.
It is a steady (mu + lambda) evolution per (design, layer): tournament parents, domain-aware
moves that keep every mapping covering its layer and fitting the array, a few fresh random
mappings for diversity, and elitist truncation (the best mapping found is never lost).
`map_layers` is the friendly wrapper for one accelerator and a `LayerTable`.

Ranking, per (design, layer): feasible candidates beat infeasible ones; feasible ones by the
objective (``cycles``, ``energy_pj`` or their product), infeasible ones by
``capacity_excess`` so the search is led back to mappings that fit.

Moves (each keeps the product of every dim's factors and the array fit):

* ``temporal``: a prime factor of one dim moves between two of DRAM, GLB, RF;
* ``unroll``: a prime factor moves from a temporal level onto an array axis that allows the
  dim and still has room for it;
* ``fold``: a prime factor of a spatial factor moves back to a temporal level;
* ``swap``: two loops trade places in one level's order;
* ``resplit``: one dim's spatial factor on one axis is redrawn (any size that fits,
  padding-minimal), the dim's temporal factors are re-split around it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from codesign.arch.accelerator import Accelerator
from codesign.cost.model import CostModel, CostResult
from codesign.errors import ConfigError
from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors
from codesign.mapping.encoding import (
    COLS_SLOT,
    ROWS_SLOT,
    TEMPORAL_SLOTS,
    decode_mapping_genes,
    n_mapping_genes,
    prime_factor_table,
    prime_factors,
    prime_prefix_products,
    snap_spatial,
)
from codesign.mapping.mapping import FACTOR_LEVELS, SPATIAL_AXES, TEMPORAL_LEVELS, Mapping
from codesign.names import BOTTLENECKS, LAYER_OBJECTIVES, UNKNOWN_BOTTLENECK
from codesign.search.config import MAPPER_MIN_CANDIDATES, MAPPER_MIN_STEPS
from codesign.search.limits import check_mapper_fits
from codesign.workload.layer import DIMS, LayerTable
from codesign.workload.tensors import ceil_div

__all__ = [
    "EFFORTS",
    "LayerMappingResult",
    "fit_to_array",
    "layer_objective",
    "map_layers",
    "mapping_summary",
    "rank_key",
    "search_mappings",
]

#: Named search budgets: (candidates per layer, steps). A step costs about the same for 64
#: or 128 candidates on the CPU (per-op overhead dominates), so "default" is wide and short:
#: ResNet-50 in ~2 s on a shared 2-core CPU (docs/PERFORMANCE.md, "Mapper").
EFFORTS: dict[str, tuple[int, int]] = {
    "fast": (32, 30),
    "default": (128, 50),
    "thorough": (256, 150),
}

_N_DIMS = len(DIMS)
_N_SLOTS = len(FACTOR_LEVELS)
_N_MOVES = 5  # temporal, unroll, fold, swap, resplit
_MOVE_WEIGHTS = (0.35, 0.2, 0.1, 0.2, 0.15)
_INFEASIBLE = 1e4  # rank offset: above the log of any objective
_DUPLICATE = 1e6  # rank offset for a candidate whose rank key equals a better one's
_RESTART_FRACTION = 0.125
_RESTART_BLOCK = 5  # steps whose fresh random mappings are decoded in one call


def layer_objective(result: CostResult, objective: str) -> torch.Tensor:
    """The per-layer objective to minimise: cycles, energy or their product (EDP).

    Shape:
        returns: ``[B, L]`` float.
    """
    if objective == "latency":
        return result.cycles
    if objective == "energy":
        return result.energy_pj
    if objective == "edp":
        return result.cycles * result.energy_pj
    raise ConfigError(f"objective {objective!r}: choose one of {', '.join(LAYER_OBJECTIVES)}")


def rank_key(result: CostResult, objective: str) -> torch.Tensor:
    """``[B, L]`` float64, lower is better: ``log(objective)`` when feasible, else a large
    offset plus ``log1p(capacity_excess)`` (feasible always beats infeasible). Public: the
    mapper ranks candidates by it and the mapping memory scores what it keeps with it."""
    obj = layer_objective(result, objective).to(torch.float64)
    good = torch.log(obj.clamp(min=1e-300))
    excess = result.capacity_excess
    bad = _INFEASIBLE if excess is None else \
        _INFEASIBLE + torch.log1p(excess.to(torch.float64).clamp(min=0))
    key = torch.where(result.feasible, good, bad)
    return torch.nan_to_num(key, nan=2 * _INFEASIBLE, posinf=2 * _INFEASIBLE)


# -- random helpers ----------------------------------------------------------------------


def _temporal_slots(device) -> torch.Tensor:
    """`TEMPORAL_SLOTS` (DRAM, GLB, RF slot indices) as a tensor on ``device``."""
    return torch.tensor(TEMPORAL_SLOTS, device=device)


class _Rng:
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


def _move_temporal(f: torch.Tensor, spf: torch.Tensor, rng: _Rng) -> torch.Tensor:
    n = f.shape[0]
    slots = _temporal_slots(f.device)
    temporal = f.index_select(1, slots).flatten(1)  # [P, 3 * D]
    idx, ok = _pick(temporal > 1, rng.uniform(n, 3 * _N_DIMS))
    m_src, dim = idx // _N_DIMS, idx % _N_DIMS
    p = _random_prime(_get(temporal, idx), spf, rng.uniform(n))
    m_dst = (m_src + 1 + rng.integers(2, n)) % 3
    return _transfer(f, slots[m_src], slots[m_dst], dim, p, ok)


def _move_unroll(f: torch.Tensor, spf: torch.Tensor, array: torch.Tensor,
                 allowed: torch.Tensor, rng: _Rng) -> torch.Tensor:
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


def _move_fold(f: torch.Tensor, spf: torch.Tensor, rng: _Rng) -> torch.Tensor:
    n = f.shape[0]
    spatial = f[:, ROWS_SLOT : COLS_SLOT + 1].flatten(1)  # [P, 2 * D]
    idx, ok = _pick(spatial > 1, rng.uniform(n, 2 * _N_DIMS))
    axis, dim = idx // _N_DIMS, idx % _N_DIMS
    p = _random_prime(_get(spatial, idx), spf, rng.uniform(n))
    dst = _temporal_slots(f.device)[rng.integers(3, n)]
    return _transfer(f, axis + ROWS_SLOT, dst, dim, p, ok)


def _move_swap(f: torch.Tensor, order: torch.Tensor, rng: _Rng) -> torch.Tensor:
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
                  allowed: torch.Tensor, rng: _Rng) -> torch.Tensor:
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


def _mutate(f: torch.Tensor, order: torch.Tensor, dims: torch.Tensor, array: torch.Tensor,
            allowed: torch.Tensor, spf: torch.Tensor, rng: _Rng,
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


# -- seeds ---------------------------------------------------------------------------------


#: Loop-dim orders in which `_fill_buffers` grows the RF and then the GLB tiles of the
#: greedily unrolled seed: filter dims first (weights stay close), or channels first.
_FILL_ORDERS: tuple[tuple[str, ...], ...] = (tuple("SRCKQPNG"), tuple("KCSRQPNG"))
#: The classic starting points, most promising first (`_seed_mappings` builds them).
_N_SEEDS = 7


def _greedy_genes(workload: WorkloadTensors, device) -> torch.Tensor:
    """Genes ``[L, G]`` of the greedy seed: the array filled largest dims first (each as
    large as still fits), every temporal factor at DRAM, loops in dim order."""
    dims = workload.dims.to(device).to(torch.float64)  # [L, D]
    keys = 1.0 - dims / dims.max(-1, keepdim=True).values  # largest first
    genes = torch.zeros((workload.n_layers, n_mapping_genes()), dtype=torch.float64,
                        device=device)
    genes[:, 0:16] = keys.repeat(1, 2)
    genes[:, 16:32] = 1.0  # the largest spatial factor that fits
    genes[:, 160:] = 0.5  # equal order keys: the dims' own order
    return genes


def _seed_mappings(greedy: torch.Tensor, workload: WorkloadTensors, hardware: HardwareBatch,
                   spf: torch.Tensor, n_seeds: int,
                   ones: frozenset[str] = frozenset()) -> torch.Tensor:
    """The first ``n_seeds`` classic starting points, built from the greedy seed's factors
    (the array filled greedily, the rest at DRAM; their loops keep the dims' order):

    0. greedy, its tiles grown by `_fill_buffers` in ``_FILL_ORDERS[0]``;
    1. nothing unrolled and everything at DRAM (always fits while the RF holds 3 words);
    2. greedy, grown in ``_FILL_ORDERS[1]``;
    3. greedy as it is; 4. greedy with the rest at the GLB; 5. at the RF;
    6. split: the filter dims' factors at the RF, the rest at the GLB.

    Only the seeds asked for are built; the two fills run as one. ``ones``: dims that are 1
    in every layer (nothing of them to move: the fills skip their turns).

    Shape:
        greedy: ``[B, L, 5, D]`` int64 with hardware ``[B]``; returns ``[B, S, L, 5, D]``.
    """
    dram, glb, rf = TEMPORAL_SLOTS
    seeds: list[torch.Tensor | None] = [None] * n_seeds
    filled = [i for i in _FILLED_SEEDS if i < n_seeds]
    if filled:
        grown = _fill_buffers(greedy.unsqueeze(1).expand(-1, len(filled), -1, -1, -1),
                              workload, hardware, spf, [_FILLED_SEEDS[i] for i in filled],
                              ones)
        for k, i in enumerate(filled):
            seeds[i] = grown[:, k]
    if n_seeds > 1:
        nothing = torch.ones_like(greedy)
        nothing[..., dram, :] = workload.dims.to(greedy.device)
        seeds[1] = nothing
    if n_seeds > 3:
        seeds[3] = greedy
        iters = greedy[..., dram, :]  # [B, L, D]: all of it at DRAM
        # the product of the factored primes (all of them, unless a value has more than
        # MAX_PRIME_FACTORS: the rest stays at DRAM)
        moved = prime_factors(iters, spf).prod(-1)
        filter_dims = torch.zeros(_N_DIMS, dtype=torch.bool, device=greedy.device)
        filter_dims[[DIMS.index("R"), DIMS.index("S")]] = True
        for i, at_rf in ((4, torch.zeros_like(filter_dims)), (5, torch.ones_like(filter_dims)),
                         (6, filter_dims)):
            if i < n_seeds:
                f = greedy.clone()
                f[..., dram, :] = torch.div(iters, moved, rounding_mode="floor")
                f[..., rf, :] = torch.where(at_rf, moved, 1)
                f[..., glb, :] = torch.where(at_rf, 1, moved)
                seeds[i] = f
    return torch.stack(seeds, 1)


#: Seed positions that `_fill_buffers` grows, with the dim order it uses.
_FILLED_SEEDS: dict[int, tuple[str, ...]] = {0: _FILL_ORDERS[0], 2: _FILL_ORDERS[1]}


def _fill_buffers(f: torch.Tensor, workload: WorkloadTensors, hardware: HardwareBatch,
                  spf: torch.Tensor, dim_orders: Sequence[Sequence[str]],
                  ones: frozenset[str] = frozenset()) -> torch.Tensor:
    """"Max tiles that fit": move DRAM prime factors into the RF while the RF tile (W + I + O
    words) still fits, then into the GLB while the GLB tile fits, dim by dim in the
    candidate's ``dim_orders`` entry, smallest prime first. Coverage and the array are
    untouched.

    Per turn, every prefix of the turn's dim's DRAM prime factors is tried at once (a tile
    only grows with its extents) and the longest that fits is taken: a few tensor ops per
    turn and level for all candidates, each with its own dim order, nothing read back.
    A turn whose dims are all in ``ones`` (1 in every layer: nothing to move) is skipped.

    Shape:
        f: ``[B, K, L, 5, D]`` (``K = len(dim_orders)`` candidates per design) with
        ``hardware`` ``[B]``; returns ``[B, K, L, 5, D]``.
    """
    from codesign.mapping.footprint import tile_boxes, tile_words

    dram, glb, rf = TEMPORAL_SLOTS
    n_b, n_k, n_l = f.shape[:3]
    f = f.clone()
    turns = [[DIMS.index(name) for name in order] for order in dim_orders]  # [K][T]
    device = f.device
    order = torch.tensor(turns, device=device)  # [K, T]
    n_t = order.shape[1]
    turn_dims = torch.nn.functional.one_hot(order, _N_DIMS).bool()  # [K, T, D]
    # [L]: broadcast over the [2, B, K, L] ends
    stride = (workload.stride[:, 0], workload.stride[:, 1])
    dilation = (workload.dilation[:, 0], workload.dilation[:, 1])
    for slot, cap in ((rf, hardware.rf_words), (glb, hardware.glb_words)):
        cap = cap.view(-1, 1, 1, 1).to(torch.int64)  # [B, 1, 1, 1] words
        # a dim's DRAM factor changes only on its own turn: factor them all once per
        # level, turn-major (turn t's row is the DRAM factor of each candidate's dim t)
        at_dram = f[..., dram, :].gather(-1, order.view(1, n_k, 1, n_t).expand(n_b, n_k, n_l,
                                                                               n_t))
        # [T, B, K, L, J + 1]: the products of its first j primes, j = 0 .. J
        prefix = prime_prefix_products(at_dram.movedim(-1, 0).contiguous(), spf)
        rf_box, _, glb_box, _ = tile_boxes(f.movedim(3, 0))  # [B, K, L, D] each
        box = (glb_box if slot == glb else rf_box).clone()  # grows with the slot's factors
        grown = torch.ones_like(box)  # [B, K, L, D]: what each dim moves to the slot
        for t in range(n_t):
            if all(order_names[t] in ones for order_names in dim_orders):
                continue
            # W, I and O words are each affine in any one extent x (a product of per-dim
            # terms, each affine in its extents): words(x) = a + b x, from two small
            # evaluations at x = 0 and x = 1 ([2, B, K, L]); b >= 0, so the words grow
            # with the prefix and those that fit are the first ones
            mine = turn_dims[:, t].view(1, n_k, 1, _N_DIMS)  # [1, K, 1, D]
            at_zero = box * ~mine
            ends = torch.stack([at_zero, at_zero + mine]).unbind(-1)  # D x [2, B, K, L]
            a, a_plus_b = sum(tile_words(*ends, stride, dilation)).unsqueeze(-1)
            at = order[:, t].view(1, n_k, 1, 1).expand(n_b, n_k, n_l, 1)  # the turn's dim
            x = box.gather(-1, at)  # [B, K, L, 1]
            # words(x * prefix) <= cap, exactly: b x prefix <= cap - a, counted in the
            # ascending [B, K, L, J] row by one binary search
            n_fit = torch.searchsorted((a_plus_b - a) * x * prefix[t, ..., 1:], cap - a,
                                       right=True)  # [B, K, L, 1]
            # (past the last prime the products stay the dim's whole DRAM factor)
            moved = prefix[t].gather(-1, n_fit)  # [B, K, L, 1]
            box.scatter_(-1, at, x * moved)
            grown.scatter_(-1, at, moved)
        f[..., slot, :] *= grown
        f[..., dram, :] = torch.div(f[..., dram, :], grown, rounding_mode="floor")
    return f


def fit_to_array(factors: torch.Tensor, hardware: HardwareBatch) -> torch.Tensor:
    """Known mappings made valid on other designs (a warm start): spatial factors of dims
    an axis does not allow go to DRAM; then, while an axis holds more PEs than it has, the
    smallest prime factor of its largest spatial factor goes to DRAM. Every dim keeps its
    product of factors (its coverage); buffer capacity is left to the mapper's ranking.

    Shape:
        factors: ``[B, k, L, 5, D]`` int64 with hardware ``[B]``; returns the same shape.

    >>> from codesign.arch.accelerator import Accelerator
    >>> hw = HardwareBatch.from_accelerators([Accelerator(pe_rows=4, pe_cols=4)])  # ws
    >>> f = torch.ones(1, 1, 1, 5, 8, dtype=torch.int64)
    >>> f[..., 2, 3] = 16   # C16 on the rows: too many for 4 rows
    >>> out = fit_to_array(f, hw)[0, 0, 0]
    >>> out[2, 3].item(), out[0, 3].item()   # rows keep C4, DRAM takes 4
    (4, 4)
    """
    dram = TEMPORAL_SLOTS[0]
    n_b = factors.shape[0]
    f = factors.clone()
    spatial = f[..., ROWS_SLOT : COLS_SLOT + 1, :]  # [B, k, L, 2, D]
    allowed = hardware.spatial_allowed.to(f.device).view(n_b, 1, 1, 2, _N_DIMS)
    f[..., dram, :] *= torch.where(allowed, torch.ones_like(spatial), spatial).prod(-2)
    spatial = torch.where(allowed, spatial, torch.ones_like(spatial))
    sizes = torch.stack([hardware.pe_rows, hardware.pe_cols], -1).to(f.device)
    sizes = sizes.view(n_b, 1, 1, 2)
    # Each round at least halves every axis that is over its size, so ceil(log2(PEs used /
    # PEs there)) rounds (+ 1 against rounding) fit them all; one read-back gives that count
    # and the largest spatial factor (sizing the prime table), the rounds then run blind.
    over_by = torch.log2(spatial.prod(-1).to(torch.float64) / sizes).ceil()  # [B, k, L, 2]
    top, n_rounds = (torch.stack([spatial.amax().to(torch.float64), over_by.amax() + 1])
                     .clamp(min=0).tolist() if spatial.numel() else (2, 0))
    # a power of two: one cached table for every batch of the run
    spf = prime_factor_table(1 << max(int(top), 2).bit_length(), f.device)
    for _ in range(int(n_rounds)):
        over = spatial.prod(-1) > sizes  # [B, k, L, 2]
        d = spatial.argmax(-1, keepdim=True)  # [B, k, L, 2, 1]
        s = spatial.gather(-1, d)
        p = torch.where(over.unsqueeze(-1), spf[s], torch.ones_like(s))
        spatial = spatial.scatter(-1, d, torch.div(s, p, rounding_mode="floor"))
        for axis in range(2):
            row = f[..., dram, :]  # [B, k, L, D]
            f[..., dram, :] = row.scatter(-1, d[..., axis, :],
                                          row.gather(-1, d[..., axis, :]) * p[..., axis, :])
    f[..., ROWS_SLOT : COLS_SLOT + 1, :] = spatial
    return f


# -- the search ----------------------------------------------------------------------------


def _gather_candidates(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``x`` ``[B, n, L, ...]`` at candidates ``idx`` ``[B, k, L]`` -> ``[B, k, L, ...]``."""
    extra = x.shape[3:]
    index = idx.view(*idx.shape, *(1,) * len(extra)).expand(*idx.shape, *extra)
    return x.gather(1, index)


def _take(pop: torch.Tensor, child: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Candidates ``idx`` of parents and children side by side (``idx < n``: a parent),
    without building the concatenated ``[B, 2n, L, ...]`` population.

    Shape:
        pop, child: ``[B, n, L, ...]``; idx: ``[B, k, L]`` in ``[0, 2n)``; returns
        ``[B, k, L, ...]``.
    """
    n = pop.shape[1]
    from_pop = (idx < n).view(*idx.shape, *(1,) * (pop.dim() - 3))
    return torch.where(from_pop, _gather_candidates(pop, idx.clamp(max=n - 1)),
                       _gather_candidates(child, (idx - n).clamp(min=0)))


def _distinct_first(key: torch.Tensor) -> torch.Tensor:
    """Rank key with repeats pushed back: a candidate whose key equals a better one's gets
    ``_DUPLICATE`` added, so copies of the elite do not crowd out the population.

    Shape:
        key: ``[B, n, L]``; returns ``[B, n, L]``.
    """
    sorted_key, idx = torch.sort(key, dim=1, stable=True)
    dup = torch.zeros_like(sorted_key, dtype=torch.bool)
    dup[:, 1:] = sorted_key[:, 1:] == sorted_key[:, :-1]
    penalty = torch.zeros_like(key).scatter(1, idx, dup.to(key.dtype) * _DUPLICATE)
    return key + penalty


def search_mappings(hardware: HardwareBatch, workload: WorkloadTensors, cost_model: CostModel,
                    objective: str = "edp", *, n_candidates: int = EFFORTS["default"][0],
                    n_steps: int = EFFORTS["default"][1],
                    generator: torch.Generator,
                    initial: tuple[torch.Tensor, torch.Tensor] | None = None,
                    ) -> tuple[MappingBatch, CostResult]:
    """The best mapping found for every (design, layer), and its cost.

    All designs, layers and candidates are one population; each step makes ``n_candidates``
    children per (design, layer) and costs them with one ``cost_model.evaluate`` call.
    Deterministic for a given generator state and device. Inputs must live on the
    generator's device. ``initial`` (factors, order) are ``k < n_candidates`` known
    mappings per design that take the place of the last starting candidates (a warm start:
    they must cover the layers and fit the array, see `fit_to_array`).

    Shape:
        hardware: ``[B]`` designs; workload: ``L`` layers; initial: ``[B, k, L, 5, D]``
        and ``[B, k, L, 3, D]`` int64.
        returns: `MappingBatch` ``[B, L]`` and the `CostResult` of exactly those mappings
        (per layer ``[B, L]``, per design ``[B]``).
    """
    if objective not in LAYER_OBJECTIVES:
        raise ConfigError(f"objective {objective!r}: choose one of {', '.join(LAYER_OBJECTIVES)}")
    if n_candidates < MAPPER_MIN_CANDIDATES or n_steps < MAPPER_MIN_STEPS:
        raise ConfigError(f"mapper: need n_candidates >= {MAPPER_MIN_CANDIDATES} and n_steps "
                          f">= {MAPPER_MIN_STEPS}, got {n_candidates} and {n_steps}")
    rng = _Rng(generator)
    device = rng.device
    n_b, n_l, n = hardware.n_designs, workload.n_layers, n_candidates
    dims = workload.dims.to(device)
    # ceil-padding can push a dim's total past its bound, by at most the array size
    # the search's one read-back: every dim's largest bound (sizing the prime tables and
    # naming the dims that are 1 in every layer) and the largest array
    top = torch.cat([dims.amax(0) if n_l else dims.new_ones(_N_DIMS),
                     (hardware.pe_rows * hardware.pe_cols).amax().to(device).view(1)]).tolist()
    top_dim, top_array = max(top[:_N_DIMS]), top[_N_DIMS]
    spf = prime_factor_table(1 << int(top_dim + top_array).bit_length(), device)  # cached
    ones = frozenset(d for d, bound in zip(DIMS, top, strict=False) if bound == 1)
    # decoding factors trip counts up to the largest dim only: a smaller table, fewer
    # prime positions to place (the same mappings)
    spf_dims = prime_factor_table(1 << int(top_dim).bit_length(), device)
    hw_pop = hardware.repeat_interleave(n)  # [B * n]

    def evaluate(f: torch.Tensor, o: torch.Tensor) -> tuple[torch.Tensor, CostResult]:
        """Flat [B * n, L] candidates -> rank key [B, n, L]."""
        result = cost_model.evaluate(hw_pop, workload, MappingBatch(f, o))
        return rank_key(result, objective).view(n_b, n, n_l), result

    # initial population: classic seeds first, random mappings after, known mappings last
    n_known = 0 if initial is None else initial[0].shape[1]
    if not 0 <= n_known < n:
        raise ConfigError(f"mapper: initial mappings must number fewer than n_candidates "
                          f"({n}) per design, got {n_known}")
    n_new = n - n_known
    n_seeds = min(n_new, _N_SEEDS)
    n_random = n_new - n_seeds
    random_genes = rng.uniform(n_b * n_random, n_l, n_mapping_genes())
    n_restart = max(1, int(n * _RESTART_FRACTION))
    n_mut = n - n_restart
    # fresh random mappings are decoded for _RESTART_BLOCK steps at once (per-op overhead);
    # the first block's genes are drawn now (as step 0 would) and decoded with the start:
    # one decode of the greedy seed, the random starting candidates and that block
    design = torch.arange(n_b, device=hardware.pe_rows.device)
    restart_index = design.repeat_interleave(n_restart)
    n_first = min(_RESTART_BLOCK, n_steps)
    first_genes = rng.uniform(n_first * n_b * n_restart, n_l, n_mapping_genes())
    greedy = _greedy_genes(workload, device).expand(n_b, n_l, -1)
    both = decode_mapping_genes(
        torch.cat([greedy, random_genes, first_genes]), workload,
        hardware.index_select(torch.cat([design, design.repeat_interleave(n_random),
                                         restart_index.repeat(n_first)])), spf=spf_dims)
    n_start = n_b * (1 + n_random)
    start_f = both.factors[:n_start]
    f_pop = torch.cat([_seed_mappings(start_f[:n_b], workload, hardware, spf, n_seeds,
                                      ones),
                       start_f[n_b:].view(n_b, n_random, n_l, _N_SLOTS, _N_DIMS)], 1)
    # every seed keeps the dims' own loop order, as the greedy seed decodes it
    o_pop = torch.cat([both.order[:n_b].unsqueeze(1).expand(-1, n_seeds, -1, -1, -1),
                       both.order[n_b:n_start].view(n_b, n_random, n_l, 3, _N_DIMS)], 1)
    fresh_f = both.factors[n_start:].view(n_first, n_b, n_restart, n_l, _N_SLOTS, _N_DIMS)
    fresh_o = both.order[n_start:].view(n_first, n_b, n_restart, n_l, 3, _N_DIMS)
    if initial is not None and n_known:
        f_pop = torch.cat([f_pop, initial[0].to(device=device, dtype=f_pop.dtype)], 1)
        o_pop = torch.cat([o_pop, initial[1].to(device=device, dtype=o_pop.dtype)], 1)
    key, _ = evaluate(f_pop.view(n_b * n, n_l, _N_SLOTS, _N_DIMS),
                      o_pop.reshape(n_b * n, n_l, 3, _N_DIMS))
    # per (design, mutated child, layer) pair, flat: what the moves need to stay valid
    pair_shape = (n_b, n_mut, n_l)
    pair_dims = dims.view(1, 1, n_l, _N_DIMS).expand(*pair_shape, _N_DIMS).reshape(-1, _N_DIMS)
    array = torch.stack([hardware.pe_rows, hardware.pe_cols], 1).to(device)  # [B, 2]
    pair_array = array.view(n_b, 1, 1, 2).expand(*pair_shape, 2).reshape(-1, 2)
    pair_allowed = hardware.spatial_allowed.to(device).view(n_b, 1, 1, 2, _N_DIMS).expand(
        *pair_shape, 2, _N_DIMS).reshape(-1, 2, _N_DIMS)

    for step in range(n_steps):
        if step % _RESTART_BLOCK == 0 and step:
            n_block = min(_RESTART_BLOCK, n_steps - step)
            block = decode_mapping_genes(
                rng.uniform(n_block * n_b * n_restart, n_l, n_mapping_genes()), workload,
                hardware.index_select(restart_index.repeat(n_block)), spf=spf_dims)
            fresh_f = block.factors.view(n_block, n_b, n_restart, n_l, _N_SLOTS, _N_DIMS)
            fresh_o = block.order.view(n_block, n_b, n_restart, n_l, 3, _N_DIMS)
        # binary tournament per (design, layer), then moves
        a, b = rng.integers(n, *pair_shape), rng.integers(n, *pair_shape)
        parent = torch.where(key.gather(1, a) <= key.gather(1, b), a, b)  # [B, n_mut, L]
        f_mut, o_mut = _mutate(_gather_candidates(f_pop, parent).reshape(-1, _N_SLOTS, _N_DIMS),
                               _gather_candidates(o_pop, parent).reshape(-1, 3, _N_DIMS),
                               pair_dims, pair_array, pair_allowed, spf, rng)
        # and a few fresh random mappings per design
        f_child = torch.cat([f_mut.view(n_b, n_mut, n_l, _N_SLOTS, _N_DIMS),
                             fresh_f[step % _RESTART_BLOCK]], 1)
        o_child = torch.cat([o_mut.view(n_b, n_mut, n_l, 3, _N_DIMS),
                             fresh_o[step % _RESTART_BLOCK]], 1)
        key_child, _ = evaluate(f_child.reshape(n_b * n, n_l, _N_SLOTS, _N_DIMS),
                                o_child.reshape(n_b * n, n_l, 3, _N_DIMS))
        key_all = torch.cat([key, key_child], 1)  # [B, 2n, L]
        if step == n_steps - 1:
            # the last step keeps only the best: the first lowest key, which truncation
            # would have put first (ties in candidate order), taken from whichever half
            best = key_all.argmin(1, keepdim=True)  # [B, 1, L]
            mappings = MappingBatch(_take(f_pop, f_child, best).squeeze(1),
                                    _take(o_pop, o_child, best).squeeze(1))
            return mappings, cost_model.evaluate(hardware, workload, mappings)
        # elitist truncation over parents + children, copies ranked last
        keep = torch.sort(_distinct_first(key_all), dim=1, stable=True).indices[:, :n]
        key = key_all.gather(1, keep)
        f_pop, o_pop = _take(f_pop, f_child, keep), _take(o_pop, o_child, keep)

    # no steps: the best starting candidate (the first lowest key)
    best = key.argmin(1, keepdim=True)  # [B, 1, L]
    mappings = MappingBatch(_gather_candidates(f_pop, best).squeeze(1),
                            _gather_candidates(o_pop, best).squeeze(1))
    return mappings, cost_model.evaluate(hardware, workload, mappings)


# -- the friendly wrapper ------------------------------------------------------------------


def mapping_summary(mapping: Mapping) -> str:
    """One line per mapping, outer levels last: ``rows C16 cols K16 | RF R3S3 | GLB C4P14Q14
    | DRAM K4`` (empty levels left out; ``-`` when everything is 1).

    >>> mapping_summary(Mapping.from_json({"spatial": {"rows": {"C": 16}},
    ...                                    "temporal": {"RF": {"R": 3, "S": 3}}}))
    'rows C16 | RF R3S3'
    """
    data = mapping.to_json()
    parts = []
    spatial = " ".join(f"{axis} " + "".join(f"{d}{v}" for d, v in data["spatial"][axis].items())
                       for axis in SPATIAL_AXES if axis in data["spatial"])
    if spatial:
        parts.append(spatial)
    for level in reversed(TEMPORAL_LEVELS):
        if level in data["temporal"]:
            parts.append(f"{level} " + "".join(f"{d}{data['temporal'][level][d]}"
                                               for d in data["order"][level]))
    return " | ".join(parts) or "-"


@dataclass(frozen=True)
class LayerMappingResult:
    """The mapper's answer for one accelerator: per unique layer, its mapping and costs.

    Per-layer tuples follow ``table.layers``; ``latency_cycles`` and ``energy_pj`` are the
    network totals (layers weighted by their counts, plus vector ops).
    """

    table: LayerTable
    accelerator: Accelerator
    objective: str
    mappings: tuple[Mapping, ...]
    cycles: tuple[float, ...]
    energy_pj: tuple[float, ...]
    utilization: tuple[float, ...]
    feasible: tuple[bool, ...]
    bottleneck: tuple[str, ...]
    latency_cycles: float
    total_energy_pj: float
    area_mm2: float
    device: str = "cpu"
    seed: int = 0
    settings: dict = field(default_factory=dict)

    @property
    def all_feasible(self) -> bool:
        return all(self.feasible)

    @property
    def latency_s(self) -> float:
        return self.latency_cycles / (self.accelerator.clock_mhz * 1e6)

    def to_rows(self) -> list[dict]:
        """One plain row per unique layer (CSV-ready): names, count, dims, mapping summary,
        cycles, energy, utilisation, bottleneck, feasible."""
        rows = []
        for i, layer in enumerate(self.table.layers):
            row = {"layer": i, "names": " ".join(self.table.names[i]),
                   "count": self.table.counts[i], "op_type": layer.op_type}
            row.update({d: getattr(layer, d) for d in DIMS})
            row.update({
                "mapping": mapping_summary(self.mappings[i]),
                "cycles": self.cycles[i], "energy_pj": self.energy_pj[i],
                "utilization": self.utilization[i], "bottleneck": self.bottleneck[i],
                "feasible": self.feasible[i],
            })
            rows.append(row)
        return rows

    def to_dict(self) -> dict:
        """JSON-ready: accelerator, settings, totals and per layer the mapping in DESIGN.md's
        JSON form with its costs."""
        layers = []
        for i, layer in enumerate(self.table.layers):
            layers.append({
                "layer": layer.to_dict(), "names": list(self.table.names[i]),
                "count": self.table.counts[i], "mapping": self.mappings[i].to_json(),
                "cycles": self.cycles[i], "energy_pj": self.energy_pj[i],
                "utilization": self.utilization[i], "bottleneck": self.bottleneck[i],
                "feasible": self.feasible[i],
            })
        return {
            "accelerator": self.accelerator.to_dict(), "objective": self.objective,
            "seed": self.seed, "device": self.device, "settings": dict(self.settings),
            "totals": {"latency_cycles": self.latency_cycles, "latency_s": self.latency_s,
                       "energy_pj": self.total_energy_pj, "area_mm2": self.area_mm2,
                       "all_feasible": self.all_feasible},
            "layers": layers,
        }


def map_layers(table: LayerTable, accelerator: Accelerator, *, objective: str = "edp",
               cost_model: CostModel | None = None, device: str = "auto", seed: int = 0,
               effort: str = "default", n_candidates: int | None = None,
               n_steps: int | None = None, cpu_threads: int | None = 1) -> LayerMappingResult:
    """Map every unique layer of ``table`` onto ``accelerator``.

    ``cost_model`` defaults to the analytical model with the accelerator's own technology
    table (`Accelerator.technology`, e.g. a YAML's ``technology:``); a spec string or a
    per-design function is accepted too (`as_cost_model`). ``effort`` names a budget in
    `EFFORTS`; ``n_candidates`` / ``n_steps`` override it. Same seed and device give the
    same mappings. On the CPU the search runs with ``cpu_threads`` torch threads (restored
    afterwards; ``None`` leaves torch's setting): the tensors are small, and one thread
    measured ~10x faster than two on a shared 2-core machine (docs/PERFORMANCE.md, "Mapper").
    """
    from codesign.device import resolve_device

    if effort not in EFFORTS:
        raise ConfigError(f"effort {effort!r}: choose one of {', '.join(EFFORTS)}")
    if objective not in LAYER_OBJECTIVES:
        raise ConfigError(f"objective {objective!r}: choose one of {', '.join(LAYER_OBJECTIVES)}")
    if cost_model is None:
        from codesign.cost.analytical import AnalyticalCostModel

        cost_model = AnalyticalCostModel(accelerator.technology)
    else:
        from codesign.cost.loading import as_cost_model

        cost_model = as_cost_model(cost_model)
    dev = resolve_device(device)
    n_cand, steps = EFFORTS[effort]
    n_cand = n_candidates if n_candidates is not None else n_cand
    steps = n_steps if n_steps is not None else steps
    lower = [name for name, (n, _) in EFFORTS.items() if n < n_cand]
    check_mapper_fits(
        n_cand, len(table), device=str(dev),
        option=f"--effort {effort}" if n_candidates is None else f"n_candidates {n_cand}",
        advice=(f"use --effort {lower[0]} or " if lower else "use ") + "a smaller model")
    hardware = HardwareBatch.from_accelerators([accelerator], device=dev)
    workload = WorkloadTensors.from_table(table, device=dev)
    generator = torch.Generator(device=dev).manual_seed(int(seed))
    saved_threads = torch.get_num_threads()
    if dev.type == "cpu" and cpu_threads is not None:
        torch.set_num_threads(cpu_threads)
    try:
        mappings, result = search_mappings(hardware, workload, cost_model, objective,
                                           n_candidates=n_cand, n_steps=steps,
                                           generator=generator)
    finally:
        torch.set_num_threads(saved_threads)
    return _result(table, accelerator, objective, mappings, result, str(dev), seed,
                   {"effort": effort, "n_candidates": n_cand, "n_steps": steps})


def _result(table: LayerTable, accelerator: Accelerator, objective: str,
            mappings: MappingBatch, result: CostResult, device: str, seed: int,
            settings: dict) -> LayerMappingResult:
    """Bring design 0 of a batched answer to plain Python (the one place that syncs)."""
    bounds = result.bounds()                                   # [B, L, 3] or None
    n_l = len(table)
    bottleneck = (tuple(BOTTLENECKS[i] for i in bounds[0].argmax(-1).tolist())
                  if bounds is not None else (UNKNOWN_BOTTLENECK,) * n_l)

    def floats(x: torch.Tensor | None) -> tuple[float, ...]:
        if x is None:
            return (math.nan,) * n_l
        return tuple(float(v) for v in x[0].tolist())

    return LayerMappingResult(
        table=table, accelerator=accelerator, objective=objective,
        mappings=tuple(mappings.mapping(0, i) for i in range(len(table))),
        cycles=floats(result.cycles), energy_pj=floats(result.energy_pj),
        utilization=floats(result.utilization),
        feasible=tuple(bool(v) for v in result.feasible[0].tolist()),
        bottleneck=bottleneck,
        latency_cycles=float(result.latency_cycles[0]),
        total_energy_pj=float(result.total_energy_pj[0]),
        area_mm2=float(result.area_mm2[0]), device=device, seed=int(seed),
        settings=settings)

