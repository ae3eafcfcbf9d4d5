"""`export_design` / ``codesign export-timeloop``: the files of a real run's Pareto designs
read back (`evaluate_files`) to exactly what `nest_cost` gives the design's v1 hierarchy and
nests (`v1_hierarchy`, `nests_from_v1`) under Timeloop's counting rules."""

import csv
import json

import pytest
import torch
from click.testing import CliRunner

from codesign.api import explore
from codesign.arch.io import parse_accelerator
from codesign.cli import main
from codesign.hierarchy.counts import TIMELOOP
from codesign.hierarchy.model import nest_cost
from codesign.hierarchy.v1 import nests_from_v1
from codesign.mapping.batch import MappingBatch
from codesign.mapping.mapping import Mapping
from codesign.results.timeloop import export_design, timeloop_hierarchy
from codesign.timeloop.evaluate import evaluate_files
from codesign.timeloop.writers import DATASPACE_NAMES
from codesign.workload.layer import TENSORS, Layer, LayerTable

TABLE = LayerTable.from_layers([Layer.conv(K=16, C=8, P=8, Q=8, R=3, S=3, name="conv"),
                                Layer.conv(K=32, C=16, P=4, Q=4, R=1, S=1, name="pw"),
                                Layer.conv(K=32, C=16, P=4, Q=4, R=1, S=1, name="pw2"),
                                Layer.conv(K=8, C=8, P=7, Q=7, R=3, S=3, stride=2,
                                           name="down"),
                                Layer.gemm(M=4, K=32, N=16, name="fc")])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    explore(TABLE, population=8, generations=3, mapper_candidates=4, mapper_steps=1, seed=3,
            device="cpu", out=out, plot=False)
    return out


def designs(run_dir):
    return json.loads((run_dir / "designs.json").read_text())["designs"]


def direct_cost(entry):
    """nest_cost of the design as designs.json gives it, under Timeloop's rules."""
    acc = parse_accelerator(entry["accelerator"])
    layers = [Layer.from_dict(e["shape"]) for e in entry["layers"]]
    batch = MappingBatch.from_mappings([[Mapping.from_json(e["mapping"])
                                         for e in entry["layers"]]])
    h = timeloop_hierarchy(acc)
    cost = nest_cost(h, nests_from_v1(batch.factors, batch.order),
                     torch.tensor([x.stride for x in layers]),
                     torch.tensor([x.dilation for x in layers]), TIMELOOP)
    return h, cost


def test_every_design_reads_back_to_the_direct_cost(run_dir, tmp_path):
    entries = designs(run_dir)
    assert len(entries) >= 3
    flattened = 0
    for entry in entries:
        d = entry["design"]
        result = export_design(run_dir, d, tmp_path / str(d))
        flattened += bool(result.notes)
        h, cost = direct_cost(entry)
        c = cost.counts
        for i, row in enumerate(result.layers):
            out = tmp_path / str(d)
            got = evaluate_files(out / "arch.yaml", out / row["problem"], out / row["mapping"],
                                 out / "ERT.yaml")
            assert got["cycles"] == int(cost.cycles[0, i])
            assert got["computes"] == int(c.computes[0, i])
            assert got["energy_pj"] == pytest.approx(float(cost.energy_pj[0, i]), rel=1e-12)
            for m, level in enumerate(h.level_names):
                assert set(got["levels"][level]) == set(DATASPACE_NAMES.values())
                for t, tensor in enumerate(TENSORS):
                    assert got["levels"][level][DATASPACE_NAMES[tensor]] == {
                        "reads": int(c.reads[0, i, m, t]), "fills": int(c.fills[0, i, m, t]),
                        "updates": int(c.updates[0, i, m, t])}, (d, i, level, tensor)
                assert got["energy_by_level_pj"][level] == pytest.approx(
                    float(cost.energy_by_level_pj()[0, i, m]), rel=1e-12)
            assert row["timeloop"] == {"cycles": float(cost.cycles[0, i]),
                                       "energy_pj": float(cost.energy_pj[0, i])}
    # the run has flexible-dataflow designs whose mappings split a dim over rows and cols
    # and ones that do not: both ways of writing the array are checked
    assert 0 < flattened < len(entries)


def test_the_v1_figures_are_pareto_csv(run_dir, tmp_path):
    rows = list(csv.DictReader((run_dir / "pareto.csv").open()))
    for row in rows[:2]:
        result = export_design(run_dir, int(row["design"]), tmp_path / row["design"])
        assert result.v1["cycles"] == pytest.approx(float(row["latency_cycles"]), rel=1e-12)
        assert result.v1["energy_pj"] * 1e-12 == pytest.approx(float(row["energy_j"]),
                                                               rel=1e-12)
        # the pw layer stands for two: both sets of figures are weighted by the count
        counts = [layer["count"] for layer in result.layers]
        assert sorted(counts) == [1, 1, 1, 2]
        assert result.timeloop["cycles"] == sum(
            c * layer["timeloop"]["cycles"] for c, layer in zip(counts, result.layers,
                                                                strict=True))
        saved = json.loads((tmp_path / row["design"] / "export.json").read_text())
        assert saved["note"] == result.note() and saved["timeloop"] == result.timeloop


def test_the_energies_are_the_technology_models(run_dir):
    entry = designs(run_dir)[0]
    layer = entry["layers"][0]
    h = timeloop_hierarchy(parse_accelerator(entry["accelerator"]))
    # v1's per-access energies: DRAM 1300 pJ per 64 bits at 16-bit words = 325 pJ;
    # the MAC 0.2 * 2**2 + 0.03 * 2 = 0.86 pJ (codesign.arch.technology)
    assert h.levels[0].read_pj == pytest.approx(325.0)
    assert h.compute.mac_pj == pytest.approx(0.86)
    # v1 prices every DRAM word alike: its part of the layer's energy / 325 pJ is whole words
    assert (layer["energy_parts_pj"]["DRAM"] / 325.0) == pytest.approx(
        round(layer["energy_parts_pj"]["DRAM"] / 325.0))


def test_the_command_writes_the_files_and_the_note(run_dir, tmp_path):
    result = CliRunner().invoke(main, ["export-timeloop", str(run_dir), "--design", "0",
                                       "--out", str(tmp_path / "tl")])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Timeloop rules give energy ") and "vs pareto.csv" in last
    names = sorted(p.name for p in (tmp_path / "tl" / "problems").iterdir())
    assert names == ["00_conv.yaml", "01_pw.yaml", "02_down.yaml", "03_fc.yaml"]
    # the problems folder is a workload again: the same four shapes
    from codesign.timeloop.workload import load_timeloop_problems

    table = load_timeloop_problems(tmp_path / "tl" / "problems")
    assert [x.shape_key for x in table.layers] == [x.shape_key for x in TABLE.layers]


def test_a_missing_design_is_one_line(run_dir, tmp_path):
    result = CliRunner().invoke(main, ["export-timeloop", str(run_dir), "--design", "99",
                                       "--out", str(tmp_path / "tl")])
    assert result.exit_code == 2
    assert "no design 99 in designs.json" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(main, ["export-timeloop", str(tmp_path), "--design", "0",
                                       "--out", str(tmp_path / "tl")])
    assert result.exit_code == 2 and "no designs.json" in result.output
