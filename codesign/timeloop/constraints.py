"""Timeloop v0.4 mapspace constraints (a constraints file, and those inside an arch) as
`MapConstraints`.

Directives (``targets:`` list, or ``mapspace_constraints: {targets: ...}``):

- ``temporal``: ``factors: R=1 P=16`` fix those dims' factors at the level (1: no loop of
  that dim there; dims not named are free); ``permutation: PRK`` (inner to outer, as
  Timeloop writes it) pins those dims innermost in that order, the rest free above them;
- ``spatial`` (a fan-out, ``inter_<name>_spatial`` or the level above it): ``factors`` as
  above, split over X and Y by the permutation: its first ``split`` dims may only go on X,
  the others only on Y (no ``split``: all on X, or all on Y for a column ``meshX = 1``);
  dims the permutation does not list may go on either axis;
- ``dataspace`` / ``datatype`` / ``bypass``: ``keep`` / ``bypass`` lists of data spaces.

Inside an architecture, a node's ``constraints: {temporal: ..., dataspace: ...}`` (storage)
and ``constraints: {spatial: ...}`` (a container with a mesh) say the same.
"""

from __future__ import annotations

import os

from codesign.errors import ConfigError, MappingError, short_repr
from codesign.hierarchy.levels import FanOut, Hierarchy
from codesign.hierarchy.mapspace import MapConstraints
from codesign.timeloop.arch import TimeloopArch, read_arch, read_ert, to_hierarchy
from codesign.timeloop.files import load_yaml, section
from codesign.timeloop.mapping import _fanout_for, _parse_factors, _parse_permutation
from codesign.timeloop.problem import TimeloopProblem, read_problem
from codesign.workload.layer import DIMS

__all__ = ["arch_constraints", "parse_constraints", "read_constraints", "read_mapspace"]


class _Builder:
    def __init__(self, hierarchy: Hierarchy, problem: TimeloopProblem) -> None:
        self.h = hierarchy
        self.ours = problem.our_dim
        self.tensor_of = problem.tensor_of
        self.factors: dict[str, dict[str, int]] = {}
        self.innermost: dict[str, tuple[str, ...]] = {}
        self.keep: dict[str, tuple[str, ...]] = {}
        self.bypass: dict[str, tuple[str, ...]] = {}
        self.spatial_dims: dict[str, tuple[str, ...]] = {}

    def dims(self, d: dict, where: str) -> tuple[dict[str, int], list[str]]:
        raw = _parse_factors(d.get("factors"), where)
        for k, v in raw.items():
            if v < 1:
                raise ConfigError(f"{where}.factors: {k}={v}: only positive factors are "
                                  f"read (Timeloop's 0, 'the rest', is not)")
        bad = sorted(set(raw) - set(self.ours))
        if bad:
            raise ConfigError(f"{where}: unknown dims {bad}; the problem has "
                              f"{sorted(self.ours)}")
        perm = [self.ours[x] for x in _parse_permutation(d.get("permutation"),
                                                         set(self.ours), where)]
        return {self.ours[k]: v for k, v in raw.items()}, perm

    def temporal(self, level: str, d: dict, where: str) -> None:
        fac, perm = self.dims(d, where)
        self.factors.setdefault(level, {}).update(fac)
        if perm:
            self.innermost[level] = tuple(perm)

    def spatial(self, fan: FanOut, d: dict, where: str) -> None:
        fac, perm = self.dims(d, where)
        split = d.get("split")
        if split is None:
            split = len(perm) if (fan.x > 1 or fan.y == 1) else 0
        if not isinstance(split, int) or isinstance(split, bool) or split < 0:
            raise ConfigError(f"{where}.split: expected a non-negative integer, got "
                              f"{short_repr(split)}")
        on_x, on_y = set(perm[:split]), set(perm[split:])
        x: dict[str, int] = {}
        y: dict[str, int] = {}
        for k, v in fac.items():     # a factor > 1 on its axis (unlisted dims: on X)
            if v == 1:
                x[k] = y[k] = 1
            elif k in on_y:
                y[k], x[k] = v, 1
            else:
                x[k], y[k] = v, 1
        self.factors.setdefault(f"{fan.name}.X", {}).update(x)
        self.factors.setdefault(f"{fan.name}.Y", {}).update(y)
        if perm:
            free = [k for k in DIMS if k not in perm]
            self.spatial_dims[f"{fan.name}.X"] = tuple(k for k in DIMS if k in on_x or k in free)
            self.spatial_dims[f"{fan.name}.Y"] = tuple(k for k in DIMS if k in on_y or k in free)

    def dataspace(self, level: str, d: dict, where: str) -> None:
        for key, table in (("keep", self.keep), ("bypass", self.bypass)):
            names = d.get(key) or []
            if isinstance(names, str):
                names = [names]
            if not isinstance(names, list):
                raise ConfigError(f"{where}.{key}: expected a list of data spaces")
            unknown = [x for x in names if x not in self.tensor_of]
            if unknown:
                raise ConfigError(f"{where}.{key}: unknown data spaces {unknown}; the "
                                  f"problem has {sorted(self.tensor_of)}")
            table[level] = tuple(sorted(set(table.get(level, ())) |
                                        {self.tensor_of[x] for x in names}))

    def directive(self, d, where: str) -> None:
        if not isinstance(d, dict) or "target" not in d or "type" not in d:
            raise ConfigError(f"{where}: a constraint needs a target and a type")
        target, kind = str(d["target"]), str(d["type"])
        where = f"{where} ({target}, {kind})"
        levels = set(self.h.level_names)
        if kind == "temporal":
            if target in levels:
                self.temporal(target, d, where)
            elif _fanout_for(target, self.h) is None:
                raise ConfigError(f"{where}: no storage level {target!r}; levels are "
                                  f"{', '.join(self.h.level_names)}")
        elif kind == "spatial":
            fan = _fanout_for(target, self.h)
            if fan is None:
                raise ConfigError(f"{where}: no fan-out at {target!r}; fan-outs are "
                                  f"{', '.join(f.name for f in self.h.fanouts) or 'none'}")
            self.spatial(fan, d, where)
        elif kind in ("dataspace", "datatype", "bypass"):
            if target in levels:
                self.dataspace(target, d, where)
            elif _fanout_for(target, self.h) is None:
                raise ConfigError(f"{where}: no storage level {target!r}")
        elif kind not in ("utilization", "max_overbooked_proportion"):
            raise ConfigError(f"{where}: unknown constraint type {kind!r}")

    def result(self) -> MapConstraints:
        cons = MapConstraints(self.factors, self.innermost, self.keep, self.bypass,
                              self.spatial_dims)
        try:
            cons.check(self.h)
        except MappingError as e:       # names the file's constraints: a file error
            raise ConfigError(str(e)) from None
        return cons


