"""`nest_counts` equals, exactly, what the naive loop-nest simulator (`nest_sim`) counts.

400 seeded random (hierarchy, layer, mapping) cases, each with halo on and off: every
(level, tensor) read, fill and update, the tiles, the utilized instances and the computes.
Counts where input windows *alias* (`nest_sim.simulate`, ``aliased``: identical data
reached through different index slices) are covered too, and checked apart as well.
"""

from __future__ import annotations

import functools
import random

import pytest
import torch
from nest_sim import COUNTS, Case, random_case, simulate, walk

from codesign.hierarchy import (
    Compute,
    CountingRules,
    FanOut,
    Hierarchy,
    LoopNest,
    NestBatch,
    StorageLevel,
    nest_counts,
)
from codesign.workload.layer import DIMS, TENSORS

N_CASES = 400
CHUNK = 50

CASES = [random_case(random.Random(20261202 + i)) for i in range(N_CASES)]


@functools.cache
def _simulated(i: int) -> dict[bool, dict]:
    levels = walk(CASES[i])
    return {halo: simulate(CASES[i], halo, levels=levels) for halo in (True, False)}


def _closed_form(case: Case, halo: bool, own_keep: bool = False) -> dict:
    """`nest_counts` of one case, its batch built directly from tensors (``own_keep``:
    keep None, the hierarchy's own keep sets, where the mapping chose those)."""
    keep = None if own_keep and case.keep == case.hierarchy.keep_mask else \
        torch.tensor([[case.keep]])
    batch = NestBatch(torch.tensor([[case.factors]]), torch.tensor([[case.order]]), keep)
    out = nest_counts(case.hierarchy, batch.factors, batch.order, batch.keep,
                      torch.tensor([case.stride]), torch.tensor([case.dilation]),
                      CountingRules(halo=halo))
    res = {k: getattr(out, k)[0, 0].tolist() for k in (*COUNTS, "tile", "utilized")}
    res["computes"] = out.computes[0, 0].item()
    return res


def _entries(sim: dict, got: dict):
    """(count, level, tensor, simulated, closed form, aliasing kinds) of every count."""
    for count in COUNTS:
        for m, (row_s, row_g) in enumerate(zip(sim[count], got[count], strict=True)):
            for t, a, b in zip(TENSORS, row_s, row_g, strict=True):
                yield count, m, t, a, b, sim["aliased"].get((count, m, t), set())


def test_cases_cover_the_interesting_features():
    """The random cases really contain what the closed form must get right."""
    def n(pred):
        return sum(1 for c in CASES if pred(c))
    assert n(lambda c: c.stride != (1, 1)) > 200
    assert n(lambda c: c.dilation != (1, 1)) > 200
    assert n(lambda c: c.dims[1] > 1 and c.dims[2] == c.dims[3] == 1) > 40      # depthwise
    padded = n(lambda c: any(
        _total(c, d) > bound for d, bound in enumerate(c.dims)))
    assert padded > 150
    for k in range(3):
        assert n(lambda c, k=k: len(c.hierarchy.fanouts) == k) > 50
    for k in range(1, 6):
        assert n(lambda c, k=k: len(c.hierarchy.levels) == k) > 40
    assert n(lambda c: any(not all(row) for row in c.keep)) > 200                # bypass
    assert n(lambda c: c.keep != c.hierarchy.keep_mask) > 50         # the mapping's choice
    assert n(lambda c: any(not (f.multicast and f.reduce) for f in c.hierarchy.fanouts)) > 40
    # a fan-out right above the compute units, and two fan-outs with no level between
    assert n(lambda c: not isinstance(c.hierarchy.nodes[-1], StorageLevel)) > 50
    assert n(lambda c: any(isinstance(a, FanOut) and isinstance(b, FanOut) for a, b in
                           zip(c.hierarchy.nodes[:-1], c.hierarchy.nodes[1:],
                               strict=True))) > 20
    kinds = [k for i in range(N_CASES) for ks in _simulated(i)[True]["aliased"].values()
             for k in ks]
    for kind in ("temporal", "spatial", "spatial-across"):
        assert kinds.count(kind) > 5, kind


