"""The run loop: a search's ask/tell, one batched evaluation per generation, termination,
archive, hypervolume history, checkpoints and a graceful stop on Ctrl-C.

The search is looked up by name (`codesign.search.searches`, the protocol in
`codesign.search.protocol`); the budget becomes termination objects
(`codesign.search.termination`, `budget_termination`); the strategy configures the
evaluator and the final remap (`codesign.search.strategies`).

`run_search` is deterministic for a given seed and device: each search seeds its own
generator from (seed, generation), and the evaluator seeds the mapper per call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from codesign.errors import ConfigError
from codesign.search.archive import Archive, hypervolume, normalisation_bounds
from codesign.search.memory import MappingMemory
from codesign.search.problem import (
    BatchEvaluator,
    Evaluation,
    MapperEffort,
    nested_evals_per_design,
)
from codesign.search.protocol import Search, SearchSetup
from codesign.search.searches import make_search
from codesign.search.strategies import Strategy, search_name
from codesign.search.termination import (
    AnyOf,
    Evaluations,
    Generations,
    Progress,
    Termination,
    TimeLimit,
)

__all__ = ["REMAP_TIME_SHARE", "Budget", "GenerationStats", "RunState", "budget_termination",
           "check_budget", "check_state",
           "generation_evals", "generation_stats", "minimum_evals",
           "remap_reserve",
           "run_search"]


#: With a time limit and a final remap, the search stops at (1 - this) of the limit and
#: the remap gets the rest (scaled down to fit, `_remap`): the limit bounds the whole run.
REMAP_TIME_SHARE = 0.25


@dataclass(frozen=True)
class Budget:
    """When a run stops: whichever limit comes first. ``None`` means no limit of that kind;
    at least one of ``generations``, ``max_evals``, ``time_limit_s`` must be set."""

    population: int = 32
    generations: int | None = 12
    max_evals: int | None = None
    time_limit_s: float | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.population < 2:
            problems.append(f"population must be >= 2, got {self.population}")
        if self.generations is not None and self.generations < 1:
            problems.append(f"generations must be >= 1, got {self.generations}")
        if self.max_evals is not None and self.max_evals < 1:
            problems.append(f"max evals must be >= 1, got {self.max_evals}")
        if self.time_limit_s is not None and not 0 < self.time_limit_s < float("inf"):
            # NaN compared false with every limit: the run never stopped
            problems.append(f"time limit must be a finite number of seconds > 0, got "
                            f"{self.time_limit_s}")
        if self.generations is None and self.max_evals is None and self.time_limit_s is None:
            problems.append("set at least one of generations, max evals, time limit")
        if problems:
            raise ConfigError("budget: " + "; ".join(problems))


@dataclass(frozen=True)
class GenerationStats:
    """What the progress display shows after a generation.

    ``best`` maps each objective to the best feasible value found so far; ``phase`` is
    ``search`` for a generation, ``remap`` for the final mapping of the front; ``note``
    says how the remap was scaled down to stay within the budget (not a history column).
    """

    generation: int
    n_evals: int
    hypervolume: float
    best: dict[str, float]
    n_pareto: int
    wall_s: float
    evals_per_s: float
    phase: str = "search"
    note: str = ""

    def to_row(self) -> dict[str, Any]:
        row = {"generation": self.generation, "phase": self.phase, "evaluations": self.n_evals,
               "hypervolume": self.hypervolume, "n_pareto": self.n_pareto}
        row.update({f"best_{k}": v for k, v in self.best.items()})
        row.update({"wall_s": self.wall_s, "evals_per_s": self.evals_per_s})
        return row


@dataclass
class RunState:
    """Everything a run needs to go on later (`to_checkpoint` / `from_checkpoint`).

    Shape:
        population: ``[P, V]`` the genomes the search goes on from (`Search.population`;
        ``None`` before the first generation or for a search that keeps none);
        hv_lo, hv_hi: ``[O]`` log10 normalisation bounds.
    """

    archive: Archive
    generation: int = 0
    n_evals: int = 0
    elapsed_s: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)
    population: np.ndarray | None = None
    hv_lo: np.ndarray | None = None
    hv_hi: np.ndarray | None = None
    evaluator_calls: int = 0
    remapped: bool = False
    interrupted: bool = False
    stop_reason: str = ""
    memory: MappingMemory | None = None

    def to_checkpoint(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state = {"generation": self.generation, "n_evals": self.n_evals,
                 "elapsed_s": self.elapsed_s, "history": self.history,
                 "evaluator_calls": self.evaluator_calls, "remapped": self.remapped,
                 "interrupted": self.interrupted, "stop_reason": self.stop_reason}
        arrays = dict(self.archive.to_arrays())
        if self.memory is not None:
            state["memory_objective"] = self.memory.objective
            arrays.update(self.memory.to_arrays())
        arrays["generation"] = np.array(self.generation)
        if self.population is not None:
            arrays["population"] = self.population
        if self.hv_lo is not None:
            arrays["hv_lo"], arrays["hv_hi"] = self.hv_lo, self.hv_hi
        return state, arrays

    @classmethod
    def from_checkpoint(cls, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> RunState:
        return cls(
            archive=Archive.from_arrays(arrays), generation=int(state["generation"]),
            n_evals=int(state["n_evals"]), elapsed_s=float(state["elapsed_s"]),
            history=list(state["history"]), population=arrays.get("population"),
            hv_lo=arrays.get("hv_lo"), hv_hi=arrays.get("hv_hi"),
            evaluator_calls=int(state["evaluator_calls"]), remapped=bool(state["remapped"]),
            memory=(MappingMemory.from_arrays(arrays, str(state["memory_objective"]))
                    if "memory_objective" in state else None),
        )


def check_state(state: RunState, n_var: int, n_hw_genes: int, n_layers: int,
                n_objectives: int, where: str) -> None:
    """Raise `ConfigError` naming ``where`` (the checkpoint file) if the arrays of a
    restored ``state`` do not fit this run: shapes, integer factors, genes that are finite
    and in [0, 1], finite positive objectives. A damaged or edited checkpoint otherwise
    fails deep inside pymoo or the decoder."""
    n_d = 8  # the loop dims N G K C P Q R S
    problems: list[str] = []

    def need(name: str, array: np.ndarray | None, shape: tuple[int | None, ...], kind: str,
             lo: float | None = None, hi: float | None = None) -> None:
        if array is None:
            return
        a = np.asarray(array)
        if a.ndim != len(shape) or any(n is not None and n != m
                                       for n, m in zip(shape, a.shape, strict=True)):
            want = ", ".join("N" if n is None else str(n) for n in shape)
            problems.append(f"{name} has shape {list(a.shape)}, expected [{want}]")
        elif a.dtype.kind not in kind:
            problems.append(f"{name} holds {a.dtype} values, expected numbers")
        elif a.size and (not np.isfinite(a).all() or (lo is not None and a.min() < lo)
                         or (hi is not None and a.max() > hi)):
            bounds = "finite" + (f" and in [{lo}, {hi}]" if hi is not None else
                                 f" and >= {lo}" if lo is not None else "")
            problems.append(f"{name} holds values that are not {bounds}")

    archive = state.archive
    need("population", state.population, (None, n_var), "fiu", 0.0, 1.0)
    if state.population is not None and not problems and len(state.population) == 0:
        problems.append("population is empty")
    need("archive_objectives", archive.objectives, (None, n_objectives), "fiu", 0.0)
    need("archive_hw_genes", archive.hw_genes, (len(archive), n_hw_genes), "fiu", 0.0, 1.0)
    need("archive_factors", archive.factors, (len(archive), n_layers, 5, n_d), "iu", 1)
    need("archive_order", archive.order, (len(archive), n_layers, 3, n_d), "iu", 0, n_d - 1)
    for name in ("hv_lo", "hv_hi"):
        need(name, getattr(state, name), (n_objectives,), "fiu")
    memory = state.memory
    if memory is not None and memory.keys is not None:
        need("memory_keys", memory.keys, (None, n_hw_genes), "iu", 0)
        if memory.keys.ndim == 2:
            n_m = memory.keys.shape[0]
            need("memory_factors", memory.factors, (n_m, n_layers, 5, n_d), "iu", 1)
            need("memory_order", memory.order, (n_m, n_layers, 3, n_d), "iu", 0, n_d - 1)
            need("memory_score", memory.score, (n_m, n_layers), "fiu")
    if problems:
        raise ConfigError(f"{where}: {'; '.join(problems)}; the file was damaged or edited "
                          "or is from another model or design space: start a new run")


def budget_termination(budget: Budget, reserve: int = 0, time_share: float = 1.0
                       ) -> AnyOf:
    """The budget's limits as one termination, checked in this order: the generations are
    done (``generations``), the next generation and the remap ``reserve`` would pass
    ``max_evals`` (``max_evals``), or the next generation would end past ``time_share`` of
    the time limit (``time_limit``). The first generation always runs: a run never ends
    empty."""
    terms: list[Termination] = []
    if budget.generations is not None:
        terms.append(Generations(budget.generations))
    if budget.max_evals is not None:
        terms.append(Evaluations(budget.max_evals, reserve))
    if budget.time_limit_s is not None:
        terms.append(TimeLimit(budget.time_limit_s, time_share))
    return AnyOf(*terms)


def _progress(state: RunState, started: float, elapsed0: float, next_evals: int,
              last_generation_s: float) -> Progress:
    """Where the run stands now (`Termination` reads it before each generation)."""
    return Progress(
        generation=state.generation, n_evals=state.n_evals,
        elapsed_s=elapsed0 + time.perf_counter() - started, next_evals=next_evals,
        next_s=last_generation_s,
        hypervolumes=tuple(row["hypervolume"] for row in state.history
                           if row.get("phase", "search") == "search"))


def generation_evals(evaluator: BatchEvaluator, budget: Budget) -> int:
    """The most design evaluations one generation spends: every design, times the nested
    mapper's evaluations per design."""
    per_design = nested_evals_per_design(evaluator.effort) if evaluator.mode == "nested" else 1
    return budget.population * per_design


