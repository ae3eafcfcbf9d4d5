import pytest

from codesign.workload.layer import DIMS, Layer, LayerTable, VectorOp


def test_conv_sizes_follow_design_md():
    # 3x3 conv, stride 2, dilation 1, 8 output rows: H = (8-1)*2 + (3-1)*1 + 1 = 17
    layer = Layer.conv(K=4, C=2, P=8, Q=6, R=3, S=3, stride=2)
    assert layer.input_hw == (17, 13)
    assert layer.macs == 4 * 2 * 8 * 6 * 3 * 3
    assert layer.weight_words == 4 * 2 * 3 * 3
    assert layer.input_words == 2 * 17 * 13
    assert layer.output_words == 4 * 8 * 6


def test_dilation_widens_the_input_footprint():
    # (P-1)*1 + (R-1)*2 + 1 = 4 + 4 + 1 = 9
    assert Layer.conv(K=1, C=1, P=5, Q=5, R=3, S=3, dilation=2).input_hw == (9, 9)


def test_depthwise_puts_channels_on_groups():
    layer = Layer.depthwise(channels=32, P=7, Q=7, R=3, S=3)
    assert (layer.G, layer.K, layer.C) == (32, 1, 1)
    assert layer.weight_words == 32 * 9


def test_gemm_maps_m_k_n_to_p_c_k():
    layer = Layer.gemm(M=128, K=64, N=32, batch=12)
    assert dict(zip(DIMS, layer.dims, strict=True)) == {
        "N": 1, "G": 12, "K": 32, "C": 64, "P": 128, "Q": 1, "R": 1, "S": 1}
    assert layer.macs == 12 * 128 * 64 * 32


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_dims_are_rejected_with_the_dim_named(bad):
    with pytest.raises(ValueError, match="K="):
        Layer(1, 1, bad, 1, 1, 1, 1, 1)


def test_equality_ignores_name_but_not_stride():
    a = Layer.conv(K=2, C=2, P=2, Q=2, name="a")
    b = Layer.conv(K=2, C=2, P=2, Q=2, name="b")
    c = Layer.conv(K=2, C=2, P=2, Q=2, stride=2)
    assert a == b and hash(a) == hash(b)
    assert a != c


def test_dict_round_trip():
    layer = Layer.conv(K=3, C=5, P=7, Q=9, R=3, S=1, N=2, G=4, stride=(2, 1),
                       dilation=(1, 3), name="x", op_type="ConvTranspose")
    again = Layer.from_dict(layer.to_dict())
    assert again == layer and again.name == "x" and again.op_type == "ConvTranspose"


def test_table_groups_identical_shapes_in_first_seen_order():
    a = Layer.gemm(M=2, K=3, N=4, name="a")
    b = Layer.conv(K=2, C=2, P=2, Q=2, name="b")
    table = LayerTable.from_layers([a, b, Layer.gemm(M=2, K=3, N=4, name="c")],
                                   [VectorOp("r", "Relu", 10, 20, 20, 10)])
    assert table.layers == (a, b)
    assert table.counts == (2, 1)
    assert table.names == (("a", "c"), ("b",))
    assert table.n_mac_layers == 3
    assert table.total_macs == 2 * 24 + 16
    assert len(table.vector_ops) == 1
