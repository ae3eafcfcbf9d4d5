"""Cost a population in chunks that fit in memory: same numbers, bounded peak memory.

A cost model's intermediates grow with designs x layers (``[B, L, ...]``), so a population
(or a mapper's ``B x candidates`` batch) that is too big for the machine would be killed by
the kernel's out-of-memory killer, or fail inside torch, instead of being evaluated. Every
`CostResult` field is per design (leading ``B`` axis) and cost models are pure per design,
so evaluating consecutive slices and concatenating gives exactly the unchunked result.

The chunk size comes from a byte budget: ``CODESIGN_MAX_BATCH_BYTES`` when set, else a
quarter of the memory this process can still get (`available_memory_bytes`: the least of
free RAM, the address-space limit ``RLIMIT_AS`` and the cgroup limit; free memory on a CUDA
device), divided by `BYTES_PER_DESIGN_LAYER`.
"""

from __future__ import annotations

import os
import re
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import torch

from codesign.cost.model import CostModel, CostResult
from codesign.errors import ConfigError
from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors
from codesign.workload.tensors import take_designs  # re-exported: results slice with it

__all__ = [
    "BYTES_PER_DESIGN_LAYER",
    "ENV_MAX_BATCH_BYTES",
    "JOINT_BYTES_PER_DESIGN_LAYER",
    "MAPPER_BYTES_PER_CANDIDATE_LAYER",
    "ChunkedCostModel",
    "available_memory_bytes",
    "chunk_designs",
    "concat_results",
    "evaluate_in_chunks",
    "max_batch_bytes",
    "take_designs",
]

#: Environment variable that caps the bytes one cost call may use (an int, e.g. 2000000000).
ENV_MAX_BATCH_BYTES = "CODESIGN_MAX_BATCH_BYTES"
#: Peak bytes per (design, layer) pair of one analytical cost call, rounded up: measured
#: 0.4-0.9 kB as peak-RSS growth for 2048-8192 designs x 20 layers on CPU, plus the 1.5 kB
#: of mapping genes that feed it; 4 kB leaves room for custom models.
BYTES_PER_DESIGN_LAYER = 4096
#: Peak bytes per (design, layer) of a whole joint-genome evaluation (decoding the mapping
#: genes, then costing): measured 4.2 kB for 2000-4000 designs x 20 layers; doubled.
JOINT_BYTES_PER_DESIGN_LAYER = 8192
#: Peak bytes per (design, layer, mapper candidate) of the nested strategy's batched mapper:
#: measured 6.8 kB (54 kB per design-layer with 8 candidates, 200 designs x 20 layers).
MAPPER_BYTES_PER_CANDIDATE_LAYER = 8192
#: Share of the available memory one cost call may take.
_SHARE = 4
_FALLBACK_BYTES = 2**30


def _meminfo_available() -> int | None:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    match = re.search(r"MemAvailable:\s+(\d+) kB", text)
    return int(match.group(1)) * 1024 if match else None


def _address_space_left() -> int | None:
    try:
        import resource
    except ImportError:  # not on POSIX
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return soft
    return soft - pages * os.sysconf("SC_PAGE_SIZE")


def _cgroup_left() -> int | None:
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
    except OSError:
        return None
    if limit == "max":
        return None
    return int(limit) - int(used)


def available_memory_bytes(device: torch.device | str | None = None) -> int:
    """Bytes this process can still allocate on ``device`` (a best estimate, never < 0)."""
    device = torch.device(device or "cpu")
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    known = [v for v in (_meminfo_available(), _address_space_left(), _cgroup_left())
             if v is not None]
    return max(min(known), 0) if known else _FALLBACK_BYTES


