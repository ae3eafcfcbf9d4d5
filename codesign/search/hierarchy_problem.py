"""`HierarchyEvaluator`: costs populations of a `HierarchySpace` for the run loop.

The run loop (`codesign.search.run.run_search`) and every search only see the protocol of
`codesign.search.problem.BatchEvaluator`: `evaluate` a ``[P, V]`` batch of genes into an
`Evaluation`, `with_mapper` for the final remap, the genome and constraint sizes, the call
counter. This evaluator keeps that protocol for hierarchy designs: every generation the
genes decode (batched) to a `HierarchyBatch`; in ``nested`` mode the hierarchy mapper maps
every design's layers in one batched call (`codesign.hierarchy.mapper.search` on
`MapSpace.with_designs`), in ``joint`` mode the genome carries one mapping per layer as
floats (`codesign.hierarchy.genome.from_unit`). So every strategy (joint, nested,
nested-cold, sequential, random: uniform joint genomes, as on the default space) runs on it
unchanged. An
`Evaluation`'s mappings are the hierarchy's: ``factors [B, L, F, D]`` (one row per factor
slot) and ``order [B, L, M, D + T]`` (per level its loop order, then its keep bits: the
mapping's bypass choices, where the base leaves them to the mapping, and the design's keep
set).

Not offered: the warm start from the mapping memory (``nested`` here maps every design from
scratch, as ``nested-cold``). The final remap starts from each front design's mappings so far
(``known``, `codesign.hierarchy.genome.genes_of`), so it never makes a layer worse.

Shapes: ``B`` designs, ``L`` unique layers, ``F`` factor slots, ``M`` levels, ``D`` dims.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from codesign.errors import ConfigError
from codesign.hierarchy.counts import TIMELOOP, CountingRules
from codesign.hierarchy.genome import from_unit, genes_of, n_unit_genes
from codesign.hierarchy.mapper import Effort, search
from codesign.hierarchy.mapspace import MapSpace
from codesign.hierarchy.model import NestCost, nest_cost
from codesign.hierarchy.nest import NestBatch
from codesign.names import DESIGN_OBJECTIVES
from codesign.search.hierarchy_space import HierarchySpace
from codesign.search.problem import (
    Evaluation,
    Infeasibility,
    MapperEffort,
    _mix,
    constraint_names,
    nested_evals_per_design,
    parse_constraints,
    parse_objectives,
)
from codesign.workload.layer import DIMS, TENSORS, LayerTable

__all__ = ["HierarchyCost", "HierarchyEvaluator"]

_WORST = 1e30


@dataclass(frozen=True)
class HierarchyCost:
    """A costed batch: per-layer `NestCost` and the network's objectives.

    Shape: objectives ``{name: [B]}`` (`DESIGN_OBJECTIVES`: s, J, mm2, J*s, W);
    layer_feasible ``[B, L]``; excess ``[B]`` words over capacity, summed over layers.
    """

    nest: NestCost
    objectives: dict[str, torch.Tensor]
    layer_feasible: torch.Tensor
    excess: torch.Tensor


#: The hierarchy mapper's smallest population per (design, layer): its seed mappings and a
#: fresh random one take that many places.
MIN_CANDIDATES = 4


def _checked(effort: MapperEffort) -> MapperEffort:
    """``effort``, or a `ConfigError` when it is below what the hierarchy mapper runs with
    (never raised silently: the evaluations counted are the ones made)."""
    if effort.n_candidates < MIN_CANDIDATES:
        raise ConfigError(f"mapper candidates {effort.n_candidates}: a hierarchy design space "
                          f"needs at least {MIN_CANDIDATES} (--mapper-candidates)")
    return effort


class HierarchyEvaluator:
    """Costs whole populations of ``space`` on the MAC layers of ``table`` (module doc)."""

    def __init__(self, space: HierarchySpace, table: LayerTable, objectives: tuple[str, ...],
                 *, mode: str = "nested", max_area_mm2: float | None = None,
                 max_power_w: float | None = None,
                 effort: MapperEffort | None = None, seed: int = 0,
                 device: torch.device | str = "cpu",
                 constraints: Mapping[str, float] | None = None,
                 rules: CountingRules = TIMELOOP) -> None:
        if mode not in ("joint", "nested"):
            raise ConfigError(f"unknown genome mode {mode!r}; use joint or nested")
        self.mode = mode
        if not table.layers:
            raise ConfigError("the workload has no MAC layers to map on a hierarchy")
        self.space = space
        self.table = table
        self.device = torch.device(device)
        self.objectives = parse_objectives(objectives, DESIGN_OBJECTIVES)
        self.constraints = parse_constraints(constraints, DESIGN_OBJECTIVES)
        self.max_area_mm2 = max_area_mm2
        self.max_power_w = max_power_w
        self.effort = _checked(effort or MapperEffort())
        self.seed = int(seed)
        self.rules = rules
        self._calls = [0]           # shared with `with_mapper`'s evaluators
        self.memory = None          # set by the run loop; this evaluator does not use it
        self.infeasibility = Infeasibility()
        self.mapspace = MapSpace(space.envelope(), table.layers, device=self.device)
        self.n_layers = len(table.layers)
        self.counts = torch.tensor(table.counts, dtype=torch.float64, device=self.device)

    # -- the protocol's sizes ------------------------------------------------------------
    @property
    def n_var(self) -> int:
        extra = self.n_layers * n_unit_genes(self.mapspace) if self.mode == "joint" else 0
        return self.space.n_genes + extra

    @property
    def constraint_names(self) -> tuple[str, ...]:
        return constraint_names(self.max_area_mm2, self.max_power_w, self.constraints)

    @property
    def calls(self) -> int:
        """Batches costed so far by this run's evaluators (each seeds the mapper)."""
        return self._calls[0]

    @calls.setter
    def calls(self, value: int) -> None:
        self._calls[0] = int(value)

    @property
    def structure(self):
        """The hierarchy every design shares the layout of (level and slot names)."""
        return self.mapspace.hierarchy

    def with_mapper(self, effort: MapperEffort) -> HierarchyEvaluator:
        """An evaluator of the same run mapping at ``effort`` (the final remap): it shares
        this one's call counter and infeasibility tally."""
        other = copy.copy(self)
        other.mode, other.effort = "nested", _checked(effort)
        return other

    # -- evaluation ----------------------------------------------------------------------
    def evaluate(self, x: np.ndarray, known: tuple[np.ndarray, np.ndarray] | None = None
                 ) -> Evaluation:
        """Decode, map and cost a population in one batched mapper call (``nested``), or
        decode its mapping genes (``joint``: `codesign.hierarchy.genome.from_unit`, no
        mapper).

        Shape: x ``[B, V]`` in ``[0, 1]``; ``known``: one mapping per design to start from
        as well (``[B, L, F, D]`` factors, ``[B, L, M, D]`` orders; the remap's).
        """
        x = np.asarray(x, dtype=np.float64).reshape(-1, self.n_var)
        n_h = self.space.n_genes
        n_f, n_m = len(self.structure.slots), len(self.structure.levels)
        if x.shape[0] == 0:
            return Evaluation(np.zeros((0, len(self.objectives))),
                              np.zeros((0, len(self.constraint_names))), np.zeros(0, bool),
                              x[:, :n_h].copy(),
                              np.zeros((0, self.n_layers, n_f, len(DIMS)), np.int64),
                              np.zeros((0, self.n_layers, n_m, len(DIMS) + len(TENSORS)),
                                       np.int64), 0)
        seed = _mix(self.seed, self.calls)
        self.calls += 1
        genes = torch.as_tensor(x, device=self.device)
        designs = self.space.decode(genes[:, :n_h])
        space = self.mapspace.with_designs(designs)
        if self.mode == "joint":   # the genome's mapping part, one mapping per layer
            unit = genes[:, n_h:].reshape(x.shape[0], self.n_layers, -1)
            nests = space.decode(from_unit(space, unit))
            return self._evaluation(x[:, :n_h], designs, nests, x.shape[0])
        eff = Effort(self.effort.n_candidates, self.effort.n_steps)
        initial = None
        if known is not None:
            dev = self.device
            order, keep = _unpack(torch.as_tensor(known[1], dtype=torch.int64, device=dev))
            initial = genes_of(space, torch.as_tensor(known[0], dtype=torch.int64, device=dev),
                                     order, keep)
        best, _ = search(space, self.effort.objective, eff, seed=seed, rules=self.rules,
                         initial=initial)
        return self._evaluation(x, designs, space.decode(best),
                                x.shape[0] * nested_evals_per_design(self.effort))

    def _evaluation(self, hw_genes: np.ndarray, designs, nests: NestBatch,
                    n_evals: int) -> Evaluation:
        cost = self._cost(designs, nests)
        objectives, constraints, feasible = self.outputs(cost)
        return Evaluation(
            objectives=objectives.cpu().numpy(), constraints=constraints.cpu().numpy(),
            feasible=feasible.cpu().numpy(), hw_genes=hw_genes.copy(),
            factors=nests.factors.cpu().numpy().astype(np.int64),
            order=self._pack(nests, designs).cpu().numpy(), n_evals=int(n_evals))

    def cost(self, hw_genes: np.ndarray, factors: np.ndarray, order: np.ndarray
             ) -> tuple[object, NestBatch, HierarchyCost]:
        """Cost stored designs exactly again (the archive, for the results)."""
        designs = self.space.decode(torch.as_tensor(np.asarray(hw_genes, dtype=np.float64),
                                                    device=self.device))
        order, keep = _unpack(torch.as_tensor(order, device=self.device))
        nests = NestBatch(torch.as_tensor(factors, device=self.device), order, keep)
        return designs, nests, self._cost(designs, nests)

    def _pack(self, nests: NestBatch, designs) -> torch.Tensor:
        """``[B, L, M, D + T]`` int64: each level's loop order, then its keep bits (what
        the mapping and the design keep), so an `Evaluation`'s ``order`` rebuilds the
        mapping exactly."""
        keep = nests.keep
        if keep is None:
            keep = designs.keep.unsqueeze(1).expand(*nests.order.shape[:2],
                                                    *designs.keep.shape[1:])
        return torch.cat([nests.order, keep.to(torch.int64)], -1)

    def _cost(self, designs, nests: NestBatch) -> HierarchyCost:
        ms = self.mapspace
        cost = nest_cost(designs, nests, ms.stride, ms.dilation, self.rules, ms.dims)
        cycles = (cost.cycles * self.counts).sum(-1)                           # [B]
        energy_j = (cost.energy_pj * self.counts).sum(-1) * 1e-12
        latency_s = cycles / (self.structure.clock_mhz * 1e6)
        named = {"latency": latency_s, "energy": energy_j,
                 "area": cost.area_mm2.to(torch.float64), "edp": energy_j * latency_s,
                 "power": energy_j / latency_s}
        excess = (cost.capacity_excess.sum(-1) + (~cost.feasible).to(torch.float64)).sum(-1)
        return HierarchyCost(cost, named, cost.feasible, excess)

    def finite_mask(self, result: HierarchyCost) -> np.ndarray:
        return self._finite(result.objectives).cpu().numpy()

    def _finite(self, named: dict[str, torch.Tensor]) -> torch.Tensor:
        objectives = torch.stack([named[n] for n in self.objectives], 1)
        return torch.isfinite(objectives).all(1) & (objectives > 0).all(1)

    def outputs(self, result: HierarchyCost) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Objectives ``[B, O]``, constraints ``[B, C]`` (pymoo form, ``<= 0`` feasible:
        capacity is ``log1p`` of the words over capacity, plus one per layer that does not
        fit the array) and feasibility ``[B]``, as `BatchEvaluator.outputs`."""
        named = result.objectives
        objectives = torch.stack([named[n] for n in self.objectives], 1)
        finite = self._finite(named)
        objectives = torch.where(finite.unsqueeze(1), objectives,
                                 torch.full_like(objectives, _WORST))
        fits = result.layer_feasible.all(-1) & finite
        capacity = torch.where(fits, torch.zeros_like(result.excess),
                               torch.log1p(result.excess).clamp(min=1e-3))
        columns = [capacity]
        for limit, name in ((self.max_area_mm2, "area"), (self.max_power_w, "power")):
            if limit is not None:
                value = torch.where(finite, named[name], torch.full_like(capacity, _WORST))
                columns.append(value / limit - 1.0)
        for name, limit in self.constraints.items():
            value = torch.where(finite, named[name], torch.full_like(capacity, _WORST))
            columns.append(value / limit - 1.0)
        constraints = torch.stack(columns, 1)
        feasible = (constraints <= 0).all(1)
        self.infeasibility.add(self.constraint_names, constraints, feasible, finite,
                               result.layer_feasible)
        return objectives, constraints, feasible


def _unpack(order: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`HierarchyEvaluator._pack`'s ``[..., M, D + T]`` as orders ``[..., M, D]`` and keep
    bits ``[..., M, T]``."""
    n_d = len(DIMS)
    return order[..., :n_d], order[..., n_d:].bool()
