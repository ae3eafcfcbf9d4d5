"""The 15 Timeloop reference cases of ``../shared/timeloop-reference/`` (MIT; its README).

Read from there, never copied. ``REFERENCE`` is None when the folder is absent (tests
skip with a message saying where it was looked for); ``CODESIGN_TIMELOOP_REFERENCE`` points
elsewhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_DEFAULT = Path(__file__).resolve().parents[3] / "shared" / "timeloop-reference"
_ROOT = Path(os.environ.get("CODESIGN_TIMELOOP_REFERENCE", _DEFAULT))
REFERENCE: Path | None = _ROOT if _ROOT.is_dir() else None
SKIP_REASON = (f"Timeloop reference cases not found at {_ROOT} (set "
               f"CODESIGN_TIMELOOP_REFERENCE to the timeloop-reference folder)")

_TUTORIAL = "tutorial_exercises/01_accelergy_timeloop_2020_ispass/timeloop"
_EXAMPLES = "example_designs/example_designs"


@dataclass(frozen=True)
class Case:
    """One reference: the inputs and Timeloop's stats for them. ``pe_before_glb``: the
    stats were generated with the arch's PE container above the GlobalBuffer (see
    docs/VALIDATION.md, "Stale references")."""

    name: str
    arch: str
    problem: str
    mapping: str
    output: str          # folder holding the ERT and stats
    pe_before_glb: bool = False

    def path(self, rel: str) -> Path:
        assert REFERENCE is not None
        return REFERENCE / rel

    @property
    def ert(self) -> Path:
        return next(self.path(self.output).glob("*.ERT.yaml"))

    @property
    def stats(self) -> Path:
        return next(self.path(self.output).glob("timeloop-*.stats.txt"))


def _model(ex: str, arch: str, prob: str, mapping: str, out: str, **kw) -> Case:
    base = f"{_TUTORIAL}/{ex}"
    return Case(f"{ex}/{out}".rstrip("/"), f"{base}/arch/{arch}", f"{base}/prob/{prob}",
                f"{base}/map/{mapping}" if mapping else f"{base}/ref-output/{out}/"
                "timeloop-mapper.map.yaml", f"{base}/ref-output/{out}", **kw)


def _design(name: str) -> Case:
    out = f"{_EXAMPLES}/{name}/ref_outputs/default_problem"
    return Case(name, f"{_EXAMPLES}/{name}/arch.yaml", f"{_EXAMPLES}/_include/default_problem.yaml",
                f"{out}/timeloop-mapper.map.yaml", out)


CASES: tuple[Case, ...] = (
    _model("00-model-conv1d-1level", "1level.arch.yaml", "conv1d.prob.yaml",
           "conv1d-1level.map.yaml", ""),
    _model("01-model-conv1d-2level", "2level.arch.yaml", "conv1d.prob.yaml",
           "conv1d-2level-ws.map.yaml", "ws"),
    _model("01-model-conv1d-2level", "2level.arch.yaml", "conv1d.prob.yaml",
           "conv1d-2level-os.map.yaml", "os"),
    _model("02-model-conv1d+oc-2level", "2level.arch.yaml", "conv1d+oc.prob.yaml",
           "conv1d+oc-2level-os.map.yaml", "no-tiling"),
    _model("02-model-conv1d+oc-2level", "2level.arch.yaml", "conv1d+oc.prob.yaml",
           "conv1d+oc-2level-os-tiled.map.yaml", "tiling"),
    _model("03-model-conv1d+oc-3level", "3level.arch.yaml", "conv1d+oc.prob.yaml",
           "conv1d+oc-3level.map.yaml", "no-bypass"),
    _model("03-model-conv1d+oc-3level", "3level.arch.yaml", "conv1d+oc.prob.yaml",
           "conv1d+oc-3level-bypass.map.yaml", "bypass"),
    _model("04-model-conv1d+oc-3levelspatial", "3levelspatial.arch.yaml",
           "conv1d+oc+ic.prob.yaml", "conv1d+oc+ic-3levelspatial-cp-ws.map.yaml", "cp",
           pe_before_glb=True),
    _model("04-model-conv1d+oc-3levelspatial", "3levelspatial.arch.yaml",
           "conv1d+oc+ic.prob.yaml", "conv1d+oc+ic-3levelspatial-kp-ws.map.yaml", "kp",
           pe_before_glb=True),
    _model("05-mapper-conv1d+oc-3level", "3level.arch.yaml", "conv1d+oc.prob.yaml", "",
           "null"),
    _model("05-mapper-conv1d+oc-3level", "3level.arch.yaml", "conv1d+oc.prob.yaml", "",
           "freebypass"),
    _model("05-mapper-conv1d+oc-3level", "3level.arch.yaml", "conv1d+oc.prob.yaml", "",
           "baked"),
    Case("06-mapper-convlayer-eyeriss", f"{_TUTORIAL}/06-mapper-convlayer-eyeriss/arch/"
         "eyeriss_like.yaml", f"{_TUTORIAL}/06-mapper-convlayer-eyeriss/prob/VGG02_layer5.yaml",
         f"{_TUTORIAL}/06-mapper-convlayer-eyeriss/ref-output/timeloop-mapper.map.yaml",
         f"{_TUTORIAL}/06-mapper-convlayer-eyeriss/ref-output"),
    _design("simple_weight_stationary"),
    _design("simple_output_stationary"),
)
