"""Explore on a `HierarchySpace`: the evaluator keeps the run loop's protocol, every strategy
runs, results speak the architecture's level names."""

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner

from codesign.api import explore
from codesign.cli import main
from codesign.errors import ConfigError
from codesign.hierarchy.genome import n_unit_genes
from codesign.search.hierarchy_problem import HierarchyEvaluator
from codesign.search.hierarchy_space import HierarchySpace
from codesign.search.problem import MapperEffort
from codesign.workload.layer import Layer, LayerTable

TABLE = LayerTable.from_layers([Layer.conv(K=16, C=8, P=14, Q=14, R=3, S=3, name="c1"),
                                Layer.gemm(M=12, K=32, N=24, name="fc")])
SPACE = {"base": "eyeriss",
         "levels": {"GLB": {"capacity_words": [1024, 32768], "keeps": [["I", "O"],
                                                                      ["W", "I", "O"]]}},
         "fanouts": {"PE": {"x": [4, 16], "y": 12}}}
SMALL = dict(population=4, generations=1, mapper_candidates=4, mapper_steps=1)


def test_a_joint_genome_carries_one_mapping_per_layer():
    space = HierarchySpace.from_dict(SPACE)
    ev = HierarchyEvaluator(space, TABLE, ("latency", "energy"), mode="joint")
    assert ev.n_var == space.n_genes + 2 * n_unit_genes(ev.mapspace)
    x = np.random.default_rng(1).random((6, ev.n_var))
    e = ev.evaluate(x)
    assert e.n_evals == 6 and e.hw_genes.shape == (6, space.n_genes)
    _, _, again = ev.cost(e.hw_genes, e.factors, e.order)
    assert np.array_equal(ev.outputs(again)[0].numpy(), e.objectives)
    assert ev.with_mapper(MapperEffort(4, 0)).n_var == space.n_genes


def test_evaluations_are_what_the_designs_cost_again():
    space = HierarchySpace.from_dict(SPACE)
    ev = HierarchyEvaluator(space, TABLE, ("latency", "energy", "area"),
                            effort=MapperEffort(4, 1), max_area_mm2=100.0)
    x = np.random.default_rng(0).random((5, space.n_genes))
    e = ev.evaluate(x)
    n_f, n_m = len(ev.structure.slots), len(ev.structure.levels)
    assert e.factors.shape == (5, 2, n_f, 8) and e.order.shape == (5, 2, n_m, 8 + 3)
    assert ev.constraint_names == ("capacity", "area") and e.constraints.shape == (5, 2)
    assert e.n_evals == 5 * (4 * 2 + 1)
    _, _, again = ev.cost(e.hw_genes, e.factors, e.order)
    objectives, _, feasible = ev.outputs(again)
    assert np.array_equal(objectives.numpy(), e.objectives)
    assert np.array_equal(feasible.numpy(), e.feasible)
    # every decoded mapping covers its layer and fits its design's array
    dims = np.array([layer.dims for layer in TABLE.layers])
    assert (e.factors.prod(2) >= dims).all()


@pytest.mark.parametrize("strategy", ["joint", "nested", "nested-cold", "sequential",
                                      "random"])
def test_every_strategy_runs_and_writes_level_names(strategy, tmp_path):
    space = HierarchySpace.from_dict(SPACE)
    # joint genomes need more of them to find designs that fit (no mapper inside)
    budget = SMALL if strategy not in ("joint", "random") else dict(population=48,
                                                                     generations=2)
    r = explore(TABLE, space, strategy=strategy, out=tmp_path, **budget)
    assert r.pareto and r.run["status"] == "done"
    with open(tmp_path / "pareto.csv") as f:
        header = next(csv.reader(f))
    for column in ("GLB_capacity_words", "GLB_keeps", "PE_x", "PE_y", "DRAM_energy_j",
                   "spad_energy_j", "GLB_bound_layers", "compute_bound_layers"):
        assert column in header
    assert not any(c.startswith(("RF", "rf_", "glb_", "dram_")) for c in header)
    designs = json.loads((tmp_path / "designs.json").read_text())
    assert designs["levels"] == ["DRAM", "GLB", "spad"]
    layer = designs["designs"][0]["layers"][0]
    assert layer["bottleneck"] in ("compute", "DRAM", "GLB", "spad")
    assert set(layer["energy_by_level_pj"]) == {"DRAM", "GLB", "spad"}
    assert set(layer["mapping"]["factors"]) <= {"DRAM", "GLB", "PE.X", "PE.Y", "spad"}
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["config"]["space"]["base"] == "eyeriss"
    report = (tmp_path / "report.html").read_text()
    assert "spad energy pJ" in report and "GLB bound layers" in report
    assert "<td>" + layer["bottleneck"] + "</td>" in report


