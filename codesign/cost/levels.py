"""Per-action energies and areas of a `Hierarchy`'s levels from a `Technology` table.

A level given without energies (all of read, fill and update 0) gets them from the same
power laws the v1 model uses (`codesign.cost.energy`): an unbounded level is DRAM
(``dram_pj_64b`` per 64 bits), a level of at most ``rf_max_bytes`` per instance a register
file, anything larger an SRAM; a vector access of ``block_words`` words costs the block's
words. Areas likewise: SRAM bits x cell area / array efficiency, register-file bits x
``rf_um2_per_bit``; the compute unit a MAC of the widest word plus the per-PE overhead.
What the hierarchy gives explicitly (an ERT, a YAML) is kept.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from codesign.arch.technology import Technology
from codesign.cost.area import mac_area_um2, sram_area_mm2
from codesign.cost.energy import dram_access_pj, glb_access_pj, mac_pj, rf_access_pj
from codesign.hierarchy.levels import Hierarchy, StorageLevel

__all__ = ["RF_MAX_BYTES", "with_technology"]

#: Largest level (bytes per instance) costed as a register file rather than an SRAM.
RF_MAX_BYTES = 2048


def _level_energy(level: StorageLevel, tech: Technology) -> float:
    bits = torch.tensor(float(max(level.word_bits.values())), dtype=torch.float64)
    if not level.bounded:
        per_word = dram_access_pj(bits, tech, torch.float64)
    else:
        words = level.capacity_words if level.capacity_words is not None \
            else sum(level.partition_words.values())
        size = torch.tensor(float(words), dtype=torch.float64)
        fn = rf_access_pj if words * float(bits) / 8 <= RF_MAX_BYTES else glb_access_pj
        per_word = fn(size, bits, tech, torch.float64)
    return float(per_word) * level.block_words


def _level_area_um2(level: StorageLevel, tech: Technology) -> float:
    if not level.bounded:
        return 0.0
    words = level.capacity_words if level.capacity_words is not None \
        else sum(level.partition_words.values())
    bits = words * max(level.word_bits.values())
    if bits / 8 <= RF_MAX_BYTES:
        return bits * tech.rf_um2_per_bit
    return float(sram_area_mm2(torch.tensor(float(bits), dtype=torch.float64), tech)) * 1e6


def with_technology(hierarchy: Hierarchy, tech: Technology | None = None,
                    mac_bits: int | None = None) -> Hierarchy:
    """``hierarchy`` with the energies and areas it leaves at 0 taken from ``tech``
    (default `Technology.default`); ``mac_bits`` sizes the MAC (default: the innermost
    level's widest word)."""
    tech = tech or Technology.default()
    nodes = []
    for node in hierarchy.nodes:
        if isinstance(node, StorageLevel):
            changes = {}
            if node.read_pj == node.fill_pj == node.update_pj == 0.0:
                pj = _level_energy(node, tech)
                changes.update(read_pj=pj, fill_pj=pj, update_pj=pj)
            if node.area_um2 == 0.0:
                changes["area_um2"] = _level_area_um2(node, tech)
            node = replace(node, **changes) if changes else node
        nodes.append(node)
    bits = mac_bits or max(hierarchy.levels[-1].word_bits.values())
    compute = hierarchy.compute
    b = torch.tensor(float(bits), dtype=torch.float64)
    if compute.mac_pj == 0.0:
        compute = replace(compute, mac_pj=float(mac_pj(b, tech, torch.float64)))
    if compute.area_um2 == 0.0:
        compute = replace(compute, area_um2=float(mac_area_um2(b, tech, torch.float64))
                          + tech.pe_overhead_um2)
    return replace(hierarchy, nodes=tuple(nodes), compute=compute)
