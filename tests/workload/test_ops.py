"""Op handlers on hand-built OpInfo: each golden number is derived in its comment."""

import pytest

from codesign.workload.layer import Layer, VectorOp
from codesign.workload.ops import (
    MAC_OP_TYPES,
    OpInfo,
    ShapeMismatch,
    TensorInfo,
    UnresolvedShape,
    build_op,
)


def t(name, *shape, weight=False, elem_bytes=4):
    return TensorInfo(name, tuple(shape), elem_bytes, weight)


def op(op_type, inputs, outputs, **attrs):
    return OpInfo(name="n", op_type=op_type, attrs=attrs, inputs=tuple(inputs),
                  outputs=tuple(outputs))


def test_conv_uses_weight_and_inferred_output():
    # 3x3 conv, 16 -> 32 channels, stride 2: output 8x8 from a 16x16 input (pads 1)
    layer, known = build_op(op("Conv", [t("x", 1, 16, 16, 16), t("w", 32, 16, 3, 3, weight=True)],
                               [t("y", 1, 32, 8, 8)], strides=[2, 2], pads=[1, 1, 1, 1]))
    assert known
    assert layer == Layer.conv(K=32, C=16, P=8, Q=8, R=3, S=3, stride=2)
    assert layer.macs == 32 * 16 * 8 * 8 * 9


def test_conv_groups_and_depthwise():
    # grouped: 4 groups, 32 -> 64 channels: K = 64/4 = 16, C = w.shape[1] = 8
    grouped, _ = build_op(op("Conv", [t("x", 1, 32, 8, 8), t("w", 64, 8, 3, 3)],
                             [t("y", 1, 64, 8, 8)], group=4))
    assert (grouped.G, grouped.K, grouped.C) == (4, 16, 8)
    # depthwise: group = channels = 32, weight [32, 1, 3, 3] -> G = 32, K = C = 1
    dw, _ = build_op(op("Conv", [t("x", 1, 32, 8, 8), t("w", 32, 1, 3, 3)],
                        [t("y", 1, 32, 8, 8)], group=32))
    assert dw == Layer.depthwise(channels=32, P=8, Q=8, R=3, S=3)


def test_conv_output_computed_when_not_inferred():
    # explicit pads: (10 + 1 + 1 - 2*(3-1) - 1) // 1 + 1 = 8 (dilation 2)
    x, w = t("x", 1, 4, 10, 10), t("w", 8, 4, 3, 3)
    unknown = TensorInfo("y", None, 4)
    explicit, _ = build_op(op("Conv", [x, w], [unknown], pads=[1, 1, 1, 1], dilations=[2, 2]))
    assert (explicit.P, explicit.Q, explicit.dilation) == (8, 8, (2, 2))
    # SAME_UPPER with stride 3: ceil(10 / 3) = 4
    same, _ = build_op(op("Conv", [x, w], [unknown], auto_pad=b"SAME_UPPER", strides=[3, 3]))
    assert (same.P, same.Q) == (4, 4)
    # VALID: (10 - 3) // 1 + 1 = 8
    valid, _ = build_op(op("Conv", [x, w], [unknown], auto_pad=b"VALID"))
    assert (valid.P, valid.Q) == (8, 8)


def test_conv1d_and_conv3d_keep_macs():
    # 1-D: N=1, K=8, C=4, L_out=10, k=3 -> Q = S = 1
    c1, _ = build_op(op("Conv", [t("x", 1, 4, 12), t("w", 8, 4, 3)], [t("y", 1, 8, 10)]))
    assert (c1.P, c1.Q, c1.R, c1.S) == (10, 1, 3, 1)
    # 3-D: MACs = 8 * 4 * (D 5 * H 6 * W 6) * (3 * 3 * 3) = 155520; depth folds into N and C
    c3, _ = build_op(op("Conv", [t("x", 1, 4, 7, 8, 8), t("w", 8, 4, 3, 3, 3)],
                        [t("y", 1, 8, 5, 6, 6)]))
    assert c3.macs == 8 * 4 * 5 * 6 * 6 * 27
    assert c3.weight_words == 8 * 4 * 27


def test_conv_transpose_counts_useful_macs():
    # stride-2 transposed conv, 8 -> 4 channels, 3x3 kernel, 5x5 input (output 11x11):
    # every input pixel meets every kernel tap once: 4 * 8 * 5*5 * 3*3 = 7200 MACs
    layer, _ = build_op(op("ConvTranspose", [t("x", 1, 8, 5, 5), t("w", 8, 4, 3, 3)],
                           [t("y", 1, 4, 11, 11)], strides=[2, 2]))
    assert layer.macs == 7200
    assert (layer.K, layer.C, layer.P, layer.Q, layer.stride) == (4, 8, 5, 5, (1, 1))
    assert layer.weight_words == 8 * 4 * 9


def test_gemm_transposes():
    # A^T is [M=3, K=5] from A [5, 3]; B^T is [K=5, N=7] from B [7, 5]
    layer, _ = build_op(op("Gemm", [t("a", 5, 3), t("b", 7, 5)], [t("y", 3, 7)],
                           transA=1, transB=1))
    assert layer == Layer.gemm(M=3, K=5, N=7)


def test_matmul_weight_broadcast_goes_to_n():
    # [4, 128, 64] @ [64, 32]: the weight is shared across the 4 -> N = 4, G = 1
    layer, _ = build_op(op("MatMul", [t("a", 4, 128, 64), t("w", 64, 32)], [t("y", 4, 128, 32)]))
    assert (layer.N, layer.G, layer.P, layer.C, layer.K) == (4, 1, 128, 64, 32)
    assert layer.weight_words == 64 * 32


