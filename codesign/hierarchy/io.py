"""A `Hierarchy` as YAML: ``parse_hierarchy`` / ``generate_hierarchy`` and thin
``read_hierarchy`` / ``write_hierarchy`` wrappers.

The form (keys are the fields of `StorageLevel`, `FanOut` and `Compute`; a node is a
storage level or a fan-out by the key that names it; fields left out take their defaults)::

    name: eyeriss
    clock_mhz: 200
    nodes:                                  # outer to inner
      - {storage: DRAM, word_bits: 16, shared_bw: 4}
      - {storage: GLB, keeps: [I, O], capacity_words: 55296, shared_bw: 12}
      - {fanout: PE, x: 14, y: 12, x_dims: [P, Q], y_dims: [R, C, K]}
      - {storage: spad, partition_words: {W: 224, I: 12, O: 24}}
    compute: {name: MAC}

A file is read as a hierarchy when its top level holds ``nodes`` (a Timeloop v0.4 file wraps
its nodes in ``architecture:``; a v1 accelerator has ``pe_rows`` and the like):
`is_hierarchy_data`. Every problem of the file is reported at once, each with the node it
is in.
"""

from __future__ import annotations

import os
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from codesign.arch.io import load_yaml
from codesign.atomic import atomic_write_text
from codesign.errors import ArchError, ConfigError, short_repr, unknown_keys
from codesign.hierarchy.levels import Compute, FanOut, Hierarchy, StorageLevel
from codesign.workload.layer import TENSORS

__all__ = ["generate_hierarchy", "is_hierarchy_data", "parse_hierarchy", "read_hierarchy",
           "write_hierarchy"]

#: The key that names a node, and the class it makes.
_KINDS: dict[str, type] = {"storage": StorageLevel, "fanout": FanOut}
_TOP_KEYS = ("name", "clock_mhz", "nodes", "compute")
#: Fields holding a list of names (tensors or dims), written as YAML lists.
_NAME_LISTS = ("keeps", "bypass_choice", "x_dims", "y_dims")
#: Fields holding ``{tensor: number}`` (``word_bits`` may be one number for all tensors).
_TENSOR_MAPS = ("partition_words", "word_bits")
#: Fields that are true or false.
_FLAGS = ("multicast", "reduce")
#: Number fields where null means "none" (no capacity, unlimited bandwidth).
_OPTIONAL = ("capacity_words", "read_bw", "write_bw", "shared_bw")


def is_hierarchy_data(data: Any) -> bool:
    """Whether parsed YAML is this module's form (a top-level ``nodes``), not a Timeloop
    architecture (``architecture: {nodes: ...}``) or a v1 accelerator."""
    return isinstance(data, dict) and "nodes" in data and "architecture" not in data


def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls) if f.name != "name")


def _check_value(key: str, value: Any, where: str, problems: list[str]) -> Any:
    """Lists to tuples, and the types the dataclasses cannot check themselves."""
    if key in _NAME_LISTS:
        if value is None and key in ("x_dims", "y_dims"):
            return None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f"{where}.{key}: expected a list of names, got {short_repr(value)}")
            return MISSING
        bad = [v for v in value if v not in TENSORS] if key in ("keeps", "bypass_choice") \
            else []
        if bad:
            problems.append(f"{where}.{key}: unknown tensors {bad}; use {' '.join(TENSORS)}")
            return MISSING
        return tuple(value)
    if key in _TENSOR_MAPS:
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                problems.append(f"{where}.{key}: keys must be tensor names (W, I, O)")
                return MISSING
            return dict(value)
        if key == "word_bits" and not isinstance(value, (list, tuple)):
            return value
        problems.append(f"{where}.{key}: expected a mapping of tensor -> number, got "
                        f"{short_repr(value)}")
        return MISSING
    if key in _FLAGS:
        if not isinstance(value, bool):
            problems.append(f"{where}.{key}: expected true or false, got {short_repr(value)}")
            return MISSING
        return value
    if isinstance(value, (list, dict, bool)) or value is None and key not in _OPTIONAL:
        problems.append(f"{where}.{key}: expected a number, got {short_repr(value)}")
        return MISSING
    return value


def _build(cls: type, name: Any, raw: dict, where: str, skip: set[str],
           problems: list[str]) -> Any:
    """``cls(name, **raw)`` with unknown keys and bad values added to ``problems``."""
    known = _field_names(cls)
    kwargs = {}
    for key, value in raw.items():
        if key in skip:
            continue
        if key not in known:
            problems += unknown_keys([key], known, f"{where}: ")
            continue
        checked = _check_value(key, value, where, problems)
        if checked is not MISSING:
            kwargs[key] = checked
    if not isinstance(name, str) or not name:
        problems.append(f"{where}: the name must be a non-empty string, got {short_repr(name)}")
        return None
    try:
        return cls(name, **kwargs)
    except ArchError as exc:
        problems.append(f"{where}: {exc}")
    except (TypeError, ValueError) as exc:   # a value of a type the field cannot take
        problems.append(f"{where}: {exc}")
    return None


