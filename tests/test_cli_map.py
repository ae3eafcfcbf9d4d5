"""`codesign map` through CliRunner: the table, --out files, reproducibility, one-line errors."""

import csv
import json

import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper

from codesign.cli import main
from codesign.mapping.mapping import Mapping
from codesign.mapping.validate import mapping_problems
from codesign.workload.layer import Layer


def run(*args):
    result = CliRunner().invoke(main, ["map", *map(str, args)])
    assert "Traceback" not in result.output
    return result


def _weight(name, shape):
    t = onnx.TensorProto(name=name, data_type=TensorProto.FLOAT)
    t.dims.extend(shape)
    t.float_data.extend([0.0] * int(__import__("math").prod(shape)))
    return t


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """x[1, 4, 8, 8] -> Conv 3x3 (8 out, pad 1) -> Relu -> Conv 1x1 (8 out) twice (the same
    shape, so one unique layer with count 2) -> output."""
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["a"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["a"], ["b"], name="relu"),
        helper.make_node("Conv", ["b", "w2"], ["c"], name="conv2"),
        helper.make_node("Conv", ["c", "w3"], ["y"], name="conv3"),
    ]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[_weight("w1", [8, 4, 3, 3]), _weight("w2", [8, 8, 1, 1]),
                     _weight("w3", [8, 8, 1, 1])])
    path = tmp_path_factory.mktemp("models") / "tiny.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_table_and_totals(tiny_model):
    result = run(tiny_model, "--arch", "simba", "--device", "cpu", "--effort", "fast")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["#", "layer", "n", "mapping"]
    assert lines[1].split()[1] == "conv1" and lines[2].split()[1:4] == ["conv2", "+1", "2"]
    assert lines[-1].startswith("total: 3 MAC layers (2 unique) on simba")
    assert any(b in lines[1] for b in ("compute", "GLB", "DRAM"))


def test_out_writes_csv_and_json_that_round_trip(tiny_model, tmp_path):
    """The v1 template preset (``v1:eyeriss``; plain ``eyeriss`` is the hierarchy)."""
    out = tmp_path / "run"
    result = run(tiny_model, "--arch", "v1:eyeriss", "--device", "cpu", "--effort", "fast",
                 "--objective", "latency", "--out", out)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "layers.csv").open()))
    assert [r["names"] for r in rows] == ["conv1", "conv2 conv3"]
    assert [r["count"] for r in rows] == ["1", "2"]
    data = json.loads((out / "mappings.json").read_text())
    assert data["objective"] == "latency" and data["accelerator"]["name"] == "eyeriss"
    from codesign.arch.presets import resolve_accelerator

    acc = resolve_accelerator("eyeriss")
    for entry, row in zip(data["layers"], rows, strict=True):
        layer = Layer.from_dict(entry["layer"])
        mapping = Mapping.from_json(entry["mapping"])
        assert entry["feasible"] and mapping_problems(layer, acc, mapping) == []
        assert float(row["cycles"]) == entry["cycles"]
    assert not list(out.glob("*.tmp*")), "temporary files left behind"


def test_same_seed_same_output(tiny_model):
    args = (tiny_model, "--arch", "tpu", "--device", "cpu", "--effort", "fast", "--seed", "4")
    first, second = run(*args), run(*args)
    assert first.exit_code == 0 and first.output == second.output


@pytest.mark.parametrize("args, words", [
    (["--arch", "no_such_arch"], ["no_such_arch", "presets"]),
    (["--arch", "missing.yaml"], ["missing.yaml"]),
    (["--arch", "simba", "--objective", "speed"], ["speed"]),
    (["--arch", "simba", "--device", "tpu"], ["tpu"]),
])
def test_bad_options_one_line_exit_2(tiny_model, args, words):
    result = run(tiny_model, *args)
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert all(w in message for w in words), message
    assert len([line for line in message.splitlines() if line.startswith("Error")]) == 1


def test_missing_model_exit_2(tmp_path):
    result = run(tmp_path / "nope.onnx", "--arch", "simba")
    assert result.exit_code == 2 and "nope.onnx" in result.output


# -- hierarchies: presets, our YAML, the v1 name rule -----------------------------------------

def _table(output):
    lines = output.splitlines()
    header, rows = lines[0].split(), [line for line in lines[1:] if line[:1].isdigit()]
    return header, rows, next(line for line in lines if line.startswith("total: "))


