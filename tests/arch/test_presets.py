"""Bundled presets: they load, carry their papers' numbers, and resolve by name or path."""

from importlib import resources

import pytest

from codesign.arch.accelerator import DATAFLOWS
from codesign.arch.io import write_accelerator
from codesign.arch.presets import (
    load_preset,
    preset_names,
    resolve_accelerator,
    resolve_technology,
)
from codesign.arch.technology import Technology
from codesign.errors import ConfigError


def test_shipped_presets():
    assert {"eyeriss", "tpu", "simba", "shidiannao"} <= set(preset_names())


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_names_its_source(name):
    text = resources.files("codesign.arch.presets").joinpath(f"{name}.yaml").read_text()
    header = text.split("\nname:")[0]
    assert header.startswith("# ") and "Abstracted" in header
    assert any(venue in header for venue in ("ISCA", "MICRO")), header
    acc = load_preset(name)
    assert acc.name == name and acc.technology is None  # costed with the default table


def test_eyeriss_numbers():
    acc = load_preset("eyeriss")
    # Chen et al. ISCA 2016: 12 x 14 PEs, 0.5 KB RF per PE, 108 KB GLB, 16-bit words.
    assert (acc.pe_rows, acc.pe_cols, acc.word_bits) == (12, 14, 16)
    assert acc.rf_words * acc.word_bits // 8 == 512
    assert acc.glb_words * acc.word_bits // 8 == 108 * 1024
    assert acc.dataflow == DATAFLOWS["rs"]


def test_tpu_is_a_weight_stationary_systolic_quarter():
    acc = load_preset("tpu")
    # Jouppi et al. ISCA 2017: 256 x 256 8-bit MACs, 24 MiB buffer; preset is 128 x 128 with the
    # buffer scaled by the same quarter.
    assert (acc.pe_rows, acc.pe_cols, acc.word_bits) == (128, 128, 8)
    assert acc.n_pes * 4 == 256 * 256
    assert acc.glb_words * 4 == 24 * 1024 * 1024
    assert acc.systolic and acc.dataflow == DATAFLOWS["ws"]


def test_simba_chiplet_mac_count():
    acc = load_preset("simba")
    # Shao et al. MICRO 2019: 16 PEs x 8 lanes x 8-way vector MACs = 1024 MACs per chiplet.
    assert acc.n_pes == 16 * 8 * 8
    assert acc.rf_words * 64 == 43 * 1024  # (32 + 8 + 3) KB per PE over its 64 MACs
    assert acc.glb_words == 64 * 1024


def test_shidiannao_numbers():
    acc = load_preset("shidiannao")
    # Du et al. ISCA 2015: 8 x 8 PEs, 288 KB SRAM of which 256 KB data (NBin + NBout + SB).
    assert (acc.pe_rows, acc.pe_cols) == (8, 8)
    assert acc.glb_words * acc.word_bits // 8 == (64 + 64 + 128) * 1024
    assert acc.dataflow == DATAFLOWS["os"]


def test_resolve_by_name_and_by_path(tmp_path):
    assert resolve_accelerator("tpu") == load_preset("tpu")
    path = tmp_path / "mine.yaml"
    write_accelerator(load_preset("simba").replace(name="mine"), path)
    assert resolve_accelerator(str(path)).name == "mine"
    assert resolve_accelerator(path).name == "mine"


def test_resolve_unknown_lists_presets():
    with pytest.raises(ConfigError) as info:
        resolve_accelerator("eyriss")
    message = str(info.value)
    assert "did you mean 'eyeriss'" in message
    assert all(name in message for name in preset_names())


def test_resolve_missing_path():
    with pytest.raises(ConfigError, match="no such file"):
        resolve_accelerator("configs/nope.yaml")


def test_load_preset_unknown():
    with pytest.raises(ConfigError, match="presets: eyeriss"):
        load_preset("gpu")


def test_resolve_technology(tmp_path):
    assert resolve_technology(None) == Technology.default()
    assert resolve_technology("45nm") == Technology.default()
    path = tmp_path / "t.yaml"
    path.write_text("leakage_mw_per_mm2: 0\n")
    assert resolve_technology(path).leakage_mw_per_mm2 == 0.0
    with pytest.raises(ConfigError, match="45nm"):
        resolve_technology("7nm")
