"""The island model: K independent populations of one run, in step, exchanging designs.

Each island is a whole search of its own (`Island`: its evaluator, its pymoo search, its
`RunState`) with a seed derived from the run's (`island_seed`), kept by one worker
(`codesign.search.workers`: local processes, Ray actors, or inline for tests).
`run_islands` drives them in epochs:

1. every island runs up to the next multiple of ``migrate_every`` generations (or until its
   budget is spent), all at once, and reports its archive after each generation;
2. migration, synchronous and in a ring: island ``i`` sends its ``migrants`` best
   (`emigrants`: non-dominated rank first, then the largest crowding distance, pymoo's
   `RankAndCrowding`) to island ``(i + 1) % K``, which merges them into its population and
   drops as many of its worst by its algorithm's own survival (`immigrate`);
3. when every island is done, each maps its own front again (the strategy's final remap),
   in parallel; the run's front is the non-dominated set over all islands' archives.

Migration happens at generation boundaries fixed by the settings alone and every random
draw is an island's own (pymoo's generator per algorithm, the mapper's per evaluator), so
a seed gives the same result for a given K whichever kind of worker runs the islands.

The budget is per island: ``generations`` and ``time_limit_s`` each island's own (they
run side by side; the time limit counts the run's wall time from the moment the workers
are up), ``max_evals`` split evenly (`island_budget`). The history has one row per
generation for the merged front: hypervolume with island 0's normalisation bounds,
evaluations summed over islands.

Ctrl-C (or SIGTERM) stops the islands at once; the run keeps what they reported at the
last migration (at most ``migrate_every`` generations are lost) and writes it as an
interrupted run. A run with islands cannot be resumed (`ExploreConfig.resumed` says so):
going on would need every island's population and its place in the migration schedule.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from codesign.errors import ConfigError
from codesign.search.archive import Archive, hypervolume, non_dominated_mask
from codesign.search.evolutionary import PymooSearch
from codesign.search.problem import BatchEvaluator, Infeasibility
from codesign.search.protocol import SearchSetup
from codesign.search.run import (
    REMAP_TIME_SHARE,
    Budget,
    GenerationStats,
    RunState,
    run_search,
)
from codesign.search.searches import make_search
from codesign.search.strategies import Strategy, search_name
from codesign.search.termination import Progress

__all__ = ["MIGRATION", "Island", "IslandPlan", "IslandReport", "island_budget",
           "island_seed", "merge_reports", "run_islands"]

#: Stop reason of an island's epoch that ended at a migration (not its budget).
MIGRATION = "migration"


def island_seed(seed: int, index: int) -> int:
    """Island ``index``'s seed: a 31-bit number drawn from (run seed, index)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0] >> 1)


