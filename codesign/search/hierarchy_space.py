"""`HierarchySpace`: a design space over any hierarchy, and how genes become `HierarchyBatch`es.

A space starts from a base architecture (a preset name such as ``eyeriss``, or the path of a
Timeloop v0.4 arch YAML) and says, for any level or fan-out parameter, whether it is
searched over a range, picked from a list, or fixed. What is not named keeps the base's
value. YAML form (a ``{min, max}`` range means the powers of two inside it, a list exactly
those values, a plain value fixes it)::

    base: eyeriss
    technology: null                 # a preset name or a YAML path; null = default
    levels:
      GLB:
        capacity_words: {min: 8192, max: 131072}
        shared_bw: [4, 8, 12, 16]    # words per cycle per instance
        keeps: [[I, O], [W, I, O]]   # which tensors the level holds: choices
      spad:
        partition_words: {W: {min: 64, max: 512}, I: [12, 24], O: 24}
        word_bits: 16
    fanouts:
      PE:
        x: {min: 8, max: 32}
        y: {min: 8, max: 16}
        x_dims: [[P, Q], [Q, K]]     # the dims the X axis may unroll: choices

Level parameters: `LEVEL_PARAMETERS`; fan-out parameters: `FANOUT_PARAMETERS`. A hardware
genome has one gene in ``[0, 1]`` per parameter with more than one value (equal-width bins,
as `codesign.arch.space.DesignSpace`), so every genome decodes to a valid hierarchy. Energies
and areas the base leaves at 0 come from the technology table as functions of each design's
capacity and word width (`codesign.cost.levels.technology_batch`). Area and power limits are
explore's options, as for the default space.

Every parameter's column name (pareto.csv, designs.json) is `parameter_name`'s, built from the
architecture's own level and fan-out names (``GLB_capacity_words``, ``PE_x``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from codesign.arch.space import powers_of_two
from codesign.errors import (
    ConfigError,
    did_you_mean,
    joined_problems,
    short_repr,
    unknown_keys,
)
from codesign.hierarchy.batch import HierarchyBatch
from codesign.hierarchy.levels import FanOut, Hierarchy, StorageLevel
from codesign.workload.layer import DIMS, TENSORS

__all__ = ["FANOUT_PARAMETERS", "LEVEL_PARAMETERS", "HierarchySpace", "Parameter",
           "is_hierarchy_space", "parameter_name"]

#: What a space may set per storage level (``partition_words`` per tensor).
LEVEL_PARAMETERS: tuple[str, ...] = ("capacity_words", "partition_words", "read_bw",
                                     "write_bw", "shared_bw", "word_bits", "keeps")
#: What a space may set per fan-out.
FANOUT_PARAMETERS: tuple[str, ...] = ("x", "y", "x_dims", "y_dims")
_TOP_KEYS = ("base", "technology", "levels", "fanouts")
_INTEGER = {"capacity_words", "partition_words", "word_bits", "x", "y"}
_CHOICE_OF_NAMES = {"keeps": TENSORS, "x_dims": DIMS, "y_dims": DIMS}
_NO_CAPACITY = "no capacity (the backing store)"
#: The data-space names a Timeloop base's files use for W, I, O.
_TIMELOOP_TENSORS = {"Weights": "W", "Inputs": "I", "Outputs": "O"}


def parameter_name(node: str, key: str, tensor: str | None = None) -> str:
    """The one name of a space parameter (its pareto.csv column).

    >>> parameter_name("GLB", "capacity_words"), parameter_name("spad", "partition_words", "W")
    ('GLB_capacity_words', 'spad_W_partition_words')
    >>> parameter_name("PE", "x")
    'PE_x'
    """
    return f"{node}_{tensor}_{key}" if tensor else f"{node}_{key}"


def is_hierarchy_space(data: Any) -> bool:
    """Whether parsed space YAML describes a hierarchy space (it names a ``base``)."""
    return isinstance(data, Mapping) and "base" in data


@dataclass(frozen=True)
class Parameter:
    """One level or fan-out parameter: its allowed ``values`` (numbers, or tuples of tensor
    or dim names for ``keeps`` and the axes' dims); searched when there is more than one."""

    node: str
    key: str
    values: tuple
    tensor: str | None = None

    @property
    def name(self) -> str:
        return parameter_name(self.node, self.key, self.tensor)

    @property
    def searched(self) -> bool:
        return len(self.values) > 1


def _choices(raw: Any, where: str, key: str, problems: list[str]) -> tuple:
    """The allowed values of one parameter from its YAML form (range, list or value)."""
    if key in _CHOICE_OF_NAMES:
        names = _CHOICE_OF_NAMES[key]
        rows = raw if isinstance(raw, list) and raw and all(isinstance(r, list) for r in raw) \
            else [raw]
        out = []
        for row in rows:
            if not isinstance(row, list) or not all(isinstance(x, str) for x in row):
                problems.append(f"{where}: expected a list of names or a list of such "
                                f"lists, got {short_repr(raw)}")
                return ()
            bad = sorted(set(row) - set(names))
            if bad:
                problems.append(f"{where}: unknown names {bad}; use {' '.join(names)}")
                return ()
            out.append(tuple(x for x in names if x in row))
        return tuple(dict.fromkeys(out))
    if isinstance(raw, Mapping):
        unknown = sorted(set(raw) - {"min", "max"})
        lo, hi = raw.get("min"), raw.get("max")
        if unknown or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                              for v in (lo, hi)):
            problems.append(f"{where}: a range is {{min: N, max: N}}, got {short_repr(raw)}")
            return ()
        values = powers_of_two(lo, hi)
        if not values:
            problems.append(f"{where}: no power of two between {lo} and {hi}")
        return values
    values = raw if isinstance(raw, list) else [raw]
    ok = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0 \
                or v == float("inf") or (key in _INTEGER and v != int(v)):
            kind = "a positive integer" if key in _INTEGER else "a positive number"
            problems.append(f"{where}: expected {kind}, a list of them or a {{min, max}} "
                            f"range, got {short_repr(v)}")
            return ()
        ok.append(int(v) if key in _INTEGER else float(v))
    if not ok:
        problems.append(f"{where}: an empty list allows nothing")
    return tuple(dict.fromkeys(ok))