def _total(case: Case, d: int) -> int:
    out = 1
    for row in case.factors:
        out *= row[d]
    return out


@pytest.mark.parametrize("start", range(0, N_CASES, CHUNK))
@pytest.mark.parametrize("halo", [True, False], ids=["halo", "no-halo"])
def test_counts_match_the_simulator(start, halo):
    bad = []
    for i in range(start, start + CHUNK):
        case, sim = CASES[i], _simulated(i)[halo]
        got = _closed_form(case, halo, own_keep=i % 2 == 1)
        assert got["utilized"] == sim["utilized"], case.describe()
        assert got["computes"] == sim["computes"], case.describe()
        assert got["tile"] == sim["tile"], case.describe()
        for count, m, t, a, b, _kinds in _entries(sim, got):
            if a != b:
                bad.append(f"case {i}: {count}[{case.hierarchy.level_names[m]}][{t}] "
                           f"simulated {a}, nest_counts {b}: {case.describe()}")
    assert not bad, "\n".join(bad[:5])


def test_aliased_counts_match_the_simulator():
    """Aliased windows too: the simulator groups per fan-out and refetches after a carry
    that moves an index, as Timeloop does, and so does the closed form."""
    bad = []
    for i in range(N_CASES):
        for halo in (True, False):
            sim = _simulated(i)[halo]
            got = _closed_form(CASES[i], halo)
            bad += [(i, halo, c, m, t, a, b) for c, m, t, a, b, k in _entries(sim, got)
                    if a != b]
    assert not bad, bad[:5]


# -- small cases worked out by hand ------------------------------------------------------

def _hand(nodes, mapping: dict, stride=(1, 1), dilation=(1, 1)) -> tuple[Case, NestBatch]:
    """A case from a hierarchy and a JSON mapping; its batch built from the `LoopNest`."""
    h = Hierarchy("hand", tuple(nodes), Compute())
    nest = LoopNest.from_json(mapping, h)
    batch = NestBatch.from_nests(h, [[nest]])
    keep = nest.kept(h) if batch.keep is None else batch.keep[0, 0].tolist()
    case = Case(h, tuple(map(tuple, batch.factors[0, 0].tolist())),
                tuple(map(tuple, batch.order[0, 0].tolist())),
                tuple(map(tuple, keep)), stride, dilation,
                tuple(_total_from(batch, d) for d in range(len(DIMS))))
    return case, batch


def _total_from(batch: NestBatch, d: int) -> int:
    return int(batch.factors[0, 0, :, d].prod())


def _both(case: Case, batch: NestBatch, halo: bool = True) -> tuple[dict, dict]:
    sim = simulate(case, halo)
    out = nest_counts(case.hierarchy, batch.factors, batch.order, batch.keep,
                      torch.tensor([case.stride]), torch.tensor([case.dilation]),
                      CountingRules(halo=halo))
    got = {k: getattr(out, k)[0, 0].tolist() for k in (*COUNTS, "tile", "utilized")}
    return sim, got


def _table(res: dict) -> dict:
    return {k: res[k] for k in (*COUNTS, "tile", "utilized")}


def test_one_level():
    """DRAM alone, a 1-D conv P=3, R=2: every operand read once per iteration (6), every
    iteration updates an output (6), the first update of each of the 3 outputs reads
    nothing (6 - 3); the input tile spans h = (3-1) + (2-1) + 1 = 4."""
    case, batch = _hand([StorageLevel("DRAM")], {"temporal": {"DRAM": {"P": 3, "R": 2}}})
    want = {"reads": [[6, 6, 3]], "fills": [[0, 0, 0]], "updates": [[0, 0, 6]],
            "tile": [[2, 4, 3]], "utilized": [1]}
    sim, got = _both(case, batch)
    assert _table(sim) == want
    assert got == want


