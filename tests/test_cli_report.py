"""`codesign report` through CliRunner: files written, exit codes, one-line errors."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from codesign.cli import main


def run(*args):
    result = CliRunner().invoke(main, ["report", *map(str, args)])
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def run_dir(tmp_path):
    """A run folder written by `ExploreResult.write` for two hand-mapped designs of a gemm."""
    from codesign.api import ExploreResult
    from codesign.arch.accelerator import Accelerator
    from codesign.cost.analytical import AnalyticalCostModel
    from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors
    from codesign.mapping.mapping import Mapping
    from codesign.results.pareto import pareto_designs
    from codesign.workload.layer import Layer, LayerTable

    table = LayerTable.from_layers([Layer.gemm(M=4, K=4, N=4, name="fc")])
    mapping = Mapping.from_json({"spatial": {"rows": {"C": 4}, "cols": {"K": 4}},
                                 "temporal": {"GLB": {"P": 4}}})
    accs = [Accelerator(pe_rows=4, pe_cols=4), Accelerator(pe_rows=8, pe_cols=8)]
    mappings = MappingBatch.from_mappings([[mapping], [mapping]])
    result = AnalyticalCostModel().evaluate(HardwareBatch.from_accelerators(accs),
                                            WorkloadTensors.from_table(table), mappings)
    designs = pareto_designs(accs, table, mappings, result)
    history = [{"generation": 1, "evaluations": 2, "hypervolume": 0.5}]
    ExploreResult(designs, history, {"config": {"objectives": ["latency", "energy"]}},
                  table).write(tmp_path, plot=False)
    return tmp_path


def test_report_writes_the_html_and_the_pngs(run_dir):
    result = run(run_dir)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"-> {run_dir / 'report.html'}"
    for name in ("report.html", "layers.png", "roofline.png", "convergence.png"):
        assert (run_dir / name).stat().st_size > 0, name


def test_no_png_writes_the_html_only(run_dir):
    assert run(run_dir, "--no-png").exit_code == 0
    assert (run_dir / "report.html").exists() and not (run_dir / "layers.png").exists()


def test_a_design_picks_the_pngs_design(run_dir):
    assert run(run_dir, "--design", 1).exit_code == 0
    result = run(run_dir, "--design", 2)
    assert result.exit_code == 2
    assert result.output.strip() == "Error: --design 2: the run has 2 Pareto designs (0..1)"


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing", "no such folder"),
    (lambda p: p, "no designs.json"),
])
def test_not_a_run_folder_is_one_line_and_exit_2(tmp_path, make, message):
    result = run(make(tmp_path))
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert result.output.startswith("Error: ") and message in result.output


def test_report_is_listed_in_help():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0 and "report" in result.output
