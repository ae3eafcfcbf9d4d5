"""Vector ops that move nothing: which nodes of an ONNX graph are views beyond `VIEW_OPS`.

Two kinds, both costed with no DRAM words and no operations and looked through by fusion:

- a QDQ model's ``QuantizeLinear -> DequantizeLinear`` pair on an activation, the int8
  form of that tensor (`fake_quant_nodes`);
- a data-movement node that returns its input unchanged (`identity_nodes`): the legacy
  torch exporter writes ``x[:, :H]`` of an H-row tensor as a Slice, where the dynamo
  exporter writes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

from codesign.workload.weights import INT_TYPES, SMALL_ELEMENTS

__all__ = ["fake_quant_nodes", "identity_nodes"]

#: Data-movement ops that are the identity when their output has their input's shape.
_IDENTITY_WHEN_SAME_SHAPE = frozenset({"Slice", "Expand", "Tile"})


def fake_quant_nodes(graph: onnx.GraphProto, constant: set[int]) -> set[int]:
    """Indices of the QuantizeLinear -> DequantizeLinear pairs on activations.

    A QDQ model marks a tensor that an int8 accelerator holds in int8 with a
    ``QuantizeLinear`` whose only readers are ``DequantizeLinear`` nodes: the pair is the
    identity up to rounding, and the scaling belongs to the producer's output stage. Both
    are then views, so a QDQ model costs what its float export does. A ``QuantizeLinear``
    read by anything else, or writing a graph output, is a real conversion and stays a
    vector op. ``constant`` holds the nodes that compute weights (never views).
    """
    outputs = {o.name for o in graph.output}
    readers: dict[str, list[int]] = {}
    for index, node in enumerate(graph.node):
        for name in node.input:
            if name:
                readers.setdefault(name, []).append(index)
    found: set[int] = set()
    for index, node in enumerate(graph.node):
        if (node.op_type != "QuantizeLinear" or node.domain not in ("", "ai.onnx")
                or index in constant or not node.output or node.output[0] in outputs):
            continue
        dqs = readers.get(node.output[0], [])
        if dqs and all(graph.node[i].op_type == "DequantizeLinear"
                       and graph.node[i].domain in ("", "ai.onnx")
                       and list(graph.node[i].input).index(node.output[0]) == 0
                       and list(graph.node[i].input).count(node.output[0]) == 1
                       for i in dqs):
            found.add(index)
            found.update(dqs)
    return found


def identity_nodes(graph: onnx.GraphProto, shapes: Mapping[str, tuple]) -> set[int]:
    """Indices of the data-movement nodes that copy their input unchanged.

    A Slice, Expand or Tile whose output shape is its input's (a Slice only when its steps
    are known to be positive: a step of -1 reverses), and a Concat of one tensor. ``shapes``
    maps a tensor name to its (shape or None, ONNX element type).
    """

    def known(name: str) -> tuple | None:
        shape = shapes.get(name, (None,))[0] if name else None
        return shape if shape is not None and all(isinstance(d, int) for d in shape) else None

    steps = _small_int_values(graph)
    found: set[int] = set()
    for index, node in enumerate(graph.node):
        if node.domain not in ("", "ai.onnx") or not node.input or len(node.output) != 1:
            continue
        inputs = [n for n in node.input if n]
        if node.op_type == "Concat":
            same = len(inputs) == 1 and known(inputs[0]) is not None
        elif node.op_type in _IDENTITY_WHEN_SAME_SHAPE:
            shape = known(node.input[0])
            same = shape is not None and known(node.output[0]) == shape
            if same and node.op_type == "Slice" and len(node.input) > 4 and node.input[4]:
                step = steps.get(node.input[4])
                same = step is not None and bool((step > 0).all())
        else:
            same = False
        if same:
            found.add(index)
    return found


def _small_int_values(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    """Values of the small int initializers and Constant nodes (slice steps)."""
    tensors = [(t.name, t) for t in graph.initializer]
    for node in graph.node:
        if node.op_type == "Constant" and node.output:
            tensors += [(node.output[0], a.t) for a in node.attribute
                        if a.name == "value" and a.type == onnx.AttributeProto.TENSOR]
    values: dict[str, np.ndarray] = {}
    for name, t in tensors:
        if (t.data_type in INT_TYPES and math.prod(t.dims) <= SMALL_ELEMENTS
                and t.data_location != TensorProto.EXTERNAL):
            try:
                values[name] = numpy_helper.to_array(t).astype(np.int64)
            except (ValueError, TypeError):  # dims without data
                continue
    return values