@pytest.mark.parametrize("halo", [True, False])
def test_two_levels_with_a_sliding_window(halo):
    """DRAM loops P=3 over an RF holding R=2 (stride 1): RF tiles W 2, I 2 (h = 2), O 1.
    W never changes: fetched once (2). I slides by one row per step: 2 + 1 + 1 = 4 with
    halo, 3 x 2 = 6 without. O: three tiles (3 fetched) minus 3 owned = 0 fills; the RF
    drains 3 partial sums to DRAM (updates 3, reads 3 - 3 = 0). The RF serves 6
    operands and takes 6 updates, reads 6 - 3."""
    case, batch = _hand([StorageLevel("DRAM"), StorageLevel("RF")],
                        {"temporal": {"DRAM": {"P": 3}, "RF": {"R": 2}}})
    i = 4 if halo else 6
    want = {"reads": [[2, i, 0], [6, 6, 3]], "fills": [[0, 0, 0], [2, i, 0]],
            "updates": [[0, 0, 3], [0, 0, 6]], "tile": [[2, 4, 3], [2, 2, 1]],
            "utilized": [1, 1]}
    sim, got = _both(case, batch, halo)
    assert _table(sim) == want
    assert got == want


def test_multicast_and_reduction_under_a_fan_out():
    """DRAM loops P=2 over 2 RFs (fan-out X: K=2), K=2 P=2 R=1. W: each RF holds its own
    weight, fetched once: fills 2, DRAM reads 2. I: both RFs hold the same input at each
    step: fills 2 x 2 = 4, DRAM reads 2 (one multicast per step). O: each RF owns 2
    outputs (fills 2 - 2 = 0) and drains them: 2 distinct per step, DRAM updates 4,
    reads 4 - 4 = 0. Each RF serves its compute unit 2 reads per operand and 2 updates
    (reads 2 - 2 = 0); summed over the 2 RFs."""
    case, batch = _hand([StorageLevel("DRAM"), FanOut("PE", x=2),
                         StorageLevel("RF")],
                        {"temporal": {"DRAM": {"P": 2}}, "spatial": {"PE": {"X": {"K": 2}}}})
    want = {"reads": [[2, 2, 0], [4, 4, 0]], "fills": [[0, 0, 0], [2, 4, 0]],
            "updates": [[0, 0, 4], [0, 0, 4]], "tile": [[2, 2, 4], [1, 1, 1]],
            "utilized": [1, 2]}
    sim, got = _both(case, batch)
    assert _table(sim) == want
    assert got == want


def test_fan_out_right_above_the_compute_multicasts_and_reduces():
    """DRAM loops P=2 over 4 compute units (X: K=2, Y: C=2), K=C=P=2. Per step the units
    need 4 distinct weights (8 reads over 2 steps), 2 distinct inputs (C; 4 reads) and
    update 2 distinct outputs (K; the 2 C units reduce): updates 4, reads 4 - 4 owned.
    Without multicast to the compute units every iteration would count: 8, 8, 8."""
    case, batch = _hand([StorageLevel("DRAM"), FanOut("PE", x=2, y=2)],
                        {"temporal": {"DRAM": {"P": 2}},
                         "spatial": {"PE": {"X": {"K": 2}, "Y": {"C": 2}}}})
    want = {"reads": [[8, 4, 0]], "fills": [[0, 0, 0]], "updates": [[0, 0, 4]],
            "tile": [[4, 4, 4]], "utilized": [1]}
    sim, got = _both(case, batch)
    assert _table(sim) == want
    assert got == want
    plain = simulate(case, compute_multicast=False)
    assert plain["reads"] == [[8, 8, 4]] and plain["updates"] == [[0, 0, 8]]


def test_a_fan_out_without_multicast_or_reduction():
    """The fan-out of the last case without multicast and reduction: every unit reads its
    own input (2 per step, 4) and sends its own update (4 per step, 8; reads 8 - 4)."""
    case, batch = _hand([StorageLevel("DRAM"),
                         FanOut("PE", x=2, y=2, multicast=False, reduce=False)],
                        {"temporal": {"DRAM": {"P": 2}},
                         "spatial": {"PE": {"X": {"K": 2}, "Y": {"C": 2}}}})
    want = {"reads": [[8, 8, 4]], "fills": [[0, 0, 0]], "updates": [[0, 0, 8]],
            "tile": [[4, 4, 4]], "utilized": [1]}
    sim, got = _both(case, batch)
    assert _table(sim) == want
    assert got == want


