"""Regenerate the workload zoo: small weight-free ONNX graphs with every shape intact.

Run ``python models/build_zoo.py [OUT_DIR]`` (default: this folder). Weights are declared
as typed graph inputs (valid ONNX; a runtime would need them fed), so each file stays a
few tens of kB while shape inference sees every weight shape. Only small int64 shape
constants (Reshape targets) are stored as initializers.

Architectures follow the torchvision definitions (ResNet-18/50 v1.5 with the stride on
the 3x3 conv, MobileNetV2, VGG-16 without batch norm), 224x224, batch 1; BERT-base encoder
(seq 128, 12 layers, hidden 768, 12 heads, FFN 3072); ViT-B/16 (224, patch 16, 197 tokens,
12 layers); a GPT-2-small-like decoder (seq 128, 12 layers, hidden 768, causal mask, tied
LM head over a 50257-token vocabulary).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 20  # Gelu and LayerNormalization are standard ops at 20


class GraphBuilder:
    """Appends nodes to one ONNX graph; weights become graph inputs with shapes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.nodes: list[onnx.NodeProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.n = 0

    def _id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}_{self.n}"

    def input(self, name: str, shape: list[int], dtype: int = TensorProto.FLOAT) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, dtype, shape))
        return name

    def weight(self, name: str, shape: list[int]) -> str:
        return self.input(name, shape)

    def const(self, values: list[int]) -> str:
        name = self._id("shape")
        self.inits.append(numpy_helper.from_array(np.asarray(values, dtype=np.int64), name))
        return name

    def op(self, op_type: str, inputs: list[str], name: str | None = None, **attrs) -> str:
        name = name or self._id(op_type.lower())
        out = f"{name}_out"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=name, **attrs))
        return out

    # -- layers -------------------------------------------------------------------------
    def conv(self, x: str, name: str, cin: int, cout: int, k: int, stride: int = 1,
             pad: int = 0, groups: int = 1, bias: bool = False) -> str:
        w = self.weight(f"{name}.weight", [cout, cin // groups, k, k])
        ins = [x, w] + ([self.weight(f"{name}.bias", [cout])] if bias else [])
        return self.op("Conv", ins, name=name, kernel_shape=[k, k], strides=[stride, stride],
                       pads=[pad] * 4, group=groups)

    def bn(self, x: str, name: str, c: int) -> str:
        ws = [self.weight(f"{name}.{p}", [c]) for p in ("weight", "bias", "mean", "var")]
        return self.op("BatchNormalization", [x, *ws], name=name)

    def linear(self, x: str, name: str, cin: int, cout: int) -> str:
        """``x @ W + b`` as MatMul + Add (the form exporters emit for N-D inputs)."""
        y = self.op("MatMul", [x, self.weight(f"{name}.weight", [cin, cout])], name=name)
        return self.op("Add", [y, self.weight(f"{name}.bias", [cout])])

    def gemm(self, x: str, name: str, cin: int, cout: int) -> str:
        w = self.weight(f"{name}.weight", [cout, cin])
        return self.op("Gemm", [x, w, self.weight(f"{name}.bias", [cout])], name=name, transB=1)

    def layernorm(self, x: str, name: str, c: int) -> str:
        scale, bias = self.weight(f"{name}.weight", [c]), self.weight(f"{name}.bias", [c])
        return self.op("LayerNormalization", [x, scale, bias], name=name, axis=-1)

    def model(self, output: str) -> onnx.ModelProto:
        out = helper.make_tensor_value_info(output, TensorProto.FLOAT, None)
        graph = helper.make_graph(self.nodes, self.name, self.inputs, [out],
                                  initializer=self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="codesign models/build_zoo.py")
        model.ir_version = 9
        # give the graph output its inferred shape (the checker wants one)
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
        model.graph.output[0].CopyFrom(inferred.graph.output[0])
        return model


# -- CNNs ---------------------------------------------------------------------------------

def _resnet(name: str, blocks: list[int], bottleneck: bool) -> onnx.ModelProto:
    b = GraphBuilder(name)
    x = b.input("input", [1, 3, 224, 224])
    x = b.op("Relu", [b.bn(b.conv(x, "conv1", 3, 64, 7, 2, 3), "bn1", 64)])
    x = b.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    expansion = 4 if bottleneck else 1
    for stage, (n, width) in enumerate(zip(blocks, [64, 128, 256, 512], strict=True)):
        for i in range(n):
            stride = 2 if stage > 0 and i == 0 else 1
            p = f"layer{stage + 1}.{i}"
            cout = width * expansion
            if bottleneck:
                y = b.op("Relu", [b.bn(b.conv(x, f"{p}.conv1", cin, width, 1), f"{p}.bn1",
                                       width)])
                y = b.op("Relu", [b.bn(b.conv(y, f"{p}.conv2", width, width, 3, stride, 1),
                                       f"{p}.bn2", width)])
                y = b.bn(b.conv(y, f"{p}.conv3", width, cout, 1), f"{p}.bn3", cout)
            else:
                y = b.op("Relu", [b.bn(b.conv(x, f"{p}.conv1", cin, width, 3, stride, 1),
                                       f"{p}.bn1", width)])
                y = b.bn(b.conv(y, f"{p}.conv2", width, width, 3, 1, 1), f"{p}.bn2", width)
            if stride != 1 or cin != cout:
                x = b.bn(b.conv(x, f"{p}.downsample.0", cin, cout, 1, stride),
                         f"{p}.downsample.1", cout)
            x = b.op("Relu", [b.op("Add", [y, x])])
            cin = cout
    x = b.op("Flatten", [b.op("GlobalAveragePool", [x])], axis=1)
    return b.model(b.gemm(x, "fc", cin, 1000))


def resnet18() -> onnx.ModelProto:
    return _resnet("resnet18", [2, 2, 2, 2], bottleneck=False)


def resnet50() -> onnx.ModelProto:
    return _resnet("resnet50", [3, 4, 6, 3], bottleneck=True)


def mobilenet_v2() -> onnx.ModelProto:
    b = GraphBuilder("mobilenet_v2")

    def conv_bn_relu6(x: str, name: str, cin: int, cout: int, k: int, stride: int = 1,
                      groups: int = 1) -> str:
        y = b.bn(b.conv(x, f"{name}.0", cin, cout, k, stride, (k - 1) // 2, groups),
                 f"{name}.1", cout)
        return b.op("Clip", [y, b.weight(f"{name}.2.min", []), b.weight(f"{name}.2.max", [])])

    x = conv_bn_relu6(b.input("input", [1, 3, 224, 224]), "features.0", 3, 32, 3, 2)
    cin, index = 32, 1
    settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1)]
    for t, c, n, s in settings:
        for i in range(n):
            stride = s if i == 0 else 1
            p = f"features.{index}.conv"
            hidden = cin * t
            y = x
            j = 0
            if t != 1:
                y = conv_bn_relu6(y, f"{p}.{j}", cin, hidden, 1)
                j += 1
            y = conv_bn_relu6(y, f"{p}.{j}", hidden, hidden, 3, stride, groups=hidden)
            y = b.bn(b.conv(y, f"{p}.{j + 1}", hidden, c, 1), f"{p}.{j + 2}", c)
            x = b.op("Add", [x, y]) if stride == 1 and cin == c else y
            cin, index = c, index + 1
    x = conv_bn_relu6(x, f"features.{index}", cin, 1280, 1)
    x = b.op("Flatten", [b.op("GlobalAveragePool", [x])], axis=1)
    return b.model(b.gemm(x, "classifier.1", 1280, 1000))


def vgg16() -> onnx.ModelProto:
    b = GraphBuilder("vgg16")
    x = b.input("input", [1, 3, 224, 224])
    cin, index = 3, 0
    for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"]:
        if v == "M":
            x = b.op("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
            index += 1
            continue
        x = b.op("Relu", [b.conv(x, f"features.{index}", cin, v, 3, 1, 1, bias=True)])
        cin, index = v, index + 2
    x = b.op("Flatten", [x], axis=1)  # AdaptiveAvgPool2d(7) is the identity at 224x224
    x = b.op("Relu", [b.gemm(x, "classifier.0", 512 * 7 * 7, 4096)])
    x = b.op("Relu", [b.gemm(x, "classifier.3", 4096, 4096)])
    return b.model(b.gemm(x, "classifier.6", 4096, 1000))


# -- transformers -------------------------------------------------------------------------

def _encoder_layer(b: GraphBuilder, x: str, p: str, seq: int, hidden: int, heads: int,
                   ffn: int, *, pre_norm: bool, mask: str | None = None) -> str:
    """One transformer block with attention written as MatMuls between activations."""
    d = hidden // heads
    split = b.const([1, seq, heads, d])
    merge = b.const([1, seq, hidden])

    def heads_of(t: str, perm: list[int]) -> str:
        return b.op("Transpose", [b.op("Reshape", [t, split])], perm=perm)

    h = b.layernorm(x, f"{p}.ln_1", hidden) if pre_norm else x
    q = heads_of(b.linear(h, f"{p}.attn.q", hidden, hidden), [0, 2, 1, 3])   # [1, H, S, d]
    k = heads_of(b.linear(h, f"{p}.attn.k", hidden, hidden), [0, 2, 3, 1])   # [1, H, d, S]
    v = heads_of(b.linear(h, f"{p}.attn.v", hidden, hidden), [0, 2, 1, 3])   # [1, H, S, d]
    scores = b.op("MatMul", [q, k], name=f"{p}.attn.qk")                    # [1, H, S, S]
    scores = b.op("Div", [scores, b.weight(f"{p}.attn.scale", [])])
    if mask is not None:
        scores = b.op("Add", [scores, mask])
    probs = b.op("Softmax", [scores], axis=-1)
    ctx = b.op("MatMul", [probs, v], name=f"{p}.attn.pv")                   # [1, H, S, d]
    ctx = b.op("Reshape", [b.op("Transpose", [ctx], perm=[0, 2, 1, 3]), merge])
    x = b.op("Add", [x, b.linear(ctx, f"{p}.attn.out", hidden, hidden)])
    if not pre_norm:
        x = b.layernorm(x, f"{p}.ln_1", hidden)
    h = b.layernorm(x, f"{p}.ln_2", hidden) if pre_norm else x
    h = b.op("Gelu", [b.linear(h, f"{p}.mlp.fc1", hidden, ffn)])
    x = b.op("Add", [x, b.linear(h, f"{p}.mlp.fc2", ffn, hidden)])
    if not pre_norm:
        x = b.layernorm(x, f"{p}.ln_2", hidden)
    return x


def bert_base(seq: int = 128) -> onnx.ModelProto:
    """BERT-base encoder (post-norm), embeddings as Gathers, no pooler."""
    b = GraphBuilder("bert_base")
    ids = b.input("input_ids", [1, seq], TensorProto.INT64)
    types = b.input("token_type_ids", [1, seq], TensorProto.INT64)
    pos = b.input("position_ids", [1, seq], TensorProto.INT64)
    emb = b.op("Gather", [b.weight("embeddings.word", [30522, 768]), ids])
    emb = b.op("Add", [emb, b.op("Gather", [b.weight("embeddings.position", [512, 768]), pos])])
    emb = b.op("Add", [emb, b.op("Gather", [b.weight("embeddings.token_type", [2, 768]),
                                            types])])
    x = b.layernorm(emb, "embeddings.ln", 768)
    for i in range(12):
        x = _encoder_layer(b, x, f"layer.{i}", seq, 768, 12, 3072, pre_norm=False)
    return b.model(x)


def vit_b16() -> onnx.ModelProto:
    """ViT-B/16: 16x16 patch conv, class token, 197 tokens, 12 pre-norm blocks, head."""
    b = GraphBuilder("vit_b16")
    x = b.conv(b.input("input", [1, 3, 224, 224]), "conv_proj", 3, 768, 16, 16, bias=True)
    x = b.op("Transpose", [b.op("Reshape", [x, b.const([1, 768, 196])])], perm=[0, 2, 1])
    x = b.op("Concat", [b.weight("class_token", [1, 1, 768]), x], axis=1)
    x = b.op("Add", [x, b.weight("pos_embedding", [1, 197, 768])])
    for i in range(12):
        x = _encoder_layer(b, x, f"encoder.layers.{i}", 197, 768, 12, 3072, pre_norm=True)
    x = b.layernorm(x, "encoder.ln", 768)
    cls = b.op("Reshape", [b.op("Slice", [x, b.const([0]), b.const([1]), b.const([1])]),
                           b.const([1, 768])])
    return b.model(b.gemm(cls, "heads.head", 768, 1000))


def gpt2_small(seq: int = 128) -> onnx.ModelProto:
    """GPT-2-small-like decoder: 12 pre-norm blocks with a causal mask, tied LM head."""
    b = GraphBuilder("gpt2_small")
    ids = b.input("input_ids", [1, seq], TensorProto.INT64)
    pos = b.input("position_ids", [1, seq], TensorProto.INT64)
    mask = b.input("causal_mask", [1, 1, seq, seq])
    wte = b.weight("wte", [50257, 768])
    x = b.op("Add", [b.op("Gather", [wte, ids]),
                     b.op("Gather", [b.weight("wpe", [1024, 768]), pos])])
    for i in range(12):
        x = _encoder_layer(b, x, f"h.{i}", seq, 768, 12, 3072, pre_norm=True, mask=mask)
    x = b.op("Reshape", [b.layernorm(x, "ln_f", 768), b.const([seq, 768])])
    return b.model(b.op("Gemm", [x, wte], name="lm_head", transB=1))  # tied to wte


ZOO = {
    "resnet18": resnet18,
    "resnet50": resnet50,
    "mobilenet_v2": mobilenet_v2,
    "vgg16": vgg16,
    "bert_base": bert_base,
    "vit_b16": vit_b16,
    "gpt2_small": gpt2_small,
}


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, build in ZOO.items():
        model = build()
        onnx.checker.check_model(model)
        onnx.save(model, out_dir / f"{name}.onnx")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent)
