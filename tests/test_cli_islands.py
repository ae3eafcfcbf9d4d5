"""``codesign explore --islands 2``: two islands in local worker processes, end to end; the
same front as the islands run inline (one process), and ``--resume`` refused."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from codesign.cli import main

pytestmark = pytest.mark.slow  # two runs, one with two worker processes that import torch

ARGS = ["--islands", "2", "--migrate-every", "1", "--population", "6", "--generations", "3",
        "--device", "cpu", "--seed", "5", "--no-plot"]


def test_two_islands_in_processes_write_the_run_and_match_an_inline_run(
        conv_gemm_onnx, tmp_path, monkeypatch):
    out = tmp_path / "procs"
    result = CliRunner().invoke(main, ["explore", conv_gemm_onnx, "--out", str(out), *ARGS])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    for line in ("gen 1/3", "gen 3/3", "remap"):  # progress, merged over the islands
        assert line in result.output, line
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "done" and run["config"]["islands"] == 2
    assert run["config"]["migrate_every"] == 1 and run["config"]["ray"] is False
    assert run["generations_done"] == 3 and run["n_pareto"] > 0
    history = (out / "history.csv").read_text().splitlines()
    assert len(history) == 1 + 3 + 1  # header, 3 generations, the remap

    # the same islands, one after another in this process: the same front
    from codesign.search import islands

    real = islands.run_islands
    monkeypatch.setattr(islands, "run_islands",
                        lambda *a, **k: real(*a, **{**k, "workers": "inline"}))
    inline = tmp_path / "inline"
    again = CliRunner().invoke(main, ["explore", conv_gemm_onnx, "--out", str(inline), *ARGS])
    assert again.exit_code == 0, again.output
    assert (inline / "pareto.csv").read_text() == (out / "pareto.csv").read_text()

    refused = CliRunner().invoke(main, ["explore", "--resume", str(out)])
    assert refused.exit_code == 2, refused.output
    assert "an island run cannot be resumed" in refused.output
    assert "Traceback" not in refused.output
