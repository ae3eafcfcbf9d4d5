"""The campaign file: jobs from axes, stable names, every problem reported at once."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from codesign.campaign import load_campaign, parse_campaign
from codesign.cli import main
from codesign.errors import ConfigError


def test_the_cross_product_names_jobs_by_the_axes_that_vary(campaign_file):
    campaign = load_campaign(campaign_file(seeds=(0, 1)))
    names = [j.name for j in campaign.jobs]
    assert names == ["a-default-s0", "a-default-s1", "a-small-s0", "a-small-s1",
                     "b-default-s0", "b-default-s1", "b-small-s0", "b-small-s1"]
    job = campaign.jobs[2]
    assert job.space_path.endswith("small.yaml") and job.objectives == "latency,energy,area"
    assert job.strategy == "nested" and job.budget["population"] == 6
    assert load_campaign(campaign_file(seeds=(0, 1))) == campaign  # the same file, the same jobs


def test_zip_pairs_the_values_and_broadcasts_single_ones(tmp_path, conv_gemm_onnx):
    data = {"workloads": {"a": conv_gemm_onnx, "b": conv_gemm_onnx}, "seeds": [3, 4],
            "objectives": ["edp,area"], "combine": "zip"}
    jobs = parse_campaign(data, base=tmp_path).jobs
    assert [(j.workload, j.seed, j.objectives) for j in jobs] == [("a", 3, "edp,area"),
                                                                  ("b", 4, "edp,area")]
    with pytest.raises(ConfigError, match="same number of values"):
        parse_campaign({**data, "seeds": [1, 2, 3]}, base=tmp_path)


def test_every_problem_is_reported_at_once(tmp_path):
    data = {"workloads": {"a": "missing.onnx"}, "strategies": ["nested", "greedy"],
            "seeds": [-1], "budget": {"populaton": 4, "generations": 0},
            "objectives": ["latency,speed"], "colour": 1, "spaces": {"bad name!": None}}
    with pytest.raises(ConfigError) as info:
        parse_campaign(data, base=tmp_path, where="c.yaml")
    message = str(info.value)
    assert "\n" not in message and message.startswith("c.yaml: ")
    for part in ("missing.onnx does not exist", "'greedy' is not one of",
                 "seeds: -1", "'populaton'; did you mean 'population'?",
                 "generations: 0 is not a positive integer", "unknown: speed",
                 "unknown key 'colour'", "name 'bad name!'"):
        assert part in message, part


def test_a_bad_campaign_file_is_one_line_exit_2(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"workloads": ["nope.onnx"], "seeds": ["x"]}))
    result = CliRunner().invoke(main, ["sweep", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "nope.onnx does not exist" in lines[0] and "seeds" in lines[0]
    assert not (tmp_path / "out").exists()


def test_a_budget_explore_would_refuse_is_refused_by_the_file(tmp_path, conv_gemm_onnx):
    """The budget ranges are explore's own (`SETTINGS`): a job never fails on them later."""
    data = {"workloads": [conv_gemm_onnx],
            "budget": {"population": 1, "mapper_candidates": 1, "mapper_steps": 0}}
    with pytest.raises(ConfigError) as info:
        parse_campaign(data, base=tmp_path)
    message = str(info.value)
    assert "population: 1 is not an integer >= 2" in message
    assert "mapper_candidates: 1 is not an integer >= 2" in message
    assert "mapper_steps" not in message
