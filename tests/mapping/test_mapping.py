import json

import pytest

from codesign.errors import MappingError
from codesign.mapping.mapping import Mapping

DESIGN_MD_EXAMPLE = {
    "spatial": {"rows": {"C": 16}, "cols": {"K": 16}},
    "temporal": {"RF": {"R": 3, "S": 3}, "GLB": {"P": 14, "Q": 14, "C": 4}, "DRAM": {"K": 4}},
    "order": {"RF": ["R", "S"], "GLB": ["C", "P", "Q"], "DRAM": ["K"]},
}


def test_design_md_example_round_trips(tmp_path):
    m = Mapping.from_json(DESIGN_MD_EXAMPLE)
    assert m.total("C") == 64 and m.total("K") == 64 and m.total("N") == 1
    path = tmp_path / "m.json"
    m.write(path)
    again = Mapping.read(path)
    assert again.to_json() == m.to_json()
    assert json.loads(path.read_text())["order"]["GLB"] == ["C", "P", "Q"]


def test_unlisted_dims_go_innermost_in_dims_order():
    m = Mapping.from_json({"temporal": {"GLB": {"K": 2, "P": 2}}, "order": {"GLB": ["P"]}})
    assert m.full_order("GLB")[:3] == ("P", "N", "G")
    assert m.to_json()["order"]["GLB"] == ["P", "K"]


def test_all_problems_reported_at_once():
    bad = {"spatial": {"diag": {"C": 2}, "rows": {"Z": 2}},
           "temporal": {"RF": {"K": 0}, "L3": {}},
           "order": {"GLB": ["K", "K"]}, "extra": 1}
    with pytest.raises(MappingError) as err:
        Mapping.from_json(bad, where="m.json")
    text = str(err.value)
    for needle in ("diag", "'Z'", "RF.K", "'L3'", "listed twice", "extra"):
        assert needle in text, needle


def test_unreadable_file_names_the_path(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(MappingError, match="broken.json"):
        Mapping.read(path)
