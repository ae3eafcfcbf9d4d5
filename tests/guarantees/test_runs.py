"""Runs (docs/GUARANTEES.md, "Runs"): real ``codesign explore`` processes stopped by SIGINT,
SIGTERM and SIGKILL leave a valid output folder that ``--resume`` continues, and two runs
never share an ``--out``.

Each test starts the CLI in a subprocess on a tiny model with a budget it would never
finish, waits for the first checkpoint, and then stops it.
"""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.name != "posix", reason="POSIX signals and flock")]

#: A small, fast search: about 0.1 s per generation after a few seconds of start-up.
FAST = ["--population", "6", "--mapper-candidates", "2", "--mapper-steps", "1",
        "--device", "cpu", "--no-plot", "--seed", "3"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> str:
    """conv 3x3 (4 -> 8 ch, 8x8) -> relu -> gemm 512 -> 10."""
    nodes = [helper.make_node("Conv", ["x", "w1"], ["a"], pads=[1, 1, 1, 1], name="conv"),
             helper.make_node("Relu", ["a"], ["b"], name="relu"),
             helper.make_node("Flatten", ["b"], ["c"], name="flat"),
             helper.make_node("Gemm", ["c", "w2"], ["y"], name="fc")]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        initializer=[numpy_helper.from_array(np.zeros((8, 4, 3, 3), np.float32), "w1"),
                     numpy_helper.from_array(np.zeros((512, 10), np.float32), "w2")])
    path = tmp_path_factory.mktemp("model") / "tiny.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return str(path)


def _sigint_as_from_a_terminal() -> None:
    # a test run started in the background (``cmd &``) hands its children an ignored
    # SIGINT, which the CLI rightly keeps ignoring; these tests send it as Ctrl-C does
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "codesign.cli", "explore", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                            preexec_fn=_sigint_as_from_a_terminal)


