"""`codesign map` through CliRunner: the table, --out files, reproducibility, one-line errors."""

import csv
import json

import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper

from codesign.cli import main
from codesign.mapping.mapping import Mapping
from codesign.mapping.validate import mapping_problems
from codesign.workload.layer import Layer


def run(*args):
    result = CliRunner().invoke(main, ["map", *map(str, args)])
    assert "Traceback" not in result.output
    return result


def _weight(name, shape):
    t = onnx.TensorProto(name=name, data_type=TensorProto.FLOAT)
    t.dims.extend(shape)
    t.float_data.extend([0.0] * int(__import__("math").prod(shape)))
    return t


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """x[1, 4, 8, 8] -> Conv 3x3 (8 out, pad 1) -> Relu -> Conv 1x1 (8 out) twice (the same
    shape, so one unique layer with count 2) -> output."""
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["a"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["a"], ["b"], name="relu"),
        helper.make_node("Conv", ["b", "w2"], ["c"], name="conv2"),
        helper.make_node("Conv", ["c", "w3"], ["y"], name="conv3"),
    ]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[_weight("w1", [8, 4, 3, 3]), _weight("w2", [8, 8, 1, 1]),
                     _weight("w3", [8, 8, 1, 1])])
    path = tmp_path_factory.mktemp("models") / "tiny.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_table_and_totals(tiny_model):
    result = run(tiny_model, "--arch", "simba", "--device", "cpu", "--effort", "fast")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["#", "layer", "n", "mapping"]
    assert lines[1].split()[1] == "conv1" and lines[2].split()[1:4] == ["conv2", "+1", "2"]
    assert lines[-1].startswith("total: 3 MAC layers (2 unique) on simba")
    assert any(b in lines[1] for b in ("compute", "GLB", "DRAM"))


def test_out_writes_csv_and_json_that_round_trip(tiny_model, tmp_path):
    out = tmp_path / "run"
    result = run(tiny_model, "--arch", "eyeriss", "--device", "cpu", "--effort", "fast",
                 "--objective", "latency", "--out", out)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "layers.csv").open()))
    assert [r["names"] for r in rows] == ["conv1", "conv2 conv3"]
    assert [r["count"] for r in rows] == ["1", "2"]
    data = json.loads((out / "mappings.json").read_text())
    assert data["objective"] == "latency" and data["accelerator"]["name"] == "eyeriss"
    from codesign.arch.presets import resolve_accelerator

    acc = resolve_accelerator("eyeriss")
    for entry, row in zip(data["layers"], rows, strict=True):
        layer = Layer.from_dict(entry["layer"])
        mapping = Mapping.from_json(entry["mapping"])
        assert entry["feasible"] and mapping_problems(layer, acc, mapping) == []
        assert float(row["cycles"]) == entry["cycles"]
    assert not list(out.glob("*.tmp*")), "temporary files left behind"


def test_same_seed_same_output(tiny_model):
    args = (tiny_model, "--arch", "tpu", "--device", "cpu", "--effort", "fast", "--seed", "4")
    first, second = run(*args), run(*args)
    assert first.exit_code == 0 and first.output == second.output


@pytest.mark.parametrize("args, words", [
    (["--arch", "no_such_arch"], ["no_such_arch", "presets"]),
    (["--arch", "missing.yaml"], ["missing.yaml"]),
    (["--arch", "simba", "--objective", "speed"], ["speed"]),
    (["--arch", "simba", "--device", "tpu"], ["tpu"]),
])
def test_bad_options_one_line_exit_2(tiny_model, args, words):
    result = run(tiny_model, *args)
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert all(w in message for w in words), message
    assert len([line for line in message.splitlines() if line.startswith("Error")]) == 1


def test_missing_model_exit_2(tmp_path):
    result = run(tmp_path / "nope.onnx", "--arch", "simba")
    assert result.exit_code == 2 and "nope.onnx" in result.output