def test_identical_windows_of_one_fan_out_are_read_once():
    """A fan-out unrolling P on X and R on Y (stride 1, dilation 1): child (p, r) reads
    input row p + r: rows 0, 1, 1, 2, three distinct, so DRAM reads 3 (the closed form's
    exact count for one fan-out). Each RF fills its row (4)."""
    case, batch = _hand([StorageLevel("DRAM"), FanOut("PE", x=2, y=2), StorageLevel("RF")],
                        {"spatial": {"PE": {"X": {"P": 2}, "Y": {"R": 2}}}})
    sim, got = _both(case, batch)
    assert sim["reads"][0][1] == 3 and sim["fills"][1][1] == 4
    assert sim["aliased"] == {("reads", 0, "I"): {"spatial"}}
    assert got == _table(sim)


@pytest.mark.parametrize("halo", [True, False])
def test_halo_step_of_a_loop_above_a_fan_out(halo):
    """DRAM loops R=2 above a fan-out (X: R=2) over RFs holding P=2 (R=4, stride 1). RF
    r' at DRAM step r0 holds rows [2 r0 + r', 2 r0 + r' + 1]: DRAM's R loop moves the
    window by its own stride, 2 rows (the fan-out's R is inside it), not by the RF tile's
    R extent (1), so the next window is disjoint: 2 + 2 words per RF, fills 8, DRAM reads
    8 (the two RFs' windows differ). Without halo: 2 x 2 per RF as well."""
    case, batch = _hand([StorageLevel("DRAM"), FanOut("PE", x=2), StorageLevel("RF")],
                        {"temporal": {"DRAM": {"R": 2}, "RF": {"P": 2}},
                         "spatial": {"PE": {"X": {"R": 2}}}})
    sim, got = _both(case, batch, halo)
    assert sim["fills"][1][1] == 8 and sim["reads"][0][1] == 8
    assert not sim["aliased"]
    assert got == _table(sim)


def test_identical_windows_across_two_fan_outs_are_read_per_fan_out():
    """P on one fan-out, R on the next (stride 1): the four RFs read rows 0, 1, 1, 2, but
    multicast is found per fan-out, as Timeloop groups each spatial level's children
    (06-mapper-convlayer-eyeriss: Q on one fan-out and S on the other give 14 x 3 = 42
    reads per window, not the 16 distinct rows): DRAM reads 2 x 2 = 4."""
    case, batch = _hand([StorageLevel("DRAM"), FanOut("A", x=2), FanOut("B", x=2),
                         StorageLevel("RF")],
                        {"spatial": {"A": {"X": {"P": 2}}, "B": {"X": {"R": 2}}}})
    sim, got = _both(case, batch)
    assert sim["reads"][0][1] == 4
    assert sim["aliased"] == {("reads", 0, "I"): {"spatial-across"}}
    assert got == _table(sim)


@pytest.mark.parametrize("halo", [True, False])
def test_a_window_reached_again_after_a_carry_is_refetched(halo):
    """DRAM loops P=2 (outer) and R=2 (inner) over an RF of one input (stride 1): steps
    (p, r) = (0,0) (0,1) (1,0) (1,1) need rows 0, 1, 1, 2. The step to (1, 0) is a carry
    onto the row already held; Timeloop refetches it (its translation, 0, differs from the
    last step's, +1: a "stride change"), and so do we: 4 fills, 4 DRAM reads."""
    case, batch = _hand([StorageLevel("DRAM"), StorageLevel("RF")],
                        {"temporal": {"DRAM": {"P": 2, "R": 2}}, "order": {"DRAM": ["P", "R"]}})
    sim, got = _both(case, batch, halo)
    assert sim["fills"][1][1] == 4 and sim["reads"][0][1] == 4
    assert ("fills", 1, "I") in sim["aliased"]
    assert got == _table(sim)