def _load_base(raw: Any, base_dir: Path | None, problems: list[str]) -> Hierarchy | None:
    from codesign.hierarchy.presets import HIERARCHY_PRESETS, hierarchy_preset

    if not isinstance(raw, str) or not raw:
        problems.append(f"base: expected a preset name ({', '.join(sorted(HIERARCHY_PRESETS))})"
                        f" or the path of a Timeloop arch YAML, got {short_repr(raw)}")
        return None
    if raw in HIERARCHY_PRESETS:
        return hierarchy_preset(raw)
    path = Path(raw) if base_dir is None or os.path.isabs(raw) else base_dir / raw
    if not path.is_file():
        presets = ", ".join(sorted(HIERARCHY_PRESETS))
        problems.append(f"base: {raw!r} is neither a preset ({presets})"
                        f"{did_you_mean(raw, HIERARCHY_PRESETS)} nor a file")
        return None
    from codesign.timeloop.arch import read_arch, to_hierarchy

    try:
        return to_hierarchy(read_arch(path), _TIMELOOP_TENSORS)
    except ConfigError as exc:
        problems.append(f"base {raw}: {exc}")
        return None


@dataclass(frozen=True)
class HierarchySpace:
    """The designs a hierarchy exploration may pick (module docstring)."""

    base: Hierarchy
    parameters: tuple[Parameter, ...] = ()
    technology: str | None = None
    source: str = "<space>"
    #: per device: the base as a batch of one and each parameter's value table, so that
    #: decoding a generation copies nothing from the host (`_tables`)
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    # -- reading -------------------------------------------------------------------------
    @classmethod
    def from_yaml(cls, path: str | Path) -> HierarchySpace:
        from codesign.arch.io import load_yaml

        return cls.from_dict(load_yaml(path), where=str(path), base_dir=Path(path).parent)

    @classmethod
    def from_dict(cls, data: Any, where: str = "space", base_dir: Path | None = None
                  ) -> HierarchySpace:
        """Parse and check a space; every problem in one `ConfigError` line."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: expected a mapping with a 'base', got "
                              f"{short_repr(data)}")
        problems: list[str] = []
        problems += unknown_keys(data, _TOP_KEYS)
        base = _load_base(data.get("base"), base_dir, problems)
        tech = data.get("technology")
        if tech is not None:
            from codesign.arch.presets import resolve_technology

            try:
                resolve_technology(tech)
            except ConfigError as exc:
                problems.append(f"technology: {exc}")
        params: list[Parameter] = []
        if base is not None:
            params = _parameters(base, data, problems)
        if problems:
            raise ConfigError(f"{where}: {joined_problems(problems)}")
        assert base is not None
        return cls(base, tuple(params), tech, where)

    # -- genes ---------------------------------------------------------------------------
    @property
    def searched(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.searched)

    @property
    def n_genes(self) -> int:
        return len(self.searched)

    @property
    def gene_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.searched)

    @property
    def column_names(self) -> tuple[str, ...]:
        """Every parameter's name, searched or fixed (pareto.csv's hardware columns)."""
        return tuple(p.name for p in self.parameters)

    def indices(self, genes: np.ndarray) -> np.ndarray:
        """``[B, H]`` int64 value index of each searched parameter (equal-width bins)."""
        g = np.asarray(genes, dtype=np.float64).reshape(-1, self.n_genes)
        sizes = np.array([len(p.values) for p in self.searched], dtype=np.int64)
        return np.minimum(np.floor(np.clip(g, 0.0, 1.0) * sizes).astype(np.int64), sizes - 1)

    def decode(self, genes: torch.Tensor) -> HierarchyBatch:
        """``[B, H]`` genes in ``[0, 1]`` as ``B`` hierarchies, on the genes' device (no host
        sync: every parameter is a table lookup)."""
        _, tables, _ = self._tables(genes.device)
        idx = self._value_indices(genes)
        return self._assemble(genes.shape[0], genes.device,
                              [table[i] for table, i in zip(tables, idx, strict=True)],
                              relaxed=False)

    # -- a differentiable decode (sensitivity, gradient refinement) ----------------------
    def relaxed_values(self, genes: torch.Tensor) -> torch.Tensor:
        """``[B, H]`` float64: what `relaxed_batch` takes for these genes (`decode`'s).

        A number-valued parameter's value in its own units (words, words per cycle, bits,
        X / Y sizes); a choice of names (``keeps``, ``x_dims``, ``y_dims``) its choice's
        index in `Parameter.values`.

        Shape: genes ``[B, H]`` in ``[0, 1]``; returns ``[B, H]`` on the genes' device.
        """
        _, tables, _ = self._tables(genes.device)
        idx = self._value_indices(genes)
        columns = [i.to(torch.float64) if p.key in _CHOICE_OF_NAMES
                   else table[i].to(torch.float64)
                   for p, table, i in zip(self.parameters, tables, idx, strict=True)
                   if p.searched]
        if not columns:
            return torch.zeros(genes.shape[0], 0, dtype=torch.float64, device=genes.device)
        return torch.stack(columns, 1)

    def relaxed_batch(self, values: torch.Tensor) -> HierarchyBatch:
        """``B`` hierarchies with the searched parameters at real ``values``, differentiable.

        ``values [B, H]`` are in `searched` order (`gene_names`), in the units
        `relaxed_values` gives; they need not be allowed values, nor integers. Capacities,
        partitions, bandwidths, word widths and fan-out X / Y carry them as float64 (so
        here ``word_bits`` and ``fanout_xy`` are float64, holding the same numbers), and the
        energies and areas the technology table gives (`technology_batch`) follow them,
        so autograd flows from ``values`` through `nest_cost`. The table is piecewise
        (register file up to `RF_MAX_BYTES`, SRAM above it, DRAM for an unbounded level):
        the derivative is the active piece's. A choice of names takes the choice nearest
        ``values`` (rounded index; no gradient). For ``values = relaxed_values(genes)``
        every number equals `decode(genes)`'s exactly, and so does every cost.

        Shape: values ``[B, H]`` float64; returns a batch of ``B`` on its device.
        """
        n_b, dev = values.shape[0], values.device
        _, tables, _ = self._tables(dev)
        columns, g = [], 0
        for p, table in zip(self.parameters, tables, strict=True):
            if not p.searched:
                columns.append(table[torch.zeros(n_b, dtype=torch.int64, device=dev)])
                continue
            value = values[:, g].to(torch.float64)
            g += 1
            if p.key in _CHOICE_OF_NAMES:
                value = table[value.detach().round().to(torch.int64).clamp(0, len(table) - 1)]
            columns.append(value)
        return self._assemble(n_b, dev, columns, relaxed=True)

    def _value_indices(self, genes: torch.Tensor) -> list[torch.Tensor]:
        """Each parameter's ``[B]`` int64 value index (equal-width bins; 0 when fixed)."""
        n_b, dev = genes.shape[0], genes.device
        out, g = [], 0
        for p in self.parameters:
            if p.searched:
                n = len(p.values)
                out.append((genes[:, g].clamp(0, 1) * n).floor().to(torch.int64)
                           .clamp(max=n - 1))
                g += 1
            else:
                out.append(torch.zeros(n_b, dtype=torch.int64, device=dev))
        return out

    def _assemble(self, n_b: int, dev: torch.device, columns: list[torch.Tensor], *,
                  relaxed: bool) -> HierarchyBatch:
        """The base with each parameter's ``[B]`` (``[B, names]`` for a choice of names)
        column written in, energies and areas from the technology. ``relaxed`` keeps word
        widths and fan-out sizes float64, so gradients reach them (`relaxed_batch`)."""
        batch, _, tech = self._tables(dev)
        fields = {k: getattr(batch, k).expand(n_b, *getattr(batch, k).shape[1:]).clone()
                  for k in ("capacity_words", "partition_words", "read_bw", "write_bw",
                            "shared_bw", "word_bits", "keep", "fanout_xy", "axis_dims")}
        if relaxed:
            for k in ("word_bits", "fanout_xy"):
                fields[k] = fields[k].to(torch.float64)
        levels, fans = self.base.level_names, [f.name for f in self.base.fanouts]
        for p, value in zip(self.parameters, columns, strict=True):
            if p.key == "keeps":
                fields["keep"][:, levels.index(p.node)] = value
            elif p.key in ("x", "y"):
                fields["fanout_xy"][:, fans.index(p.node), "xy".index(p.key)] = value
            elif p.key in ("x_dims", "y_dims"):
                fields["axis_dims"][:, fans.index(p.node), "xy".index(p.key[0])] = value
            elif p.key == "partition_words":
                fields["partition_words"][:, levels.index(p.node),
                                          TENSORS.index(p.tensor)] = value.to(torch.float64)
            elif p.key == "word_bits":
                fields["word_bits"][:, levels.index(p.node)] = \
                    value.to(fields["word_bits"].dtype)[:, None]
            else:
                fields[p.key][:, levels.index(p.node)] = value.to(torch.float64)
        varied = any(p.key == "keeps" for p in self.parameters)
        batch = replace(batch, **fields, varied_keep=varied,
                        **{k: getattr(batch, k).expand(n_b, *getattr(batch, k).shape[1:])
                           for k in ("read_pj", "fill_pj", "update_pj", "leak_pj",
                                     "area_um2", "hop_pj", "mac_pj", "compute_area_um2")})
        from codesign.cost.levels import technology_batch

        return technology_batch(batch, tech, mac_from_table=self.base.compute.mac_pj == 0.0)

    def _tables(self, dev: torch.device) -> tuple[HierarchyBatch, list[torch.Tensor], Any]:
        """The base as a batch of one on ``dev``, each parameter's value table there
        (``[V]`` values, or ``[V, names]`` bool for keep sets and axis dims) and the
        technology: built on a device's first `decode`, reused after."""
        if dev not in self._cache:
            from codesign.arch.presets import resolve_technology

            tables = [torch.tensor([[x in v for x in _CHOICE_OF_NAMES[p.key]] for v in p.values],
                                   dtype=torch.bool, device=dev)
                      if p.key in _CHOICE_OF_NAMES else torch.tensor(p.values, device=dev)
                      for p in self.parameters]
            self._cache[dev] = (HierarchyBatch.of(self.base, dev), tables,
                                resolve_technology(self.technology))
        return self._cache[dev]

    def values(self, genes: np.ndarray) -> list[dict[str, Any]]:
        """Each design's parameter values by `parameter_name` (host side, for results)."""
        idx = self.indices(genes)
        out = []
        for row in idx:
            values, g = {}, 0
            for p in self.parameters:
                v = p.values[row[g]] if p.searched else p.values[0]
                g += p.searched
                values[p.name] = " ".join(v) if isinstance(v, tuple) else v
            out.append(values)
        return out

    def envelope(self) -> Hierarchy:
        """The base with every fan-out at its largest size, each axis unrolling every dim
        some choice allows and each level keeping every tensor some choice keeps: the
        mapspace all designs' mapspaces are parts of."""
        from codesign.hierarchy.batch import envelope

        tables = []
        for p in self.searched:
            tables.append(torch.tensor([(i + 0.5) / len(p.values) for i in range(len(p.values))],
                                       dtype=torch.float64))
        n = max([len(t) for t in tables] + [1])
        genes = torch.stack([t.repeat(-(-n // len(t)))[:n] for t in tables], 1) if tables \
            else torch.zeros(1, 0, dtype=torch.float64)
        return envelope(self.decode(genes))

    def to_dict(self) -> dict[str, Any]:
        """The YAML form (run.json's ``space``)."""
        levels: dict[str, dict] = {}
        fans: dict[str, dict] = {}
        for p in self.parameters:
            values = [list(v) if isinstance(v, tuple) else v for v in p.values]
            value = values if p.searched else values[0]
            target = fans if p.node in {f.name for f in self.base.fanouts} else levels
            if p.tensor:
                target.setdefault(p.node, {}).setdefault(p.key, {})[p.tensor] = value
            else:
                target.setdefault(p.node, {})[p.key] = value
        return {"base": self.base.name, "technology": self.technology, "levels": levels,
                "fanouts": fans}


def _parameters(base: Hierarchy, data: Mapping, problems: list[str]) -> list[Parameter]:
    levels = {lv.name: lv for lv in base.levels}
    fans = {f.name: f for f in base.fanouts}
    out: list[Parameter] = []
    for section, known, other, keys in (("levels", levels, fans, LEVEL_PARAMETERS),
                                        ("fanouts", fans, levels, FANOUT_PARAMETERS)):
        raw = data.get(section) or {}
        if not isinstance(raw, Mapping):
            problems.append(f"{section}: expected a mapping of names, got {short_repr(raw)}")
            continue
        for name, params in raw.items():
            if name not in known:
                hint = (f" ({name!r} is a {'fan-out' if section == 'levels' else 'level'}: "
                        f"put it under {'fanouts' if section == 'levels' else 'levels'})"
                        if name in other else did_you_mean(name, known))
                problems.append(f"{section}.{name}: {base.name} has no such "
                                f"{'level' if section == 'levels' else 'fan-out'}{hint}; "
                                f"{section} are {', '.join(known) or 'none'}")
                continue
            if not isinstance(params, Mapping):
                problems.append(f"{section}.{name}: expected a mapping of parameters, got "
                                f"{short_repr(params)}")
                continue
            for key, value in params.items():
                where = f"{section}.{name}.{key}"
                if key not in keys:
                    problems.append(f"{where}: unknown parameter{did_you_mean(key, keys)}; "
                                    f"use {', '.join(keys)}")
                    continue
                out.extend(_node_parameters(known[name], key, value, where, base, problems))
    for lv in base.levels:   # a partitioned level must have room for what it may keep
        if lv.partition_words is None:
            continue
        parts = set(lv.partition_words) | {p.tensor for p in out
                                           if p.node == lv.name and p.key == "partition_words"}
        for p in out:
            if p.node == lv.name and p.key == "keeps":
                missing = sorted({t for v in p.values for t in v} - parts)
                if missing:
                    problems.append(f"levels.{lv.name}.keeps: {lv.name} has no partition for "
                                    f"{missing}; add them to partition_words")
    return out


def _node_parameters(node: StorageLevel | FanOut, key: str, value: Any, where: str,
                     base: Hierarchy, problems: list[str]) -> list[Parameter]:
    if isinstance(node, StorageLevel):
        if key == "capacity_words" and node.capacity_words is None:
            what = "per-tensor partitions: use partition_words" if node.bounded else _NO_CAPACITY
            problems.append(f"{where}: {node.name} has {what}")
            return []
        if key == "partition_words":
            if node.partition_words is None:
                what = "one shared capacity: use capacity_words" if node.bounded else _NO_CAPACITY
                problems.append(f"{where}: {node.name} has {what}")
                return []
            if not isinstance(value, Mapping):
                problems.append(f"{where}: expected {{tensor: size}}, got {short_repr(value)}")
                return []
            out = []
            for t, v in value.items():
                if t not in TENSORS:
                    problems.append(f"{where}.{t}: unknown tensor; use {' '.join(TENSORS)}")
                    continue
                values = _choices(v, f"{where}.{t}", key, problems)
                if values:
                    out.append(Parameter(node.name, key, values, t))
            return out
        if key == "keeps" and node is base.levels[0]:
            problems.append(f"{where}: the outermost level {node.name} keeps every tensor")
            return []
    values = _choices(value, where, key, problems)
    return [Parameter(node.name, key, values)] if values else []
