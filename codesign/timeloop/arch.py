"""Timeloop v0.4 architectures (``nodes``) and Accelergy ERTs as a `Hierarchy`.

The flattened v0.4 form: a list of ``!Container`` (a ``spatial: {meshX, meshY}`` on one is a
fan-out; the first one's ``global_cycle_seconds`` sets the clock), ``!Component`` (a storage
class such as DRAM, SRAM, regfile, smartbuffer_*, storage; or a MAC class: the compute) and
``!Parallel`` groups, flattened in order (docs/COST_MODEL.md, "Hierarchies"). A component
with a ``spatial`` mesh of its own gets a fan-out just above it. Storage attributes read:
``depth``, ``width``, ``datawidth``, ``block_size``, ``read_bandwidth``,
``write_bandwidth``, ``shared_bandwidth``, ``multiple_buffering``; dataspace constraints
(``keep``/``bypass``) fix what a level holds, the rest is the mapping's choice.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, replace

from codesign.errors import ConfigError, short_repr
from codesign.hierarchy.levels import Compute, FanOut, Hierarchy, StorageLevel
from codesign.timeloop.files import load_yaml, section
from codesign.workload.layer import TENSORS

__all__ = ["TimeloopArch", "ert_mismatches", "parse_arch", "parse_ert", "read_arch", "read_ert",
           "to_hierarchy"]

_COMPUTE_CLASSES = ("mac", "intmac", "fpmac", "compute", "multiplier")
_STORAGE_CLASSES = ("dram", "sram", "regfile", "smartbuffer", "storage", "buffer", "register")


@dataclass(frozen=True)
class TimeloopArch:
    """What the arch file says, before energies: the nodes outer to inner, as dicts with
    ``kind`` storage / fanout / compute; a storage node's ``keep`` / ``bypass`` use the
    file's data-space names (resolved against a problem by `to_hierarchy`).
    """

    name: str
    nodes: tuple[dict, ...]          # {"kind": "storage"|"fanout"|"compute", ...}
    cycle_seconds: float


def _number(attrs: dict, key: str, where: str, default=None):
    value = attrs.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(f"{where}.attributes.{key}: expected a positive number, got "
                          f"{short_repr(value)}")
    return value


def _names(value, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of data-space names, got {short_repr(value)}")
    return tuple(value)


def parse_arch(data, path: str | os.PathLike = "arch") -> TimeloopArch:
    """A `TimeloopArch` from parsed YAML (the ``architecture:`` section or the file)."""
    data = section(data, "architecture", path)
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        raise ConfigError(f"{path}: expected architecture.nodes (Timeloop v0.4's flattened "
                          f"form); the older 'subtree' form is not read")
    out: list[dict] = []
    cycle = [None]

    def walk(nodes, where):
        for i, node in enumerate(nodes):
            at = f"{path}: {where}[{i}]"
            if not isinstance(node, dict) or "!" not in node:
                raise ConfigError(f"{at}: expected a !Container, !Component or !Parallel")
            tag, name = node["!"], node.get("name")
            attrs = node.get("attributes") or {}
            if not isinstance(attrs, dict):
                raise ConfigError(f"{at}.attributes: expected a mapping")
            if tag == "Parallel":
                walk(node.get("nodes") or [], f"{where}[{i}].nodes")
                continue
            if not isinstance(name, str) or not name:
                raise ConfigError(f"{at}: a {tag} needs a name")
            at = f"{path}: {name}"
            if "global_cycle_seconds" in attrs and cycle[0] is None:
                cycle[0] = float(attrs["global_cycle_seconds"])
            mesh = node.get("spatial") or {}
            if not isinstance(mesh, dict) or not set(mesh) <= {"meshX", "meshY"}:
                raise ConfigError(f"{at}.spatial: expected {{meshX: n, meshY: n}}")
            for key in ("meshX", "meshY"):
                v = mesh.get(key, 1)
                if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                    raise ConfigError(f"{at}.spatial.{key}: expected a positive integer, got "
                                      f"{short_repr(v)}")
            cons = node.get("constraints") or {}
            if not isinstance(cons, dict):
                raise ConfigError(f"{at}.constraints: expected a mapping")
            if mesh and math.prod(mesh.values()) > 1:
                out.append({"kind": "fanout", "name": name, "x": mesh.get("meshX", 1),
                            "y": mesh.get("meshY", 1), "constraints": cons.get("spatial")})
            if tag == "Container":
                continue
            if tag != "Component":
                raise ConfigError(f"{at}: unknown node type !{tag}")
            cls = str(node.get("class", "")).lower()
            if any(c in cls for c in _COMPUTE_CLASSES) and not any(
                    s in cls for s in _STORAGE_CLASSES):
                out.append({"kind": "compute", "name": name})
                continue
            if not any(s in cls for s in _STORAGE_CLASSES):
                raise ConfigError(f"{at}: class {short_repr(node.get('class'))} is neither a "
                                  f"storage nor a compute class")
            datawidth = _number(attrs, "datawidth", at, 8) or 8
            width = _number(attrs, "width", at, datawidth)
            depth = _number(attrs, "depth", at)
            block = attrs.get("block_size")
            if block is None:
                block = max(1, int(width // datawidth))
            elif not isinstance(block, int) or block < 1:
                raise ConfigError(f"{at}.attributes.block_size: expected a positive integer")
            ds = cons.get("dataspace") or {}
            out.append({
                "kind": "storage", "name": name,
                "capacity": None if depth is None or "dram" in cls else int(depth) * block,
                "block": int(block), "word_bits": int(datawidth),
                "read_bw": _number(attrs, "read_bandwidth", at),
                "write_bw": _number(attrs, "write_bandwidth", at),
                "shared_bw": _number(attrs, "shared_bandwidth", at),
                "multiple_buffering": _number(attrs, "multiple_buffering", at, 1.0),
                "keep": _names(ds.get("keep"), f"{at}.constraints.dataspace.keep"),
                "bypass": _names(ds.get("bypass"), f"{at}.constraints.dataspace.bypass"),
                "temporal": cons.get("temporal"),
            })

    walk(data["nodes"], "nodes")
    if not any(n["kind"] == "storage" for n in out):
        raise ConfigError(f"{path}: no storage level")
    if not out or out[-1]["kind"] != "compute":
        raise ConfigError(f"{path}: the last component must be the compute unit (a MAC)")
    if sum(n["kind"] == "compute" for n in out) != 1:
        raise ConfigError(f"{path}: expected one compute component")
    name = next((n.get("name") for n in data["nodes"] if isinstance(n, dict)), "") or ""
    return TimeloopArch(str(name), tuple(out), cycle[0] or 1e-9)


def read_arch(path: str | os.PathLike) -> TimeloopArch:
    return parse_arch(load_yaml(path), path)


_TABLE_NAME = re.compile(r"(?:.*\.)?([^.\[\]]+)(?:\[(\d+)\.\.(\d+)\])?$")


#: Key of `parse_ert`'s result holding ``{component: instances}`` from the table names
#: (``System.GlobalBuffer[1..16]``): the architecture the ERT was generated for.
_INSTANCES = "__instances__"


def parse_ert(data, path: str | os.PathLike = "ERT") -> dict[str, dict[str, float]]:
    """``{component: {action: pJ}}`` from an Accelergy ERT (``ERT.tables``). Where an action
    is listed with several argument sets, the first is taken. The instance counts in the
    table names are kept under ``"__instances__"`` (see `ert_mismatches`)."""
    data = section(data, "ERT", path)
    tables = data.get("tables") if isinstance(data, dict) else None
    if not isinstance(tables, list):
        raise ConfigError(f"{path}: expected ERT.tables, a list")
    out: dict[str, dict[str, float]] = {}
    for i, table in enumerate(tables):
        if not isinstance(table, dict) or not isinstance(table.get("name"), str):
            raise ConfigError(f"{path}: tables[{i}] needs a name")
        match = _TABLE_NAME.match(table["name"])
        comp = match.group(1) if match else table["name"]
        if match and match.group(2) is not None:
            out.setdefault(_INSTANCES, {})[comp] = int(match.group(3)) - int(match.group(2)) + 1
        actions = out.setdefault(comp, {})
        for j, action in enumerate(table.get("actions") or []):
            if not isinstance(action, dict) or "name" not in action:
                raise ConfigError(f"{path}: {table['name']}.actions[{j}] needs a name")
            energy = action.get("energy")
            if isinstance(energy, bool) or not isinstance(energy, (int, float)) or energy < 0:
                raise ConfigError(f"{path}: {table['name']}.{action['name']}.energy: expected "
                                  f"a non-negative number, got {short_repr(energy)}")
            actions.setdefault(str(action["name"]), float(energy))
    return out


def read_ert(path: str | os.PathLike) -> dict[str, dict[str, float]]:
    return parse_ert(load_yaml(path), path)


def ert_mismatches(hierarchy: Hierarchy, ert: dict) -> list[str]:
    """Components whose instance count in the ERT's table names differs from the
    hierarchy's: the ERT (and any stats beside it) was made for another architecture."""
    counts = ert.get(_INSTANCES, {})
    have = dict(zip(hierarchy.level_names, hierarchy.instances, strict=True))
    have[hierarchy.compute.name] = hierarchy.n_compute
    return [f"{name}: {counts[name]} instances in the ERT, {n} in the architecture"
            for name, n in have.items() if name in counts and counts[name] != n]


