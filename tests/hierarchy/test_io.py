"""`codesign.hierarchy.io`: the YAML form of a `Hierarchy` round-trips, and a bad file names
every problem at once."""

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codesign.errors import ConfigError
from codesign.hierarchy.io import (
    generate_hierarchy,
    is_hierarchy_data,
    parse_hierarchy,
    read_hierarchy,
    write_hierarchy,
)
from codesign.hierarchy.levels import Compute, FanOut, Hierarchy, StorageLevel
from codesign.hierarchy.presets import HIERARCHY_PRESETS


@pytest.mark.parametrize("name", sorted(HIERARCHY_PRESETS))
def test_every_preset_round_trips_through_yaml_text(name):
    h = HIERARCHY_PRESETS[name]()
    text = yaml.safe_dump(generate_hierarchy(h), sort_keys=False)
    assert parse_hierarchy(yaml.safe_load(text)) == h


def test_every_field_round_trips_through_a_file(tmp_path):
    h = Hierarchy("full", (
        StorageLevel("DRAM", word_bits={"W": 8, "I": 8, "O": 24}, shared_bw=16.0,
                     read_pj=200.0, fill_pj=210.0, update_pj=220.0),
        FanOut("chip", x=2, y=3, multicast=False, hop_pj=1.5),
        StorageLevel("Buf", keeps=("I", "O"), capacity_words=1024, block_words=4,
                     read_bw=8.0, write_bw=4.0, multiple_buffering=2.0, leak_pj=0.1,
                     area_um2=1000.0, bypass_choice=("I",)),
        FanOut("PE", x=4, x_dims=("K",), reduce=False),
        StorageLevel("Reg", partition_words={"W": 2, "O": 1}),
    ), Compute("FMA", mac_pj=0.5, ops_per_cycle=2, area_um2=30.0), clock_mhz=800.0)
    path = tmp_path / "full.yaml"
    write_hierarchy(h, path)
    assert read_hierarchy(path) == h


def test_the_three_kinds_of_arch_file_are_told_apart():
    assert is_hierarchy_data({"nodes": []})
    assert not is_hierarchy_data({"architecture": {"nodes": []}, "nodes": []})   # Timeloop
    assert not is_hierarchy_data({"pe_rows": 4, "pe_cols": 4})                   # v1
    assert not is_hierarchy_data([1, 2])


def test_a_bad_file_reports_every_problem_with_its_node():
    data = {"name": "bad", "clok_mhz": 1, "nodes": [
        {"storage": "DRAM", "keeps": 5},
        {"fanout": "PE", "x": 0, "y_dims": ["Z"]},
        {"storage": "RF", "capacity_words": -1, "word_bits": [16]},
        {"storage": "A", "fanout": "B"},
    ], "compute": {"mac_pj": -1}}
    with pytest.raises(ConfigError) as err:
        parse_hierarchy(data, "bad.yaml")
    message = str(err.value)
    for part in ("bad.yaml: unknown key 'clok_mhz'; did you mean 'clock_mhz'?",
                 "nodes[0] (DRAM).keeps: expected a list of names",
                 "nodes[1] (PE): fan-out 'PE': x must be a positive integer, got 0",
                 "y_dims: unknown dims ['Z']",
                 "nodes[2] (RF).word_bits: expected a mapping",
                 "nodes[3]: give exactly one of",
                 "compute: compute 'MAC': mac_pj must be a non-negative"):
        assert part in message, message
    assert "\n" not in message


def test_not_a_hierarchy_is_one_clear_error():
    with pytest.raises(ConfigError, match="expected a hierarchy, a mapping with 'nodes'"):
        parse_hierarchy({"pe_rows": 4}, "v1.yaml")


def test_the_documented_example_is_the_eyeriss_preset():
    """The YAML in this module's docstring (and docs/MAPPER.md) is `presets.eyeriss()`."""
    import codesign.hierarchy.io as io
    from codesign.hierarchy.presets import eyeriss

    text = io.__doc__.split("::\n", 1)[1].split("\n\n")[0]
    assert parse_hierarchy(yaml.safe_load(text)) == eyeriss()


_NODE_KEYS = ["storage", "fanout", "keeps", "capacity_words", "partition_words", "word_bits",
              "block_words", "shared_bw", "x", "y", "x_dims", "multicast", "read_pj",
              "bypass_choice", "capacity"]
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                     st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=4),
                     st.sampled_from(["W", "I", "O", "K", "DRAM"]))
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.one_of(st.sampled_from(["W", "I", "O"]), st.text(max_size=3)), inner,
                    max_size=3)), max_leaves=6)
_NODES = st.lists(st.one_of(_VALUES, st.dictionaries(st.sampled_from(_NODE_KEYS), _VALUES,
                                                     max_size=5)), max_size=4)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck),
          database=None, derandomize=True)
@given(nodes=_NODES, top=st.dictionaries(st.sampled_from(["name", "clock_mhz", "compute",
                                                         "clock"]), _VALUES, max_size=3))
def test_any_data_raises_only_config_errors(nodes, top):
    try:
        parse_hierarchy({"nodes": nodes, **top}, "fuzz.yaml")
    except ConfigError as exc:
        assert "\n" not in str(exc)
