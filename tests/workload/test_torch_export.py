"""Round trip through torch.onnx.export (legacy TorchScript exporter, no onnxscript needed):
a conv net and an attention block written with matmuls, with real weights."""

import warnings

import pytest

torch = pytest.importorskip("torch")

from codesign.workload.table import load_onnx  # noqa: E402


class ConvNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.dw = torch.nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.up = torch.nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.fc = torch.nn.Linear(4 * 32 * 32, 10)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = self.up(torch.relu(self.dw(x)))
        return self.fc(x.flatten(1))


class Attention(torch.nn.Module):
    def __init__(self, dim=32, heads=4):
        super().__init__()
        self.heads = heads
        self.qkv = torch.nn.Linear(dim, 3 * dim)
        self.out = torch.nn.Linear(dim, dim)

    def forward(self, x):
        b, s, d = x.shape
        q, k, v = self.qkv(x).reshape(b, s, 3, self.heads, d // self.heads).permute(
            2, 0, 3, 1, 4)
        scores = torch.softmax(q @ k.transpose(-2, -1) / (d // self.heads) ** 0.5, dim=-1)
        return self.out((scores @ v).transpose(1, 2).reshape(b, s, d))


def _export(module, example, path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (example,), str(path), dynamo=False, **kwargs)


def test_conv_net_round_trip(tmp_path):
    path = tmp_path / "convnet.onnx"
    _export(ConvNet(), torch.randn(1, 3, 32, 32), path)
    table = load_onnx(path)
    macs = {layer.op_type: layer.macs for layer in table.layers}
    # conv1: 8 * 3 * 16*16 * 3*3 = 55296; depthwise: 8 * 16*16 * 9 = 18432
    # transpose (16x16 -> 32x32): 4 * 8 * 16*16 * 2*2 = 32768; fc: 4*32*32 * 10 = 40960
    assert sorted(layer.macs for layer in table.layers) == [18432, 32768, 40960, 55296]
    assert macs["ConvTranspose"] == 32768


def test_attention_block_round_trip(tmp_path):
    path = tmp_path / "attention.onnx"
    _export(Attention(), torch.randn(2, 8, 32), path)
    table = load_onnx(path)
    by_shape = {(layer.N, layer.G, layer.P, layer.C, layer.K): c
                for layer, c in zip(table.layers, table.counts, strict=True)}
    # qkv: [2, 8, 32] @ [32, 96] -> N = 2 (batch, weight shared), P = 8
    assert by_shape[(2, 1, 8, 32, 96)] == 1
    # q @ k^T: batch 2 x heads 4 -> G = 8, [8 x 8] @ [8 x 8]; scores @ v the same shape
    assert by_shape[(1, 8, 8, 8, 8)] == 2
    # out projection
    assert by_shape[(2, 1, 8, 32, 32)] == 1
    # MACs: 2*8*32*96 + 2 * 8*8*8*8 + 2*8*32*32 = 49152 + 8192 + 16384
    assert table.total_macs == 49152 + 8192 + 16384


def test_dynamic_batch_needs_dim(tmp_path):
    from codesign.errors import WorkloadError

    path = tmp_path / "dyn.onnx"
    _export(ConvNet(), torch.randn(1, 3, 32, 32), path, input_names=["image"],
            dynamic_axes={"image": {0: "batch"}})
    with pytest.raises(WorkloadError, match="--dim batch"):
        load_onnx(path)
    assert load_onnx(path, dims={"batch": 4}).total_macs == 4 * (55296 + 18432 + 32768 + 40960)
