"""Tile footprints: how many words of W, I and O an iteration box touches (DESIGN.md v1).

One formula serves both the scalar checks (`mapping_problems`, plain ints) and the batched
cost model (torch tensors of any shape and dtype), so the two can never drift apart. It lives
in ``mapping/`` because validating a mapping needs it and ``mapping/`` must not import
``cost/``.
"""

from __future__ import annotations

from typing import TypeVar

__all__ = ["input_extent", "tile_words"]

#: An int, a float or a torch tensor: anything with ``+ - *``.
Num = TypeVar("Num")


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
