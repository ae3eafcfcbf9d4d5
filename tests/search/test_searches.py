"""Tests for codesign/search/searches.py: the registry, and a search defined here running
through explore's machinery (run folder, history, checkpoint, resume)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from codesign.api import explore
from codesign.errors import ConfigError
from codesign.search.protocol import Search, SearchSetup
from codesign.search.searches import SEARCHES, check_search, make_search
from codesign.workload.layer import Layer, LayerTable

TABLE = LayerTable.from_layers([Layer.conv(K=16, C=8, P=8, Q=8, R=3, S=3, name="conv"),
                                Layer.gemm(M=4, K=32, N=16, name="fc")])


class Uniform:
    """A trivial search: uniform genomes, noting what it was built with and told."""

    built: list[Uniform] = []

    def __init__(self, setup: SearchSetup) -> None:
        self.setup, self.told = setup, []
        self.rng = np.random.default_rng([setup.seed, setup.generation, 7])
        self.last = setup.initial
        Uniform.built.append(self)

    def ask(self) -> np.ndarray:
        return self.rng.random((self.setup.population, self.setup.n_var))

    def tell(self, x, evaluation) -> None:
        self.told.append((x.shape, evaluation.objectives.shape, evaluation.constraints.shape,
                          evaluation.feasible.shape, evaluation.n_evals))
        self.last = x

    @property
    def population(self) -> np.ndarray | None:
        return self.last


@pytest.fixture
def uniform(monkeypatch):
    monkeypatch.setattr(Uniform, "built", [])
    monkeypatch.setitem(SEARCHES, "uniform", Uniform)
    return Uniform


def test_a_search_registered_in_a_test_runs_through_explore_and_resumes(uniform, tmp_path):
    result = explore(TABLE, strategy="joint", algorithm="uniform", objectives="edp,area",
                     population=6, generations=2, seed=4, device="cpu", out=tmp_path,
                     plot=False)
    runs = [s for s in uniform.built if s.told]  # check_search builds one that never runs
    assert len(runs) == 1
    run = runs[0]
    n_var = run.setup.n_var
    assert (run.setup.seed, run.setup.generation, run.setup.initial) == (4, 0, None)
    # joint genomes: 6 hardware genes and 2 layers of mapping genes; one constraint
    assert n_var > 6 and run.setup.n_constraints == 1 and run.setup.n_objectives == 2
    assert run.told == [((6, n_var), (6, 2), (6, 1), (6,), 6)] * 2
    saved = json.loads((tmp_path / "run.json").read_text())
    assert saved["config"]["algorithm"] == "uniform" and saved["stop_reason"] == "generations"
    assert [row["evaluations"] for row in result.history] == [6, 12]
    assert result.pareto and (tmp_path / "pareto.csv").read_text().count("\n") \
        == len(result.pareto) + 1

    # resume: the search is rebuilt where the run stands, from the population it reported
    uniform.built.clear()
    more = explore(TABLE, resume=tmp_path, generations=3, plot=False)
    again = [s for s in uniform.built if s.told]
    assert len(again) == 1 and again[0].setup.generation == 2
    assert np.array_equal(again[0].setup.initial, run.last)
    assert len(again[0].told) == 1
    assert [row["evaluations"] for row in more.history] == [6, 12, 18]


def test_unknown_names_list_the_registry():
    with pytest.raises(ConfigError, match="nsga2, nsga3, agemoea2, smsemoa, random"):
        make_search("nsga9", SearchSetup(n_var=2, n_objectives=2, n_constraints=1,
                                         population=4))
    with pytest.raises(ConfigError, match="unknown algorithm 'bayes'"):
        explore(TABLE, algorithm="bayes", generations=1, device="cpu")


@pytest.mark.parametrize("name", ["nsga2", "nsga3", "smsemoa", "random"])
def test_built_in_searches_keep_the_protocol(name):
    setup = SearchSetup(n_var=3, n_objectives=2, n_constraints=1, population=4, seed=1)
    search = make_search(name, setup)
    assert isinstance(search, Search)
    x = search.ask()
    assert x.ndim == 2 and x.shape[1] == 3 and 1 <= x.shape[0] <= 4
    assert ((x >= 0) & (x <= 1)).all()
    check_search(name, 2, 4)


def test_the_cli_offers_the_built_in_searches():
    from codesign.cli import main

    explore_command = main.commands["explore"]
    (option,) = [p for p in explore_command.params if p.name == "algorithm"]
    assert tuple(option.type.choices) == tuple(SEARCHES)


def test_the_example_search_of_the_docs_runs(monkeypatch):
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "SEARCH.md").read_text()
    block = text.split("```python\n# codesign/search/local_search.py\n")[1].split("```")[0]
    namespace: dict = {}
    exec(compile(block, "docs/SEARCH.md", "exec"), namespace)
    monkeypatch.setitem(SEARCHES, "local", namespace["LocalSearch"])
    result = explore(TABLE, algorithm="local", strategy="joint", population=6, generations=3,
                     device="cpu")
    assert result.run["config"]["algorithm"] == "local" and len(result.history) == 3
    assert result.pareto
