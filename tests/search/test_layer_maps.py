"""`codesign.map_layers` on any architecture: a `Hierarchy`, a preset name, Timeloop files,
and a v1 `Accelerator` (unchanged)."""

import pytest

import codesign
from codesign.errors import ConfigError
from codesign.hierarchy.levels import FanOut, Hierarchy, StorageLevel
from codesign.names import COMPUTE_BOUND
from codesign.search.layer_maps import HierarchyMapResult
from codesign.search.mapper import LayerMappingResult
from codesign.workload.layer import Layer, LayerTable

GEMM = Layer.gemm(M=8, K=4, N=4, name="mm")            # 128 MACs
TABLE = LayerTable.from_layers([GEMM, GEMM])           # one unique layer, count 2


def toy(dram_bw=None) -> Hierarchy:
    """4 PEs under an unbounded DRAM, 64 words per PE."""
    return Hierarchy("toy", (StorageLevel("DRAM", shared_bw=dram_bw, read_pj=100,
                                          fill_pj=100, update_pj=100),
                             FanOut("PE", x=4),
                             StorageLevel("RF", capacity_words=64, read_pj=1, fill_pj=1,
                                          update_pj=1)), clock_mhz=100.0)


def test_a_hierarchy_maps_at_full_use_of_its_pes():
    r = codesign.map_layers(TABLE, toy(), effort="fast", device="cpu")
    assert isinstance(r, HierarchyMapResult) and r.kind == "Hierarchy"
    # 128 MACs on 4 PEs: 32 cycles, every PE busy, compute-bound
    assert r.cycles == (32.0,) and r.pes == (4,) and r.utilization == (1.0,)
    assert r.bottleneck == (COMPUTE_BOUND,) and r.all_feasible
    assert r.latency_cycles == 64.0 and r.latency_s == pytest.approx(64 / 100e6)
    assert r.total_energy_pj == pytest.approx(2 * r.energy_pj[0])
    assert r.mean_active_pes == 4.0
    row = r.to_rows()[0]
    assert row["count"] == 2 and row["bottleneck"] == "compute" and "PE X:" in row["mapping"]
    assert r.to_dict()["hierarchy"]["nodes"][0] == {"storage": "DRAM", "read_pj": 100,
                                                    "fill_pj": 100, "update_pj": 100}


def test_a_slow_level_is_named_as_the_bottleneck():
    # |W| + |I| + |O| = 16 + 32 + 32 = 80 words must cross DRAM at least once: at 0.5 words
    # per cycle that is >= 160 cycles, far above the 32 compute steps
    r = codesign.map_layers(TABLE, toy(dram_bw=0.5), effort="fast", device="cpu")
    assert r.bottleneck == ("DRAM",) and r.cycles[0] >= 160


def test_a_preset_name_is_the_hierarchy_and_v1_prefix_the_template():
    h = codesign.map_layers(TABLE, "eyeriss", effort="fast", device="cpu")
    assert isinstance(h, HierarchyMapResult) and h.hierarchy.level_names == ("DRAM", "GLB",
                                                                              "spad")
    assert h.hierarchy.levels[1].read_pj > 0            # energies from the technology table
    v1 = codesign.map_layers(TABLE, "v1:eyeriss", effort="fast", device="cpu")
    assert isinstance(v1, LayerMappingResult) and v1.accelerator.name == "eyeriss"
    acc = codesign.load_preset("eyeriss")
    assert isinstance(codesign.map_layers(TABLE, acc, effort="fast", device="cpu"),
                      LayerMappingResult)
    assert codesign.resolve_accelerator("v1:eyeriss") == acc


def test_timeloop_files_map_like_the_hierarchy_they_came_from(tmp_path):
    from codesign.timeloop.writers import generate_arch, generate_ert, write_yaml

    write_yaml(tmp_path / "arch.yaml", generate_arch(toy()))
    write_yaml(tmp_path / "ERT.yaml", generate_ert(toy()))
    bare = codesign.map_layers(TABLE, tmp_path / "arch.yaml", effort="fast", device="cpu")
    assert bare.kind == "Timeloop architecture" and bare.cycles == (32.0,)
    assert bare.energy_pj == (0.0,) and "every energy is 0" in bare.notes[0]
    costed = codesign.map_layers(TABLE, tmp_path / "arch.yaml", ert=tmp_path / "ERT.yaml",
                                 effort="fast", device="cpu")
    assert costed.cycles == (32.0,) and costed.energy_pj[0] > 0 and not costed.notes


def test_options_that_do_not_fit_the_architecture_are_refused():
    with pytest.raises(ConfigError, match="v1:eyeriss"):
        codesign.map_layers(TABLE, "eyeriss", cost_model="analytical")
    with pytest.raises(ConfigError, match="need a hierarchy --arch"):
        codesign.map_layers(TABLE, "v1:eyeriss", constraints="c.yaml")
    with pytest.raises(ConfigError, match="did you mean 'simba'"):
        codesign.map_layers(TABLE, "simab")
