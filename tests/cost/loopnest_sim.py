"""A deliberately naive loop-nest simulator: the oracle the analytical access counts must match.

It runs the nest of DESIGN.md (DRAM loops -> GLB loops -> spatial rows/cols -> RF loops ->
MAC) iteration by iteration and counts with Python sets: which data each tile holds, when a
tile is replaced, how many distinct words a multicast or a reduction moves. No footprint or
reload formula appears here; only the access *table* (which count goes to which level) is
DESIGN.md's, applied to the counted quantities.

Conventions (docs/COST_MODEL.md):
- the index of dim d is ((((i_DRAM * f_GLB + i_GLB) * f_rows + i_rows) * f_cols + i_cols)
  * f_RF + i_RF): every level's box is a contiguous range of each dim;
- a tile is identified by the slice of its tensor's *relevant* loop dims it covers (the
  box's origin in those dims): a new slice is a reload even if its data happen to coincide
  with the previous slice's (v1 has no reuse between consecutive tiles);
- the words of a tile are the data its iteration points touch; for inputs, the bounding
  box of the touched (n, g, c, h, w) coordinates (DESIGN.md: "the bounding box").
"""

from __future__ import annotations

import itertools
import math

from codesign.mapping.mapping import Mapping
from codesign.workload.layer import DIMS, RELEVANT_DIMS, TENSORS, Layer

_N, _G, _K, _C, _P, _Q, _R, _S = range(8)


def _touched(tensor: str, points, layer: Layer) -> set:
    """The words of ``tensor`` that the iteration points read or write."""
    if tensor == "W":
        return {(x[_G], x[_K], x[_C], x[_R], x[_S]) for x in points}
    if tensor == "O":
        return {(x[_N], x[_G], x[_K], x[_P], x[_Q]) for x in points}
    (sh, sw), (dh, dw) = layer.stride, layer.dilation
    coords = {(x[_N], x[_G], x[_C], x[_P] * sh + x[_R] * dh, x[_Q] * sw + x[_S] * dw)
              for x in points}
    # Bounding box of the touched coordinates: what v1 fetches.
    spans = [range(min(c[j] for c in coords), max(c[j] for c in coords) + 1) for j in range(5)]
    return set(itertools.product(*spans))


def _box(extents) -> list[tuple[int, ...]]:
    return list(itertools.product(*[range(e) for e in extents]))


def simulate(layer: Layer, mapping: Mapping) -> dict:
    """Count accesses of ``mapping`` on ``layer`` by running the nest.

    Returns ``{"accesses": {level: {tensor: {"reads", "writes"}}}, "useful_macs",
    "compute_cycles", "o_words", "tile_words": {box: {tensor: words}}}``.
    """
    f = {lv: [mapping.factor(lv, d) for d in DIMS] for lv in ("DRAM", "GLB", "rows", "cols", "RF")}
    bounds = layer.dims
    rf_ext = f["RF"]
    array_ext = [f["RF"][d] * f["rows"][d] * f["cols"][d] for d in range(8)]
    glb_ext = [array_ext[d] * f["GLB"][d] for d in range(8)]
    relevant = {t: [d for d in range(8) if DIMS[d] in RELEVANT_DIMS[t]] for t in TENSORS}

    # PEs: each (row, col) position gets an offset per dim inside the array box.
    row_offsets = _box(f["rows"])
    col_offsets = _box(f["cols"])
    pe_offsets = [tuple((r[d] * f["cols"][d] + c[d]) * rf_ext[d] for d in range(8))
                  for r in row_offsets for c in col_offsets]
    rf_points = _box(rf_ext)
    array_points = [tuple(o[d] + p[d] for d in range(8)) for o in pe_offsets for p in rf_points]
    glb_points = _box(glb_ext)

    loops = [(lv, DIMS.index(d), f[lv][DIMS.index(d)]) for lv in ("DRAM", "GLB")
             for d in mapping.full_order(lv) if f[lv][DIMS.index(d)] > 1]

    rf_fill = dict.fromkeys(TENSORS, 0)     # words written into all RFs
    array_words = dict.fromkeys(TENSORS, 0)  # distinct words moved GLB <-> array
    glb_fill = dict.fromkeys(TENSORS, 0)    # words moved DRAM <-> GLB
    last_rf = dict.fromkeys(TENSORS)
    last_glb = dict.fromkeys(TENSORS)
    useful = 0
    steps = 0
    all_outputs: set = set()
    tile_words = {"RF": {}, "array": {}, "GLB": {}}

    for it in itertools.product(*[range(n) for _, _, n in loops]):
        steps += 1
        i_dram, i_glb = [0] * 8, [0] * 8
        for (lv, d, _), v in zip(loops, it, strict=True):
            (i_dram if lv == "DRAM" else i_glb)[d] = v
        array_base = [(i_dram[d] * f["GLB"][d] + i_glb[d]) * array_ext[d] for d in range(8)]
        glb_base = [i_dram[d] * glb_ext[d] for d in range(8)]
        here = [tuple(array_base[d] + p[d] for d in range(8)) for p in array_points]
        useful += sum(all(x[d] < bounds[d] for d in range(8)) for x in here)
        all_outputs |= _touched("O", here, layer)
        for t in TENSORS:
            key = tuple(array_base[d] for d in relevant[t])
            if key != last_rf[t]:
                last_rf[t] = key
                per_pe = [len(_touched(t, [tuple(array_base[d] + o[d] + p[d] for d in range(8))
                                           for p in rf_points], layer)) for o in pe_offsets]
                moved = len(_touched(t, here, layer))   # multicast / spatial reduction
                rf_fill[t] += sum(per_pe)
                array_words[t] += moved
                tile_words["RF"][t] = per_pe[0]
                tile_words["array"][t] = moved
            key = tuple(glb_base[d] for d in relevant[t])
            if key != last_glb[t]:
                last_glb[t] = key
                words = len(_touched(t, [tuple(glb_base[d] + p[d] for d in range(8))
                                         for p in glb_points], layer))
                glb_fill[t] += words
                tile_words["GLB"][t] = words

    o_words = len(all_outputs)
    upd_glb, upd_dram = array_words["O"], glb_fill["O"]
    acc = {lv: {t: {} for t in TENSORS} for lv in ("RF", "GLB", "DRAM")}
    for t in ("W", "I"):
        acc["RF"][t] = {"reads": useful, "writes": rf_fill[t]}
        acc["GLB"][t] = {"reads": array_words[t], "writes": glb_fill[t]}
        acc["DRAM"][t] = {"reads": glb_fill[t], "writes": 0}
    acc["RF"]["O"] = {"reads": useful + rf_fill["O"], "writes": useful + upd_glb - o_words}
    acc["GLB"]["O"] = {"reads": upd_glb - o_words + upd_dram,
                       "writes": upd_glb + upd_dram - o_words}
    acc["DRAM"]["O"] = {"reads": upd_dram - o_words, "writes": upd_dram}
    return {"accesses": acc, "useful_macs": useful, "compute_cycles": steps * math.prod(rf_ext),
            "o_words": o_words, "tile_words": tile_words}


