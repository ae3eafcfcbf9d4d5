"""Op graph -> `LayerTable`, and the one-call `load_onnx` convenience."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import networkx as nx

from codesign.errors import WorkloadError
from codesign.workload.layer import LayerTable
from codesign.workload.onnx_graph import read_onnx

__all__ = ["layer_table", "load_onnx"]


def layer_table(graph: nx.DiGraph) -> LayerTable:
    """Group the graph's MAC layers by shape (first-seen order) and keep its vector ops.

    Raises `WorkloadError` when the graph has no MAC op: there is nothing to map.
    """
    layers = [data["layer"] for _, data in graph.nodes(data=True) if data.get("layer")]
    vectors = [data["vector"] for _, data in graph.nodes(data=True) if data.get("vector")]
    if not layers:
        source = graph.graph.get("source", "<graph>")
        raise WorkloadError(
            f"{source}: no MAC op (Conv, ConvTranspose, Gemm, MatMul) in the model; codesign "
            "maps MAC layers onto the accelerator, so pass a model that has some")
    return LayerTable.from_layers(layers, vectors)


def load_onnx(path: str | Path, input_shapes: Mapping[str, Sequence[int]] | None = None,
              dims: Mapping[str, int] | None = None) -> LayerTable:
    """`read_onnx` then `layer_table`: an ONNX file straight to its unique layers."""
    return layer_table(read_onnx(path, input_shapes=input_shapes, dims=dims))
