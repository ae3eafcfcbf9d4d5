"""`map_layers` for any architecture: every unique layer of a `LayerTable` on a hierarchy
(a preset, a hierarchy YAML, Timeloop v0.4 files, a `Hierarchy`) or on a v1 `Accelerator`.

A hierarchy is mapped by the hierarchy mapper (`codesign.hierarchy.mapper.map_hierarchy`,
one batched search for all layers); a v1 accelerator by the v1 mapper
(`codesign.search.mapper.map_layers`, unchanged). Names resolve as
`codesign.search.architectures` says. The hierarchy's result, `HierarchyMapResult`, speaks
the architecture's own level names: per layer the loop nest, cycles, energy, the level (or
the compute) that bounds its cycles, the compute units its fan-outs use and the
utilisation; network totals weight each layer by its count. Vector ops are not costed on a
hierarchy (the result says how many were left out).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import torch

from codesign.arch.accelerator import Accelerator
from codesign.cost.model import CostModel
from codesign.errors import ConfigError
from codesign.hierarchy.io import generate_hierarchy
from codesign.hierarchy.levels import Hierarchy, StorageLevel
from codesign.hierarchy.mapper import EFFORTS, Effort, cost_nests, map_hierarchy
from codesign.hierarchy.mapspace import MapConstraints
from codesign.hierarchy.nest import LoopNest
from codesign.names import COMPUTE_BOUND, LAYER_OBJECTIVES
from codesign.search.architectures import MappingTarget, resolve_architecture
from codesign.search.mapper import LayerMappingResult
from codesign.workload.layer import DIMS, LayerTable

__all__ = ["HierarchyMapResult", "map_layers", "nest_summary"]


def nest_summary(hierarchy: Hierarchy, nest: LoopNest) -> str:
    """One line per loop nest, inner nodes first, in the hierarchy's names: ``spad S3 |
    PE X:P13 Y:R3C4 | GLB Q13 | DRAM K4`` (empty nodes left out; ``-`` when all is 1).

    >>> from codesign.hierarchy.presets import eyeriss
    >>> nest_summary(eyeriss(), LoopNest({"PE.X": {"P": 13}, "spad": {"S": 3}}))
    'spad S3 | PE X:P13'
    """
    parts = []
    for node in reversed(hierarchy.nodes):
        if isinstance(node, StorageLevel):
            loops = "".join(f"{d}{nest.factor(node.name, d)}" for d in nest.full_order(node.name)
                            if nest.factor(node.name, d) > 1)
            if loops:
                parts.append(f"{node.name} {loops}")
        else:
            axes = []
            for axis in ("X", "Y"):
                loops = "".join(f"{d}{f}" for d, f in nest.factors.get(f"{node.name}.{axis}",
                                                                         {}).items() if f > 1)
                if loops:
                    axes.append(f"{axis}:{loops}")
            if axes:
                parts.append(f"{node.name} {' '.join(axes)}")
    return " | ".join(parts) or "-"


def _compute_used(hierarchy: Hierarchy, nest: LoopNest) -> int:
    """Compute instances a nest uses: the product of its spatial factors."""
    return math.prod(f for fan in hierarchy.fanouts for axis in ("X", "Y")
                     for f in nest.factors.get(f"{fan.name}.{axis}", {}).values())


@dataclass(frozen=True)
class HierarchyMapResult:
    """The hierarchy mapper's answer on one architecture: per unique layer of ``table``,
    its loop nest and costs; totals weight layers by their counts (MAC layers only).

    ``bottleneck[i]`` is `COMPUTE_BOUND` or the name of the level whose bandwidth bounds
    layer ``i``'s cycles; ``pes[i]`` the compute instances its fan-outs use (of
    ``hierarchy.n_compute``); ``utilization[i]`` useful MACs / (cycles x compute instances
    x ops per cycle).
    """

    table: LayerTable
    hierarchy: Hierarchy
    objective: str
    nests: tuple[LoopNest, ...]
    cycles: tuple[float, ...]
    energy_pj: tuple[float, ...]
    utilization: tuple[float, ...]
    pes: tuple[int, ...]
    feasible: tuple[bool, ...]
    bottleneck: tuple[str, ...]
    constraints: MapConstraints | None = None
    kind: str = "Hierarchy"
    notes: tuple[str, ...] = ()
    device: str = "cpu"
    seed: int = 0
    settings: dict = field(default_factory=dict)

    @property
    def all_feasible(self) -> bool:
        return all(self.feasible)

    @property
    def latency_cycles(self) -> float:
        return sum(c * n for c, n in zip(self.cycles, self.table.counts, strict=True))

    @property
    def latency_s(self) -> float:
        return self.latency_cycles / (self.hierarchy.clock_mhz * 1e6)

    @property
    def total_energy_pj(self) -> float:
        return sum(e * n for e, n in zip(self.energy_pj, self.table.counts, strict=True))

    @property
    def area_mm2(self) -> float:
        return self.hierarchy.area_mm2

    @property
    def mean_active_pes(self) -> float:
        """Compute instances in use on average over the network's cycles (each layer's
        `pes` weighted by its cycles x count): the "active PEs" chips report."""
        weight = [c * n for c, n in zip(self.cycles, self.table.counts, strict=True)]
        total = sum(weight)
        return sum(p * w for p, w in zip(self.pes, weight, strict=True)) / total if total \
            else 0.0

    @property
    def n_vector_ops(self) -> int:
        """Vector ops of the table left out of the totals (not costed on a hierarchy)."""
        return len(self.table.vector_ops)

    def to_rows(self) -> list[dict]:
        """One plain row per unique layer (CSV-ready): names, count, dims, mapping summary,
        cycles, energy, PEs, utilisation, bottleneck, feasible."""
        rows = []
        for i, layer in enumerate(self.table.layers):
            row = {"layer": i, "names": " ".join(self.table.names[i]),
                   "count": self.table.counts[i], "op_type": layer.op_type}
            row.update({d: getattr(layer, d) for d in DIMS})
            row.update({
                "mapping": nest_summary(self.hierarchy, self.nests[i]),
                "cycles": self.cycles[i], "energy_pj": self.energy_pj[i],
                "pes": self.pes[i], "utilization": self.utilization[i],
                "bottleneck": self.bottleneck[i], "feasible": self.feasible[i],
            })
            rows.append(row)
        return rows

    def to_dict(self) -> dict:
        """JSON-ready: the hierarchy (`codesign.hierarchy.io` form, readable by ``--arch``),
        settings, totals and per layer the `LoopNest` JSON with its costs."""
        layers = [{
            "layer": layer.to_dict(), "names": list(self.table.names[i]),
            "count": self.table.counts[i], "mapping": self.nests[i].to_json(self.hierarchy),
            "cycles": self.cycles[i], "energy_pj": self.energy_pj[i], "pes": self.pes[i],
            "utilization": self.utilization[i], "bottleneck": self.bottleneck[i],
            "feasible": self.feasible[i]} for i, layer in enumerate(self.table.layers)]
        return {
            "hierarchy": generate_hierarchy(self.hierarchy), "kind": self.kind,
            "objective": self.objective, "seed": self.seed, "device": self.device,
            "settings": dict(self.settings), "notes": list(self.notes),
            "totals": {"latency_cycles": self.latency_cycles, "latency_s": self.latency_s,
                       "energy_pj": self.total_energy_pj, "area_mm2": self.area_mm2,
                       "mean_active_pes": self.mean_active_pes,
                       "n_compute": self.hierarchy.n_compute,
                       "vector_ops_not_costed": self.n_vector_ops,
                       "all_feasible": self.all_feasible},
            "layers": layers,
        }


def _effort(effort: str, n_candidates: int | None, n_steps: int | None) -> Effort:
    if effort not in EFFORTS:
        raise ConfigError(f"effort {effort!r}: choose one of {', '.join(EFFORTS)}")
    base = EFFORTS[effort]
    if n_candidates is None and n_steps is None:
        return base
    return Effort(n_candidates if n_candidates is not None else base.population,
                  n_steps if n_steps is not None else base.steps, base.fresh)


def _map_target(table: LayerTable, target: MappingTarget, objective: str, effort: Effort,
                settings: dict, device: torch.device, seed: int) -> HierarchyMapResult:
    h = target.hierarchy
    layers = list(table.layers)
    m = map_hierarchy(h, layers, objective, effort, target.constraints, counts=table.counts,
                      seed=seed, device=device)
    h = m.hierarchy
    nests = [lm.nest for lm in m.layers]
    cost = cost_nests(h, layers, nests)     # the bounds behind each layer's cycles
    bounds = torch.cat([cost.compute_cycles[0].unsqueeze(-1), cost.level_cycles[0]], -1)
    bound_rows = bounds.tolist()
    names = (COMPUTE_BOUND, *h.level_names)
    bottleneck = tuple(names[max(range(len(row)), key=lambda j, r=row: (r[j], -j))]
                       for row in bound_rows)
    ops = h.n_compute * h.compute.ops_per_cycle
    cycles = tuple(lm.cycles for lm in m.layers)
    return HierarchyMapResult(
        table=table, hierarchy=h, objective=objective, nests=tuple(nests), cycles=cycles,
        energy_pj=tuple(lm.energy_pj for lm in m.layers),
        utilization=tuple(layer.macs / (c * ops) if c > 0 else 0.0
                          for layer, c in zip(layers, cycles, strict=True)),
        pes=tuple(_compute_used(h, n) for n in nests),
        feasible=tuple(lm.feasible for lm in m.layers), bottleneck=bottleneck,
        constraints=target.constraints, kind=target.kind, notes=target.notes,
        device=str(device), seed=int(seed), settings=settings)


def map_layers(table: LayerTable,
               architecture: Accelerator | Hierarchy | MappingTarget | str | os.PathLike,
               *, objective: str = "edp", cost_model: CostModel | str | None = None,
               device: str = "auto", seed: int = 0, effort: str = "default",
               n_candidates: int | None = None, n_steps: int | None = None,
               cpu_threads: int | None = 1, ert: str | os.PathLike | None = None,
               constraints: MapConstraints | str | os.PathLike | None = None
               ) -> LayerMappingResult | HierarchyMapResult:
    """Map every unique layer of ``table`` onto ``architecture``: a `Hierarchy`, a
    hierarchy preset name (``eyeriss``, ...), a hierarchy YAML, a Timeloop v0.4
    architecture file (with ``ert`` and ``constraints`` files as ``codesign evaluate`` and
    ``codesign map`` take them), or a v1 `Accelerator` / ``v1:NAME`` / v1 YAML
    (`codesign.search.architectures` has the rule).

    A v1 accelerator gives a `LayerMappingResult` (`codesign.search.mapper.map_layers`,
    which also takes ``cost_model``); a hierarchy a `HierarchyMapResult`, in its own level
    names. ``effort`` names a budget (``fast | default | thorough``), ``n_candidates`` /
    ``n_steps`` override it; ``constraints`` (a `MapConstraints` or a Timeloop constraints
    file) restrict a hierarchy's mapspace. Same seed and device, same mappings. On the CPU
    the search runs with ``cpu_threads`` torch threads (restored afterwards).
    """
    from codesign.device import resolve_device

    if objective not in LAYER_OBJECTIVES:
        raise ConfigError(f"objective {objective!r}: choose one of {', '.join(LAYER_OBJECTIVES)}")
    target = resolve_architecture(architecture, ert=ert, constraints=constraints)
    if isinstance(target, Accelerator):
        from codesign.search.mapper import map_layers as map_v1

        return map_v1(table, target, objective=objective, cost_model=cost_model,
                      device=device, seed=seed, effort=effort, n_candidates=n_candidates,
                      n_steps=n_steps, cpu_threads=cpu_threads)
    if cost_model is not None:
        raise ConfigError(f"a cost model plugs into the v1 template only; {target.kind} "
                          f"{target.hierarchy.name!r} is costed by the hierarchy model (use "
                          f"a v1 --arch, e.g. v1:eyeriss, for --cost-model)")
    eff = _effort(effort, n_candidates, n_steps)
    dev = resolve_device(device)
    saved = torch.get_num_threads()
    if dev.type == "cpu" and cpu_threads is not None:
        torch.set_num_threads(cpu_threads)
    try:
        return _map_target(table, target, objective, eff,
                           {"effort": effort, "n_candidates": eff.population,
                            "n_steps": eff.steps}, dev, seed)
    finally:
        torch.set_num_threads(saved)
