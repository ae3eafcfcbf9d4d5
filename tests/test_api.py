"""Tests for codesign/api.py: explore() on an in-memory workload, outputs and errors."""

from __future__ import annotations

import json

import pytest

from codesign.api import explore
from codesign.arch.space import DesignSpace
from codesign.errors import ConfigError, RunError
from codesign.workload.layer import Layer, LayerTable

TABLE = LayerTable.from_layers([Layer.conv(K=16, C=8, P=8, Q=8, R=3, S=3, name="c"),
                                Layer.gemm(M=4, K=32, N=16, name="fc")])
FAST = {"population": 6, "generations": 2, "mapper_candidates": 4, "mapper_steps": 1,
        "device": "cpu"}


def test_explore_returns_sorted_pareto_designs_and_writes_nothing_without_out(tmp_path):
    result = explore(TABLE, objectives="edp,area", **FAST)
    assert result.pareto and not result.interrupted
    edp = [d.metrics["edp_js"] for d in result.pareto]
    assert edp == sorted(edp)  # sorted by the first objective
    data = result.to_dict()
    assert data["run"]["config"]["objectives"] == ["edp", "area"]
    # two generations and the final remap of the front
    assert [h["phase"] for h in data["history"]] == ["search", "search", "remap"]
    assert len(data["designs"]) == len(result.pareto)
    assert data["run"]["hypervolume"]["reference_point"] == 1.1


def test_a_small_space_is_respected():
    space = DesignSpace(pe_rows=(8,), pe_cols=(8, 16), dataflows=("ws",))
    result = explore(TABLE, space, **FAST)
    assert {d.accelerator.pe_rows for d in result.pareto} == {8}
    assert {d.accelerator.dataflow.name for d in result.pareto} == {"ws"}


def test_existing_run_is_not_overwritten_and_resume_needs_the_table(tmp_path):
    explore(TABLE, out=tmp_path, plot=False, **FAST)
    assert json.loads((tmp_path / "run.json").read_text())["status"] == "done"
    with pytest.raises(ConfigError, match="--force"):
        explore(TABLE, out=tmp_path, **FAST)
    with pytest.raises(RunError, match="in-memory workload"):
        explore(resume=tmp_path)
    resumed = explore(TABLE, resume=tmp_path, generations=3, plot=False)
    assert resumed.run["generations_done"] == 3


def test_bad_values_are_config_errors():
    with pytest.raises(ConfigError, match="max area"):
        explore(TABLE, max_area_mm2=0, **FAST)
    with pytest.raises(ConfigError, match="nsga2"):
        explore(TABLE, algorithm="cmaes", **FAST)
    with pytest.raises(ConfigError, match="strategy"):
        explore(TABLE, strategy="greedy", **FAST)


def test_mapper_effort_has_one_range_zero_steps_run_one_candidate_is_refused(tmp_path):
    """mapper_steps=0 (the best starting candidates, as the mapper allows) used to be refused
    here though the CLI took it; mapper_candidates=1 used to start and fail in the mapper."""
    result = explore(TABLE, **{**FAST, "mapper_candidates": 2, "mapper_steps": 0})
    assert result.pareto and result.run["config"]["mapper_steps"] == 0
    with pytest.raises(ConfigError) as info:
        explore(TABLE, out=tmp_path / "run", **{**FAST, "mapper_candidates": 1,
                                               "mapper_steps": -1})
    assert str(info.value) == ("explore: mapper candidates must be an integer >= 2, got 1; "
                               "mapper steps must be an integer >= 0, got -1")
    assert not (tmp_path / "run").exists()  # refused before the run started


def test_a_run_json_written_before_explore_config_still_resumes(tmp_path):
    """tests/data/run_json_v0: a run folder of the code before `ExploreConfig` (its README);
    resuming it gives the front that code gave, and keeps its settings."""
    import shutil
    from pathlib import Path

    from codesign.search.config import DEFAULT_MIGRANTS, DEFAULT_MIGRATE_EVERY

    v0 = Path(__file__).parent / "data" / "run_json_v0"
    folder = tmp_path / "run"
    folder.mkdir()
    for name in ("run.json", "checkpoint.json", "checkpoint.npz"):
        shutil.copy(v0 / name, folder / name)
    saved = json.loads((v0 / "run.json").read_text())["config"]
    resumed = explore(TABLE, resume=folder, generations=3, device="cpu", plot=False)
    assert resumed.run["generations_done"] == 3
    assert resumed.run["resumed_from_generation"] == 2
    assert (folder / "pareto.csv").read_text() == (v0 / "resumed_pareto.csv").read_text()
    config = json.loads((folder / "run.json").read_text())["config"]
    later = {"islands": 1, "migrate_every": DEFAULT_MIGRATE_EVERY,  # settings added since,
             "migrants": DEFAULT_MIGRANTS, "ray": False}            # at their defaults
    # the budget given replaces the saved one
    assert config == {**saved, "generations": 3, **later}
