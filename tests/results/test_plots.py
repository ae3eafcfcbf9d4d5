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


def test_report_figures_are_pngs_also_without_data(tmp_path):
    """layers.png, roofline.png and convergence.png for a design with one layer, and for
    nothing at all (no layers, no traffic, no history): still a PNG, never an exception."""
    from codesign.results.plots import plot_convergence, plot_layers, plot_roofline

    layer = {"layer": 0, "names": ["fc"], "count": 2, "cycles": 6.0, "macs": 64,
             "dram_words": 48.0, "bound": "dram", "lower_bound": {"cycles": 6.0},
             "energy_parts_pj": {"RF": 1.0, "GLB": 2.0, "DRAM": 3.0, "MAC": 0.5,
                                 "leakage": 0.1}}
    design = {"design": 0, "accelerator": {"pe_rows": 4, "pe_cols": 4, "dram_bw": 8.0},
              "layers": [layer]}
    empty = {"design": 1, "accelerator": {}, "layers": []}
    for i, d in enumerate((design, empty)):
        plot_layers(d, tmp_path / f"layers{i}.png")
        plot_roofline(d, tmp_path / f"roofline{i}.png")
    plot_convergence([{"evaluations": 10, "hypervolume": 0.5}], tmp_path / "conv0.png")
    plot_convergence([], tmp_path / "conv1.png")
    for path in tmp_path.iterdir():
        assert path.read_bytes()[:8] == PNG_MAGIC, path.name
