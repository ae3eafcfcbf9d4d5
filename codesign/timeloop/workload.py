"""Timeloop problem files as a workload, and `load_workload`: ONNX or Timeloop, by path.

A folder of Timeloop v0.4 problem files (one layer each, as the reference's
``layer_shapes/resnet18/``), or one problem file, is a workload wherever an ONNX model is
(``codesign explore | map | inspect``). Every ``*.yaml`` / ``*.yml`` in the folder must be
a problem; files are read in name order and each layer is named by its file's stem.
Identical shapes are grouped with counts, as the ONNX path groups them
(`codesign.workload.table.layer_table`). A problem has no precision, so the byte sizes that
``inspect`` prints take `WORD_BYTES` per word.

`load_workload` sits here rather than in `codesign.workload` because this is the first
stage that sees both readers (imports point downstream only).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import networkx as nx

from codesign.errors import ConfigError
from codesign.timeloop.files import load_yaml
from codesign.timeloop.problem import parse_problem
from codesign.workload.layer import LayerTable
from codesign.workload.table import layer_table

__all__ = ["PROBLEM_SUFFIXES", "WORD_BYTES", "is_timeloop_workload", "load_timeloop_problems",
           "load_workload", "read_timeloop_problems", "read_workload"]

#: File name endings of Timeloop problem files.
PROBLEM_SUFFIXES: tuple[str, ...] = (".yaml", ".yml")
#: Bytes per word for the sizes ``inspect`` reports (16-bit words, codesign's default).
WORD_BYTES = 2


def is_timeloop_workload(path: str | os.PathLike) -> bool:
    """A folder, or a file ending in ``.yaml`` / ``.yml``: read as Timeloop problems."""
    p = Path(path)
    return p.is_dir() or p.suffix.lower() in PROBLEM_SUFFIXES


def _problem_files(path: Path) -> list[Path]:
    if not path.is_dir():
        return [path]
    files = sorted(p for p in path.iterdir()
                   if p.suffix.lower() in PROBLEM_SUFFIXES and not p.name.startswith("."))
    if not files:
        raise ConfigError(f"{path}: no Timeloop problem files (*.yaml) in the folder; give "
                          "an ONNX model, a problem file or a folder of them")
    return files


def read_timeloop_problems(path: str | os.PathLike) -> nx.DiGraph:
    """The layers of a problem file or folder as an op graph of the form `read_onnx`
    returns (one ``layer`` node per file, no vector ops, no edges)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such file or folder; give an ONNX model, a Timeloop "
                          "problem file or a folder of them")
    graph = nx.DiGraph(source=str(path), inputs={}, unknown_ops=[],
                       unresolved_vector_ops=[])
    for file in _problem_files(path):
        data = load_yaml(file)
        body = data.get("problem", data) if isinstance(data, dict) else data
        if not isinstance(body, dict) or not {"shape", "instance"} <= set(body):
            keys = sorted(map(str, data)) if isinstance(data, dict) else type(data).__name__
            raise ConfigError(f"{file}: not a Timeloop problem (a 'problem' with 'shape' and "
                              f"'instance'; the file has {keys}); a workload folder holds "
                              "one problem file per layer")
        layer = replace(parse_problem(data, file).layer, name=file.stem)
        graph.add_node(file.stem, op_type=layer.op_type, layer=layer, vector=None,
                       known=True, constant=False, view=False,
                       weight_tensors={f"{file.stem}.weights": layer.weight_words * WORD_BYTES},
                       weight_bytes=layer.weight_words * WORD_BYTES,
                       input_bytes=layer.input_words * WORD_BYTES,
                       output_bytes=layer.output_words * WORD_BYTES)
    return graph


def load_timeloop_problems(path: str | os.PathLike) -> LayerTable:
    """A problem file or folder as a `LayerTable` (identical shapes grouped)."""
    return layer_table(read_timeloop_problems(path))


def _no_onnx_options(path, input_shapes, dims) -> None:
    if input_shapes or dims:
        raise ConfigError(f"{path}: --input-shape/--dim set an ONNX model's inputs; Timeloop "
                          "problems have fixed shapes")


def read_workload(path: str | os.PathLike,
                  input_shapes: Mapping[str, Sequence[int]] | None = None,
                  dims: Mapping[str, int] | None = None) -> nx.DiGraph:
    """The op graph of an ONNX model (`read_onnx`) or of Timeloop problems
    (`read_timeloop_problems`: a folder or a ``.yaml`` file)."""
    if is_timeloop_workload(path):
        _no_onnx_options(path, input_shapes, dims)
        return read_timeloop_problems(path)
    from codesign.workload.onnx_graph import read_onnx

    return read_onnx(path, input_shapes=input_shapes, dims=dims)


def load_workload(path: str | os.PathLike,
                  input_shapes: Mapping[str, Sequence[int]] | None = None,
                  dims: Mapping[str, int] | None = None, fusion: bool = True) -> LayerTable:
    """`load_onnx` for an ONNX model, `load_timeloop_problems` for a folder of Timeloop
    problem files or one ``.yaml`` problem; the same `LayerTable` either way."""
    if is_timeloop_workload(path):
        _no_onnx_options(path, input_shapes, dims)
        return load_timeloop_problems(path)
    from codesign.workload.table import load_onnx

    return load_onnx(path, input_shapes=input_shapes, dims=dims, fusion=fusion)
