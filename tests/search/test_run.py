"""Tests for codesign/search/run.py: budgets, determinism, Ctrl-C, checkpoint round trip."""

from __future__ import annotations

import numpy as np
import pytest

from codesign.arch.space import DesignSpace
from codesign.cost.analytical import AnalyticalCostModel
from codesign.errors import ConfigError
from codesign.mapping.batch import WorkloadTensors
from codesign.search.archive import non_dominated_mask
from codesign.search.evolutionary import make_algorithm
from codesign.search.problem import BatchEvaluator, MapperEffort
from codesign.search.run import (
    REMAP_TIME_SHARE,
    Budget,
    RunState,
    run_search,
)
from codesign.search.strategies import STRATEGIES
from codesign.workload.layer import Layer, LayerTable

TABLE = LayerTable.from_layers([Layer.conv(K=16, C=8, P=8, Q=8, R=3, S=3, name="c"),
                                Layer.gemm(M=4, K=32, N=16, name="fc")])


def _evaluator(strategy="joint", model=None, seed=0):
    strat = STRATEGIES[strategy]
    return BatchEvaluator(DesignSpace(), WorkloadTensors.from_table(TABLE),
                          model or AnalyticalCostModel(), ("latency", "energy", "area"),
                          mode=strat.mode, effort=strat.effort or MapperEffort(4, 1), seed=seed)


def test_budget_needs_a_limit_and_sane_values():
    with pytest.raises(ConfigError, match="at least one"):
        Budget(generations=None)
    with pytest.raises(ConfigError, match="population must be >= 2"):
        Budget(population=1)


@pytest.mark.parametrize("strategy", ["joint", "nested", "nested-cold", "sequential", "random"])
def test_each_strategy_finds_a_feasible_non_dominated_front(strategy):
    state = run_search(_evaluator(strategy), STRATEGIES[strategy], "nsga2",
                       Budget(population=8, generations=3), seed=1)
    assert state.generation == 3 and state.stop_reason == "generations"
    assert len(state.archive) > 0
    assert non_dominated_mask(state.archive.objectives).all()
    hv = [row["hypervolume"] for row in state.history]
    assert all(b >= a - 1e-12 for a, b in zip(hv, hv[1:], strict=False))  # archive HV never drops
    if STRATEGIES[strategy].remap is not None:  # nested, nested-cold, sequential
        assert state.remapped and len(state.history) == 4  # 3 generations + the remap
        assert state.history[-1]["phase"] == "remap"


def test_max_evals_is_never_exceeded():
    # 8, 16; a third generation would make 24 > 20 (it used to run: 24 evaluations)
    state = run_search(_evaluator(), STRATEGIES["joint"], "nsga2",
                       Budget(population=8, generations=None, max_evals=20), seed=0)
    assert state.n_evals == 16 and state.stop_reason == "max_evals"


@pytest.mark.parametrize("max_evals", [105, 600, 3000])
def test_nested_search_and_remap_stay_within_max_evals(max_evals):
    # nested: 8 designs x (4 x 2 + 1) = 72 evaluations a generation; the remap keeps back
    # at most half the budget; --max-evals 3000 used to do 3202 with the default budget
    state = run_search(_evaluator("nested"), STRATEGIES["nested"], "nsga2",
                       Budget(population=8, generations=None, max_evals=max_evals), seed=0)
    assert state.generation >= 1 and state.remapped and len(state.archive) > 0
    assert state.stop_reason == "max_evals"
    assert state.n_evals <= max_evals
    assert max_evals - state.n_evals < 72 + 32 * 17 + 1  # and it did not stop far short


