"""Tests for codesign/search/checkpoint.py: atomic writes, JSON + npz checkpoints."""

from __future__ import annotations

import numpy as np
import pytest

from codesign.errors import RunError
from codesign.search.checkpoint import (
    CHECKPOINT_JSON,
    atomic_write_text,
    read_checkpoint,
    write_checkpoint,
)


def test_round_trip_without_pickle(tmp_path):
    write_checkpoint(tmp_path, {"generation": 3, "note": "x"},
                     {"generation": np.array(3), "pop": np.arange(6.0).reshape(2, 3)})
    state, arrays = read_checkpoint(tmp_path)
    assert state == {"generation": 3, "note": "x"}
    assert arrays["pop"].tolist() == [[0, 1, 2], [3, 4, 5]]


def test_mismatched_or_missing_checkpoints_are_run_errors(tmp_path):
    with pytest.raises(RunError, match="no checkpoint"):
        read_checkpoint(tmp_path)
    write_checkpoint(tmp_path, {"generation": 3}, {"generation": np.array(3)})
    # the state travels inside checkpoint.npz (one atomic rename); checkpoint.json is a copy,
    # so a run killed between the two writes still resumes from a consistent checkpoint
    atomic_write_text(tmp_path / CHECKPOINT_JSON, '{"generation": 4}')
    assert read_checkpoint(tmp_path)[0] == {"generation": 3}
    # an older checkpoint (state only in checkpoint.json) is checked against the arrays
    np.savez(tmp_path / "checkpoint.npz", generation=np.array(3))
    with pytest.raises(RunError, match="different generations"):
        read_checkpoint(tmp_path)


def test_object_arrays_are_refused(tmp_path):
    with pytest.raises(ValueError, match="numeric"):
        write_checkpoint(tmp_path, {"generation": 1},
                         {"generation": np.array(1), "bad": np.array([{"a": 1}], dtype=object)})
