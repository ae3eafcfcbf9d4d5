"""Chip area of a batch of designs: PEs (MAC + RF + overhead) + GLB SRAM + fixed overheads.

Figures come from `Technology` (cited there and in ``docs/TECHNOLOGY.md``). Pure torch:
device and dtype follow ``hardware`` (its float fields), differentiable in any size given as a
float tensor.
"""

from __future__ import annotations

import torch

from codesign.arch.technology import Technology
from codesign.mapping.batch import HardwareBatch

__all__ = ["AREA_PARTS", "area_breakdown_mm2", "area_mm2", "mac_area_um2", "pe_area_um2",
           "sram_area_mm2"]

#: Parts of the last axis of `area_breakdown_mm2`.
AREA_PARTS: tuple[str, ...] = ("PE", "GLB", "fixed")

_UM2_PER_MM2 = 1e6


def _float(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return x if x.is_floating_point() else x.to(dtype)


def mac_area_um2(word_bits: torch.Tensor, tech: Technology, dtype: torch.dtype | None = None
                 ) -> torch.Tensor:
    """Area of one ``word_bits`` integer multiplier plus adder (power laws through [H14]).

    Shape:
        word_bits: ``[B]``; returns ``[B]`` um^2.
    """
    scale = _float(word_bits, dtype or torch.get_default_dtype()) / 8.0
    return (tech.mult_um2_8b * scale ** tech.mult_area_exponent
            + tech.add_um2_8b * scale ** tech.add_area_exponent)


def sram_area_mm2(bits: torch.Tensor, tech: Technology) -> torch.Tensor:
    """SRAM macro area: bits x cell area / array efficiency (linear in capacity).

    Shape:
        bits: any shape, float; returns the same shape in mm^2.
    """
    return bits * (tech.sram_cell_um2 / tech.sram_array_efficiency) / _UM2_PER_MM2


def pe_area_um2(hardware: HardwareBatch, tech: Technology) -> torch.Tensor:
    """One PE: MAC + RF (``rf_words x word_bits`` bits) + per-PE overhead.

    Shape:
        returns ``[B]`` um^2.
    """
    dtype = hardware.glb_bw.dtype
    bits = _float(hardware.word_bits, dtype)
    rf_bits = _float(hardware.rf_words, dtype) * bits
    return mac_area_um2(bits, tech) + rf_bits * tech.rf_um2_per_bit + tech.pe_overhead_um2


def area_breakdown_mm2(hardware: HardwareBatch, tech: Technology) -> torch.Tensor:
    """Area per part (`AREA_PARTS`: PE array, GLB, fixed).

    Shape:
        returns ``[B, 3]`` mm^2.
    """
    dtype = hardware.glb_bw.dtype
    n_pes = _float(hardware.pe_rows, dtype) * _float(hardware.pe_cols, dtype)  # [B]
    pes = n_pes * pe_area_um2(hardware, tech) / _UM2_PER_MM2
    glb_bits = _float(hardware.glb_words, dtype) * _float(hardware.word_bits, dtype)
    glb = sram_area_mm2(glb_bits, tech)
    fixed = torch.full_like(pes, tech.fixed_area_mm2)
    return torch.stack([pes, glb, fixed], dim=-1)


def area_mm2(hardware: HardwareBatch, tech: Technology) -> torch.Tensor:
    """Chip area: PEs x PE area + GLB SRAM area + fixed overhead.

    Shape:
        returns ``[B]`` mm^2.

    >>> from codesign.arch.accelerator import Accelerator
    >>> hw = HardwareBatch.from_accelerators([Accelerator(pe_rows=1, pe_cols=1, rf_words=1,
    ...     glb_words=1, word_bits=8)])
    >>> tech = Technology(fixed_area_mm2=0.0, pe_overhead_um2=0.0)
    >>> # 282 (mult) + 36 (add) + 8 bits x 2.0 (RF) + 8 bits x 0.692 (SRAM) um^2
    >>> round(float(area_mm2(hw, tech)[0]) * 1e6, 3)
    339.536
    """
    return area_breakdown_mm2(hardware, tech).sum(dim=-1)