def _remap_floor(strategy: Strategy) -> int:
    """The fewest evaluations of a remap: one design, the mapper's candidates, no steps."""
    if strategy.remap is None:
        return 0
    return nested_evals_per_design(MapperEffort(strategy.remap.n_candidates, 0,
                                                strategy.remap.objective))


def check_budget(evaluator: BatchEvaluator, strategy: Strategy, budget: Budget) -> None:
    """`ConfigError` when ``max_evals`` is below what a new run needs (`minimum_evals`)."""
    need = minimum_evals(evaluator, strategy, budget)
    if budget.max_evals is not None and budget.max_evals < need:
        remap = _remap_floor(strategy)
        raise ConfigError(
            f"max evals {budget.max_evals}: a run needs at least {need} evaluations (one "
            f"generation of {budget.population} designs, {generation_evals(evaluator, budget)}"
            + (f", and {remap} for the final remap of one design" if remap else "")
            + "); raise it, or lower the population or the mapper candidates")


def minimum_evals(evaluator: BatchEvaluator, strategy: Strategy, budget: Budget) -> int:
    """The fewest evaluations a run needs: one generation and the smallest remap."""
    return generation_evals(evaluator, budget) + _remap_floor(strategy)


def run_search(evaluator: BatchEvaluator, strategy: Strategy, algorithm: str, budget: Budget,
               *, seed: int = 0, state: RunState | None = None,
               on_generation: Callable[[RunState, GenerationStats], None] | None = None,
               stop: Termination | None = None, search: Search | None = None,
               remap: bool = True) -> RunState:
    """Search until the budget is spent or Ctrl-C; return the final `RunState`.

    ``algorithm``: a `codesign.search.searches.SEARCHES` name (the ``random`` strategy
    always uses ``random``). ``state`` continues a checkpointed run. ``on_generation`` is
    called after every generation (checkpoint, progress display); a Ctrl-C during a
    generation discards that generation, marks the state ``interrupted`` and returns
    normally. ``stop``: a further termination (`codesign.search.termination.Stagnation`,
    say); the search ends at whichever of it and the budget comes first.
    ``search``: go on with this search object (it keeps its population between calls:
    `codesign.search.islands` runs a search in steps of a few generations) instead of a
    new one built from ``state``; ``remap=False`` leaves the final remap for a later call.
    """
    objectives = evaluator.objectives
    n_h, n_l = evaluator.space.n_genes, evaluator.n_layers
    if state is None:
        state = RunState(archive=Archive.empty(len(objectives), n_h, n_l))
    evaluator.calls = state.evaluator_calls
    # the mapping memory lives in the state, so a checkpoint carries it to a resumed run
    if strategy.warm_start and (state.memory is None
                                or state.memory.objective != evaluator.effort.objective):
        state.memory = MappingMemory(evaluator.effort.objective)
    evaluator.memory = state.memory if strategy.warm_start else None
    if search is None:
        search = make_search(search_name(strategy, algorithm), SearchSetup(
            n_var=evaluator.n_var, n_objectives=len(objectives),
            n_constraints=len(evaluator.constraint_names), population=budget.population,
            seed=seed, generation=state.generation, initial=state.population))
    if state.generation == 0:
        check_budget(evaluator, strategy, budget)
    started = time.perf_counter()
    elapsed0 = state.elapsed_s
    state.interrupted = False
    next_evals = generation_evals(evaluator, budget)
    time_share = 1.0 - REMAP_TIME_SHARE if strategy.remap is not None else 1.0
    last_generation_s = 0.0
    try:
        reserve = remap_reserve(strategy, budget)
        termination = budget_termination(budget, reserve, time_share)
        if stop is not None:
            termination = termination | stop
        searched = False
        while not (reason := termination.reason(_progress(state, started, elapsed0, next_evals,
                                                          last_generation_s))):
            searched = True
            generation_started = time.perf_counter()
            x = search.ask()
            evaluation = evaluator.evaluate(x)
            search.tell(x, evaluation)
            _record(state, evaluation, evaluator, search.population)
            state.elapsed_s = elapsed0 + time.perf_counter() - started
            stats = generation_stats(state, objectives)
            state.history.append(stats.to_row())
            if on_generation is not None:
                on_generation(state, stats)
            last_generation_s = time.perf_counter() - generation_started
        state.stop_reason = reason
        # remap when this call searched (a resumed run may have found new designs)
        if remap and strategy.remap is not None and (searched or not state.remapped) \
                and len(state.archive):
            deadline = None
            if budget.time_limit_s is not None:  # perf_counter time the remap must end by
                deadline = started + budget.time_limit_s - elapsed0
            note = _remap(state, evaluator, strategy, budget, deadline)
            state.elapsed_s = elapsed0 + time.perf_counter() - started
            stats = generation_stats(state, objectives, phase="remap", note=note)
            state.history.append(stats.to_row())
            if on_generation is not None:
                on_generation(state, stats)
    except KeyboardInterrupt:
        state.interrupted = True
        state.stop_reason = "interrupted"
        state.elapsed_s = elapsed0 + time.perf_counter() - started
    return state


