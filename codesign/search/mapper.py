"""The mapper: the best mapping of every layer on given designs, searched in batch.

`search_mappings` is the batched core: all ``B`` designs x ``L`` layers x ``n`` candidates
live in one population and every step costs it with **one** `CostModel.evaluate` call.
It is a steady (mu + lambda) evolution per (design, layer): tournament parents, domain-aware
moves that keep every mapping covering its layer and fitting the array, a few fresh random
mappings for diversity, and elitist truncation (the best mapping found is never lost).
`map_layers` is the friendly wrapper for one accelerator and a `LayerTable`.

Ranking, per (design, layer): feasible candidates beat infeasible ones; feasible ones by the
objective (``cycles``, ``energy_pj`` or their product), infeasible ones by
``capacity_excess`` so the search is led back to mappings that fit.

The moves live in `codesign.search.mapper_moves`, the starting points (seeds, buffer
fills, `fit_to_array`) in `codesign.search.mapper_seeds`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from codesign.arch.accelerator import Accelerator
from codesign.cost.model import CostModel, CostResult
from codesign.errors import ConfigError
from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors
from codesign.mapping.encoding import decode_mapping_genes, n_mapping_genes, prime_factor_table
from codesign.mapping.mapping import FACTOR_LEVELS, SPATIAL_AXES, TEMPORAL_LEVELS, Mapping
from codesign.names import BOTTLENECKS, LAYER_OBJECTIVES, UNKNOWN_BOTTLENECK
from codesign.search.config import MAPPER_MIN_CANDIDATES, MAPPER_MIN_STEPS
from codesign.search.limits import check_mapper_fits
from codesign.search.mapper_moves import MoveRng, mutate
from codesign.search.mapper_seeds import N_SEEDS, fit_to_array, greedy_genes, seed_mappings
from codesign.workload.layer import DIMS, LayerTable

__all__ = [
    "EFFORTS",
    "LayerMappingResult",
    "fit_to_array",
    "layer_objective",
    "map_layers",
    "mapping_summary",
    "rank_key",
    "search_mappings",
]

#: Named search budgets: (candidates per layer, steps). A step costs about the same for 64
#: or 128 candidates on the CPU (per-op overhead dominates), so "default" is wide and short:
#: ResNet-50 in ~2 s on a shared 2-core CPU (docs/PERFORMANCE.md, "Mapper").
EFFORTS: dict[str, tuple[int, int]] = {
    "fast": (32, 30),
    "default": (128, 50),
    "thorough": (256, 150),
}

_N_DIMS = len(DIMS)
_N_SLOTS = len(FACTOR_LEVELS)
_INFEASIBLE = 1e4  # rank offset: above the log of any objective
_DUPLICATE = 1e6  # rank offset for a candidate whose rank key equals a better one's
_RESTART_FRACTION = 0.125
_RESTART_BLOCK = 5  # steps whose fresh random mappings are decoded in one call


def layer_objective(result: CostResult, objective: str) -> torch.Tensor:
    """The per-layer objective to minimise: cycles, energy or their product (EDP).

    Shape:
        returns: ``[B, L]`` float.
    """
    if objective == "latency":
        return result.cycles
    if objective == "energy":
        return result.energy_pj
    if objective == "edp":
        return result.cycles * result.energy_pj
    raise ConfigError(f"objective {objective!r}: choose one of {', '.join(LAYER_OBJECTIVES)}")


def rank_key(result: CostResult, objective: str) -> torch.Tensor:
    """``[B, L]`` float64, lower is better: ``log(objective)`` when feasible, else a large
    offset plus ``log1p(capacity_excess)`` (feasible always beats infeasible). Public: the
    mapper ranks candidates by it and the mapping memory scores what it keeps with it."""
    obj = layer_objective(result, objective).to(torch.float64)
    good = torch.log(obj.clamp(min=1e-300))
    excess = result.capacity_excess
    bad = _INFEASIBLE if excess is None else \
        _INFEASIBLE + torch.log1p(excess.to(torch.float64).clamp(min=0))
    key = torch.where(result.feasible, good, bad)
    return torch.nan_to_num(key, nan=2 * _INFEASIBLE, posinf=2 * _INFEASIBLE)


# -- the search ----------------------------------------------------------------------------


def _gather_candidates(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``x`` ``[B, n, L, ...]`` at candidates ``idx`` ``[B, k, L]`` -> ``[B, k, L, ...]``."""
    extra = x.shape[3:]
    index = idx.view(*idx.shape, *(1,) * len(extra)).expand(*idx.shape, *extra)
    return x.gather(1, index)


