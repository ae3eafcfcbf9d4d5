"""Every list of names and every small shared helper has one home that the rest imports.

Hardware fields live in ``arch/accelerator.py`` (`HW_FIELDS`), level names in
``hierarchy/v1.py`` (`V1_LEVELS`), objectives and bottleneck names in ``names.py``,
the did-you-mean hint in ``errors.py``, ``ceil_div`` in ``workload/tensors.py`` and the tile
box in ``mapping/footprint.py``. Lists spelled out again drift apart (the mapper said
``GLB`` where pareto.csv says ``glb``; two modules each had an ``OBJECTIVES`` with another
meaning), so this test finds literal copies in the package and checks that the derived
names are the home's own objects.
"""

import ast
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
import torch

from codesign import names
from codesign.arch import accelerator, space
from codesign.arch.accelerator import HW_FIELDS, NUMERIC_FIELDS, Accelerator
from codesign.arch.batch import HardwareBatch
from codesign.hierarchy.v1 import V1_LEVELS

PACKAGE = Path(__file__).resolve().parents[1] / "codesign"

#: family -> (its names, the one file that may spell three or more of them in one literal)
FAMILIES = {
    "hardware fields": ({f.name for f in HW_FIELDS}, "arch/accelerator.py"),
    "objectives": (set(names.DESIGN_OBJECTIVES) | set(names.LAYER_OBJECTIVES),
                   "names.py"),
    "bottlenecks": ({b.lower() for b in names.BOTTLENECKS}, "names.py"),
    "levels": (set(V1_LEVELS), "hierarchy/v1.py"),
}
#: Literal copies waiting for another change, each with the reason (file, family, names).
PENDING: set[tuple[str, str, tuple[str, ...]]] = set()
#: helper function name -> the one file that defines it
HELPERS = {
    "did_you_mean": "errors.py",
    "unknown_keys": "errors.py",
    "ceil_div": "workload/tensors.py",
    "tile_boxes": "mapping/footprint.py",
}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text())


def _literal_strings(node: ast.AST) -> tuple[str, ...] | None:
    if not isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return None
    return tuple(e.value for e in node.elts
                 if isinstance(e, ast.Constant) and isinstance(e.value, str))


def test_name_lists_are_spelled_out_only_in_their_home():
    offences = []
    for where, tree in _modules():
        for node in ast.walk(tree):
            strings = _literal_strings(node)
            if not strings:
                continue
            for family, (members, home) in FAMILIES.items():
                hits = [s for s in strings if (s.lower() if family == "bottlenecks" else s)
                        in members]
                if len(hits) >= 3 and where != home and (where, family, strings) not in PENDING:
                    offences.append(f"{where}:{node.lineno} spells out {family} {strings}; "
                                    f"import them from {home}")
    assert not offences, "\n".join(offences)


def test_pending_copies_still_exist():
    """A pending entry that no longer matches must go, so the list cannot hide new copies."""
    found = set()
    for where, tree in _modules():
        for node in ast.walk(tree):
            strings = _literal_strings(node)
            for entry in PENDING:
                if entry[0] == where and strings == entry[2]:
                    found.add(entry)
    assert found == PENDING


def test_shared_helpers_are_defined_once():
    defined: dict[str, list[str]] = {}
    uses_difflib = []
    for where, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                base = node.name.lstrip("_")
                if base in HELPERS:
                    defined.setdefault(base, []).append(where)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                mods = [a.name for a in node.names] if isinstance(node, ast.Import) \
                    else [node.module or ""]
                if "difflib" in mods and where != HELPERS["did_you_mean"]:
                    uses_difflib.append(where)
    assert defined == {name: [home] for name, home in HELPERS.items()}
    assert not uses_difflib, f"close-match hints outside errors.did_you_mean: {uses_difflib}"


