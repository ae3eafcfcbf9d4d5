"""Tests for codesign/results/plots.py: pareto.png is a PNG, also for an empty front."""

from __future__ import annotations

from codesign.arch.accelerator import Accelerator
from codesign.results.pareto import ParetoDesign
from codesign.results.plots import plot_pareto

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_plot_writes_a_png(tmp_path):
    designs = [ParetoDesign(i, Accelerator(), {"latency_s": 1e-3 * (i + 1),
                                               "energy_j": 1e-2 / (i + 1), "area_mm2": 1.0 + i},
                            ()) for i in range(3)]
    plot_pareto(designs, tmp_path / "pareto.png")
    plot_pareto([], tmp_path / "empty.png")
    assert (tmp_path / "pareto.png").read_bytes()[:8] == PNG_MAGIC
    assert (tmp_path / "empty.png").read_bytes()[:8] == PNG_MAGIC
