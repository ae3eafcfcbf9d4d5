"""Tests for codesign/search/termination.py: each stop rule, their any-of combination, and the
reasons a run records."""

from __future__ import annotations

import pytest

from codesign.arch.space import DesignSpace
from codesign.cost.analytical import AnalyticalCostModel
from codesign.errors import ConfigError
from codesign.mapping.batch import WorkloadTensors
from codesign.search.problem import BatchEvaluator
from codesign.search.run import Budget, budget_termination, run_search
from codesign.search.strategies import STRATEGIES
from codesign.search.termination import (
    AnyOf,
    Evaluations,
    Generations,
    Progress,
    Stagnation,
    Termination,
    TimeLimit,
)
from codesign.workload.layer import Layer, LayerTable


def test_generations_stop_once_n_are_done():
    assert Generations(3).reason(Progress(generation=2)) == ""
    assert Generations(3).reason(Progress(generation=3)) == "generations"
    with pytest.raises(ConfigError, match="generations must be >= 1"):
        Generations(0)


def test_evaluations_stop_before_a_generation_that_would_pass_the_limit():
    stop = Evaluations(20)
    # 16 done + 8 next = 24 > 20; 8 + 8 = 16 fits; 20 + 0 is exactly the limit
    assert stop.reason(Progress(generation=2, n_evals=16, next_evals=8)) == "max_evals"
    assert stop.reason(Progress(generation=1, n_evals=8, next_evals=8)) == ""
    assert stop.reason(Progress(generation=1, n_evals=20, next_evals=0)) == ""
    # the evaluations kept back for the remap count as spent
    assert Evaluations(20, reserve=5).reason(Progress(generation=1, n_evals=8,
                                                      next_evals=8)) == "max_evals"
    # the first generation always runs
    assert stop.reason(Progress(generation=0, next_evals=100)) == ""
    with pytest.raises(ConfigError, match="max evals must be >= 1"):
        Evaluations(0)


def test_time_limit_stops_before_a_generation_that_would_end_past_its_share():
    stop = TimeLimit(10.0, share=0.75)  # the search gets 7.5 s
    assert stop.reason(Progress(generation=1, elapsed_s=6.0, next_s=1.0)) == ""
    assert stop.reason(Progress(generation=1, elapsed_s=6.5, next_s=1.0)) == "time_limit"
    assert TimeLimit(10.0).reason(Progress(generation=1, elapsed_s=8.0, next_s=1.0)) == ""
    assert stop.reason(Progress(generation=0, elapsed_s=99.0)) == ""
    for bad in (0.0, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="finite number of seconds"):
            TimeLimit(bad)
    with pytest.raises(ConfigError, match="time share"):
        TimeLimit(1.0, share=0.0)


def test_stagnation_stops_after_n_generations_without_hypervolume_gain():
    stop = Stagnation(2)
    assert stop.reason(Progress(generation=3, hypervolumes=(0.1, 0.2, 0.3))) == ""
    # two generations at 0.3 after the 0.3 of the one before them
    assert stop.reason(Progress(generation=4, hypervolumes=(0.1, 0.3, 0.3, 0.3))) \
        == "stagnation"
    # one plateau generation is not two
    assert stop.reason(Progress(generation=4, hypervolumes=(0.1, 0.2, 0.3, 0.3))) == ""
    # too short a history says nothing yet
    assert stop.reason(Progress(generation=2, hypervolumes=(0.3, 0.3))) == ""
    creeping = Progress(generation=4, hypervolumes=(0.1, 0.3, 0.3001, 0.3002))
    assert stop.reason(creeping) == ""
    assert Stagnation(2, tol=1e-3).reason(creeping) == "stagnation"
    with pytest.raises(ConfigError, match="n >= 1"):
        Stagnation(0)
    with pytest.raises(ConfigError, match="tolerance"):
        Stagnation(2, tol=-1.0)


def test_any_of_stops_at_the_first_that_stops_in_order():
    both = Progress(generation=5, n_evals=50, next_evals=10)
    assert AnyOf(Generations(5), Evaluations(40)).reason(both) == "generations"
    assert AnyOf(Evaluations(40), Generations(5)).reason(both) == "max_evals"
    assert AnyOf(Generations(9), Evaluations(99)).reason(both) == ""
    combined = Generations(9) | Evaluations(40) | Stagnation(3)
    assert isinstance(combined, AnyOf) and len(combined.terms) == 3  # flattened
    assert combined.reason(both) == "max_evals"
    assert all(isinstance(t, Termination) for t in (*combined.terms, combined))
    with pytest.raises(ConfigError, match="at least one"):
        AnyOf()


def test_the_budget_gives_the_reasons_runs_have_always_recorded():
    stop = budget_termination(Budget(population=8, generations=3, max_evals=20,
                                     time_limit_s=10.0), reserve=4, time_share=0.5)
    assert [type(t) for t in stop.terms] == [Generations, Evaluations, TimeLimit]
    assert stop.reason(Progress(generation=3, n_evals=99, elapsed_s=99.0)) == "generations"
    # 8 + 8 + the reserve of 4 = 20 fits, 8 + 9 + 4 does not
    assert stop.reason(Progress(generation=1, n_evals=8, next_evals=8)) == ""
    assert stop.reason(Progress(generation=1, n_evals=8, next_evals=9)) == "max_evals"
    assert stop.reason(Progress(generation=1, n_evals=8, next_evals=4, elapsed_s=4.0,
                                next_s=1.0)) == "time_limit"
    assert stop.reason(Progress(generation=1, n_evals=8, next_evals=4, elapsed_s=3.0,
                                next_s=1.0)) == ""
    only = budget_termination(Budget(generations=None, max_evals=100))
    assert [type(t) for t in only.terms] == [Evaluations]


def test_a_run_stops_on_stagnation_and_records_why():
    table = LayerTable.from_layers([Layer.gemm(M=4, K=32, N=16, name="fc")])
    ev = BatchEvaluator(DesignSpace(), WorkloadTensors.from_table(table),
                        AnalyticalCostModel(), ("latency", "energy"))
    # any tolerance this large calls the second generation a plateau
    state = run_search(ev, STRATEGIES["joint"], "nsga2", Budget(population=6, generations=10),
                       seed=0, stop=Stagnation(1, tol=1e9))
    assert state.generation == 2 and state.stop_reason == "stagnation"
    # the budget still applies alongside
    state = run_search(ev, STRATEGIES["joint"], "nsga2", Budget(population=6, generations=1),
                       seed=0, stop=Stagnation(1, tol=1e9))
    assert state.generation == 1 and state.stop_reason == "generations"
