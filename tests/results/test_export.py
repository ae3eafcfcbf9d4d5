"""Tests for codesign/results/export.py: CSV/JSON text and atomic writes."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from codesign.results.export import generate_csv, generate_json, write_csv, write_json


def test_csv_round_trips_floats_exactly():
    value = 1 / 3
    text = generate_csv([{"a": 1, "b": value, "c": "ws"}], ["a", "b", "c"])
    row = next(csv.DictReader(text.splitlines()))
    assert row == {"a": "1", "b": repr(value), "c": "ws"}
    assert float(row["b"]) == value


def test_csv_rejects_unknown_columns():
    with pytest.raises(ValueError):
        generate_csv([{"a": 1, "zzz": 2}], ["a"])


def test_json_handles_numpy_and_non_finite_values():
    data = json.loads(generate_json({"x": np.float64(2.5), "v": np.arange(3), "bad": math.nan,
                                     "t": (1, 2)}))
    assert data == {"x": 2.5, "v": [0, 1, 2], "bad": None, "t": [1, 2]}


def test_writes_replace_the_file_and_leave_no_temporaries(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old\n")
    write_csv(path, [{"a": 1}], ["a"])
    assert path.read_text() == "a\n1\n"
    write_json(tmp_path / "x.json", {"k": 1})
    assert json.loads((tmp_path / "x.json").read_text()) == {"k": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "x.json"]
