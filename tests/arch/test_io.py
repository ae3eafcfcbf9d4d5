"""Accelerator/technology YAML: round trips and every kind of bad file, reported at once."""

import re

import pytest

from codesign.arch.accelerator import Accelerator, Dataflow
from codesign.arch.io import (
    generate_accelerator,
    load_yaml,
    parse_accelerator,
    parse_yaml,
    read_accelerator,
    write_accelerator,
)
from codesign.arch.presets import load_preset, preset_names
from codesign.arch.technology import Technology
from codesign.errors import ConfigError

MINIMAL = "pe_rows: 4\npe_cols: 8\nrf_words: 16\nglb_words: 1024\ndataflow: ws\n"


def _write(tmp_path, text, name="acc.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _error(tmp_path, text) -> str:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        read_accelerator(path)
    message = str(info.value)
    assert message.startswith(str(path)), message  # the file is named first
    return message


def test_minimal_file_uses_defaults(tmp_path):
    acc = read_accelerator(_write(tmp_path, MINIMAL))
    assert acc == Accelerator(pe_rows=4, pe_cols=8, rf_words=16, glb_words=1024, dataflow="ws")


@pytest.mark.parametrize("name", preset_names())
def test_round_trip_presets(tmp_path, name):
    acc = load_preset(name)
    path = tmp_path / f"{name}.yaml"
    write_accelerator(acc, path)
    assert read_accelerator(path) == acc


def test_round_trip_custom_dataflow_and_embedded_technology(tmp_path):
    acc = Accelerator(pe_rows=2, pe_cols=3, rf_words=5, glb_words=7, glb_bw=1.5, dram_bw=0.5,
                      word_bits=4, clock_mhz=123.0, systolic=True, name="odd",
                      dataflow=Dataflow("mine", rows=("K", "C"), cols=("P",)),
                      technology=Technology(name="t", dram_pj_64b=99.0))
    data = generate_accelerator(acc)
    assert data["dataflow"] == {"name": "mine", "rows": ["K", "C"], "cols": ["P"]}
    assert parse_accelerator(data) == acc
    path = tmp_path / "odd.yaml"
    write_accelerator(acc, path)
    assert read_accelerator(path) == acc


def test_technology_preset_name_and_relative_path(tmp_path):
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub", "dram_pj_64b: 640\n", name="tech.yaml")
    acc = read_accelerator(_write(tmp_path / "sub", MINIMAL + "technology: tech.yaml\n"))
    assert acc.technology.dram_pj_64b == 640.0  # found next to the accelerator file
    acc = read_accelerator(_write(tmp_path, MINIMAL + "technology: 45nm\n"))
    assert acc.technology == Technology.default()


def test_wrong_type(tmp_path):
    message = _error(tmp_path, MINIMAL.replace("pe_rows: 4", "pe_rows: '4'"))
    assert "'pe_rows' must be an integer, got str '4'" in message


def test_float_for_int_rejected(tmp_path):
    assert "'glb_words' must be an integer" in _error(
        tmp_path, MINIMAL.replace("glb_words: 1024", "glb_words: 1024.5"))


def test_missing_key(tmp_path):
    message = _error(tmp_path, MINIMAL.replace("glb_words: 1024\n", ""))
    assert "missing key 'glb_words'" in message


def test_negative_size(tmp_path):
    message = _error(tmp_path, MINIMAL.replace("rf_words: 16", "rf_words: -16"))
    assert "'rf_words' must be a positive integer, got -16" in message


def test_negative_bandwidth(tmp_path):
    assert "'dram_bw' must be a positive number" in _error(tmp_path, MINIMAL + "dram_bw: -2\n")


def test_unknown_key_did_you_mean(tmp_path):
    message = _error(tmp_path, MINIMAL + "glb_bandwidth: 8\n")
    assert "unknown key 'glb_bandwidth'; did you mean 'glb_bw'?" in message


def test_unknown_key_without_close_match_lists_keys(tmp_path):
    message = _error(tmp_path, MINIMAL + "zzzz: 1\n")
    assert "unknown key 'zzzz'; valid keys:" in message and "pe_rows" in message


def test_unknown_dataflow_did_you_mean(tmp_path):
    message = _error(tmp_path, MINIMAL.replace("dataflow: ws", "dataflow: wss"))
    assert "did you mean 'ws'" in message


def test_custom_dataflow_bad_dim(tmp_path):
    message = _error(tmp_path, MINIMAL.replace("dataflow: ws",
                                               "dataflow: {rows: [C, X], cols: [K]}"))
    assert "dataflow.rows" in message and "'X'" in message


def test_every_problem_reported_at_once(tmp_path):
    text = "pe_rows: -1\npe_cols: many\nrf_word: 16\nglb_words: 1024\nsystolic: 3\n"
    message = _error(tmp_path, text)
    assert "6 problems" in message  # the five below plus dataflow missing
    for part in ("'pe_rows' must be a positive", "'pe_cols' must be an integer",
                 "did you mean 'rf_words'", "missing key 'rf_words'", "missing key 'dataflow'",
                 "'systolic' must be true or false"):
        assert part in message


def test_embedded_technology_problem_named(tmp_path):
    message = _error(tmp_path, MINIMAL + "technology: {dram_pj: 1}\n")
    assert "technology" in message and "did you mean 'dram_pj_64b'" in message


def test_unknown_technology_reference(tmp_path):
    message = _error(tmp_path, MINIMAL + "technology: 7nm\n")
    assert "neither a technology preset" in message and "45nm" in message


def test_not_yaml_at_all(tmp_path):
    message = _error(tmp_path, "pe_rows: [4, 8\n  : : }\n")
    assert "not valid YAML at line" in message


def test_yaml_but_not_a_mapping(tmp_path):
    message = _error(tmp_path, "just some words\n")
    assert "expected a mapping of accelerator parameters" in message


def test_binary_file(tmp_path):
    path = tmp_path / "acc.yaml"
    path.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(ConfigError, match="not a text file"):
        read_accelerator(path)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        read_accelerator(tmp_path / "nope.yaml")


def test_write_leaves_no_temp_files(tmp_path):
    write_accelerator(load_preset("eyeriss"), tmp_path / "a.yaml")
    assert [p.name for p in tmp_path.iterdir()] == ["a.yaml"]


# -- the strict loader every YAML file goes through (docs/GUARANTEES.md, "YAML") ------------

def test_parse_yaml_keeps_plain_data_and_allows_merge_keys():
    assert parse_yaml("a: 1\nb: [2, 3]\n") == {"a": 1, "b": [2, 3]}
    assert parse_yaml("x: &x {a: 1, b: 2}\ny: {<<: *x, b: 3}\n")["y"] == {"a": 1, "b": 3}


@pytest.mark.parametrize(("text", "message"), [
    ("", "is empty"), ("# only a comment\n", "is empty"), ("null\n", "is empty"),
    ("a: 1\nb: 2\na: 3\n", "duplicate key 'a' at line 3 (first at line 1)"),
    ("{a: 1, a: 1}", "duplicate key 'a' at line 1 (first at line 1)"),
    ("a: &a [*a]\n", "an alias at line 1 refers to a value that contains it"),
])
def test_parse_yaml_refuses_what_a_spec_never_needs(text, message):
    with pytest.raises(ConfigError, match=re.escape(f"src.yaml: {message}")):
        parse_yaml(text, "src.yaml")


def test_read_accelerator_of_an_empty_file_says_so(tmp_path):
    """Before: an empty --arch gave 'expected a mapping ... got NoneType None'."""
    assert "is empty" in _error(tmp_path, "# my accelerator, to do\n")


def test_duplicate_accelerator_keys_are_all_listed(tmp_path):
    """Before: the last value silently won."""
    message = _error(tmp_path, MINIMAL + "pe_rows: 64\nrf_words: 8\n")
    assert "duplicate key 'pe_rows' at line 6 (first at line 1)" in message
    assert "duplicate key 'rf_words' at line 7 (first at line 3)" in message


def test_load_yaml_refuses_a_folder_and_a_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="is a folder"):
        load_yaml(tmp_path)
    with pytest.raises(ConfigError, match="no such file"):
        load_yaml(tmp_path / "nope.yaml")
