"""Bad Timeloop files: one line naming the file and the key, exit 2, never a traceback."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from codesign.cli import main
from codesign.errors import ConfigError
from codesign.timeloop.files import load_yaml
from codesign.timeloop.problem import parse_problem
from tests.timeloop.conv1d import PROBLEM

ARCH = """architecture:
  version: 0.4
  nodes:
  - !Container
    name: System
    attributes: {global_cycle_seconds: 1e-9}
  - !Component
    name: MainMemory
    class: DRAM
    attributes: {width: 64, datawidth: 8}
  - !Container
    name: PE
    spatial: {meshX: 4}
  - !Component
    name: Buffer
    class: regfile
    attributes: {depth: 16, width: 8, datawidth: 8}
  - !Component
    name: MACC
    class: intmac
"""
MAPPING = """mapping:
- {target: Buffer, type: temporal, factors: K=1 R=3 P=8, permutation: PRK}
- {target: PE, type: spatial, factors: K=4}
"""


def _write(tmp_path, **texts):
    paths = {}
    for name, text in texts.items():
        p = tmp_path / f"{name}.yaml"
        p.write_text(text)
        paths[name] = str(p)
    return paths


def _run(paths, *extra):
    return CliRunner().invoke(main, ["evaluate", paths["arch"], paths["problem"],
                                     paths["mapping"], "--json", *extra])


def test_a_small_hand_checked_case(tmp_path):
    """K=4 on 4 PEs, each running R3 x P8 from a 16-word buffer.

    Per PE: weights 3 (fetched once: no loop above the buffer), inputs 10 (8 + 3 - 1),
    outputs 8 written once each to DRAM (updates 8), 24 computes per PE, 96 in all. The
    inputs are the same for every PE: DRAM reads them once (multicast).
    """
    import json

    result = _run(_write(tmp_path, arch=ARCH, problem=PROBLEM, mapping=MAPPING))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["computes"] == 96 and data["cycles"] == 24
    assert data["levels"]["Buffer"] == {
        "Weights": {"reads": 96, "fills": 12, "updates": 0},
        "Inputs": {"reads": 96, "fills": 40, "updates": 0},
        "Outputs": {"reads": 96 - 32, "fills": 0, "updates": 96}}
    assert data["levels"]["MainMemory"] == {
        "Weights": {"reads": 12, "fills": 0, "updates": 0},
        "Inputs": {"reads": 10, "fills": 0, "updates": 0},
        "Outputs": {"reads": 0, "fills": 0, "updates": 32}}


@pytest.mark.parametrize(("which", "text", "expected"), [
    ("arch", "architecture: {version: 0.4}", "expected architecture.nodes"),
    ("arch", ARCH.replace("class: intmac", "class: laser"), "neither a storage nor a compute"),
    ("arch", ARCH.replace("depth: 16", "depth: -1"), "Buffer.attributes.depth"),
    ("arch", "architecture: [unclosed", "not valid YAML"),
    ("problem", PROBLEM.replace("read_write: true", "read_write: false"), "read_write"),
    ("problem", PROBLEM.replace("K: 4", "K: 0"), "instance.K must be a positive integer"),
    ("problem", PROBLEM.replace("[[[K]], [[R]]]", "[[[K]], [[Z]]]"), "undeclared dims"),
    ("mapping", MAPPING.replace("target: Buffer", "target: Nowhere"), "no storage level"),
    ("mapping", MAPPING.replace("K=1 R=3", "K=1 X=3"), "unknown dims ['X']"),
    ("mapping", MAPPING.replace("factors: K=4", "factors: K=four"), "cannot read"),
    ("mapping", MAPPING.replace("type: spatial", "type: sideways"), "unknown directive type"),
])
def test_bad_files_give_one_line(tmp_path, which, text, expected):
    texts = {"arch": ARCH, "problem": PROBLEM, "mapping": MAPPING, which: text}
    result = _run(_write(tmp_path, **texts))
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert f"{which}.yaml" in result.output


def test_special_files_are_refused(tmp_path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="not a regular file"):
        load_yaml(fifo)
    with pytest.raises(ConfigError, match="not a regular file"):
        load_yaml("/dev/zero")


def test_alias_bombs_are_refused(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match="aliases"):
        load_yaml(bomb)


def test_a_gemm_problem_becomes_a_layer():
    data = {"shape": {"dimensions": ["M", "N", "K"], "data_spaces": [
        {"name": "A", "projection": [[["M"]], [["K"]]]},
        {"name": "B", "projection": [[["K"]], [["N"]]]},
        {"name": "Z", "projection": [[["M"]], [["N"]]], "read_write": True}]},
        "instance": {"M": 64, "N": 32, "K": 16}}
    problem = parse_problem(data)
    assert problem.layer.macs == 64 * 32 * 16
    assert problem.dataspace_names["O"] == "Z"


def test_a_mapping_must_cover_the_problem(tmp_path):
    short = MAPPING.replace("P=8", "P=4")
    result = _run(_write(tmp_path, arch=ARCH, problem=PROBLEM, mapping=short))
    assert result.exit_code == 2
    assert "does not cover P (factors multiply to 4, the problem has 8)" in result.output


def test_a_fanout_above_the_compute_multicasts(tmp_path):
    """No buffer below the PE fan-out: the 4 MACs (K=4 on X) share each input, so the
    buffer above reads it once per step (24 steps), not once per MAC (96)."""
    import json

    arch = ARCH.replace("""  - !Container
    name: PE
    spatial: {meshX: 4}
  - !Component
    name: Buffer
    class: regfile
    attributes: {depth: 16, width: 8, datawidth: 8}
""", """  - !Component
    name: Buffer
    class: regfile
    attributes: {depth: 16, width: 8, datawidth: 8}
  - !Container
    name: PE
    spatial: {meshX: 4}
""")
    data = json.loads(_run(_write(tmp_path, arch=arch, problem=PROBLEM, mapping=MAPPING)
                           ).output)
    assert data["computes"] == 96
    assert data["levels"]["Buffer"]["Inputs"]["reads"] == 24
    assert data["levels"]["Buffer"]["Weights"]["reads"] == 96
    assert data["levels"]["Buffer"]["Outputs"]["updates"] == 96
