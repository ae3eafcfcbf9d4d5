"""`systolic_mapping`: the textbook mapping of a layer onto a systolic array with a fixed
dataflow, as SCALE-Sim schedules it.

SCALE-Sim lowers a layer to a GEMM (im2col) and maps, per dataflow, one GEMM axis onto the
array rows (``Sr``), one onto the cols (``Sc``) and streams the third (``T``) through it,
looping over the folds with the col folds outermost (``scalesim/compute/systolic_compute_*``):

======  ==============  ==============  ================  ===================
flow    rows (Sr)       cols (Sc)       streamed (T)      stationary tensor
======  ==============  ==============  ================  ===================
ws      C, R, S         K               N, P, Q           W
os      N, P, Q         K               C, R, S           O
is      C, R, S         N, P, Q         K                 I
======  ==============  ==============  ================  ===================

codesign's spatial factors are per dim, so the flattened axis is approximated: each
axis gets the spatial factors whose folds in the systolic cost model's flattened view
(`codesign.cost.systolic`) are fewest, which equals SCALE-Sim's ``ceil(Sr / rows)`` whenever
the array is wide enough to give every dim of extent > 1 a factor > 1; ties go to the fewest
per-dim folds (what the v1 access counts see), then to the least ceil-padding.
All temporal loops sit at the GLB level (RF and DRAM factors 1:
operands stream through the PEs, nothing is kept per PE but the stationary word), ordered
groups, col-fold dims, row-fold dims, streamed dims (outer -> inner).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from codesign.errors import MappingError
from codesign.mapping.mapping import Mapping
from codesign.workload.layer import Layer

__all__ = ["SYSTOLIC_AXES", "systolic_mapping"]

#: Per dataflow: dims on the rows, dims on the cols, streamed dims (SCALE-Sim's conv-to-GEMM).
SYSTOLIC_AXES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "ws": (("C", "R", "S"), ("K",), ("N", "P", "Q")),
    "os": (("N", "P", "Q"), ("K",), ("C", "R", "S")),
    "is": (("C", "R", "S"), ("N", "P", "Q"), ("K",)),
}


def _pack(extents: Sequence[int], capacity: int) -> tuple[int, ...]:
    """Spatial factors for dims of these extents on an axis of ``capacity`` PEs.

    Best first: fewest folds in the flattened view (``ceil(prod D / capacity)`` over the dims
    with a factor > 1, times the extents of the others), then fewest per-dim folds
    ``prod(ceil(D / s))`` (what the v1 access counts see), then least padded volume
    ``prod(ceil(D / s) * s)``.

    >>> _pack([3, 7, 7], 32), _pack([64, 3, 3], 32), _pack([12544], 32)
    ((3, 2, 4), (32, 1, 1), (32,))
    """
    best_key, best = None, (1,) * len(extents)

    def visit(i: int, room: int, chosen: tuple[int, ...]) -> None:
        nonlocal best_key, best
        if i == len(extents):
            pairs = list(zip(chosen, extents, strict=True))
            flat = -(-math.prod(d for s, d in pairs if s > 1) // capacity) * math.prod(
                d for s, d in pairs if s == 1)
            folds = math.prod(-(-d // s) for s, d in pairs)
            padded = math.prod(-(-d // s) * s for s, d in pairs)
            key = (flat, folds, padded)
            if best_key is None or key < best_key:
                best_key, best = key, chosen
            return
        for s in range(1, min(extents[i], room) + 1):
            visit(i + 1, room // s, (*chosen, s))

    visit(0, capacity, ())
    return best


def systolic_mapping(layer: Layer, dataflow: str, pe_rows: int, pe_cols: int) -> Mapping:
    """The mapping of ``layer`` that corresponds to SCALE-Sim's ``dataflow`` on a
    ``pe_rows x pe_cols`` array (see the module docstring).

    >>> m = systolic_mapping(Layer.gemm(M=4, K=4, N=4), "ws", 2, 2)
    >>> m.to_json()["spatial"], m.to_json()["temporal"]["GLB"]
    ({'rows': {'C': 2}, 'cols': {'K': 2}}, {'K': 2, 'C': 2, 'P': 4})
    """
    try:
        rows_dims, cols_dims, stream_dims = SYSTOLIC_AXES[dataflow]
    except KeyError:
        raise MappingError(f"systolic_mapping: unknown dataflow {dataflow!r}; choose one of "
                           f"{', '.join(SYSTOLIC_AXES)}") from None
    if pe_rows < 1 or pe_cols < 1:
        raise MappingError(f"systolic_mapping: array must be at least 1 x 1, got "
                           f"{pe_rows} x {pe_cols}")
    spatial: dict[str, dict[str, int]] = {}
    glb: dict[str, int] = {}
    for axis, dims, capacity in (("rows", rows_dims, pe_rows), ("cols", cols_dims, pe_cols)):
        factors = _pack([getattr(layer, d) for d in dims], capacity)
        spatial[axis] = {d: s for d, s in zip(dims, factors, strict=True) if s > 1}
    unrolled = {**spatial["rows"], **spatial["cols"]}
    order = ("G", *cols_dims, *rows_dims, *stream_dims)
    for d in order:
        t = -(-getattr(layer, d) // unrolled.get(d, 1))
        if t > 1:
            glb[d] = t
    return Mapping(spatial={a: f for a, f in spatial.items() if f},
                   temporal={"GLB": glb} if glb else {},
                   order={"GLB": tuple(d for d in order if d in glb)})
