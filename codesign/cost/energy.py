"""Energy of a batch: memory accesses per level, MACs, and leakage over time.

Energy per access grows with capacity as a power law fitted through published points
(`Technology`), and linearly with access width (``word_bits``), so energies are smooth in
every size. Pure torch: device and dtype follow the inputs; nothing here leaves the device.
Shapes: ``B`` designs, ``L`` unique layers; levels ``RF GLB DRAM`` (3), tensors ``W I O``
(3), ``reads writes`` (2).
"""

from __future__ import annotations

import torch

from codesign.arch.technology import Technology
from codesign.cost.area import area_mm2
from codesign.mapping.batch import HardwareBatch

__all__ = [
    "access_energy_pj",
    "dram_access_pj",
    "energy_per_access_pj",
    "glb_access_pj",
    "leakage_energy_pj",
    "leakage_power_mw",
    "mac_energy_pj",
    "mac_pj",
    "rf_access_pj",
]


def _float(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return x if x.is_floating_point() else x.to(dtype)


def mac_pj(word_bits: torch.Tensor, tech: Technology, dtype: torch.dtype | None = None
           ) -> torch.Tensor:
    """Energy of one ``word_bits`` MAC: ``mult_8b (b/8)^e_m + add_8b (b/8)^e_a`` [H14].

    Shape:
        word_bits: any shape; returns the same shape, pJ.
    """
    scale = _float(word_bits, dtype or torch.get_default_dtype()) / 8.0
    return (tech.mult_pj_8b * scale ** tech.mult_energy_exponent
            + tech.add_pj_8b * scale ** tech.add_energy_exponent)


def rf_access_pj(rf_words: torch.Tensor, word_bits: torch.Tensor, tech: Technology,
                 dtype: torch.dtype | None = None) -> torch.Tensor:
    """Energy of one word access to an RF of ``rf_words`` words.

    ``rf_ref_pj x (bytes / rf_ref_bytes)^sram_energy_exponent x bits / rf_ref_access_bits``.

    Shape:
        rf_words, word_bits: ``[B]``; returns ``[B]`` pJ.
    """
    dtype = dtype or torch.get_default_dtype()
    bits = _float(word_bits, dtype)
    size_bytes = _float(rf_words, dtype) * bits / 8.0
    return (tech.rf_ref_pj * (size_bytes / tech.rf_ref_bytes) ** tech.sram_energy_exponent
            * bits / tech.rf_ref_access_bits)


def glb_access_pj(glb_words: torch.Tensor, word_bits: torch.Tensor, tech: Technology,
                  dtype: torch.dtype | None = None) -> torch.Tensor:
    """Energy of one word access to an SRAM GLB of ``glb_words`` words.

    ``sram_ref_pj x (bytes / sram_ref_bytes)^sram_energy_exponent x bits / 64``.

    Shape:
        glb_words, word_bits: ``[B]``; returns ``[B]`` pJ.
    """
    dtype = dtype or torch.get_default_dtype()
    bits = _float(word_bits, dtype)
    size_bytes = _float(glb_words, dtype) * bits / 8.0
    return (tech.sram_ref_pj * (size_bytes / tech.sram_ref_bytes) ** tech.sram_energy_exponent
            * bits / tech.sram_ref_access_bits)


def dram_access_pj(word_bits: torch.Tensor, tech: Technology,
                   dtype: torch.dtype | None = None) -> torch.Tensor:
    """Energy of one word of DRAM traffic: ``dram_pj_64b x bits / 64``.

    Shape:
        word_bits: ``[B]``; returns ``[B]`` pJ.
    """
    return tech.dram_pj_64b * _float(word_bits, dtype or torch.get_default_dtype()) / 64.0


def energy_per_access_pj(hardware: HardwareBatch, tech: Technology) -> torch.Tensor:
    """Energy of one word access at each level (RF, GLB, DRAM) of each design.

    Shape:
        returns ``[B, 3]`` pJ, dtype of ``hardware``'s float fields.
    """
    dtype = hardware.glb_bw.dtype
    return torch.stack([
        rf_access_pj(hardware.rf_words, hardware.word_bits, tech, dtype),
        glb_access_pj(hardware.glb_words, hardware.word_bits, tech, dtype),
        dram_access_pj(hardware.word_bits, tech, dtype),
    ], dim=-1)


def access_energy_pj(accesses: torch.Tensor, hardware: HardwareBatch, tech: Technology
                     ) -> torch.Tensor:
    """Memory energy per level: accesses summed over tensors and reads/writes x pJ per access.

    Shape:
        accesses: ``[B, L, 3, 3, 2]`` (level RF/GLB/DRAM, tensor W/I/O, reads/writes), int64
            or float.
        returns ``[B, L, 3]`` pJ (RF, GLB, DRAM).
    """
    dtype = accesses.dtype if accesses.is_floating_point() else hardware.glb_bw.dtype
    per_level = accesses.to(dtype).sum(dim=(-2, -1))  # [B, L, 3]
    return per_level * energy_per_access_pj(hardware, tech).to(dtype).unsqueeze(1)  # [B, L, 3]


def mac_energy_pj(useful_macs: torch.Tensor, hardware: HardwareBatch, tech: Technology
                  ) -> torch.Tensor:
    """Energy of the useful MACs (padded iterations are not counted).

    Shape:
        useful_macs: ``[L]`` or ``[B, L]``; returns ``[B, L]`` pJ.
    """
    dtype = useful_macs.dtype if useful_macs.is_floating_point() else hardware.glb_bw.dtype
    per_mac = mac_pj(hardware.word_bits, tech, dtype)  # [B]
    return useful_macs.to(dtype) * per_mac.unsqueeze(-1)  # [B, L]


def leakage_power_mw(hardware: HardwareBatch, tech: Technology) -> torch.Tensor:
    """Leakage power: ``leakage_mw_per_mm2 x area``.

    Shape:
        returns ``[B]`` mW.
    """
    return tech.leakage_mw_per_mm2 * area_mm2(hardware, tech)


def leakage_energy_pj(cycles: torch.Tensor, hardware: HardwareBatch, tech: Technology
                      ) -> torch.Tensor:
    """Leakage energy over ``cycles`` at ``clock_mhz``: power x time.

    ``mW x cycles / MHz`` is ``1e-3 W x 1e-6 s = 1e-9 J = 1e3 pJ``.

    Shape:
        cycles: ``[B, L]`` (or ``[B]``); returns the same shape, pJ.
    """
    dtype = cycles.dtype if cycles.is_floating_point() else hardware.glb_bw.dtype
    power = leakage_power_mw(hardware, tech).to(dtype)  # [B]
    seconds_us = cycles.to(dtype) / _float(hardware.clock_mhz, dtype).reshape(
        (-1,) + (1,) * (cycles.dim() - 1))  # [B, L] microseconds
    return power.reshape((-1,) + (1,) * (cycles.dim() - 1)) * seconds_us * 1e3
