"""Tests for codesign/search/islands.py: seeds and budgets per island, migration, the merged
front, determinism, Ctrl-C, and the settings (`ExploreConfig`) that switch islands on."""

from __future__ import annotations

import numpy as np
import pytest

from codesign.arch.space import DesignSpace
from codesign.cost.analytical import AnalyticalCostModel
from codesign.errors import ConfigError
from codesign.mapping.batch import WorkloadTensors
from codesign.search.archive import Archive, non_dominated_mask
from codesign.search.config import POPULATION_ALGORITHMS, ExploreConfig
from codesign.search.evolutionary import PYMOO_ALGORITHMS
from codesign.search.islands import (
    Island,
    IslandPlan,
    IslandReport,
    island_budget,
    island_seed,
    merge_reports,
    run_islands,
)
from codesign.search.problem import BatchEvaluator, Infeasibility, MapperEffort
from codesign.search.run import Budget, generation_evals
from codesign.search.strategies import STRATEGIES
from codesign.workload.layer import Layer, LayerTable

TABLE = LayerTable.from_layers([Layer.conv(K=16, C=8, P=8, Q=8, R=3, S=3, name="c"),
                                Layer.gemm(M=4, K=32, N=16, name="fc")])


def _evaluator(strategy: str = "joint") -> BatchEvaluator:
    strat = STRATEGIES[strategy]
    return BatchEvaluator(DesignSpace(), WorkloadTensors.from_table(TABLE),
                          AnalyticalCostModel(), ("latency", "energy", "area"),
                          mode=strat.mode, effort=strat.effort or MapperEffort(4, 1))


def _plan(strategy: str = "joint", n_islands: int = 2, generations: int = 4,
          migrate_every: int = 2, migrants: int = 2, population: int = 6,
          seed: int = 3) -> IslandPlan:
    return IslandPlan(STRATEGIES[strategy], "nsga2",
                      Budget(population=population, generations=generations), seed,
                      n_islands, migrate_every, migrants)


def test_the_algorithms_islands_take_are_pymoos():
    # config.py imports no pymoo, so it restates the names
    assert POPULATION_ALGORITHMS == PYMOO_ALGORITHMS


def test_each_island_gets_its_own_stable_seed():
    seeds = [island_seed(7, i) for i in range(4)]
    assert len(set(seeds)) == 4 and seeds == [island_seed(7, i) for i in range(4)]
    assert island_seed(8, 0) != seeds[0]


def test_max_evals_is_split_evenly_and_the_other_limits_are_each_islands():
    budget = Budget(population=8, generations=5, max_evals=1000, time_limit_s=30.0)
    share = island_budget(budget, 3)
    assert (share.max_evals, share.generations, share.time_limit_s) == (333, 5, 30.0)
    assert island_budget(Budget(generations=4), 3) == Budget(generations=4)


def _set_fitness(island: Island, f: np.ndarray) -> None:
    """Give the island's population the (log10) objectives ``f``, all feasible."""
    pop = island.search.algorithm.pop[:len(f)]
    pop.set("F", f.astype(float), "CV", np.zeros((len(f), 1)),
            "G", np.zeros((len(f), pop.get("G").shape[1])))
    island.search.algorithm.pop = pop


def test_migration_sends_the_best_and_the_receiver_drops_its_worst():
    plan = _plan(migrants=2)
    sender, receiver = (Island(_evaluator(), plan, i) for i in range(2))
    sender.advance(0.0)
    receiver.advance(0.0)
    # front {(0,5), (5,0), (1,1)}: crowding keeps the two extremes; (3,3)... are dominated
    _set_fitness(sender, np.array([[3, 3], [0, 5], [4, 4], [5, 0], [1, 1], [2, 6]]))
    migrants = sender.emigrants()
    assert sorted(map(tuple, migrants.get("F"))) == [(0, 5), (5, 0)]
    # the receiver's (9,9) and (8,8) are the worst of its 6 + 2: they go
    _set_fitness(receiver, np.array([[9, 9], [6, 7], [7, 6], [8, 8], [6.5, 6.5], [7, 7]]))
    receiver.immigrate(migrants)
    kept = sorted(map(tuple, receiver.search.algorithm.pop.get("F")))
    assert kept == [(0, 5), (5, 0), (6, 7), (6.5, 6.5), (7, 6), (7, 7)]
    assert receiver.search.population.shape == (6, _evaluator().n_var)


