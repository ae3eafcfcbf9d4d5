"""Technology tables: energy per operation and per memory access, area per MAC and per bit.

Every default is a published 45 nm figure or a number derived from one; sources are named
next to each field and collected in ``docs/TECHNOLOGY.md``. Fields marked *assumption* are
not from a paper: they are our estimates, easy to override from YAML
(`Technology.from_yaml`). The functions that turn these numbers into batched torch costs
live in `codesign.cost.energy` and `codesign.cost.area`; this module is plain data.

Sources:
    [H14] M. Horowitz, "Computing's energy problem (and what we can do about it)",
          ISSCC 2014, table "Rough energy costs / area costs, 45 nm, 0.9 V".
    [E16] Y.-H. Chen, J. Emer, V. Sze, "Eyeriss: a spatial architecture for energy-efficient
          dataflow for CNNs", ISCA 2016 (normalised energy: RF 1x, PE-to-PE 2x, GLB 6x,
          DRAM 200x a MAC).
    [M07] K. Mistry et al., "A 45nm logic technology with high-k + metal gate transistors...",
          IEDM 2007 (6T SRAM cell 0.346 um^2).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from codesign.errors import ArchError

__all__ = ["Technology"]

#: Fields that scale others by division, so zero makes no sense.
_DIVISORS = frozenset({"sram_ref_bytes", "sram_ref_access_bits", "rf_ref_bytes",
                       "rf_ref_access_bits", "sram_array_efficiency"})


@dataclass(frozen=True)
class Technology:
    """Energy and area figures of one process node (default: 45 nm, [H14]).

    Energies are in pJ, areas in um^2 (per unit) or mm^2 (fixed), power in mW. Scaling
    with word width and capacity is smooth (power laws), so costs stay differentiable.

    >>> tech = Technology.default()
    >>> tech.mult_pj_8b, tech.sram_ref_pj
    (0.2, 10.16)
    >>> round(tech.mac_pj(16), 3)   # 0.2 * 2**2 + 0.03 * 2
    0.86
    """

    name: str = "45nm"

    # -- MAC energy [H14]: 8-bit int mult 0.2 pJ, 32-bit 3.1 pJ (15.5x for 4x bits, so
    #    energy ~ bits**2); 8-bit add 0.03 pJ, 32-bit 0.1 pJ (~ bits**1).
    mult_pj_8b: float = 0.2
    mult_energy_exponent: float = 2.0
    add_pj_8b: float = 0.03
    add_energy_exponent: float = 1.0

    # -- SRAM (GLB) energy per access [H14]: 64-bit read of an 8 KB SRAM 10 pJ, 32 KB 20 pJ,
    #    1 MB 100 pJ. Fitted (least squares in log-log through those three points, ours):
    #    E = 10.16 pJ * (bytes / 8 KiB) ** 0.4726, reproducing 10.2 / 19.6 / 100.6 pJ.
    #    Scaled linearly with access width (sram_ref_access_bits).
    sram_ref_bytes: float = 8192.0
    sram_ref_pj: float = 10.16
    sram_energy_exponent: float = 0.4726
    sram_ref_access_bits: float = 64.0

    # -- RF energy per access [E16]: a 0.5 KB RF access costs 1x a MAC; with the 16-bit MAC
    #    of [H14] above (0.86 pJ) that is 0.86 pJ per 16-bit access at 512 B (derived). Scaled
    #    with capacity by the SRAM exponent above (assumption) and linearly with width.
    rf_ref_bytes: float = 512.0
    rf_ref_pj: float = 0.86
    rf_ref_access_bits: float = 16.0

    # -- DRAM energy [H14]: 1.3-2.6 nJ per 64-bit access; we take the low end, 1.3 nJ.
    dram_pj_64b: float = 1300.0

    # -- MAC area [H14]: 8-bit int mult 282 um^2, 32-bit 3495 um^2 (exponent
    #    ln(3495/282)/ln 4 = 1.816, derived); 8-bit add 36 um^2, 32-bit 137 um^2 (0.964).
    mult_um2_8b: float = 282.0
    mult_area_exponent: float = 1.816
    add_um2_8b: float = 36.0
    add_area_exponent: float = 0.964

    # -- SRAM area: 45 nm 6T cell 0.346 um^2 [M07] over an array efficiency of 0.5
    #    (assumption: sense amps, decoders, wiring) = 0.692 um^2 per bit.
    sram_cell_um2: float = 0.346
    sram_array_efficiency: float = 0.5

    # -- RF area per bit: 2.0 um^2 (assumption: latch/flip-flop register file, about 3x a
    #    6T SRAM bit with its periphery).
    rf_um2_per_bit: float = 2.0

    # -- Per-PE overhead (assumption: pipeline registers, control, NoC port): 200 um^2.
    pe_overhead_um2: float = 200.0
    # -- Fixed chip overhead (assumption: controller, DMA, top-level NoC; no DRAM PHY): 0.25 mm^2.
    fixed_area_mm2: float = 0.25

    # -- Leakage power density (assumption): 2 mW/mm^2, about 10% of Eyeriss's reported
    #    278 mW over its 12.25 mm^2 core [E16, JSSC 2017 version] rounded down for 45 nm.
    leakage_mw_per_mm2: float = 2.0

    def __post_init__(self) -> None:
        problems = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "name":
                if not isinstance(value, str):
                    problems.append(f"name must be a string, got {value!r}")
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                problems.append(f"{f.name} must be a number, got {value!r}")
            elif not math.isfinite(value) or value < 0:
                problems.append(f"{f.name} must be a finite number >= 0, got {value!r}")
            elif value == 0 and f.name in _DIVISORS:
                problems.append(f"{f.name} must be > 0, got {value!r}")
        if not problems and self.sram_array_efficiency > 1:
            problems.append(f"sram_array_efficiency must be in (0, 1], got "
                            f"{self.sram_array_efficiency!r}")
        if problems:
            raise ArchError(f"technology {self.name!r}: " + "; ".join(problems)
                            + "; fix these fields of the technology table")

    @classmethod
    def default(cls) -> Technology:
        """The cited 45 nm table."""
        return cls()

    def mac_pj(self, word_bits: float) -> float:
        """Energy of one ``word_bits`` integer MAC (multiply + add), scalar convenience."""
        scale = word_bits / 8.0
        return (self.mult_pj_8b * scale ** self.mult_energy_exponent
                + self.add_pj_8b * scale ** self.add_energy_exponent)

    def replace(self, **changes) -> Technology:
        """A copy with some fields changed (the dataclass is frozen)."""
        return type(self)(**{**asdict(self), **changes})

    def to_dict(self) -> dict:
        """Plain data, the inverse of `codesign.arch.io.parse_technology`."""
        return asdict(self)

    @classmethod
    def from_yaml(cls, path: str | Path) -> Technology:
        """Read a technology YAML (fields not named keep their defaults)."""
        from codesign.arch.io import read_technology

        return read_technology(path)

    def to_yaml(self, path: str | Path) -> None:
        """Write every field to a YAML file."""
        from codesign.arch.io import write_technology

        write_technology(self, path)