def _take(pop: torch.Tensor, child: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Candidates ``idx`` of parents and children side by side (``idx < n``: a parent),
    without building the concatenated ``[B, 2n, L, ...]`` population.

    Shape:
        pop, child: ``[B, n, L, ...]``; idx: ``[B, k, L]`` in ``[0, 2n)``; returns
        ``[B, k, L, ...]``.
    """
    n = pop.shape[1]
    from_pop = (idx < n).view(*idx.shape, *(1,) * (pop.dim() - 3))
    return torch.where(from_pop, _gather_candidates(pop, idx.clamp(max=n - 1)),
                       _gather_candidates(child, (idx - n).clamp(min=0)))


def _distinct_first(key: torch.Tensor) -> torch.Tensor:
    """Rank key with repeats pushed back: a candidate whose key equals a better one's gets
    ``_DUPLICATE`` added, so copies of the elite do not crowd out the population.

    Shape:
        key: ``[B, n, L]``; returns ``[B, n, L]``.
    """
    sorted_key, idx = torch.sort(key, dim=1, stable=True)
    dup = torch.zeros_like(sorted_key, dtype=torch.bool)
    dup[:, 1:] = sorted_key[:, 1:] == sorted_key[:, :-1]
    penalty = torch.zeros_like(key).scatter(1, idx, dup.to(key.dtype) * _DUPLICATE)
    return key + penalty


def search_mappings(hardware: HardwareBatch, workload: WorkloadTensors, cost_model: CostModel,
                    objective: str = "edp", *, n_candidates: int = EFFORTS["default"][0],
                    n_steps: int = EFFORTS["default"][1],
                    generator: torch.Generator,
                    initial: tuple[torch.Tensor, torch.Tensor] | None = None,
                    ) -> tuple[MappingBatch, CostResult]:
    """The best mapping found for every (design, layer), and its cost.

    All designs, layers and candidates are one population; each step makes ``n_candidates``
    children per (design, layer) and costs them with one ``cost_model.evaluate`` call.
    Deterministic for a given generator state and device. Inputs must live on the
    generator's device. ``initial`` (factors, order) are ``k < n_candidates`` known
    mappings per design that take the place of the last starting candidates (a warm start:
    they must cover the layers and fit the array, see `fit_to_array`).

    Shape:
        hardware: ``[B]`` designs; workload: ``L`` layers; initial: ``[B, k, L, 5, D]``
        and ``[B, k, L, 3, D]`` int64.
        returns: `MappingBatch` ``[B, L]`` and the `CostResult` of exactly those mappings
        (per layer ``[B, L]``, per design ``[B]``).
    """
    if objective not in LAYER_OBJECTIVES:
        raise ConfigError(f"objective {objective!r}: choose one of {', '.join(LAYER_OBJECTIVES)}")
    if n_candidates < MAPPER_MIN_CANDIDATES or n_steps < MAPPER_MIN_STEPS:
        raise ConfigError(f"mapper: need n_candidates >= {MAPPER_MIN_CANDIDATES} and n_steps "
                          f">= {MAPPER_MIN_STEPS}, got {n_candidates} and {n_steps}")
    rng = MoveRng(generator)
    device = rng.device
    n_b, n_l, n = hardware.n_designs, workload.n_layers, n_candidates
    dims = workload.dims.to(device)
    # ceil-padding can push a dim's total past its bound, by at most the array size
    # the search's one read-back: every dim's largest bound (sizing the prime tables and
    # naming the dims that are 1 in every layer) and the largest array
    top = torch.cat([dims.amax(0) if n_l else dims.new_ones(_N_DIMS),
                     (hardware.pe_rows * hardware.pe_cols).amax().to(device).view(1)]).tolist()
    top_dim, top_array = max(top[:_N_DIMS]), top[_N_DIMS]
    spf = prime_factor_table(1 << int(top_dim + top_array).bit_length(), device)  # cached
    ones = frozenset(d for d, bound in zip(DIMS, top, strict=False) if bound == 1)
    # decoding factors trip counts up to the largest dim only: a smaller table, fewer
    # prime positions to place (the same mappings)
    spf_dims = prime_factor_table(1 << int(top_dim).bit_length(), device)
    hw_pop = hardware.repeat_interleave(n)  # [B * n]

    def evaluate(f: torch.Tensor, o: torch.Tensor) -> tuple[torch.Tensor, CostResult]:
        """Flat [B * n, L] candidates -> rank key [B, n, L]."""
        result = cost_model.evaluate(hw_pop, workload, MappingBatch(f, o))
        return rank_key(result, objective).view(n_b, n, n_l), result

    # initial population: classic seeds first, random mappings after, known mappings last
    n_known = 0 if initial is None else initial[0].shape[1]
    if not 0 <= n_known < n:
        raise ConfigError(f"mapper: initial mappings must number fewer than n_candidates "
                          f"({n}) per design, got {n_known}")
    n_new = n - n_known
    n_seeds = min(n_new, N_SEEDS)
    n_random = n_new - n_seeds
    random_genes = rng.uniform(n_b * n_random, n_l, n_mapping_genes())
    n_restart = max(1, int(n * _RESTART_FRACTION))
    n_mut = n - n_restart
    # fresh random mappings are decoded for _RESTART_BLOCK steps at once (per-op overhead);
    # the first block's genes are drawn now (as step 0 would) and decoded with the start:
    # one decode of the greedy seed, the random starting candidates and that block
    design = torch.arange(n_b, device=hardware.pe_rows.device)
    restart_index = design.repeat_interleave(n_restart)
    n_first = min(_RESTART_BLOCK, n_steps)
    first_genes = rng.uniform(n_first * n_b * n_restart, n_l, n_mapping_genes())
    greedy = greedy_genes(workload, device).expand(n_b, n_l, -1)
    both = decode_mapping_genes(
        torch.cat([greedy, random_genes, first_genes]), workload,
        hardware.index_select(torch.cat([design, design.repeat_interleave(n_random),
                                         restart_index.repeat(n_first)])), spf=spf_dims)
    n_start = n_b * (1 + n_random)
    start_f = both.factors[:n_start]
    f_pop = torch.cat([seed_mappings(start_f[:n_b], workload, hardware, spf, n_seeds,
                                      ones),
                       start_f[n_b:].view(n_b, n_random, n_l, _N_SLOTS, _N_DIMS)], 1)
    # every seed keeps the dims' own loop order, as the greedy seed decodes it
    o_pop = torch.cat([both.order[:n_b].unsqueeze(1).expand(-1, n_seeds, -1, -1, -1),
                       both.order[n_b:n_start].view(n_b, n_random, n_l, 3, _N_DIMS)], 1)
    fresh_f = both.factors[n_start:].view(n_first, n_b, n_restart, n_l, _N_SLOTS, _N_DIMS)
    fresh_o = both.order[n_start:].view(n_first, n_b, n_restart, n_l, 3, _N_DIMS)
    if initial is not None and n_known:
        f_pop = torch.cat([f_pop, initial[0].to(device=device, dtype=f_pop.dtype)], 1)
        o_pop = torch.cat([o_pop, initial[1].to(device=device, dtype=o_pop.dtype)], 1)
    key, _ = evaluate(f_pop.view(n_b * n, n_l, _N_SLOTS, _N_DIMS),
                      o_pop.reshape(n_b * n, n_l, 3, _N_DIMS))
    # per (design, mutated child, layer) pair, flat: what the moves need to stay valid
    pair_shape = (n_b, n_mut, n_l)
    pair_dims = dims.view(1, 1, n_l, _N_DIMS).expand(*pair_shape, _N_DIMS).reshape(-1, _N_DIMS)
    array = torch.stack([hardware.pe_rows, hardware.pe_cols], 1).to(device)  # [B, 2]
    pair_array = array.view(n_b, 1, 1, 2).expand(*pair_shape, 2).reshape(-1, 2)
    pair_allowed = hardware.spatial_allowed.to(device).view(n_b, 1, 1, 2, _N_DIMS).expand(
        *pair_shape, 2, _N_DIMS).reshape(-1, 2, _N_DIMS)

    for step in range(n_steps):
        if step % _RESTART_BLOCK == 0 and step:
            n_block = min(_RESTART_BLOCK, n_steps - step)
            block = decode_mapping_genes(
                rng.uniform(n_block * n_b * n_restart, n_l, n_mapping_genes()), workload,
                hardware.index_select(restart_index.repeat(n_block)), spf=spf_dims)
            fresh_f = block.factors.view(n_block, n_b, n_restart, n_l, _N_SLOTS, _N_DIMS)
            fresh_o = block.order.view(n_block, n_b, n_restart, n_l, 3, _N_DIMS)
        # binary tournament per (design, layer), then moves
        a, b = rng.integers(n, *pair_shape), rng.integers(n, *pair_shape)
        parent = torch.where(key.gather(1, a) <= key.gather(1, b), a, b)  # [B, n_mut, L]
        f_mut, o_mut = mutate(_gather_candidates(f_pop, parent).reshape(-1, _N_SLOTS, _N_DIMS),
                               _gather_candidates(o_pop, parent).reshape(-1, 3, _N_DIMS),
                               pair_dims, pair_array, pair_allowed, spf, rng)
        # and a few fresh random mappings per design
        f_child = torch.cat([f_mut.view(n_b, n_mut, n_l, _N_SLOTS, _N_DIMS),
                             fresh_f[step % _RESTART_BLOCK]], 1)
        o_child = torch.cat([o_mut.view(n_b, n_mut, n_l, 3, _N_DIMS),
                             fresh_o[step % _RESTART_BLOCK]], 1)
        key_child, _ = evaluate(f_child.reshape(n_b * n, n_l, _N_SLOTS, _N_DIMS),
                                o_child.reshape(n_b * n, n_l, 3, _N_DIMS))
        key_all = torch.cat([key, key_child], 1)  # [B, 2n, L]
        if step == n_steps - 1:
            # the last step keeps only the best: the first lowest key, which truncation
            # would have put first (ties in candidate order), taken from whichever half
            best = key_all.argmin(1, keepdim=True)  # [B, 1, L]
            mappings = MappingBatch(_take(f_pop, f_child, best).squeeze(1),
                                    _take(o_pop, o_child, best).squeeze(1))
            return mappings, cost_model.evaluate(hardware, workload, mappings)
        # elitist truncation over parents + children, copies ranked last
        keep = torch.sort(_distinct_first(key_all), dim=1, stable=True).indices[:, :n]
        key = key_all.gather(1, keep)
        f_pop, o_pop = _take(f_pop, f_child, keep), _take(o_pop, o_child, keep)

    # no steps: the best starting candidate (the first lowest key)
    best = key.argmin(1, keepdim=True)  # [B, 1, L]
    mappings = MappingBatch(_gather_candidates(f_pop, best).squeeze(1),
                            _gather_candidates(o_pop, best).squeeze(1))
    return mappings, cost_model.evaluate(hardware, workload, mappings)


# -- the friendly wrapper ------------------------------------------------------------------


def mapping_summary(mapping: Mapping) -> str:
    """One line per mapping, outer levels last: ``rows C16 cols K16 | RF R3S3 | GLB C4P14Q14
    | DRAM K4`` (empty levels left out; ``-`` when everything is 1).

    >>> mapping_summary(Mapping.from_json({"spatial": {"rows": {"C": 16}},
    ...                                    "temporal": {"RF": {"R": 3, "S": 3}}}))
    'rows C16 | RF R3S3'
    """
    data = mapping.to_json()
    parts = []
    spatial = " ".join(f"{axis} " + "".join(f"{d}{v}" for d, v in data["spatial"][axis].items())
                       for axis in SPATIAL_AXES if axis in data["spatial"])
    if spatial:
        parts.append(spatial)
    for level in reversed(TEMPORAL_LEVELS):
        if level in data["temporal"]:
            parts.append(f"{level} " + "".join(f"{d}{data['temporal'][level][d]}"
                                               for d in data["order"][level]))
    return " | ".join(parts) or "-"


@dataclass(frozen=True)
class LayerMappingResult:
    """The mapper's answer for one accelerator: per unique layer, its mapping and costs.

    Per-layer tuples follow ``table.layers``; ``latency_cycles`` and ``energy_pj`` are the
    network totals (layers weighted by their counts, plus vector ops).
    """

    table: LayerTable
    accelerator: Accelerator
    objective: str
    mappings: tuple[Mapping, ...]
    cycles: tuple[float, ...]
    energy_pj: tuple[float, ...]
    utilization: tuple[float, ...]
    feasible: tuple[bool, ...]
    bottleneck: tuple[str, ...]
    latency_cycles: float
    total_energy_pj: float
    area_mm2: float
    device: str = "cpu"
    seed: int = 0
    settings: dict = field(default_factory=dict)

    @property
    def all_feasible(self) -> bool:
        return all(self.feasible)

    @property
    def latency_s(self) -> float:
        return self.latency_cycles / (self.accelerator.clock_mhz * 1e6)

    def to_rows(self) -> list[dict]:
        """One plain row per unique layer (CSV-ready): names, count, dims, mapping summary,
        cycles, energy, utilisation, bottleneck, feasible."""
        rows = []
        for i, layer in enumerate(self.table.layers):
            row = {"layer": i, "names": " ".join(self.table.names[i]),
                   "count": self.table.counts[i], "op_type": layer.op_type}
            row.update({d: getattr(layer, d) for d in DIMS})
            row.update({
                "mapping": mapping_summary(self.mappings[i]),
                "cycles": self.cycles[i], "energy_pj": self.energy_pj[i],
                "utilization": self.utilization[i], "bottleneck": self.bottleneck[i],
                "feasible": self.feasible[i],
            })
            rows.append(row)
        return rows

    def to_dict(self) -> dict:
        """JSON-ready: accelerator, settings, totals and per layer the mapping in DESIGN.md's
        JSON form with its costs."""
        layers = []
        for i, layer in enumerate(self.table.layers):
            layers.append({
                "layer": layer.to_dict(), "names": list(self.table.names[i]),
                "count": self.table.counts[i], "mapping": self.mappings[i].to_json(),
                "cycles": self.cycles[i], "energy_pj": self.energy_pj[i],
                "utilization": self.utilization[i], "bottleneck": self.bottleneck[i],
                "feasible": self.feasible[i],
            })
        return {
            "accelerator": self.accelerator.to_dict(), "objective": self.objective,
            "seed": self.seed, "device": self.device, "settings": dict(self.settings),
            "totals": {"latency_cycles": self.latency_cycles, "latency_s": self.latency_s,
                       "energy_pj": self.total_energy_pj, "area_mm2": self.area_mm2,
                       "all_feasible": self.all_feasible},
            "layers": layers,
        }


def map_layers(table: LayerTable, accelerator: Accelerator, *, objective: str = "edp",
               cost_model: CostModel | None = None, device: str = "auto", seed: int = 0,
               effort: str = "default", n_candidates: int | None = None,
               n_steps: int | None = None, cpu_threads: int | None = 1) -> LayerMappingResult:
    """Map every unique layer of ``table`` onto ``accelerator``.

    ``cost_model`` defaults to the analytical model with the accelerator's own technology
    table (`Accelerator.technology`, e.g. a YAML's ``technology:``); a spec string or a
    per-design function is accepted too (`as_cost_model`). ``effort`` names a budget in
    `EFFORTS`; ``n_candidates`` / ``n_steps`` override it. Same seed and device give the
    same mappings. On the CPU the search runs with ``cpu_threads`` torch threads (restored
    afterwards; ``None`` leaves torch's setting): the tensors are small, and one thread
    measured ~10x faster than two on a shared 2-core machine (docs/PERFORMANCE.md, "Mapper").
    """
    from codesign.device import resolve_device

    if effort not in EFFORTS:
        raise ConfigError(f"effort {effort!r}: choose one of {', '.join(EFFORTS)}")
    if objective not in LAYER_OBJECTIVES:
        raise ConfigError(f"objective {objective!r}: choose one of {', '.join(LAYER_OBJECTIVES)}")
    if cost_model is None:
        from codesign.cost.analytical import AnalyticalCostModel

        cost_model = AnalyticalCostModel(accelerator.technology)
    else:
        from codesign.cost.loading import as_cost_model

        cost_model = as_cost_model(cost_model)
    dev = resolve_device(device)
    n_cand, steps = EFFORTS[effort]
    n_cand = n_candidates if n_candidates is not None else n_cand
    steps = n_steps if n_steps is not None else steps
    lower = [name for name, (n, _) in EFFORTS.items() if n < n_cand]
    check_mapper_fits(
        n_cand, len(table), device=str(dev),
        option=f"--effort {effort}" if n_candidates is None else f"n_candidates {n_cand}",
        advice=(f"use --effort {lower[0]} or " if lower else "use ") + "a smaller model")
    hardware = HardwareBatch.from_accelerators([accelerator], device=dev)
    workload = WorkloadTensors.from_table(table, device=dev)
    generator = torch.Generator(device=dev).manual_seed(int(seed))
    saved_threads = torch.get_num_threads()
    if dev.type == "cpu" and cpu_threads is not None:
        torch.set_num_threads(cpu_threads)
    try:
        mappings, result = search_mappings(hardware, workload, cost_model, objective,
                                           n_candidates=n_cand, n_steps=steps,
                                           generator=generator)
    finally:
        torch.set_num_threads(saved_threads)
    return _result(table, accelerator, objective, mappings, result, str(dev), seed,
                   {"effort": effort, "n_candidates": n_cand, "n_steps": steps})


def _result(table: LayerTable, accelerator: Accelerator, objective: str,
            mappings: MappingBatch, result: CostResult, device: str, seed: int,
            settings: dict) -> LayerMappingResult:
    """Bring design 0 of a batched answer to plain Python (the one place that syncs)."""
    bounds = result.bounds()                                   # [B, L, 3] or None
    n_l = len(table)
    bottleneck = (tuple(BOTTLENECKS[i] for i in bounds[0].argmax(-1).tolist())
                  if bounds is not None else (UNKNOWN_BOTTLENECK,) * n_l)

    def floats(x: torch.Tensor | None) -> tuple[float, ...]:
        if x is None:
            return (math.nan,) * n_l
        return tuple(float(v) for v in x[0].tolist())

    return LayerMappingResult(
        table=table, accelerator=accelerator, objective=objective,
        mappings=tuple(mappings.mapping(0, i) for i in range(len(table))),
        cycles=floats(result.cycles), energy_pj=floats(result.energy_pj),
        utilization=floats(result.utilization),
        feasible=tuple(bool(v) for v in result.feasible[0].tolist()),
        bottleneck=bottleneck,
        latency_cycles=float(result.latency_cycles[0]),
        total_energy_pj=float(result.total_energy_pj[0]),
        area_mm2=float(result.area_mm2[0]), device=device, seed=int(seed),
        settings=settings)

