"""A mapper for any `Hierarchy`: evolutionary local search over `MapSpace` genes, batched.

Per (design, layer) a population of ``C`` candidates; each step makes ``C`` children
(tournament parents, per-dim crossover, one or two moves, a few fresh random ones), costs
them with `nest_cost` in one call for every (design, layer, child), and keeps the best
``C`` of parents and children (duplicates of a cost ranked after the distinct ones).
Ranking: feasible candidates by the objective, then infeasible ones by how many words
they exceed capacity by. A step has no host sync; the host sees the result once at the end.

Shapes: ``B`` designs, ``L`` layers, ``C`` candidates per (design, layer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from codesign.errors import ConfigError
from codesign.hierarchy.counts import TIMELOOP, CountingRules
from codesign.hierarchy.levels import Hierarchy
from codesign.hierarchy.mapspace import Genes, MapConstraints, MapSpace
from codesign.hierarchy.model import NestCost, nest_cost
from codesign.hierarchy.nest import LoopNest, NestBatch
from codesign.names import LAYER_OBJECTIVES
from codesign.workload.layer import Layer

__all__ = ["EFFORTS", "Effort", "HierarchyMapping", "LayerMapping", "cost_nests",
           "map_hierarchy", "search"]



@dataclass(frozen=True)
class Effort:
    """``population`` candidates per (design, layer), ``steps`` generations; a fraction
    ``fresh`` of each generation's children are new random candidates."""

    population: int
    steps: int
    fresh: float = 0.125


EFFORTS: dict[str, Effort] = {
    "fast": Effort(32, 40),
    "default": Effort(64, 120),
    "thorough": Effort(128, 300),
}

_INFEASIBLE = 1e3      # keys of feasible candidates are logs (< 1e3); duplicates add _DUP
_DUP = 5e2


def _key(cost: NestCost, objective: str) -> torch.Tensor:
    """``[B, N]`` ranking key, lower is better (module docstring)."""
    log_e = cost.energy_pj.clamp(min=1e-30).log()
    log_c = cost.cycles.clamp(min=1e-30).log()
    if objective == "edp":
        key = log_e + log_c
    elif objective == "energy":
        key = log_e + 1e-7 * log_c
    else:
        key = log_c + 1e-7 * log_e
    excess = cost.capacity_excess.sum(-1)
    bad = _INFEASIBLE + torch.log1p(excess)
    return torch.where(cost.feasible, key, bad)


def _score(space: MapSpace, genes: Genes, objective: str, rules: CountingRules) -> torch.Tensor:
    n_b, n_l, n_c = genes.slot.shape[:3]
    stride, dilation, dims = space.rows(n_c)
    cost = nest_cost(space.designs, space.decode(genes), stride, dilation, rules, dims)
    return _key(cost, objective).reshape(n_b, n_l, n_c)


def _dedupe(key: torch.Tensor) -> torch.Tensor:
    """Equal keys after the first (the same cost, most often the same mapping) rank after
    the distinct feasible ones."""
    ranked, idx = key.sort(-1)
    dup = torch.zeros_like(ranked, dtype=torch.bool)
    dup[..., 1:] = ranked[..., 1:] == ranked[..., :-1]
    penalty = torch.where(dup & (ranked < _INFEASIBLE), _DUP, 0.0).to(key.dtype)
    return key + torch.zeros_like(key).scatter(-1, idx, penalty)


def search(space: MapSpace, objective: str = "edp", effort: Effort | str = "default",
           n_designs: int = 1, seed: int = 0, rules: CountingRules = TIMELOOP,
           initial: Genes | None = None) -> tuple[Genes, torch.Tensor]:
    """Best genes ``[B, L, 1]`` and their keys ``[B, L]`` (`_key`: log of the objective
    where feasible, >= 1e3 where not).

    ``n_designs`` independent populations per layer (the ``B`` axis) on the space's one
    hierarchy; a space `MapSpace.with_designs` ``B`` designs maps each design on its own
    (``n_designs`` is then ``B``). ``initial`` ``[B, L, K]`` genes are starting candidates
    too (the best result is never worse than the best of them).
    """
    if objective not in LAYER_OBJECTIVES:
        raise ConfigError(f"objective {objective!r}: expected one of "
                          f"{', '.join(LAYER_OBJECTIVES)}")
    eff = EFFORTS[effort] if isinstance(effort, str) else effort
    gen = torch.Generator(device=space.device)
    gen.manual_seed(seed)
    n_c = eff.population
    if space.designs.n_designs > 1:
        n_designs = space.designs.n_designs
    seeds = space.seeds(n_designs)
    if initial is not None:   # given starting candidates (`genome.genes_of`) first
        seeds = Genes.cat([initial, seeds])
        seeds = Genes(*(getattr(seeds, k)[:, :, :n_c] for k in ("slot", "order_key", "keep")))
    pop = Genes.cat([seeds, space.random(n_designs, n_c - seeds.slot.shape[2], gen)])
    key = _dedupe(_score(space, pop, objective, rules))
    n_fresh = max(1, int(n_c * eff.fresh))
    lead = key.shape

    def tournament() -> torch.Tensor:
        a = torch.randint(0, n_c, lead, generator=gen, device=space.device)
        b = torch.randint(0, n_c, lead, generator=gen, device=space.device)
        return torch.where(key.gather(-1, a) <= key.gather(-1, b), a, b)

    for _ in range(eff.steps):
        mum, dad = pop.select(tournament()), pop.select(tournament())
        cross = torch.rand(lead, generator=gen, device=space.device) < 0.5
        child = Genes.where(cross, space.crossover(mum, dad, gen), mum)
        child = space.mutate(child, gen)
        twice = torch.rand(lead, generator=gen, device=space.device) < 0.5
        child = Genes.where(twice, space.mutate(child, gen), child)
        fresh = space.random(n_designs, n_fresh, gen)
        child = Genes.cat([Genes(*(getattr(child, k)[:, :, n_fresh:]
                                   for k in ("slot", "order_key", "keep"))), fresh])
        both = Genes.cat([pop, child])
        keys = _dedupe(torch.cat([key, _score(space, child, objective, rules)], -1))
        keys, best = keys.topk(n_c, -1, largest=False, sorted=True)
        pop, key = both.select(best), keys
    return pop.select(torch.zeros_like(key[..., :1], dtype=torch.int64)), key[..., 0]


