"""`DesignSpace`: which accelerators an exploration may pick, and how genes become designs.

A hardware genome is ``H = 6`` floats in ``[0, 1]`` (`HW_GENES`: PE rows, PE cols, RF words
per PE, GLB words, GLB bandwidth, dataflow). Each gene picks one of the allowed values of
its parameter by equal-width bins, so every gene value decodes to a valid design and the
search never has to repair anything. DRAM bandwidth, word width, clock and technology are
fixed per space (the user's platform, not a design choice).

YAML form (every key optional; a ``{min, max}`` range means the powers of two inside it, a
list means exactly those values, a number means fixed)::

    pe_rows: {min: 4, max: 64}
    pe_cols: [8, 16, 32]
    rf_words: {min: 16, max: 512}
    glb_words: {min: 16384, max: 1048576}
    glb_bw: {min: 8, max: 128}        # words per cycle
    dataflow: [ws, os, flexible]
    dram_bw: 16                       # words per cycle, fixed
    word_bits: 16
    clock_mhz: 1000
    technology: null                  # a preset name or a YAML path; null = default
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from codesign.arch.accelerator import (
    DATAFLOWS,
    HW_FIELDS,
    MAX_SIZES,
    NUMERIC_FIELDS,
    SIZE_FIELDS,
    Accelerator,
    Dataflow,
)
from codesign.errors import (
    ConfigError,
    did_you_mean,
    joined_problems,
    short_repr,
    unknown_keys,
)
from codesign.workload.layer import DIM_INDEX, DIMS

__all__ = ["HW_GENES", "NUMERIC_GENES", "DesignSpace", "powers_of_two"]

#: The hardware genes, in genome order: the `HW_FIELDS` a design space searches.
HW_GENES: tuple[str, ...] = tuple(f.name for f in HW_FIELDS if f.gene)
#: The genes that pick a number (all but the dataflow), in genome order.
NUMERIC_GENES: tuple[str, ...] = tuple(g for g in HW_GENES if g in NUMERIC_FIELDS)

_INT_PARAMS = tuple(g for g in HW_GENES if g in SIZE_FIELDS)
#: The platform values every space fixes: the numbers no gene picks, technology, systolic.
_FIXED_KEYS = (*(k for k in NUMERIC_FIELDS if k not in HW_GENES), "technology", "systolic")
_ALL_KEYS = HW_GENES + _FIXED_KEYS


def powers_of_two(low: float, high: float) -> tuple[int, ...]:
    """Powers of two ``p`` with ``low <= p <= high``.

    >>> powers_of_two(4, 40)
    (4, 8, 16, 32)
    >>> powers_of_two(5, 7)
    ()
    """
    if high < low or high < 1:
        return ()
    first = max(0, math.ceil(math.log2(max(low, 1))))
    last = math.floor(math.log2(high))
    return tuple(2**e for e in range(first, last + 1))


@dataclass(frozen=True)
class DesignSpace:
    """Allowed values of each hardware parameter, plus the fixed platform parameters.

    Every tuple lists the values a gene can pick, smallest first (dataflows in the given
    order). The defaults span small edge arrays to large datacenter-style arrays.

    >>> space = DesignSpace(pe_rows=(8, 16), pe_cols=(16,), dataflows=("ws",))
    >>> import numpy as np
    >>> space.accelerator(np.array([0.9, 0.0, 0.0, 0.0, 0.0, 0.0])).pe_rows
    16
    """

    pe_rows: tuple[int, ...] = powers_of_two(4, 128)
    pe_cols: tuple[int, ...] = powers_of_two(4, 128)
    rf_words: tuple[int, ...] = powers_of_two(8, 1024)
    glb_words: tuple[int, ...] = powers_of_two(8 * 1024, 4 * 1024 * 1024)
    glb_bw: tuple[float, ...] = tuple(float(p) for p in powers_of_two(8, 512))
    dataflows: tuple[str, ...] = ("ws", "os", "is", "rs", "flexible")
    dram_bw: float = 16.0
    word_bits: int = 16
    clock_mhz: float = 1000.0
    technology: str | None = None
    systolic: bool = False
    custom_dataflows: dict[str, Dataflow] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        problems = []
        for key in _INT_PARAMS:
            values = getattr(self, key)
            if not values:
                problems.append(f"{key}: needs at least one allowed value")
            elif any(not isinstance(v, int) or isinstance(v, bool) or v < 1 for v in values):
                problems.append(f"{key}: values must be positive integers, got "
                                f"{short_repr(list(values))}")
            elif max(values) > MAX_SIZES[key]:
                problems.append(f"{key}: values must be at most {MAX_SIZES[key]}, got "
                                f"{max(values)}")
            else:
                object.__setattr__(self, key, tuple(sorted(set(values))))
        if not problems and max(self.pe_rows) * max(self.pe_cols) > MAX_SIZES["n_pes"]:
            problems.append(f"pe_rows x pe_cols: at most {MAX_SIZES['n_pes']} PEs, got up to "
                            f"{max(self.pe_rows)} x {max(self.pe_cols)}")
        if not self.glb_bw or any(not _is_number(v) or not 0 < v < math.inf
                                  for v in self.glb_bw):
            problems.append(f"glb_bw: values must be positive numbers, got {list(self.glb_bw)}")
        else:
            object.__setattr__(self, "glb_bw", tuple(sorted({float(v) for v in self.glb_bw})))
        if not self.dataflows:
            problems.append("dataflow: needs at least one dataflow")
        for name in self.dataflows:
            if name not in DATAFLOWS and name not in self.custom_dataflows:
                problems.append(f"dataflow: unknown preset {short_repr(name)}"
                                f"{did_you_mean(name, DATAFLOWS)} "
                                f"(presets: {', '.join(DATAFLOWS)})")
        for key in ("dram_bw", "clock_mhz"):
            if not _is_number(getattr(self, key)) or not 0 < getattr(self, key) < math.inf:
                problems.append(f"{key}: must be a positive finite number, got "
                                f"{short_repr(getattr(self, key))}")
        if not isinstance(self.word_bits, int) or isinstance(self.word_bits, bool) \
                or not 1 <= self.word_bits <= MAX_SIZES["word_bits"]:
            problems.append(f"word_bits: must be an integer in 1..{MAX_SIZES['word_bits']}, "
                            f"got {short_repr(self.word_bits)}")
        if not isinstance(self.systolic, bool):
            problems.append(f"systolic: must be true or false, got {short_repr(self.systolic)}")
        if isinstance(self.technology, os.PathLike):
            object.__setattr__(self, "technology", os.fspath(self.technology))
        if self.technology is not None and not isinstance(self.technology, str):
            problems.append(f"technology: must be a preset name or a YAML path, got "
                            f"{short_repr(self.technology)}")
        if problems:
            raise ConfigError("design space: " + joined_problems(problems))

    # -- genes -> designs ----------------------------------------------------------------
    @property
    def n_genes(self) -> int:
        """Number of hardware genes ``H``."""
        return len(HW_GENES)

    def choices(self, gene: str) -> tuple:
        """Allowed values of one gene (dataflow names for ``dataflow``)."""
        return self.dataflows if gene == "dataflow" else getattr(self, gene)

    def indices(self, hw_genes: np.ndarray) -> np.ndarray:
        """Which allowed value each gene picks: equal-width bins over ``[0, 1]``.

        Shape:
            hw_genes: ``[B, H]`` floats in ``[0, 1]`` -> ``[B, H]`` int64.
        """
        genes = np.clip(np.asarray(hw_genes, dtype=np.float64), 0.0, 1.0)
        sizes = np.array([len(self.choices(g)) for g in HW_GENES])
        return np.minimum((genes * sizes).astype(np.int64), sizes - 1)

    def decode(self, hw_genes: Any, device: Any = None, dtype: Any = None):
        """Hardware genes to a `HardwareBatch` (values snapped to the allowed choices).

        Accepts a numpy array or a torch tensor; the result lives on ``device`` (default:
        the tensor's device, else cpu).

        Shape:
            hw_genes: ``[B, H]`` floats in ``[0, 1]`` -> `HardwareBatch` of ``B`` designs.
        """
        import torch

        from codesign.arch.batch import HardwareBatch

        if isinstance(hw_genes, torch.Tensor):
            device = hw_genes.device if device is None else device
            genes = hw_genes.to(dtype=torch.float64)
        else:
            genes = torch.as_tensor(np.asarray(hw_genes, dtype=np.float64), device=device)
        dtype = torch.float64 if dtype is None else dtype
        genes = genes.clamp(0.0, 1.0)  # [B, H]
        n_b = genes.shape[0]

        def pick(column: int, values: Sequence, kind: torch.dtype) -> torch.Tensor:
            table = torch.tensor(values, dtype=kind, device=genes.device)
            idx = (genes[:, column] * len(values)).to(torch.int64).clamp(max=len(values) - 1)
            return table[idx]  # [B]

        allowed = torch.zeros(len(self.dataflows), 2, len(DIMS), dtype=torch.bool,
                              device=genes.device)
        for i, df in enumerate(self.dataflow_objects()):
            for axis, dims in enumerate((df.rows, df.cols)):
                for d in dims:
                    allowed[i, axis, DIM_INDEX[d]] = True
        df_idx = (genes[:, HW_GENES.index("dataflow")] * len(self.dataflows)).to(torch.int64).clamp(
            max=len(self.dataflows) - 1)

        def full(value: float, kind: torch.dtype) -> torch.Tensor:
            return torch.full((n_b,), value, dtype=kind, device=genes.device)

        return HardwareBatch(
            **{g: pick(HW_GENES.index(g), self.choices(g),
                       torch.int64 if g in SIZE_FIELDS else dtype) for g in NUMERIC_GENES},
            dram_bw=full(self.dram_bw, dtype),
            word_bits=full(self.word_bits, torch.int64),
            clock_mhz=full(self.clock_mhz, dtype),
            spatial_allowed=allowed[df_idx],  # [B, 2, D]
            systolic=torch.full((n_b,), bool(self.systolic), dtype=torch.bool,
                                device=genes.device),
        )

    def dataflow_objects(self) -> tuple[Dataflow, ...]:
        """The `Dataflow` of each allowed dataflow name, in gene order."""
        return tuple(self.custom_dataflows.get(n) or DATAFLOWS[n] for n in self.dataflows)

    def accelerator(self, hw_genes: Sequence[float] | np.ndarray, name: str = "") -> Accelerator:
        """The plain `Accelerator` one hardware genome ``[H]`` stands for."""
        idx = self.indices(np.asarray(hw_genes, dtype=np.float64).reshape(1, -1))[0]
        values = {g: self.choices(g)[int(i)] for g, i in zip(HW_GENES, idx, strict=True)}
        dataflow = self.dataflow_objects()[int(idx[HW_GENES.index("dataflow")])]
        return Accelerator(
            pe_rows=int(values["pe_rows"]), pe_cols=int(values["pe_cols"]),
            rf_words=int(values["rf_words"]), glb_words=int(values["glb_words"]),
            glb_bw=float(values["glb_bw"]), dram_bw=float(self.dram_bw),
            word_bits=int(self.word_bits), clock_mhz=float(self.clock_mhz), dataflow=dataflow,
            systolic=bool(self.systolic), name=name,
        )

    # -- plain data ----------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain data in the YAML form (choices as lists), the inverse of `from_dict`."""
        out: dict[str, Any] = {g: list(self.choices(g)) for g in HW_GENES}
        out.update({k: getattr(self, k) for k in _FIXED_KEYS})
        if self.custom_dataflows:
            out["custom_dataflows"] = {n: {"rows": list(d.rows), "cols": list(d.cols)}
                                       for n, d in self.custom_dataflows.items()}
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str = "design space") -> DesignSpace:
        """Parse the YAML form; raise `ConfigError` listing every problem at once."""
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a mapping of parameter -> range/choices, "
                              f"got {type(data).__name__}")
        problems: list[str] = []
        known = (*_ALL_KEYS, "dataflows", "custom_dataflows")
        problems += unknown_keys(data, known)
        kwargs: dict[str, Any] = {}
        for key in _INT_PARAMS + ("glb_bw",):
            if key in data:
                values = _parse_values(key, data[key], problems)
                if values is not None:
                    kwargs[key] = values
        custom: dict[str, Dataflow] = {}
        raw_custom = data.get("custom_dataflows") or {}
        if not isinstance(raw_custom, dict):
            problems.append("custom_dataflows: expected a mapping name -> {rows, cols}")
            raw_custom = {}
        for name, spec in raw_custom.items():
            if not isinstance(name, str) or len(name) > 100:
                problems.append(f"custom_dataflows: a name must be a short string, got "
                                f"{short_repr(name)}")
                continue
            try:
                custom[name] = Dataflow(name, tuple(spec["rows"]), tuple(spec["cols"]))
            except (TypeError, KeyError):
                problems.append(f"custom_dataflows.{name}: expected {{rows: [dims], cols: [dims]}}")
            except Exception as exc:  # ArchError from Dataflow validation
                problems.append(f"custom_dataflows.{name}: {short_repr(str(exc), 200)}")
        raw_df = data.get("dataflow", data.get("dataflows"))
        if raw_df is not None:
            names = [raw_df] if isinstance(raw_df, str) else raw_df
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                problems.append(f"dataflow: expected a preset name or a list of names, "
                                f"got {short_repr(raw_df)}")
            else:
                for n in names:
                    if n not in DATAFLOWS and n not in custom:
                        problems.append(f"dataflow: unknown {short_repr(n)}"
                                        f"{did_you_mean(n, [*DATAFLOWS, *custom])}"
                                        f" (presets: {', '.join(DATAFLOWS)})")
                kwargs["dataflows"] = tuple(names)
        for key in _FIXED_KEYS:
            if key in data:
                kwargs[key] = data[key]
        if problems:
            raise ConfigError(f"{where}: " + joined_problems(problems))
        try:
            return cls(**kwargs, custom_dataflows=custom)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace("design space", where, 1)) from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> DesignSpace:
        """Read a design space YAML file (safe loader); every problem reported at once."""
        from codesign.arch.io import load_yaml

        path = Path(path)
        space = cls.from_dict(load_yaml(path), where=str(path))  # an empty file is an error
        tech = space.technology
        if tech is not None and (tech.endswith((".yaml", ".yml"))) and not Path(tech).is_absolute():
            # a technology file is relative to the space file, not to the working directory
            object.__setattr__(space, "technology", str(path.parent / tech))
        return space


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _parse_values(key: str, raw: Any, problems: list[str]) -> tuple | None:
    """A range ``{min, max}`` (powers of two), a list of values, or one fixed value."""
    integer = key in _INT_PARAMS
    if isinstance(raw, dict):
        extra = sorted(set(raw) - {"min", "max"}, key=str)
        if extra or "min" not in raw or "max" not in raw:
            problems.append(f"{key}: a range needs exactly the keys min and max, got "
                            f"{sorted(raw, key=str)}")
            return None
        low, high = raw["min"], raw["max"]
        if not _is_number(low) or not _is_number(high) or not 0 < low <= high < math.inf:
            problems.append(f"{key}: range needs 0 < min <= max, got min={short_repr(low)} "
                            f"max={short_repr(high)}")
            return None
        values = powers_of_two(low, high)
        if not values:
            problems.append(f"{key}: no power of two lies in [{low}, {high}]; widen the range "
                            f"or list the values")
            return None
        return values if integer else tuple(float(v) for v in values)
    raw_list = raw if isinstance(raw, list) else [raw]
    if not raw_list:
        problems.append(f"{key}: the list of values is empty")
        return None
    bad = [v for v in raw_list if not _is_number(v) or not 0 < v < math.inf
           or (integer and v != int(v))]
    if bad:
        kind = "positive integers" if integer else "positive numbers"
        problems.append(f"{key}: values must be {kind}, got {short_repr(bad)}")
        return None
    return tuple(int(v) for v in raw_list) if integer else tuple(float(v) for v in raw_list)
