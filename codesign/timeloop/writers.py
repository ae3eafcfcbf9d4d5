"""Timeloop v0.4 files out: a `Hierarchy`, a `Layer` and a `LoopNest` as plain data, then YAML.

The inverse of the readers beside it. `generate_arch`, `generate_ert`, `generate_problem`
and `generate_mapping` return the plain data `codesign.timeloop.files.load_yaml` gives for
such a file (a tag as ``{"!": "Component", ...}``), so ``parse_arch(generate_arch(h))``
needs no file; `dump_yaml` turns it into YAML text with the ``!Container`` / ``!Component``
tags and `write_yaml` writes it atomically.

The files follow the shape of the reference cases (``../shared/timeloop-reference/``): an
architecture of ``nodes`` (a top ``!Container`` holding ``global_cycle_seconds``, one
``!Component`` per storage level with ``depth``, ``width``, ``datawidth``, ``block_size``
and its bandwidths, one ``!Container`` with ``spatial: {meshX, meshY}`` per fan-out, the
MAC last), an Accelergy ERT with ``read``/``write``/``update``/``leak`` per storage level
(``write`` is a fill) and ``compute`` for the MAC, the conv problem of the layer shapes
folders (``Weights``/``Inputs``/``Outputs``, dims ``C M R S N P Q G``, strides and
dilations as ``Wstride``/``Hstride``/``Wdilation``/``Hdilation``), and mapping directives
(temporal factors and permutation per level, spatial factors with ``split`` per fan-out,
``datatype`` keep/bypass per level).

A Timeloop spatial directive gives each dim one factor, so a nest that unrolls one dim on
both X and Y of a fan-out cannot be written as it is; `flatten_fanouts` and `flatten_nest`
turn every fan-out into one X axis of ``x * y`` (the counts do not depend on the axis).
"""

from __future__ import annotations

import io
import os
from dataclasses import replace
from typing import Any

import yaml

from codesign.atomic import atomic_write_text
from codesign.errors import ArchError, MappingError
from codesign.hierarchy.levels import FanOut, Hierarchy, StorageLevel
from codesign.hierarchy.nest import LoopNest
from codesign.workload.layer import DIMS, TENSORS, Layer

__all__ = ["DATASPACE_NAMES", "DIM_NAMES", "arch_problems", "both_axes", "dump_yaml",
           "flatten_fanouts", "flatten_nest", "generate_arch", "generate_ert",
           "generate_mapping", "generate_problem", "write_yaml"]

#: Our dim -> the dim name of Timeloop's conv problem (its ``M`` is our ``K``).
DIM_NAMES: dict[str, str] = {"N": "N", "G": "G", "K": "M", "C": "C", "P": "P", "Q": "Q",
                             "R": "R", "S": "S"}
#: Our tensor -> Timeloop's data-space name.
DATASPACE_NAMES: dict[str, str] = {"W": "Weights", "I": "Inputs", "O": "Outputs"}
#: Dims in the order Timeloop's conv problem declares them.
_PROBLEM_DIMS = ("C", "M", "R", "S", "N", "P", "Q", "G")


def _names(tensors) -> list[str]:
    return [DATASPACE_NAMES[t] for t in TENSORS if t in set(tensors)]


def arch_problems(hierarchy: Hierarchy) -> list[str]:
    """What of ``hierarchy`` a Timeloop v0.4 architecture (as `parse_arch` reads it back)
    cannot say; empty when `generate_arch` writes it faithfully."""
    problems = []
    for level in hierarchy.levels:
        bits = set(level.word_bits.values())
        if len(bits) > 1:
            problems.append(f"{level.name}: one datawidth for every tensor, not "
                            f"{dict(level.word_bits)}")
        if level.partition_words is not None:
            problems.append(f"{level.name}: per-tensor partitions (write one level per "
                            f"tensor)")
        if level.capacity_words is not None and level.capacity_words % level.block_words:
            problems.append(f"{level.name}: capacity {level.capacity_words} words is not a "
                            f"whole number of {level.block_words}-word blocks")
    for fan in hierarchy.fanouts:
        if fan.hop_pj:
            problems.append(f"{fan.name}: hop_pj (network energy is not written)")
        if not (fan.multicast and fan.reduce):
            problems.append(f"{fan.name}: a fan-out without multicast or reduction")
    if hierarchy.compute.ops_per_cycle != 1:
        problems.append(f"{hierarchy.compute.name}: ops_per_cycle "
                        f"{hierarchy.compute.ops_per_cycle} (one MAC per cycle per instance)")
    return problems