@dataclass(frozen=True)
class LayerMapping:
    """The best mapping found for one layer and what it costs."""

    layer: Layer
    nest: LoopNest
    cycles: float
    energy_pj: float
    feasible: bool

    @property
    def edp(self) -> float:
        return self.cycles * self.energy_pj


@dataclass(frozen=True)
class HierarchyMapping:
    """Per-layer mappings of `map_hierarchy` on its (constrained) ``hierarchy``; totals
    weight each layer by its count."""

    hierarchy: Hierarchy
    layers: tuple[LayerMapping, ...]
    counts: tuple[int, ...]

    @property
    def cycles(self) -> float:
        return sum(m.cycles * n for m, n in zip(self.layers, self.counts, strict=True))

    @property
    def energy_pj(self) -> float:
        return sum(m.energy_pj * n for m, n in zip(self.layers, self.counts, strict=True))

    @property
    def feasible(self) -> bool:
        return all(m.feasible for m in self.layers)


def map_hierarchy(hierarchy: Hierarchy, layers: Sequence[Layer], objective: str = "edp",
                  effort: Effort | str = "default",
                  constraints: MapConstraints | None = None,
                  counts: Sequence[int] | None = None, rules: CountingRules = TIMELOOP,
                  seed: int = 0, device: torch.device | str | None = None
                  ) -> HierarchyMapping:
    """The best mapping of each layer on ``hierarchy`` for ``objective`` (edp, energy or
    latency), under ``constraints``; one batched search for all layers.

    >>> from codesign.hierarchy import FanOut, Hierarchy, StorageLevel
    >>> h = Hierarchy("toy", (StorageLevel("DRAM", read_pj=100, fill_pj=100,
    ...                                    update_pj=100), FanOut("PE", x=4),
    ...                       StorageLevel("RF", capacity_words=64, read_pj=1, fill_pj=1,
    ...                                    update_pj=1)))
    >>> m = map_hierarchy(h, [Layer.gemm(M=8, K=4, N=4)], effort="fast")
    >>> m.layers[0].cycles       # 128 MACs on 4 PEs
    32.0
    """
    if isinstance(effort, str) and effort not in EFFORTS:
        raise ConfigError(f"effort {effort!r}: expected one of {', '.join(EFFORTS)}")
    counts = tuple(counts) if counts is not None else (1,) * len(layers)
    space = MapSpace(hierarchy, layers, constraints, device)
    genes, _ = search(space, objective, effort, 1, seed, rules)
    batch = space.decode(genes)
    stride, dilation, dims = space.rows(1)
    cost = nest_cost(space.hierarchy, batch, stride, dilation, rules, dims)
    fac, order = batch.factors[0].tolist(), batch.order[0].tolist()
    keep = batch.keep[0].tolist() if batch.keep is not None else [None] * len(layers)
    cycles, energy = cost.cycles[0].tolist(), cost.energy_pj[0].tolist()
    feasible = cost.feasible[0].tolist()
    out = tuple(LayerMapping(layer, space.loop_nest(fac[i], order[i], keep[i]), cycles[i],
                             energy[i], bool(feasible[i])) for i, layer in enumerate(layers))
    return HierarchyMapping(space.hierarchy, out, counts)


def cost_nests(hierarchy: Hierarchy, layers: Sequence[Layer], nests: Sequence[LoopNest],
               rules: CountingRules = TIMELOOP) -> NestCost:
    """``[1, L]`` cost of one given `LoopNest` per layer (to compare against a found one)."""
    batch = NestBatch.from_nests(hierarchy, [list(nests)])
    stride = torch.tensor([list(x.stride) for x in layers])
    dilation = torch.tensor([list(x.dilation) for x in layers])
    dims = torch.tensor([list(x.dims) for x in layers])
    return nest_cost(hierarchy, batch, stride, dilation, rules, dims)