def test_a_budget_below_one_generation_and_a_remap_says_the_minimum():
    # 72 for one generation + 33 for the smallest remap (one design, 32 candidates, no
    # steps); --max-evals 1 used to run 833 evaluations
    with pytest.raises(ConfigError, match="needs at least 105 evaluations"):
        run_search(_evaluator("nested"), STRATEGIES["nested"], "nsga2",
                   Budget(population=8, generations=None, max_evals=104), seed=0)
    with pytest.raises(ConfigError, match="needs at least 8 evaluations"):
        run_search(_evaluator(), STRATEGIES["joint"], "nsga2",
                   Budget(population=8, generations=None, max_evals=7), seed=0)


class _Clock:
    """A stand-in for `time` in codesign.search.run: it moves only when the model below
    says it spent time, so the test measures the run's own accounting, not the machine."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now


class _SlowModel(AnalyticalCostModel):
    """The analytical model, costing 0.5 ms of `_Clock` time per design (the remap costs
    545 a design): the run's time is what the test controls."""

    def __init__(self, clock: _Clock) -> None:
        super().__init__()
        self.clock = clock

    def evaluate(self, hardware, workload, mappings):
        self.clock.now += 5e-4 * hardware.n_designs
        return super().evaluate(hardware, workload, mappings)


def test_the_time_limit_bounds_the_remap_too(monkeypatch):
    # 16 designs x 545 evaluations x 0.5 ms: a full remap alone would take 4.4 s; the
    # search stops at 3/4 of the limit and the remap is scaled down to the rest
    import codesign.search.run as run_module

    clock = _Clock()
    monkeypatch.setattr(run_module, "time", clock)
    ev = _evaluator("nested", model=_SlowModel(clock))
    seen = []
    state = run_search(ev, STRATEGIES["nested"], "nsga2",
                       Budget(population=16, generations=None, time_limit_s=2.0), seed=0,
                       on_generation=lambda state, stats: seen.append(stats))
    assert state.stop_reason == "time_limit" and state.remapped
    # the limit, plus at most one remap chunk past the deadline
    print("ELAPSED", state.elapsed_s, seen[-2].wall_s)
    assert state.elapsed_s <= 2.0 + 16 * 545 * 5e-4 / 4, state.elapsed_s
    assert seen[-1].phase == "remap" and "note" not in state.history[-1]
    assert "scaled down to stay within --time-limit" in seen[-1].note, seen[-1].note
    assert seen[-2].wall_s <= 2.0 * (1 - REMAP_TIME_SHARE) + 0.05  # the search left it time


def test_same_seed_same_front_other_seed_other_search():
    def front(seed):
        return run_search(_evaluator(seed=seed), STRATEGIES["joint"], "nsga2",
                          Budget(population=8, generations=3), seed=seed).archive.objectives

    assert np.array_equal(front(5), front(5))
    assert not np.array_equal(front(5), front(6))


@pytest.mark.parametrize("algorithm", ["nsga3", "smsemoa", "random"])
def test_other_algorithms_run(algorithm):
    state = run_search(_evaluator(), STRATEGIES["joint"], algorithm,
                       Budget(population=6, generations=2), seed=0)
    assert state.n_evals == 12 and len(state.archive) > 0


def test_unknown_algorithm_is_a_config_error():
    with pytest.raises(ConfigError, match="nsga2"):
        make_algorithm("nsga9", 8, 3)


class InterruptingModel:
    """Raises KeyboardInterrupt on the given call, as Ctrl-C would."""

    def __init__(self, at_call):
        self.inner, self.calls, self.at_call = AnalyticalCostModel(), 0, at_call

    def evaluate(self, hardware, workload, mappings):
        self.calls += 1
        if self.calls == self.at_call:
            raise KeyboardInterrupt
        return self.inner.evaluate(hardware, workload, mappings)


def test_ctrl_c_keeps_the_generations_already_done():
    seen = []
    state = run_search(_evaluator(model=InterruptingModel(at_call=3)), STRATEGIES["joint"],
                       "nsga2", Budget(population=8, generations=10), seed=0,
                       on_generation=lambda s, stats: seen.append(stats.generation))
    assert state.interrupted and state.stop_reason == "interrupted"
    assert state.generation == 2 and seen == [1, 2] and len(state.archive) > 0


