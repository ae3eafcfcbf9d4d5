"""The pymoo adapter: where numpy populations meet the batched torch cost model.

`BatchEvaluator` turns a population ``X`` (``[B, V]`` numpy floats in ``[0, 1]``) into
objectives and constraints with one torch round trip: convert once, decode hardware (and
mapping) genes, call the cost model once (or the batched mapper once, for ``nested``),
convert back once. `CodesignProblem` is the thin pymoo `Problem` around it.

Genome layouts (``H`` hardware genes of the `DesignSpace`, ``L`` unique layers, ``G`` mapping
genes per layer from `codesign.mapping.encoding`):

- ``joint``: ``[H + L * G]``: hardware genes, then layer-major mapping genes.
- ``nested``: ``[H]``: the batched mapper picks every design's mappings (with zero mapper
  steps: the best of its classic seed mappings, the hardware-first phase of ``sequential``).

Objectives are handed to pymoo as ``log10`` values (they span decades; the crowding and
reference-direction machinery works better on comparable scales); the `Evaluation` keeps
the plain values. Constraints (pymoo: ``G <= 0`` is feasible): buffer capacity
(``log1p`` of the words over capacity, summed over layers), and optionally area and power
as ``value / limit - 1``, and the same for any objective the cost model offers (``constraints
= {"peak_dram_bw": 20.0}``, a custom model's `CostResult.extra_objectives` included).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from pymoo.core.problem import Problem

from codesign.arch.space import DesignSpace
from codesign.cost.chunked import (
    JOINT_BYTES_PER_DESIGN_LAYER,
    MAPPER_BYTES_PER_CANDIDATE_LAYER,
    chunk_designs,
    evaluate_in_chunks,
)
from codesign.cost.model import CostModel, CostResult, objective_names
from codesign.errors import ConfigError, RunError
from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors
from codesign.names import DESIGN_OBJECTIVES
from codesign.search.memory import MappingMemory

__all__ = [
    "MODES",
    "OBJECTIVES",
    "BatchEvaluator",
    "CodesignProblem",
    "Evaluation",
    "Infeasibility",
    "MapperEffort",
    "parse_objectives",
]

#: Objectives a run may minimise (names of `CostResult.objectives`).
OBJECTIVES: tuple[str, ...] = DESIGN_OBJECTIVES
#: Genome layouts `BatchEvaluator` understands.
MODES: tuple[str, ...] = ("joint", "nested")
#: Objective value given to infeasible designs whose cost is not finite.
_WORST = 1e30


def parse_objectives(text: str | tuple[str, ...] | list[str],
                     allowed: tuple[str, ...] = OBJECTIVES) -> tuple[str, ...]:
    """``"latency,energy,area"`` -> a tuple of known, distinct objective names.

    ``allowed``: the names to accept; `objective_names` of a custom cost model adds the
    objectives it declares.

    >>> parse_objectives("edp, area")
    ('edp', 'area')
    """
    names = [n.strip() for n in text.split(",")] if isinstance(text, str) else list(text)
    names = [n for n in names if n]
    unknown = [n for n in names if n not in allowed]
    if unknown or not names or len(set(names)) != len(names):
        raise ConfigError(f"objectives {','.join(names)!r}: need one or more distinct names "
                          f"from {', '.join(allowed)}"
                          + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    return tuple(names)


def parse_constraints(limits: Mapping[str, float] | None,
                      allowed: tuple[str, ...] = OBJECTIVES) -> dict[str, float]:
    """``{"power": 2.0}`` -> checked upper limits, one per known objective name.

    >>> parse_constraints({"peak": 3}, allowed=("latency", "peak"))
    {'peak': 3.0}
    """
    out, problems = {}, []
    for name, limit in (limits or {}).items():
        if name not in allowed:
            problems.append(f"unknown name {name!r} (known: {', '.join(allowed)})")
            continue
        try:
            value = float(limit)
        except (TypeError, ValueError):
            value = float("nan")
        if not value > 0 or value == float("inf"):
            problems.append(f"{name}: limit must be a finite number > 0, got {limit!r}")
        out[name] = value
    if problems:
        raise ConfigError("constraints: " + "; ".join(problems))
    return out


@dataclass(frozen=True)
class MapperEffort:
    """How hard the batched mapper works per design (nested strategy, sequential remap)."""

    n_candidates: int = 8
    n_steps: int = 4
    objective: str = "edp"


@dataclass
class Evaluation:
    """What one population costs, on the numpy side.

    Shape:
        objectives: ``[B, O]`` plain values (s, J, mm2, J*s, W), finite.
        constraints: ``[B, C]`` pymoo form (``<= 0`` feasible).
        feasible: ``[B]`` bool, every constraint met.
        hw_genes: ``[B, H]``; factors: ``[B, L, 5, D]`` int64; order: ``[B, L, 3, D]`` int64.
        n_evals: design evaluations spent (one = one design with a mapping per layer; the
            mapper's inner candidates count too).
    """

    objectives: np.ndarray
    constraints: np.ndarray
    feasible: np.ndarray
    hw_genes: np.ndarray
    factors: np.ndarray
    order: np.ndarray
    n_evals: int


@dataclass
class Infeasibility:
    """Why the designs a run evaluated were infeasible, counted over its evaluations (each
    design once, after its mapper; a resumed run counts from where it resumed).

    ``violations``: designs over each constraint (`BatchEvaluator.constraint_names`);
    ``not_finite``: designs whose objectives were NaN, infinite or not positive (counted in
    ``capacity`` too); ``layer_misfits``: per unique layer, designs whose best mapping of it
    did not fit the buffers or the array.
    """

    n_designs: int = 0
    n_feasible: int = 0
    not_finite: int = 0
    violations: dict[str, int] = field(default_factory=dict)
    layer_misfits: list[int] = field(default_factory=list)

    def add(self, names: tuple[str, ...], constraints: torch.Tensor, feasible: torch.Tensor,
            finite: torch.Tensor, layer_feasible: torch.Tensor) -> None:
        """Count one batch (``[B, C]``, ``[B]``, ``[B]``, ``[B, L]``): one host sync."""
        counts = torch.cat([(constraints > 0).sum(0), feasible.sum().reshape(1),
                            (~finite).sum().reshape(1),
                            (~layer_feasible & finite.unsqueeze(1)).sum(0)]).tolist()
        n_c = len(names)
        self.n_designs += int(constraints.shape[0])
        for name, count in zip(names, counts[:n_c], strict=True):
            self.violations[name] = self.violations.get(name, 0) + int(count)
        self.n_feasible += int(counts[n_c])
        self.not_finite += int(counts[n_c + 1])
        misfits = [int(c) for c in counts[n_c + 2:]]
        if len(self.layer_misfits) != len(misfits):
            self.layer_misfits = [0] * len(misfits)
        self.layer_misfits = [a + b for a, b in zip(self.layer_misfits, misfits, strict=True)]

    def to_dict(self) -> dict:
        return {"n_designs": self.n_designs, "n_feasible": self.n_feasible,
                "not_finite": self.not_finite, "violations": dict(self.violations),
                "layer_misfits": list(self.layer_misfits)}


@dataclass
class _Ledger:
    """What the evaluators of one run share (`BatchEvaluator.with_mapper`): the call counter
    that seeds the mapper, the mapping memory, the infeasibility tally and whether the
    not-finite warning was given."""

    calls: int = 0
    memory: MappingMemory | None = None
    infeasibility: Infeasibility = field(default_factory=Infeasibility)
    warned_not_finite: bool = False


def constraint_names(max_area_mm2: float | None, max_power_w: float | None,
                     constraints: Mapping[str, float]) -> tuple[str, ...]:
    """The pymoo constraints of a run, in ``G``'s column order: capacity, then area and
    power where limited, then ``max_<objective>`` per objective limit (every evaluator's)."""
    names = ["capacity"]
    if max_area_mm2 is not None:
        names.append("area")
    if max_power_w is not None:
        names.append("power")
    names.extend(f"max_{name}" for name in constraints)
    return tuple(names)


class BatchEvaluator:
    """Costs whole populations: one decode and one cost-model (or mapper) call per batch.

    ``seed`` and the call counter seed the mapper's torch generator, so the same sequence
    of batches gives the same results; `calls` is part of a checkpoint. An evaluator never
    changes its own genome layout or mapper effort: `with_mapper` gives another evaluator
    of the same run (the final remap's) that shares the counter, memory and tally.
    """

    def __init__(self, space: DesignSpace, workload: WorkloadTensors, cost_model: CostModel,
                 objectives: tuple[str, ...], *, mode: str = "joint",
                 max_area_mm2: float | None = None, max_power_w: float | None = None,
                 effort: MapperEffort | None = None,
                 seed: int = 0, device: torch.device | str = "cpu",
                 constraints: Mapping[str, float] | None = None) -> None:
        if mode not in MODES:
            raise ConfigError(f"unknown genome mode {mode!r}; use one of {', '.join(MODES)}")
        from codesign.mapping.encoding import n_mapping_genes

        self.space = space
        self.device = torch.device(device)
        self.workload = workload.to(self.device)
        self.cost_model = cost_model
        allowed = objective_names(cost_model)
        self.objectives = parse_objectives(objectives, allowed)
        #: upper limits on named objectives (beyond max area / max power), ``value <= limit``
        self.constraints = parse_constraints(constraints, allowed)
        self.mode = mode
        self.max_area_mm2 = max_area_mm2
        self.max_power_w = max_power_w
        self.effort = effort or MapperEffort()
        self.seed = int(seed)
        self._ledger = _Ledger()
        self.n_layers = self.workload.n_layers
        self.n_mapping_genes = n_mapping_genes()

    # -- what the evaluators of a run share ----------------------------------------------
    @property
    def calls(self) -> int:
        """Batches costed so far (each seeds the mapper's generator); a checkpoint saves it."""
        return self._ledger.calls

    @calls.setter
    def calls(self, value: int) -> None:
        self._ledger.calls = int(value)

    @property
    def memory(self) -> MappingMemory | None:
        """The nested mapper's warm start (`MappingMemory`); ``None``: every design is mapped
        from scratch. The run loop sets it for strategies with ``warm_start``."""
        return self._ledger.memory

    @memory.setter
    def memory(self, value: MappingMemory | None) -> None:
        self._ledger.memory = value

    @property
    def infeasibility(self) -> Infeasibility:
        """Why designs were infeasible, over every batch the run's evaluators costed."""
        return self._ledger.infeasibility

    def with_mapper(self, effort: MapperEffort) -> BatchEvaluator:
        """An evaluator of the same run that maps hardware-only (``[H]``) genomes with the
        batched mapper at ``effort`` (the final remap of nested and sequential).

        It shares this one's call counter, mapping memory and infeasibility tally, so
        costing through it seeds and counts as costing through this one would; this
        evaluator's layout and effort stay as they are.
        """
        other = copy.copy(self)  # shallow: the same space, workload, model and ledger
        other.mode, other.effort = "nested", effort
        return other

    # -- sizes ---------------------------------------------------------------------------
    @property
    def n_var(self) -> int:
        extra = self.n_layers * self.n_mapping_genes if self.mode == "joint" else 0
        return self.space.n_genes + extra

    @property
    def constraint_names(self) -> tuple[str, ...]:
        return constraint_names(self.max_area_mm2, self.max_power_w, self.constraints)

    # -- evaluation ----------------------------------------------------------------------
    def evaluate(self, x: np.ndarray, known: tuple[np.ndarray, np.ndarray] | None = None
                 ) -> Evaluation:
        """Cost a population, in chunks of designs that fit in memory (`chunk_size`).

        A population that fits in one chunk is one decode and one cost-model (or mapper)
        call. Chunks of a joint population give exactly the unchunked numbers; the nested
        mapper's random draws run on from chunk to chunk (reproducible, and warned about).
        ``known``: one mapping per design the nested mapper starts from as well (a warm
        start: the result is never worse than it).

        Shape:
            x: ``[B, V]`` floats in ``[0, 1]`` (``V = n_var``); known: ``[B, L, 5, D]``
            factors and ``[B, L, 3, D]`` order, int64.
        """
        x = np.asarray(x, dtype=np.float64)
        if x.shape[0] == 0:  # a search may propose nothing new (pymoo's duplicate filter)
            return self._empty()
        seed = _mix(self.seed, self.calls)
        self.calls += 1
        n_b, size = x.shape[0], self.chunk_size()
        while True:
            generator = torch.Generator(device=self.device)
            generator.manual_seed(seed)
            try:
                return self._evaluate_chunks(x, generator, size, known)
            except RuntimeError as exc:  # torch's OutOfMemoryError is one too
                # the estimate was too low (a custom model, a busy GPU): halve and retry
                if not _out_of_memory(exc):
                    raise
                if min(size, n_b) == 1:
                    raise RunError(f"out of memory costing one design of {self.n_layers} "
                                   f"layers on {self.device}; free memory, use another device "
                                   "or lower the mapper effort") from exc
                size = max(1, min(size, n_b) // 2)
                warnings.warn(f"out of memory on {self.device}: evaluating in chunks of {size} "
                              "designs instead", UserWarning, stacklevel=2)

    def _empty(self) -> Evaluation:
        """The `Evaluation` of no designs (no cost call, no call number spent)."""
        n_l, n_d = self.workload.dims.shape
        return Evaluation(
            objectives=np.zeros((0, len(self.objectives))),
            constraints=np.zeros((0, len(self.constraint_names))),
            feasible=np.zeros(0, dtype=bool), hw_genes=np.zeros((0, self.space.n_genes)),
            factors=np.zeros((0, n_l, 5, n_d), dtype=np.int64),
            order=np.zeros((0, n_l, 3, n_d), dtype=np.int64), n_evals=0)

    def _evaluate_chunks(self, x: np.ndarray, generator: torch.Generator, size: int,
                         known: tuple[np.ndarray, np.ndarray] | None = None) -> Evaluation:
        n_b = x.shape[0]
        if n_b <= size:
            return self._evaluate_chunk(x, generator, known)
        if self.mode == "nested":
            warnings.warn(f"{n_b} designs do not fit in memory at once: the nested mapper runs "
                          f"in {-(-n_b // size)} chunks of {size} designs (set "
                          "CODESIGN_MAX_BATCH_BYTES to choose); results are reproducible "
                          "but differ from one unchunked call", UserWarning, stacklevel=3)
        parts = [self._evaluate_chunk(x[s:s + size], generator,
                                      None if known is None else (known[0][s:s + size],
                                                                  known[1][s:s + size]))
                 for s in range(0, n_b, size)]
        return Evaluation(**{
            name: (sum(getattr(p, name) for p in parts) if name == "n_evals"
                   else np.concatenate([getattr(p, name) for p in parts]))
            for name in Evaluation.__dataclass_fields__})

    def chunk_size(self) -> int:
        """Designs per evaluation call that fit the memory budget (`codesign.cost.chunked`):
        decoding plus costing per layer for a joint genome, the mapper's candidates per
        layer for a nested one."""
        if self.mode == "nested":
            per_design = (self.n_layers * self.effort.n_candidates
                          * MAPPER_BYTES_PER_CANDIDATE_LAYER)
        else:
            per_design = self.n_layers * JOINT_BYTES_PER_DESIGN_LAYER
        return chunk_designs(per_design, self.device)

    def _evaluate_chunk(self, x: np.ndarray, generator: torch.Generator,
                        known: tuple[np.ndarray, np.ndarray] | None = None) -> Evaluation:
        genes = torch.as_tensor(x, device=self.device)  # the one numpy -> torch conversion
        n_b, n_h = genes.shape[0], self.space.n_genes
        hardware = self.space.decode(genes[:, :n_h])
        if self.mode == "nested":
            mappings, result, n_evals = self._nested(hardware, generator,
                                                     self.space.indices(x[:, :n_h]), known)
        else:
            layer_genes = genes[:, n_h:].reshape(n_b, self.n_layers, self.n_mapping_genes)
            mappings = _decode(layer_genes, self.workload, hardware)
            result = self.cost_model.evaluate(hardware, self.workload, mappings)
            n_evals = n_b
        objectives, constraints, feasible = self.outputs(result)
        return Evaluation(
            objectives=objectives.cpu().numpy(), constraints=constraints.cpu().numpy(),
            feasible=feasible.cpu().numpy(), hw_genes=x[:, :n_h].copy(),
            factors=mappings.factors.round().to(torch.int64).cpu().numpy(),
            order=mappings.order.cpu().numpy(), n_evals=int(n_evals),
        )

    def cost(self, hw_genes: np.ndarray, factors: np.ndarray, order: np.ndarray
             ) -> tuple[HardwareBatch, MappingBatch, CostResult]:
        """Cost stored designs exactly again (the archive, for the final report)."""
        hardware = self.space.decode(torch.as_tensor(np.asarray(hw_genes, dtype=np.float64),
                                                     device=self.device))
        mappings = MappingBatch(torch.as_tensor(factors, device=self.device),
                                torch.as_tensor(order, device=self.device))
        return hardware, mappings, evaluate_in_chunks(self.cost_model, hardware, self.workload,
                                                      mappings)

    def finite_mask(self, result: CostResult) -> np.ndarray:
        """``[B]`` numpy bool: the run's objectives are all finite and positive."""
        return self._finite(result.objectives()).cpu().numpy()

    def _finite(self, named: dict[str, torch.Tensor]) -> torch.Tensor:
        objectives = torch.stack([named[n].to(torch.float64) for n in self.objectives], dim=1)
        return torch.isfinite(objectives).all(1) & (objectives > 0).all(1)  # [B]

    def remap(self, hw_genes: np.ndarray, effort: MapperEffort,
              known: tuple[np.ndarray, np.ndarray] | None = None) -> Evaluation:
        """Map given designs with the batched mapper at ``effort`` (the final phase of
        nested and sequential), starting from their ``known`` mappings as well: one
        `evaluate` of `with_mapper` on the hardware genes.

        Shape:
            hw_genes: ``[B, >= H]`` (genes past the hardware ones are ignored).
        """
        return self.with_mapper(effort).evaluate(
            np.asarray(hw_genes)[:, : self.space.n_genes], known)

    def _nested(self, hardware: HardwareBatch, generator: torch.Generator,
                keys: np.ndarray, known: tuple[np.ndarray, np.ndarray] | None = None
                ) -> tuple[MappingBatch, CostResult, int]:
        """Map a population (``keys`` ``[B, H]``: its allowed-value indices); with a
        `memory`, each design's mapper also starts from the best known mappings of the
        nearest design seen before, and what it finds is stored; ``known`` mappings
        (``[B, L, ...]``) are starting candidates too."""
        from codesign.search.mapper import fit_to_array, rank_key, search_mappings

        effort = self.effort
        starts: list[tuple[np.ndarray, np.ndarray]] = []
        memory = self.memory
        if memory is not None and len(memory):
            near = memory.nearest(keys)  # [B]
            starts.append(memory.mappings(near))
        if known is not None:
            starts.append(known)
        initial = None
        if starts:
            dev = self.device
            factors = torch.as_tensor(np.stack([f for f, _ in starts], 1), dtype=torch.int64,
                                      device=dev)
            order = torch.as_tensor(np.stack([o for _, o in starts], 1), dtype=torch.int64,
                                    device=dev)
            initial = (fit_to_array(factors, hardware), order)  # [B, k, L, ...]
        mappings, result = search_mappings(
            hardware, self.workload, self.cost_model, effort.objective,
            n_candidates=effort.n_candidates, n_steps=effort.n_steps, generator=generator,
            initial=initial)
        if memory is not None and memory.objective == effort.objective:
            memory.update(keys, mappings.factors.round().to(torch.int64).cpu().numpy(),
                          mappings.order.cpu().numpy(),
                          rank_key(result, effort.objective).cpu().numpy())
        return mappings, result, hardware.n_designs * nested_evals_per_design(effort)

    def outputs(self, result: CostResult) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The run's view of a costed batch: its objectives (not finite ones replaced by a
        huge value), constraints in pymoo form (``<= 0`` feasible) and feasibility.

        Every batch an evaluation costs goes through here, and so may designs costed
        elsewhere (gradient refinement's candidates): they are counted in `infeasibility`
        too, and warned about once per run when their objectives are not finite.

        Shape:
            result: ``[B]`` designs; returns ``[B, O]`` float64 objectives, ``[B, C]``
            float64 constraints (`constraint_names`), ``[B]`` bool feasibility.
        """
        named = result.objectives()
        objectives = torch.stack([named[n].to(torch.float64) for n in self.objectives], dim=1)
        finite = self._finite(named)  # [B]
        if not self._ledger.warned_not_finite:  # one host sync per batch until the warning
            n_bad = int((~finite).sum())
            if n_bad:
                self._ledger.warned_not_finite = True
                warnings.warn(f"cost model: objectives not finite (NaN, inf) or not positive "
                              f"for {n_bad} of {finite.shape[0]} designs; they are marked "
                              "infeasible (warned once per run)", UserWarning, stacklevel=3)
        objectives = torch.where(finite.unsqueeze(1), objectives,
                                 torch.full_like(objectives, _WORST))
        if result.capacity_excess is None:    # the model says only feasible or not
            excess = torch.zeros_like(objectives[:, 0], dtype=torch.float64)
        else:
            excess = result.capacity_excess.to(torch.float64).clamp(min=0).sum(1)  # [B]
        fits = result.feasible_design & finite
        capacity = torch.where(fits, torch.zeros_like(excess),
                               torch.log1p(excess).clamp(min=1e-3))
        columns = [capacity]
        if self.max_area_mm2 is not None:
            area = torch.where(finite, named["area"].to(torch.float64),
                               torch.full_like(excess, _WORST))
            columns.append(area / self.max_area_mm2 - 1.0)
        if self.max_power_w is not None:
            power = torch.where(finite, named["power"].to(torch.float64),
                                torch.full_like(excess, _WORST))
            columns.append(power / self.max_power_w - 1.0)
        for name, limit in self.constraints.items():
            value = named[name].to(torch.float64)
            value = torch.where(finite & torch.isfinite(value), value,
                                torch.full_like(excess, _WORST))
            columns.append(value / limit - 1.0)
        constraints = torch.stack(columns, dim=1)  # [B, C]
        feasible = (constraints <= 0).all(1)
        self.infeasibility.add(self.constraint_names, constraints, feasible, finite,
                               result.feasible)
        return objectives, constraints, feasible


def nested_evals_per_design(effort: MapperEffort) -> int:
    """Design evaluations the batched mapper spends per design: its starting candidates,
    ``n_candidates`` children per step, and the final costing of the best mappings."""
    return effort.n_candidates * (effort.n_steps + 1) + 1


def _out_of_memory(exc: BaseException) -> bool:
    """Whether torch failed to allocate (CUDA raises OutOfMemoryError, the CPU allocator a
    RuntimeError saying so)."""
    text = str(exc)
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "can't allocate memory" in text \
        or "out of memory" in text.lower()


def _decode(genes: torch.Tensor, workload: WorkloadTensors, hardware: HardwareBatch
            ) -> MappingBatch:
    from codesign.mapping.encoding import decode_mapping_genes

    return decode_mapping_genes(genes, workload, hardware)


def _mix(seed: int, call: int) -> int:
    """A 63-bit seed from (run seed, call number): distinct calls get unrelated streams."""
    return int(np.random.SeedSequence([seed, call]).generate_state(2, np.uint64)[0] >> 1)


class CodesignProblem(Problem):
    """pymoo problem over genes in ``[0, 1]``; each generation is one `BatchEvaluator` call.

    For driving the evaluator with pymoo's own ``minimize``; the run loop instead costs
    each batch itself and tells the search (`codesign.search.protocol`). ``last`` holds the
    latest `Evaluation` (its mappings and evaluation counts); pymoo sees ``log10``
    objectives, as `codesign.search.evolutionary` gives them.
    """

    def __init__(self, evaluator: BatchEvaluator) -> None:
        self.evaluator = evaluator
        self.last: Evaluation | None = None
        super().__init__(n_var=evaluator.n_var, n_obj=len(evaluator.objectives),
                         n_ieq_constr=len(evaluator.constraint_names), xl=0.0, xu=1.0)

    def _evaluate(self, x, out, *args, **kwargs) -> None:
        evaluation = self.evaluator.evaluate(x)
        self.last = evaluation
        out["F"] = np.log10(evaluation.objectives)
        out["G"] = evaluation.constraints
