"""``codesign explore --refine none|gradient`` and ``explore(refine=...)``."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from codesign.cli import main

FAST = ["--strategy", "joint", "--population", "6", "--generations", "1", "--device", "cpu",
        "--no-plot"]


def test_refine_gradient_is_recorded_in_run_json_and_history(conv_gemm_onnx, tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["explore", conv_gemm_onnx, "--out", str(out), *FAST,
                                       "--refine", "gradient"])
    assert result.exit_code == 0, result.output
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["refine"] == "gradient"
    assert run["refine"]["method"] == "gradient" and run["refine"]["evaluations"] > 0
    with open(out / "history.csv") as handle:
        history = list(csv.DictReader(handle))
    assert history[-1]["phase"] == "refine"
    assert int(history[-1]["evaluations"]) == run["evaluations"]


def test_refine_defaults_to_none(conv_gemm_onnx, tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["explore", conv_gemm_onnx, "--out", str(out), *FAST])
    assert result.exit_code == 0, result.output
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["refine"] == "none" and run["refine"] is None


def test_bad_refine_method_is_one_line_exit_2(conv_gemm_onnx, tmp_path):
    result = CliRunner().invoke(main, ["explore", conv_gemm_onnx, "--out", str(tmp_path / "r"),
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
