"""Tests for codesign/search/limits.py: size options are checked against the machine's
memory before a run starts (docs/GUARANTEES.md, "Configuration")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from codesign.cli import main
from codesign.errors import ConfigError
from codesign.search.limits import (
    PYMOO_BYTES_PER_PAIR,
    _largest_population,
    check_explore_fits,
    check_mapper_fits,
    format_bytes,
    search_bytes,
)

MODEL = Path(__file__).resolve().parents[2] / "models" / "resnet18.onnx"
GIB = 2**30


def test_search_bytes_grows_with_the_square_of_the_population():
    """pymoo's duplicate elimination is population x population float64s (7.28 TiB for a
    million designs: 10^12 x 8 B); the estimate covers it."""
    assert search_bytes(10**6, 6, 20) >= 10**12 * 8
    assert search_bytes(2000, 6, 20) - 2 * search_bytes(1000, 6, 20) == \
        PYMOO_BYTES_PER_PAIR * (2000**2 - 2 * 1000**2)
    assert search_bytes(10**6, 6, 20, pairwise=False) < 10**6 * 30_000  # random sampling


@pytest.mark.parametrize("pairwise", [True, False])
def test_the_largest_population_named_fits_and_one_more_does_not(pairwise):
    budget = 3 * GIB
    largest = _largest_population(2214, 12, pairwise, budget)
    assert search_bytes(largest, 2214, 12, pairwise) <= budget
    assert search_bytes(largest + 1, 2214, 12, pairwise) > budget
    check_explore_fits(population=largest, n_var=2214, n_layers=12, pairwise=pairwise,
                       mapper_candidates=None, budget_bytes=budget)


def test_a_population_too_big_is_refused_with_what_fits():
    with pytest.raises(ConfigError) as info:
        check_explore_fits(population=10**6, n_var=6, n_layers=20, pairwise=True,
                           mapper_candidates=None, budget_bytes=16 * GIB)
    message = str(info.value)
    largest = int(re.search(r"use --population (\d+) or less", message).group(1))
    assert message.startswith("--population 1000000: a generation needs about 29.1 TiB")
    assert "more than the 16 GiB" in message and 10_000 < largest < 30_000


def test_mapper_candidates_too_many_for_one_design_are_refused():
    """A chunk of one design cannot make the mapper's candidates x layers batch smaller."""
    per_candidate = 20 * 8192
    check_mapper_fits(GIB // per_candidate, 20, budget_bytes=GIB)
    with pytest.raises(ConfigError, match=r"--mapper-candidates 6554: .* use "
                                          r"--mapper-candidates 6553 or less"):
        check_mapper_fits(GIB // per_candidate + 1, 20, budget_bytes=GIB)
    with pytest.raises(ConfigError, match="--mapper-candidates"):
        check_explore_fits(population=2, n_var=6, n_layers=20, pairwise=True,
                           mapper_candidates=10**9, budget_bytes=GIB, device_budget_bytes=GIB)


def test_format_bytes():
    assert format_bytes(0) == "0 B" and format_bytes(1536) == "1.5 KiB"
    assert format_bytes(3 * 2**50) == "3 PiB"


# -- the CLI: one line, exit 2, nothing started ----------------------------------------------

def _refused(args, tmp_path) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 2, (result.output, result.exception)
    assert "Traceback" not in result.output
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert not (tmp_path / "run" / "run.json").exists()  # no run started
    return result.stderr


@pytest.mark.parametrize(("args", "message"), [
    # before: a 7.28 TiB allocation traceback from pymoo's duplicate elimination
    (["--population", "1000000"], "--population 1000000: a generation needs about"),
    (["--population", "1000000", "--strategy", "joint"], "--population 1000000"),
    (["--population", "10000000", "--strategy", "random"], "genes and 12 layers' mappings"),
    # before: killed by the out-of-memory killer
    (["--mapper-candidates", "1000000000", "--population", "2"],
     "--mapper-candidates 1000000000: the mapper needs about"),
])
def test_explore_refuses_sizes_the_machine_cannot_hold(args, message, tmp_path):
    stderr = _refused(["explore", MODEL, *args, "--device", "cpu", "--out", tmp_path / "run"],
                      tmp_path)
    assert message in stderr and "this machine can give" in stderr


def test_map_refuses_an_effort_the_machine_cannot_hold(monkeypatch, tmp_path):
    """`codesign map --effort thorough` maps 256 candidates x 12 layers x 8 KiB = 24 MiB at
    once: on a machine that can give 16 MiB (the budget is shrunk here) it is refused, and
    the advice names the effort below it. (The v1 mapper's estimate: ``v1:eyeriss``.)"""
    import codesign.search.limits as limits

    monkeypatch.setattr(limits, "memory_budget_bytes", lambda device=None: 16 * 2**20)
    stderr = _refused(["map", MODEL, "--arch", "v1:eyeriss", "--effort", "thorough",
                       "--device", "cpu"], tmp_path)
    assert "--effort thorough: the mapper needs about 24 MiB for one design" in stderr
    assert "use --effort fast or a smaller model" in stderr
