"""``codesign explore`` that finds no feasible design says which designs were infeasible
and why, naming only the options that were given (issue 14, point 15)."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from codesign.cli import _no_design_reason, main
from codesign.search.problem import Infeasibility

FAST = ["--population", "4", "--generations", "1", "--mapper-candidates", "2",
        "--mapper-steps", "1", "--device", "cpu", "--no-plot"]


def _explore(model, tmp_path, *args):
    result = CliRunner().invoke(main, ["explore", model, "--out", str(tmp_path / "run"),
                                       *FAST, *args])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "Traceback" not in result.output
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    return result.stderr, run


@pytest.mark.parametrize("buffer", ["rf_words", "glb_words"])
def test_a_space_whose_buffers_hold_one_word_blames_the_buffers(buffer, conv_gemm_onnx,
                                                                 tmp_path):
    """Before: "relax --max-area/--max-power", options the run was not given. A buffer of
    one word cannot hold a tile of W, I and O (at least one word each), so every design of
    the space is infeasible for capacity, and nothing else."""
    space = tmp_path / "space.yaml"
    space.write_text(f"{buffer}: 1\n")
    stderr, run = _explore(conv_gemm_onnx, tmp_path, "--space", str(space))
    record = run["infeasible"]
    assert record["n_designs"] >= 4 and record["n_feasible"] == 0
    assert record["violations"] == {"capacity": record["n_designs"]}
    assert record["layers_without_a_fitting_mapping"][0]["n_designs"] == record["n_designs"]
    warning = stderr.splitlines()[-1]
    assert warning.startswith(f"Warning: no feasible design among the {record['n_designs']} "
                              "designs evaluated: ")
    assert "had a layer with no mapping that fits the buffers" in warning
    assert f"{buffer} 1" in warning and "--space" in warning
    assert "--max-area" not in warning and "--max-power" not in warning


def test_an_area_limit_nothing_meets_is_blamed_alone(conv_gemm_onnx, tmp_path):
    stderr, run = _explore(conv_gemm_onnx, tmp_path, "--max-area", "1e-9")
    n_designs = run["infeasible"]["n_designs"]
    assert run["infeasible"]["violations"]["area"] == n_designs
    warning = stderr.splitlines()[-1]
    assert f"{n_designs} were over --max-area; " in warning and "relax --max-area" in warning
    assert "--max-power" not in warning


def test_the_reason_lists_every_cause_with_its_count():
    run = {"infeasible": {"n_designs": 10, "n_feasible": 0, "not_finite": 2,
                          "violations": {"capacity": 5, "power": 4, "max_latency": 10},
                          "layers_without_a_fitting_mapping": [
                              {"layer": 3, "names": ["conv3", "conv4"], "n_designs": 3}]},
           "config": {"space": {"rf_words": [8, 16], "glb_words": [1024]}}}
    assert _no_design_reason(run) == (
        "no feasible design among the 10 designs evaluated: 3 had a layer with no mapping "
        "that fits the buffers and the PE array (most often layer 3 'conv3 ...', in 3 "
        "designs); 2 had objectives that are not finite; 4 were over --max-power; 10 were "
        "over --max latency; allow larger buffers in --space (largest now: rf_words 16, "
        "glb_words 1024), or check the cost model, or relax --max-power, or relax --max "
        "latency")
    assert "widen the design space" in _no_design_reason({})  # a run.json without counts


def test_infeasibility_counts_designs_per_constraint_and_layer():
    tally = Infeasibility()
    constraints = torch.tensor([[0.0, 1.0], [2.0, -1.0], [0.0, 0.0]])  # [B, C]
    layer_ok = torch.tensor([[True, True], [False, True], [True, True]])  # [B, L]
    finite = torch.tensor([True, True, False])
    tally.add(("capacity", "area"), constraints, (constraints <= 0).all(1), finite, layer_ok)
    tally.add(("capacity", "area"), constraints, (constraints <= 0).all(1), finite, layer_ok)
    assert tally.to_dict() == {"n_designs": 6, "n_feasible": 2, "not_finite": 2,
                               "violations": {"capacity": 2, "area": 2},
                               "layer_misfits": [2, 0]}