def island_budget(budget: Budget, n_islands: int) -> Budget:
    """One island's budget: the run's, with ``max_evals`` split evenly over the islands."""
    if budget.max_evals is None:
        return budget
    return Budget(population=budget.population, generations=budget.generations,
                  max_evals=max(1, budget.max_evals // n_islands),
                  time_limit_s=budget.time_limit_s)


@dataclass(frozen=True)
class IslandPlan:
    """What every island of a run shares: ``budget`` is one island's (`island_budget`)."""

    strategy: Strategy
    algorithm: str
    budget: Budget
    seed: int
    n_islands: int
    migrate_every: int
    migrants: int


@dataclass
class IslandReport:
    """What an island tells the driver after a step: its counters, its own history rows
    since the last report, its archive's objectives after each of those generations
    (``fronts``, ``[N_g, O]`` each), and its archive now.

    ``done``: its budget is spent (no more generations); ``note``: how the remap was scaled
    down, after `Island.finish`.
    """

    index: int
    generation: int
    n_evals: int
    stop_reason: str
    rows: list[dict[str, Any]]
    fronts: list[np.ndarray]
    archive: Archive
    hv_lo: np.ndarray | None
    hv_hi: np.ndarray | None
    infeasibility: Infeasibility
    remapped: bool = False
    note: str = ""

    @property
    def done(self) -> bool:
        return self.stop_reason != MIGRATION


@dataclass(frozen=True)
class _EpochEnd:
    """Ends an epoch at generation ``n`` (a migration), or before a generation that would
    end past ``time_limit_s`` taking ``next_s`` (the island's last generation time: the run
    loop knows none at the start of an epoch)."""

    n: int
    time_limit_s: float | None = None
    next_s: float = 0.0

    def reason(self, progress: Progress) -> str:
        if self.time_limit_s is not None and progress.generation > 0 and \
                progress.elapsed_s + max(progress.next_s, self.next_s) >= self.time_limit_s:
            return "time_limit"
        return MIGRATION if progress.generation >= self.n else ""


class Island:
    """One population of an island run, kept by a worker between calls.

    ``evaluator``: a copy of the run's (it arrives pickled); its seed becomes the island's,
    so the islands' mappers draw differently.
    """

    def __init__(self, evaluator: BatchEvaluator, plan: IslandPlan, index: int) -> None:
        if evaluator.device.type == "cpu":  # small tensors: one thread is fastest
            import torch

            torch.set_num_threads(1)
        self.plan, self.index = plan, index
        self.seed = island_seed(plan.seed, index)
        evaluator.seed = self.seed
        self.evaluator = evaluator
        n_objectives = len(evaluator.objectives)
        self.state = RunState(archive=Archive.empty(n_objectives, evaluator.space.n_genes,
                                                    evaluator.n_layers))
        self.search = make_search(
            search_name(plan.strategy, plan.algorithm),
            SearchSetup(n_var=evaluator.n_var, n_objectives=n_objectives,
                        n_constraints=len(evaluator.constraint_names),
                        population=plan.budget.population, seed=self.seed))
        if not isinstance(self.search, PymooSearch):
            raise ConfigError(f"islands: algorithm {plan.algorithm!r} is not a pymoo "
                              "algorithm; islands exchange designs between pymoo populations")
        self._reported = 0
        self._fronts: list[np.ndarray] = []
        self._note = ""
        self._generation_s = 0.0

    def _on_generation(self, state: RunState, stats: GenerationStats) -> None:
        if stats.phase == "search":
            self._fronts.append(state.archive.objectives.copy())
        else:
            self._note = stats.note

    def _run(self, elapsed_s: float, **kwargs: Any) -> None:
        self.state.elapsed_s = elapsed_s  # the run's wall clock: the time limit is shared
        run_search(self.evaluator, self.plan.strategy, self.plan.algorithm, self.plan.budget,
                   seed=self.seed, state=self.state, search=self.search,
                   on_generation=self._on_generation, **kwargs)

    def advance(self, elapsed_s: float) -> IslandReport:
        """Run to the next migration (or until the budget is spent)."""
        every, budget = self.plan.migrate_every, self.plan.budget
        limit = None
        if budget.time_limit_s is not None:
            share = 1.0 - REMAP_TIME_SHARE if self.plan.strategy.remap is not None else 1.0
            limit = budget.time_limit_s * share
        generation = self.state.generation
        self._run(elapsed_s, remap=False, stop=_EpochEnd(
            (generation // every + 1) * every, limit, self._generation_s))
        if self.state.generation > generation:
            self._generation_s = (self.state.elapsed_s - elapsed_s) / (
                self.state.generation - generation)
        return self._report()

    def finish(self, elapsed_s: float) -> IslandReport:
        """The strategy's final remap of this island's front (its budget is spent)."""
        reason = self.state.stop_reason  # why the search stopped, not this call
        self._run(elapsed_s, stop=_EpochEnd(0))
        self.state.stop_reason = reason
        report = self._report()
        report.note = self._note
        return report

    def _report(self) -> IslandReport:
        state = self.state
        report = IslandReport(
            index=self.index, generation=state.generation, n_evals=state.n_evals,
            stop_reason=state.stop_reason, rows=state.history[self._reported:],
            fronts=self._fronts, archive=state.archive, hv_lo=state.hv_lo,
            hv_hi=state.hv_hi, infeasibility=self.evaluator.infeasibility,
            remapped=state.remapped)
        self._reported, self._fronts = len(state.history), []
        return report

    def emigrants(self) -> Any:
        """The ``migrants`` best of the population (a pymoo `Population`): feasible before
        infeasible, then by non-dominated rank, then by crowding distance."""
        from pymoo.operators.survival.rank_and_crowding import RankAndCrowding

        algorithm = self.search.algorithm
        rng = np.random.default_rng([self.seed, self.state.generation])
        return RankAndCrowding().do(algorithm.problem, algorithm.pop,
                                    n_survive=self.plan.migrants, random_state=rng)

    def immigrate(self, migrants: Any) -> None:
        """Merge ``migrants`` (evaluated individuals of another island) into the population
        and drop as many of the worst, by the algorithm's own survival."""
        from pymoo.core.population import Population

        algorithm = self.search.algorithm
        merged = Population.merge(algorithm.pop, migrants)
        algorithm.pop = algorithm.survival.do(algorithm.problem, merged,
                                              n_survive=len(algorithm.pop),
                                              algorithm=algorithm,
                                              random_state=algorithm.random_state)


@dataclass
class _Merger:
    """The driver's view: every island's fronts by generation, merged into history rows."""

    objectives: tuple[str, ...]
    n_islands: int
    fronts: list[list[np.ndarray]] = field(default_factory=list)
    evals: list[list[int]] = field(default_factory=list)
    walls: list[list[float]] = field(default_factory=list)
    hv_lo: np.ndarray | None = None
    hv_hi: np.ndarray | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.fronts = [[] for _ in range(self.n_islands)]
        self.evals = [[] for _ in range(self.n_islands)]
        self.walls = [[] for _ in range(self.n_islands)]

    def add(self, reports: Sequence[IslandReport]) -> list[GenerationStats]:
        """Take the reports of the islands that ran this epoch (in island order); the
        merged rows of the generations they complete."""
        for r in reports:
            search_rows = [row for row in r.rows if row.get("phase", "search") == "search"]
            self.fronts[r.index] += r.fronts
            self.evals[r.index] += [row["evaluations"] for row in search_rows]
            self.walls[r.index] += [row["wall_s"] for row in search_rows]
        if self.hv_lo is None:  # island 0's bounds, else the first island's that has some
            bounded = [r for r in sorted(reports, key=lambda r: r.index) if r.hv_lo is not None]
            if bounded:
                self.hv_lo, self.hv_hi = bounded[0].hv_lo, bounded[0].hv_hi
        done = len([row for row in self.history if row["phase"] == "search"])
        last = max(len(f) for f in self.fronts)
        stats = [self._stats(g) for g in range(done, last)]
        self.history += [s.to_row() for s in stats]
        return stats

    def _at(self, values: list, g: int) -> Any:
        return values[min(g, len(values) - 1)] if values else None

    def _stats(self, g: int, phase: str = "search", archive: np.ndarray | None = None,
               n_evals: int | None = None, wall: float | None = None,
               note: str = "") -> GenerationStats:
        if archive is None:
            parts = [f for i in range(self.n_islands)
                     if (f := self._at(self.fronts[i], g)) is not None]
            merged = np.concatenate(parts) if parts else np.zeros((0, len(self.objectives)))
            archive = merged[non_dominated_mask(merged)]
            n_evals = sum(self._at(e, g) or 0 for e in self.evals)
            wall = max((self._at(w, g) or 0.0 for w in self.walls), default=0.0)
        if len(archive) and self.hv_lo is not None:
            hv = hypervolume(archive, self.hv_lo, self.hv_hi)
            best = {n: float(archive[:, i].min()) for i, n in enumerate(self.objectives)}
        else:
            hv, best = 0.0, {n: float("nan") for n in self.objectives}
        assert n_evals is not None and wall is not None
        return GenerationStats(generation=g + 1, n_evals=n_evals, hypervolume=hv, best=best,
                               n_pareto=len(archive), wall_s=wall,
                               evals_per_s=n_evals / wall if wall > 0 else 0.0, phase=phase,
                               note=note)

    def final(self, reports: Sequence[IslandReport], wall: float, note: str) -> GenerationStats:
        """The remap row: the merged archive after every island's remap."""
        archive = merge_reports(reports).objectives
        stats = self._stats(max(r.generation for r in reports) - 1, phase="remap",
                            archive=archive, n_evals=sum(r.n_evals for r in reports),
                            wall=wall, note=note)
        self.history.append(stats.to_row())
        return stats


def merge_reports(reports: Sequence[IslandReport]) -> Archive:
    """The non-dominated union of the islands' archives (island order: of equal designs
    the lower island's is kept)."""
    first = reports[0].archive
    archive = Archive.empty(first.objectives.shape[1], first.hw_genes.shape[1],
                            first.factors.shape[1])
    for r in sorted(reports, key=lambda r: r.index):
        a = r.archive
        archive.update(a.objectives, np.ones(len(a), dtype=bool), a.hw_genes, a.factors,
                       a.order)
    return archive


def _add_tally(into: Infeasibility, reports: Sequence[IslandReport]) -> None:
    """Sum the islands' infeasibility counts into the run's (``into``)."""
    for r in reports:
        t = r.infeasibility
        into.n_designs += t.n_designs
        into.n_feasible += t.n_feasible
        into.not_finite += t.not_finite
        for name, count in t.violations.items():
            into.violations[name] = into.violations.get(name, 0) + count
        if len(into.layer_misfits) != len(t.layer_misfits):
            into.layer_misfits = [0] * len(t.layer_misfits)
        into.layer_misfits = [a + b for a, b in zip(into.layer_misfits, t.layer_misfits,
                                                    strict=True)]


def run_islands(evaluator: BatchEvaluator, plan: IslandPlan, *, workers: str = "processes",
                progress: Callable[[GenerationStats], None] | None = None) -> RunState:
    """Run ``plan.n_islands`` islands of the run ``evaluator`` belongs to on ``workers``
    (a `codesign.search.workers.WORKER_KINDS` kind); the merged `RunState` (its archive
    the non-dominated set over all islands, its history one merged row per generation and
    one for the remap). ``progress`` gets each merged row, generation by generation, at
    every migration. A failing island raises `codesign.errors.RunError`."""
    from codesign.search.workers import open_workers

    k = plan.n_islands
    merger = _Merger(evaluator.objectives, k)
    reports: dict[int, IslandReport] = {}
    interrupted = False

    def show(stats: list[GenerationStats]) -> None:
        for s in stats:
            if progress is not None:
                progress(s)

    started = time.perf_counter()
    try:
        with open_workers(workers, k, gpu=evaluator.device.type == "cuda") as pool:
            # (the block ends the workers at once on Ctrl-C)
            pool.start(Island, [(evaluator, plan, i) for i in range(k)])
            started = time.perf_counter()  # the time limit counts from here
            while True:
                active = {i: (time.perf_counter() - started,) for i in range(k)
                          if i not in reports or not reports[i].done}
                new = pool.call("advance", active)
                reports.update(new)
                show(merger.add([new[i] for i in sorted(new)]))
                if any(r.stop_reason == "interrupted" for r in new.values()):
                    raise KeyboardInterrupt  # an inline island caught a Ctrl-C: stop them all
                if all(r.done for r in reports.values()):
                    break
                migrants = pool.call("emigrants", {i: () for i in range(k)})
                pool.call("immigrate", {(i + 1) % k: (migrants[i],) for i in range(k)})
            wall = time.perf_counter() - started
            if plan.strategy.remap is not None:
                reports = pool.call("finish", {i: (wall,) for i in range(k)})
                wall = time.perf_counter() - started
                note = next((r.note for r in reports.values() if r.note), "")
                show([merger.final([reports[i] for i in range(k)], wall, note)])
    except KeyboardInterrupt:
        interrupted = True
        wall = time.perf_counter() - started
    return _merged_state(evaluator, merger, [reports[i] for i in sorted(reports)], wall,
                         interrupted)


def _merged_state(evaluator: BatchEvaluator, merger: _Merger,
                  reports: Sequence[IslandReport], wall: float,
                  interrupted: bool) -> RunState:
    """The run's `RunState` from the islands' last reports."""
    n_objectives = len(evaluator.objectives)
    if reports:
        archive = merge_reports(reports)
        _add_tally(evaluator.infeasibility, reports)
    else:
        archive = Archive.empty(n_objectives, evaluator.space.n_genes, evaluator.n_layers)
    reasons = [r.stop_reason for r in reports]
    return RunState(
        archive=archive, generation=max((r.generation for r in reports), default=0),
        n_evals=sum(r.n_evals for r in reports), elapsed_s=wall, history=merger.history,
        hv_lo=merger.hv_lo, hv_hi=merger.hv_hi,
        remapped=bool(reports) and all(r.remapped for r in reports),
        interrupted=interrupted,
        stop_reason="interrupted" if interrupted else (reasons[0] if reasons else ""))