def max_batch_bytes(device: torch.device | str | None = None) -> int:
    """The byte budget of one cost call: ``$CODESIGN_MAX_BATCH_BYTES`` or a quarter of
    `available_memory_bytes`."""
    raw = os.environ.get(ENV_MAX_BATCH_BYTES, "").strip()
    if raw:
        try:
            value = int(float(raw))
        except ValueError:
            value = 0
        if value < 1:
            raise ConfigError(f"{ENV_MAX_BATCH_BYTES}={raw!r}: expected a positive number of "
                              "bytes, e.g. 2000000000; unset it to size chunks from free memory")
        return value
    return available_memory_bytes(device) // _SHARE


def chunk_designs(bytes_per_design: int, device: torch.device | str | None = None,
                  max_bytes: int | None = None) -> int:
    """Designs per call so that ``designs x bytes_per_design`` stays within ``max_bytes``
    (default `max_batch_bytes`); at least 1.

    >>> chunk_designs(10 * BYTES_PER_DESIGN_LAYER, max_bytes=2**20)  # 10 layers, 1 MiB
    25
    """
    budget = max_batch_bytes(device) if max_bytes is None else int(max_bytes)
    return max(1, budget // max(int(bytes_per_design), 1))


def concat_results(parts: list[CostResult]) -> CostResult:
    """One `CostResult` from consecutive per-design slices (every field has a leading B)."""
    if len(parts) == 1:
        return parts[0]
    return _concat(parts)


def _concat(parts: list[Any]) -> Any:
    """Field by field: tensors and dicts of tensors concatenated on B, nested dataclasses
    (a `LevelBreakdown`) recursively, anything else (None, names) taken from the first."""
    values: dict[str, Any] = {}
    first = parts[0]
    for f in fields(first):
        value = getattr(first, f.name)
        if isinstance(value, dict):
            values[f.name] = {n: torch.cat([getattr(p, f.name)[n] for p in parts])
                              for n in value}
        elif isinstance(value, torch.Tensor):
            values[f.name] = torch.cat([getattr(p, f.name) for p in parts])
        elif is_dataclass(value):
            values[f.name] = _concat([getattr(p, f.name) for p in parts])
        else:
            values[f.name] = value
    return type(first)(**values)


def _slice(batch: Any, start: int, stop: int) -> Any:
    return take_designs(batch, slice(start, stop))


def evaluate_in_chunks(cost_model: CostModel, hardware: HardwareBatch,
                       workload: WorkloadTensors, mappings: MappingBatch,
                       max_designs: int | None = None) -> CostResult:
    """``cost_model.evaluate`` over at most ``max_designs`` designs at a time (default:
    `chunk_designs` for this workload and device), concatenated: the unchunked result.

    Shape:
        hardware ``[B]``, mappings ``[B, L]`` in; a `CostResult` over ``B`` designs out.
    """
    n_b = hardware.n_designs
    if max_designs is None:
        max_designs = chunk_designs(max(workload.n_layers, 1) * BYTES_PER_DESIGN_LAYER,
                                    hardware.pe_rows.device)
    if n_b <= max_designs:
        return cost_model.evaluate(hardware, workload, mappings)
    parts = [cost_model.evaluate(_slice(hardware, s, s + max_designs), workload,
                                 _slice(mappings, s, s + max_designs))
             for s in range(0, n_b, max_designs)]
    return concat_results(parts)


class ChunkedCostModel:
    """A `CostModel` that evaluates ``inner`` in memory-sized chunks (`evaluate_in_chunks`);
    other attributes (``technology``, ``extra_objectives``) are the inner model's."""

    def __init__(self, inner: CostModel, max_designs: int | None = None) -> None:
        self.inner = inner
        self.max_designs = max_designs

    def __repr__(self) -> str:
        return f"ChunkedCostModel({self.inner!r})"

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # not set yet (copy/unpickle): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    def evaluate(self, hardware: HardwareBatch, workload: WorkloadTensors,
                 mappings: MappingBatch) -> CostResult:
        return evaluate_in_chunks(self.inner, hardware, workload, mappings, self.max_designs)
