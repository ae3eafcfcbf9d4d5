"""Batched gene <-> mapping encoding: ``G`` floats in ``[0, 1]`` per layer -> a valid mapping.

Used by the joint search (mapping genes next to the HW genes of every design) and by the
mapper's random restarts. Decoding is valid by construction: every decoded mapping covers
every loop dim (products of factors >= the layer's bounds; ceil-padding allowed), unrolls
only dims the design's dataflow allows on each array axis, and fits the PE array
(product of row factors <= rows, of col factors <= cols). Buffer capacity is *not*
guaranteed: the cost model marks such mappings infeasible.

Gene layout per layer (``G = n_mapping_genes() = 184``), each gene in ``[0, 1]``:

====================  =====  ==========================================================
slice                 count  meaning
====================  =====  ==========================================================
``[0, 16)``           2 x 8  spatial dim-order keys ``[axis, dim]`` (rows, cols): dims are
                             unrolled in ascending key order, so earlier dims get first
                             claim on the array
``[16, 32)``          2 x 8  spatial size ``[axis, dim]``: log-scale position between 1
                             and the largest factor that still fits (the bottom and top
                             10% of the range map to 1 and to the largest)
``[32, 160)``         8 x 16 temporal level of the ``j``-th smallest prime factor of the
                             dim's remaining trip count ``[dim, j]``: ``[0, 1/3)`` DRAM,
                             ``[1/3, 2/3)`` GLB, ``[2/3, 1]`` RF; prime factors beyond
                             the 16th go to DRAM
``[160, 184)``        3 x 8  loop-order keys ``[level, dim]`` (DRAM, GLB, RF): loops are
                             ordered outer -> inner by ascending key
====================  =====  ==========================================================

Spatial factors are snapped to the smallest factor with the same number of temporal
iterations (``s -> ceil(D / ceil(D / s))``), so a prime dim such as 197 tokens is padded
minimally; divisors of ``D`` are always kept as they are.
"""

from __future__ import annotations

import functools
import math

import torch

from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors
from codesign.mapping.mapping import FACTOR_LEVELS, TEMPORAL_LEVELS
from codesign.workload.layer import DIMS
from codesign.workload.tensors import ceil_div

__all__ = [
    "MAX_PRIME_FACTORS",
    "decode_mapping_genes",
    "n_mapping_genes",
    "prime_factor_table",
    "prime_factors",
    "prime_prefix_products",
    "random_mappings",
    "snap_spatial",
]

N_DIMS = len(DIMS)
N_AXES = 2
N_TEMPORAL = len(TEMPORAL_LEVELS)
#: Prime-factor positions with their own level gene, per dim (2**16 > any usual trip count).
MAX_PRIME_FACTORS = 16

_SPATIAL_KEYS = slice(0, N_AXES * N_DIMS)
_SPATIAL_SIZES = slice(_SPATIAL_KEYS.stop, _SPATIAL_KEYS.stop + N_AXES * N_DIMS)
_PRIME_LEVELS = slice(_SPATIAL_SIZES.stop, _SPATIAL_SIZES.stop + N_DIMS * MAX_PRIME_FACTORS)
_ORDER_KEYS = slice(_PRIME_LEVELS.stop, _PRIME_LEVELS.stop + N_TEMPORAL * N_DIMS)
_N_GENES = _ORDER_KEYS.stop

#: Slot indices of `FACTOR_LEVELS` for the temporal levels in `TEMPORAL_LEVELS` order.
TEMPORAL_SLOTS: tuple[int, ...] = tuple(FACTOR_LEVELS.index(lv) for lv in TEMPORAL_LEVELS)
ROWS_SLOT = FACTOR_LEVELS.index("rows")
COLS_SLOT = FACTOR_LEVELS.index("cols")
#: Fraction of a size gene's range pinned to each end (factor 1 / largest factor).
_SIZE_END_MASS = 0.1


def n_mapping_genes() -> int:
    """Genes per layer, ``G`` (see the module docstring for the layout)."""
    return _N_GENES


@functools.lru_cache(maxsize=8)
def _spf_cached(n_max: int, device: str) -> torch.Tensor:
    spf = torch.arange(n_max + 1, dtype=torch.int64)
    root = math.isqrt(n_max)
    # the primes up to sqrt(n_max) in plain Python (nothing read back from a tensor)
    primes = [p for p in range(2, root + 1) if all(p % q for q in range(2, math.isqrt(p) + 1))]
    for p in primes:  # the smallest factor of its multiples not yet marked
        multiples = spf[p * p :: p]
        unmarked = multiples == torch.arange(p * p, n_max + 1, p)
        spf[p * p :: p] = torch.where(unmarked, torch.full_like(multiples, p), multiples)
    spf[:2] = 1
    return spf.to(device)


