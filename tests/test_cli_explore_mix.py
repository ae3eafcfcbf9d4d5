"""``codesign explore a.onnx b.onnx``: one accelerator for several models, end to end."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import yaml
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

from codesign.cli import main

FAST = ["--population", "6", "--generations", "2", "--mapper-candidates", "2",
        "--mapper-steps", "0", "--device", "cpu", "--no-plot"]


def _model(path: Path, convs: list[tuple[int, int, int]], fc_out: int) -> str:
    """A chain of 3x3 convs (cin, cout, size; padding keeps the size) -> pool -> gemm."""
    def weight(name, shape):
        return numpy_helper.from_array(np.zeros(shape, dtype=np.float32), name)

    nodes, inits, x = [], [], "x"
    for i, (cin, cout, _) in enumerate(convs):
        nodes.append(helper.make_node("Conv", [x, f"w{i}"], [f"c{i}"], pads=[1, 1, 1, 1],
                                      name=f"conv{i}"))
        inits.append(weight(f"w{i}", (cout, cin, 3, 3)))
        x = f"c{i}"
    last = convs[-1][1]
    nodes += [helper.make_node("GlobalAveragePool", [x], ["p"], name="pool"),
              helper.make_node("Flatten", ["p"], ["f"], name="flat"),
              helper.make_node("Gemm", ["f", "wf"], ["y"], name="fc")]
    inits.append(weight("wf", (last, fc_out)))
    cin, _, size = convs[0]
    graph = helper.make_graph(
        nodes, path.stem, [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                          [1, cin, size, size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, fc_out])],
        initializer=inits)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return str(path)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Two models sharing their first conv (8 -> 16 channels, 16x16)."""
    root = tmp_path_factory.mktemp("mix")
    a = _model(root / "a.onnx", [(8, 16, 16), (16, 16, 16)], 10)
    b = _model(root / "b.onnx", [(8, 16, 16)], 4)
    return a, b


def _rows(folder: Path) -> list[dict[str, str]]:
    with open(folder / "pareto.csv") as handle:
        return list(csv.DictReader(handle))


def test_two_models_give_a_front_with_per_model_figures(models, tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["explore", *models, "--weight", "b=2", "--objectives",
                                       "latency@a,latency@b,energy,area", "--out", str(out),
                                       *FAST])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    rows = _rows(out)
    assert rows
    for row in rows:  # the mix: one inference of a, two of b
        for column in ("latency_s", "energy_j"):
            mix = float(row[f"{column}@a"]) + 2 * float(row[f"{column}@b"])
            assert float(row[column]) == pytest.approx(mix, rel=1e-9)
        assert float(row["edp_js@b"]) == pytest.approx(
            float(row["latency_s@b"]) * float(row["energy_j@b"]), rel=1e-9)
    designs = json.loads((out / "designs.json").read_text())
    assert designs["objectives"] == ["latency@a", "latency@b", "energy", "area"]
    design = designs["designs"][0]
    a, b = design["workloads"]["a"], design["workloads"]["b"]
    assert (a["weight"], b["weight"]) == (1, 2)
    # the shared conv is one union layer: the same row and mapping in both workloads
    shared = a["layers"][0]
    assert shared["names"] == ["conv0"] and b["layers"][0]["layer"] == shared["layer"]
    assert b["layers"][0]["mapping"] == shared["mapping"]
    assert len(a["layers"]) == 3 and len(b["layers"]) == 2     # conv0, conv1, fc / conv0, fc
    assert len(design["layers"]) == 4                          # union: conv0, conv1, fc_a, fc_b
    assert design["layers"][shared["layer"]]["count"] == 1 + 2  # once in a, twice b's once
    run = json.loads((out / "run.json").read_text())
    assert [w["name"] for w in run["workloads"]] == ["a", "b"]
    assert run["config"]["weights"] == {"b": 2}
    assert [Path(p).name for p in run["config"]["workload"]["path"]] == ["a.onnx", "b.onnx"]
    assert "latency@b (s)" in (out / "report.html").read_text()


def test_a_mix_run_resumes(models, tmp_path):
    out, runner = tmp_path / "run", CliRunner()
    first = runner.invoke(main, ["explore", *models, "--out", str(out), *FAST[:2],
                                 "--generations", "1", *FAST[4:]])
    assert first.exit_code == 0, first.output
    again = runner.invoke(main, ["explore", "--resume", str(out), "--generations", "2",
                                 "--device", "cpu", "--no-plot"])
    assert again.exit_code == 0, again.output
    run = json.loads((out / "run.json").read_text())
    assert run["resumed_from_generation"] == 1 and run["generations_done"] == 2
    assert [w["name"] for w in run["workloads"]] == ["a", "b"]
    assert {"latency_s@a", "energy_j@b"} <= set(_rows(out)[0])
    changed = runner.invoke(main, ["explore", "--resume", str(out), "--weight", "a=2"])
    assert changed.exit_code == 2 and "saved workload weights" in changed.output


