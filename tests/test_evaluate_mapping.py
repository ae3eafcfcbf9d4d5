"""`codesign.evaluate_mapping`: the single-point API returns plain Python data."""

import json

import pytest

import codesign
from tests.golden import CONV, CONV_MAP, SMALL


def test_golden_conv_as_plain_data():
    out = codesign.evaluate_mapping(CONV, SMALL, CONV_MAP)
    json.dumps(out)                                     # plain data all the way down
    # Derivations in tests/cost/test_access_counts.py::test_golden_conv_access_table
    assert out["accesses"] == {
        "RF": {"W": {"reads": 1152, "writes": 72}, "I": {"reads": 1152, "writes": 1152},
               "O": {"reads": 1280, "writes": 1152}},
        "GLB": {"W": {"reads": 72, "writes": 72}, "I": {"reads": 576, "writes": 72},
                "O": {"reads": 64, "writes": 64}},
        "DRAM": {"W": {"reads": 72, "writes": 0}, "I": {"reads": 72, "writes": 0},
                 "O": {"reads": 0, "writes": 64}},
    }
    assert all(type(v) is int for lv in out["accesses"].values() for t in lv.values()
               for v in t.values())
    assert (out["cycles"], out["compute_cycles"], out["glb_cycles"], out["dram_cycles"]) == (
        288.0, 288.0, 28.75, 26.0)
    assert out["bottleneck"] == "compute"
    assert out["utilization"] == 1.0
    assert out["feasible"] is True and out["problems"] == []
    assert out["energy_pj"] == pytest.approx(sum(out["energy_parts_pj"].values()))
    assert out["energy_pj"] > 0 and out["area_mm2"] > 0


@pytest.mark.parametrize(("dram_bw", "glb_bw", "bottleneck"), [
    (0.5, 32.0, "dram"),      # 208 words / 0.5 = 416 > 288
    (8.0, 2.0, "glb"),        # 920 words / 2 = 460 > 288
])
def test_bottleneck_names_the_largest_bound(dram_bw, glb_bw, bottleneck):
    out = codesign.evaluate_mapping(CONV, SMALL.replace(dram_bw=dram_bw, glb_bw=glb_bw),
                                    CONV_MAP)
    assert out["bottleneck"] == bottleneck


def test_infeasible_mapping_is_costed_and_explained():
    out = codesign.evaluate_mapping(CONV, SMALL.replace(rf_words=10), CONV_MAP)
    assert out["feasible"] is False
    assert out["capacity_excess"] == 9.0                  # RF tiles need 9 + 9 + 1 = 19
    assert out["cycles"] == 288.0
    assert len(out["problems"]) == 1 and "RF tiles need 19 words" in out["problems"][0]


def test_technology_argument_is_used():
    base = codesign.evaluate_mapping(CONV, SMALL, CONV_MAP)
    tech = codesign.Technology.default().replace(dram_pj_64b=0.0)
    out = codesign.evaluate_mapping(CONV, SMALL, CONV_MAP, technology=tech)
    assert out["energy_parts_pj"]["DRAM"] == 0.0 < base["energy_parts_pj"]["DRAM"]
