"""layer_table / load_onnx: grouping identical shapes, and a model without MAC ops."""

import onnx
import pytest
from onnx import TensorProto, helper

from codesign.errors import WorkloadError
from codesign.workload.layer import Layer
from codesign.workload.table import layer_table, load_onnx


def _save(tmp_path, nodes, inputs, inits=()):
    graph = helper.make_graph(nodes, "g", inputs,
                              [helper.make_tensor_value_info(nodes[-1].output[0],
                                                             TensorProto.FLOAT, None)],
                              initializer=list(inits))
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def _weight(name, shape):
    t = onnx.TensorProto(name=name, data_type=TensorProto.FLOAT)
    t.dims.extend(shape)
    return t


def test_identical_layers_group_with_counts(tmp_path):
    # three 4x4 MatMuls on a [2, 4] input, two sharing a shape with the first: one unique row
    # of count 3 for [2x4] @ [4x4]; a Relu between is a vector op
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["a"], name="a"),
             helper.make_node("Relu", ["a"], ["r"], name="relu"),
             helper.make_node("MatMul", ["r", "w2"], ["b"], name="b"),
             helper.make_node("MatMul", ["b", "w3"], ["c"], name="c"),
             helper.make_node("MatMul", ["c", "w4"], ["d"], name="d")]
    path = _save(tmp_path, nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
                 [_weight("w1", [4, 4]), _weight("w2", [4, 4]), _weight("w3", [4, 4]),
                  _weight("w4", [4, 8])])
    table = load_onnx(path)
    assert table.layers == (Layer.gemm(M=2, K=4, N=4), Layer.gemm(M=2, K=4, N=8))
    assert table.counts == (3, 1)
    assert table.names == (("a", "b", "c"), ("d",))
    # MACs: 3 * (2*4*4) + 2*4*8 = 96 + 64 = 160
    assert table.total_macs == 160
    assert [v.op_type for v in table.vector_ops] == ["Relu"]


def test_model_without_mac_op_is_rejected(tmp_path):
    path = _save(tmp_path, [helper.make_node("Relu", ["x"], ["y"])],
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])])
    with pytest.raises(WorkloadError, match=r"m\.onnx: no MAC op"):
        load_onnx(path)


def test_layer_table_of_plain_graph():
    import networkx as nx

    g = nx.DiGraph(source="hand")
    g.add_node("a", layer=Layer.gemm(M=1, K=2, N=3), vector=None)
    assert layer_table(g).total_macs == 6