@pytest.mark.parametrize("arch, levels, pes", [
    ("eyeriss", ["DRAM", "GLB", "spad"], 168),       # 12 x 14 PEs
    ("gemmini", ["DRAM", "Scratchpad", "Accumulator", "WeightReg"], 256),   # 16 x 16 mesh
])
def test_a_hierarchy_preset_maps_in_its_own_level_names(tiny_model, tmp_path, arch, levels,
                                                         pes):
    out = tmp_path / "run"
    result = run(tiny_model, "--arch", arch, "--device", "cpu", "--effort", "fast",
                 "--out", out)
    assert result.exit_code == 0, result.output
    header, rows, total = _table(result.output)
    assert header == ["#", "layer", "n", "mapping", "cycles", "energy_uJ", "PEs", "util",
                      "bound"]
    assert total.startswith(f"total: 3 MAC layers (2 unique) on {arch} (hierarchy preset: "
                            f"{' '.join(levels)}, {pes} PEs")
    assert f"of {pes} PEs active on average" in total
    assert "RF" not in result.output.replace("Reg", "")   # no v1 level names
    data = json.loads((out / "mappings.json").read_text())
    assert [n.get("storage") for n in data["hierarchy"]["nodes"] if "storage" in n] == levels
    for entry in data["layers"]:
        assert entry["feasible"] and entry["bottleneck"] in ("compute", *levels)
        assert 1 <= entry["pes"] <= pes
        assert set(entry["mapping"]["temporal"]) <= set(levels)
        layer = Layer.from_dict(entry["layer"])
        # utilisation: useful MACs / (cycles x compute instances)
        assert entry["utilization"] == pytest.approx(layer.macs / (entry["cycles"] * pes))
        # no more PEs busy than the mapping's fan-out factors, so cycles >= MACs / PEs used
        assert entry["cycles"] >= layer.macs / entry["pes"]
    rows_csv = list(csv.DictReader((out / "layers.csv").open()))
    assert [r["names"] for r in rows_csv] == ["conv1", "conv2 conv3"]
    assert data["totals"]["latency_cycles"] == pytest.approx(
        data["layers"][0]["cycles"] + 2 * data["layers"][1]["cycles"])   # conv2 counts twice


TOY_YAML = """\
name: toy
clock_mhz: 500
nodes:
  - {storage: DRAM, shared_bw: 8}
  - {storage: Buffer, capacity_words: 4096}
  - {fanout: PE, x: 4, y: 4, x_dims: [K], y_dims: [C]}
  - {storage: Reg, keeps: [W], capacity_words: 1}
compute: {name: MAC}
"""


def test_a_hierarchy_yaml_maps_and_its_mappings_json_reads_back(tiny_model, tmp_path):
    from codesign.hierarchy.io import parse_hierarchy

    arch = tmp_path / "toy.yaml"
    arch.write_text(TOY_YAML)
    out = tmp_path / "run"
    result = run(tiny_model, "--arch", arch, "--device", "cpu", "--effort", "fast",
                 "--out", out)
    assert result.exit_code == 0, result.output
    _, rows, total = _table(result.output)
    assert total.startswith("total: 3 MAC layers (2 unique) on toy (hierarchy YAML: DRAM "
                            "Buffer Reg, 16 PEs, 500 MHz)")
    assert all(("K" in r.split("PE X:")[1].split()[0]) for r in rows if "PE X:" in r)
    data = json.loads((out / "mappings.json").read_text())
    back = parse_hierarchy(data["hierarchy"])   # the file --arch reads, energies filled in
    assert back.level_names == ("DRAM", "Buffer", "Reg") and back.n_compute == 16
    assert back.levels[1].read_pj > 0          # from the technology table


def test_constraints_apply_to_a_hierarchy_preset(tiny_model, tmp_path):
    """A Timeloop constraints file in eyeriss's level names and Timeloop's dim names: no
    loops at the GLB, and only M (our K) across the PE rows."""
    cons = tmp_path / "cons.yaml"
    cons.write_text("mapspace_constraints:\n  targets:\n"
                    "  - {target: GLB, type: temporal, factors: C=1 M=1 R=1 S=1 N=1 P=1 Q=1}\n"
                    "  - {target: PE, type: spatial, factors: C=1 R=1}\n")
    out = tmp_path / "run"
    result = run(tiny_model, "--arch", "eyeriss", "--constraints", cons, "--device", "cpu",
                 "--effort", "fast", "--out", out)
    assert result.exit_code == 0, result.output
    for entry in json.loads((out / "mappings.json").read_text())["layers"]:
        assert not entry["mapping"]["temporal"].get("GLB")
        assert set(entry["mapping"]["spatial"].get("PE", {}).get("Y", {})) <= {"K"}


