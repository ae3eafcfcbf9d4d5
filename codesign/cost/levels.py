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

from collections.abc import Sequence
from dataclasses import replace

import torch

from codesign.arch.technology import Technology
from codesign.cost.area import mac_area_um2, sram_area_mm2
from codesign.cost.energy import dram_access_pj, glb_access_pj, mac_pj, rf_access_pj
from codesign.hierarchy.batch import HierarchyBatch
from codesign.hierarchy.levels import Hierarchy, StorageLevel

__all__ = ["RF_MAX_BYTES", "technology_batch", "with_technology"]

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


def technology_batch(batch: HierarchyBatch, tech: Technology | None = None,
                     energy_from_table: Sequence[bool] | None = None,
                     area_from_table: Sequence[bool] | None = None,
                     mac_from_table: bool = True) -> HierarchyBatch:
    """``batch`` with per-action energies and areas from ``tech`` as functions of each
    design's capacity and word width (`with_technology`'s rules, batched: the same numbers
    for every design). ``energy_from_table`` / ``area_from_table`` ``[M]``: the levels whose
    values come from the table (default: those the structure leaves at 0); the others keep
    the batch's. ``mac_from_table``: the MAC's energy and area too (sized by the innermost
    level's widest word).

    Shape: every tensor of ``batch`` ``[B, ...]``; no host sync.
    """
    tech = tech or Technology.default()
    h = batch.structure
    if energy_from_table is None:
        energy_from_table = [lv.read_pj == lv.fill_pj == lv.update_pj == 0.0 for lv in h.levels]
    if area_from_table is None:
        area_from_table = [lv.area_um2 == 0.0 for lv in h.levels]
    f64 = torch.float64
    bits = batch.word_bits.amax(-1).to(f64)                               # [B, M]
    partitioned = torch.isfinite(batch.partition_words).all(-1)           # [B, M]
    words = torch.where(partitioned, batch.partition_words.nan_to_num(posinf=0.0).sum(-1),
                        batch.capacity_words)                             # [B, M]
    actions = ("read_pj", "fill_pj", "update_pj")
    energy = {k: [] for k in actions}
    area = []
    for m, level in enumerate(h.levels):   # which source is structure: chosen on the host
        b, w = bits[:, m], words[:, m]
        if not level.bounded:
            pj = dram_access_pj(b, tech, f64)
            um2 = torch.zeros_like(b)
        else:
            small = w * b / 8 <= RF_MAX_BYTES
            pj = torch.where(small, rf_access_pj(w, b, tech, f64), glb_access_pj(w, b, tech, f64))
            um2 = torch.where(small, w * b * tech.rf_um2_per_bit,
                              sram_area_mm2(w * b, tech) * 1e6)
        for k in actions:
            energy[k].append(pj * level.block_words if energy_from_table[m]
                             else getattr(batch, k)[:, m].expand_as(pj))
        area.append(um2 if area_from_table[m] else batch.area_um2[:, m].expand_as(um2))
    changes = {k: torch.stack(v, -1) for k, v in energy.items()}          # [B, M]
    changes["area_um2"] = torch.stack(area, -1)
    if mac_from_table:
        mac_bits = batch.word_bits[:, -1].amax(-1).to(f64)                  # [B]
        changes["mac_pj"] = mac_pj(mac_bits, tech, f64)
        changes["compute_area_um2"] = mac_area_um2(mac_bits, tech, f64) + tech.pe_overhead_um2
    return replace(batch, **changes)