def test_migrants_go_round_the_ring_once_per_epoch(monkeypatch):
    sent: dict[int, list] = {}
    received: dict[int, list] = {}
    emigrants, immigrate = Island.emigrants, Island.immigrate

    def spy_emigrants(self):
        out = emigrants(self)
        sent.setdefault(self.index, []).append(out.get("F").tolist())
        return out

    def spy_immigrate(self, migrants):
        received.setdefault(self.index, []).append(migrants.get("F").tolist())
        immigrate(self, migrants)

    monkeypatch.setattr(Island, "emigrants", spy_emigrants)
    monkeypatch.setattr(Island, "immigrate", spy_immigrate)
    run_islands(_evaluator(), _plan(n_islands=3, generations=6, migrate_every=2),
                workers="inline")
    # epochs end at generations 2, 4, 6: migrations after the first two, none after the last
    assert sorted(sent) == [0, 1, 2] and all(len(v) == 2 for v in sent.values())
    for i in range(3):
        assert received[(i + 1) % 3] == sent[i]
    assert sent[0] != sent[1]


def test_one_island_is_the_plain_run():
    from codesign.api import explore

    settings = {"population": 6, "generations": 2, "device": "cpu", "seed": 2}
    assert explore(TABLE, islands=1, **settings).rows() == explore(TABLE, **settings).rows()


def _report(index: int, objectives: list[list[float]]) -> IslandReport:
    f = np.array(objectives, dtype=float)
    n = len(f)
    archive = Archive(f, np.full((n, 1), index / 10), np.ones((n, 1, 5, 8), np.int64),
                      np.zeros((n, 1, 3, 8), np.int64))
    return IslandReport(index=index, generation=1, n_evals=n, stop_reason="generations",
                        rows=[], fronts=[], archive=archive, hv_lo=None, hv_hi=None,
                        infeasibility=Infeasibility())


def test_the_merged_front_is_the_non_dominated_union_of_the_islands():
    # (3,3) of island 0 and (3,3.5) of island 1 are dominated by island 1's (2,2)
    merged = merge_reports([_report(0, [[1, 4], [3, 3]]), _report(1, [[2, 2], [4, 1],
                                                                       [3, 3.5]])])
    assert sorted(map(tuple, merged.objectives)) == [(1, 4), (2, 2), (4, 1)]
    assert sorted(merged.hw_genes[:, 0]) == [0.0, 0.1, 0.1]  # each row keeps its genes
    # of two equal designs the lower island's is kept
    same = merge_reports([_report(1, [[1, 1]]), _report(0, [[1, 1]])])
    assert same.hw_genes.tolist() == [[0.0]]


def _equal_states(a, b) -> None:
    for name in ("objectives", "hw_genes", "factors", "order"):
        assert np.array_equal(getattr(a.archive, name), getattr(b.archive, name)), name
    strip = [{k: v for k, v in row.items() if k not in ("wall_s", "evals_per_s")}
             for row in a.history]
    assert strip == [{k: v for k, v in row.items() if k not in ("wall_s", "evals_per_s")}
                     for row in b.history]


@pytest.mark.parametrize("strategy", ["joint", "nested"])
def test_an_island_run_is_deterministic_and_its_front_non_dominated(strategy):
    lines = []
    a = run_islands(_evaluator(strategy), _plan(strategy), workers="inline",
                    progress=lines.append)
    b = run_islands(_evaluator(strategy), _plan(strategy), workers="inline")
    _equal_states(a, b)
    assert a.generation == 4 and a.n_evals > 0 and not a.interrupted
    assert len(a.archive) and non_dominated_mask(a.archive.objectives).all()
    phases = [row["phase"] for row in a.history]
    remap = STRATEGIES[strategy].remap is not None
    assert phases == ["search"] * 4 + ["remap"] * remap
    assert [s.generation for s in lines] == [row["generation"] for row in a.history]
    hv = [row["hypervolume"] for row in a.history]
    assert all(y >= x - 1e-12 for x, y in zip(hv, hv[1:], strict=False))
    # two islands' first generations: 6 designs each (x 9 evaluations with the mapper)
    assert a.history[0]["evaluations"] == 2 * generation_evals(_evaluator(strategy),
                                                               _plan(strategy).budget)
    c = run_islands(_evaluator(strategy), _plan(strategy, seed=4), workers="inline")
    assert not np.array_equal(c.archive.objectives, a.archive.objectives)


