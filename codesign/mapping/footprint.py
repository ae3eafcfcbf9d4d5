"""Tile boxes and footprints: the per-dim extents of the iteration box each level holds
(`tile_boxes`), and how many words of W, I and O a box touches (`tile_words`, DESIGN.md v1).

One formula of each serves both the scalar checks (`mapping_problems`, plain ints) and the batched
cost model (torch tensors of any shape and dtype), so the two can never drift apart. It lives
in ``mapping/`` because validating a mapping needs it and ``mapping/`` must not import
``cost/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from codesign.mapping.mapping import FACTOR_LEVELS

__all__ = ["BOX_LEVELS", "input_extent", "tile_boxes", "tile_words"]

#: An int, a float or a torch tensor: anything with ``+ - *``.
Num = TypeVar("Num")

#: The boxes `tile_boxes` gives, inner to outer: one PE's RF tile; the RF tiles of all PEs
#: in one step (RF x spatial); the GLB tile (RF x spatial x GLB); the whole (ceil-padded)
#: iteration space.
BOX_LEVELS: tuple[str, ...] = ("RF", "array", "GLB", "whole")
_SLOT = {name: i for i, name in enumerate(FACTOR_LEVELS)}


def _times(a: Any, b: Any) -> Any:
    """Elementwise product of two rows of ``D`` extents (lists, or tensors in one op)."""
    if isinstance(a, (list, tuple)):
        return [x * y for x, y in zip(a, b, strict=True)]
    return a * b


def tile_boxes(slots: Sequence[Any]) -> tuple[Any, Any, Any, Any]:
    """Per-dim extents of the boxes of `BOX_LEVELS` (RF, array, GLB, whole), from a nest's
    factors: the one definition of which loops a level's tile spans (every factor at or
    inside it).

    ``slots`` holds one row of ``D`` factors per `FACTOR_LEVELS` slot (DRAM, GLB, rows,
    cols, RF): lists of ints (`Mapping.factor_table`), or a ``[F, D, ...]`` tensor, whose
    rows multiply in one op each; each box is then a row of the same kind.

    >>> rf, array, glb, whole = tile_boxes([[2, 1], [3, 1], [1, 4], [1, 1], [1, 5]])
    >>> rf, array, glb, whole
    ([1, 5], [1, 20], [3, 20], [6, 20])
    """
    rf = slots[_SLOT["RF"]]
    array = _times(_times(rf, slots[_SLOT["rows"]]), slots[_SLOT["cols"]])
    glb = _times(array, slots[_SLOT["GLB"]])
    return rf, array, glb, _times(glb, slots[_SLOT["DRAM"]])


def input_extent(p: Num, r: Num, stride: Num, dilation: Num) -> Num:
    """Input rows (or cols) a box of ``p`` output rows and ``r`` filter rows reads.

    The bounding box ``(p - 1) * stride + (r - 1) * dilation + 1``, also where a stride larger
    than the filter skips rows (v1 fetches the whole bounding box).

    >>> input_extent(4, 3, 1, 1), input_extent(2, 1, 3, 1), input_extent(1, 2, 1, 3)
    (6, 4, 4)
    """
    return (p - 1) * stride + (r - 1) * dilation + 1


def tile_words(n: Num, g: Num, k: Num, c: Num, p: Num, q: Num, r: Num, s: Num,
               stride: tuple[Num, Num], dilation: tuple[Num, Num]) -> tuple[Num, Num, Num]:
    """Words of W, I and O in an iteration box with extents ``n g k c p q r s``.

    W[G,K,C,R,S], I[N,G,C,H,W] (H, W by `input_extent`), O[N,G,K,P,Q]. Extents may be ints
    or tensors of one shape (then each result has that shape); ``stride`` and ``dilation``
    are (rows, cols) pairs of the same kinds.

    >>> tile_words(1, 1, 2, 3, 4, 4, 3, 3, (1, 1), (1, 1))   # W 2*3*9, I 3*6*6, O 2*16
    (54, 108, 32)
    """
    w = g * k * c * r * s
    i = n * g * c * input_extent(p, r, stride[0], dilation[0]) * input_extent(
        q, s, stride[1], dilation[1])
    o = n * g * k * p * q
    return w, i, o
