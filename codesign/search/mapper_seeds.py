"""The mapper's starting points: the greedy seed, the classic seeds grown to fill the
buffers, and known mappings made to fit other arrays (`fit_to_array`).

`codesign.search.mapper.search_mappings` puts `seed_mappings` first in its population.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from codesign.mapping.batch import HardwareBatch, WorkloadTensors
from codesign.mapping.encoding import (
    COLS_SLOT,
    ROWS_SLOT,
    TEMPORAL_SLOTS,
    n_mapping_genes,
    prime_factor_table,
    prime_factors,
    prime_prefix_products,
)
from codesign.workload.layer import DIMS

__all__ = ["N_SEEDS", "fill_buffers", "fit_to_array", "greedy_genes", "seed_mappings"]

_N_DIMS = len(DIMS)

#: Loop-dim orders in which `fill_buffers` grows the RF and then the GLB tiles of the
#: greedily unrolled seed: filter dims first (weights stay close), or channels first.
_FILL_ORDERS: tuple[tuple[str, ...], ...] = (tuple("SRCKQPNG"), tuple("KCSRQPNG"))
#: The classic starting points, most promising first (`seed_mappings` builds them).
N_SEEDS = 7


def greedy_genes(workload: WorkloadTensors, device) -> torch.Tensor:
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


def seed_mappings(greedy: torch.Tensor, workload: WorkloadTensors, hardware: HardwareBatch,
                   spf: torch.Tensor, n_seeds: int,
                   ones: frozenset[str] = frozenset()) -> torch.Tensor:
    """The first ``n_seeds`` classic starting points, built from the greedy seed's factors
    (the array filled greedily, the rest at DRAM; their loops keep the dims' order):

    0. greedy, its tiles grown by `fill_buffers` in ``_FILL_ORDERS[0]``;
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
        grown = fill_buffers(greedy.unsqueeze(1).expand(-1, len(filled), -1, -1, -1),
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


#: Seed positions that `fill_buffers` grows, with the dim order it uses.
_FILLED_SEEDS: dict[int, tuple[str, ...]] = {0: _FILL_ORDERS[0], 2: _FILL_ORDERS[1]}


def fill_buffers(f: torch.Tensor, workload: WorkloadTensors, hardware: HardwareBatch,
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
