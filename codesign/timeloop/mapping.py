"""Timeloop v0.4 mappings (lists of temporal / spatial / dataspace directives) as a `LoopNest`.

- ``factors``: ``"R=3 P=1"``, ``"C1 M8"`` or a list of ``"R=3"``; dims not named are 1, and
  every dim's factors must multiply to at least its bound (a shortfall is an error).
- ``permutation``: Timeloop lists loops *inner to outer*; a `LoopNest` order is outer to inner.
- spatial ``split: k``: the first ``k`` dims of the permutation go on X, the rest on Y; with
  no split, all on X unless the fan-out is only a column (``meshX = 1``).
- a spatial target is the fan-out itself (a container's name), ``inter_<name>_spatial`` as
  the mapper writes it, or a storage level (the fan-out right below it).
- ``dataspace`` / ``datatype`` / ``bypass`` directives: ``keep`` and ``bypass`` lists.
"""

from __future__ import annotations

import math
import os
import re

from codesign.errors import ConfigError, short_repr
from codesign.hierarchy.levels import FanOut, Hierarchy, StorageLevel
from codesign.hierarchy.nest import LoopNest
from codesign.timeloop.files import load_yaml, section
from codesign.timeloop.problem import TimeloopProblem
from codesign.workload.layer import DIMS

__all__ = ["parse_mapping", "read_mapping"]

_FACTOR = re.compile(r"^([A-Za-z_][A-Za-z_0-9]*?)=?(\d+)$")


def _parse_factors(raw, where: str) -> dict[str, int]:
    if raw is None:
        return {}
    items = raw.split() if isinstance(raw, str) else raw
    if not isinstance(items, list):
        raise ConfigError(f"{where}.factors: expected 'D=n ...' or a list, got {short_repr(raw)}")
    out = {}
    for item in items:
        m = _FACTOR.match(str(item).strip())
        if not m:
            raise ConfigError(f"{where}.factors: cannot read {short_repr(item)} (write 'R=3')")
        out[m.group(1)] = int(m.group(2))
    return out


def _parse_permutation(raw, names: set[str], where: str) -> list[str]:
    """Dims inner -> outer as the file lists them."""
    if raw is None:
        return []
    if isinstance(raw, list):
        items = [str(x) for x in raw]
    elif isinstance(raw, str):
        items, rest = [], raw.strip()
        # single letters, or the longest dim name that matches
        while rest:
            match = max((n for n in names if rest.startswith(n)), key=len, default=None)
            if match is None:
                raise ConfigError(f"{where}.permutation: cannot read {short_repr(raw)}")
            items.append(match)
            rest = rest[len(match):]
    else:
        raise ConfigError(f"{where}.permutation: expected a string or list")
    return items


def _fanout_for(target: str, hierarchy: Hierarchy) -> FanOut | None:
    """The fan-out a spatial directive means: by its name, as ``inter_<name>_spatial``, or
    the fan-out right below a storage level of that name."""
    m = re.fullmatch(r"inter_(.+)_spatial", target)
    name = m.group(1) if m else target
    nodes = hierarchy.nodes
    for i, node in enumerate(nodes):
        if isinstance(node, FanOut) and node.name == name:
            return node
        if isinstance(node, StorageLevel) and node.name == target and i + 1 < len(nodes) \
                and isinstance(nodes[i + 1], FanOut):
            return nodes[i + 1]
    return None


