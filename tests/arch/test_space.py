"""Tests for codesign/arch/space.py: gene decoding, YAML parsing and its error messages."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codesign.arch.space import HW_GENES, DesignSpace, powers_of_two
from codesign.errors import ConfigError


def test_powers_of_two_inside_range():
    assert powers_of_two(1, 1) == (1,)
    assert powers_of_two(3, 17) == (4, 8, 16)
    assert powers_of_two(9, 15) == ()


def test_decode_bins_each_gene_into_equal_widths():
    space = DesignSpace(pe_rows=(4, 8, 16, 32), pe_cols=(8,), rf_words=(16, 32),
                        glb_words=(1024,), glb_bw=(8.0, 16.0), dataflows=("ws", "os"))
    # 4 row choices -> bins [0, .25) [.25, .5) [.5, .75) [.75, 1]; gene 1.0 is the last value
    genes = np.array([[0.0, 0.5, 0.49, 0.0, 0.99, 0.0],
                      [0.26, 0.5, 0.5, 0.0, 0.0, 0.5],
                      [1.0, 0.5, 1.0, 0.0, 0.0, 1.0]])
    hw = space.decode(genes)
    assert hw.pe_rows.tolist() == [4, 8, 32]
    assert hw.pe_cols.tolist() == [8, 8, 8]
    assert hw.rf_words.tolist() == [16, 32, 32]
    assert hw.glb_bw.tolist() == [16.0, 8.0, 8.0]
    # ws: rows <- C R S, cols <- K ; os: rows <- N P Q, cols <- K (DIMS = N G K C P Q R S)
    assert hw.spatial_allowed[0, 0].tolist() == [False, False, False, True, False, False, True,
                                                 True]
    assert hw.spatial_allowed[1, 0].tolist() == [True, False, False, False, True, True, False,
                                                 False]
    assert hw.spatial_allowed[2, 1].tolist() == [False, False, True] + [False] * 5
    assert hw.dram_bw.tolist() == [16.0] * 3 and hw.word_bits.tolist() == [16] * 3


def test_decode_accepts_tensors_and_matches_accelerator():
    space = DesignSpace()
    rng = np.random.default_rng(0)
    genes = rng.random((5, len(HW_GENES)))
    hw = space.decode(torch.as_tensor(genes))
    for b in range(5):
        acc = space.accelerator(genes[b])
        assert (acc.pe_rows, acc.pe_cols, acc.rf_words, acc.glb_words) == (
            hw.pe_rows[b].item(), hw.pe_cols[b].item(), hw.rf_words[b].item(),
            hw.glb_words[b].item())
        assert acc.glb_bw == hw.glb_bw[b].item()


def test_yaml_ranges_lists_and_fixed_values(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text("pe_rows: {min: 5, max: 40}\npe_cols: [8, 24]\nrf_words: 64\n"
                    "dataflow: [ws, flexible]\ndram_bw: 32\nclock_mhz: 500\n")
    space = DesignSpace.from_yaml(path)
    assert space.pe_rows == (8, 16, 32)
    assert space.pe_cols == (8, 24)
    assert space.rf_words == (64,)
    assert space.dataflows == ("ws", "flexible")
    assert space.dram_bw == 32 and space.clock_mhz == 500
    assert DesignSpace.from_dict(space.to_dict()) == space


def test_yaml_errors_list_every_problem_with_suggestions(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text("pe_row: [4]\npe_cols: {min: 5, max: 7}\ndataflow: [wss]\n"
                    "rf_words: [0, 3]\n")
    with pytest.raises(ConfigError) as info:
        DesignSpace.from_yaml(path)
    message = str(info.value)
    assert str(path) in message
    assert "unknown key 'pe_row'; did you mean 'pe_rows'?" in message
    assert "pe_cols: no power of two lies in [5, 7]" in message
    assert "'wss'; did you mean 'ws'?" in message
    assert "rf_words: values must be positive integers, got [0]" in message


def test_yaml_that_is_not_a_mapping_is_a_config_error(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        DesignSpace.from_yaml(path)
    with pytest.raises(ConfigError, match="cannot read"):
        DesignSpace.from_yaml(tmp_path / "missing.yaml")


@pytest.mark.parametrize("text", ["", "\n\n", "# pe_rows: [4, 8]\n# (commented out)\n", "~\n"])
def test_an_empty_space_file_is_an_error_not_the_default_space(text, tmp_path):
    """Before: a file with nothing in it silently meant the default space."""
    path = tmp_path / "space.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"space.yaml: is empty .*leave the option out"):
        DesignSpace.from_yaml(path)


def test_a_duplicate_key_is_an_error_not_the_last_value(tmp_path):
    """Before: `rf_words` given twice kept the second value without a word."""
    path = tmp_path / "space.yaml"
    path.write_text("rf_words: [64]\npe_rows: [8]\nrf_words: [1]\n")
    with pytest.raises(ConfigError, match=r"duplicate key 'rf_words' at line 3 \(first at "
                                          r"line 1\)"):
        DesignSpace.from_yaml(path)