def _node(raw: Any, i: int, problems: list[str]) -> StorageLevel | FanOut | None:
    where = f"nodes[{i}]"
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a mapping with 'storage: NAME' or 'fanout: NAME', "
                        f"got {short_repr(raw)}")
        return None
    kinds = [k for k in _KINDS if k in raw]
    if len(kinds) != 1:
        problems.append(f"{where}: give exactly one of 'storage: NAME' (a storage level) or "
                        f"'fanout: NAME' (a spatial fan-out), got keys {sorted(map(str, raw))}")
        return None
    kind = kinds[0]
    name = raw[kind]
    return _build(_KINDS[kind], name, raw, f"{where} ({name})", {kind}, problems)


def parse_hierarchy(data: Any, source: str = "hierarchy") -> Hierarchy:
    """A `Hierarchy` from plain data in the module docstring's form; `ConfigError` listing
    every problem (``source`` names the input).

    >>> h = parse_hierarchy({"name": "toy", "nodes": [{"storage": "DRAM"},
    ...     {"fanout": "PE", "x": 4}, {"storage": "RF", "capacity_words": 64}]})
    >>> h.level_names, h.n_compute
    (('DRAM', 'RF'), 4)
    >>> parse_hierarchy({"nodes": [{"storage": "DRAM", "size": 1}, {"fanout": "PE", "x": 0}]},
    ...                 "h.yaml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    codesign.errors.ConfigError: h.yaml: nodes[0] (DRAM): unknown key 'size'...; nodes[1] (PE): ...
    """
    if not is_hierarchy_data(data):
        raise ConfigError(f"{source}: expected a hierarchy, a mapping with 'nodes' (storage "
                          f"levels and fan-outs, outer to inner), got {short_repr(data)}")
    problems: list[str] = []
    problems += unknown_keys(data, _TOP_KEYS)
    raw_nodes = data["nodes"]
    nodes: list = []
    if not isinstance(raw_nodes, list) or not raw_nodes:
        problems.append(f"nodes: expected a non-empty list, got {short_repr(raw_nodes)}")
    else:
        nodes = [_node(raw, i, problems) for i, raw in enumerate(raw_nodes)]
    compute = Compute()
    if "compute" in data:
        raw = data["compute"]
        if not isinstance(raw, dict):
            problems.append(f"compute: expected a mapping, got {short_repr(raw)}")
        else:
            compute = _build(Compute, raw.get("name", "MAC"), raw, "compute", {"name"},
                             problems) or compute
    name = data.get("name", Path(source).stem)
    if not isinstance(name, str) or not name:
        problems.append(f"name: expected a non-empty string, got {short_repr(name)}")
    clock = data.get("clock_mhz", 1000.0)
    if not problems:
        try:
            return Hierarchy(name, tuple(nodes), compute, clock_mhz=clock)
        except ArchError as exc:
            problems.append(str(exc))
    raise ConfigError(f"{source}: " + "; ".join(problems))


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


def _non_default(obj: Any, skip: str = "name") -> dict:
    out = {}
    for f in fields(obj):
        if f.name == skip:
            continue
        value = getattr(obj, f.name)
        default = f.default if f.default is not MISSING else MISSING
        if f.name == "word_bits" and isinstance(value, dict) and len(set(value.values())) == 1:
            value = next(iter(value.values()))    # one width for every tensor: one number
        if f.name == "keeps" and set(value) == set(TENSORS):
            continue
        if value != default:
            out[f.name] = _plain(value)
    return out


def generate_hierarchy(hierarchy: Hierarchy) -> dict:
    """Plain data for ``hierarchy`` (the inverse of `parse_hierarchy`; fields at their
    defaults left out)."""
    nodes = []
    for node in hierarchy.nodes:
        kind = "storage" if isinstance(node, StorageLevel) else "fanout"
        nodes.append({kind: node.name, **_non_default(node)})
    data: dict[str, Any] = {"name": hierarchy.name, "clock_mhz": hierarchy.clock_mhz,
                            "nodes": nodes}
    compute = {"name": hierarchy.compute.name, **_non_default(hierarchy.compute)}
    data["compute"] = compute
    return data


def read_hierarchy(path: str | os.PathLike) -> Hierarchy:
    """Read a hierarchy YAML file (`parse_hierarchy`)."""
    return parse_hierarchy(load_yaml(path), str(path))


def write_hierarchy(hierarchy: Hierarchy, path: str | os.PathLike) -> None:
    """Write ``hierarchy`` to a YAML file (atomically)."""
    import yaml

    atomic_write_text(path, yaml.safe_dump(generate_hierarchy(hierarchy), sort_keys=False))
