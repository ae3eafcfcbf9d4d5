"""`LoopNest`: one layer's mapping on a `Hierarchy`, and its batched tensor form.

Per storage level: temporal factors and a loop order (outer -> inner); per fan-out: spatial
factors on X and Y; per level: the tensors it keeps, where the hierarchy leaves that to the
mapping. The JSON form extends DESIGN.md's (dims not named have factor 1)::

    {"temporal": {"DRAM": {"K": 4}, "GLB": {"P": 14, "C": 4}, "RF": {"R": 3}},
     "spatial": {"PE": {"X": {"C": 16}, "Y": {"K": 16}}},
     "order": {"GLB": ["C", "P"]},
     "keep": {"GLB": ["I", "O"]}}

DESIGN.md's v1 form (``spatial: {"rows": ..., "cols": ...}``) is read too: rows are the X
axis and cols the Y axis of the v1 hierarchy's one fan-out (`codesign.hierarchy.v1`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from codesign.errors import MappingError, unknown_keys
from codesign.hierarchy.levels import Hierarchy
from codesign.workload.layer import DIM_INDEX, DIMS, TENSORS

__all__ = ["LoopNest", "NestBatch"]


def parse_factors(raw: Any, where: str, problems: list[str]) -> dict[str, int]:
    """``{dim: factor}`` from JSON (factors of 1 dropped); problems appended, not raised."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected an object of dim -> factor, got "
                        f"{type(raw).__name__}")
        return {}
    out = {}
    for dim, value in raw.items():
        if dim not in DIMS:
            problems.append(f"{where}: unknown dim {dim!r} (dims are {' '.join(DIMS)})")
        elif not isinstance(value, int) or isinstance(value, bool) or value < 1:
            problems.append(f"{where}.{dim}: factor must be a positive integer, got {value!r}")
        elif value > 1:
            out[dim] = value
    return out


@dataclass(frozen=True)
class LoopNest:
    """Factors per slot name (`Hierarchy.slots`), orders per level, keep sets per level.

    ``order[level]`` lists dims outer -> inner; dims it omits follow innermost in `DIMS`
    order. ``keep[level]`` overrides the level's ``keeps`` (only within its
    ``bypass_choice``); levels not named keep what the hierarchy says.
    """

    factors: dict[str, dict[str, int]] = field(default_factory=dict)
    order: dict[str, tuple[str, ...]] = field(default_factory=dict)
    keep: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def factor(self, slot: str, dim: str) -> int:
        return self.factors.get(slot, {}).get(dim, 1)

    def full_order(self, level: str) -> tuple[str, ...]:
        given = tuple(self.order.get(level, ()))
        return given + tuple(d for d in DIMS if d not in given)

    @classmethod
    def from_json(cls, data: Any, hierarchy: Hierarchy) -> LoopNest:
        """Parse and check names against ``hierarchy``; every problem in one error."""
        problems: list[str] = []
        if not isinstance(data, dict):
            raise MappingError(f"mapping: expected an object, got {type(data).__name__}")
        problems += unknown_keys(data, ("temporal", "spatial", "order", "keep"), "mapping: ")
        levels = set(hierarchy.level_names)
        fanouts = [f.name for f in hierarchy.fanouts]
        factors: dict[str, dict[str, int]] = {}
        for level, raw in (data.get("temporal") or {}).items():
            if level not in levels:
                problems.append(f"temporal: unknown level {level!r}; levels are "
                                f"{', '.join(hierarchy.level_names)}")
                continue
            factors[level] = parse_factors(raw, f"temporal.{level}", problems)
        spatial = data.get("spatial") or {}
        if set(spatial) <= {"rows", "cols"} and spatial and len(fanouts) == 1:
            spatial = {fanouts[0]: {"X": spatial.get("rows"), "Y": spatial.get("cols")}}
        for name, axes in spatial.items():
            if name not in fanouts:
                problems.append(f"spatial: unknown fan-out {name!r}; fan-outs are "
                                f"{', '.join(fanouts) or 'none'}")
                continue
            if not isinstance(axes, dict) or not set(axes) <= {"X", "Y"}:
                problems.append(f"spatial.{name}: expected {{X: {{dim: factor}}, "
                                f"Y: {{dim: factor}}}}")
                continue
            for axis in ("X", "Y"):
                factors[f"{name}.{axis}"] = parse_factors(axes.get(axis), f"spatial.{name}.{axis}",
                                                     problems)
        order: dict[str, tuple[str, ...]] = {}
        for level, dims in (data.get("order") or {}).items():
            if level not in levels:
                problems.append(f"order: unknown level {level!r}")
                continue
            if not isinstance(dims, (list, tuple)) or any(d not in DIMS for d in dims) \
                    or len(set(dims)) != len(dims):
                problems.append(f"order.{level}: expected distinct dims from "
                                f"{' '.join(DIMS)}, got {dims!r}")
                continue
            order[level] = tuple(dims)
        keep: dict[str, tuple[str, ...]] = {}
        for level, tensors in (data.get("keep") or {}).items():
            if level not in levels:
                problems.append(f"keep: unknown level {level!r}")
                continue
            if not isinstance(tensors, (list, tuple)) or any(t not in TENSORS for t in tensors):
                problems.append(f"keep.{level}: expected tensors from {' '.join(TENSORS)}, "
                                f"got {tensors!r}")
                continue
            keep[level] = tuple(t for t in TENSORS if t in tensors)
        if problems:
            raise MappingError("; ".join(problems))
        nest = cls(factors, order, keep)
        nest.check_keep(hierarchy)
        return nest

    def to_json(self, hierarchy: Hierarchy) -> dict:
        temporal = {lv: dict(self.factors[lv]) for lv in hierarchy.level_names
                    if self.factors.get(lv)}
        spatial = {}
        for f in hierarchy.fanouts:
            axes = {a: dict(self.factors.get(f"{f.name}.{a}", {})) for a in ("X", "Y")}
            if any(axes.values()):
                spatial[f.name] = {a: v for a, v in axes.items() if v}
        out: dict[str, Any] = {"temporal": temporal, "spatial": spatial,
                               "order": {lv: list(o) for lv, o in self.order.items()}}
        if self.keep:
            out["keep"] = {lv: list(t) for lv, t in self.keep.items()}
        return out

    def check_keep(self, hierarchy: Hierarchy) -> None:
        problems = []
        for level in hierarchy.levels:
            if level.name not in self.keep:
                continue
            chosen = set(self.keep[level.name])
            fixed = set(level.keeps) - set(level.bypass_choice)
            if not chosen <= set(level.keeps):
                problems.append(f"keep.{level.name}: the level cannot hold "
                                f"{sorted(chosen - set(level.keeps))}")
            if not fixed <= chosen:
                problems.append(f"keep.{level.name}: the architecture makes it keep "
                                f"{sorted(fixed - chosen)}")
        if problems:
            raise MappingError("; ".join(problems))

    def kept(self, hierarchy: Hierarchy) -> tuple[tuple[bool, ...], ...]:
        """``[M][T]`` keep mask of this mapping on ``hierarchy``."""
        return tuple(tuple(t in self.keep.get(level.name, level.keeps) for t in TENSORS)
                     for level in hierarchy.levels)