def prime_factor_table(n_max: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Smallest prime factor of every integer up to ``n_max`` (cached; 1 for 0 and 1).

    Repeated lookups factor a whole tensor of trip counts at once:
    ``p = spf[k]; k = k // p`` yields the prime factors in ascending order.

    Shape:
        ``[n_max + 1]`` int64 on ``device``.

    >>> prime_factor_table(12).tolist()
    [1, 1, 2, 3, 2, 5, 2, 7, 2, 3, 2, 11, 2]
    """
    return _spf_cached(max(int(n_max), 2), str(torch.device(device)))


def prime_factors(values: torch.Tensor, spf: torch.Tensor) -> torch.Tensor:
    """The prime factors of every value, ascending, padded with 1s, at as many positions as
    a value below ``len(spf)`` can have (at most `MAX_PRIME_FACTORS`; a value with more
    keeps the rest unfactored: divide by the product to get it). The count comes from the
    table's length, not the values, so nothing waits for the device.

    Shape:
        values: ``[...]`` int64, each below ``len(spf)``; returns ``[..., J]`` int64.

    >>> prime_factors(torch.tensor([12, 7, 1]), prime_factor_table(16)).tolist()
    [[2, 2, 3, 1], [7, 1, 1, 1], [1, 1, 1, 1]]
    """
    n_max = spf.shape[0] - 1
    if n_max <= _MAX_FACTOR_TABLE:  # one lookup in the cached table of factorisations
        table = _factorisations(n_max, str(spf.device))
        return table.index_select(0, values.reshape(-1)).view(*values.shape, table.shape[1])
    return _factor_by_division(values, spf)


def prime_prefix_products(values: torch.Tensor, spf: torch.Tensor) -> torch.Tensor:
    """Products of the first ``j`` prime factors of every value (`prime_factors`' order),
    ``j = 0 .. J``: 1, the smallest prime, ... up to the value itself (or what
    `prime_factors` factors of it); one gather in a cached table.

    Shape:
        values: ``[...]`` int64, each below ``len(spf)``; returns ``[..., J + 1]`` int64.

    >>> prime_prefix_products(torch.tensor([12, 7]), prime_factor_table(16)).tolist()
    [[1, 2, 4, 12, 12], [1, 7, 7, 7, 7]]
    """
    n_max = spf.shape[0] - 1
    if n_max <= _MAX_FACTOR_TABLE:
        table = _prefix_products(n_max, str(spf.device))
        return table.index_select(0, values.reshape(-1)).view(*values.shape, table.shape[1])
    primes = _factor_by_division(values, spf)
    return torch.cat([torch.ones_like(primes[..., :1]), primes.cumprod(-1)], -1)


@functools.lru_cache(maxsize=8)
def _prefix_products(n_max: int, device: str) -> torch.Tensor:
    """`prime_prefix_products` of every integer up to ``n_max`` (``[n_max + 1, J + 1]``)."""
    primes = _factorisations(n_max, device)
    return torch.cat([torch.ones_like(primes[:, :1]), primes.cumprod(-1)], -1)


def _factor_by_division(values: torch.Tensor, spf: torch.Tensor) -> torch.Tensor:
    """`prime_factors` by repeated division: one lookup and one division per position."""
    primes = []
    rest = values
    for _ in range(_n_prime_positions(spf)):
        p = spf[rest]
        primes.append(p)
        rest = torch.div(rest, p, rounding_mode="floor")
    return torch.stack(primes, -1)


#: Largest table `prime_factors` keeps every factorisation of (``[n + 1, J]`` int64: 16 MiB
#: at ``2**17``); a larger table factors by repeated division instead.
_MAX_FACTOR_TABLE = 1 << 17


@functools.lru_cache(maxsize=8)
def _factorisations(n_max: int, device: str) -> torch.Tensor:
    """The prime factors of every integer up to ``n_max``, ascending, 1-padded: built once
    per table size and device, so factoring a tensor is one gather (the mapper factors
    trip counts in every move, seed and decode).

    Shape:
        ``[n_max + 1, J]`` int64, ``J = _n_prime_positions``.
    """
    spf = _spf_cached(n_max, device)
    return _factor_by_division(torch.arange(n_max + 1, device=spf.device), spf)


def _n_prime_positions(spf: torch.Tensor) -> int:
    """Prime factors (with multiplicity) a value below ``len(spf)`` can have, capped at
    `MAX_PRIME_FACTORS`: ``floor(log2(len(spf) - 1))``, read from the shape (no sync).

    >>> _n_prime_positions(prime_factor_table(16)), _n_prime_positions(prime_factor_table(15))
    (4, 3)
    """
    return max(1, min(MAX_PRIME_FACTORS, (spf.shape[0] - 1).bit_length() - 1))


def snap_spatial(s: torch.Tensor, remaining: torch.Tensor) -> torch.Tensor:
    """The smallest spatial factor with as few temporal iterations as ``s``: padding-minimal.

    ``ceil(R / ceil(R / s))`` is ``<= s`` (so it still fits wherever ``s`` fits) and equals
    ``s`` when ``s`` divides ``R``.

    Shape:
        ``s``, ``remaining``: any broadcastable int64 shape; returns the broadcast shape.

    >>> snap_spatial(torch.tensor([5, 16, 14]), torch.tensor([16, 16, 197])).tolist()
    [4, 16, 14]
    """
    iters = ceil_div(remaining, s)
    return ceil_div(remaining, iters)


def decode_mapping_genes(genes: torch.Tensor, workload: WorkloadTensors,
                         hardware: HardwareBatch, *, spf: torch.Tensor | None = None
                         ) -> MappingBatch:
    """Turn genes into mappings that cover every dim and fit the array by construction.

    Pure batched torch on the genes' device; no loop over designs or layers. Equal genes
    give equal mappings whatever else is in the batch. ``spf``: a `prime_factor_table`
    covering the layers' dims on the genes' device (the mapper passes its own); without it
    one is looked up, which reads the largest dim back from the device (one sync).

    Shape:
        genes: ``[B, L, G]`` float in ``[0, 1]`` (values outside are clamped).
        workload: ``L`` layers; hardware: ``B`` designs.
        returns: `MappingBatch` with factors ``[B, L, 5, D]`` and order ``[B, L, 3, D]``.
    """
    if genes.dim() != 3 or genes.shape[2] != _N_GENES:
        raise ValueError(f"genes must be [B, L, {_N_GENES}], got {list(genes.shape)}")
    n_b, n_l = genes.shape[:2]
    if n_b != hardware.n_designs or n_l != workload.n_layers:
        raise ValueError(f"genes are for {n_b} designs x {n_l} layers but hardware has "
                         f"{hardware.n_designs} designs and the workload {workload.n_layers} "
                         "layers")
    device = genes.device
    g = genes.to(torch.float64)  # each slice is clamped to [0, 1] where it is read
    dims = workload.dims.to(device).unsqueeze(0).expand(n_b, n_l, N_DIMS)  # [B, L, D]
    allowed = hardware.spatial_allowed.to(device)  # [B, 2, D]
    array = torch.stack([hardware.pe_rows, hardware.pe_cols], dim=1).to(device)  # [B, 2]

    spatial = _decode_spatial(g, dims, allowed, array)  # [B, L, 2, D]
    iters = ceil_div(dims, spatial[:, :, 0] * spatial[:, :, 1])  # [B, L, D]
    if spf is None:
        spf = prime_factor_table(int(workload.dims.max()) if n_l else 2, device)
    temporal = _decode_temporal(g, iters, spf)  # [B, L, 3, D] DRAM, GLB, RF

    factors = torch.empty(n_b, n_l, len(FACTOR_LEVELS), N_DIMS, dtype=torch.int64,
                          device=device)
    for m, slot in enumerate(TEMPORAL_SLOTS):
        factors[:, :, slot] = temporal[:, :, m]
    factors[:, :, ROWS_SLOT] = spatial[:, :, 0]
    factors[:, :, COLS_SLOT] = spatial[:, :, 1]

    keys = g[..., _ORDER_KEYS].clamp(0.0, 1.0).view(n_b, n_l, N_TEMPORAL, N_DIMS)
    order = torch.sort(keys, dim=-1, stable=True).indices  # [B, L, 3, D]
    return MappingBatch(factors=factors, order=order)


def _decode_spatial(g: torch.Tensor, dims: torch.Tensor, allowed: torch.Tensor,
                    array: torch.Tensor) -> torch.Tensor:
    """Spatial factors ``[B, L, 2, D]``: per axis, dims in gene order claim the array."""
    n_b, n_l = g.shape[:2]
    keys = g[..., _SPATIAL_KEYS].clamp(0.0, 1.0).view(n_b, n_l, N_AXES, N_DIMS)
    sizes = g[..., _SPATIAL_SIZES].clamp(0.0, 1.0).view(n_b, n_l, N_AXES, N_DIMS)
    dim_order = torch.sort(keys, dim=-1, stable=True).indices  # [B, L, 2, D]
    # size genes to [0, 1] positions between 1 and the largest factor, all at once
    u_all = ((sizes - _SIZE_END_MASS) / (1.0 - 2 * _SIZE_END_MASS)).clamp(0.0, 1.0)
    remaining = dims  # [B, L, D] trip counts not yet unrolled
    axes = []
    for axis in range(N_AXES):
        # the axis's dims in claiming order, gathered once: column j is the j-th claimant
        claimant = dim_order[:, :, axis]  # [B, L, D]
        rem_j = remaining.gather(2, claimant)
        ok_j = allowed[:, axis].unsqueeze(1).expand(n_b, n_l, N_DIMS).gather(2, claimant)
        u_j = u_all[:, :, axis].gather(2, claimant)
        cap = array[:, axis].unsqueeze(1).expand(n_b, n_l)  # [B, L]
        claimed = []
        for j in range(N_DIMS):
            rem = rem_j[:, :, j]
            max_s = torch.where(ok_j[:, :, j], torch.minimum(cap, rem), torch.ones_like(rem))
            s = torch.exp(u_j[:, :, j] * torch.log(max_s.to(torch.float64))).round().to(
                torch.int64)
            s = snap_spatial(s.clamp(min=1).minimum(max_s), rem)
            claimed.append(s)
            cap = torch.div(cap, s, rounding_mode="floor")
        # back to dim order: the claimants are a permutation of the dims
        factors = torch.empty_like(remaining).scatter_(2, claimant, torch.stack(claimed, 2))
        axes.append(factors)
        remaining = ceil_div(remaining, factors)
    return torch.stack(axes, 2)  # [B, L, 2, D]


def _decode_temporal(g: torch.Tensor, iters: torch.Tensor, spf: torch.Tensor) -> torch.Tensor:
    """Temporal factors ``[B, L, 3, D]`` (DRAM, GLB, RF): each prime factor of the remaining
    trip count goes to the level its gene names; the product is exactly ``iters``."""
    n_b, n_l = g.shape[:2]
    primes = prime_factors(iters, spf)  # [B, L, D, J] ascending, 1-padded
    n_j = primes.shape[-1]
    genes = g[..., _PRIME_LEVELS].unflatten(-1, (N_DIMS, MAX_PRIME_FACTORS))[..., :n_j]
    # floor(3 g) for g clamped to [0, 1], level 3 (g = 1) counted as the RF: truncation of
    # 3 g clamped to [0, 2.5] gives the same
    levels = (genes * N_TEMPORAL).clamp_(0.0, N_TEMPORAL - 0.5).to(torch.int64)
    temporal = torch.ones(n_b, n_l, N_DIMS, N_TEMPORAL, dtype=torch.int64, device=g.device)
    temporal = temporal.scatter_reduce(-1, levels, primes, reduce="prod")  # [B, L, D, 3]
    temporal = temporal.transpose(2, 3).contiguous()  # [B, L, 3, D]
    # what is left beyond the last prime position: DRAM
    temporal[:, :, 0] *= torch.div(iters, primes.prod(-1), rounding_mode="floor")
    return temporal


def random_mappings(workload: WorkloadTensors, hardware: HardwareBatch, n: int,
                    generator: torch.Generator) -> MappingBatch:
    """``n`` random valid mappings per design, from uniform genes.

    Layout: design-major, candidate-minor: row ``b * n + i`` holds candidate ``i`` of design
    ``b`` (the layout of ``hardware.repeat_interleave(n)``). Random numbers come from
    ``generator`` on its device.

    Shape:
        returns: `MappingBatch` ``[B * n, L]``.
    """
    n_b, n_l = hardware.n_designs, workload.n_layers
    genes = torch.rand(n_b * n, n_l, _N_GENES, generator=generator, device=generator.device,
                       dtype=torch.float64)
    return decode_mapping_genes(genes, workload, hardware.repeat_interleave(n))
