"""Output paths that cannot be written are one-line errors (docs/GUARANTEES.md, "Inputs"):
before these fixes each gave an OSError traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from codesign.cli import main

MODEL = Path(__file__).resolve().parents[2] / "models" / "resnet18.onnx"


def _one_line(args, code):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == code, (result.output, result.exception)
    assert "Traceback" not in result.output
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, \
        result.stderr
    return result.stderr


@pytest.fixture()
def a_file(tmp_path):
    path = tmp_path / "file"
    path.write_text("not a folder")
    return path


def test_explore_out_under_a_file(a_file):
    message = _one_line(["explore", MODEL, "--out", a_file / "run", "--generations", "1"], 2)
    assert "cannot create the folder or its lock file (Not a directory)" in message


def test_map_out_under_a_file(a_file, tmp_path):
    tiny = tmp_path / "tiny.onnx"
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.zeros((8, 4), np.float32), "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tiny)
    message = _one_line(["map", tiny, "--arch", "eyeriss", "--effort", "fast",
                         "--out", a_file / "out"], 2)
    assert "--out" in message and "cannot create the folder (Not a directory)" in message


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_a_time_limit_that_never_ends_is_refused(value, tmp_path):
    """--time-limit nan compared false with the elapsed time: the run never stopped (it was
    still going after 724 generations); inf is no limit at all."""
    message = _one_line(["explore", MODEL, "--out", tmp_path / "run", "--time-limit", value], 2)
    assert "time limit must be a finite number of seconds > 0" in message
    assert not (tmp_path / "run").exists()


def test_a_negative_seed_is_refused(tmp_path):
    """numpy's SeedSequence raised 'expected non-negative integer' from inside the run."""
    message = _one_line(["explore", MODEL, "--out", tmp_path / "run", "--seed", "-5"], 2)
    assert "seed must be an integer >= 0, got -5" in message


def test_nsga3_with_one_objective_runs(tmp_path):
    """Picking NSGA-III's reference directions looped forever for a single objective."""
    result = CliRunner().invoke(main, [
        "explore", str(MODEL), "--out", str(tmp_path / "run"), "--objectives", "edp",
        "--algorithm", "nsga3", "--population", "4", "--generations", "1", "--strategy",
        "random", "--no-plot"])
    assert result.exit_code == 0, (result.output, result.exception)
