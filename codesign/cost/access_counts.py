"""Tile footprints, reloads and the access table of DESIGN.md v1, as pure batched functions.

Everything here is integer arithmetic when the factors are int64 (counts stay exact, as the
loop-nest simulator checks) and plain differentiable float arithmetic when the factors are a
continuous relaxation: products, sums and ``where`` only, no integer-only ops.

Shapes: ``[...]`` is any batch shape, usually ``[B, L]``; ``F = 5`` factor slots (DRAM, GLB,
rows, cols, RF), ``D = 8`` dims, ``T = 3`` tensors (W, I, O).
"""

from __future__ import annotations

import torch

from codesign.mapping.footprint import tile_words
from codesign.workload.layer import DIMS, RELEVANT_DIMS, TENSORS

__all__ = [
    "BOX_LEVELS",
    "RELOAD_LEVELS",
    "access_counts",
    "box_extents",
    "relevance",
    "reloads",
    "tiles",
]

#: Boxes whose footprints `tiles` returns, inner to outer: per-PE RF box, RF x spatial box
#: (all PEs in one step), RF x spatial x GLB box, the whole (ceil-padded) iteration space.
BOX_LEVELS: tuple[str, ...] = ("RF", "array", "GLB", "whole")
#: Levels whose reloads `reloads` returns.
RELOAD_LEVELS: tuple[str, ...] = ("RF", "GLB")

_DRAM, _GLB, _ROWS, _COLS, _RF = range(5)


def relevance(device: torch.device | str | None = None) -> torch.Tensor:
    """``[T, D]`` bool: dim ``d`` indexes tensor ``t`` (W <- G K C R S, I <- N G C P Q R S,
    O <- N G K P Q)."""
    return torch.tensor([[d in RELEVANT_DIMS[t] for d in DIMS] for t in TENSORS],
                        dtype=torch.bool, device=device)


def box_extents(factors: torch.Tensor) -> torch.Tensor:
    """Per-dim extents of the boxes of `BOX_LEVELS`.

    Shape:
        factors: ``[..., F, D]`` in `FACTOR_LEVELS` order (DRAM, GLB, rows, cols, RF).
        returns: ``[..., 4, D]`` (RF, array, GLB, whole).
    """
    rf = factors[..., _RF, :]
    array = rf * factors[..., _ROWS, :] * factors[..., _COLS, :]
    glb = array * factors[..., _GLB, :]
    whole = glb * factors[..., _DRAM, :]
    return torch.stack((rf, array, glb, whole), dim=-2)


def tiles(factors: torch.Tensor, stride: torch.Tensor, dilation: torch.Tensor) -> torch.Tensor:
    """Words of W, I, O in each box of `BOX_LEVELS` (inputs: the bounding box, no halo reuse).

    Shape:
        factors: ``[..., F, D]``; stride, dilation: ``[..., 2]`` (rows, cols), broadcastable
            against ``factors[..., 0, 0]`` (e.g. ``[L, 2]`` against ``[B, L, F, D]``).
        returns: ``[..., 4, T]``.
    """
    ext = box_extents(factors)                                            # [..., 4, D]
    per_dim = ext.unbind(-1)
    sh, sw = (x.unsqueeze(-1) for x in stride.unbind(-1))                 # [..., 1]
    dh, dw = (x.unsqueeze(-1) for x in dilation.unbind(-1))
    w, i, o = tile_words(*per_dim, stride=(sh, sw), dilation=(dh, dw))    # [..., 4] each
    return torch.stack((w, i, o), dim=-1)


def _positions(order: torch.Tensor) -> torch.Tensor:
    """Inverse permutation: ``pos[..., d]`` is the place (0 = outermost) of dim ``d``."""
    ranks = torch.arange(order.shape[-1], device=order.device).expand_as(order)
    return torch.empty_like(order).scatter_(-1, order, ranks)


def reloads(factors: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """How many times each tensor's RF and GLB tiles are (re)filled.

    Walk the temporal loops above the level from innermost outward; loops irrelevant to the
    tensor or with factor 1 are skipped until the first relevant loop with factor > 1; from
    there every loop's factor multiplies. None -> 1. Above RF: the GLB loops, then the DRAM
    loops; above GLB: the DRAM loops.

    Shape:
        factors: ``[..., F, D]``; order: ``[..., M, D]`` dim indices outer -> inner per
            temporal level (DRAM, GLB, RF).
        returns: ``[..., 2, T]`` (RF, GLB).
    """
    rel = relevance(factors.device)                                       # [T, D]
    out = []
    found = None
    acc = None
    # inner -> outer: GLB (answer for RF so far), then DRAM (answer for both).
    for slot, m in ((_GLB, 1), (_DRAM, 0)):
        f = factors[..., slot, :].unsqueeze(-2)                           # [..., 1, D]
        pos = _positions(order[..., m, :]).unsqueeze(-2)                  # [..., 1, D]
        active = rel & (f > 1)                                            # [..., T, D]
        last = torch.where(active, pos, -1).amax(-1, keepdim=True)        # [..., T, 1]
        partial = torch.where(pos <= last, f, 1).prod(-1)                 # [..., T]
        hit = last.squeeze(-1) >= 0                                       # [..., T]
        if acc is None:
            acc, found = partial, hit
        else:
            total = f.prod(-1)                                            # [..., 1]
            acc = acc * torch.where(found, total, partial)
            out.append(acc)
            out.append(partial)   # reloads above GLB: the DRAM loops alone
    return torch.stack(out, dim=-2)


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
    return torch.stack(rows, dim=-1).unflatten(-1, (3, 3, 2))