def _wait_for_checkpoint(proc: subprocess.Popen, out: Path, generation: int = 1,
                         timeout_s: float = 90.0) -> None:
    """Until checkpoint.json reports at least ``generation`` generations."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            state = json.loads((out / "checkpoint.json").read_text())
            if state["generation"] >= generation:
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"no checkpoint of generation {generation} after {timeout_s} s")


def _check_folder(out: Path, interrupted: bool) -> list[dict]:
    """Every file parses, no temporary file is left, the front is finite and non-empty."""
    leftovers = [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    assert not leftovers, leftovers
    run = json.loads((out / "run.json").read_text())
    assert run["interrupted"] is interrupted
    assert run["status"] == ("interrupted" if interrupted else "done")
    json.loads((out / "designs.json").read_text())
    json.loads((out / "checkpoint.json").read_text())
    with np.load(out / "checkpoint.npz", allow_pickle=False) as data:
        assert "generation" in data.files
    with open(out / "history.csv") as handle:
        assert list(csv.DictReader(handle))
    with open(out / "pareto.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert rows, "an interrupted run still writes the front found so far"
    for row in rows:
        for key in ("latency_s", "energy_j", "area_mm2"):
            value = float(row[key])
            assert math.isfinite(value) and value > 0, (key, row[key])
    return rows


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_leaves_a_valid_folder_and_resume_finishes(model, tmp_path, sig):
    out = tmp_path / "run"
    proc = _start(model, "--out", out, "--generations", "100000", *FAST)
    _wait_for_checkpoint(proc, out)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, (proc.returncode, stderr[-2000:])
    assert "Aborted!" in stderr and "Traceback" not in stderr + stdout
    _check_folder(out, interrupted=True)
    done = json.loads((out / "checkpoint.json").read_text())["generation"]

    resumed = subprocess.run([sys.executable, "-m", "codesign.cli", "explore", "--resume",
                              str(out), "--generations", str(done + 2), "--no-plot"],
                             capture_output=True, text=True, env=ENV, timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    _check_folder(out, interrupted=False)
    run = json.loads((out / "run.json").read_text())
    assert run["resumed_from_generation"] == done and run["generations_done"] == done + 2


def test_sigkill_never_leaves_a_half_written_file(model, tmp_path):
    """SIGKILL cannot be caught: what protects the folder is that every file is written to a
    temporary file and renamed. Kill after the second checkpoint; what is there parses, and
    --resume continues and clears any temporary file the kill left."""
    out = tmp_path / "run"
    proc = _start(model, "--out", out, "--generations", "100000", *FAST)
    _wait_for_checkpoint(proc, out, generation=2)
    proc.kill()
    proc.communicate(timeout=30)
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "running"  # it never got to say otherwise
    state = json.loads((out / "checkpoint.json").read_text())
    with np.load(out / "checkpoint.npz", allow_pickle=False) as data:
        # the arrays and their state are one file: they always agree (the readable
        # checkpoint.json copy may lag one generation behind)
        embedded = json.loads(data["_state_json"].tobytes().decode())
        assert int(data["generation"]) == embedded["generation"] >= 2
        assert state["generation"] in (embedded["generation"], embedded["generation"] - 1)
    # a temporary file of a write in progress may be left; resume removes it
    resumed = subprocess.run([sys.executable, "-m", "codesign.cli", "explore", "--resume",
                              str(out), "--generations", str(embedded["generation"] + 1),
                              "--no-plot"], capture_output=True, text=True, env=ENV,
                             timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    _check_folder(out, interrupted=False)


def test_two_runs_on_one_out_folder_the_second_is_refused(model, tmp_path):
    out = tmp_path / "run"
    first = _start(model, "--out", out, "--generations", "100000", *FAST)
    try:
        _wait_for_checkpoint(first, out)
        before = (out / "run.json").read_text()
        for extra in (["--force"], []):
            second = subprocess.run(
                [sys.executable, "-m", "codesign.cli", "explore", model, "--out", str(out),
                 "--generations", "1", *FAST, *extra],
                capture_output=True, text=True, env=ENV, timeout=120)
            assert second.returncode == 1, second.stderr[-2000:]
            assert second.stderr.strip() == (
                f"Error: {out} is in use by another codesign run (pid {first.pid}); wait for "
                "it to finish or pick another --out")
        resume = subprocess.run(
            [sys.executable, "-m", "codesign.cli", "explore", "--resume", str(out),
             "--generations", "1"], capture_output=True, text=True, env=ENV, timeout=120)
        assert resume.returncode == 1 and f"pid {first.pid}" in resume.stderr
        assert (out / "run.json").read_text() == before  # --force deleted nothing
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
    assert first.returncode == 130
    _check_folder(out, interrupted=True)


# -- issue 14: every stop signal exits 130, whenever it comes ------------------------------

@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_while_starting_exits_130_and_keeps_the_old_run(model, tmp_path, sig):
    """In the first seconds (importing torch, reading the model) SIGINT used to exit 1
    ("Aborted!" from click) and SIGTERM -15; --force had not removed the old run yet and
    must not have."""
    out = tmp_path / "run"
    first = subprocess.run([sys.executable, "-m", "codesign.cli", "explore", model, "--out",
                            str(out), "--generations", "1", *FAST], capture_output=True,
                           text=True, env=ENV, timeout=120)
    assert first.returncode == 0, first.stderr[-2000:]
    before = (out / "run.json").read_text()
    proc = _start(model, "--out", out, "--force", "--generations", "100000", *FAST)
    time.sleep(0.4)  # start-up takes ~0.1 s, importing torch 1-2 s
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, (proc.returncode, stderr[-2000:])
    assert stderr.strip().endswith("Aborted!") and "Traceback" not in stderr + stdout
    assert (out / "run.json").read_text() == before
    _check_folder(out, interrupted=False)


def test_a_second_sigint_exits_130_with_a_consistent_folder(model, tmp_path):
    """The first Ctrl-C ends the search; a second one, while the front is re-costed and
    written, stops at once. That used to exit 1; run.json now says "interrupted" and
    --resume finishes the run."""
    out = tmp_path / "run"
    proc = _start(model, "--out", out, "--generations", "100000", *FAST)
    _wait_for_checkpoint(proc, out)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, (proc.returncode, stderr[-2000:])
    assert "Aborted!" in stderr and "Traceback" not in stderr + stdout
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "interrupted" and run["interrupted"] is True
    done = json.loads((out / "checkpoint.json").read_text())["generation"]
    resumed = subprocess.run([sys.executable, "-m", "codesign.cli", "explore", "--resume",
                              str(out), "--generations", str(done + 1), "--no-plot"],
                             capture_output=True, text=True, env=ENV, timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    _check_folder(out, interrupted=False)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_after_the_command_finished_exits_130(sig):
    """After the summary line the interpreter shuts down, which resets Python's handlers:
    SIGINT then exited 1 or -2, SIGTERM -15. The CLI's last step is the same as here."""
    code = ("import os, signal, sys, time\n"
            "from codesign.cli import _exit_on_stop_signals\n"
            "print('done', flush=True)\n"
            "_exit_on_stop_signals()\n"
            f"os.kill(os.getpid(), {int(sig)})\n"
            "time.sleep(30)\n"
            "sys.exit(0)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=ENV, timeout=60, preexec_fn=_sigint_as_from_a_terminal)
    assert proc.returncode == 130 and proc.stdout == "done\n", (proc.returncode, proc.stderr)


def test_the_cli_process_exits_with_its_command_status(model, tmp_path):
    """The CLI ends with os._exit(status) after flushing: what it printed still arrives, and
    the status is the command's (0 done, 2 bad input)."""
    ok = subprocess.run([sys.executable, "-m", "codesign.cli", "explore", model, "--out",
                         str(tmp_path / "run"), "--generations", "1", *FAST],
                        capture_output=True, text=True, env=ENV, timeout=120)
    assert ok.returncode == 0 and "Pareto designs from" in ok.stdout, ok.stderr[-2000:]
    bad = subprocess.run([sys.executable, "-m", "codesign.cli", "explore", model, "--out",
                          str(tmp_path / "run"), "--generations", "1", *FAST],
                         capture_output=True, text=True, env=ENV, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("Error: ") and "--force" in bad.stderr