def test_checkpoint_round_trip_and_resume_goes_on_counting():
    ev = _evaluator()
    state = run_search(ev, STRATEGIES["joint"], "nsga2", Budget(population=8, generations=2),
                       seed=0)
    saved, arrays = state.to_checkpoint()
    back = RunState.from_checkpoint(saved, arrays)
    assert back.generation == 2 and back.n_evals == 16
    assert np.array_equal(back.population, state.population)
    assert np.array_equal(back.archive.objectives, state.archive.objectives)
    more = run_search(_evaluator(), STRATEGIES["joint"], "nsga2",
                      Budget(population=8, generations=4), seed=0, state=back)
    assert more.generation == 4 and more.n_evals == 32 and len(more.history) == 4
    assert more.history[-1]["hypervolume"] >= state.history[-1]["hypervolume"]


def test_the_mapping_memory_travels_in_the_checkpoint():
    ev = _evaluator("nested")
    state = run_search(ev, STRATEGIES["nested"], "nsga2", Budget(population=6, generations=2),
                       seed=0)
    assert state.memory is not None and len(state.memory) > 0 and ev.memory is state.memory
    saved, arrays = state.to_checkpoint()
    back = RunState.from_checkpoint(saved, arrays)
    for name in ("keys", "factors", "order", "score"):
        assert np.array_equal(getattr(back.memory, name), getattr(state.memory, name))
    assert back.memory.objective == state.memory.objective
    # a resumed run goes on from the saved memory rather than an empty one
    ev2 = _evaluator("nested")
    more = run_search(ev2, STRATEGIES["nested"], "nsga2", Budget(population=6, generations=3),
                      seed=0, state=back)
    assert ev2.memory is more.memory and len(more.memory) >= len(state.memory)
    # strategies without the memory save none
    cold = run_search(_evaluator("nested-cold"), STRATEGIES["nested-cold"], "nsga2",
                      Budget(population=6, generations=1), seed=0)
    assert cold.memory is None and not any(k.startswith("memory_")
                                           for k in cold.to_checkpoint()[1])


def test_the_final_remap_starts_from_the_mappings_found_so_far():
    # the remap's mapper gets each front design's stored mapping as a starting candidate,
    # so per layer its objective (EDP) can only improve on what the loop found
    ev = _evaluator("nested-cold")
    ev.effort = MapperEffort(8, 8)  # a loop that searched harder than the remap below
    x = np.random.default_rng(7).random((5, 6))
    loop = ev.evaluate(x)
    remap = ev.remap(loop.hw_genes, MapperEffort(2, 1), known=(loop.factors, loop.order))
    edp = []
    for out in (loop, remap):
        _, _, cost = ev.cost(out.hw_genes, out.factors, out.order)
        edp.append((cost.cycles * cost.energy_pj).numpy())
    ok = loop.feasible
    assert (edp[1][ok] <= edp[0][ok] * (1 + 1e-12)).all()
    # a cold remap this weak loses to the loop's mappings somewhere
    cold = ev.remap(loop.hw_genes, MapperEffort(2, 1))
    _, _, cost = ev.cost(cold.hw_genes, cold.factors, cold.order)
    assert ((cost.cycles * cost.energy_pj).numpy()[ok] > edp[0][ok] * (1 + 1e-9)).any()


def test_agemoea2_needs_numba_and_says_so():
    try:
        import numba  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match="pip install numba"):
            make_algorithm("agemoea2", 8, 3)
    else:
        assert make_algorithm("agemoea2", 8, 3) is not None


def test_time_limit_stops_the_search():
    # a limit far below one generation's time: exactly one generation runs, then it stops
    state = run_search(_evaluator(), STRATEGIES["joint"], "nsga2",
                       Budget(population=8, generations=None, time_limit_s=1e-9), seed=0)
    assert state.generation == 1 and state.stop_reason == "time_limit"