def parse_constraints(data, hierarchy: Hierarchy, problem: TimeloopProblem,
                      path: str | os.PathLike = "constraints") -> MapConstraints:
    """`MapConstraints` from a parsed constraints file (names resolved by ``problem``)."""
    for key in ("mapspace_constraints", "mapspace", "constraints"):
        if isinstance(data, dict) and key in data:
            data = section(data, key, path)
            break
    if data is None:
        raise ConfigError(f"{path}: empty file")
    if isinstance(data, dict):
        data = data.get("targets", [])
    if not isinstance(data, list):
        raise ConfigError(f"{path}: expected mapspace_constraints.targets, a list")
    b = _Builder(hierarchy, problem)
    for i, d in enumerate(data):
        b.directive(d, f"{path}: targets[{i}]")
    return b.result()


def read_constraints(path: str | os.PathLike, hierarchy: Hierarchy,
                     problem: TimeloopProblem) -> MapConstraints:
    return parse_constraints(load_yaml(path), hierarchy, problem, path)


def arch_constraints(arch: TimeloopArch, hierarchy: Hierarchy,
                     problem: TimeloopProblem) -> MapConstraints:
    """The temporal and spatial constraints written inside the architecture (its
    ``dataspace`` ones are already the hierarchy's keeps, `to_hierarchy`)."""
    b = _Builder(hierarchy, problem)
    for node in arch.nodes:
        where = f"{arch.name or 'arch'}: {node['name']}.constraints"
        if node["kind"] == "storage" and node.get("temporal"):
            if not isinstance(node["temporal"], dict):
                raise ConfigError(f"{where}.temporal: expected a mapping")
            b.temporal(node["name"], node["temporal"], f"{where}.temporal")
        elif node["kind"] == "fanout" and node.get("constraints"):
            if not isinstance(node["constraints"], dict):
                raise ConfigError(f"{where}.spatial: expected a mapping")
            fan = next(f for f in hierarchy.fanouts if f.name == node["name"])
            b.spatial(fan, node["constraints"], f"{where}.spatial")
    return b.result()


def read_mapspace(arch: str | os.PathLike, problem: str | os.PathLike,
                  ert: str | os.PathLike | None = None,
                  constraints: str | os.PathLike | None = None
                  ) -> tuple[Hierarchy, TimeloopProblem, MapConstraints]:
    """What `codesign map --arch` searches: the hierarchy of ``arch`` (energies from
    ``ert``; without one every energy is 0), the problem, and the constraints inside the
    arch merged with those of a ``constraints`` file (the file's win)."""
    prob = read_problem(problem)
    tl_arch = read_arch(arch)
    hierarchy = to_hierarchy(tl_arch, prob.tensor_of, read_ert(ert) if ert else None)
    cons = arch_constraints(tl_arch, hierarchy, prob)
    if constraints is not None:
        cons = cons.merged(read_constraints(constraints, hierarchy, prob))
    return hierarchy, prob, cons
