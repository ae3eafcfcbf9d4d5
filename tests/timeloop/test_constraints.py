"""Timeloop v0.4 mapspace constraints as `MapConstraints`; bad files give one line."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from codesign.cli import main
from codesign.errors import ConfigError
from codesign.timeloop.arch import parse_arch, to_hierarchy
from codesign.timeloop.constraints import arch_constraints, parse_constraints
from codesign.timeloop.files import load_yaml
from codesign.timeloop.problem import parse_problem
from tests.timeloop.conv1d import PROBLEM

ARCH = """architecture:
  version: 0.4
  nodes:
  - !Container
    name: System
  - !Component
    name: MainMemory
    class: DRAM
    attributes: {width: 64, datawidth: 8}
  - !Component
    name: GLB
    class: SRAM
    attributes: {depth: 256, width: 8, datawidth: 8}
  - !Container
    name: PE
    spatial: {meshX: 4, meshY: 2}
    constraints:
      spatial: {permutation: [K, P], split: 1, factors: [R=1]}
  - !Component
    name: Buffer
    class: regfile
    attributes: {depth: 16, width: 8, datawidth: 8}
    constraints:
      temporal: {permutation: [R], factors: [K=1]}
  - !Component
    name: MACC
    class: intmac
"""
CONSTRAINTS = """mapspace_constraints:
  targets:
  - {target: GLB, type: temporal, factors: P=2, permutation: PK}
  - {target: GLB, type: dataspace, bypass: [Weights], keep: [Inputs]}
"""


def _read(tmp_path, constraints: str):
    (tmp_path / "arch.yaml").write_text(ARCH)
    (tmp_path / "problem.yaml").write_text(PROBLEM)
    (tmp_path / "cons.yaml").write_text(constraints)
    prob = parse_problem(load_yaml(tmp_path / "problem.yaml"))
    arch = parse_arch(load_yaml(tmp_path / "arch.yaml"))
    h = to_hierarchy(arch, prob.tensor_of)
    return h, prob, arch


def test_arch_and_file_constraints(tmp_path):
    h, prob, arch = _read(tmp_path, CONSTRAINTS)
    inline = arch_constraints(arch, h, prob)
    # spatial: K on X only, P on Y only, R on neither; Buffer: no K loop, R innermost
    assert inline.spatial_dims == {"PE.X": ("N", "G", "K", "C", "Q", "R", "S"),
                                   "PE.Y": ("N", "G", "C", "P", "Q", "R", "S")}
    assert inline.factors["PE.X"] == {"R": 1} and inline.factors["Buffer"] == {"K": 1}
    assert inline.innermost == {"Buffer": ("R",)}
    cons = inline.merged(parse_constraints(load_yaml(tmp_path / "cons.yaml"), h, prob))
    assert cons.factors["GLB"] == {"P": 2} and cons.innermost["GLB"] == ("P", "K")
    assert cons.keep == {"GLB": ("I",)} and cons.bypass == {"GLB": ("W",)}
    applied = cons.apply(h)
    glb = applied.levels[applied.level_index("GLB")]
    assert glb.keeps == ("I", "O") and glb.bypass_choice == ("O",)


@pytest.mark.parametrize(("text", "expected"), [
    ("mapspace_constraints:\n  targets:\n  - {target: Nowhere, type: temporal}\n",
     "no storage level 'Nowhere'"),
    ("mapspace_constraints:\n  targets:\n  - {target: GLB, type: temporal, factors: Z=2}\n",
     "unknown dims ['Z']"),
    ("mapspace_constraints:\n  targets:\n  - {target: GLB, type: temporal, factors: P=0}\n",
     "only positive factors"),
    ("mapspace_constraints:\n  targets:\n  - {target: GLB, type: sideways}\n",
     "unknown constraint type"),
    ("mapspace_constraints:\n  targets:\n  - {target: GLB, type: dataspace, keep: [Psums]}\n",
     "unknown data spaces ['Psums']"),
    ("mapspace_constraints:\n  targets:\n  - {target: MainMemory, type: bypass, "
     "bypass: [Inputs]}\n", "the outermost level keeps every tensor"),
])
def test_bad_constraints_give_one_line(tmp_path, text, expected):
    h, prob, _ = _read(tmp_path, text)
    with pytest.raises(ConfigError, match="cons.yaml|constraints"):
        parse_constraints(load_yaml(tmp_path / "cons.yaml"), h, prob, tmp_path / "cons.yaml")
    result = CliRunner().invoke(main, ["map", str(tmp_path / "problem.yaml"), "--arch",
                                       str(tmp_path / "arch.yaml"), "--constraints",
                                       str(tmp_path / "cons.yaml"), "--effort", "fast"])
    assert result.exit_code == 2, result.output
    assert expected in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_codesign_map_on_a_small_timeloop_arch(tmp_path):
    _read(tmp_path, CONSTRAINTS)
    result = CliRunner().invoke(main, ["map", str(tmp_path / "problem.yaml"), "--arch",
                                       str(tmp_path / "arch.yaml"), "--constraints",
                                       str(tmp_path / "cons.yaml"), "--objective", "latency",
                                       "--effort", "fast"])
    assert result.exit_code == 0, result.output
    # 96 MACs; PE.X may take K (4), PE.Y P (2): 96 / 8 = 12 cycles at best
    assert "total: 12 cycles" in result.output
    assert "GLB [ Inputs" in result.output and "note: no --ert given" in result.output
