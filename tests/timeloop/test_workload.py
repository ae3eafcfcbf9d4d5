"""Timeloop problem files as a workload (`codesign.timeloop.workload`): a folder or one file
wherever an ONNX model goes (`load_workload`, ``codesign explore | map | inspect``)."""

import json

import pytest
from click.testing import CliRunner
from reference_cases import REFERENCE, SKIP_REASON

from codesign.cli import main
from codesign.errors import ConfigError
from codesign.timeloop.workload import load_timeloop_problems, load_workload
from codesign.timeloop.writers import generate_problem, write_yaml
from codesign.workload.layer import Layer

CONV = Layer.conv(K=16, C=8, P=8, Q=8, R=3, S=3)
PW = Layer.conv(K=32, C=16, P=4, Q=4, stride=2)


@pytest.fixture
def folder(tmp_path):
    """Three problem files, two of one shape (a: conv, b: pw, c: conv again)."""
    out = tmp_path / "net"
    out.mkdir()
    for name, layer in (("a", CONV), ("b", PW), ("c", CONV)):
        write_yaml(out / f"{name}.yaml", generate_problem(layer))
    return out


def test_a_folder_groups_identical_shapes_like_the_onnx_path(folder):
    table = load_workload(folder)
    assert table.layers == (CONV, PW)
    assert table.counts == (2, 1) and table.names == (("a", "c"), ("b",))
    assert table.total_macs == 2 * CONV.macs + PW.macs and table.vector_ops == ()


def test_one_problem_file_is_a_workload_too(folder):
    table = load_workload(folder / "b.yaml")
    assert table.layers == (PW,) and table.names == (("b",),)
    assert table.layers[0].stride == (2, 2)


def test_bad_folders_and_files_are_one_line_errors(tmp_path, folder):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no Timeloop problem files"):
        load_workload(tmp_path / "empty")
    (folder / "arch.yaml").write_text("architecture:\n  version: 0.4\n  nodes: []\n")
    with pytest.raises(ConfigError,
                       match=r"arch.yaml: not a Timeloop problem .*\['architecture'\]"):
        load_workload(folder)
    with pytest.raises(ConfigError, match="no such file or folder"):
        load_workload(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="Timeloop problems have fixed shapes"):
        load_workload(folder / "a.yaml", dims={"batch": 1})
    (tmp_path / "t.yaml").write_text("{% for x in y %}\nproblem: {}\n")
    with pytest.raises(ConfigError, match="Jinja2 template"):
        load_workload(tmp_path / "t.yaml")


def test_include_text_and_deep_merge_as_the_layer_shapes_folders_write_them(tmp_path):
    """The reference's form: a base included from the parent folder, merged in depth, and
    HStride / WStride for the base's Hstride / Wstride."""
    (tmp_path / "net").mkdir()
    base = generate_problem(Layer.conv(K=1, C=1, P=1, Q=1))["problem"]
    write_yaml(tmp_path / "base.yaml", {"problem_base_ignore": base})
    text = (tmp_path / "base.yaml").read_text().replace("problem_base_ignore:",
                                                         "problem_base_ignore: &problem_base")
    (tmp_path / "base.yaml").write_text(text)
    (tmp_path / "net" / "00.yaml").write_text(
        "{{include_text('../base.yaml')}}\nproblem:\n  <<<: *problem_base\n"
        "  instance: {C: 3, M: 64, P: 112, Q: 112, R: 7, S: 7, HStride: 2, WStride: 2}\n")
    (layer,) = load_workload(tmp_path / "net").layers
    assert (layer.K, layer.C, layer.P, layer.Q, layer.R, layer.S) == (64, 3, 112, 112, 7, 7)
    assert layer.stride == (2, 2) and layer.N == layer.G == 1


@pytest.mark.skipif(REFERENCE is None, reason=SKIP_REASON)
def test_the_reference_resnet18_folder():
    table = load_timeloop_problems(REFERENCE / "example_designs/layer_shapes/resnet18")
    # 21 files: conv1, 16 3x3 convs in 4 stages (shapes repeat within a stage), 3 strided
    # 1x1 downsamples, the FC; 12 distinct shapes (docs/VALIDATION.md's ResNet-18 set)
    assert table.n_mac_layers == 21 and len(table) == 12
    assert table.counts == (1, 4, 1, 3, 1, 1, 3, 1, 1, 3, 1, 1)
    conv1, fc = table.layers[0], table.layers[-1]
    assert (conv1.K, conv1.C, conv1.P, conv1.R, conv1.stride) == (64, 3, 112, 7, (2, 2))
    assert (fc.K, fc.C, fc.P, fc.R) == (1000, 512, 1, 1)
    down = table.layers[table.names.index(("07",))]
    assert (down.K, down.C, down.P, down.R, down.stride) == (128, 64, 28, 1, (2, 2))
    # 1.81 G MACs: conv1 64*3*112*112*49 = 118,013,952; stage 1 4 x 64*64*56*56*9 =
    # 462,422,016; stages 2-4 each 57,802,752 (strided 3x3) + 3 x 115,605,504 + 6,422,528
    # (downsample) = 411,041,792; FC 512,000
    assert table.total_macs == 118_013_952 + 462_422_016 + 3 * 411_041_792 + 512_000
    gpt2 = REFERENCE / "example_designs/layer_shapes/gpt2"
    assert load_timeloop_problems(gpt2).n_mac_layers == len(list(gpt2.glob("*.yaml")))


def test_inspect_and_map_take_a_folder(folder):
    result = CliRunner().invoke(main, ["inspect", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert [row["name"] for row in summary["layers"]] == ["a", "b", "c"]
    assert summary["totals"]["unique_layers"] == 2
    result = CliRunner().invoke(main, ["map", str(folder), "--arch", "eyeriss", "--device",
                                       "cpu", "--effort", "fast"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith("total: 3 MAC layers (2 unique)")


def test_explore_takes_a_folder(folder, tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["explore", str(folder), "--generations", "2",
                                       "--population", "8", "--device", "cpu", "--no-plot",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["workload"]["path"] == str(folder.resolve())
    assert run["config"]["n_unique_layers"] == 2 and run["config"]["n_mac_layers"] == 3
    # sensitivity reads the workload again from the recorded folder
    from codesign.results.sensitivity import sensitivity

    notes = sensitivity(out, 0)["notes"]
    assert not any("not there" in n or "no longer" in n for n in notes), notes


def test_explore_with_onnx_options_on_a_folder_is_one_line(folder, tmp_path):
    result = CliRunner().invoke(main, ["explore", str(folder), "--dim", "batch=1",
                                       "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "fixed shapes" in result.output
    assert "Traceback" not in result.output
