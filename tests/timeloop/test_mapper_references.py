"""The hierarchy mapper on Timeloop's mapper references, under the same constraints.

For every reference that Timeloop's mapper produced (05-mapper with each constraints
file, 06-mapper-convlayer-eyeriss, simple_weight_stationary, simple_output_stationary),
the mapping we find must have an EDP no worse than Timeloop's mapping, both costed by our
model (which matches Timeloop's own counts on those mappings exactly:
test_reference_cases.py), with the fast effort (the default effort is a slow test).
Times next to Timeloop's search settings: docs/VALIDATION.md, "Mapper against Timeloop's
mapper".
"""

from __future__ import annotations

import pytest
from reference_cases import CASES, REFERENCE, SKIP_REASON

from codesign.hierarchy.mapper import cost_nests, map_hierarchy
from codesign.timeloop.constraints import read_mapspace
from codesign.timeloop.mapping import read_mapping

pytestmark = pytest.mark.skipif(REFERENCE is None, reason=SKIP_REASON)

_05 = "tutorial_exercises/01_accelergy_timeloop_2020_ispass/timeloop/" \
      "05-mapper-conv1d+oc-3level/constraints/"
#: ref-output folder of 05 -> the constraints file Timeloop's mapper ran with
CONSTRAINTS = {"null": "null.constraints.yaml",
               "freebypass": "conv1d+oc-3level-freebypass.constraints.yaml",
               "baked": "conv1d+oc-3level-1mapping.constraints.yaml"}
MAPPER_CASES = tuple(c for c in CASES if "-mapper-" in c.name or c.name.startswith("simple_"))


def _constraints(case):
    tail = case.name.rsplit("/", 1)[-1]
    return case.path(_05 + CONSTRAINTS[tail]) if case.name.startswith("05-") else None


def test_every_mapper_reference_is_here():
    assert len(MAPPER_CASES) == 6


@pytest.mark.parametrize("effort", [
    "fast", pytest.param("default", marks=pytest.mark.slow)])
@pytest.mark.parametrize("case", MAPPER_CASES, ids=[c.name for c in MAPPER_CASES])
def test_our_mapping_is_no_worse_than_timeloops(case, effort):
    h, prob, cons = read_mapspace(case.path(case.arch), case.path(case.problem), case.ert,
                                  _constraints(case))
    theirs = cost_nests(h, [prob.layer], [read_mapping(case.path(case.mapping), h, prob)])
    assert theirs.feasible.all()
    their_edp = float(theirs.cycles[0, 0] * theirs.energy_pj[0, 0])
    ours = map_hierarchy(h, [prob.layer], "edp", effort, constraints=cons).layers[0]
    assert ours.feasible
    assert ours.edp <= their_edp * (1 + 1e-9)
    if case.name.endswith("baked"):       # one mapping in the space: Timeloop's
        assert ours.edp == pytest.approx(their_edp, rel=1e-12)


def test_codesign_map_takes_a_timeloop_arch(tmp_path):
    import json

    from click.testing import CliRunner

    from codesign.cli import main

    case = next(c for c in MAPPER_CASES if c.name.endswith("baked"))
    args = ["map", str(case.path(case.problem)), "--arch", str(case.path(case.arch)),
            "--ert", str(case.ert), "--constraints", str(_constraints(case)),
            "--effort", "fast", "--out", str(tmp_path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    # the one mapping the constraints allow (Timeloop's), as Timeloop prints it
    assert "GlobalBuffer [ Weights Inputs Outputs ]" in result.output
    assert "for K in [0:16)" in result.output and "<< Compute >>" in result.output
    assert "total: 1536 cycles" in result.output
    data = json.loads((tmp_path / "mapping.json").read_text())
    assert data["mapping"]["temporal"]["RegisterFile"] == {"K": 2, "R": 3}


def test_codesign_map_refuses_timeloop_options_without_a_timeloop_arch(tmp_path):
    """--ert needs a Timeloop arch; --constraints any hierarchy, not a v1 accelerator."""
    from click.testing import CliRunner

    from codesign.cli import main

    model = tmp_path / "m.onnx"
    model.write_bytes(b"")
    for arch, option, message in (("v1:eyeriss", "--constraints", "need a hierarchy --arch"),
                                  ("eyeriss", "--ert", "--ert needs a Timeloop v0.4 --arch")):
        result = CliRunner().invoke(main, ["map", str(model), "--arch", arch, option,
                                           str(model)])
        assert result.exit_code == 2 and message in result.output, result.output
