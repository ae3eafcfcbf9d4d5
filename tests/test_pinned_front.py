"""The same seeds give the same pareto.csv: small runs of every strategy, pinned byte for byte.

Refactors of the run configuration, the search loop or the names must not change a front. A
change that is meant to change one (a better mapper, a new default) regenerates the pins with
``CODESIGN_REPIN=1 python -m pytest tests/test_pinned_front.py`` and says why in its commit.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codesign.api import explore
from codesign.workload.layer import Layer, LayerTable

PINS = Path(__file__).parent / "data" / "pinned"
TABLE = LayerTable.from_layers([Layer.conv(K=16, C=8, P=8, Q=8, R=3, S=3, name="conv"),
                                Layer.conv(K=32, C=16, P=4, Q=4, R=1, S=1, name="pw"),
                                Layer.gemm(M=4, K=32, N=16, name="fc")])
RUNS = {
    "nested": {"strategy": "nested"},
    "nested-cold": {"strategy": "nested-cold"},
    "joint": {"strategy": "joint", "objectives": "edp,area"},
    "sequential": {"strategy": "sequential"},
    "random": {"strategy": "random"},
    "nsga3": {"algorithm": "nsga3", "objectives": "latency,energy"},
    "gradient": {"strategy": "joint", "refine": "gradient", "objectives": "edp,area"},
}


@pytest.mark.parametrize("name", sorted(RUNS))
def test_a_small_run_gives_the_pinned_front(name, tmp_path):
    explore(TABLE, population=8, generations=3, mapper_candidates=4, mapper_steps=1,
            seed=3, device="cpu", out=tmp_path, plot=False, **RUNS[name])
    got = (tmp_path / "pareto.csv").read_text()
    pin = PINS / f"{name}.csv"
    if os.environ.get("CODESIGN_REPIN"):
        pin.write_text(got)
    assert pin.exists(), f"no pin {pin}: run with CODESIGN_REPIN=1 to create it"
    assert got == pin.read_text(), f"{name}: pareto.csv differs from {pin}"
