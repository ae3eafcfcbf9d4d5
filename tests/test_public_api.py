"""The public surface of ``import codesign`` is deliberate: pinned here, documented, typed."""

import inspect
import subprocess
import sys
from pathlib import Path

import codesign

# Adding a name is an API decision: add it here, to docs/API.md, and to _EXPORTS.
PUBLIC = [
    "Accelerator",
    "AnalyticalCostModel",
    "ArchError",
    "CodesignError",
    "ConfigError",
    "CostModel",
    "CostResult",
    "Dataflow",
    "DesignSpace",
    "ExploreConfig",
    "ExploreResult",
    "FunctionCostModel",
    "HardwareBatch",
    "HierarchyMapResult",
    "Layer",
    "LayerMappingResult",
    "LayerTable",
    "Mapping",
    "MappingBatch",
    "MappingError",
    "ParetoDesign",
    "RunError",
    "Technology",
    "VectorOp",
    "WorkloadError",
    "WorkloadTensors",
    "evaluate_mapping",
    "explore",
    "layer_table",
    "load_cost_model",
    "load_onnx",
    "load_preset",
    "load_workload",
    "map_layers",
    "mapping_problems",
    "parse_onnx",
    "preset_names",
    "read_accelerator",
    "read_onnx",
    "resolve_accelerator",
    "resolve_device",
    "search_mappings",
    "write_accelerator",
]
API_DOC = Path(__file__).resolve().parents[1] / "docs" / "API.md"


def test_all_is_pinned():
    assert codesign.__all__ == ["__version__", *PUBLIC]
    assert sorted(PUBLIC) == PUBLIC


def test_every_name_resolves_with_its_own_docstring():
    for name in PUBLIC:
        obj = getattr(codesign, name)
        assert getattr(obj, "__name__", name) == name
        assert (obj.__doc__ or "").strip(), f"codesign.{name} has no docstring"


def test_public_functions_are_fully_typed():
    for name in PUBLIC:
        obj = getattr(codesign, name)
        if not inspect.isfunction(obj):
            continue
        sig = inspect.signature(obj)
        untyped = [p for p, v in sig.parameters.items() if v.annotation is inspect.Parameter.empty]
        assert not untyped, f"codesign.{name}: parameters without a type hint: {untyped}"
        assert sig.return_annotation is not inspect.Signature.empty, f"codesign.{name} -> ?"


def test_every_name_is_in_the_api_reference():
    text = API_DOC.read_text()
    missing = [name for name in PUBLIC if f"`{name}" not in text]
    assert not missing, f"docs/API.md does not document: {missing}"


def test_unknown_name_is_an_attribute_error():
    try:
        codesign.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("codesign.no_such_thing resolved")


def test_import_is_lazy():
    code = "import sys, codesign; print('torch' in sys.modules, codesign.__version__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", codesign.__version__]
