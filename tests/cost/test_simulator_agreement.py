"""The analytical access counts equal, exactly, what the naive loop-nest simulator counts."""

import functools
import random

import pytest
import torch
from loopnest_sim import random_case, simulate

from codesign import Accelerator, Layer, Mapping
from codesign.cost.access_counts import reloads, tiles
from codesign.cost.analytical import AnalyticalCostModel
from codesign.cost.single import evaluate_mapping
from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors

# Large enough that no random mapping is capacity- or array-limited; counts do not depend
# on the accelerator anyway.
BIG = Accelerator(pe_rows=1024, pe_cols=1024, rf_words=1 << 20, glb_words=1 << 30)
N_CASES = 400


def _cases():
    rng = random.Random(20261125)
    return [random_case(rng) for _ in range(N_CASES)]


CASES = _cases()


@functools.cache
def _simulated(i: int) -> dict:
    return simulate(*CASES[i])


def test_cases_cover_the_interesting_features():
    """The random cases really contain strides, dilations, depthwise and ceil-padding."""
    assert sum(layer.stride != (1, 1) for layer, _ in CASES) > 100
    assert sum(layer.dilation != (1, 1) for layer, _ in CASES) > 100
    assert sum(layer.G > 1 and layer.K == layer.C == 1 for layer, _ in CASES) > 30
    padded = sum(any(m.total(d) > b for d, b in zip("NGKCPQRS", layer.dims, strict=True))
                 for layer, m in CASES)
    assert padded > 100


@pytest.mark.parametrize("start", range(0, N_CASES, 50))
def test_access_counts_match_the_simulator(start):
    for i in range(start, start + 50):
        layer, mapping = CASES[i]
        expected = _simulated(i)
        got = evaluate_mapping(layer, BIG, mapping)
        context = f"{layer} {mapping.to_json()}"
        assert got["accesses"] == expected["accesses"], context
        assert got["compute_cycles"] == expected["compute_cycles"], context


def test_tile_words_match_the_simulator():
    """The footprints themselves (RF per PE, array, GLB), not only the products."""
    for i, (layer, mapping) in enumerate(CASES[:100]):
        sim = _simulated(i)["tile_words"]
        batch = MappingBatch.from_mappings([[mapping]])
        words = tiles(batch.factors, torch.tensor([layer.stride]), torch.tensor([layer.dilation]))
        for box, row in (("RF", 0), ("array", 1), ("GLB", 2)):
            assert [sim[box][t] for t in "WIO"] == words[0, 0, row].tolist(), (layer, box)


@pytest.mark.parametrize("dtype", [torch.int64, torch.float32])
def test_one_batched_call_matches_the_simulator(dtype):
    """All cases as the L layers of one call, with int64 factors and with float32 factors
    (counts below 2**24 stay exact in float32)."""
    layers = [layer for layer, _ in CASES]
    workload = WorkloadTensors(
        dims=torch.tensor([layer.dims for layer in layers]),
        stride=torch.tensor([layer.stride for layer in layers]),
        dilation=torch.tensor([layer.dilation for layer in layers]),
        counts=torch.ones(len(layers), dtype=torch.int64),
        vector_ops=torch.zeros(0, dtype=torch.int64),
        vector_words=torch.zeros(0, dtype=torch.int64))
    batch = MappingBatch.from_mappings([[m for _, m in CASES]])
    batch = MappingBatch(batch.factors.to(dtype), batch.order)
    hardware = HardwareBatch.from_accelerators([BIG]).to(dtype=torch.float32 if
                                                         dtype == torch.float32 else None)
    res = AnalyticalCostModel().evaluate(hardware, workload, batch)
    got = res.accesses[0].round().to(torch.int64).tolist()                 # [L, 3, 3, 2]
    for i, counts in enumerate(got):
        sim = _simulated(i)["accesses"]
        want = [[[sim[lv][t][k] for k in ("reads", "writes")] for t in "WIO"]
                for lv in ("RF", "GLB", "DRAM")]
        assert counts == want, CASES[i]
        assert res.compute_cycles[0, i].item() == _simulated(i)["compute_cycles"]


def test_identical_data_in_a_new_slice_is_still_a_reload():
    """DESIGN.md reloads go by loop relevance: with stride 1, GLB loops P (outer) and R
    (inner) step (p, r) = (0,0) (0,1) (1,0) (1,1); (0,1) and (1,0) read the same input row,
    yet each step is a new slice of I's loop dims, so I is loaded 4 times, not 3
    (docs/COST_MODEL.md, "No reuse between consecutive tiles")."""
    layer = Layer.conv(K=1, C=1, P=2, Q=1, R=2, S=1)
    mapping = Mapping.from_json({"temporal": {"GLB": {"P": 2, "R": 2}},
                                 "order": {"GLB": ["P", "R"]}})
    batch = MappingBatch.from_mappings([[mapping]])
    assert reloads(batch.factors, batch.order)[0, 0, 0].tolist() == [4, 4, 2]  # W, I, O
    assert simulate(layer, mapping)["accesses"]["GLB"]["I"]["reads"] == 4
    assert evaluate_mapping(layer, BIG, mapping)["accesses"]["GLB"]["I"]["reads"] == 4
