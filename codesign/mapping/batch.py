"""Batched tensor forms of designs, workloads and mappings: what a `CostModel` consumes.

Shapes use one notation: ``B`` designs, ``L`` unique layers, ``D = 8`` dims (`DIMS` order),
``F = 5`` factor slots (`FACTOR_LEVELS`: DRAM, GLB, rows, cols, RF, outer to inner) and
``M = 3`` temporal levels (`TEMPORAL_LEVELS`: DRAM, GLB, RF).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

# HardwareBatch and WorkloadTensors live upstream (arch/, workload/); re-exported here so
# that one import gives all three inputs of a cost model.
from codesign.arch.batch import HardwareBatch
from codesign.mapping.mapping import FACTOR_LEVELS, TEMPORAL_LEVELS, Mapping
from codesign.workload.layer import DIM_INDEX, DIMS
from codesign.workload.tensors import WorkloadTensors, move_tensors

__all__ = ["HardwareBatch", "MappingBatch", "WorkloadTensors"]


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
        factors = [[m.factor_table() for m in row] for row in mappings]
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
        return _mapping(self.factors[b, l].round().to(torch.int64).tolist(),
                        self.order[b, l].tolist())

    def to_mappings(self) -> list[list[Mapping]]:
        """Every mapping, ``[b][l]``, with one device-to-host copy (for per-design Python
        code; `mapping` copies per pair)."""
        factors = self.factors.round().to(torch.int64).tolist()
        order = self.order.tolist()
        return [[_mapping(f, o) for f, o in zip(fb, ob, strict=True)]
                for fb, ob in zip(factors, order, strict=True)]

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.factors.shape[:2])

    def to(self, device=None) -> MappingBatch:
        return move_tensors(self, device)


def _mapping(factors: list[list[int]], order: list[list[int]]) -> Mapping:
    """A `Mapping` from one pair's ``[F][D]`` factors and ``[M][D]`` order as lists."""
    spatial, temporal, orders = {}, {}, {}
    for slot, level in enumerate(FACTOR_LEVELS):
        named = {DIMS[d]: int(f) for d, f in enumerate(factors[slot]) if f > 1}
        (spatial if level in ("rows", "cols") else temporal)[level] = named
    for m, level in enumerate(TEMPORAL_LEVELS):
        slot = FACTOR_LEVELS.index(level)
        orders[level] = tuple(DIMS[d] for d in order[m] if factors[slot][d] > 1)
    return Mapping(spatial, temporal, orders)