@pytest.mark.parametrize("args, words", [
    (["--arch", "eyeris"], ["eyeris", "did you mean 'eyeriss'", "v1:eyeriss", "gemmini"]),
    (["--arch", "v1:gemmini"], ["v1:gemmini", "v1 presets"]),
    (["--arch", "eyeriss", "--ert", "x.yaml"], ["--ert needs a Timeloop"]),
    (["--arch", "eyeriss", "--cost-model", "analytical"], ["v1:eyeriss"]),
    (["--arch", "v1:eyeriss", "--constraints", "x.yaml"], ["need a hierarchy --arch"]),
])
def test_bad_architecture_names_one_line_exit_2(tiny_model, tmp_path, args, words):
    (tmp_path / "x.yaml").write_text("targets: []\n")
    args = [str(tmp_path / a) if a == "x.yaml" else a for a in args]
    result = run(tiny_model, *args)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.strip().splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and all(w in errors[0] for w in words), result.output


@pytest.mark.parametrize("text, words", [
    ("nodes: []\n", ["nodes: expected a non-empty list"]),
    ("nodes:\n  - {storage: DRAM, capcity_words: 4}\n  - {fanout: PE, x: 0}\n",
     ["nodes[0] (DRAM): unknown key 'capcity_words'; did you mean 'capacity_words'",
      "nodes[1] (PE)", "x must be a positive integer"]),
    ("nodes:\n  - {storage: GLB, keeps: [I]}\n", ["must keep every tensor"]),
    ("nodes:\n  - {storage: DRAM}\n  - {level: RF}\n", ["nodes[1]", "'storage: NAME'"]),
])
def test_bad_hierarchy_yaml_reports_every_problem_on_one_line(tiny_model, tmp_path, text,
                                                              words):
    arch = tmp_path / "bad.yaml"
    arch.write_text(text)
    result = run(tiny_model, "--arch", arch)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.strip().splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and all(w in errors[0] for w in words), result.output


@pytest.mark.slow
def test_alexnet_on_eyeriss_lands_near_the_chip():
    """JSSC 2017 (Chen et al.): AlexNet CONV1-5 at batch 4 in about 115 ms at 200 MHz, with
    about 148 of 168 PEs active on average. The CLI on the committed problem files must land
    within 20% of both (docs/VALIDATION.md, "Eyeriss on AlexNet", says why they differ)."""
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "benchmarks" / "validation" / "alexnet_conv_b4"
    result = run(folder, "--arch", "eyeriss", "--device", "cpu")
    assert result.exit_code == 0, result.output
    total = result.output.splitlines()[-1]
    ms = float(total.split(" cycles = ")[1].split(" ms")[0])
    pes = float(total.split("; ")[1].split(" of 168 PEs active")[0])
    assert 0.8 * 115 <= ms <= 1.2 * 115 and 0.8 * 148 <= pes <= 168, total


def test_timeloop_files_map_an_onnx_model_and_a_problem_folder(tiny_model, tmp_path):
    """A Timeloop v0.4 architecture (here written from the toy YAML's hierarchy) maps any
    workload; its constraints use the problem files' names (M is our K)."""
    from codesign.hierarchy.io import parse_hierarchy
    from codesign.timeloop.writers import generate_arch, generate_problem, write_yaml

    hierarchy = parse_hierarchy(__import__("yaml").safe_load(TOY_YAML))
    write_yaml(tmp_path / "arch.yaml", generate_arch(hierarchy))
    result = run(tiny_model, "--arch", tmp_path / "arch.yaml", "--device", "cpu",
                 "--effort", "fast")
    assert result.exit_code == 0, result.output
    assert "note: no --ert given, every energy is 0" in result.output
    _, rows, total = _table(result.output)
    assert "(Timeloop architecture: " in total and ", 16 PEs, 500 MHz)" in total
    folder = tmp_path / "problems"
    folder.mkdir()
    for i, layer in enumerate([Layer.gemm(M=16, K=8, N=8), Layer.conv(K=8, C=4, P=4, Q=4,
                                                                       R=3, S=3)]):
        write_yaml(folder / f"p{i}.yaml", generate_problem(layer))
    cons = tmp_path / "cons.yaml"
    cons.write_text("targets:\n  - {target: DRAM, type: temporal, factors: M=1}\n")
    out = tmp_path / "run"
    result = run(folder, "--arch", tmp_path / "arch.yaml", "--constraints", cons,
                 "--device", "cpu", "--effort", "fast", "--out", out)
    assert result.exit_code == 0, result.output
    for entry in json.loads((out / "mappings.json").read_text())["layers"]:
        assert "K" not in entry["mapping"]["temporal"].get("DRAM", {})
