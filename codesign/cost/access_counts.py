"""Tile footprints, reloads and the access table of DESIGN.md v1, as pure batched functions.

Integer factors give exact int64 counts (computed in float64, exact below 2**53, as the
loop-nest simulator checks); float factors (a continuous relaxation) give float counts
through plain differentiable arithmetic: products, sums, gathers and ``where`` only.

Shapes: ``[...]`` is any batch shape, usually ``[B, L]``; ``F = 5`` factor slots (DRAM, GLB,
rows, cols, RF), ``D = 8`` dims, ``T = 3`` tensors (W, I, O).
"""

from __future__ import annotations

import torch

from codesign.hierarchy.v1 import V1_LEVELS
from codesign.mapping.footprint import BOX_LEVELS, tile_boxes, tile_words
from codesign.workload.layer import DIMS, RELEVANT_DIMS, TENSORS

__all__ = [
    "BOX_LEVELS",
    "RELOAD_LEVELS",
    "access_counts",
    "box_extents",
    "relevance",
    "reloads",
    "soa_view",
    "tiles",
]

#: Levels whose reloads `reloads` returns: the buffers below DRAM, inner to outer.
RELOAD_LEVELS: tuple[str, ...] = V1_LEVELS[:0:-1]

_DRAM, _GLB, _ROWS, _COLS, _RF = range(5)
#: Bit t of ``_RELEVANCE_BITS[d]`` is set when dim ``d`` indexes tensor ``t``.
_RELEVANCE_BITS: tuple[int, ...] = tuple(
    sum(1 << j for j, t in enumerate(TENSORS) if d in RELEVANT_DIMS[t]) for d in DIMS)


def relevance(device: torch.device | str | None = None) -> torch.Tensor:
    """``[T, D]`` bool: dim ``d`` indexes tensor ``t`` (W <- G K C R S, I <- N G C P Q R S,
    O <- N G K P Q)."""
    return torch.tensor([[d in RELEVANT_DIMS[t] for d in DIMS] for t in TENSORS],
                        dtype=torch.bool, device=device)