def test_what_a_hierarchy_space_does_not_take():
    space = HierarchySpace.from_dict(SPACE)
    with pytest.raises(ConfigError, match="islands, several workloads"):
        explore({"a": TABLE, "b": TABLE}, space, islands=2, **SMALL)
    with pytest.raises(ConfigError, match="does not take resume"):
        explore(TABLE, space, resume="somewhere", **SMALL)


def test_cli_refuses_a_bad_hierarchy_space_in_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("base: eyeriss\nlevels: {GBL: {capacity_words: 4}}\n")
    runner = CliRunner()
    out = runner.invoke(main, ["explore", "x.onnx", "--space", str(bad), "--out",
                               str(tmp_path / "o")])
    assert out.exit_code == 2, out.output
    assert "did you mean 'GLB'" in out.output and "Traceback" not in out.output


def test_a_timeloop_arch_base_keeps_the_mappings_bypass_choices(tmp_path):
    """simple_weight_stationary's three 1-word registers keep what the mapping says
    (Timeloop leaves their data spaces to the mapping): a run must find mappings where each
    keeps one tensor, which only the packed keep bits of `Evaluation.order` can rebuild."""
    from tests.timeloop.reference_cases import REFERENCE, SKIP_REASON

    if REFERENCE is None:
        pytest.skip(SKIP_REASON)
    arch = REFERENCE / "example_designs/example_designs/simple_weight_stationary/arch.yaml"
    (tmp_path / "ws.yaml").write_text(
        f"base: {arch}\nlevels:\n  shared_glb: {{capacity_words: [4096, 65536]}}\n"
        "fanouts:\n  PE: {x: [4, 16]}\n")
    space = HierarchySpace.from_yaml(tmp_path / "ws.yaml")
    r = explore(TABLE, space, out=tmp_path / "run", population=4, generations=2,
                mapper_candidates=32, mapper_steps=12)
    assert r.pareto, r.run["infeasible"]
    keep = r.pareto[0]["layers"][0]["mapping"]["keep"]
    assert [len(keep[lv]) for lv in ("weight_reg", "input_activation_reg",
                                     "output_activation_reg")] == [1, 1, 1]


@pytest.mark.cuda
def test_cuda_costs_what_the_cpu_costs():
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    space = HierarchySpace.from_dict(SPACE)
    x = np.random.default_rng(2).random((4, space.n_genes))
    runs = [HierarchyEvaluator(space, TABLE, ("latency", "energy"), effort=MapperEffort(4, 1),
                               device=dev).evaluate(x) for dev in ("cpu", "cuda")]
    # the same seed draws other numbers on the GPU: compare costing, not searching
    ev = HierarchyEvaluator(space, TABLE, ("latency", "energy"), device="cuda")
    _, _, again = ev.cost(runs[0].hw_genes, runs[0].factors, runs[0].order)
    assert np.allclose(ev.outputs(again)[0].cpu().numpy(), runs[0].objectives, rtol=1e-12)


def test_fewer_mapper_candidates_than_the_hierarchy_mapper_runs_are_refused():
    space = HierarchySpace.from_dict(SPACE)
    with pytest.raises(ConfigError, match="at least 4"):
        HierarchyEvaluator(space, TABLE, ("latency",), effort=MapperEffort(3, 1))
    ev = HierarchyEvaluator(space, TABLE, ("latency",), effort=MapperEffort(4, 1))
    with pytest.raises(ConfigError, match="at least 4"):
        ev.with_mapper(MapperEffort(2, 0))


def test_an_empty_batch_has_the_shapes_of_a_full_one():
    space = HierarchySpace.from_dict(SPACE)
    ev = HierarchyEvaluator(space, TABLE, ("latency", "energy"), effort=MapperEffort(4, 0))
    full = ev.evaluate(np.random.default_rng(0).random((2, space.n_genes)))
    empty = ev.evaluate(np.zeros((0, space.n_genes)))
    assert empty.factors.shape[1:] == full.factors.shape[1:]
    assert empty.order.shape[1:] == full.order.shape[1:]


def test_a_front_designs_hierarchy_maps_again_and_other_commands_refuse_the_folder(tmp_path):
    from codesign.hierarchy.io import generate_hierarchy, parse_hierarchy

    out = tmp_path / "run"
    explore(TABLE, HierarchySpace.from_dict(SPACE), **SMALL, out=out, plot=False)
    designs = json.loads((out / "designs.json").read_text())["designs"]
    again = parse_hierarchy(designs[0]["hierarchy"])
    assert set(again.level_names) == set(designs[0]["energy_by_level_j"])
    assert generate_hierarchy(again) == designs[0]["hierarchy"]  # nothing dropped
    runner = CliRunner()
    for args in (["report", str(out)], ["sensitivity", str(out), "--design", "0"]):
        res = runner.invoke(main, args)
        assert res.exit_code == 2 and "hierarchy design space" in res.output
        assert "Traceback" not in res.output