def test_unknown_key_messages_come_from_errors_unknown_keys():
    """Every reader reports an unknown key through `errors.unknown_keys` (one wording, one
    did-you-mean, the valid keys listed once); a reader that spelled the message itself
    would drift. Docstrings may describe the message; code may not build it. The one
    exception is a custom cost function's returned dict (cost/function.py): not a file a
    user wrote but a programming error, whose message names its own remedy."""
    offences = []
    for where, tree in _modules():
        if where in (HELPERS["unknown_keys"], "cost/function.py"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                text = "".join(v.value for v in node.values
                               if isinstance(v, ast.Constant) and isinstance(v.value, str))
                if "unknown key" in text:
                    offences.append(f"{where}:{node.lineno}")
    assert not offences, f"unknown-key messages built outside errors.unknown_keys: {offences}"


def test_hardware_fields_follow_the_accelerator():
    """`HW_FIELDS` lists the Accelerator's fields in order (all but name and technology);
    the batch carries every numeric one, in that order; the genome order (which saved runs
    store) stays what it was when the genes were a literal list."""
    own = [f.name for f in fields(Accelerator) if f.name not in ("name", "technology")]
    assert [f.name for f in HW_FIELDS] == own
    batch = [f.name for f in fields(HardwareBatch)]
    assert batch == [*NUMERIC_FIELDS, "spatial_allowed", "systolic"]
    assert space.HW_GENES == ("pe_rows", "pe_cols", "rf_words", "glb_words", "glb_bw",
                              "dataflow")
    assert set(NUMERIC_FIELDS) <= {f.name for f in fields(space.DesignSpace)}
    assert set(accelerator.SIZE_FIELDS) | {"n_pes"} == set(accelerator.MAX_SIZES)


def test_derived_names_are_the_homes_objects():
    from codesign.cost import model
    from codesign.mapping import mapping
    from codesign.results import explain, pareto, sensitivity
    from codesign.search import gradient, problem

    assert mapping.TEMPORAL_LEVELS is V1_LEVELS
    assert tuple(reversed(V1_LEVELS)) == model.MEMORY_LEVELS
    assert problem.OBJECTIVES is names.DESIGN_OBJECTIVES
    assert gradient.HW_PARAMS is space.NUMERIC_GENES
    assert sensitivity.SENSITIVITY_PARAMS is space.NUMERIC_GENES
    assert tuple(names.OBJECTIVE_COLUMNS) == names.DESIGN_OBJECTIVES
    assert set(names.OBJECTIVE_COLUMNS.values()) <= set(pareto.PARETO_COLUMNS)
    assert [f"bound_{b}_frac" for b in names.BOTTLENECKS] == \
        [c for c in explain.EXPLAIN_COLUMNS if c.startswith("bound_")]
    # one meaning per name: no module besides the home names a list OBJECTIVES but the
    # search's alias of the design objectives
    from codesign.search import mapper
    assert not hasattr(mapper, "OBJECTIVES")


def test_results_use_the_names_of_the_home():
    """A costed batch's objectives and bounds line up with the names (one design, one
    GEMM on a 4 x 4 array)."""
    from codesign.cost.analytical import AnalyticalCostModel
    from codesign.cost.single import evaluate_mapping
    from codesign.mapping.batch import MappingBatch, WorkloadTensors
    from codesign.mapping.mapping import Mapping
    from codesign.workload.layer import Layer, LayerTable

    layer, acc = Layer.gemm(M=4, K=4, N=4), Accelerator(pe_rows=4, pe_cols=4)
    m = Mapping.from_json({"spatial": {"rows": {"C": 4}, "cols": {"K": 4}},
                           "temporal": {"GLB": {"P": 4}}})
    result = AnalyticalCostModel().evaluate(
        HardwareBatch.from_accelerators([acc]),
        WorkloadTensors.from_table(LayerTable.from_layers([layer])),
        MappingBatch.from_mappings([[m]]))
    assert tuple(result.objectives()) == names.DESIGN_OBJECTIVES
    assert result.bounds().shape[-1] == len(names.BOTTLENECKS)
    assert evaluate_mapping(layer, acc, m)["bottleneck"] in names.BOTTLENECKS


@pytest.mark.parametrize("module", ["codesign.names", "codesign.arch.accelerator"])
def test_name_homes_import_without_torch(module):
    """The CLI (which starts without torch) and the report read these homes."""
    code = f"import sys, {module}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_tile_boxes_agree_for_ints_and_tensors():
    from codesign.mapping.footprint import tile_boxes

    table = [[2, 1, 3], [3, 1, 1], [1, 4, 1], [1, 1, 2], [1, 5, 7]]
    ints = tile_boxes(table)
    tensors = tile_boxes(torch.tensor(table))
    assert [t.tolist() for t in tensors] == [list(b) for b in ints]
