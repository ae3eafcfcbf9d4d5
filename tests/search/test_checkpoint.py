"""Tests for codesign/search/checkpoint.py: atomic writes, JSON + npz checkpoints."""

from __future__ import annotations

import numpy as np
import pytest

from codesign.errors import ConfigError, RunError
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


def test_a_missing_checkpoint_is_a_run_error_a_mismatched_one_a_config_error(tmp_path):
    with pytest.raises(RunError, match="no checkpoint"):
        read_checkpoint(tmp_path)
    write_checkpoint(tmp_path, {"generation": 3}, {"generation": np.array(3)})
    # the state travels inside checkpoint.npz (one atomic rename); checkpoint.json is a copy,
    # so a run killed between the two writes still resumes from a consistent checkpoint
    atomic_write_text(tmp_path / CHECKPOINT_JSON, '{"generation": 4}')
    assert read_checkpoint(tmp_path)[0] == {"generation": 3}
    # an older checkpoint (state only in checkpoint.json) is checked against the arrays
    np.savez(tmp_path / "checkpoint.npz", generation=np.array(3))
    with pytest.raises(ConfigError, match="different generations"):
        read_checkpoint(tmp_path)


@pytest.mark.parametrize(("cut", "message"), [
    (0.5, "damaged, not a whole .npz file"),  # zipfile.BadZipFile escaped
    (0.0, r"empty \(0 bytes"),                # EOFError, which click took for Ctrl-D
    (0.01, "damaged|unreadable"),
])
def test_a_cut_checkpoint_is_one_config_error_naming_the_file(tmp_path, cut, message):
    write_checkpoint(tmp_path, {"generation": 3},
                     {"generation": np.array(3), "population": np.zeros((64, 64))})
    path = tmp_path / "checkpoint.npz"
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * cut)])
    with pytest.raises(ConfigError, match=message) as info:
        read_checkpoint(tmp_path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


def test_object_arrays_are_refused(tmp_path):
    with pytest.raises(ValueError, match="numeric"):
        write_checkpoint(tmp_path, {"generation": 1},
                         {"generation": np.array(1), "bad": np.array([{"a": 1}], dtype=object)})
