"""Tests for codesign/search/problem.py: the pymoo adapter and its batched evaluator."""

from __future__ import annotations

import numpy as np
import pytest

from codesign.arch.space import DesignSpace
from codesign.cost.analytical import AnalyticalCostModel
from codesign.errors import ConfigError
from codesign.mapping.batch import WorkloadTensors
from codesign.mapping.encoding import n_mapping_genes
from codesign.search.memory import MappingMemory
from codesign.search.problem import (
    BatchEvaluator,
    CodesignProblem,
    MapperEffort,
    nested_evals_per_design,
    parse_objectives,
)
from codesign.workload.layer import Layer, LayerTable

TABLE = LayerTable.from_layers([Layer.conv(K=16, C=8, P=8, Q=8, R=3, S=3, name="c"),
                                Layer.gemm(M=4, K=32, N=16, name="fc")])


class CountingModel:
    """The analytical model, counting how often it is called."""

    def __init__(self):
        self.inner, self.calls = AnalyticalCostModel(), 0

    def evaluate(self, hardware, workload, mappings):
        self.calls += 1
        return self.inner.evaluate(hardware, workload, mappings)


def _evaluator(mode="joint", **kwargs):
    model = CountingModel()
    ev = BatchEvaluator(DesignSpace(), WorkloadTensors.from_table(TABLE), model,
                        ("latency", "energy", "area"), mode=mode, **kwargs)
    return ev, model


def test_parse_objectives():
    assert parse_objectives("latency, energy,area") == ("latency", "energy", "area")
    with pytest.raises(ConfigError, match="unknown: speed"):
        parse_objectives("latency,speed")
    with pytest.raises(ConfigError, match="distinct"):
        parse_objectives("edp,edp")


def test_joint_population_costs_in_one_call_with_plain_objectives():
    ev, model = _evaluator()
    assert ev.n_var == 6 + 2 * n_mapping_genes()
    x = np.random.default_rng(0).random((7, ev.n_var))
    out = ev.evaluate(x)
    assert model.calls == 1
    assert out.objectives.shape == (7, 3) and out.constraints.shape == (7, 1)
    assert out.factors.shape == (7, 2, 5, 8) and out.order.shape == (7, 2, 3, 8)
    assert out.n_evals == 7 and np.isfinite(out.objectives).all()
    # feasible exactly where the capacity constraint is met (pymoo: G <= 0)
    assert (out.feasible == (out.constraints[:, 0] <= 0)).all()
    # the same genomes give the same answer, whatever else is in the batch
    again = ev.evaluate(np.concatenate([x[3:4], x]))
    assert np.array_equal(again.objectives[0], out.objectives[3])


def test_area_and_power_limits_are_constraints_not_penalties():
    ev, _ = _evaluator(max_area_mm2=1.0, max_power_w=2.0)
    assert ev.constraint_names == ("capacity", "area", "power")
    x = np.random.default_rng(1).random((16, ev.n_var))
    out = ev.evaluate(x)
    area = out.objectives[:, 2]
    assert np.allclose(out.constraints[:, 1], area / 1.0 - 1.0)
    assert not out.feasible[area > 1.0].any()
    free, _ = _evaluator()
    # objectives are the same with or without limits: nothing is hidden in them
    assert np.array_equal(free.evaluate(x).objectives, out.objectives)


def test_nested_maps_the_whole_population_and_counts_mapper_evaluations():
    effort = MapperEffort(n_candidates=4, n_steps=2)
    ev, model = _evaluator("nested", effort=effort)
    assert ev.n_var == 6
    x = np.random.default_rng(2).random((5, 6))
    out = ev.evaluate(x)
    assert out.n_evals == 5 * nested_evals_per_design(effort) == 5 * (4 * 3 + 1)
    assert model.calls == 1 + 2 + 1  # the start, one per step, the final costing
    assert out.feasible.any()


def test_problem_hands_pymoo_log_objectives():
    ev, _ = _evaluator()
    problem = CodesignProblem(ev)
    assert (problem.n_var, problem.n_obj, problem.n_ieq_constr) == (ev.n_var, 3, 1)
    x = np.random.default_rng(3).random((4, ev.n_var))
    out = problem.evaluate(x, return_as_dictionary=True)
    assert np.allclose(out["F"], np.log10(problem.last.objectives))
    assert np.array_equal(out["G"], problem.last.constraints)


