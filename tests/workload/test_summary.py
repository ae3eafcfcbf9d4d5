"""workload_summary / format_summary on a tiny graph whose totals are obvious."""

import onnx
from onnx import TensorProto, helper

from codesign.workload.onnx_graph import parse_onnx
from codesign.workload.summary import format_summary, workload_summary


def _graph():
    # tied weight: the same [4, 4] table feeds two MatMuls -> counted once in weight_bytes
    w = onnx.TensorProto(name="w", data_type=TensorProto.FLOAT)
    w.dims.extend([4, 4])
    nodes = [helper.make_node("MatMul", ["x", "w"], ["a"], name="first"),
             helper.make_node("Relu", ["a"], ["r"], name="relu"),
             helper.make_node("MatMul", ["r", "w"], ["b"], name="second")]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4])],
        [helper.make_tensor_value_info("b", TensorProto.FLOAT, None)], initializer=[w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return parse_onnx(model.SerializeToString(), source="tiny.onnx")


def test_totals_and_rows():
    summary = workload_summary(_graph())
    # each MatMul: 3 x 4 x 4 = 48 MACs; weight 16 floats = 64 bytes, shared -> 64 total
    # the relu rides on the first MatMul's output stream: no DRAM words of its own
    assert summary["totals"] == {"macs": 96, "mac_layers": 2, "unique_layers": 1,
                                 "weight_bytes": 64, "vector_ops": 1, "vector_op_ops": 12,
                                 "vector_op_words": 0, "fusion": True}
    first = summary["layers"][0]
    assert first["name"] == "first" and first["macs"] == 48
    assert first["dims"] == {"N": 1, "G": 1, "K": 4, "C": 4, "P": 3, "Q": 1, "R": 1, "S": 1}
    # input x: 3*4 floats = 48 bytes; output same size
    assert (first["weight_bytes"], first["input_bytes"], first["output_bytes"]) == (64, 48, 48)
    assert summary["unique_layers"][0]["count"] == 2
    assert summary["vector_ops"] == [{"op_type": "Relu", "count": 1, "fused": 1, "elements": 12,
                                      "ops": 12, "bytes_in": 48, "bytes_out": 48, "words": 0}]
    # without fusion it reads and writes its 12 elements, one word each (not 4-byte floats)
    plain = workload_summary(_graph(), fusion=False)
    assert plain["vector_ops"][0]["fused"] == 0 and plain["totals"]["vector_op_words"] == 24


def test_text_table_lists_layers_and_totals():
    text = format_summary(workload_summary(_graph()))
    assert "tiny.onnx" in text
    assert "first" in text and "second" in text and "Relu" in text
    assert "96 MACs" in text and "2 MAC layers (1 unique shapes)" in text