def _spatial_constraints(fan: FanOut) -> dict | None:
    """The dataflow of ``fan`` as Timeloop mapper constraints (`parse_arch` does not read
    them back: a mapping's factors say where its dims go)."""
    if fan.x_dims is None and fan.y_dims is None:
        return None
    allowed = set(DIMS) if fan.x_dims is None or fan.y_dims is None else \
        set(fan.x_dims) | set(fan.y_dims)
    out: dict[str, Any] = {}
    banned = [f"{DIM_NAMES[d]}=1" for d in DIMS if d not in allowed]
    if banned:
        out["factors"] = banned
    if fan.x_dims is not None and fan.y_dims is not None \
            and not set(fan.x_dims) & set(fan.y_dims):
        out["permutation"] = [DIM_NAMES[d] for d in (*fan.x_dims, *fan.y_dims)]
        out["split"] = len(fan.x_dims)
    return out or None


def generate_arch(hierarchy: Hierarchy, top: str = "system") -> dict:
    """``{"architecture": {"version": 0.4, "nodes": [...]}}`` for ``hierarchy``.

    Raises `ArchError` listing what Timeloop's form cannot hold (`arch_problems`).
    """
    problems = arch_problems(hierarchy)
    if problems:
        raise ArchError(f"hierarchy {hierarchy.name!r} cannot be written as a Timeloop v0.4 "
                        f"architecture: " + "; ".join(problems))
    cycle_s = 1.0 / (hierarchy.clock_mhz * 1e6)
    nodes: list[dict] = [{"!": "Container", "name": top,
                          "attributes": {"global_cycle_seconds": cycle_s}}]
    below_fanout = False
    for i, node in enumerate(hierarchy.nodes):
        if isinstance(node, FanOut):
            below_fanout = True
            entry: dict[str, Any] = {"!": "Container", "name": node.name,
                                     "spatial": {"meshX": node.x, "meshY": node.y}}
            cons = _spatial_constraints(node)
            if cons:
                entry["constraints"] = {"spatial": cons}
            nodes.append(entry)
            continue
        assert isinstance(node, StorageLevel)
        bits = next(iter(node.word_bits.values()))
        attrs: dict[str, Any] = {}
        if node.capacity_words is not None:
            attrs["depth"] = node.capacity_words // node.block_words
        attrs.update(width=node.block_words * bits, datawidth=bits,
                     block_size=node.block_words)
        for key, value in (("read_bandwidth", node.read_bw), ("write_bandwidth", node.write_bw),
                           ("shared_bandwidth", node.shared_bw)):
            if value is not None:
                attrs[key] = value
        if node.multiple_buffering != 1:
            attrs["multiple_buffering"] = node.multiple_buffering
        cls = ("DRAM" if i == 0 and not node.bounded else
               "storage" if not node.bounded else "regfile" if below_fanout else "SRAM")
        entry = {"!": "Component", "name": node.name, "class": cls, "attributes": attrs}
        fixed = [t for t in node.keeps if t not in node.bypass_choice]
        bypass = [t for t in TENSORS if t not in node.keeps]
        dataspace = {}
        if fixed:
            dataspace["keep"] = _names(fixed)
        if bypass:
            dataspace["bypass"] = _names(bypass)
        if dataspace:
            entry["constraints"] = {"dataspace": dataspace}
        nodes.append(entry)
    bits = max(hierarchy.levels[-1].word_bits.values())
    nodes.append({"!": "Component", "name": hierarchy.compute.name, "class": "intmac",
                  "attributes": {"datawidth": bits, "width": bits}})
    return {"architecture": {"version": 0.4, "nodes": nodes}}


