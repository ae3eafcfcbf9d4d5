"""The analytical access counts equal, exactly, what the naive loop-nest simulator counts."""

import random

import pytest
import torch
from loopnest_sim import random_case, simulate

from codesign import Accelerator, Layer, Mapping
from codesign.cost.access_counts import reloads, tiles
from codesign.cost.single import evaluate_mapping
from codesign.mapping.batch import MappingBatch

# Large enough that no random mapping is capacity- or array-limited; counts do not depend
# on the accelerator anyway.
BIG = Accelerator(pe_rows=1024, pe_cols=1024, rf_words=1 << 20, glb_words=1 << 30)
N_CASES = 400


def _cases():
    rng = random.Random(20261125)
    return [random_case(rng) for _ in range(N_CASES)]


CASES = _cases()


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
    for layer, mapping in CASES[start:start + 50]:
        expected = simulate(layer, mapping)
        got = evaluate_mapping(layer, BIG, mapping)
        context = f"{layer} {mapping.to_json()}"
        assert got["accesses"] == expected["accesses"], context
        assert got["compute_cycles"] == expected["compute_cycles"], context


def test_tile_words_match_the_simulator():
    """The footprints themselves (RF per PE, array, GLB), not only the products."""
    for layer, mapping in CASES[:100]:
        sim = simulate(layer, mapping)["tile_words"]
        batch = MappingBatch.from_mappings([[mapping]])
        words = tiles(batch.factors, torch.tensor([layer.stride]), torch.tensor([layer.dilation]))
        for box, row in (("RF", 0), ("array", 1), ("GLB", 2)):
            assert [sim[box][t] for t in "WIO"] == words[0, 0, row].tolist(), (layer, box)


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