def test_matmul_attention_batch_goes_to_g():
    # [2, 12, 128, 64] @ [2, 12, 64, 128]: both operands vary with batch and heads -> G = 24
    layer, _ = build_op(op("MatMul", [t("q", 2, 12, 128, 64), t("k", 2, 12, 64, 128)],
                           [t("s", 2, 12, 128, 128)]))
    assert (layer.N, layer.G, layer.P, layer.C, layer.K) == (1, 24, 128, 64, 128)
    # partly broadcast: [2, 12, 8, 4] @ [1, 12, 4, 8] -> N = 2 (second operand shared), G = 12
    mixed, _ = build_op(op("MatMul", [t("a", 2, 12, 8, 4), t("b", 1, 12, 4, 8)], [None]))
    assert (mixed.N, mixed.G) == (2, 12)


def test_matmul_vector_operands():
    # [5] @ [5, 3] -> M = 1;  [4, 5] @ [5] -> N = 1
    assert build_op(op("MatMul", [t("a", 5), t("b", 5, 3)], [None]))[0].dims == (
        1, 1, 3, 5, 1, 1, 1, 1)
    assert build_op(op("MatMul", [t("a", 4, 5), t("b", 5)], [None]))[0].dims == (
        1, 1, 1, 5, 4, 1, 1, 1)


def test_symbolic_dim_raises_unresolved():
    with pytest.raises(UnresolvedShape, match="'a'.*batchx4"):
        build_op(op("MatMul", [TensorInfo("a", ("batch", 4), 4), t("b", 4, 4)], [None]))
    with pytest.raises(UnresolvedShape):
        build_op(op("Conv", [t("x", 1, 3, 8, 8), TensorInfo("w", None, 4)], [None]))


def test_inputs_that_do_not_fit_the_weight_raise_mismatch():
    # Gemm A^T [3, 5] from A [5, 3] needs B^T with 5 rows: B [7, 4] (transB) has 4 columns
    with pytest.raises(ShapeMismatch, match=r"reads 5 features from 'a' \(5x3\) but its "
                       r"other operand 'b' \(7x4\) takes 4"):
        build_op(op("Gemm", [t("a", 5, 3), t("b", 7, 4)], [None], transA=1, transB=1))
    # [2, 8, 6] @ [5, 3]: 6 features into a 5-row weight
    with pytest.raises(ShapeMismatch, match="reads 6 features .* weight 'w' .* takes 5"):
        build_op(op("MatMul", [t("a", 2, 8, 6), t("w", 5, 3, weight=True)], [None]))
    # ConvTranspose's weight is [C_in, C_out / group, kH, kW]: 4 input channels, not 6
    with pytest.raises(ShapeMismatch, match="reads 6 channels .* takes 4"):
        build_op(op("ConvTranspose", [t("x", 1, 6, 8, 8), t("w", 4, 2, 2, 2, weight=True)],
                    [None]))
    # depthwise: 8 channels, weight [8, 1, 3, 3], group 8 fits
    layer, _ = build_op(op("Conv", [t("x", 1, 8, 8, 8), t("w", 8, 1, 3, 3, weight=True)],
                           [t("y", 1, 8, 8, 8)], group=8, pads=[1, 1, 1, 1]))
    assert layer.G == 8


def test_vector_op_counts():
    x, y = t("x", 2, 3), t("y", 2, 3)
    # Relu: 1 op per element, 6 elements of 4 bytes in and out: 12 accelerator words
    assert build_op(op("Relu", [x], [y]))[0] == VectorOp("n", "Relu", 6, 24, 24, 6, words=12)
    # a view moves nothing
    assert build_op(op("Reshape", [x, t("s", 2)], [t("y", 3, 2)]))[0].words == 0
    # Softmax: 5 ops per element
    assert build_op(op("Softmax", [x], [y]))[0].ops == 30
    # MaxPool 3x3 -> 9 taps per output element: 1*1*2*2 outputs * 9 = 36
    pool, _ = build_op(op("MaxPool", [t("x", 1, 1, 4, 4)], [t("y", 1, 1, 2, 2)],
                          kernel_shape=[3, 3]))
    assert pool.ops == 36
    # GlobalAveragePool: one op per input element read (1*2*4*4 = 32)
    gap, _ = build_op(op("GlobalAveragePool", [t("x", 1, 2, 4, 4)], [t("y", 1, 2, 1, 1)]))
    assert gap.ops == 32
    # Reshape moves bytes only
    assert build_op(op("Reshape", [x, t("s", 2, elem_bytes=8)], [t("y", 3, 2)]))[0].ops == 0


def test_gather_reads_selected_rows_only():
    # an embedding lookup of 4 rows from a [1000, 8] table reads 4*8 floats + 4 int64 ids
    g, _ = build_op(op("Gather", [t("table", 1000, 8, weight=True), t("ids", 4, elem_bytes=8)],
                       [t("y", 4, 8)]))
    assert (g.bytes_in, g.bytes_out) == (4 * 8 * 4 + 4 * 8, 4 * 8 * 4)


def test_unknown_op_is_generic_vector_op():
    v, known = build_op(op("MyCustomOp", [t("x", 5)], [t("y", 5)]))
    assert not known and v.ops == 5
    custom = OpInfo("n", "Relu", {}, (t("x", 5),), (t("y", 5),), domain="com.example")
    assert build_op(custom)[1] is False


def test_mac_op_types():
    assert {"Conv", "ConvTranspose", "Gemm", "MatMul"} <= MAC_OP_TYPES
    assert "Relu" not in MAC_OP_TYPES
