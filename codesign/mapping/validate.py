"""`mapping_problems`: every reason a mapping cannot run a layer on an accelerator.

The scalar twin of the cost model's feasibility mask (same footprint formula,
`tile_words`), for people, files and tests: it lists all problems at once.
"""

from __future__ import annotations

import math

from codesign.arch.accelerator import Accelerator
from codesign.mapping.footprint import tile_boxes, tile_words
from codesign.mapping.mapping import SPATIAL_AXES, Mapping
from codesign.workload.layer import DIMS, Layer

__all__ = ["mapping_problems"]


def mapping_problems(layer: Layer, accelerator: Accelerator, mapping: Mapping) -> list[str]:
    """What is wrong with ``mapping`` for ``layer`` on ``accelerator``; empty if it is valid.

    Checks coverage (product of a dim's factors >= the dim), the spatial products against
    ``pe_rows``/``pe_cols``, spatial dims against the dataflow, and the RF and GLB tiles
    (sum over W, I, O) against ``rf_words`` (per PE) and ``glb_words``.

    >>> from codesign.arch.accelerator import Accelerator
    >>> layer = Layer.gemm(M=4, K=4, N=4)
    >>> mapping_problems(layer, Accelerator(pe_rows=4, pe_cols=4),
    ...                  Mapping.from_json({"spatial": {"rows": {"C": 4}, "cols": {"K": 4}},
    ...                                     "temporal": {"GLB": {"P": 4}}}))
    []
    >>> ws = Accelerator(pe_rows=2, pe_cols=4, dataflow="ws")
    >>> for problem in mapping_problems(layer, ws, Mapping.from_json(
    ...         {"spatial": {"rows": {"P": 4}}})):
    ...     print(problem)
    dim K: factors multiply to 1 < 4; raise a factor of K
    dim C: factors multiply to 1 < 4; raise a factor of C
    spatial rows: factors multiply to 4 > pe_rows 2; lower them
    spatial rows: dim P is not allowed by dataflow ws (rows take C R S)
    """
    problems: list[str] = []
    for d, bound in zip(DIMS, layer.dims, strict=True):
        total = mapping.total(d)
        if total < bound:
            problems.append(f"dim {d}: factors multiply to {total} < {bound}; "
                            f"raise a factor of {d}")
    allowed = {"rows": accelerator.dataflow.rows, "cols": accelerator.dataflow.cols}
    size = {"rows": accelerator.pe_rows, "cols": accelerator.pe_cols}
    for axis in SPATIAL_AXES:
        used = math.prod(mapping.factor(axis, d) for d in DIMS)
        if used > size[axis]:
            problems.append(f"spatial {axis}: factors multiply to {used} > pe_{axis} "
                            f"{size[axis]}; lower them")
        for d in DIMS:
            if mapping.factor(axis, d) > 1 and d not in allowed[axis]:
                problems.append(f"spatial {axis}: dim {d} is not allowed by dataflow "
                                f"{accelerator.dataflow.name} ({axis} take "
                                f"{' '.join(allowed[axis])})")
    rf_box, _, glb_box, _ = tile_boxes(mapping.factor_table())
    for level, box, capacity, key in (("RF", rf_box, accelerator.rf_words, "rf_words"),
                                      ("GLB", glb_box, accelerator.glb_words, "glb_words")):
        w, i, o = tile_words(*box, stride=layer.stride, dilation=layer.dilation)
        if w + i + o > capacity:
            problems.append(f"{level} tiles need {w + i + o} words (W {w}, I {i}, O {o}) > "
                            f"{key} {capacity}; shrink the {level} tile or enlarge the buffer")
    return problems
