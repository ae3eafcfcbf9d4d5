"""``codesign explore --refine none|gradient`` and ``explore(refine=...)``."""

from __future__ import annotations

import csv
import json

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

from codesign.cli import main

FAST = ["--strategy", "joint", "--population", "6", "--generations", "1", "--device", "cpu",
        "--no-plot"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """conv 3x3 (4 -> 8 ch, 8x8) -> relu -> gemm 512 -> 16."""
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
    path = tmp_path_factory.mktemp("refine") / "tiny.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return str(path)


def test_refine_gradient_is_recorded_in_run_json_and_history(tiny_model, tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["explore", tiny_model, "--out", str(out), *FAST,
                                       "--refine", "gradient"])
    assert result.exit_code == 0, result.output
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["refine"] == "gradient"
    assert run["refine"]["method"] == "gradient" and run["refine"]["evaluations"] > 0
    with open(out / "history.csv") as handle:
        history = list(csv.DictReader(handle))
    assert history[-1]["phase"] == "refine"
    assert int(history[-1]["evaluations"]) == run["evaluations"]


def test_refine_defaults_to_none(tiny_model, tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["explore", tiny_model, "--out", str(out), *FAST])
    assert result.exit_code == 0, result.output
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["refine"] == "none" and run["refine"] is None


def test_bad_refine_method_is_one_line_exit_2(tiny_model, tmp_path):
    result = CliRunner().invoke(main, ["explore", tiny_model, "--out", str(tmp_path / "r"),
                                       *FAST, "--refine", "newton"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_api_refuses_gradient_refinement_of_a_custom_cost_model():
    from codesign.api import explore
    from codesign.errors import ConfigError
    from codesign.workload.layer import Layer, LayerTable

    class Wrapped:   # a cost model that is not the analytical one
        def __init__(self):
            from codesign.cost.analytical import AnalyticalCostModel

            self.inner = AnalyticalCostModel()

        def evaluate(self, hardware, workload, mappings):
            return self.inner.evaluate(hardware, workload, mappings)

    table = LayerTable.from_layers([Layer.gemm(M=4, K=8, N=8)])
    with pytest.raises(ConfigError, match="analytical cost model"):
        explore(table, cost_model=Wrapped(), refine="gradient", generations=1, population=4,
                device="cpu")
    with pytest.raises(ConfigError, match="unknown refine method"):
        explore(table, refine="newton", generations=1, population=4, device="cpu")
