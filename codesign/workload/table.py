"""Op graph -> `LayerTable`, and the one-call `load_onnx` convenience."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import networkx as nx

from codesign.errors import WorkloadError
from codesign.workload.fusion import stream_fusion
from codesign.workload.layer import DIMS, LayerTable
from codesign.workload.onnx_graph import read_onnx

__all__ = ["MAX_DIM", "MAX_LAYER_COUNT", "layer_table", "load_onnx"]

#: Largest MAC count or tensor size (words, bytes, ops) a layer or vector op may have. The
#: cost model keeps access counts exact in int64 (< 2**63); ceil-padding can multiply the
#: iteration space by up to 2 per dim (2**8) and counts add across levels, so 2**50 (about
#: 1e15, far above any real layer: a GPT-3 projection at sequence 2048 is about 2**40)
#: leaves headroom for that and rules out silent overflow.
MAX_LAYER_COUNT = 2**50
#: Largest single loop dim: the mapper factors trip counts with a smallest-prime-factor
#: table as long as the largest dim (8 bytes each: 2**24 is 128 MB). Real layers stay far
#: below (a 128k-token vocabulary is 2**17).
MAX_DIM = 2**24


def layer_table(graph: nx.DiGraph, fusion: bool = True) -> LayerTable:
    """Group the graph's MAC layers by shape (first-seen order) and keep its vector ops.

    ``fusion``: run element-wise vector ops on their producer's output stream
    (`codesign.workload.fusion`); ``False`` costs every vector op as its own DRAM round trip.
    Raises `WorkloadError` when the graph has no MAC op: there is nothing to map.
    """
    layers = [data["layer"] for _, data in graph.nodes(data=True) if data.get("layer")]
    if fusion:
        vectors = list(stream_fusion(graph).values())
    else:
        vectors = [data["vector"] for _, data in graph.nodes(data=True) if data.get("vector")]
    if not layers:
        source = graph.graph.get("source", "<graph>")
        raise WorkloadError(
            f"{source}: no MAC op (Conv, ConvTranspose, Gemm, MatMul) in the model; codesign "
            "maps MAC layers onto the accelerator, so pass a model that has some")
    source = graph.graph.get("source", "<graph>")
    for layer in layers:
        big = [f"{d}={getattr(layer, d)}" for d in DIMS if getattr(layer, d) > MAX_DIM]
        if big:
            raise WorkloadError(
                f"{source}: layer '{layer.name}' has dims {', '.join(big)} above the "
                f"largest the mapper supports ({MAX_DIM}); check the input shapes, or set "
                "them with --input-shape/--dim")
        sizes = {"MACs": layer.macs, "input words": layer.input_words,
                 "weight words": layer.weight_words, "output words": layer.output_words}
        _check_sizes(source, f"layer '{layer.name}'", sizes)
    for op in vectors:
        _check_sizes(source, f"{op.op_type} node '{op.name}'",
                     {"elements": op.elements, "ops": op.ops,
                      "bytes": op.bytes_in + op.bytes_out})
    return LayerTable.from_layers(layers, vectors)


def _check_sizes(source: str, what: str, sizes: Mapping[str, int]) -> None:
    for name, value in sizes.items():
        if value > MAX_LAYER_COUNT:
            raise WorkloadError(
                f"{source}: {what} has {value:.3g} {name}, more than codesign's exact "
                f"counts hold ({MAX_LAYER_COUNT:.3g}); check the input shapes, or set them "
                "with --input-shape/--dim")


def load_onnx(path: str | Path, input_shapes: Mapping[str, Sequence[int]] | None = None,
              dims: Mapping[str, int] | None = None, fusion: bool = True) -> LayerTable:
    """`read_onnx` then `layer_table`: an ONNX file straight to its unique layers."""
    return layer_table(read_onnx(path, input_shapes=input_shapes, dims=dims), fusion=fusion)
