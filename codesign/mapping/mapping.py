"""`Mapping`: the schedule of one layer on one accelerator, in the JSON form of DESIGN.md.

A loop nest, outer to inner: DRAM temporal loops -> GLB temporal loops -> spatial rows/cols
-> RF temporal loops -> MAC. Dims not named have factor 1; orders list loops outer -> inner::

    {"spatial": {"rows": {"C": 16}, "cols": {"K": 16}},
     "temporal": {"RF": {"R": 3, "S": 3}, "GLB": {"P": 14, "Q": 14, "C": 4}, "DRAM": {"K": 4}},
     "order": {"RF": ["R", "S"], "GLB": ["C", "P", "Q"], "DRAM": ["K"]}}
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from codesign.errors import MappingError, unknown_keys
from codesign.hierarchy.nest import parse_factors
from codesign.hierarchy.v1 import V1_LEVELS
from codesign.workload.layer import DIMS

if TYPE_CHECKING:  # pragma: no cover
    from codesign.arch.accelerator import Accelerator
    from codesign.workload.layer import Layer

__all__ = ["FACTOR_LEVELS", "SPATIAL_AXES", "TEMPORAL_LEVELS", "Mapping"]

#: Temporal levels, outer to inner: the v1 hierarchy's storage levels (one tuple, defined there).
TEMPORAL_LEVELS: tuple[str, ...] = V1_LEVELS
#: Spatial axes of the PE array.
SPATIAL_AXES: tuple[str, ...] = ("rows", "cols")
#: All factor slots of the nest, outer to inner: the ``[..., 5, D]`` axis of `MappingBatch`.
#: The spatial slots sit between the last two temporal levels (the array feeds the RFs).
FACTOR_LEVELS: tuple[str, ...] = (*TEMPORAL_LEVELS[:-1], *SPATIAL_AXES, TEMPORAL_LEVELS[-1])
_LEVEL_LIST = ", ".join(reversed(TEMPORAL_LEVELS))  # inner first, as JSON files list them


# one parser for {dim: factor} objects, shared with the hierarchy's loop nests
_clean_factors = parse_factors


@dataclass(frozen=True)
class Mapping:
    """Per-level factors and loop orders. Missing dims have factor 1.

    ``order[level]`` lists dims outer -> inner; dims with factor > 1 that it omits are
    placed innermost in `DIMS` order (see `full_order`).

    >>> m = Mapping.from_json({"spatial": {"rows": {"C": 4}}, "temporal": {"RF": {"K": 2}}})
    >>> m.factor("rows", "C"), m.factor("RF", "K"), m.factor("GLB", "K")
    (4, 2, 1)
    """

    spatial: dict[str, dict[str, int]] = field(default_factory=dict)
    temporal: dict[str, dict[str, int]] = field(default_factory=dict)
    order: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def factor(self, level: str, dim: str) -> int:
        """Factor of ``dim`` at ``level`` (one of `FACTOR_LEVELS`)."""
        source = self.spatial if level in SPATIAL_AXES else self.temporal
        return source.get(level, {}).get(dim, 1)

    def factor_table(self) -> list[list[int]]:
        """Every factor: ``[F][D]`` in `FACTOR_LEVELS` x `DIMS` order (a `MappingBatch`
        entry's layout; `tile_boxes` reads it)."""
        return [[self.factor(level, d) for d in DIMS] for level in FACTOR_LEVELS]

    def total(self, dim: str) -> int:
        """Product of the factors of ``dim`` over all levels (>= the layer's bound)."""
        return math.prod(self.factor(level, dim) for level in FACTOR_LEVELS)

    def validate(self, layer: Layer, accelerator: Accelerator) -> None:
        """Raise `MappingError` listing every problem `mapping_problems` finds (coverage,
        array size, dataflow, RF and GLB capacity); return None if the mapping is valid."""
        from codesign.mapping.validate import mapping_problems

        problems = mapping_problems(layer, accelerator, self)
        if problems:
            where = f"layer {layer.name!r}" if layer.name else "mapping"
            raise MappingError(f"{where}: " + "; ".join(problems))

    def full_order(self, level: str) -> tuple[str, ...]:
        """All 8 dims at a temporal level, outer -> inner: the listed ones first."""
        listed = tuple(self.order.get(level, ()))
        return listed + tuple(d for d in DIMS if d not in listed)

    # -- JSON ---------------------------------------------------------------------------
    @classmethod
    def from_json(cls, data: dict, where: str = "mapping") -> Mapping:
        """Parse the JSON form; raise `MappingError` listing every problem at once."""
        problems: list[str] = []
        if not isinstance(data, dict):
            raise MappingError(f"{where}: expected a JSON object, got {type(data).__name__}")
        problems += unknown_keys(data, ("spatial", "temporal", "order"), f"{where}: ")
        spatial_raw = data.get("spatial") or {}
        temporal_raw = data.get("temporal") or {}
        order_raw = data.get("order") or {}
        spatial = {}
        for axis, raw in (spatial_raw.items() if isinstance(spatial_raw, dict) else ()):
            if axis not in SPATIAL_AXES:
                problems.append(f"{where}.spatial: unknown axis {axis!r} (use rows, cols)")
                continue
            spatial[axis] = _clean_factors(raw, f"{where}.spatial.{axis}", problems)
        temporal = {}
        for level, raw in (temporal_raw.items() if isinstance(temporal_raw, dict) else ()):
            if level not in TEMPORAL_LEVELS:
                problems.append(f"{where}.temporal: unknown level {level!r} (use {_LEVEL_LIST})")
                continue
            temporal[level] = _clean_factors(raw, f"{where}.temporal.{level}", problems)
        order = {}
        for level, dims in (order_raw.items() if isinstance(order_raw, dict) else ()):
            if level not in TEMPORAL_LEVELS:
                problems.append(f"{where}.order: unknown level {level!r} (use {_LEVEL_LIST})")
            elif not isinstance(dims, list) or any(d not in DIMS for d in dims):
                problems.append(f"{where}.order.{level}: expected a list of dims, got {dims!r}")
            elif len(set(dims)) != len(dims):
                problems.append(f"{where}.order.{level}: a dim is listed twice in {dims!r}")
            else:
                order[level] = tuple(dims)
        if problems:
            raise MappingError("; ".join(problems))
        return cls(spatial, temporal, order)

    def to_json(self) -> dict:
        """The JSON form; factors of 1 and empty levels are left out, orders list all loops
        with a factor > 1 at their level."""
        out: dict[str, dict] = {"spatial": {}, "temporal": {}, "order": {}}
        for axis in SPATIAL_AXES:
            factors = {d: self.factor(axis, d) for d in DIMS if self.factor(axis, d) > 1}
            if factors:
                out["spatial"][axis] = factors
        for level in reversed(TEMPORAL_LEVELS):
            order = [d for d in self.full_order(level) if self.factor(level, d) > 1]
            if order:
                out["temporal"][level] = {d: self.factor(level, d) for d in order}
                out["order"][level] = order
        return out

    @classmethod
    def read(cls, path: str | Path) -> Mapping:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MappingError(f"{path}: cannot read mapping JSON: {exc}") from None
        return cls.from_json(data, where=str(path))

    def write(self, path: str | Path) -> None:
        """Write the JSON form to ``path`` (atomically: never half a file)."""
        from codesign.atomic import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_json(), indent=2) + "\n")
