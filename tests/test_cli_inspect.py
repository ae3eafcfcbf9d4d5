"""`codesign inspect` through CliRunner: output, JSON shape, and one-line errors (exit 2)."""

import json
from pathlib import Path

import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper

from codesign.cli import main

MODELS = Path(__file__).resolve().parents[1] / "models"


def run(*args):
    result = CliRunner().invoke(main, ["inspect", *map(str, args)])
    assert "Traceback" not in result.output
    return result


def _save(path, nodes, inputs, inits=(), extra_opsets=()):
    graph = helper.make_graph(nodes, "g", inputs,
                              [helper.make_tensor_value_info(nodes[-1].output[0],
                                                             TensorProto.FLOAT, None)],
                              initializer=list(inits))
    opsets = [helper.make_opsetid("", 17), *extra_opsets]
    onnx.save(helper.make_model(graph, opset_imports=opsets), path)
    return path


def _weight(name, shape):
    t = onnx.TensorProto(name=name, data_type=TensorProto.FLOAT)
    t.dims.extend(shape)
    return t


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "mobilenet_v2", "vgg16", "bert_base",
                                  "vit_b16", "gpt2_small"])
def test_inspect_every_zoo_model(name):
    result = run(MODELS / f"{name}.onnx")
    assert result.exit_code == 0, result.output
    assert "Totals:" in result.output and "MACs" in result.output


def test_inspect_json():
    result = run(MODELS / "resnet18.onnx", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    # torchvision ResNet-18: 20 convs + fc = 21 MAC layers, 1,814,073,344 MACs (the sum of
    # the per-layer products, e.g. conv1 = 64*3*112*112*7*7 = 118,013,952)
    assert data["totals"]["macs"] == 1_814_073_344
    assert data["totals"]["mac_layers"] == 21 == len(data["layers"])
    assert data["totals"]["unique_layers"] == len(data["unique_layers"])
    # weights: 11,689,512 parameters of convs and fc (torchvision) minus the 9,600 BN ones
    # (BN weights feed vector ops): 11,679,912 floats = 46,719,648 bytes
    assert data["totals"]["weight_bytes"] == 46_719_648
    assert data["layers"][0]["macs"] == 118_013_952


def _symbolic(tmp_path):
    return _save(tmp_path / "sym.onnx", [helper.make_node("Conv", ["x", "w"], ["y"], name="c")],
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 4, 4])],
                 [_weight("w", [2, 3, 1, 1])])


def test_symbolic_dims_and_overrides(tmp_path):
    path = _symbolic(tmp_path)
    result = run(path)
    assert result.exit_code == 2
    assert "sym.onnx" in result.output and "--dim batch=N" in result.output
    # batch 3: 3 * 2 * 3 * 4 * 4 = 288 MACs
    ok = run(path, "--dim", "batch=3", "--json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["totals"]["macs"] == 288
    ok = run(path, "--input-shape", "x=1x3x2x2", "--json")
    assert json.loads(ok.output)["totals"]["macs"] == 1 * 2 * 3 * 2 * 2


def test_bad_option_values(tmp_path):
    path = _symbolic(tmp_path)
    assert run(path, "--dim", "batch").exit_code == 2
    assert run(path, "--input-shape", "x=1xfoo").exit_code == 2
    result = run(path, "--input-shape", "y=1x3x4x4")
    assert result.exit_code == 2 and "not graph inputs" in result.output


def test_bad_files(tmp_path):
    missing = run(tmp_path / "nope.onnx")
    assert missing.exit_code == 2 and "nope.onnx: no such file" in missing.output
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00\xff" * 100)
    result = run(junk)
    assert result.exit_code == 2 and "junk.onnx" in result.output
    assert len(result.output.strip().splitlines()) == 1
    good = (MODELS / "resnet18.onnx").read_bytes()
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(good[: len(good) // 3])
    result = run(cut)
    assert result.exit_code == 2 and "cut.onnx" in result.output


def test_no_mac_op(tmp_path):
    path = _save(tmp_path / "relu.onnx", [helper.make_node("Relu", ["x"], ["y"])],
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])])
    result = run(path)
    assert result.exit_code == 2 and "no MAC op" in result.output


def test_unknown_ops_warned_once(tmp_path):
    nodes = [helper.make_node("MatMul", ["x", "w"], ["a"]),
             helper.make_node("Frob", ["a"], ["b"], domain="x.y"),
             helper.make_node("Frob", ["b"], ["c"], domain="x.y")]
    path = _save(tmp_path / "custom.onnx", nodes,
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2])],
                 [_weight("w", [2, 2])], extra_opsets=[helper.make_opsetid("x.y", 1)])
    result = run(path)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "without a handler" in line]
    assert len(warnings) == 1 and warnings[0].count("x.y.Frob") == 1
    assert "x.y.Frob" not in result.stdout.split("Vector ops")[0]


def test_vector_sizes_computed_at_run_time_get_advice_that_works(tmp_path):
    # x is fully known, but y = Reshape(x, x's own values) has a size only a run can know:
    # --input-shape/--dim (the old advice) cannot resolve it (issue 14, points 12 and 13)
    ints = [helper.make_tensor(n, TensorProto.INT64, [len(v)], v)
            for n, v in (("flat", [-1]), ("zero", [0]), ("two", [2]))]
    nodes = [helper.make_node("MatMul", ["x", "w"], ["m"]),
             helper.make_node("Reshape", ["m", "flat"], ["mf"]),
             helper.make_node("Slice", ["mf", "zero", "two"], ["head"]),
             helper.make_node("Cast", ["head"], ["target"], to=TensorProto.INT64),
             helper.make_node("Reshape", ["m", "target"], ["y"]),
             helper.make_node("Relu", ["y"], ["z"])]
    path = _save(tmp_path / "dyn.onnx", nodes,
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 6])],
                 [_weight("w", [6, 6]), *ints])
    result = run(path)
    assert result.exit_code == 0, result.output
    warning = [line for line in result.stderr.splitlines() if "unknown output sizes" in line]
    assert len(warning) == 1 and "dynamo=True" in warning[0], result.stderr
    assert "--input-shape" not in warning[0]


def test_fusion_switch_changes_the_costed_vector_traffic():
    fused = json.loads(run(MODELS / "resnet18.onnx", "--json").output)
    plain = json.loads(run(MODELS / "resnet18.onnx", "--json", "--no-fusion").output)
    assert fused["totals"]["fusion"] is True and plain["totals"]["fusion"] is False
    assert fused["totals"]["vector_op_ops"] == plain["totals"]["vector_op_ops"]
    assert fused["totals"]["vector_op_words"] < plain["totals"]["vector_op_words"] / 4
    relu = {r["op_type"]: r for r in fused["vector_ops"]}["Relu"]
    assert relu["fused"] == relu["count"] and relu["words"] == 0
