"""``codesign sensitivity RUN_DIR --design ID [--json]`` through CliRunner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from codesign.cli import main

FAST = ["--population", "4", "--generations", "1", "--mapper-candidates", "2",
        "--mapper-steps", "1", "--device", "cpu", "--no-plot"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, conv_gemm_onnx):
    """A run folder of ``codesign explore`` on the shared conv -> relu -> gemm model."""
    out = tmp_path_factory.mktemp("sens") / "run"
    result = CliRunner().invoke(main, ["explore", conv_gemm_onnx, "--out", str(out), *FAST])
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
