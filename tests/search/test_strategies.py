"""Tests for codesign/search/strategies.py: the strategy table."""

from __future__ import annotations

import pytest

from codesign.errors import ConfigError
from codesign.search.strategies import DEFAULT_STRATEGY, STRATEGIES, strategy


def test_the_strategies_and_the_default():
    assert set(STRATEGIES) == {"joint", "nested", "nested-cold", "sequential", "random"}
    assert DEFAULT_STRATEGY == "nested"
    # nested-cold is nested without the mapping memory, nothing else
    assert strategy("nested").warm_start and not strategy("nested-cold").warm_start
    assert strategy("nested-cold").remap == strategy("nested").remap
    assert strategy("nested-cold").effort == strategy("nested").effort
    # the memory's former name still resumes old runs
    assert strategy("nested-warm") is strategy("nested")
    assert not strategy("random").use_algorithm
    # sequential: hardware with a fixed heuristic (no mapper steps), then a real remap
    seq = strategy("sequential")
    assert seq.effort.n_steps == 0 and seq.remap.n_steps > 0


def test_unknown_strategy_names_the_choices():
    with pytest.raises(ConfigError, match="joint, nested, nested-cold, sequential, random"):
        strategy("greedy")


def test_the_cli_offers_exactly_these_strategies():
    from codesign.cli import main

    option = next(p for p in main.commands["explore"].params if p.name == "strategy")
    assert set(option.type.choices) == set(STRATEGIES)