def _record(state: RunState, evaluation: Evaluation, evaluator: BatchEvaluator,
            population: np.ndarray | None) -> None:
    """Fold one evaluated generation into the state (archive, counters, bounds)."""
    if state.hv_lo is None:
        sample = evaluation.objectives[evaluation.feasible]
        if sample.shape[0] == 0:
            sample = evaluation.objectives[(evaluation.objectives < 1e29).all(1)]
        if sample.shape[0]:
            state.hv_lo, state.hv_hi = normalisation_bounds(sample)
    state.archive.update(evaluation.objectives, evaluation.feasible, evaluation.hw_genes,
                         evaluation.factors, evaluation.order)
    state.generation += 1
    state.n_evals += evaluation.n_evals
    state.evaluator_calls = evaluator.calls
    if population is not None:
        state.population = population


def remap_reserve(strategy: Strategy, budget: Budget) -> int:
    """Evaluations kept back for the final remap: at most ``population`` front designs
    (with ``max_evals``, at most half of it and at least the smallest remap)."""
    if strategy.remap is None:
        return 0
    full = budget.population * nested_evals_per_design(strategy.remap)
    if budget.max_evals is not None:  # a small budget: the search keeps at least half
        full = max(min(full, budget.max_evals // 2), _remap_floor(strategy))
    return full


#: Front designs the first chunk of a time-limited remap maps (1/16 of them, at least one),
#: to measure how long a design takes before sizing the next chunks to the time left.
_FIRST_REMAP_CHUNK = 16


def _remap(state: RunState, evaluator: BatchEvaluator, strategy: Strategy,
           budget: Budget, deadline: float | None = None) -> str:
    """Map front designs again with the full mapper, starting from their mappings so far;
    merge into the archive (never lose a design: a remapped mapping that is worse in some
    objective leaves the old one there). Returns a note saying how it was scaled down to
    stay within ``max_evals`` or the ``deadline`` (a `time.perf_counter` value), "" if not.
    With a deadline the designs are mapped in chunks sized to the time left; those not
    reached keep their mappings from the search."""
    assert strategy.remap is not None
    archive = state.archive.sorted()
    # one row per distinct decoded design (different genes may snap to the same design)
    _, first = np.unique(evaluator.space.indices(archive.hw_genes), axis=0,
                         return_index=True)
    rows = np.sort(first)
    n_front = rows.shape[0]
    effort, reserve = strategy.remap, remap_reserve(strategy, budget)
    scaled = []
    if budget.max_evals is not None:
        left = budget.max_evals - state.n_evals
        if left < _remap_floor(strategy):
            return "skipped: the evaluation budget is spent"
        if left < reserve or reserve < budget.population * nested_evals_per_design(effort):
            scaled.append("--max-evals")
        reserve = min(reserve, left)
    full = nested_evals_per_design(effort)
    n_designs = max(1, min(budget.population, reserve // full))
    if rows.shape[0] > n_designs:  # evenly spread along the first objective
        rows = rows[np.unique(np.linspace(0, rows.shape[0] - 1, n_designs).round()
                              .astype(np.int64))]
    # a front smaller than that gets the whole reserve: deeper searches per design
    per_design = reserve // rows.shape[0]
    # the most steps whose nested_evals_per_design fits in per_design (>= 0: see the floor)
    steps = max(0, (per_design - 1) // effort.n_candidates - 1)
    effort = MapperEffort(effort.n_candidates, steps, effort.objective)
    remapper = evaluator.with_mapper(effort)  # the run's evaluator stays as it is
    chunks = [rows]
    if deadline is not None:
        chunks = [rows[:max(1, rows.shape[0] // _FIRST_REMAP_CHUNK)]]
    done = 0
    while chunks:
        chunk = chunks.pop()
        if deadline is not None and time.perf_counter() >= deadline:
            break
        chunk_started = time.perf_counter()
        evaluation = remapper.evaluate(archive.hw_genes[chunk],
                                       known=(archive.factors[chunk], archive.order[chunk]))
        state.archive.update(evaluation.objectives, evaluation.feasible, evaluation.hw_genes,
                             evaluation.factors, evaluation.order)
        state.n_evals += evaluation.n_evals
        state.evaluator_calls = evaluator.calls
        done += chunk.shape[0]
        if deadline is not None and done < rows.shape[0]:
            per_design_s = (time.perf_counter() - chunk_started) / chunk.shape[0]
            fits = int((deadline - time.perf_counter()) / max(per_design_s, 1e-9))
            if fits >= 1:
                chunks.append(rows[done:done + fits])
    state.remapped = state.remapped or done > 0
    if done < rows.shape[0]:
        scaled.append("--time-limit")
    if not scaled:
        return ""
    return (f"scaled down to stay within {' and '.join(scaled)}: {done} of {n_front} front "
            f"designs remapped, {steps} mapper steps each (full remap: "
            f"{min(n_front, budget.population)} designs, {strategy.remap.n_steps} steps); "
            "the others keep their mappings from the search")


def generation_stats(state: RunState, objectives: tuple[str, ...], phase: str = "search",
                     note: str = "") -> GenerationStats:
    """The history row of ``state`` now: archive hypervolume, best per objective, counters."""
    archive = state.archive
    if len(archive) and state.hv_lo is not None:
        hv = hypervolume(archive.objectives, state.hv_lo, state.hv_hi)
        best = {n: float(archive.objectives[:, i].min()) for i, n in enumerate(objectives)}
    else:
        hv, best = 0.0, {n: float("nan") for n in objectives}
    wall = state.elapsed_s
    return GenerationStats(generation=state.generation, n_evals=state.n_evals, hypervolume=hv,
                           best=best, n_pareto=len(archive), wall_s=wall,
                           evals_per_s=state.n_evals / wall if wall > 0 else 0.0, phase=phase,
                           note=note)