def test_migration_changes_the_search():
    # migrating after every generation vs only after the budget is spent: the same first
    # generation (before any migration), then other trajectories
    often = run_islands(_evaluator(), _plan(migrate_every=1), workers="inline")
    never = run_islands(_evaluator(), _plan(migrate_every=10), workers="inline")
    first = [{k: v for k, v in s.history[0].items() if k not in ("wall_s", "evals_per_s")}
             for s in (often, never)]
    assert first[0] == first[1]
    assert not np.array_equal(often.archive.objectives, never.archive.objectives)


def test_ctrl_c_keeps_what_the_islands_reported_so_far():
    seen = []

    def progress(stats) -> None:
        seen.append(stats)
        if len(seen) == 2:  # the end of the first epoch (2 generations)
            raise KeyboardInterrupt

    state = run_islands(_evaluator(), _plan(generations=6), workers="inline",
                        progress=progress)
    assert state.interrupted and state.stop_reason == "interrupted"
    assert state.generation == 2 and len(state.archive) > 0
    assert [row["generation"] for row in state.history] == [1, 2]


def test_a_time_limit_stops_every_island():
    plan = IslandPlan(STRATEGIES["nested"], "nsga2",
                      Budget(population=6, generations=None, time_limit_s=1.0), 0, 2, 2, 2)
    state = run_islands(_evaluator("nested"), plan, workers="inline")
    assert state.stop_reason == "time_limit" and state.generation >= 1
    assert len(state.archive) and state.history[-1]["phase"] == "remap"


def test_a_non_pymoo_search_is_refused():
    plan = IslandPlan(STRATEGIES["random"], "nsga2", Budget(population=6, generations=2), 0,
                      2, 1, 1)
    with pytest.raises(ConfigError, match="not a pymoo algorithm"):
        Island(_evaluator(), plan, 0)


# -- the settings ---------------------------------------------------------------------------

def test_island_settings_are_checked_with_the_rest():
    with pytest.raises(ConfigError) as info:
        ExploreConfig(islands=0, migrate_every=0, migrants=0, ray="yes")
    message = str(info.value)
    for part in ("islands must be an integer >= 1, got 0", "migrate every must be an integer "
                 ">= 1, got 0", "migrants must be an integer >= 1, got 0",
                 "ray must be true or false"):
        assert part in message, part


@pytest.mark.parametrize("settings, part", [
    ({"islands": 2, "strategy": "random"}, "strategy random keeps none"),
    ({"islands": 2, "algorithm": "random"}, "algorithm 'random' keeps none"),
    ({"islands": 2, "population": 4, "migrants": 4}, "migrants 4: must be below the "
                                                     "population (4)"),
    ({"ray": True}, "ray runs islands as Ray actors: give --islands 2 or more"),
])
def test_validate_refuses_island_settings_that_cannot_work(settings, part):
    with pytest.raises(ConfigError, match="^explore: ") as info:
        ExploreConfig(**settings).validate(("latency", "energy", "area", "edp"))
    assert part in str(info.value)


def test_one_island_is_the_default_and_an_island_run_cannot_be_resumed():
    config = ExploreConfig()
    assert config.islands == 1 and not config.ray
    assert ExploreConfig.from_json(config.to_json()) == config
    old = {k: v for k, v in config.to_json().items()
           if k not in ("islands", "migrate_every", "migrants", "ray")}
    assert ExploreConfig.from_json(old) == config  # run.json from before islands
    config.resumed(generations=3)
    with pytest.raises(ConfigError, match="used 2 islands, and an island run cannot be "
                                          "resumed"):
        ExploreConfig(islands=2).resumed(generations=3)