def test_warm_started_nested_mapping_never_gets_worse_for_a_design_seen_again():
    # With a memory, a design mapped again starts from its best mappings so far: per layer
    # the mapper's objective can only improve, at the same evaluation count.
    effort = MapperEffort(n_candidates=3, n_steps=1)
    ev, _ = _evaluator("nested", effort=effort)
    ev.memory = MappingMemory(effort.objective)
    x = np.random.default_rng(4).random((6, 6))
    first = ev.evaluate(x)
    scores = ev.memory.score.copy()
    per_layer = []
    for out in (first, ev.evaluate(x), ev.evaluate(x)):
        assert out.n_evals == 6 * nested_evals_per_design(effort)
        _, _, cost = ev.cost(out.hw_genes, out.factors, out.order)
        per_layer.append((cost.cycles * cost.energy_pj).numpy())
    a, b, c = per_layer
    feasible = first.feasible
    assert (b[feasible] <= a[feasible] * (1 + 1e-12)).all()
    assert (c[feasible] <= b[feasible] * (1 + 1e-12)).all()
    assert (c[feasible] < a[feasible]).any()  # and it keeps improving
    assert (ev.memory.score <= scores).all()


class WatchingModel(CountingModel):
    """The analytical model, noting the evaluator's layout and effort at every call: what
    the run's evaluator looks like while the remap costs through it."""

    def __init__(self):
        super().__init__()
        self.evaluator, self.seen = None, []

    def evaluate(self, hardware, workload, mappings):
        self.seen.append((self.evaluator.mode, self.evaluator.effort))
        return super().evaluate(hardware, workload, mappings)


def test_the_remap_leaves_the_evaluator_as_it_is_and_shares_its_accounting():
    model = WatchingModel()
    effort = MapperEffort(3, 1)
    ev = BatchEvaluator(DesignSpace(), WorkloadTensors.from_table(TABLE), model,
                        ("latency", "energy", "area"), mode="joint", effort=effort)
    model.evaluator = ev
    loop = ev.evaluate(np.random.default_rng(1).random((4, ev.n_var)))
    ev.memory = MappingMemory("edp")
    remap = ev.remap(loop.hw_genes, MapperEffort(2, 1), known=(loop.factors, loop.order))
    # the remap used to switch the evaluator to nested at the remap's effort meanwhile
    assert model.seen[1:] and all(seen == ("joint", effort) for seen in model.seen)
    assert ev.mode == "joint" and ev.effort == effort
    assert remap.n_evals == 4 * nested_evals_per_design(MapperEffort(2, 1))
    # the remap evaluator is another object that seeds, counts and remembers with the run's
    remapper = ev.with_mapper(MapperEffort(2, 1))
    assert remapper is not ev and (remapper.mode, remapper.effort) == ("nested",
                                                                       MapperEffort(2, 1))
    assert ev.calls == 2 and ev.infeasibility.n_designs == 8 and len(ev.memory) == 4
    remapper.evaluate(loop.hw_genes)
    assert ev.calls == 3 and ev.infeasibility.n_designs == 12
    assert remapper.memory is ev.memory and remapper.infeasibility is ev.infeasibility
    # the same call number gives the same mapper draws, whichever evaluator makes it
    ev.calls, ev.memory = 2, None
    again = ev.with_mapper(MapperEffort(2, 1)).evaluate(loop.hw_genes)
    fresh = BatchEvaluator(DesignSpace(), WorkloadTensors.from_table(TABLE),
                           AnalyticalCostModel(), ("latency", "energy", "area"),
                           mode="nested", effort=MapperEffort(2, 1))
    fresh.calls = 2
    assert np.array_equal(again.factors, fresh.evaluate(loop.hw_genes).factors)
    assert ev.calls == fresh.calls == 3


@pytest.mark.parametrize("mode", ["joint", "nested"])
def test_an_empty_batch_costs_nothing_and_keeps_the_seeds(mode):
    ev, model = _evaluator(mode, effort=MapperEffort(2, 1))
    full = ev.evaluate(np.random.default_rng(0).random((3, ev.n_var)))
    cost_calls = model.calls
    empty = ev.evaluate(np.zeros((0, ev.n_var)))
    assert model.calls == cost_calls > 0 and ev.calls == 1  # the next batch's seed is kept
    for name in ("objectives", "constraints", "feasible", "hw_genes", "factors", "order"):
        got, like = getattr(empty, name), getattr(full, name)
        assert got.shape == (0, *like.shape[1:]) and got.dtype == like.dtype, name
    assert empty.n_evals == 0