@dataclass(frozen=True)
class NestBatch:
    """One `LoopNest` per (design, layer) on one `Hierarchy`.

    Shape:
        factors: ``[B, L, F, D]`` (slot order `Hierarchy.slots`, dims `DIMS`), int64 or
            float (a continuous relaxation).
        order: ``[B, L, M, D]`` int64: dim index of the ``j``-th loop (outer -> inner) of
            storage level ``m``; each row a permutation of ``range(D)``.
        keep: ``[B, L, M, T]`` bool, or None: every level keeps what the hierarchy says
            (the cost model then knows each level's child without reading the batch).
    """

    factors: torch.Tensor
    order: torch.Tensor
    keep: torch.Tensor | None = None

    @classmethod
    def from_nests(cls, hierarchy: Hierarchy, nests: Sequence[Sequence[LoopNest]],
                   device: torch.device | str | None = None) -> NestBatch:
        slots = [s.name for s in hierarchy.slots]
        factors = [[[[n.factor(s, d) for d in DIMS] for s in slots] for n in row]
                   for row in nests]
        order = [[[[DIM_INDEX[d] for d in n.full_order(lv)] for lv in hierarchy.level_names]
                  for n in row] for row in nests]
        kept = [[n.kept(hierarchy) for n in row] for row in nests]
        n_b = len(nests)
        n_l = len(nests[0]) if nests else 0
        m, f = len(hierarchy.levels), len(slots)
        return cls(
            torch.tensor(factors, dtype=torch.int64, device=device).reshape(n_b, n_l, f,
                                                                            len(DIMS)),
            torch.tensor(order, dtype=torch.int64, device=device).reshape(n_b, n_l, m,
                                                                          len(DIMS)),
            None if all(k == hierarchy.keep_mask for row in kept for k in row) else
            torch.tensor(kept, dtype=torch.bool, device=device).reshape(n_b, n_l, m,
                                                                        len(TENSORS)))
