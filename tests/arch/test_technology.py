"""Technology: cited defaults, fitted laws that reproduce their sources, validation, YAML."""

import math

import pytest

from codesign.arch.technology import Technology
from codesign.errors import ArchError, ConfigError


def test_mac_energy_follows_horowitz():
    tech = Technology.default()
    # 8-bit: mult 0.2 + add 0.03 pJ [H14].
    assert tech.mac_pj(8) == pytest.approx(0.23)
    # 32-bit: 0.2 * 4**2 + 0.03 * 4 = 3.32 pJ; [H14] gives mult 3.1 + add 0.1 = 3.2 pJ.
    assert tech.mac_pj(32) == pytest.approx(3.32)
    assert tech.mac_pj(32) == pytest.approx(3.2, rel=0.05)


@pytest.mark.parametrize("size_bytes, horowitz_pj", [(8 * 1024, 10.0), (32 * 1024, 20.0),
                                                     (1024 * 1024, 100.0)])
def test_sram_fit_reproduces_horowitz_points(size_bytes, horowitz_pj):
    tech = Technology.default()
    fitted = tech.sram_ref_pj * (size_bytes / tech.sram_ref_bytes) ** tech.sram_energy_exponent
    assert fitted == pytest.approx(horowitz_pj, rel=0.03)


def test_rf_anchor_is_one_mac_as_in_eyeriss():
    tech = Technology.default()
    # Eyeriss: a 0.5 KB RF access costs 1x a (16-bit) MAC.
    assert tech.rf_ref_pj == pytest.approx(tech.mac_pj(16), rel=1e-3)
    assert (tech.rf_ref_bytes, tech.rf_ref_access_bits) == (512.0, 16.0)


def test_mac_area_exponent_derived_from_horowitz_areas():
    tech = Technology.default()
    assert tech.mult_area_exponent == pytest.approx(math.log(3495 / 282) / math.log(4), abs=1e-3)
    assert tech.add_area_exponent == pytest.approx(math.log(137 / 36) / math.log(4), abs=1e-3)


def test_invalid_fields_reported_together():
    with pytest.raises(ArchError) as info:
        Technology(dram_pj_64b=-1.0, sram_ref_bytes=0.0, name=3)
    message = str(info.value)
    assert "dram_pj_64b" in message and "sram_ref_bytes" in message and "name" in message


def test_efficiency_above_one_rejected():
    with pytest.raises(ArchError, match="sram_array_efficiency"):
        Technology(sram_array_efficiency=1.5)


def test_zero_leakage_allowed():
    assert Technology(leakage_mw_per_mm2=0.0).leakage_mw_per_mm2 == 0.0


def test_replace_and_dict():
    tech = Technology.default().replace(dram_pj_64b=640.0)
    assert tech.dram_pj_64b == 640.0
    assert Technology(**tech.to_dict()) == tech


def test_yaml_round_trip(tmp_path):
    tech = Technology(name="16nm-guess", mult_pj_8b=0.05, leakage_mw_per_mm2=5.0)
    path = tmp_path / "tech.yaml"
    tech.to_yaml(path)
    assert Technology.from_yaml(path) == tech


def test_partial_yaml_keeps_defaults(tmp_path):
    path = tmp_path / "tech.yaml"
    path.write_text("dram_pj_64b: 640\n")
    tech = Technology.from_yaml(path)
    assert tech.dram_pj_64b == 640.0
    assert tech.sram_ref_pj == Technology.default().sram_ref_pj


def test_yaml_errors_name_file_and_key(tmp_path):
    path = tmp_path / "tech.yaml"
    path.write_text("dram_pj_64: 640\nmult_pj_8b: cheap\nadd_pj_8b: -1\n")
    with pytest.raises(ConfigError) as info:
        Technology.from_yaml(path)
    message = str(info.value)
    assert str(path) in message and "3 problems" in message
    assert "did you mean 'dram_pj_64b'" in message
    assert "'mult_pj_8b' must be a number" in message and "'add_pj_8b' must be >= 0" in message


def test_yaml_zero_divisor_becomes_config_error(tmp_path):
    path = tmp_path / "tech.yaml"
    path.write_text("rf_ref_bytes: 0\n")
    with pytest.raises(ConfigError, match=r"tech\.yaml.*rf_ref_bytes"):
        Technology.from_yaml(path)