def _soa(x: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``[..., A, D]`` -> contiguous ``[A, D, ...]`` (cast to ``dtype``): every (slot, dim)
    value of the batch becomes one contiguous vector, so elementwise ops stream memory. Free
    when ``x`` already has that storage and dtype (see `soa_view`); otherwise one 2-D
    transpose, the cheapest copy."""
    lead = x.shape[-2:]
    moved = x.movedim((-2, -1), (0, 1))
    if moved.is_contiguous():
        return moved.to(dtype) if dtype is not None else moved
    flat = x.reshape(-1, lead[0] * lead[1]).T                             # [A*D, N]
    out = flat.to(dtype, memory_format=torch.contiguous_format) if dtype is not None \
        else flat.contiguous()
    return out.view(*lead, *x.shape[:-2])


def soa_view(x: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """The same ``[..., A, D]`` values with structure-of-arrays storage ``[A, D, ...]``.

    Every function of this module (and the cost model) then reads contiguous ``[B, L]``
    vectors without copying. Producers of large batches (mapping decoders) can build their
    factors this way from the start and skip the transpose entirely.
    """
    return _soa(x, dtype).movedim((0, 1), (-2, -1))


def _stacked(rows: list[torch.Tensor], *shape: int) -> torch.Tensor:
    """Stack ``[...]`` tensors on a new leading axis, shape it ``[*shape, ...]`` and return
    the ``[..., *shape]`` view (contiguous per entry, strided over the batch)."""
    out = torch.stack(rows).unflatten(0, shape)
    return out.movedim(tuple(range(len(shape))), tuple(range(-len(shape), 0)))


def _work(factors: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """SoA factors in the working dtype, and whether they are exact integers.

    Integer factors are counted in float64 (exact below 2**53 words, and float64
    arithmetic vectorizes better than int64 on CPUs); results go back to int64.
    """
    exact = not factors.is_floating_point()
    return _soa(factors, torch.float64 if exact else None), exact


def _out(x: torch.Tensor, exact: bool) -> torch.Tensor:
    return x.to(torch.int64) if exact else x


def box_extents(factors: torch.Tensor) -> torch.Tensor:
    """Per-dim extents of the boxes of `BOX_LEVELS`.

    Shape:
        factors: ``[..., F, D]`` in `FACTOR_LEVELS` order (DRAM, GLB, rows, cols, RF).
        returns: ``[..., 4, D]`` (RF, array, GLB, whole).
    """
    boxes = tile_boxes(_soa(factors))                                     # 4 x [D, ...]
    return _stacked([row for box in boxes for row in box], len(BOX_LEVELS), len(DIMS))


def tiles(factors: torch.Tensor, stride: torch.Tensor, dilation: torch.Tensor) -> torch.Tensor:
    """Words of W, I, O in each box of `BOX_LEVELS` (inputs: the bounding box, no halo reuse).

    Shape:
        factors: ``[..., F, D]``; stride, dilation: ``[..., 2]`` (rows, cols), broadcastable
            against ``factors[..., 0, 0]`` (e.g. ``[L, 2]`` against ``[B, L, F, D]``).
        returns: ``[..., 4, T]``, int64 for integer factors, else the factors' dtype.
    """
    f, exact = _work(factors)                                             # [F, D, ...]
    pair = (stride[..., 0], stride[..., 1])                               # [...] each
    dil = (dilation[..., 0], dilation[..., 1])
    rows = []
    for box in tile_boxes(f):                                             # [D, ...] each
        rows.extend(tile_words(*box, stride=pair, dilation=dil))
    rows = torch.broadcast_tensors(*rows)
    return _out(_stacked(list(rows), len(BOX_LEVELS), len(TENSORS)), exact)


def reloads(factors: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """How many times each tensor's RF and GLB tiles are (re)filled.

    Walk the temporal loops above the level from innermost outward; loops irrelevant to the
    tensor or with factor 1 are skipped until the first relevant loop with factor > 1; from
    there every loop's factor multiplies. None -> 1. Above RF: the GLB loops, then the DRAM
    loops; above GLB: the DRAM loops.

    Computed per temporal level as a prefix product of the factors in loop order, read at
    the innermost "active" loop (relevant, factor > 1), found from one packed bitmask.

    Shape:
        factors: ``[..., F, D]``; order: ``[..., M, D]`` dim indices outer -> inner per
            temporal level (DRAM, GLB, then RF, which v1 ignores; ``M >= 2``).
        returns: ``[..., 2, T]`` (RF, GLB), int64 for integer factors.
    """
    f, exact = _work(factors)                                             # [F, D, ...]
    o = _soa(order)                                                       # [M, D, ...]
    shape = (len(DIMS),) + (1,) * (f.dim() - 2)
    bits = torch.tensor(_RELEVANCE_BITS, device=f.device, dtype=f.dtype).view(shape)
    weights = torch.tensor([8.0 ** j for j in range(len(DIMS))], device=f.device,
                           dtype=torch.float64).view(shape)              # [D, 1...]
    partial, total, found = {}, {}, {}
    for slot, m in ((_DRAM, 0), (_GLB, 1)):
        if exact:
            # factor * 8 + relevance bits: one gather puts both in loop order (exact ints).
            both = (f[slot] * 8 + bits).gather(0, o[m])                   # [D, ...]
            in_order = torch.div(both, 8, rounding_mode="floor")
            code = both - in_order * 8
        else:   # relaxed factors: gather them alone, so autograd sees them untouched
            in_order = f[slot].gather(0, o[m])                            # [D, ...]
            code = bits.expand_as(in_order).gather(0, o[m])
        prefix = in_order.cumprod(0)                                      # [D, ...]
        total[m] = prefix[-1]
        # One int per mapping packs "loop j is active for tensor t" into bit 3j + t.
        packed = ((in_order > 1) * code.to(torch.float64) * weights).sum(0).to(torch.int32)
        for t in range(len(TENSORS)):
            mask = sum(1 << (3 * j + t) for j in range(len(DIMS)))
            # highest set bit 3 * last + t via the float exponent (exact: < 2**24)
            _, exponent = torch.frexp((packed & mask).to(torch.float32))
            last = torch.div(exponent - 1 - t, 3, rounding_mode="floor")  # [...] -1: none
            found[m, t] = last >= 0
            picked = prefix.gather(0, last.clamp(min=0).to(torch.int64).unsqueeze(0)).squeeze(0)
            partial[m, t] = torch.where(found[m, t], picked, 1)           # [...]
    rows = [partial[1, t] * torch.where(found[1, t], total[0], partial[0, t])
            for t in range(len(TENSORS))]                                 # above RF
    rows += [partial[0, t] for t in range(len(TENSORS))]                  # above GLB
    return _out(_stacked(rows, len(RELOAD_LEVELS), len(TENSORS)), exact)


def access_counts(tile: torch.Tensor, reload: torch.Tensor, n_pes: torch.Tensor,
                  useful_macs: torch.Tensor) -> torch.Tensor:
    """The access table of DESIGN.md: reads and writes per level and tensor.

    ``updates_GLB = reloads(O, RF) * tile(O, array)`` (spatial reduction),
    ``updates_DRAM = reloads(O, GLB) * tile(O, GLB)``; a first visit of an output needs no
    read, so partial sums read back are ``updates - |O|``.

    Shape:
        tile: ``[..., 4, T]`` from `tiles`; reload: ``[..., 2, T]`` from `reloads`;
        n_pes: ``[...]`` PEs the mapping uses (product of the spatial factors);
        useful_macs: broadcastable to ``[...]``.
        returns: ``[..., 3, 3, 2]`` (level RF/GLB/DRAM, tensor W/I/O, reads/writes).
    """
    t_rf, t_array, t_glb, t_whole = tile.unbind(-2)                      # [..., T]
    r_rf, r_glb = reload.unbind(-2)                                       # [..., T]
    rf_fill = r_rf * t_rf * n_pes.unsqueeze(-1)                           # [..., T]
    glb_send = r_rf * t_array                                             # [..., T]
    dram_send = r_glb * t_glb                                             # [..., T]
    o_words = t_whole[..., 2]                                             # [...]
    macs = torch.broadcast_to(useful_macs.to(tile.dtype), o_words.shape)  # [...]
    upd_glb, upd_dram = glb_send[..., 2], dram_send[..., 2]
    zero = torch.zeros_like(o_words)
    rows = [
        # RF
        macs, rf_fill[..., 0], macs, rf_fill[..., 1],
        macs + rf_fill[..., 2], macs + (upd_glb - o_words),
        # GLB
        glb_send[..., 0], dram_send[..., 0], glb_send[..., 1], dram_send[..., 1],
        (upd_glb - o_words) + upd_dram, upd_glb + (upd_dram - o_words),
        # DRAM
        dram_send[..., 0], zero, dram_send[..., 1], zero, upd_dram - o_words, upd_dram,
    ]
    return _stacked(list(torch.broadcast_tensors(*rows)), 3, len(TENSORS), 2)
