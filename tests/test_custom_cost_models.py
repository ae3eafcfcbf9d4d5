"""Custom cost models end to end: added objectives and constraints in the search, specs and
functions accepted by ``explore`` / ``map_layers``, ``--cost-model`` and ``--max`` on the CLI.

`PeModel` adds one objective whose value is obvious: ``n_pes`` = PE rows x PE cols.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
import textwrap
import warnings

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

import codesign
from codesign.cli import main
from codesign.cost.model import objective_names
from codesign.errors import ConfigError
from codesign.mapping.batch import WorkloadTensors
from codesign.search.problem import BatchEvaluator, parse_constraints, parse_objectives

TABLE = codesign.LayerTable.from_layers([codesign.Layer.gemm(M=16, K=32, N=32, name="fc")])
SPACE = codesign.DesignSpace(pe_rows=(4, 8, 16, 32), pe_cols=(4, 8, 16, 32))
TINY = dict(population=6, generations=2, mapper_candidates=4, mapper_steps=1, device="cpu",
            plot=False)

PLUGIN = '''
import dataclasses
from codesign import AnalyticalCostModel

class PeModel(AnalyticalCostModel):
    """Adds ``n_pes``: PE rows x PE cols."""
    extra_objectives = ("n_pes",)

    def evaluate(self, hardware, workload, mappings):
        r = super().evaluate(hardware, workload, mappings)
        n_pes = (hardware.pe_rows * hardware.pe_cols).to(r.area_mm2.dtype)
        return dataclasses.replace(r, extra_objectives={"n_pes": n_pes})
'''
exec(compile(PLUGIN, "<PeModel>", "exec"))
PeModel = locals()["PeModel"]


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """`PeModel` importable as ``cs_pe_plugin:PeModel``."""
    (tmp_path / "cs_pe_plugin.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "cs_pe_plugin:PeModel"
    sys.modules.pop("cs_pe_plugin", None)


# -- objective and constraint names ---------------------------------------------------------

def test_declared_extra_objectives_are_accepted_only_for_that_model():
    allowed = objective_names(PeModel())
    assert parse_objectives("latency, n_pes", allowed) == ("latency", "n_pes")
    with pytest.raises(ConfigError, match="unknown: n_pes"):
        parse_objectives("latency,n_pes")


def test_constraints_are_checked_all_at_once():
    assert parse_constraints({"power": 2}) == {"power": 2.0}
    with pytest.raises(ConfigError, match=r"unknown name 'peak'.*power: limit must be a finite "
                                          r"number > 0, got -1"):
        parse_constraints({"peak": 1.0, "power": -1})


def test_evaluator_adds_one_constraint_column_per_limit():
    # every design of this space has 4 x 4 = 16 PEs; the column is n_pes / limit - 1
    space = dataclasses.replace(SPACE, pe_rows=(4,), pe_cols=(4,))
    x = np.random.default_rng(0).random((3, space.n_genes + 184 * len(TABLE)))
    for limit, expected, feasible in ((8.0, 1.0, False), (32.0, -0.5, None)):
        ev = BatchEvaluator(space, WorkloadTensors.from_table(TABLE), PeModel(),
                            ("latency", "n_pes"), constraints={"n_pes": limit})
        assert ev.n_var == x.shape[1]
        assert ev.constraint_names == ("capacity", "max_n_pes")
        out = ev.evaluate(x)
        assert out.constraints[:, 1].tolist() == [expected] * 3
        assert out.objectives[:, 1].tolist() == [16.0] * 3
        if feasible is False:
            assert not out.feasible.any()


# -- explore ---------------------------------------------------------------------------------

def test_explore_with_added_objective_and_constraint(tmp_path):
    result = codesign.explore(TABLE, SPACE, objectives=("latency", "n_pes"),
                              constraints={"n_pes": 64}, cost_model=PeModel(),
                              out=tmp_path / "run", **TINY)
    assert result.pareto
    for design in result.pareto:
        acc = design.accelerator
        assert design.metrics["n_pes"] == acc.pe_rows * acc.pe_cols <= 64
    assert result.run["config"]["constraints"] == {"n_pes": 64.0}
    assert result.run["config"]["cost_model"].endswith(":PeModel")
    with open(tmp_path / "run" / "pareto.csv") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["n_pes"]) for r in rows] == [d.metrics["n_pes"] for d in result.pareto]
    assert result.to_csv() == (tmp_path / "run" / "pareto.csv").read_text()
    assert json.loads(result.to_json())["designs"][0]["metrics"]["n_pes"] <= 64


def test_explore_rejects_an_objective_the_model_does_not_offer():
    with pytest.raises(ConfigError, match="unknown: n_pes"):
        codesign.explore(TABLE, SPACE, objectives=("latency", "n_pes"), **TINY)
    with pytest.raises(ConfigError, match="unknown name 'n_pes'"):
        codesign.explore(TABLE, SPACE, constraints={"n_pes": 4}, **TINY)


def test_explore_takes_specs_and_plain_functions(plugin):
    by_spec = codesign.explore(TABLE, SPACE, objectives="latency,n_pes", cost_model=plugin,
                               **TINY)
    assert "n_pes" in by_spec.rows()[0]

    def ideal(accelerator, layers, mappings):
        return {"latency_cycles": layers.total_macs / accelerator.n_pes,
                "energy_pj": float(layers.total_macs), "area_mm2": 0.1 * accelerator.n_pes}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        by_fn = codesign.explore(TABLE, SPACE, objectives="latency,area", cost_model=ideal,
                                 **TINY)
    # latency x area = MACs x 1e-9 s x 0.1 mm2 is the same for every design: all on the front
    for d in by_fn.pareto:
        assert d.metrics["latency_s"] * d.metrics["area_mm2"] == pytest.approx(
            TABLE.total_macs * 1e-9 * 0.1)


def test_map_layers_takes_a_spec(plugin):
    res = codesign.map_layers(TABLE, codesign.Accelerator(pe_rows=8, pe_cols=8),
                              cost_model=plugin, n_candidates=4, n_steps=1, device="cpu")
    assert res.all_feasible


# -- CLI --------------------------------------------------------------------------------------

@pytest.fixture
def gemm_onnx(tmp_path):
    """One Gemm: [16 x 32] @ [32 x 32]."""
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w"], ["y"], name="fc")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [16, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [16, 32])],
        initializer=[numpy_helper.from_array(np.zeros((32, 32), np.float32), "w")])
    path = tmp_path / "fc.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return str(path)


FAST = ["--population", "6", "--generations", "2", "--mapper-candidates", "4",
        "--mapper-steps", "1", "--device", "cpu", "--no-plot"]


def test_cli_explore_cost_model_and_max(plugin, gemm_onnx, tmp_path):
    out = tmp_path / "run"
    r = CliRunner().invoke(main, ["explore", gemm_onnx, "--cost-model", plugin, "--objectives",
                                  "latency,n_pes", "--max", "n_pes=64", "--max", "power=100",
                                  "--out", str(out), *FAST])
    assert r.exit_code == 0, r.output
    with open(out / "pareto.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(float(row["n_pes"]) <= 64 for row in rows)
    assert json.loads((out / "run.json").read_text())["config"]["constraints"] == {
        "n_pes": 64.0, "power": 100.0}


def test_resume_reloads_a_module_cost_model_only_when_named_again(plugin, gemm_onnx, tmp_path):
    # a run folder never names code to import: run.json's spec is not imported on its own
    out = tmp_path / "run"
    first = CliRunner().invoke(main, ["explore", gemm_onnx, "--cost-model", plugin,
                                      "--objectives", "latency,n_pes", "--out", str(out), *FAST])
    assert first.exit_code == 0, first.output
    assert json.loads((out / "run.json").read_text())["config"]["cost_model_spec"] == plugin
    sys.modules.pop("cs_pe_plugin", None)
    refused = CliRunner().invoke(main, ["explore", "--resume", str(out), "--generations", "3"])
    assert refused.exit_code == 2, refused.output
    assert f"pass it again with --cost-model '{plugin}'" in refused.stderr
    assert "cs_pe_plugin" not in sys.modules
    more = CliRunner().invoke(main, ["explore", "--resume", str(out), "--generations", "3",
                                     "--cost-model", plugin])
    assert more.exit_code == 0, more.output  # n_pes exists only in the plugin's model
    assert f"--resume {out}: cost model '{plugin}' (given again)" in more.stderr
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["cost_model"] == "cs_pe_plugin:PeModel"
    assert run["generations_done"] == 3
    other = CliRunner().invoke(main, ["explore", "--resume", str(out), "--generations", "4",
                                      "--cost-model", "analytical"])
    assert other.exit_code == 2 and other.stderr.startswith("Error: ")  # n_pes unknown there


def test_resume_refuses_to_swap_an_unrecorded_cost_model(tmp_path):
    codesign.explore(TABLE, SPACE, objectives="latency,n_pes", cost_model=PeModel(),
                     out=tmp_path / "run", **TINY)
    with pytest.raises(ConfigError, match="pass it again"):
        codesign.explore(TABLE, resume=tmp_path / "run", generations=3, plot=False)
    again = codesign.explore(TABLE, resume=tmp_path / "run", generations=3, plot=False,
                             cost_model=PeModel())
    assert again.run["generations_done"] == 3

    class OtherPeModel(PeModel):
        pass

    with pytest.raises(ConfigError, match="resume with the same model"):
        codesign.explore(TABLE, resume=tmp_path / "run", generations=4, plot=False,
                         cost_model=OtherPeModel())


@pytest.mark.parametrize(("args", "message"), [
    (["--cost-model", "no_such_pkg_q:Model"], "cannot import module 'no_such_pkg_q'"),
    (["--cost-model", "nope"], "no built-in model or installed plugin"),
    (["--max", "n_pes=64"], "unknown name 'n_pes'"),
    (["--max", "power"], "expected NAME=VALUE"),
    (["--max", "power=-2"], "expected NAME=VALUE"),
])
def test_cli_bad_cost_model_or_limit_is_one_line_exit_2(gemm_onnx, tmp_path, args, message):
    r = CliRunner().invoke(main, ["explore", gemm_onnx, "--out", str(tmp_path / "r"), *args,
                                  *FAST])
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output


def test_cli_map_cost_model(plugin, gemm_onnx):
    """A cost model plugs into the v1 template: ``v1:eyeriss`` (plain ``eyeriss`` is the
    hierarchy preset, costed by the hierarchy model; tests/test_cli_map.py)."""
    r = CliRunner().invoke(main, ["map", gemm_onnx, "--arch", "v1:eyeriss", "--cost-model", plugin,
                                  "--effort", "fast", "--device", "cpu"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["map", gemm_onnx, "--arch", "v1:eyeriss", "--cost-model",
                                  "no_such_pkg_q:M"])
    assert r.exit_code == 2 and "cannot import module" in r.output
