"""Atomic CSV and JSON output: pure ``generate_`` functions to text, thin ``write_`` wrappers.

Every file is written to a temporary file in the same folder and moved into place, so an
interrupted run never leaves half a ``pareto.csv`` behind.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from codesign.search.checkpoint import atomic_write_text

__all__ = ["generate_csv", "generate_json", "write_csv", "write_json"]


def _cell(value: Any) -> Any:
    """Floats with full precision (``repr``), so a CSV round trip is exact."""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    return value


def generate_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    """CSV text with a header; missing cells are empty, extra keys are an error.

    >>> print(generate_csv([{"a": 1, "b": 0.5}], ["a", "b"]), end="")
    a,b
    1,0.5
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return buffer.getvalue()


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def generate_json(data: Any) -> str:
    """Indented JSON text; numpy values become plain numbers, NaN/inf become ``null``."""
    return json.dumps(_finite(data), indent=2, default=_json_default) + "\n"


def _finite(data: Any) -> Any:
    if isinstance(data, float) and not math.isfinite(data):
        return None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite(v) for v in data]
    return data


def write_csv(path: str | Path, rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> None:
    """`generate_csv` to ``path``, atomically."""
    atomic_write_text(path, generate_csv(rows, columns))


def write_json(path: str | Path, data: Any) -> None:
    """`generate_json` to ``path``, atomically."""
    atomic_write_text(path, generate_json(data))