def to_hierarchy(arch: TimeloopArch, tensor_of: dict[str, str],
                 ert: dict[str, dict[str, float]] | None = None) -> Hierarchy:
    """The `Hierarchy` of ``arch``, data-space names resolved by ``tensor_of`` (file name ->
    W/I/O), energies from ``ert`` (0 where it has none)."""
    ert = ert or {}
    nodes: list = []
    compute = None
    for n in arch.nodes:
        if n["kind"] == "fanout":
            nodes.append(FanOut(n["name"], x=n["x"], y=n["y"]))
        elif n["kind"] == "compute":
            e = ert.get(n["name"], {})
            compute = Compute(n["name"], mac_pj=e.get("compute", 0.0), leak_pj=e.get("leak", 0.0))
        else:
            def resolve(names, what, n=n):
                bad = [x for x in names if x not in tensor_of]
                if bad:
                    raise ConfigError(f"{n['name']}: constraints.dataspace.{what} names "
                                      f"unknown data spaces {bad}; the problem has "
                                      f"{sorted(tensor_of)}")
                return {tensor_of[x] for x in names}
            keep, bypass = resolve(n["keep"], "keep"), resolve(n["bypass"], "bypass")
            keeps = tuple(t for t in TENSORS if t not in bypass)
            choice = tuple(t for t in keeps if t not in keep)
            e = ert.get(n["name"], {})
            nodes.append(StorageLevel(
                n["name"], keeps=keeps, capacity_words=n["capacity"], word_bits=n["word_bits"],
                block_words=n["block"], read_bw=n["read_bw"], write_bw=n["write_bw"],
                shared_bw=n["shared_bw"], multiple_buffering=n["multiple_buffering"],
                read_pj=e.get("read", 0.0), fill_pj=e.get("write", 0.0),
                update_pj=e.get("update", e.get("write", 0.0)), leak_pj=e.get("leak", 0.0),
                bypass_choice=choice))
    if nodes and isinstance(nodes[0], StorageLevel) and set(nodes[0].keeps) != set(TENSORS):
        first = nodes[0]
        nodes[0] = replace(first, keeps=TENSORS, bypass_choice=())
    return Hierarchy(arch.name or "timeloop", tuple(nodes), compute or Compute(),
                     clock_mhz=1e-6 / arch.cycle_seconds)
