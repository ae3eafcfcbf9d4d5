"""`WorkloadTensors`: the unique layers of a `LayerTable` as tensors for batched cost models.

Shapes: ``L`` unique layers, ``D = 8`` dims (`DIMS` order), ``V`` vector ops.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from typing import Any

import torch

from codesign.workload.layer import DIMS, LayerTable

__all__ = ["WorkloadTensors", "ceil_div", "move_tensors", "take_designs"]


def ceil_div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``ceil(a / b)`` of positive integer tensors, exactly (no float round trip): the
    iterations a loop of ``a`` needs in steps of ``b``.

    Shape: ``a``, ``b`` broadcastable int64; returns the broadcast shape.

    >>> ceil_div(torch.tensor([7, 8, 1]), torch.tensor([2, 2, 4])).tolist()
    [4, 4, 1]
    """
    return torch.div(a + b - 1, b, rounding_mode="floor")


def move_tensors(obj, device=None, dtype=None):
    """A copy of a frozen dataclass with every tensor field moved (floats cast to ``dtype``)."""
    changes = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, torch.Tensor):
            cast = dtype if (dtype is not None and value.is_floating_point()) else None
            changes[f.name] = value.to(device=device, dtype=cast)
    return type(obj)(**{**{f.name: getattr(obj, f.name) for f in fields(obj)}, **changes})


@dataclass(frozen=True)
class WorkloadTensors:
    """The unique layers of a `LayerTable` as tensors.

    Shape:
        dims: ``[L, D]`` int64 loop bounds.
        stride, dilation: ``[L, 2]`` int64 (rows, cols).
        counts: ``[L]`` int64 occurrences of each unique layer.
        vector_ops: ``[V]`` int64 arithmetic operations of each vector (non-MAC) op.
        vector_words: ``[V]`` int64 words each vector op moves from and to DRAM
        (`VectorOp.words`: one per element, after fusion).
    """

    dims: torch.Tensor
    stride: torch.Tensor
    dilation: torch.Tensor
    counts: torch.Tensor
    vector_ops: torch.Tensor
    vector_words: torch.Tensor

    @classmethod
    def from_table(cls, table: LayerTable, device: torch.device | str | None = None
                   ) -> WorkloadTensors:
        layers = table.layers
        return cls(
            dims=torch.tensor([layer.dims for layer in layers], dtype=torch.int64, device=device
                              ).reshape(len(layers), len(DIMS)),
            stride=torch.tensor([layer.stride for layer in layers], dtype=torch.int64,
                                device=device).reshape(len(layers), 2),
            dilation=torch.tensor([layer.dilation for layer in layers], dtype=torch.int64,
                                  device=device).reshape(len(layers), 2),
            counts=torch.tensor(table.counts, dtype=torch.int64, device=device),
            vector_ops=torch.tensor([v.ops for v in table.vector_ops], dtype=torch.int64,
                                    device=device),
            vector_words=torch.tensor([v.words for v in table.vector_ops],
                                      dtype=torch.int64, device=device),
        )

    @property
    def n_layers(self) -> int:
        return self.dims.shape[0]

    def to(self, device=None) -> WorkloadTensors:
        return move_tensors(self, device)


def take_designs(batch: Any, index: torch.Tensor | slice) -> Any:
    """Designs ``index`` of a `HardwareBatch`, `MappingBatch` or `CostResult` (every field
    has a leading ``B`` axis; a `CostResult`'s ``extra_objectives`` too). Any frozen
    dataclass of such fields works, so one helper serves every batched form.

    >>> from codesign.mapping.batch import MappingBatch
    >>> m = MappingBatch(torch.ones(4, 1, 5, 8), torch.zeros(4, 1, 3, 8, dtype=torch.int64))
    >>> take_designs(m, torch.tensor([0, 2])).factors.shape[0]
    2
    """
    values = {}
    for f in fields(batch):
        value = getattr(batch, f.name)
        if isinstance(value, dict):
            values[f.name] = {k: v[index] for k, v in value.items()}
        elif isinstance(value, torch.Tensor):
            values[f.name] = value[index]
        elif is_dataclass(value):     # a nested breakdown with its own leading B axes
            values[f.name] = take_designs(value, index)
        else:                         # None, names: not per design
            values[f.name] = value
    return type(batch)(**values)
