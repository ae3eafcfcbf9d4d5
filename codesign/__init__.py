"""codesign: hardware/software co-design space exploration for DNN accelerators.

The public API is imported lazily, so that ``import codesign`` (and ``codesign --help``)
does not pay for importing torch until a name that needs it is used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "CodesignError": "codesign.errors",
    "WorkloadError": "codesign.errors",
    "ArchError": "codesign.errors",
    "MappingError": "codesign.errors",
    "ConfigError": "codesign.errors",
    "RunError": "codesign.errors",
    "Layer": "codesign.workload.layer",
    "LayerTable": "codesign.workload.layer",
    "VectorOp": "codesign.workload.layer",
    "read_onnx": "codesign.workload.onnx_graph",
    "parse_onnx": "codesign.workload.onnx_graph",
    "layer_table": "codesign.workload.table",
    "load_onnx": "codesign.workload.table",
    "load_workload": "codesign.timeloop.workload",
    "Accelerator": "codesign.arch.accelerator",
    "Dataflow": "codesign.arch.accelerator",
    "DesignSpace": "codesign.arch.space",
    "Technology": "codesign.arch.technology",
    "read_accelerator": "codesign.arch.io",
    "write_accelerator": "codesign.arch.io",
    "resolve_accelerator": "codesign.arch.presets",
    "preset_names": "codesign.arch.presets",
    "load_preset": "codesign.arch.presets",
    "Mapping": "codesign.mapping.mapping",
    "HardwareBatch": "codesign.mapping.batch",
    "MappingBatch": "codesign.mapping.batch",
    "WorkloadTensors": "codesign.mapping.batch",
    "CostModel": "codesign.cost.model",
    "CostResult": "codesign.cost.model",
    "explore": "codesign.api",
    "ExploreResult": "codesign.api",
    "ExploreConfig": "codesign.search.config",
    "ParetoDesign": "codesign.results.pareto",
    "AnalyticalCostModel": "codesign.cost.analytical",
    "FunctionCostModel": "codesign.cost.function",
    "load_cost_model": "codesign.cost.loading",
    "evaluate_mapping": "codesign.cost.single",
    "mapping_problems": "codesign.mapping.validate",
    "map_layers": "codesign.search.layer_maps",
    "search_mappings": "codesign.search.mapper",
    "LayerMappingResult": "codesign.search.mapper",
    "HierarchyMapResult": "codesign.search.layer_maps",
    "resolve_device": "codesign.device",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'codesign' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__

