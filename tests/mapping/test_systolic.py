"""systolic_mapping: SCALE-Sim's dataflows as codesign mappings."""

import math

import pytest

from codesign import Layer
from codesign.errors import MappingError
from codesign.mapping.systolic import SYSTOLIC_AXES, systolic_mapping

CONV = Layer.conv(K=64, C=64, P=56, Q=56, R=3, S=3)


def _covers(layer, mapping):
    for d in "NGKCPQRS":
        total = math.prod(mapping.factor(level, d)
                          for level in ("DRAM", "GLB", "rows", "cols", "RF"))
        assert total >= getattr(layer, d), d


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_covers_the_layer_and_fits_the_array(dataflow):
    for rows, cols in ((32, 32), (16, 64), (8, 8)):
        m = systolic_mapping(CONV, dataflow, rows, cols)
        _covers(CONV, m)
        assert math.prod(m.spatial.get("rows", {}).values()) <= rows
        assert math.prod(m.spatial.get("cols", {}).values()) <= cols
        rows_dims, cols_dims, _ = SYSTOLIC_AXES[dataflow]
        assert set(m.spatial.get("rows", {})) <= set(rows_dims)
        assert set(m.spatial.get("cols", {})) <= set(cols_dims)
        assert not m.temporal.get("RF") and not m.temporal.get("DRAM")


def test_ws_on_32x32():
    # C = 64 fills the 32 rows in 2 folds with R, S temporal: 2 * 3 * 3 = 18 row folds,
    # SCALE-Sim's ceil(576 / 32) = 18; K = 64 in 2 col folds; P, Q streamed innermost.
    m = systolic_mapping(CONV, "ws", 32, 32)
    assert m.to_json() == {
        "spatial": {"rows": {"C": 32}, "cols": {"K": 32}},
        "temporal": {"GLB": {"K": 2, "C": 2, "R": 3, "S": 3, "P": 56, "Q": 56}},
        "order": {"GLB": ["K", "C", "R", "S", "P", "Q"]},
    }


def test_small_window_spreads_over_every_dim():
    # conv1 of ResNet-18: window 3 * 7 * 7 = 147 on 32 rows; only unrolling C, R and S all
    # lets the flattened view reach SCALE-Sim's ceil(147 / 32) = 5 row folds.
    conv1 = Layer.conv(K=64, C=3, P=112, Q=112, R=7, S=7, stride=2)
    rows = systolic_mapping(conv1, "ws", 32, 32).spatial["rows"]
    assert set(rows) == {"C", "R", "S"} and math.prod(rows.values()) <= 32


def test_os_and_is_stream_the_other_dims():
    os_ = systolic_mapping(CONV, "os", 32, 32)
    assert os_.order["GLB"][-3:] == ("C", "R", "S")
    is_ = systolic_mapping(CONV, "is", 32, 32)
    assert is_.order["GLB"][-1] == "K"


def test_unknown_dataflow_says_what_to_use():
    with pytest.raises(MappingError, match="unknown dataflow 'rs'.*ws, os, is"):
        systolic_mapping(CONV, "rs", 8, 8)
