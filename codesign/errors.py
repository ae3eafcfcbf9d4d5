"""The exceptions codesign raises on purpose.

Every error a user can cause by what they hand in derives from :class:`CodesignError`,
so callers (and ``cli.py``, the only error boundary) can catch one class::

    CodesignError
    ├── WorkloadError     the model file: missing, not ONNX, corrupt, no MAC op, symbolic dims
    ├── ArchError         an accelerator, technology table or design space that makes no sense
    ├── MappingError      a mapping that does not cover the layer, fit the array or the buffers
    ├── ConfigError       options and YAML/JSON specs: wrong types, unknown keys, bad values
    └── RunError          an exploration that cannot start or go on (output folder, resume)

Anything else escaping the library is a bug and keeps its traceback.
"""

from __future__ import annotations

__all__ = [
    "ArchError",
    "CodesignError",
    "ConfigError",
    "MappingError",
    "RunError",
    "WorkloadError",
]


class CodesignError(Exception):
    """Base class: the user can fix this by changing what they handed in."""


class WorkloadError(CodesignError):
    """The model cannot be imported as a workload."""


class ArchError(CodesignError):
    """An accelerator, technology table or design space is invalid."""


class MappingError(CodesignError):
    """A mapping is invalid for its layer or accelerator."""


class ConfigError(CodesignError):
    """An option value or a configuration file is invalid."""


class RunError(CodesignError):
    """An exploration run cannot start, resume or write its results."""