def parse_mapping(data, hierarchy: Hierarchy, problem: TimeloopProblem,
                  path: str | os.PathLike = "mapping") -> LoopNest:
    """A `LoopNest` on ``hierarchy`` from parsed YAML (the ``mapping:`` list)."""
    data = section(data, "mapping", path)
    if not isinstance(data, list):
        raise ConfigError(f"{path}: expected a list of mapping directives")
    ours = problem.our_dim
    tensor_of = problem.tensor_of
    levels = set(hierarchy.level_names)
    file_dims = set(ours)
    factors: dict[str, dict[str, int]] = {}
    order: dict[str, tuple[str, ...]] = {}
    keep: dict[str, set[str]] = {}
    for i, d in enumerate(data):
        where = f"{path}: mapping[{i}]"
        if not isinstance(d, dict) or "target" not in d or "type" not in d:
            raise ConfigError(f"{where}: a directive needs a target and a type")
        target, kind = str(d["target"]), str(d["type"])
        where = f"{path}: {target} ({kind})"
        raw = _parse_factors(d.get("factors"), where)
        bad = sorted(set(raw) - file_dims)
        if bad:
            raise ConfigError(f"{where}: unknown dims {bad}; the problem has "
                              f"{sorted(file_dims)}")
        fac = {ours[k]: v for k, v in raw.items() if k in ours}
        perm = [ours[x] for x in _parse_permutation(d.get("permutation"), file_dims, where)
                if x in ours]
        if kind == "temporal":
            if target in levels:
                factors[target] = {k: v for k, v in fac.items() if v > 1}
                outer_to_inner = list(reversed(perm))
                order[target] = tuple(outer_to_inner)
            elif _fanout_for(target, hierarchy) is not None:
                if any(v > 1 for v in fac.values()):
                    raise ConfigError(f"{where}: temporal loops on a fan-out are not "
                                      f"supported")
            else:
                raise ConfigError(f"{where}: no storage level {target!r}; levels are "
                                  f"{', '.join(hierarchy.level_names)}")
        elif kind == "spatial":
            fan = _fanout_for(target, hierarchy)
            if fan is None:
                raise ConfigError(f"{where}: no fan-out at {target!r}; fan-outs are "
                                  f"{', '.join(f.name for f in hierarchy.fanouts) or 'none'}")
            split = d.get("split")
            listed = perm + [k for k in DIMS if k in fac and k not in perm]
            if split is None:
                split = len(listed) if (fan.x > 1 or fan.y == 1) else 0
            if not isinstance(split, int) or split < 0:
                raise ConfigError(f"{where}.split: expected a non-negative integer")
            x_dims = set(listed[:split])
            factors[f"{fan.name}.X"] = {k: v for k, v in fac.items() if v > 1 and k in x_dims}
            factors[f"{fan.name}.Y"] = {k: v for k, v in fac.items()
                                        if v > 1 and k not in x_dims}
        elif kind in ("dataspace", "datatype", "bypass"):
            if target not in levels:
                if _fanout_for(target, hierarchy) is not None:
                    continue
                raise ConfigError(f"{where}: no storage level {target!r}")
            for key in ("keep", "bypass"):
                names = d.get(key) or []
                unknown = [x for x in names if x not in tensor_of]
                if unknown:
                    raise ConfigError(f"{where}.{key}: unknown data spaces {unknown}")
            kept = keep.setdefault(target, set(hierarchy.levels[
                hierarchy.level_index(target)].keeps))
            kept |= {tensor_of[x] for x in d.get("keep") or []}
            kept -= {tensor_of[x] for x in d.get("bypass") or []}
        else:
            raise ConfigError(f"{where}: unknown directive type {kind!r}")
    # Timeloop: a dim a directive leaves out has factor 1 there; the factors of every dim
    # must cover the problem (more is ceil-padding)
    layer = problem.layer
    short_dims = []
    for dim, theirs in problem.dim_names.items():
        have = math.prod(f.get(dim, 1) for f in factors.values())
        if have < getattr(layer, dim):
            short_dims.append(f"{theirs} (factors multiply to {have}, the problem has "
                              f"{getattr(layer, dim)})")
    if short_dims:
        raise ConfigError(f"{path}: the mapping does not cover {', '.join(short_dims)}; "
                          f"give the missing factors at some level")
    nest = LoopNest(factors, order, {lv: tuple(sorted(k)) for lv, k in keep.items()})
    nest.check_keep(hierarchy)
    return nest


def read_mapping(path: str | os.PathLike, hierarchy: Hierarchy,
                 problem: TimeloopProblem) -> LoopNest:
    return parse_mapping(load_yaml(path), hierarchy, problem, path)
