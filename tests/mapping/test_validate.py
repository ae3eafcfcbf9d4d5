"""`mapping_problems` and `Mapping.validate`: every problem, said once, with what to do."""

import pytest

from codesign import Accelerator, Layer, Mapping, MappingError, mapping_problems

CONV = Layer.conv(K=4, C=2, P=4, Q=4, R=3, S=3, name="conv1")
GOOD = Mapping.from_json({
    "spatial": {"rows": {"C": 2}, "cols": {"K": 2}},
    "temporal": {"RF": {"R": 3, "S": 3}, "GLB": {"P": 4, "Q": 4}, "DRAM": {"K": 2}},
})
ACC = Accelerator(pe_rows=2, pe_cols=2, rf_words=64, glb_words=1024, dataflow="ws")


def test_valid_mapping_has_no_problems():
    assert mapping_problems(CONV, ACC, GOOD) == []
    GOOD.validate(CONV, ACC)          # does not raise


def test_capacity_limits_are_inclusive():
    # RF tiles 9 + 9 + 1 = 19; GLB tiles 36 + 72 + 32 = 140 (see tests/cost)
    assert mapping_problems(CONV, ACC.replace(rf_words=19, glb_words=140), GOOD) == []
    problems = mapping_problems(CONV, ACC.replace(rf_words=18, glb_words=139), GOOD)
    assert problems == [
        "RF tiles need 19 words (W 9, I 9, O 1) > rf_words 18; shrink the RF tile or "
        "enlarge the buffer",
        "GLB tiles need 140 words (W 36, I 72, O 32) > glb_words 139; shrink the GLB tile "
        "or enlarge the buffer",
    ]


def test_every_problem_is_listed():
    bad = Mapping.from_json({"spatial": {"rows": {"C": 2, "P": 2}, "cols": {"K": 4}},
                             "temporal": {"RF": {"R": 3, "S": 3}, "GLB": {"Q": 4}}})
    problems = mapping_problems(CONV, ACC, bad)
    assert problems[0] == "dim P: factors multiply to 2 < 4; raise a factor of P"
    assert "spatial rows: factors multiply to 4 > pe_rows 2; lower them" in problems
    assert "spatial cols: factors multiply to 4 > pe_cols 2; lower them" in problems
    assert ("spatial rows: dim P is not allowed by dataflow ws (rows take C R S)"
            in problems)
    assert len(problems) == 4


def test_validate_raises_with_all_problems_and_the_layer_name():
    bad = Mapping.from_json({"spatial": {"rows": {"P": 4}}})
    with pytest.raises(MappingError, match=r"^layer 'conv1': dim K: .*; dim C: .*"
                                           r"; spatial rows: factors multiply to 4"):
        bad.validate(CONV, ACC)


def test_ceil_padding_counts_as_covered():
    layer = Layer.conv(K=3, C=2, P=4, Q=4, R=3, S=3)      # K 3 <= 2 * 2
    assert mapping_problems(layer, ACC, GOOD) == []
