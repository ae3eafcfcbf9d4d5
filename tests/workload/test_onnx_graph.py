"""read_onnx / parse_onnx on tiny hand-built ONNX graphs with obvious answers."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from codesign.errors import ConfigError, WorkloadError
from codesign.workload.layer import Layer
from codesign.workload.onnx_graph import parse_onnx, read_onnx

F = TensorProto.FLOAT


def vi(name, shape, dtype=F):
    return helper.make_tensor_value_info(name, dtype, shape)


def ints(name, values):
    return numpy_helper.from_array(np.asarray(values, dtype=np.int64), name)


def weight(name, shape):
    """A declared-only float initializer: dims without data (never decoded by the importer)."""
    t = onnx.TensorProto(name=name, data_type=F)
    t.dims.extend(shape)
    return t


def model(nodes, inputs, inits=(), outputs=None, opset=17):
    outputs = outputs or [vi(nodes[-1].output[0], None)]
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def layers(graph):
    return {n: d["layer"] for n, d in graph.nodes(data=True) if d["layer"] is not None}


def test_conv_relu_graph_nodes_and_edges():
    m = model([helper.make_node("Conv", ["x", "w"], ["y"], name="conv", pads=[1, 1, 1, 1]),
               helper.make_node("Relu", ["y"], ["z"], name="relu")],
              [vi("x", [1, 3, 8, 8])], [weight("w", [4, 3, 3, 3])])
    g = parse_onnx(m.SerializeToString())
    assert list(g.nodes) == ["conv", "relu"]
    assert g.nodes["conv"]["layer"] == Layer.conv(K=4, C=3, P=8, Q=8, R=3, S=3)
    assert g.nodes["conv"]["vector"] is None
    # weight 4*3*3*3 floats = 432 bytes; input 3*8*8 floats = 768 bytes
    assert (g.nodes["conv"]["weight_bytes"], g.nodes["conv"]["input_bytes"]) == (432, 768)
    relu = g.nodes["relu"]["vector"]
    assert (relu.elements, relu.ops) == (4 * 8 * 8, 256)
    # one edge conv -> relu carrying y: [1, 4, 8, 8] floats = 1024 bytes
    assert g.edges["conv", "relu"] == {"tensor": "y", "shape": (1, 4, 8, 8), "bytes": 1024,
                                       "elements": 256, "tensors": ("y",)}
    assert g.graph["inputs"] == {"x": (1, 3, 8, 8)}
    assert g.graph["unknown_ops"] == []
    # a ModelProto works as well as its bytes
    assert parse_onnx(m).nodes["conv"]["layer"] == g.nodes["conv"]["layer"]


def test_auto_pad_strides_dilations_groups():
    # SAME_UPPER, stride 2 on 9x9: ceil(9/2) = 5; depthwise over 6 channels
    m = model([helper.make_node("Conv", ["x", "w"], ["y"], auto_pad="SAME_UPPER",
                                strides=[2, 2], group=6, dilations=[2, 2])],
              [vi("x", [2, 6, 9, 9])], [weight("w", [6, 1, 3, 3])])
    (layer,) = layers(parse_onnx(m.SerializeToString())).values()
    assert layer == Layer(N=2, G=6, K=1, C=1, P=5, Q=5, R=3, S=3, stride=(2, 2),
                          dilation=(2, 2))


def test_conv_transpose_and_gemm():
    m = model([helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="up", strides=[2, 2]),
               helper.make_node("Flatten", ["y"], ["f"]),
               helper.make_node("Gemm", ["f", "b"], ["z"], name="fc", transB=1)],
              [vi("x", [1, 8, 4, 4])],
              [weight("w", [8, 2, 2, 2]), weight("b", [10, 2 * 8 * 8])])
    found = layers(parse_onnx(m.SerializeToString()))
    # useful MACs: K 2 * C 8 * 4*4 pixels * 2*2 taps = 1024
    assert found["up"].macs == 1024
    # Gemm: flatten of [1, 2, 8, 8] is [1, 128]; B^T -> N = 10
    assert found["fc"] == Layer.gemm(M=1, K=128, N=10)


def test_attention_matmuls_between_activations():
    # q @ k^T then @ v, all activations: batch 2 x heads 3 go to G
    m = model([helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
               helper.make_node("MatMul", ["q", "kt"], ["s"], name="qk"),
               helper.make_node("Softmax", ["s"], ["p"], axis=-1),
               helper.make_node("MatMul", ["p", "v"], ["o"], name="pv")],
              [vi("q", [2, 3, 5, 4]), vi("k", [2, 3, 5, 4]), vi("v", [2, 3, 5, 4])])
    g = parse_onnx(m.SerializeToString())
    found = layers(g)
    assert (found["qk"].G, found["qk"].P, found["qk"].C, found["qk"].K) == (6, 5, 4, 5)
    assert (found["pv"].G, found["pv"].P, found["pv"].C, found["pv"].K) == (6, 5, 5, 4)
    # 4-D activations are data, not weights, even in MatMul's second slot
    assert g.nodes["pv"]["weight_bytes"] == 0
    assert set(g.graph["inputs"]) == {"q", "k", "v"}


def test_weights_from_constant_constantofshape_and_reshape():
    flat = weight("flat", [24])
    nodes = [
        helper.make_node("Constant", [], ["w1"], value=helper.make_tensor(
            "c", F, [4, 6], np.zeros(24, dtype=np.float32).tolist())),
        helper.make_node("MatMul", ["x", "w1"], ["h1"], name="mm1"),
        helper.make_node("ConstantOfShape", ["wshape"], ["w2"],
                         value=helper.make_tensor("v", F, [1], [0.5])),
        helper.make_node("MatMul", ["h1", "w2"], ["h2"], name="mm2"),
        helper.make_node("Reshape", ["flat", "rshape"], ["w3"]),
        helper.make_node("MatMul", ["h2", "w3"], ["h3"], name="mm3"),
    ]
    m = model(nodes, [vi("x", [3, 4])],
              [ints("wshape", [6, 8]), flat, ints("rshape", [8, 3])])
    found = layers(parse_onnx(m.SerializeToString()))
    assert found["mm1"] == Layer.gemm(M=3, K=4, N=6)
    assert found["mm2"] == Layer.gemm(M=3, K=6, N=8)
    assert found["mm3"] == Layer.gemm(M=3, K=8, N=3)


def test_shape_gather_concat_chain_resolves():
    # Reshape x [2, 3, 4] to [x.shape[0], -1] through Shape -> Gather -> Unsqueeze -> Concat
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "i0"], ["s0"], axis=0),
        helper.make_node("Unsqueeze", ["s0", "ax"], ["s0u"]),
        helper.make_node("Concat", ["s0u", "m1"], ["target"], axis=0),
        helper.make_node("Reshape", ["x", "target"], ["y"]),
        helper.make_node("MatMul", ["y", "w"], ["z"], name="mm"),
    ]
    m = model(nodes, [vi("x", [2, 3, 4])],
              [ints("i0", 0), ints("ax", [0]), ints("m1", [-1]), weight("w", [12, 5])])
    assert layers(parse_onnx(m.SerializeToString()))["mm"] == Layer.gemm(M=2, K=12, N=5)


def test_folding_resolves_what_onnx_inference_leaves_unknown():
    # target = [6, x.shape[2] / 2, -1]: ONNX data propagation stops at Div (onnx 1.23), the
    # folding pass computes [6, 2, -1] so y is [6, 2, 2] and the MatMul is 6 x (2x2 @ 2x9)
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "i2"], ["s2"], axis=0),
        helper.make_node("Div", ["s2", "two"], ["half"]),
        helper.make_node("Unsqueeze", ["half", "ax"], ["hu"]),
        helper.make_node("Concat", ["six", "hu", "m1"], ["target"], axis=0),
        helper.make_node("Reshape", ["x", "target"], ["y"]),
        helper.make_node("MatMul", ["y", "w"], ["z"], name="mm"),
    ]
    m = model(nodes, [vi("x", [2, 3, 4])],
              [ints("i2", 2), ints("two", 2), ints("ax", [0]), ints("six", [6]),
               ints("m1", [-1]), weight("w", [2, 9])])
    mm = layers(parse_onnx(m.SerializeToString()))["mm"]
    assert (mm.N, mm.P, mm.C, mm.K) == (6, 2, 2, 9)



def test_folding_follows_the_opset_and_refuses_what_it_must_not_compute():
    """ReferenceEvaluator evaluates each node with the model's opset (Squeeze's axes are an
    attribute before opset 13, an input from 13 on); a ConstantOfShape above SMALL_ELEMENTS
    and a division by zero are not computed (left to shape inference)."""
    from codesign.workload.onnx_graph import _eval_node

    values = {"a": np.array([[4, 5]]), "ax": np.array([0]), "big": np.array([10**9]),
              "zero": np.array([0])}
    old = helper.make_node("Squeeze", ["a"], ["b"], axes=[0])
    new = helper.make_node("Squeeze", ["a", "ax"], ["b"])
    assert _eval_node(old, values, {}, 11).tolist() == [4, 5]
    assert _eval_node(new, values, {}, 13).tolist() == [4, 5]
    assert _eval_node(helper.make_node("ConstantOfShape", ["big"], ["c"]), values, {}, 17) is None
    assert _eval_node(helper.make_node("Div", ["a", "zero"], ["d"]), values, {}, 17) is None
    assert _eval_node(helper.make_node("Mod", ["a", "zero"], ["d"]), values, {}, 17) is None

def _symbolic_model():
    return model([helper.make_node("Conv", ["x", "w"], ["y"], name="conv")],
                 [vi("x", ["batch", 3, "height", 8])], [weight("w", [4, 3, 1, 1])])


def test_symbolic_dims_need_user_values():
    data = _symbolic_model().SerializeToString()
    with pytest.raises(WorkloadError) as err:
        parse_onnx(data, source="m.onnx")
    message = str(err.value)
    assert "m.onnx" in message and "'conv'" in message
    assert "--dim batch=N" in message and "--input-shape x=" in message
    g = parse_onnx(data, dims={"batch": 2, "height": 5})
    assert layers(g)["conv"] == Layer.conv(N=2, K=4, C=3, P=5, Q=8)
    g = parse_onnx(data, input_shapes={"x": (1, 3, 6, 6)})
    assert layers(g)["conv"] == Layer.conv(K=4, C=3, P=6, Q=6)


def test_overrides_that_name_nothing_are_config_errors():
    data = _symbolic_model().SerializeToString()
    with pytest.raises(ConfigError, match="--input-shape names nope.*inputs: x"):
        parse_onnx(data, input_shapes={"nope": (1,)})
    with pytest.raises(ConfigError, match="--dim seq.*symbolic dims: batch, height"):
        parse_onnx(data, dims={"seq": 1})


def test_unknown_ops_and_node_names():
    m = model([helper.make_node("Conv", ["x", "w"], ["y"]),
               helper.make_node("Relu", ["y"], ["r"], name="act"),
               helper.make_node("Frobnicate", ["r"], ["z"], name="act", domain="com.example")],
              [vi("x", [1, 1, 2, 2])], [weight("w", [1, 1, 1, 1])],
              outputs=[vi("z", None)])
    m.opset_import.append(helper.make_opsetid("com.example", 1))
    g = parse_onnx(m.SerializeToString())
    # empty name -> op_type_index; duplicate -> suffix
    assert list(g.nodes) == ["Conv_0", "act", "act_2"]
    assert g.graph["unknown_ops"] == ["com.example.Frobnicate"]
    assert g.nodes["act_2"]["known"] is False


def test_read_errors_name_the_file(tmp_path):
    with pytest.raises(WorkloadError, match="missing.onnx: no such file"):
        read_onnx(tmp_path / "missing.onnx")
    with pytest.raises(WorkloadError, match="is a directory"):
        read_onnx(tmp_path)
    text = tmp_path / "notes.onnx"
    text.write_text("this is not a model\n")
    with pytest.raises(WorkloadError, match="notes.onnx: not"):
        read_onnx(text)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(WorkloadError, match="empty"):
        read_onnx(empty)


def test_truncated_protobuf_is_a_workload_error(tmp_path):
    data = _symbolic_model().SerializeToString()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(WorkloadError, match="cut.onnx"):
        read_onnx(path)


def test_graph_without_nodes_is_rejected():
    empty = helper.make_model(helper.make_graph([], "g", [], []),
                              opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(WorkloadError, match="no nodes"):
        parse_onnx(empty.SerializeToString())


def test_large_model_with_real_weights_imports(tmp_path):
    # one 5000 x 5000 float Gemm weight with real data: a 100 MB file, never decoded
    n = 5000
    w = onnx.TensorProto(name="w", data_type=F)
    w.dims.extend([n, n])
    w.raw_data = np.random.default_rng(0).random((n, n), dtype=np.float32).tobytes()
    m = model([helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transB=1)],
              [vi("x", [1, n])], [w])
    path = tmp_path / "big.onnx"
    onnx.save(m, path)
    del m, w
    assert path.stat().st_size > 100 * 10**6
    g = read_onnx(path)
    assert g.nodes["fc"]["layer"] == Layer.gemm(M=1, K=n, N=n)
    assert g.nodes["fc"]["weight_bytes"] == n * n * 4


def test_big_constant_and_external_data_weights_are_not_read(tmp_path):
    # a 10 x 10 Constant (over the small-tensor limit, so inference sees it as a typed input)
    # and an initializer whose data lives in an external file that does not exist
    big = helper.make_node("Constant", [], ["w1"], name="const", value=helper.make_tensor(
        "c", F, [10, 10], np.ones(100, dtype=np.float32).tolist()))
    ext = weight("w2", [10, 7])
    ext.data_location = TensorProto.EXTERNAL
    ext.external_data.add(key="location", value="absent.bin")
    m = model([big, helper.make_node("MatMul", ["x", "w1"], ["h"], name="mm1"),
               helper.make_node("MatMul", ["h", "w2"], ["y"], name="mm2")],
              [vi("x", [3, 10])], [ext])
    path = tmp_path / "ext.onnx"
    path.write_bytes(m.SerializeToString())
    g = read_onnx(path)
    assert layers(g)["mm1"] == Layer.gemm(M=3, K=10, N=10)
    assert layers(g)["mm2"] == Layer.gemm(M=3, K=10, N=7)
    # 10 * 7 floats = 280 bytes, counted from dims alone
    assert g.nodes["mm2"]["weight_bytes"] == 280


def _data_dependent_reshape():
    """Reshape x to a shape read from x's own values: no folding can know it."""
    nodes = [
        helper.make_node("Reshape", ["x", "flat"], ["xf"]),
        helper.make_node("Slice", ["xf", "zero", "two"], ["head"]),
        helper.make_node("Cast", ["head"], ["target"], to=TensorProto.INT64),
        helper.make_node("Reshape", ["x", "target"], ["y"]),
        helper.make_node("MatMul", ["y", "w"], ["z"], name="mm"),
    ]
    return model(nodes, [vi("x", [4, 6])],
                 [ints("flat", [-1]), ints("zero", [0]), ints("two", [2]), weight("w", [6, 5])])


