"""Fixtures shared across test folders."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper


@pytest.fixture(scope="session")
def conv_gemm_onnx(tmp_path_factory) -> str:
    """Path of a tiny ONNX model: conv 3x3 (4 -> 8 ch, 8x8) -> relu -> flatten -> gemm 512 -> 16."""
    def weight(name, shape):
        return numpy_helper.from_array(np.zeros(shape, dtype=np.float32), name)

    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["a"], pads=[1, 1, 1, 1], name="conv1"),
        helper.make_node("Relu", ["a"], ["b"], name="relu"),
        helper.make_node("Flatten", ["b"], ["c"], name="flat"),
        helper.make_node("Gemm", ["c", "w2"], ["y"], name="fc"),
    ]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])],
        initializer=[weight("w1", (8, 4, 3, 3)), weight("w2", (512, 16))])
    path = tmp_path_factory.mktemp("conv_gemm") / "tiny.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return str(path)
