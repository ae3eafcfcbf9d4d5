"""Find a cost model by name: ``analytical``, an installed plugin, or ``package.module:Name``.

Plugins register under the entry-point group ``codesign.cost_models``; in the plugin's
``pyproject.toml``::

    [project.entry-points."codesign.cost_models"]
    my-sram = "my_package.models:MySramModel"

``load_cost_model("my-sram")`` then loads it, as does ``codesign explore --cost-model
my-sram``. A ``module:Name`` spec imports that module only when it is named, so nothing a
user did not ask for is ever imported. What the spec points at is turned into a model by
`as_cost_model`: a class is instantiated with no arguments, a factory function with no
parameters is called, an object with ``evaluate`` is used as is, and a per-design function
(one or more parameters) is wrapped in `FunctionCostModel`.
"""

from __future__ import annotations

import importlib
import inspect
from importlib import metadata
from typing import Any

from codesign.cost.model import CostModel
from codesign.errors import ConfigError

__all__ = ["DEFAULT_COST_MODEL", "ENTRY_POINT_GROUP", "as_cost_model", "available_cost_models",
           "load_cost_model"]

#: Entry-point group plugins register their cost models under.
ENTRY_POINT_GROUP = "codesign.cost_models"
#: The built-in model's name.
DEFAULT_COST_MODEL = "analytical"


def _entry_points() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def available_cost_models() -> tuple[str, ...]:
    """Names ``load_cost_model`` accepts without a ``module:Name`` spec: ``analytical``
    and every installed ``codesign.cost_models`` entry point (sorted)."""
    return (DEFAULT_COST_MODEL, *sorted(set(_entry_points()) - {DEFAULT_COST_MODEL}))


def load_cost_model(spec: str = DEFAULT_COST_MODEL) -> CostModel:
    """The cost model a spec names.

    ``spec``: ``"analytical"`` (`AnalyticalCostModel` with the default technology), the
    name of a ``codesign.cost_models`` entry point, or ``"package.module:Name"`` (a dotted
    attribute path after the colon is allowed). Raises `ConfigError` saying what is wrong
    (no such module, no such attribute, not a cost model, no such plugin).

    >>> type(load_cost_model("analytical")).__name__
    'AnalyticalCostModel'
    >>> type(load_cost_model("codesign.cost.analytical:AnalyticalCostModel")).__name__
    'AnalyticalCostModel'
    """
    spec = str(spec).strip()
    if not spec:
        raise ConfigError("cost model: empty spec; give 'analytical', a plugin name or "
                          "'package.module:Name'")
    if spec == DEFAULT_COST_MODEL:
        from codesign.cost.analytical import AnalyticalCostModel

        return AnalyticalCostModel()
    if ":" in spec:
        return as_cost_model(_import_attribute(spec), where=f"cost model {spec!r}")
    plugins = _entry_points()
    if spec not in plugins:
        known = ", ".join(available_cost_models())
        raise ConfigError(f"cost model {spec!r}: no built-in model or installed plugin of "
                          f"that name (known: {known}); give 'package.module:Name' to load "
                          f"one from a module, or register it in the {ENTRY_POINT_GROUP!r} "
                          "entry-point group")
    try:
        target = plugins[spec].load()
    except Exception as exc:  # a plugin failing to import is the plugin's problem
        raise ConfigError(f"cost model {spec!r}: loading entry point "
                          f"{plugins[spec].value!r} failed: {type(exc).__name__}: {exc}"
                          ) from exc
    return as_cost_model(target, where=f"cost model {spec!r} (entry point "
                                       f"{plugins[spec].value!r})")


def _import_attribute(spec: str) -> Any:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"cost model {spec!r}: expected 'package.module:Name'")
    try:
        target: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"cost model {spec!r}: cannot import module {module_name!r} "
                          f"({exc}); check the spelling and that it is installed or on "
                          "PYTHONPATH") from exc
    except Exception as exc:
        raise ConfigError(f"cost model {spec!r}: importing {module_name!r} failed: "
                          f"{type(exc).__name__}: {exc}") from exc
    for part in attr.split("."):
        if not hasattr(target, part):
            raise ConfigError(f"cost model {spec!r}: module {module_name!r} has no attribute "
                              f"{attr!r}")
        target = getattr(target, part)
    return target


def as_cost_model(target: Any, where: str = "cost model") -> CostModel:
    """Turn what a user handed in into a `CostModel`: a spec string goes to
    `load_cost_model`, anything else as in the module docstring.

    >>> def per_design(accelerator, layers, mappings):
    ...     return {"latency_cycles": 1.0, "energy_pj": 1.0, "area_mm2": 1.0}
    >>> type(as_cost_model(per_design)).__name__
    'FunctionCostModel'
    """
    if isinstance(target, str):
        return load_cost_model(target)
    if isinstance(target, type):
        try:
            model = target()
        except TypeError as exc:
            raise ConfigError(f"{where}: cannot instantiate {target.__qualname__} without "
                              f"arguments ({exc}); give it defaults or point at a factory "
                              "function") from exc
        return _check(model, where)
    if isinstance(target, CostModel):
        return _check(target, where)
    if callable(target):
        if _n_required_params(target) == 0:
            return _check(target(), where)
        if not _accepts(target, 3):
            raise ConfigError(f"{where}: {_name(target)} is not a cost model: a per-design "
                              "function must take (accelerator, layers, mappings) and return "
                              "a dict, a cost model class or object needs an evaluate(hardware, "
                              "workload, mappings) method (see docs/API.md, 'Custom cost "
                              "models')")
        from codesign.cost.function import FunctionCostModel

        return FunctionCostModel(target, getattr(target, "extra_objectives", ()))
    return _check(target, where)


def _name(target: Any) -> str:
    name = getattr(target, "__qualname__", None) or type(target).__name__
    module = getattr(target, "__module__", None)
    return f"{module}.{name}" if module else str(name)


def _accepts(fn: Any, n_args: int) -> bool:
    """Whether ``fn`` can be called with ``n_args`` positional arguments (as far as its
    signature tells; one that cannot be inspected, like some builtins, cannot be checked and
    is refused)."""
    try:
        inspect.signature(fn).bind(*range(n_args))
    except (TypeError, ValueError):
        return False
    return True


def _n_required_params(fn: Any) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    return sum(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
               for p in params)


def _check(model: Any, where: str) -> CostModel:
    """``model`` if it is a cost model: an ``evaluate`` method that takes (hardware,
    workload, mappings)."""
    if not isinstance(model, CostModel) or not _accepts(model.evaluate, 3):
        raise ConfigError(f"{where}: {type(model).__name__} is not a cost model; it needs an "
                          "evaluate(hardware, workload, mappings) -> CostResult method "
                          "(see docs/API.md, 'Custom cost models')")
    return model
