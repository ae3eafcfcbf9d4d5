"""Cycles of DESIGN.md v1: compute, GLB- and DRAM-bandwidth bounds, and the max of them.

Double buffering overlaps transfers with compute, so a layer takes as long as its slowest
resource; keeping the three bounds tells which one limits it (their names:
`codesign.names.BOTTLENECKS`, in the order of `latency_cycles`'s arguments).
"""

from __future__ import annotations

import torch

from codesign.mapping.batch import HardwareBatch
from codesign.mapping.encoding import TEMPORAL_SLOTS

__all__ = ["bandwidth_cycles", "compute_cycles", "latency_cycles", "utilization"]


def compute_cycles(factors: torch.Tensor, hardware: HardwareBatch) -> torch.Tensor:
    """Cycles the PE array needs: the product of every temporal factor (all dims, DRAM, GLB
    and RF levels); padded iterations cost cycles too.

    v1: no fill and drain, whatever ``hardware.systolic`` says;
    `codesign.cost.systolic.systolic_compute_cycles` adds them where it is set (the
    analytical model calls that one).

    Shape:
        factors: ``[B, L, F, D]``; returns ``[B, L]`` in ``hardware``'s float dtype.
    """
    f = factors.movedim((-2, -1), (0, 1))                                 # [F, D, B, L]
    cycles = f[TEMPORAL_SLOTS[0]].prod(0)
    for slot in TEMPORAL_SLOTS[1:]:
        cycles = cycles * f[slot].prod(0)                                 # [B, L]
    return cycles.to(hardware.glb_bw.dtype)


def bandwidth_cycles(accesses: torch.Tensor, hardware: HardwareBatch
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Cycles to move the GLB and the DRAM traffic at their bandwidths (words per cycle).

    Shape:
        accesses: ``[B, L, 3, 3, 2]``; returns two ``[B, L]`` (GLB, DRAM).
    """
    dtype = hardware.glb_bw.dtype
    glb_words = accesses[..., 1, :, :].flatten(-2).sum(-1).to(dtype)     # [B, L]
    dram_words = accesses[..., 2, :, :].flatten(-2).sum(-1).to(dtype)    # [B, L]
    return glb_words / hardware.glb_bw.unsqueeze(-1), dram_words / hardware.dram_bw.unsqueeze(-1)


def latency_cycles(compute: torch.Tensor, glb: torch.Tensor, dram: torch.Tensor
                   ) -> torch.Tensor:
    """``max(compute, glb, dram)``, all ``[B, L]``."""
    return torch.maximum(torch.maximum(compute, glb), dram)


def utilization(useful_macs: torch.Tensor, compute: torch.Tensor, hardware: HardwareBatch
                ) -> torch.Tensor:
    """Useful MACs per PE-cycle of the physical array: ``macs / (compute * rows * cols)``.

    Shape:
        useful_macs: ``[L]``; compute: ``[B, L]``; returns ``[B, L]``.
    """
    pes = (hardware.pe_rows * hardware.pe_cols).to(compute.dtype).unsqueeze(-1)  # [B, 1]
    return useful_macs.to(compute.dtype) / (compute * pes)
