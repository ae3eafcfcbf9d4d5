"""Every script in examples/ runs with its small ``--quick`` budget, so none of them rots."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py"))

# (script, text its output must contain); each run takes 4-10 s on the shared 2-core box
EXPECTED = {
    "custom_energy_table.py": "Pareto designs; lowest energy",
    "explore_transformer.py": "fastest design re-mapped",
    "extra_objective.py": "every one at most 12.0 GB/s",
    "learned_surrogate.py": "exact re-costing",
}


def test_every_example_is_listed_here():
    assert sorted(EXPECTED) == SCRIPTS


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_runs_quick(script, tmp_path):
    env = {**os.environ, "CODESIGN_EXAMPLES_QUICK": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), "--quick", "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert EXPECTED[script] in proc.stdout
    assert (tmp_path / "out" / "pareto.csv").is_file()