def test_a_size_computed_at_run_time_gets_advice_that_works():
    # issue 14, point 13: the message named 'unk__0' and suggested --dim, which then said
    # there is no such dim; now both messages say what the name is and what to do instead
    data = _data_dependent_reshape().SerializeToString()
    with pytest.raises(WorkloadError) as info:
        parse_onnx(data)
    message = str(info.value)
    assert "unk__0, unk__1 are ONNX shape inference's names" in message
    assert "--dim cannot set them" in message
    assert "dynamo=True" in message and "--dim NAME" not in message
    with pytest.raises(ConfigError, match=r"unk__0 is ONNX shape inference's name .*dynamo"):
        parse_onnx(data, dims={"unk__0": 4})


def test_inputs_that_do_not_fit_the_weights_are_errors():
    # issue 14, point 14: a 7-channel input into a 3-channel conv was costed as if it fit
    conv = helper.make_node("Conv", ["x", "w"], ["y"], name="conv")
    mm = helper.make_node("MatMul", ["a", "b"], ["c"], name="mm")
    bad = model([conv, mm], [vi("x", [1, 7, 8, 8]), vi("a", [2, 5])],
                [weight("w", [4, 3, 1, 1]), weight("b", [6, 3])],
                outputs=[vi("y", None), vi("c", None)])
    with pytest.raises(WorkloadError, match=r"Conv node 'conv' reads 7 channels from 'x' "
                       r"\(1x7x8x8\) but its weight 'w' \(4x3x1x1\) takes 3 \(and 1 more MAC"):
        parse_onnx(bad.SerializeToString())
    # the same through --input-shape is the option's fault, and says what the model expects
    data = _symbolic_model().SerializeToString()
    with pytest.raises(ConfigError, match=r"--input-shape x=2x4x8x8 does not fit the weights.*"
                       r"takes 3; the model declares 'x' as batchx3xheightx8"):
        parse_onnx(data, input_shapes={"x": (2, 4, 8, 8)})
    with pytest.raises(ConfigError, match=r"x=2x3x8 has rank 3, but the model's input 'x' has "
                       r"rank 4 \(batchx3xheightx8\); give 4 dims"):
        parse_onnx(data, input_shapes={"x": (2, 3, 8)})
    # grouped convs count channels per group: 8 channels, weight 16x2, group 4 fits
    grouped = model([helper.make_node("Conv", ["x", "w"], ["y"], name="conv", group=4)],
                    [vi("x", [1, 8, 8, 8])], [weight("w", [16, 2, 1, 1])])
    assert layers(parse_onnx(grouped.SerializeToString()))["conv"].G == 4