@pytest.mark.parametrize(("extra", "message"), [
    (["--objectives", "latency@aa,area"], "did you mean 'latency@a'?"),
    (["--weight", "c=2"], "weight of unknown workload 'c'"),
    (["--refine", "gradient"], "several workloads"),
])
def test_bad_mix_options_are_one_line_exit_2(models, tmp_path, extra, message):
    result = CliRunner().invoke(main, ["explore", *models, "--out", str(tmp_path / "r"),
                                       *FAST, *extra])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_two_models_with_one_name_are_refused(models, tmp_path):
    other = _model(tmp_path / "elsewhere" / "a.onnx", [(4, 4, 8)], 2)
    result = CliRunner().invoke(main, ["explore", models[0], other, "--out",
                                       str(tmp_path / "r"), *FAST])
    assert result.exit_code == 2, result.output
    assert "are all named 'a'" in result.output and "Traceback" not in result.output


def test_a_campaign_job_may_explore_a_list_of_workloads(models, tmp_path):
    from codesign.campaign import load_campaign, sweep

    path = tmp_path / "campaign.yaml"
    path.write_text(yaml.safe_dump({
        "workloads": {"both": list(models)}, "device": "cpu",
        "budget": {"population": 6, "generations": 1, "mapper_candidates": 2,
                   "mapper_steps": 0}}))
    (job,) = load_campaign(path).jobs
    assert job.workload == "both" and [Path(p).name for p in job.workload_path] == \
        ["a.onnx", "b.onnx"]
    result = sweep(path, tmp_path / "out")
    assert [r["status"] for r in result.rows] == ["done"]
    run = json.loads((tmp_path / "out" / "runs" / job.name / "run.json").read_text())
    assert [w["name"] for w in run["workloads"]] == ["a", "b"]


def test_a_campaign_list_workload_with_a_missing_file_is_refused(models, tmp_path):
    from codesign.campaign import load_campaign
    from codesign.errors import ConfigError

    path = tmp_path / "campaign.yaml"
    path.write_text(yaml.safe_dump({"workloads": {"both": [models[0], "nope.onnx"]}}))
    with pytest.raises(ConfigError, match="nope.onnx does not exist"):
        load_campaign(path)


def test_the_api_takes_named_tables_and_costs_each_on_its_own():
    from codesign import explore
    from codesign.workload.layer import Layer, LayerTable

    shared = Layer.conv(K=16, C=8, P=8, Q=8, R=3, S=3, name="c")
    x = LayerTable.from_layers([shared, Layer.gemm(M=1, K=64, N=8, name="fc")])
    y = LayerTable.from_layers([shared])
    result = explore({"x": x, "y": y}, weights={"y": 3}, objectives="latency,area",
                     constraints={"latency@y": 1.0},  # a per-workload limit (far above)
                     population=6, generations=1, mapper_candidates=2, mapper_steps=0,
                     device="cpu")
    assert len(result.table) == 2 and result.table.counts == (1 + 3, 1)
    for design in result.pareto:
        m = design.metrics
        assert m["latency_s"] == pytest.approx(m["latency_s@x"] + 3 * m["latency_s@y"])
        assert design.workloads["y"]["layers"] == [
            {"layer": 0, "names": ["c"], "count": 1, "mapping": design.layers[0]["mapping"]}]


def test_sensitivity_refuses_a_mix_run_in_one_line(models, tmp_path):
    out, runner = tmp_path / "run", CliRunner()
    assert runner.invoke(main, ["explore", *models, "--out", str(out), *FAST]).exit_code == 0
    result = runner.invoke(main, ["sensitivity", str(out), "--design", "0"])
    assert result.exit_code == 2 and "several workloads" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("strategy", ["joint", "sequential", "random"])
def test_every_strategy_explores_a_mix(strategy):
    from codesign import explore
    from codesign.workload.layer import Layer, LayerTable

    shared = Layer.conv(K=8, C=8, P=4, Q=4, R=3, S=3, name="c")
    tables = {"x": LayerTable.from_layers([shared, Layer.gemm(M=1, K=32, N=8, name="fc")]),
              "y": LayerTable.from_layers([shared])}
    result = explore(tables, strategy=strategy, objectives="latency@x,latency@y,area",
                     population=6, generations=2, mapper_candidates=2, mapper_steps=0,
                     device="cpu")
    assert result.pareto and result.run["workloads"][1]["name"] == "y"
    for design in result.pareto:
        m = design.metrics
        assert m["latency_s"] == pytest.approx(m["latency_s@x"] + m["latency_s@y"])
