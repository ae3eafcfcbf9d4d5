"""End-to-end ``codesign explore`` through CliRunner on a tiny ONNX model."""

from __future__ import annotations

import csv
import json
from pathlib import Path

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


# -- issue 14: inputs are checked before an existing run is touched; failures are recorded ----

def _one_error_line(result, code):
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, \
        result.stderr
    return result.stderr


def _no_mac_model(folder):
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    path = folder / "relu.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_force_with_a_bad_input_keeps_the_previous_run(tiny_model, tmp_path):
    # --force used to delete the old run first, then fail on the model: the folder was left
    # with only .codesign.lock
    out = tmp_path / "run"
    assert CliRunner().invoke(main, ["explore", tiny_model, "--out", str(out),
                                     *FAST]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    truncated = tmp_path / "trunc.onnx"
    truncated.write_bytes(Path(tiny_model).read_bytes()[:100])
    for args in ([str(truncated)], [str(_no_mac_model(tmp_path))],
                 [tiny_model, "--cost-model", "os:system"],
                 [tiny_model, "--max-evals", "1"],
                 [tiny_model, "--objectives", "latency,speed"]):
        result = CliRunner().invoke(main, ["explore", *args, "--out", str(out), "--force",
                                           *FAST])
        _one_error_line(result, 2)
        after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
        assert after == before, args


def test_a_callable_that_is_not_a_cost_model_is_one_line(tiny_model, tmp_path):
    # os.system was wrapped as a per-design function: a TypeError traceback mid-run and a
    # run.json left saying "running"
    out = tmp_path / "run"
    message = _one_error_line(CliRunner().invoke(main, [
        "explore", tiny_model, "--cost-model", "os:system", "--out", str(out), *FAST]), 2)
    assert "is not a cost model" in message and "(accelerator, layers, mappings)" in message
    assert not out.exists()  # nothing was started


def test_an_out_name_that_is_not_utf8_is_refused_before_the_search(tiny_model, tmp_path):
    # it used to run the whole search, then fail on report.html (UnicodeEncodeError)
    import os

    out = os.fsdecode(os.fsencode(str(tmp_path)) + b"/run\xff")
    message = _one_error_line(CliRunner().invoke(main, ["explore", tiny_model, "--out", out,
                                                        *FAST]), 2)
    assert "run\\xff: the name is not valid UTF-8" in message
    assert os.listdir(tmp_path) == []


def test_a_run_that_fails_says_failed_in_run_json(tiny_model, tmp_path, monkeypatch):
    # a full disk used to leave run.json at "running"
    from codesign.errors import RunError
    from codesign.search import checkpoint

    calls = []

    def disk_full(folder, state, arrays):
        calls.append(1)
        if len(calls) == 2:
            raise RunError(f"{folder}/checkpoint.npz: cannot write (No space left on device); "
                           "check the free space and the folder's permissions")

    monkeypatch.setattr(checkpoint, "write_checkpoint", disk_full)
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["explore", tiny_model, "--out", str(out), *FAST])
    assert result.exit_code == 1 and "Traceback" not in result.output
    last = result.stderr.splitlines()[-1]  # after the progress line of generation 1
    assert last.startswith("Error: ") and "No space left on device" in last
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "failed" and run["interrupted"] is False
    assert run["error"].startswith("RunError: ") and "No space left" in run["error"]


def test_progress_labels_the_remap_and_help_explains_hv(tiny_model, tmp_path):
    result = CliRunner().invoke(main, ["explore", tiny_model, "--out", str(tmp_path / "r"),
                                       *FAST])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if " evals " in line]
    # "gen 3/3" used to be printed twice: the second was the final remap
    assert [line.split("  ")[0] for line in lines] == ["gen 1/3", "gen 2/3", "gen 3/3", "remap"]
    help_text = CliRunner().invoke(main, ["explore", "--help"]).output
    assert "HV      hypervolume of the front so far" in help_text
    assert "normalised to [0, 1]" in help_text


def test_a_max_evals_below_the_minimum_says_the_minimum(tiny_model, tmp_path):
    # --max-evals 1 used to run 833 evaluations: 8 designs x (4 x 2 + 1) = 72 for one
    # generation, 32 + 1 for the smallest remap
    message = _one_error_line(CliRunner().invoke(main, [
        "explore", tiny_model, "--out", str(tmp_path / "r"), "--max-evals", "1",
        "--population", "8", "--mapper-candidates", "4", "--device", "cpu", "--no-plot"]), 2)
    assert "needs at least 105 evaluations" in message
    ok = CliRunner().invoke(main, [
        "explore", tiny_model, "--out", str(tmp_path / "s"), "--max-evals", "300",
        "--population", "8", "--mapper-candidates", "4", "--device", "cpu", "--no-plot"])
    assert ok.exit_code == 0, ok.output
    run = json.loads((tmp_path / "s" / "run.json").read_text())
    assert run["evaluations"] <= 300
    assert "remap" in ok.stderr and "scaled down to stay within --max-evals" in ok.stderr


def test_mapper_effort_has_the_apis_range(tiny_model, tmp_path):
    """--mapper-steps 0 runs (explore() refused it though this option took it); a bad
    effort is refused with explore()'s message, every problem on one line, before --out."""
    fast = ["--population", "4", "--generations", "1", "--device", "cpu", "--no-plot"]
    ok = CliRunner().invoke(main, ["explore", tiny_model, "--out", str(tmp_path / "ok"),
                                   "--mapper-candidates", "2", "--mapper-steps", "0", *fast])
    assert ok.exit_code == 0, ok.output
    assert json.loads((tmp_path / "ok" / "run.json").read_text())["config"]["mapper_steps"] == 0
    message = _one_error_line(CliRunner().invoke(main, [
        "explore", tiny_model, "--out", str(tmp_path / "bad"), "--mapper-candidates", "1",
        "--mapper-steps", "-1", "--seed", "-2", *fast]), 2)
    assert message == ("Error: explore: mapper candidates must be an integer >= 2, got 1; "
                       "mapper steps must be an integer >= 0, got -1; seed must be an "
                       "integer >= 0, got -2\n")
    assert not (tmp_path / "bad").exists()
