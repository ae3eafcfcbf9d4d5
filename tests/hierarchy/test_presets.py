"""The hierarchy presets: the published sizes, and mappings they allow and refuse."""

from __future__ import annotations

import pytest
import torch

from codesign.cost.levels import with_technology
from codesign.errors import ConfigError
from codesign.hierarchy import LoopNest, NestBatch
from codesign.hierarchy.model import nest_cost
from codesign.hierarchy.presets import HIERARCHY_PRESETS, hierarchy_preset
from codesign.workload.layer import Layer

CONV = Layer.conv(K=16, C=8, P=14, Q=14, R=3, S=3)
#: (MACs, bytes of on-chip storage per level as published) of each preset
PUBLISHED = {
    "eyeriss": (168, {"GLB": 108 * 1024, "spad": (224 + 12 + 24) * 2}),
    "simba": (36 * 16 * 64, {"GlobalBuffer": 64 * 1024, "PEBuffer": (32 + 8 + 3) * 1024}),
    "tpu": (128 * 128, {"UnifiedBuffer": 6 * 2**20, "WeightFIFO": 64 * 1024,
                        "Accumulators": 2**20}),
    "gemmini": (256, {"Scratchpad": 256 * 1024, "Accumulator": 64 * 1024}),
    "shidiannao": (64, {"NB": 256 * 1024}),
}


def _cost(h, nest: LoopNest, layer: Layer = CONV):
    return nest_cost(h, NestBatch.from_nests(h, [[nest]]), torch.tensor([layer.stride]),
                     torch.tensor([layer.dilation]), dims=torch.tensor([layer.dims]))


@pytest.mark.parametrize("name", sorted(HIERARCHY_PRESETS))
def test_presets_have_the_published_sizes(name):
    h = hierarchy_preset(name)
    macs, sizes = PUBLISHED[name]
    assert h.n_compute == macs
    for level_name, size in sizes.items():
        level = h.levels[h.level_index(level_name)]
        words = level.capacity_words or sum(level.partition_words.values())
        bits = {t: level.word_bits[t] for t in level.keeps}
        if level.partition_words:
            got = sum(level.partition_words[t] * bits[t] for t in level.keeps) // 8
        else:
            got = words * min(bits.values()) // 8  # a shared buffer: sized in data words
        assert got == size, (level_name, got, size)


@pytest.mark.parametrize("name", sorted(HIERARCHY_PRESETS))
def test_a_nest_with_every_loop_at_dram_is_feasible_and_costed(name):
    h = with_technology(hierarchy_preset(name))
    nest = LoopNest({"DRAM": {d: n for d, n in zip("NGKCPQRS", CONV.dims, strict=True)
                              if n > 1}})
    cost = _cost(h, nest)
    assert bool(cost.feasible.all())
    assert int(cost.counts.computes[0, 0]) == CONV.macs
    assert float(cost.cycles[0, 0]) >= CONV.macs and float(cost.energy_pj[0, 0]) > 0


def test_eyeriss_rows_take_filter_rows_channels_and_filters_only():
    h = hierarchy_preset("eyeriss")
    rest = {"K": 16, "C": 8, "P": 14, "Q": 14, "S": 3}
    ok = LoopNest({"DRAM": rest, "PE.Y": {"R": 3}})
    bad = LoopNest({"DRAM": {**rest, "R": 3, "P": 1}, "PE.Y": {"P": 14}})
    assert bool(_cost(h, ok).feasible.all()) and not bool(_cost(h, bad).feasible.any())


def test_an_unknown_preset_suggests_one():
    with pytest.raises(ConfigError, match="did you mean 'eyeriss'"):
        hierarchy_preset("eyeris")
