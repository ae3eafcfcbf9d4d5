"""End-to-end ``codesign explore`` through CliRunner on a tiny ONNX model."""

from __future__ import annotations

import csv
import json

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

from codesign.cli import main
from codesign.search.archive import non_dominated_mask

FAST = ["--population", "8", "--generations", "3", "--mapper-candidates", "4",
        "--mapper-steps", "1", "--device", "cpu", "--no-plot"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """conv 3x3 (8 -> 16 ch, 16x16) -> relu -> conv 1x1 (16 -> 32) -> pool -> gemm 32 -> 16."""
    def weight(name, shape):
        return numpy_helper.from_array(np.zeros(shape, dtype=np.float32), name)

    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["a"], pads=[1, 1, 1, 1], name="conv1"),
        helper.make_node("Relu", ["a"], ["b"], name="relu"),
        helper.make_node("Conv", ["b", "w2"], ["c"], name="conv2"),
        helper.make_node("GlobalAveragePool", ["c"], ["d"], name="pool"),
        helper.make_node("Flatten", ["d"], ["e"], name="flat"),
        helper.make_node("Gemm", ["e", "w3"], ["y"], name="fc"),
    ]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])],
        initializer=[weight("w1", (16, 8, 3, 3)), weight("w2", (32, 16, 1, 1)),
                     weight("w3", (32, 16))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path_factory.mktemp("model") / "tiny.onnx"
    onnx.save(model, path)
    return str(path)


def _rows(folder, name="pareto.csv"):
    with open(folder / name) as handle:
        return list(csv.DictReader(handle))


def test_explore_writes_a_feasible_non_dominated_reproducible_front(tiny_model, tmp_path):
    runner = CliRunner()
    out1, out2 = tmp_path / "a", tmp_path / "b"
    first = runner.invoke(main, ["explore", tiny_model, "--out", str(out1), *FAST])
    assert first.exit_code == 0, first.output
    assert "Traceback" not in first.output
    for name in ("pareto.csv", "designs.json", "history.csv", "run.json"):
        assert (out1 / name).is_file(), name
    rows = _rows(out1)
    assert rows
    objectives = np.array([[float(r["latency_s"]), float(r["energy_j"]), float(r["area_mm2"])]
                           for r in rows])
    assert non_dominated_mask(objectives).all()
    designs = json.loads((out1 / "designs.json").read_text())["designs"]
    assert len(designs) == len(rows)
    assert all(layer["feasible"] for d in designs for layer in d["layers"])
    run = json.loads((out1 / "run.json").read_text())
    assert run["status"] == "done" and run["seed"] == 0 and run["device"] == "cpu"
    assert run["command"][0] == "codesign" and run["versions"]["pymoo"]
    history = _rows(out1, "history.csv")
    # three generations, then the front mapped again with the strong mapper
    assert [(int(h["generation"]), h["phase"]) for h in history] == [
        (1, "search"), (2, "search"), (3, "search"), (3, "remap")]
    # same seed, same device -> byte-identical front
    second = runner.invoke(main, ["explore", tiny_model, "--out", str(out2), *FAST])
    assert second.exit_code == 0, second.output
    assert (out1 / "pareto.csv").read_text() == (out2 / "pareto.csv").read_text()


def test_existing_out_needs_force(tiny_model, tmp_path):
    runner = CliRunner()
    out = tmp_path / "run"
    assert runner.invoke(main, ["explore", tiny_model, "--out", str(out), *FAST]).exit_code == 0
    again = runner.invoke(main, ["explore", tiny_model, "--out", str(out), *FAST])
    assert again.exit_code == 2
    assert "--force" in again.output and len(again.output.strip().splitlines()) == 1
    forced = runner.invoke(main, ["explore", tiny_model, "--out", str(out), "--force", *FAST])
    assert forced.exit_code == 0, forced.output


def test_resume_continues_from_the_checkpoint(tiny_model, tmp_path):
    runner = CliRunner()
    out = tmp_path / "run"
    first = runner.invoke(main, ["explore", tiny_model, "--out", str(out), "--no-fusion", *FAST])
    assert first.exit_code == 0, first.output
    more = runner.invoke(main, ["explore", "--resume", str(out), "--generations", "5"])
    assert more.exit_code == 0, more.output
    history = _rows(out, "history.csv")
    # the first run's remap row stays; the resumed run searches on and remaps its front
    assert [int(h["generation"]) for h in history] == [1, 2, 3, 3, 4, 5, 5]
    run = json.loads((out / "run.json").read_text())
    assert run["resumed_from_generation"] == 3 and run["generations_done"] == 5
    assert run["config"]["workload"]["fusion"] is False  # the saved workload option is kept
    assert float(history[-1]["hypervolume"]) >= float(history[3]["hypervolume"])


def test_bad_options_are_one_line_exit_2(tiny_model, tmp_path):
    runner = CliRunner()
    bad = runner.invoke(main, ["explore", tiny_model, "--objectives", "latency,speed",
                               "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "speed" in bad.output and "Traceback" not in bad.output
    space = tmp_path / "space.yaml"
    space.write_text("pe_row: [4]\n")
    bad = runner.invoke(main, ["explore", tiny_model, "--space", str(space)])
    assert bad.exit_code == 2 and "did you mean 'pe_rows'" in bad.output
    none = runner.invoke(main, ["explore"])
    assert none.exit_code == 2 and "MODEL" in none.output


def test_constraints_hold_on_the_front(tiny_model, tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["explore", tiny_model, "--out", str(out), "--max-area",
                                       "2", *FAST])
    assert result.exit_code == 0, result.output
    assert all(float(r["area_mm2"]) <= 2 for r in _rows(out))


def test_ctrl_c_writes_the_front_so_far_and_exits_130(tiny_model, tmp_path, monkeypatch):
    from codesign.cost.analytical import AnalyticalCostModel

    original, calls = AnalyticalCostModel.evaluate, []

    def interrupt_once(self, hardware, workload, mappings):
        calls.append(1)
        if len(calls) == 7:  # 3 cost calls per generation here: Ctrl-C in generation 3
            raise KeyboardInterrupt
        return original(self, hardware, workload, mappings)

    monkeypatch.setattr(AnalyticalCostModel, "evaluate", interrupt_once)
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["explore", tiny_model, "--out", str(out), *FAST])
    assert result.exit_code == 130, result.output
    assert "Aborted!" in result.output and "Traceback" not in result.output
    run = json.loads((out / "run.json").read_text())
    assert run["interrupted"] is True and run["generations_done"] == 2
    assert _rows(out)
