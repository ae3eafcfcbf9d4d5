"""Hostile run folders: ``codesign report``, ``codesign sensitivity`` and ``explore --resume``
read files a user may have edited or a crash may have damaged; each answers one line and an
exit code, never a traceback (docs/GUARANTEES.md, "Inputs").

Every case below crashed with a traceback before it was fixed (found by mutating the files
of a real run folder).
"""

from __future__ import annotations

import json
import random
import shutil

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

from codesign.cli import main


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    """A real run folder from a 2-generation explore of conv 3x3 (4 -> 8 ch, 8x8)."""
    base = tmp_path_factory.mktemp("run")
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1], name="conv")]
    graph = helper.make_graph(
        nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.zeros((8, 4, 3, 3), np.float32), "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
              base / "m.onnx")
    result = CliRunner().invoke(main, [
        "explore", str(base / "m.onnx"), "--out", str(base / "good"), "--population", "4",
        "--generations", "2", "--mapper-candidates", "2", "--mapper-steps", "1",
        "--device", "cpu", "--no-plot"])
    assert result.exit_code == 0, result.output
    return base / "good"


def _copy(good_run, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(good_run, folder)
    return folder


def _edit_json(path, edit):
    data = json.loads(path.read_text())
    data = edit(data)
    path.write_text(json.dumps(data))


def _one_line(args, codes=(1, 2)):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code in codes, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, \
        result.stderr
    return result


def _set(path, value):
    def edit(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return data
    return edit


REPORT_CASES = {
    # UnicodeDecodeError while reading history.csv
    "history.csv not UTF-8": ("history.csv", b"generation,evaluations\n\xd7\xff,1\n"),
    # TypeError: str.join over objective names that are numbers
    "objectives not names": ("designs.json", _set(["objectives"], [1, 2])),
    # TypeError: 'float' object is not iterable (a layer's stride)
    "stride a number": ("designs.json", _set(["designs", 0, "layers", 0, "shape", "stride"],
                                             3.5)),
    "metrics a string": ("designs.json", _set(["designs", 0, "metrics"], "x")),
}


@pytest.mark.parametrize("case", list(REPORT_CASES))
def test_report_on_a_damaged_folder_is_one_line(case, good_run, tmp_path):
    folder = _copy(good_run, tmp_path)
    name, change = REPORT_CASES[case]
    if isinstance(change, bytes):
        (folder / name).write_bytes(change)
    else:
        _edit_json(folder / name, change)
    _one_line(["report", folder, "--no-png"], codes=(2,))


SENSITIVITY_CASES = {
    # AttributeError: 'str' object has no attribute 'get'
    "design entries strings": ("designs.json", _set(["designs"], ["x"])),
    # AttributeError: 'float' object has no attribute 'get'
    "run.json a number": ("run.json", lambda data: 3.5),
    # TypeError: 'int' object is not iterable (the layers list)
    "layers a number": ("designs.json", _set(["designs", 0, "layers"], 7)),
    # TypeError deep in the objectives lookup
    "objectives not names": ("designs.json", _set(["objectives"], [1, 2])),
}


@pytest.mark.parametrize("case", list(SENSITIVITY_CASES))
def test_sensitivity_on_a_damaged_folder_is_one_line(case, good_run, tmp_path):
    folder = _copy(good_run, tmp_path)
    name, change = SENSITIVITY_CASES[case]
    _edit_json(folder / name, change)
    _one_line(["sensitivity", folder, "--design", "0"], codes=(2,))


RESUME_CASES = {
    # AttributeError: 'float' object has no attribute 'get'
    "checkpoint.json a number": lambda data: 3.5,
    # KeyError 'history' in RunState.from_checkpoint
    "no history": lambda data: {k: v for k, v in data.items() if k != "history"},
    # TypeError: 'float' object is not iterable
    "history a number": _set(["history"], 1.5),
    # TypeError in the history columns: rows that are not objects
    "history rows numbers": _set(["history"], [1, 2]),
    # ValueError: cannot convert float NaN to integer
    "n_evals NaN": _set(["n_evals"], float("nan")),
}


def _edit_checkpoint_state(folder, edit):
    """Edit the JSON state inside checkpoint.npz (checkpoint.json is only a copy of it)."""
    path = folder / "checkpoint.npz"
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    state = json.loads(arrays["_state_json"].tobytes().decode())
    text = json.dumps(edit(state))
    arrays["_state_json"] = np.frombuffer(text.encode(), dtype=np.uint8)
    np.savez(path, **arrays)


@pytest.mark.parametrize("case", list(RESUME_CASES))
def test_resume_from_a_damaged_checkpoint_is_one_line(case, good_run, tmp_path):
    folder = _copy(good_run, tmp_path)
    _edit_checkpoint_state(folder, RESUME_CASES[case])
    _one_line(["explore", "--resume", folder, "--generations", "3", "--no-plot"], codes=(2,))


def test_resume_ignores_a_damaged_readable_copy(good_run, tmp_path):
    """checkpoint.json is only a readable copy: damaging it does not stop a resume."""
    folder = _copy(good_run, tmp_path)
    (folder / "checkpoint.json").write_text("{ not json")
    result = CliRunner().invoke(main, ["explore", "--resume", str(folder), "--generations",
                                       "3", "--no-plot"])
    assert result.exit_code == 0, (result.output, result.exception)


def test_report_survives_random_damage(good_run, tmp_path):
    """A fixed sample of random edits to designs.json: each run is fine or one line."""
    rng = random.Random(0)
    junk = [None, -1, 0, 1e308, "x", [], {}, True, 3.5]

    def damage(value, depth=0):
        if isinstance(value, dict) and value and rng.random() < 0.7:
            key = rng.choice(list(value))
            value[key] = damage(value[key], depth + 1)
            return value
        if isinstance(value, list) and value and rng.random() < 0.7:
            i = rng.randrange(len(value))
            value[i] = damage(value[i], depth + 1)
            return value
        return rng.choice(junk)

    for i in range(12):
        folder = tmp_path / f"run{i}"
        shutil.copytree(good_run, folder)
        _edit_json(folder / "designs.json", damage)
        result = CliRunner().invoke(main, ["report", str(folder), "--no-png"])
        assert result.exit_code in (0, 2), (i, result.output, result.exception)
        assert "Traceback" not in result.output


# -- issue 14: damaged checkpoints and files, each one line naming the file, exit 2 ---------

def _edit_checkpoint_arrays(folder, edit):
    path = folder / "checkpoint.npz"
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    edit(arrays)
    np.savez(path, **arrays)


def _put(name, value):
    return lambda arrays: arrays.__setitem__(name, value(arrays[name]))


ARRAY_CASES = {
    # AssertionError / IndexError inside pymoo's sampling (run.py)
    "population of the wrong shape": _put("population", lambda a: a[:, :3]),
    # IndexError in DesignSpace.decode: NaN genes become garbage indices (space.py)
    "population all NaN": _put("population", lambda a: a * np.nan),
    "archive genes NaN": _put("archive_hw_genes", lambda a: a * np.nan),
    "archive factors of the wrong shape": _put("archive_factors", lambda a: a[:, :, :2]),
    "archive order out of range": _put("archive_order", lambda a: a + 100),
    "memory keys a scalar": _put("memory_keys", lambda a: np.array(3)),
}


@pytest.mark.parametrize("case", list(ARRAY_CASES))
def test_resume_from_damaged_checkpoint_arrays_is_one_line(case, good_run, tmp_path):
    folder = _copy(good_run, tmp_path)
    _edit_checkpoint_arrays(folder, ARRAY_CASES[case])
    result = _one_line(["explore", "--resume", folder, "--generations", "3", "--no-plot"],
                       codes=(2,))
    assert result.stderr.startswith(f"Error: {folder}/checkpoint.npz: ")


@pytest.mark.parametrize("keep", [0.5, 0.0], ids=["cut in half", "0 bytes"])
def test_resume_from_a_cut_checkpoint_is_one_line(keep, good_run, tmp_path):
    # cut in half: zipfile.BadZipFile traceback; 0 bytes: the EOFError was taken by click
    # for Ctrl-D ("Aborted!", exit 1)
    folder = _copy(good_run, tmp_path)
    path = folder / "checkpoint.npz"
    path.write_bytes(path.read_bytes()[:int(path.stat().st_size * keep)])
    result = _one_line(["explore", "--resume", folder, "--generations", "3", "--no-plot"],
                       codes=(2,))
    assert result.stderr.startswith(f"Error: {path}: ") and "Aborted" not in result.output


DEEP = "[" * 100_000 + "]" * 100_000  # RecursionError in json.loads


@pytest.mark.parametrize("command", [["report", "{folder}", "--no-png"],
                                     ["sensitivity", "{folder}", "--design", "0"]])
def test_designs_json_nested_too_deep_is_one_line(command, good_run, tmp_path):
    folder = _copy(good_run, tmp_path)
    (folder / "designs.json").write_text(DEEP)
    result = _one_line([a.format(folder=folder) for a in command], codes=(2,))
    assert f"{folder / 'designs.json'}: JSON nested too deep" in result.stderr


def test_run_json_nested_too_deep_is_one_line_on_resume(good_run, tmp_path):
    folder = _copy(good_run, tmp_path)
    (folder / "run.json").write_text(DEEP)
    result = _one_line(["explore", "--resume", folder, "--generations", "3"], codes=(2,))
    assert f"{folder / 'run.json'}: not a readable run.json" in result.stderr


def test_sensitivity_of_a_design_without_layers_is_one_line(good_run, tmp_path):
    # torch.linalg.LinAlgError on the Hessian of nothing
    folder = _copy(good_run, tmp_path)
    _edit_json(folder / "designs.json", _set(["designs", 0, "layers"], []))
    result = _one_line(["sensitivity", folder, "--design", "0"], codes=(2,))
    assert "'layers' is empty" in result.stderr