def generate_ert(hierarchy: Hierarchy, top: str = "system") -> dict:
    """The Accelergy ERT of ``hierarchy``'s energies: per storage level ``read``
    (`StorageLevel.read_pj`), ``write`` (a fill, ``fill_pj``), ``update``, ``leak`` (per
    cycle per instance); ``compute`` and ``leak`` for the MAC. Table names carry the
    instance counts (``system_top_level.RF[1..256]``), which `ert_mismatches` checks."""
    def table(name: str, n: int, actions: dict[str, float]) -> dict:
        return {"name": f"{top}_top_level.{name}[1..{n}]",
                "actions": [{"name": a, "arguments": {}, "energy": float(e)}
                            for a, e in actions.items()]}

    tables = [table(level.name, n, {"read": level.read_pj, "write": level.fill_pj,
                                    "update": level.update_pj, "leak": level.leak_pj})
              for level, n in zip(hierarchy.levels, hierarchy.instances, strict=True)]
    c = hierarchy.compute
    tables.append(table(c.name, hierarchy.n_compute, {"compute": c.mac_pj, "leak": c.leak_pj}))
    return {"ERT": {"version": "0.4", "tables": tables}}


def generate_problem(layer: Layer) -> dict:
    """Timeloop's grouped conv problem (the layer shapes folders' ``problem_base``) with
    ``layer``'s bounds, strides and dilations (P and R slide with ``Wstride`` /
    ``Wdilation``, Q and S with ``Hstride`` / ``Hdilation``, as `parse_problem` reads)."""
    shape = {
        "name": layer.name or "layer",
        "dimensions": list(_PROBLEM_DIMS),
        "coefficients": [{"name": n, "default": 1}
                         for n in ("Wstride", "Hstride", "Wdilation", "Hdilation")],
        "data_spaces": [
            {"name": "Weights", "projection": [[["C"]], [["M"]], [["R"]], [["S"]], [["G"]]]},
            {"name": "Inputs", "projection": [
                [["N"]], [["C"]], [["R", "Wdilation"], ["P", "Wstride"]],
                [["S", "Hdilation"], ["Q", "Hstride"]], [["G"]]]},
            {"name": "Outputs", "projection": [[["N"]], [["M"]], [["Q"]], [["P"]], [["G"]]],
             "read_write": True},
        ],
    }
    instance = {DIM_NAMES[d]: getattr(layer, d) for d in DIMS}
    instance = {d: instance[d] for d in _PROBLEM_DIMS}
    instance.update(Wstride=layer.stride[0], Hstride=layer.stride[1],
                    Wdilation=layer.dilation[0], Hdilation=layer.dilation[1])
    return {"problem": {"version": 0.4, "shape": shape, "instance": instance}}


def both_axes(hierarchy: Hierarchy, nest: LoopNest) -> list[str]:
    """``"P on array"`` for every dim ``nest`` unrolls on both X and Y of a fan-out: what
    one Timeloop spatial directive cannot say."""
    return [f"{d} on {fan.name}" for fan in hierarchy.fanouts for d in DIMS
            if nest.factor(f"{fan.name}.X", d) > 1 and nest.factor(f"{fan.name}.Y", d) > 1]


def flatten_fanouts(hierarchy: Hierarchy) -> Hierarchy:
    """``hierarchy`` with every fan-out one X axis of ``x * y`` children (any dim on it):
    the same instances and, for nests moved by `flatten_nest`, the same counts."""
    nodes = tuple(replace(n, x=n.x * n.y, y=1, x_dims=None, y_dims=None)
                  if isinstance(n, FanOut) else n for n in hierarchy.nodes)
    return replace(hierarchy, nodes=nodes)


def flatten_nest(nest: LoopNest, hierarchy: Hierarchy) -> LoopNest:
    """``nest`` on `flatten_fanouts` of ``hierarchy``: each fan-out's X and Y factors of a
    dim multiplied onto X."""
    factors = {k: dict(v) for k, v in nest.factors.items()}
    for fan in hierarchy.fanouts:
        x, y = factors.pop(f"{fan.name}.X", {}), factors.pop(f"{fan.name}.Y", {})
        merged = {d: x.get(d, 1) * y.get(d, 1) for d in DIMS if x.get(d, 1) * y.get(d, 1) > 1}
        factors[f"{fan.name}.X"] = merged
        factors[f"{fan.name}.Y"] = {}
    return replace(nest, factors=factors)


