"""Stream fusion: which vector ops run on the output stream of the op before them.

A DNN accelerator applies bias, batch-norm, activations and element-wise adds to a layer's
results as they leave the PE array (NVDLA's SDP, "Single Data Point" processor, does bias,
BN, activation and element-wise ops on the convolution output on the fly; TPU v1's
activation pipeline and Simba's post-processing unit do the same), so the tensors between
those ops never travel to DRAM and back. Costing every such op as a separate DRAM round
trip charges ResNet-50 more cycles for its BN/ReLU/Add than for all its convolutions.

The rule, for each vector op ``X`` of the graph:

1. ``X`` is element-wise (`STREAMABLE_OPS`): an output element needs only the same element
   of its streamed input (row-wise ops, such as Softmax and LayerNormalization, pooling,
   reductions and data movement stay standalone).
2. The streamed tensor ``t`` has as many elements as ``X``'s output (it is not broadcast).
3. ``t`` comes from a MAC layer or a computing vector op ``P`` (views such as Reshape, and
   a QDQ model's QuantizeLinear -> DequantizeLinear pairs, in between are looked through),
   ``X`` is its only consumer (Shape and Size read no data and do not count), and it is not
   a graph output.
4. ``X`` streams at most one input: the first that qualifies, a MAC layer's output first.

Then ``t`` is neither written by ``P`` nor read by ``X``: ``X``'s DRAM words drop ``t``'s
elements and ``P``'s drop the write of ``t``. A chain that starts at a MAC layer writes its
last result once, and the cost model already charges that write as the layer's output
write, so the last op of such a chain drops its own write too. Other operands (a residual
add's second input, BN parameters) are still read from DRAM. Fused ops keep their
arithmetic (``ops``): the vector unit still computes them.
"""

from __future__ import annotations

import dataclasses

import networkx as nx

from codesign.workload.layer import VectorOp
from codesign.workload.ops import VIEW_OPS

__all__ = ["STREAMABLE_OPS", "stream_fusion"]

#: Element-wise ops that can run on a producer's output stream.
STREAMABLE_OPS: frozenset[str] = frozenset({
    "Add", "Sub", "Mul", "Div", "Neg", "Abs", "Relu", "LeakyRelu", "PRelu", "Clip", "Max",
    "Min", "Sum", "Mean", "Sqrt", "Reciprocal", "Pow", "Exp", "Log", "Floor", "Ceil", "Round",
    "Sign", "Dropout", "QuantizeLinear", "DequantizeLinear", "Elu", "Selu", "Celu",
    "ThresholdedRelu", "Softplus", "Softsign", "BatchNormalization", "Sigmoid", "HardSigmoid",
    "HardSwish", "Tanh", "Erf", "Gelu", "Mish", "Swish", "Cast",
})

#: Vector ops that produce constants or metadata, not a data stream worth fusing with.
_SOURCE_OPS = frozenset({"Constant", "ConstantOfShape", "Shape", "Size", "Range", "EyeLike"})
#: Ops that read a tensor's shape, not its data: they do not stop it from being streamed.
_METADATA_OPS = frozenset({"Shape", "Size"})


def stream_fusion(graph: nx.DiGraph) -> dict[str, VectorOp]:
    """Every vector op node of ``graph`` with its ``words`` and ``fused_into`` after fusion
    (module docstring), in graph order. The graph is not changed.

    >>> from codesign.workload.onnx_graph import parse_onnx
    >>> from onnx import TensorProto, helper
    >>> x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])
    >>> w = helper.make_tensor_value_info("w", TensorProto.FLOAT, [8, 8])
    >>> y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])
    >>> nodes = [helper.make_node("MatMul", ["x", "w"], ["m"], name="mm"),
    ...          helper.make_node("Relu", ["m"], ["y"], name="relu")]
    >>> g = parse_onnx(helper.make_model(helper.make_graph(nodes, "g", [x, w], [y])))
    >>> g.nodes["relu"]["vector"].words, stream_fusion(g)["relu"]
    (16, VectorOp(name='relu', op_type='Relu', elements=8, bytes_in=32, bytes_out=32, ops=8, \
words=0, fused_into='mm'))
    """
    outputs = set(graph.graph.get("outputs", {}))
    order = list(nx.topological_sort(graph))
    streamed_from: dict[str, str] = {}  # X -> the producer P whose output X streams
    for node in order:
        op = graph.nodes[node]["vector"]
        if op is not None and op.op_type in STREAMABLE_OPS:
            source = _stream_source(graph, node, op.elements, outputs)
            if source is not None:
                streamed_from[node] = source
    streamed_out: dict[str, int] = {}  # P -> elements of its outputs taken from the stream
    for node, producer in streamed_from.items():
        streamed_out[producer] = (streamed_out.get(producer, 0)
                                  + graph.nodes[node]["vector"].elements)
    head: dict[str, str] = {}
    fused: dict[str, VectorOp] = {}
    for node in order:
        op = graph.nodes[node]["vector"]
        if op is None:
            continue
        words, fused_into, unwritten = op.words, "", streamed_out.get(node, 0)
        if node in streamed_from:
            producer = streamed_from[node]
            head[node] = fused_into = head.get(producer, producer)
            words -= op.elements  # the streamed input is as large as the output (rule 2)
            if graph.nodes[fused_into]["layer"] is not None:
                unwritten = op.elements  # the layer's output write stands for the chain's
        fused[node] = dataclasses.replace(op, words=max(words - unwritten, 0),
                                          fused_into=fused_into)
    return fused


def _stream_source(graph: nx.DiGraph, node: str, elements: int,
                   outputs: set[str]) -> str | None:
    """The producer whose output (of ``elements`` elements) ``node`` may stream."""
    candidates = [src for src in (_through_views(graph, pred, node, elements, outputs)
                                  for pred in graph.predecessors(node)) if src is not None]
    candidates.sort(key=lambda src: graph.nodes[src]["layer"] is None)  # MAC layers first
    return candidates[0] if candidates else None


def _through_views(graph: nx.DiGraph, src: str, dst: str, elements: int,
                   outputs: set[str]) -> str | None:
    """Follow the edge ``src -> dst`` back through single-use views to a real producer."""
    while True:
        edge = graph.edges[src, dst]
        if (len(edge["tensors"]) != 1 or edge["elements"] != elements or elements <= 0
                or edge["tensor"] in outputs or _consumers(graph, src, edge["tensor"]) != 1):
            return None
        data = graph.nodes[src]
        if data["layer"] is not None:
            return src
        op = data["vector"]
        if op is None or op.op_type in _SOURCE_OPS:
            return None
        if op.op_type not in VIEW_OPS and not data.get("view"):
            return src
        data_preds = [p for p in graph.predecessors(src)
                      if graph.edges[p, src]["elements"] == elements]
        if len(data_preds) != 1:
            return None
        src, dst = data_preds[0], src


def _consumers(graph: nx.DiGraph, node: str, tensor: str) -> int:
    """How many ops read ``tensor``'s data (Shape and Size read only its metadata)."""
    return sum(tensor in data["tensors"] and graph.nodes[dst]["op_type"] not in _METADATA_OPS
               for _, dst, data in graph.out_edges(node, data=True))
