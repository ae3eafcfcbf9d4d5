"""``codesign sensitivity RUN_DIR --design ID [--json]`` through CliRunner."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

from codesign.cli import main

FAST = ["--population", "4", "--generations", "1", "--mapper-candidates", "2",
        "--mapper-steps", "1", "--device", "cpu", "--no-plot"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run folder of ``codesign explore`` on conv 3x3 (4 -> 8 ch, 8x8) -> relu -> gemm."""
    def weight(name, shape):
        return numpy_helper.from_array(np.zeros(shape, dtype=np.float32), name)

    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["a"], pads=[1, 1, 1, 1], name="conv1"),
        helper.make_node("Relu", ["a"], ["b"], name="relu"),
        helper.make_node("Flatten", ["b"], ["c"], name="flat"),
        helper.make_node("Gemm", ["c", "w2"], ["y"], name="fc"),
    ]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])],
        initializer=[weight("w1", (8, 4, 3, 3)), weight("w2", (512, 16))])
    folder = tmp_path_factory.mktemp("sens")
    model = folder / "tiny.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), model)
    out = folder / "run"
    result = CliRunner().invoke(main, ["explore", str(model), "--out", str(out), *FAST])
    assert result.exit_code == 0, result.output
    return out


def test_table_on_screen(run_dir):
    result = CliRunner().invoke(main, ["sensitivity", str(run_dir), "--design", "0"])
    assert result.exit_code == 0, result.output
    for word in ("Elasticity", "Cosine", "Hessian", "pe_rows", "glb_bw", "latency", "area"):
        assert word in result.output
    assert "note:" not in result.output   # the model file is still there: vector ops included


def test_json(run_dir):
    result = CliRunner().invoke(main, ["sensitivity", str(run_dir), "--design", "0", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["design"] == 0
    assert set(report["elasticity"]) == {"latency", "energy", "area"}
    assert report["notes"] == []


@pytest.mark.parametrize("args, message", [
    (["--design", "99"], "no design 99"),
    (["--design", "x"], "is not a valid integer"),
])
def test_bad_design_is_one_line_exit_2(run_dir, args, message):
    result = CliRunner().invoke(main, ["sensitivity", str(run_dir), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_bad_run_dir_is_one_line_exit_2(tmp_path):
    result = CliRunner().invoke(main, ["sensitivity", str(tmp_path), "--design", "0"])
    assert result.exit_code == 2
    assert "no readable designs.json" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output
