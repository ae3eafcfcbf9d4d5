"""Which tensors of an ONNX graph are weights, and how many bytes each element stores.

Weights are found by name only: initializers, Constant outputs, graph inputs used only in
parameter slots (`weight_names`), and the outputs of nodes that compute weights from
weights (`constant_nodes`: a QDQ model's ``DequantizeLinear`` of an int8 initializer, a
``Cast`` of fp16 weights, ``ConstantOfShape``). No weight data is ever decoded: the importer
reads the values of int tensors of at most `SMALL_ELEMENTS` elements (shapes, axes, slice
steps) and nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
import onnx
from onnx import TensorProto, helper

from codesign.workload.ops import MAC_OP_TYPES, WEIGHT_SLOTS

__all__ = ["INT_TYPES", "PARAM_SLOTS", "SMALL_ELEMENTS", "constant_nodes", "elem_bytes",
           "stored_bytes", "weight_names"]

#: Initializers and Constant tensors with at most this many elements keep their data for
#: shape inference; larger ones are replaced by typed graph inputs and never read.
SMALL_ELEMENTS = 64
#: ONNX element types whose small tensors may hold shapes.
INT_TYPES = frozenset({TensorProto.INT64, TensorProto.INT32, TensorProto.INT16,
                       TensorProto.INT8, TensorProto.UINT8, TensorProto.UINT16,
                       TensorProto.UINT32, TensorProto.UINT64})

#: Input slots that hold parameters in common non-MAC ops (see `weight_names`).
PARAM_SLOTS: dict[str, tuple[int, ...]] = {
    "BatchNormalization": (1, 2, 3, 4), "LayerNormalization": (1, 2),
    "InstanceNormalization": (1, 2), "GroupNormalization": (1, 2), "Gather": (0,),
    "Clip": (1, 2), "PRelu": (1,), "Add": (1,), "Sub": (1,), "Mul": (1,), "Div": (1,),
    "Pow": (1,), "Concat": tuple(range(64)),
}

#: Ops whose output is not a function of their inputs: never constant-folded.
_NONDETERMINISTIC = frozenset({"RandomNormal", "RandomUniform", "RandomNormalLike",
                               "RandomUniformLike", "Multinomial", "Bernoulli"})

_ELEM_BYTES: dict[int, int] = {}


def elem_bytes(elem_type: int) -> int:
    """Bytes per element of an ONNX element type (4 if unknown, 0 for strings; int4 is 1).

    >>> elem_bytes(TensorProto.FLOAT16), elem_bytes(TensorProto.INT8)
    (2, 1)
    """
    if elem_type not in _ELEM_BYTES:
        try:
            size = np.dtype(helper.tensor_dtype_to_np_dtype(elem_type)).itemsize
        except (KeyError, TypeError, ValueError):
            size = 4
        if elem_type in (TensorProto.STRING, TensorProto.UNDEFINED):
            size = 0
        _ELEM_BYTES[elem_type] = size
    return _ELEM_BYTES[elem_type]


def weight_names(model: onnx.ModelProto) -> set[str]:
    """Initializers, Constant outputs, and graph inputs used only in parameter slots.

    A graph input is a weight when every use is a MAC op's weight slot (a MatMul's second
    operand only when 2-D, so batched activations stay data) or a parameter slot of a
    common vector op (norm scales, embedding tables, biases added as a second operand).
    This is how weight-free models, such as the zoo's, declare their weights.
    """
    graph = model.graph
    weights = {t.name for t in graph.initializer}
    weights.update(n.output[0] for n in graph.node
                   if n.op_type == "Constant" and n.output)
    ranks = {i.name: len(i.type.tensor_type.shape.dim) for i in graph.input
             if i.type.HasField("tensor_type") and i.type.tensor_type.HasField("shape")}
    candidates = {i.name for i in graph.input} - weights
    data: set[str] = set()
    used: set[str] = set()
    for node in graph.node:
        slots = WEIGHT_SLOTS.get(node.op_type) or PARAM_SLOTS.get(node.op_type, ())
        for slot, name in enumerate(node.input):
            if name not in candidates:
                continue
            used.add(name)
            is_param = slot in slots and not (node.op_type in ("MatMul", "MatMulInteger")
                                              and ranks.get(name) != 2)
            if not is_param:
                data.add(name)
    return weights | (used - data)


def constant_nodes(graph: onnx.GraphProto, weights: set[str]) -> list[int]:
    """Indices of the nodes that only compute weights from weights (constant-foldable).

    A Constant node, or a standard-domain op that is not a MAC op, has no subgraph, is
    deterministic and reads only weights or outputs of such nodes: ``DequantizeLinear`` of
    an int8 initializer (QDQ models), ``Cast`` of an fp16 one, ``ConstantOfShape``, a
    ``Transpose`` or ``Reshape`` of a weight. Their outputs are weights that an accelerator
    holds in their final form, so these nodes are costed as neither layers nor vector ops.
    Nothing is evaluated: only names are followed, so no weight data is read.

    >>> node = onnx.helper.make_node
    >>> g = onnx.helper.make_graph([node("DequantizeLinear", ["wq", "s"], ["w"]),
    ...                             node("Conv", ["x", "w"], ["y"]),
    ...                             node("RandomNormalLike", ["w"], ["r"])], "g", [], [])
    >>> constant_nodes(g, {"wq", "s"})  # the DequantizeLinear, not the Conv or the random op
    [0]
    """
    known = set(weights)
    found = []
    for index, node in enumerate(graph.node):
        if (node.domain not in ("", "ai.onnx") or node.op_type in MAC_OP_TYPES
                or node.op_type in _NONDETERMINISTIC
                or any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
                       for a in node.attribute)):
            continue
        inputs = [n for n in node.input if n]
        if (inputs or node.op_type == "Constant") and all(n in known for n in inputs):
            found.append(index)
            known.update(n for n in node.output if n)
    return found


def stored_bytes(graph: onnx.GraphProto, constant: Iterable[int],
                 shapes: Mapping[str, tuple]) -> dict[str, int]:
    """Bytes per element of each constant node's output as the model stores the weight.

    The width of the node's largest input (the first on a tie), through the chain, if it
    is narrower than the output's own type: ``DequantizeLinear`` of an int8 tensor makes a
    1-byte weight, ``Cast`` of an fp16 one a 2-byte weight; ``ConstantOfShape`` (whose
    input is a shape) keeps its output's type. ``shapes`` maps a tensor name to its
    (shape or None, ONNX element type).
    """
    stored: dict[str, int] = {}

    def width(name: str) -> int:
        return stored[name] if name in stored else elem_bytes(
            shapes.get(name, (None, TensorProto.FLOAT))[1])

    def elements(name: str) -> int:
        shape = shapes.get(name, (None,))[0]
        known = shape is not None and all(isinstance(d, int) for d in shape)
        return math.prod(shape) if known else 0  # type: ignore[arg-type]

    for index in constant:
        node = graph.node[index]
        inputs = [n for n in node.input if n]
        source = max(inputs, key=elements) if inputs else None
        for out in node.output:
            if out:
                own = width(out)
                stored[out] = own if source is None else min(own, width(source))
    return stored
