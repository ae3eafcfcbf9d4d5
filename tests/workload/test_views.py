"""Vector ops that move nothing: QDQ activation pairs and no-op data movement."""

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from codesign.workload.onnx_graph import parse_onnx
from tests.workload.test_onnx_graph import ints, model, vi, weight
from tests.workload.test_weights import _conv_relu


def test_a_quantize_read_by_other_ops_stays_a_vector_op():
    g = _conv_relu(
        [helper.make_node("QuantizeLinear", ["x", "xs"], ["xq"], name="qx"),
         helper.make_node("DequantizeLinear", ["xq", "xs"], ["xd"], name="dqx"),
         helper.make_node("Cast", ["xq"], ["xc"], name="other", to=TensorProto.FLOAT)],
        [weight("w", [32, 16, 3, 3]), weight("xs", [])], conv_input="xd")
    assert not g.nodes["qx"]["view"]
    assert g.nodes["qx"]["vector"].words == 1024 + 1 + 1024  # x, scale in; xq out




def _slice(steps):
    inits = [ints("starts", [0]), ints("ends", [2**62]), ints("axes", [1])]
    inputs = ["x", "starts", "ends", "axes"]
    if steps is not None:
        inits.append(numpy_helper.from_array(np.asarray(steps, dtype=np.int64), "steps"))
        inputs.append("steps")
    nodes = [helper.make_node("Slice", inputs, ["s"], name="slice"),
             helper.make_node("MatMul", ["s", "w"], ["y"], name="mm")]
    return parse_onnx(model(nodes, [vi("x", [4, 8])], [*inits, weight("w", [8, 2])])
                      .SerializeToString())


def test_a_slice_of_the_whole_tensor_is_a_view_unless_it_reverses():
    # x[:, 0:] of a [4, 8] tensor (the legacy exporter's x[:, :W]) copies nothing
    for steps in (None, [1]):
        g = _slice(steps)
        assert g.nodes["slice"]["view"] and g.nodes["slice"]["vector"].words == 0
    # a step of -1 from the end reverses the axis: same shape, but the data moves
    g = parse_onnx(model(
        [helper.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["s"],
                          name="slice"),
         helper.make_node("MatMul", ["s", "w"], ["y"], name="mm")],
        [vi("x", [4, 8])],
        [ints("starts", [-1]), ints("ends", [-(2**62)]), ints("axes", [1]),
         ints("steps", [-1]), weight("w", [8, 2])]).SerializeToString())
    assert not g.nodes["slice"]["view"]
    assert g.nodes["slice"]["vector"].words == 32 + 4 + 32  # 4 * 8 in, 4 indices, 4 * 8 out


def test_same_shape_expand_and_one_input_concat_are_views_a_real_expand_is_not():
    nodes = [helper.make_node("Expand", ["x", "same"], ["e"], name="same"),
             helper.make_node("Concat", ["e"], ["c"], name="one", axis=0),
             helper.make_node("Expand", ["c", "big"], ["b"], name="grow"),
             helper.make_node("MatMul", ["b", "w"], ["y"], name="mm")]
    g = parse_onnx(model(nodes, [vi("x", [4, 8])],
                         [ints("same", [4, 8]), ints("big", [3, 4, 8]), weight("w", [8, 2])]
                         ).SerializeToString())
    assert g.nodes["same"]["view"] and g.nodes["one"]["view"]
    assert not g.nodes["grow"]["view"]
    assert g.nodes["grow"]["vector"].words == 32 + 3 + 96  # x, the shape [3, 4, 8], 3 copies
