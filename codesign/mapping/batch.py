"""Batched tensor forms of designs, workloads and mappings: what a `CostModel` consumes.

Shapes use one notation: ``B`` designs, ``L`` unique layers, ``D = 8`` dims (`DIMS` order),
``F = 5`` factor slots (`FACTOR_LEVELS`: DRAM, GLB, rows, cols, RF, outer to inner) and
``M = 3`` temporal levels (`TEMPORAL_LEVELS`: DRAM, GLB, RF).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import torch

from codesign.arch.accelerator import Accelerator
from codesign.mapping.mapping import FACTOR_LEVELS, TEMPORAL_LEVELS, Mapping
from codesign.workload.layer import DIM_INDEX, DIMS, LayerTable

__all__ = ["HardwareBatch", "MappingBatch", "WorkloadTensors"]


def _to(obj, device=None, dtype=None):
    """Move every tensor field of a dataclass (float fields get ``dtype``)."""
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
        vector_bytes: ``[V]`` int64 bytes each vector op reads plus writes.
    """

    dims: torch.Tensor
    stride: torch.Tensor
    dilation: torch.Tensor
    counts: torch.Tensor
    vector_ops: torch.Tensor
    vector_bytes: torch.Tensor

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
            vector_bytes=torch.tensor([v.bytes_in + v.bytes_out for v in table.vector_ops],
                                      dtype=torch.int64, device=device),
        )

    @property
    def n_layers(self) -> int:
        return self.dims.shape[0]

    def to(self, device=None) -> WorkloadTensors:
        return _to(self, device)


@dataclass(frozen=True)
class HardwareBatch:
    """B accelerator designs as tensors.

    Shape:
        pe_rows, pe_cols, rf_words, glb_words, word_bits: ``[B]`` int64.
        glb_bw, dram_bw (words per cycle), clock_mhz: ``[B]`` float.
        spatial_allowed: ``[B, 2, D]`` bool: dim ``d`` may be unrolled over rows (0) / cols (1).
        systolic: ``[B]`` bool.
    """

    pe_rows: torch.Tensor
    pe_cols: torch.Tensor
    rf_words: torch.Tensor
    glb_words: torch.Tensor
    glb_bw: torch.Tensor
    dram_bw: torch.Tensor
    word_bits: torch.Tensor
    clock_mhz: torch.Tensor
    spatial_allowed: torch.Tensor
    systolic: torch.Tensor

    @classmethod
    def from_accelerators(cls, accelerators: Sequence[Accelerator],
                          device: torch.device | str | None = None,
                          dtype: torch.dtype = torch.float64) -> HardwareBatch:
        def ints(key):
            return torch.tensor([getattr(a, key) for a in accelerators], dtype=torch.int64,
                                device=device)

        def floats(key):
            return torch.tensor([float(getattr(a, key)) for a in accelerators], dtype=dtype,
                                device=device)

        allowed = torch.zeros(len(accelerators), 2, len(DIMS), dtype=torch.bool, device=device)
        for b, acc in enumerate(accelerators):
            for axis, dims in enumerate((acc.dataflow.rows, acc.dataflow.cols)):
                for d in dims:
                    allowed[b, axis, DIM_INDEX[d]] = True
        return cls(
            pe_rows=ints("pe_rows"), pe_cols=ints("pe_cols"), rf_words=ints("rf_words"),
            glb_words=ints("glb_words"), glb_bw=floats("glb_bw"), dram_bw=floats("dram_bw"),
            word_bits=ints("word_bits"), clock_mhz=floats("clock_mhz"),
            spatial_allowed=allowed,
            systolic=torch.tensor([a.systolic for a in accelerators], dtype=torch.bool,
                                  device=device),
        )

    @property
    def n_designs(self) -> int:
        return self.pe_rows.shape[0]

    def to(self, device=None, dtype=None) -> HardwareBatch:
        return _to(self, device, dtype)

    def index_select(self, index: torch.Tensor) -> HardwareBatch:
        """Designs ``index`` (``[B']`` int64), in that order: a ``[B']`` batch."""
        return type(self)(**{f.name: getattr(self, f.name).index_select(0, index)
                             for f in fields(self)})

    def repeat_interleave(self, n: int) -> HardwareBatch:
        """Every design ``n`` times in a row: design ``b`` at rows ``b*n .. b*n + n-1``
        (``[B * n]``), the layout candidate populations use."""
        return type(self)(**{f.name: getattr(self, f.name).repeat_interleave(n, dim=0)
                             for f in fields(self)})


@dataclass(frozen=True)
class MappingBatch:
    """One mapping per (design, layer).

    Shape:
        factors: ``[B, L, F, D]`` int64 (or float under a continuous relaxation); slot order
            `FACTOR_LEVELS` = DRAM, GLB, rows, cols, RF.
        order: ``[B, L, M, D]`` int64: ``order[b, l, m, j]`` is the dim index of the ``j``-th
            loop (outer -> inner) at temporal level ``m`` (`TEMPORAL_LEVELS` = DRAM, GLB, RF);
            each row is a permutation of ``range(D)``.
    """

    factors: torch.Tensor
    order: torch.Tensor

    @classmethod
    def from_mappings(cls, mappings: Sequence[Sequence[Mapping]],
                      device: torch.device | str | None = None) -> MappingBatch:
        """From ``mappings[b][l]``."""
        factors = [[[[m.factor(level, d) for d in DIMS] for level in FACTOR_LEVELS]
                    for m in row] for row in mappings]
        order = [[[[DIM_INDEX[d] for d in m.full_order(level)] for level in TEMPORAL_LEVELS]
                  for m in row] for row in mappings]
        n_b, n_l = len(mappings), len(mappings[0]) if mappings else 0
        return cls(
            factors=torch.tensor(factors, dtype=torch.int64, device=device).reshape(
                n_b, n_l, len(FACTOR_LEVELS), len(DIMS)),
            order=torch.tensor(order, dtype=torch.int64, device=device).reshape(
                n_b, n_l, len(TEMPORAL_LEVELS), len(DIMS)),
        )

    def mapping(self, b: int, l: int) -> Mapping:
        """The `Mapping` of design ``b``, layer ``l`` (factors rounded if relaxed)."""
        factors = self.factors[b, l].round().to(torch.int64).tolist()
        order = self.order[b, l].tolist()
        spatial, temporal, orders = {}, {}, {}
        for slot, level in enumerate(FACTOR_LEVELS):
            named = {DIMS[d]: int(f) for d, f in enumerate(factors[slot]) if f > 1}
            (spatial if level in ("rows", "cols") else temporal)[level] = named
        for m, level in enumerate(TEMPORAL_LEVELS):
            slot = FACTOR_LEVELS.index(level)
            orders[level] = tuple(DIMS[d] for d in order[m] if factors[slot][d] > 1)
        return Mapping(spatial, temporal, orders)

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.factors.shape[:2])

    def to(self, device=None) -> MappingBatch:
        return _to(self, device)
