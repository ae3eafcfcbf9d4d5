"""Weights found by name, including those a model computes from weights (issue 14, point 11:
QDQ int8, fp16 Cast and ConstantOfShape weights were reported as 0 B and costed as vector
ops). Initializers are declared without data, so a test fails if any were decoded."""

import onnx
from onnx import TensorProto, helper

from codesign.workload.layer import Layer
from codesign.workload.onnx_graph import parse_onnx, read_onnx
from codesign.workload.summary import workload_summary
from tests.workload.test_onnx_graph import F, ints, layers, model, vi, weight


def _typed_weight(name, shape, dtype):
    """A declared-only initializer of any type (no data: decoding it would fail)."""
    t = onnx.TensorProto(name=name, data_type=dtype)
    t.dims.extend(shape)
    return t


def _conv_relu(weight_nodes, inits, conv_input="x"):
    nodes = [*weight_nodes,
             helper.make_node("Conv", [conv_input, "w"], ["c"], name="conv", pads=[1] * 4),
             helper.make_node("Relu", ["c"], ["y"], name="relu")]
    return parse_onnx(model(nodes, [vi("x", [1, 16, 8, 8])], inits).SerializeToString())


def _vector_words(graph):
    return {fusion: workload_summary(graph, fusion=fusion)["totals"]["vector_op_words"]
            for fusion in (True, False)}


def test_qdq_int8_weights_are_1_byte_weights_not_vector_ops():
    # w = DequantizeLinear(int8 [32, 16, 3, 3], per-channel scale and zero point), and the
    # activation goes through a QuantizeLinear -> DequantizeLinear pair: an int8 conv
    plain = _conv_relu([], [weight("w", [32, 16, 3, 3])])
    qdq = _conv_relu(
        [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"], name="qx"),
         helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"], name="dqx"),
         helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["w"], name="dqw", axis=0)],
        [_typed_weight("wq", [32, 16, 3, 3], TensorProto.INT8),
         weight("ws", [32]), _typed_weight("wz", [32], TensorProto.INT8),
         weight("xs", []), _typed_weight("xz", [], TensorProto.INT8)],
        conv_input="xd")
    assert layers(qdq)["conv"] == layers(plain)["conv"]
    # 32 * 16 * 3 * 3 = 4608 weights of 1 byte (the plain export: 4 bytes each)
    assert qdq.nodes["conv"]["weight_bytes"] == 4608
    assert plain.nodes["conv"]["weight_bytes"] == 4 * 4608
    assert qdq.nodes["dqw"]["constant"] and qdq.nodes["dqw"]["vector"] is None
    # the activation pair moves nothing: the QDQ model costs what the float one does
    assert qdq.nodes["qx"]["view"] and qdq.nodes["qx"]["vector"].words == 0
    assert _vector_words(qdq) == _vector_words(plain)
    # before: dqw was a vector op of 4608 + 32 + 32 + 4608 words, the pair 2 x 50178 more


def test_fp16_cast_weights_are_2_byte_weights():
    g = _conv_relu([helper.make_node("Cast", ["wh"], ["w"], name="castw", to=F)],
                   [_typed_weight("wh", [32, 16, 3, 3], TensorProto.FLOAT16)])
    assert g.nodes["conv"]["weight_bytes"] == 2 * 4608
    assert g.nodes["castw"]["constant"] and g.nodes["castw"]["vector"] is None
    assert _vector_words(g) == _vector_words(_conv_relu([], [weight("w", [32, 16, 3, 3])]))


def test_constant_chains_are_weights_and_random_ops_are_not():
    # ConstantOfShape -> Transpose feeding a MatMul is a weight; RandomNormalLike is not
    nodes = [
        helper.make_node("ConstantOfShape", ["wshape"], ["w0"], name="fill",
                         value=helper.make_tensor("v", F, [1], [0.5])),
        helper.make_node("Transpose", ["w0"], ["w"], name="t", perm=[1, 0]),
        helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
        helper.make_node("RandomNormalLike", ["w"], ["noise"], name="rand"),
        helper.make_node("Add", ["h", "noise"], ["y"], name="add"),
    ]
    g = parse_onnx(model(nodes, [vi("x", [3, 6])], [ints("wshape", [4, 6])]
                         ).SerializeToString())
    assert layers(g)["mm"] == Layer.gemm(M=3, K=6, N=4)
    assert g.nodes["mm"]["weight_bytes"] == 4 * 24
    assert g.nodes["fill"]["constant"] and g.nodes["t"]["constant"]
    assert not g.nodes["rand"]["constant"] and g.nodes["rand"]["vector"] is not None


def test_qdq_weights_in_an_absent_external_file_are_never_read(tmp_path):
    # the int8 weight's data lives in a file that does not exist: following the chain
    # reads names and dims only (the weight-free guarantee, docs/GUARANTEES.md)
    wq = _typed_weight("wq", [32, 16, 3, 3], TensorProto.INT8)
    wq.data_location = TensorProto.EXTERNAL
    wq.external_data.add(key="location", value="absent.bin")
    nodes = [helper.make_node("DequantizeLinear", ["wq", "ws"], ["w"], name="dqw", axis=0),
             helper.make_node("Conv", ["x", "w"], ["y"], name="conv", pads=[1] * 4)]
    path = tmp_path / "ext.onnx"
    path.write_bytes(model(nodes, [vi("x", [1, 16, 8, 8])], [wq, weight("ws", [32])])
                     .SerializeToString())
    g = read_onnx(path)
    assert g.nodes["conv"]["weight_bytes"] == 4608 and g.nodes["dqw"]["constant"]