def random_case(rng, max_padded_macs: int = 2500) -> tuple[Layer, Mapping]:
    """A random small layer (conv, depthwise or gemm; strides, dilations) and a random
    mapping of it: every dim split over the 5 slots with ceil-padding, random loop orders.

    ``rng`` is a `random.Random`; the padded iteration space stays under ``max_padded_macs``
    so that `simulate` runs in milliseconds.
    """
    slots = ("DRAM", "GLB", "rows", "cols", "RF")
    while True:
        kind = rng.random()
        stride = (rng.randint(1, 3), rng.randint(1, 3))
        dilation = (rng.randint(1, 2), rng.randint(1, 2))
        if kind < 0.2:
            layer = Layer.depthwise(channels=rng.randint(1, 4), P=rng.randint(1, 5),
                                    Q=rng.randint(1, 4), R=rng.randint(1, 3),
                                    S=rng.randint(1, 3), N=rng.randint(1, 2),
                                    stride=stride, dilation=dilation)
        elif kind < 0.3:
            layer = Layer.gemm(M=rng.randint(1, 6), K=rng.randint(1, 6), N=rng.randint(1, 6),
                               batch=rng.randint(1, 2))
        else:
            layer = Layer.conv(N=rng.randint(1, 2), G=rng.randint(1, 2), K=rng.randint(1, 4),
                               C=rng.randint(1, 4), P=rng.randint(1, 5), Q=rng.randint(1, 4),
                               R=rng.randint(1, 3), S=rng.randint(1, 3),
                               stride=stride, dilation=dilation)
        factors: dict[str, dict[str, int]] = {s: {} for s in slots}
        for d, bound in zip(DIMS, layer.dims, strict=True):
            remaining = bound
            visit = rng.sample(slots, len(slots))
            for j, slot in enumerate(visit):
                # the last slot covers what is left; the others pick freely (ceil-padding)
                f = remaining if j == len(visit) - 1 else rng.randint(1, remaining)
                factors[slot][d] = f
                remaining = -(-remaining // f)
        mapping = Mapping.from_json({
            "spatial": {"rows": factors["rows"], "cols": factors["cols"]},
            "temporal": {lv: factors[lv] for lv in ("DRAM", "GLB", "RF")},
            "order": {lv: rng.sample(list(DIMS), len(DIMS)) for lv in ("DRAM", "GLB", "RF")},
        })
        if math.prod(mapping.total(d) for d in DIMS) <= max_padded_macs:
            return layer, mapping