def _factors(nest: LoopNest, slots: tuple[str, ...]) -> str:
    return " ".join(f"{DIM_NAMES[d]}{_product(nest, slots, d)}" for d in DIMS)


def _product(nest: LoopNest, slots: tuple[str, ...], dim: str) -> int:
    out = 1
    for s in slots:
        out *= nest.factor(s, dim)
    return out


def generate_mapping(hierarchy: Hierarchy, nest: LoopNest) -> dict:
    """``{"mapping": [...]}``: per storage level (outer to inner) a ``temporal`` directive
    (every dim's factor; the permutation inner to outer, as Timeloop lists loops) and a
    ``datatype`` one (keep / bypass); per fan-out a ``spatial`` directive whose first
    ``split`` dims are X. Raises `MappingError` for a dim on both axes of a fan-out
    (`both_axes`; `flatten_nest` first)."""
    both = both_axes(hierarchy, nest)
    if both:
        raise MappingError(f"the nest unrolls {', '.join(both)} on both X and Y, which a "
                           f"Timeloop spatial directive cannot say; flatten the fan-outs "
                           f"first (flatten_fanouts, flatten_nest)")
    kept = nest.kept(hierarchy)
    directives: list[dict] = []
    m = 0
    for node in hierarchy.nodes:
        if isinstance(node, FanOut):
            x = [d for d in DIMS if nest.factor(f"{node.name}.X", d) > 1]
            y = [d for d in DIMS if nest.factor(f"{node.name}.Y", d) > 1]
            rest = [d for d in DIMS if d not in x and d not in y]
            if node.size == 1 and not x and not y:
                continue    # a 1x1 mesh is no fan-out to Timeloop (nor to parse_arch)
            directives.append({
                "target": node.name, "type": "spatial",
                "factors": _factors(nest, (f"{node.name}.X", f"{node.name}.Y")),
                "permutation": "".join(DIM_NAMES[d] for d in (*x, *y, *rest)),
                "split": len(x)})
            continue
        order = nest.full_order(node.name)
        directives.append({
            "target": node.name, "type": "temporal", "factors": _factors(nest, (node.name,)),
            "permutation": "".join(DIM_NAMES[d] for d in reversed(order))})
        keep = [t for t, k in zip(TENSORS, kept[m], strict=True) if k]
        directives.append({"target": node.name, "type": "datatype", "keep": _names(keep),
                           "bypass": _names([t for t in TENSORS if t not in keep])})
        m += 1
    return {"mapping": directives}


class _Dumper(yaml.SafeDumper):
    """Plain data to YAML; a mapping with a ``"!"`` key becomes a tagged node
    (``!Component``), the form `codesign.timeloop.files.load_yaml` reads back."""


def _represent_dict(dumper: _Dumper, data: dict) -> yaml.Node:
    if "!" in data:
        rest = {k: v for k, v in data.items() if k != "!"}
        return dumper.represent_mapping(f"!{data['!']}", rest.items())
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items())


_Dumper.add_representer(dict, _represent_dict)


def dump_yaml(data: Any) -> str:
    """YAML text of ``data`` (keys in their order, tags as above).

    >>> print(dump_yaml({"nodes": [{"!": "Container", "name": "PE"}]}), end="")
    nodes:
    - !Container
      name: PE
    """
    stream = io.StringIO()     # text only: files are written by `write_yaml`, atomically
    dumper = _Dumper(stream, default_flow_style=False, sort_keys=False, allow_unicode=True)
    try:
        dumper.open()
        dumper.represent(data)
        dumper.close()
    finally:
        dumper.dispose()
    return stream.getvalue()


def write_yaml(path: str | os.PathLike, data: Any) -> None:
    """`dump_yaml` to ``path``, atomically."""
    atomic_write_text(path, dump_yaml(data))
