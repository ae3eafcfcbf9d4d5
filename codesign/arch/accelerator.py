"""The accelerator template of DESIGN.md: DRAM -> GLB -> PE array (rows x cols) -> RF -> MAC.

An `Accelerator` fixes every hardware parameter of one design, including the `Dataflow`
(which loop dims may be unrolled over the array's rows and cols).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

from codesign.arch.technology import Technology
from codesign.errors import ArchError
from codesign.workload.layer import DIMS

__all__ = ["DATAFLOWS", "HW_FIELDS", "MAX_SIZES", "NUMERIC_FIELDS", "RATE_FIELDS", "SIZE_FIELDS",
           "Accelerator", "Dataflow", "HardwareField"]

#: Largest sizes a design may have. Far above any real accelerator (a TPUv1 has 256 x 256 =
#: 65,536 PEs and 24 MiB of buffer), they keep every count inside int64 and the mapper's
#: tables small: its factor table grows with the array size (8 bytes per PE).
MAX_SIZES: dict[str, int] = {"pe_rows": 2**20, "pe_cols": 2**20, "n_pes": 2**20,
                             "rf_words": 2**40, "glb_words": 2**40, "word_bits": 1024}


@dataclass(frozen=True)
class Dataflow:
    """Loop dims that may be unrolled spatially over the PE rows and over the PE cols.

    >>> DATAFLOWS["ws"].rows, DATAFLOWS["ws"].cols
    (('C', 'R', 'S'), ('K',))
    """

    name: str
    rows: tuple[str, ...]
    cols: tuple[str, ...]

    def __post_init__(self) -> None:
        unknown = sorted(set(self.rows + self.cols) - set(DIMS))
        if unknown:
            raise ArchError(f"dataflow {self.name!r}: unknown loop dims {unknown}; "
                            f"use letters from {' '.join(DIMS)}")
        if not self.rows or not self.cols:
            raise ArchError(f"dataflow {self.name!r}: rows and cols each need at least one dim")

    @classmethod
    def preset(cls, name: str) -> Dataflow:
        try:
            return DATAFLOWS[name]
        except KeyError:
            raise ArchError(f"unknown dataflow {name!r}; choose one of "
                            f"{', '.join(DATAFLOWS)}") from None


#: Fixed-dataflow presets (the conv-to-GEMM view used by SCALE-Sim), plus `flexible`.
DATAFLOWS: dict[str, Dataflow] = {
    "ws": Dataflow("ws", rows=("C", "R", "S"), cols=("K",)),
    "os": Dataflow("os", rows=("N", "P", "Q"), cols=("K",)),
    "is": Dataflow("is", rows=("C", "R", "S"), cols=("N", "P", "Q")),
    "rs": Dataflow("rs", rows=("R",), cols=("P",)),
    "flexible": Dataflow("flexible", rows=DIMS, cols=DIMS),
}


@dataclass(frozen=True)
class HardwareField:
    """One design parameter of an `Accelerator`: how people read it, what kind of value it
    holds, and its part in files and searches. `HW_FIELDS` lists them all, once."""

    name: str
    label: str              #: short name for tables and plots ("GLB bandwidth")
    unit: str               #: unit of the value ("words/cycle"); "" for counts and names
    kind: type              #: int (a size), float (a rate), Dataflow or bool
    gene: bool = False      #: a `DesignSpace` searches it (else the platform fixes it)
    required: bool = False  #: an accelerator file must give it (else it has a default)


#: The design parameters of an `Accelerator`, in its field order (a test pins that): every
#: field but ``name`` and ``technology``, which name and cost a design without being part
#: of it. The lists below, the file keys, the design-space genes, the ``pareto.csv``
#: columns and the hardware batch all derive from this one table.
HW_FIELDS: tuple[HardwareField, ...] = (
    HardwareField("pe_rows", "PE rows", "", int, gene=True, required=True),
    HardwareField("pe_cols", "PE cols", "", int, gene=True, required=True),
    HardwareField("rf_words", "RF", "words/PE", int, gene=True, required=True),
    HardwareField("glb_words", "GLB", "words", int, gene=True, required=True),
    HardwareField("glb_bw", "GLB bandwidth", "words/cycle", float, gene=True),
    HardwareField("dram_bw", "DRAM bandwidth", "words/cycle", float),
    HardwareField("word_bits", "word", "bits", int),
    HardwareField("clock_mhz", "clock", "MHz", float),
    HardwareField("dataflow", "dataflow", "", Dataflow, gene=True, required=True),
    HardwareField("systolic", "systolic array", "", bool),
)
#: The integer sizes (PEs, words, bits), in field order.
SIZE_FIELDS: tuple[str, ...] = tuple(f.name for f in HW_FIELDS if f.kind is int)
#: The positive real rates (bandwidths in words per cycle, the clock in MHz).
RATE_FIELDS: tuple[str, ...] = tuple(f.name for f in HW_FIELDS if f.kind is float)
#: Every numeric parameter, in field order: what tables and plots read off a design.
NUMERIC_FIELDS: tuple[str, ...] = tuple(f.name for f in HW_FIELDS if f.kind in (int, float))


@dataclass(frozen=True)
class Accelerator:
    """One accelerator design.

    Sizes are in words of ``word_bits`` bits; bandwidths in words per cycle.
    ``rf_words`` is per PE; ``glb_words`` is the whole shared buffer.
    ``systolic`` adds pipeline fill and drain per array fold to compute cycles (off: v1).
    ``technology`` is the energy/area table to cost it with; ``None`` means
    `Technology.default` (it is not a design parameter, so `HardwareBatch` does not carry it).
    """

    pe_rows: int = 16
    pe_cols: int = 16
    rf_words: int = 64
    glb_words: int = 64 * 1024
    glb_bw: float = 32.0
    dram_bw: float = 8.0
    word_bits: int = 16
    clock_mhz: float = 1000.0
    dataflow: Dataflow = field(default_factory=lambda: DATAFLOWS["flexible"])
    systolic: bool = False
    name: str = ""
    technology: Technology | None = None

    def __post_init__(self) -> None:
        if isinstance(self.dataflow, str):
            object.__setattr__(self, "dataflow", Dataflow.preset(self.dataflow))
        problems = []
        if self.technology is not None and not isinstance(self.technology, Technology):
            problems.append(f"technology must be a Technology or None, got {self.technology!r}")
        for key in SIZE_FIELDS:
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.append(f"{key} must be a positive integer, got {value!r}")
            elif value > MAX_SIZES[key]:
                problems.append(f"{key} must be at most {MAX_SIZES[key]}, got {value!r}")
        if not problems and self.pe_rows * self.pe_cols > MAX_SIZES["n_pes"]:
            problems.append(f"pe_rows x pe_cols must be at most {MAX_SIZES['n_pes']} PEs, got "
                            f"{self.pe_rows} x {self.pe_cols}")
        for key in RATE_FIELDS:
            value = getattr(self, key)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0 \
                    or not math.isfinite(value):
                problems.append(f"{key} must be a positive finite number, got {value!r}")
        if problems:
            raise ArchError(f"accelerator {self.name or '?'}: " + "; ".join(problems))

    @property
    def n_pes(self) -> int:
        return self.pe_rows * self.pe_cols

    def replace(self, **changes) -> Accelerator:
        """A copy with some parameters changed (the dataclass is frozen)."""
        return replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain data; the dataflow as its preset name, or as ``{rows, cols}`` if custom."""
        data = asdict(self)
        df = self.dataflow
        if DATAFLOWS.get(df.name) == df:
            data["dataflow"] = df.name
        else:
            data["dataflow"] = {"name": df.name, "rows": list(df.rows), "cols": list(df.cols)}
        return data
