"""DESIGN.md's v1 template as one `Hierarchy`, and its access table from the hierarchy counts.

The v1 accelerator is ``DRAM -> GLB -> array (rows x cols) -> RF -> MAC``: four nodes, slots
``DRAM, GLB, array.X, array.Y, RF`` in exactly the order of v1's ``FACTOR_LEVELS`` (DRAM,
GLB, rows, cols, RF; rows are X, cols are Y), levels in the order of ``TEMPORAL_LEVELS``.
So a v1 `MappingBatch` is a `NestBatch` as it is (`nests_from_v1`).

Counted with the `V1` rules (no halo, union windows, useful operands), the hierarchy's
reads, fills and updates give v1's access table (`v1_accesses`), tested against the v1
model on random mappings:

- v1 *reads* of a level add the reads that drain partial sums up to the parent (Timeloop
  counts those as the parent's updates only), and the RF's first read of every psum;
- v1 *writes* are fills + updates, with the RF's psum fills counted as the GLB sends them
  (once per reduction group, where Timeloop fills every PE).
"""

from __future__ import annotations

import torch

from codesign.arch.accelerator import Accelerator
from codesign.hierarchy.counts import NestCounts
from codesign.hierarchy.levels import FanOut, Hierarchy, StorageLevel
from codesign.hierarchy.nest import NestBatch
from codesign.workload.layer import TENSORS

__all__ = ["V1_LEVELS", "nests_from_v1", "v1_accesses", "v1_hierarchy"]

#: The v1 hierarchy's storage levels, outer to inner.
V1_LEVELS: tuple[str, ...] = ("DRAM", "GLB", "RF")
_DRAM, _GLB, _RF = range(3)
_O = TENSORS.index("O")


def v1_hierarchy(accelerator: Accelerator) -> Hierarchy:
    """The v1 template of ``accelerator`` as data (sizes, bandwidths, dataflow; energies
    stay with the v1 technology tables)."""
    a = accelerator
    return Hierarchy(a.name or "v1", (
        StorageLevel("DRAM", word_bits=a.word_bits, shared_bw=a.dram_bw),
        StorageLevel("GLB", capacity_words=a.glb_words, word_bits=a.word_bits,
                     shared_bw=a.glb_bw),
        FanOut("array", x=a.pe_rows, y=a.pe_cols, x_dims=a.dataflow.rows,
               y_dims=a.dataflow.cols),
        StorageLevel("RF", capacity_words=a.rf_words, word_bits=a.word_bits),
    ), clock_mhz=a.clock_mhz)


def nests_from_v1(factors: torch.Tensor, order: torch.Tensor) -> NestBatch:
    """A v1 `MappingBatch`'s ``factors [B, L, 5, D]`` and ``order [B, L, 3, D]`` as the
    v1 hierarchy's `NestBatch` (same layout; every level keeps every tensor)."""
    keep = torch.ones((*factors.shape[:2], 3, len(TENSORS)), dtype=torch.bool,
                      device=factors.device)
    return NestBatch(factors, order, keep)


def v1_accesses(c: NestCounts) -> torch.Tensor:
    """v1's ``[B, L, 3, 3, 2]`` access table (level RF/GLB/DRAM, tensor W/I/O,
    reads/writes) from the v1 hierarchy's counts under the `V1` rules."""
    r, f, u = c.reads, c.fills, c.updates                                 # [B, L, M, T]
    rows = []
    for level in (_RF, _GLB, _DRAM):
        reads, writes = r[..., level, :].clone(), (f + u)[..., level, :].clone()
        if level == _RF:
            drains = f[..., _RF, _O] + u[..., _RF, _O] - r[..., _RF, _O]
            reads[..., _O] = u[..., _RF, _O] + drains
            writes[..., _O] = u[..., _RF, _O] + r[..., _GLB, _O]
        elif level == _GLB:
            reads[..., _O] = r[..., _GLB, _O] + u[..., _DRAM, _O]
            writes[..., _O] = u[..., _GLB, _O] + r[..., _DRAM, _O]
        rows.append(torch.stack([reads, writes], -1))                    # [B, L, T, 2]
    return torch.stack(rows, -3)
