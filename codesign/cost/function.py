"""`FunctionCostModel`: a plain per-design Python function as a `CostModel`.

For cost models that cannot be batched (a call into an external simulator, a lookup in a
measured table): the wrapper loops over the batch, hands the function one design at a time
as plain Python objects, and packs the answers back into a `CostResult`. It is the one
place in ``codesign.cost`` that reads tensors back to the host, and it is slow (a Python
call per design, per mapper candidate too), so it warns once per instance.

The function, ``fn(accelerator, layers, mappings) -> dict``, gets:

- ``accelerator``: the design as an `Accelerator` (`HardwareBatch.accelerator`);
- ``layers``: the workload as a `LayerTable` (unique layers with their counts; node names
  are not carried by the batch, so they read ``layer0``, ``layer1``...; vector ops carry
  their operation count as ``ops`` and their DRAM traffic as ``words``);
- ``mappings``: one `Mapping` per unique layer, in ``layers.layers`` order;

and returns a dict with

- ``latency_cycles``, ``energy_pj`` (network totals for one inference), ``area_mm2``:
  required floats;
- ``layer_cycles``, ``layer_energy_pj``: optional, one float per unique layer (one
  occurrence). Give them when you can: the mapper ranks each layer's mappings by them.
  Without them the network totals are split over layers by their share of MACs;
- ``feasible``: optional bool (default ``True``);
- one float for every name in ``extra_objectives`` (added objectives, minimised).

A non-finite value (NaN, inf) makes that design infeasible, with a warning; it is replaced
by ``1e30`` so that no NaN reaches the search. A missing or unknown key is a programming
error and raises `ConfigError` on the first call.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from codesign.arch.accelerator import Accelerator
from codesign.cost.model import CostResult
from codesign.errors import ConfigError
from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors
from codesign.mapping.mapping import Mapping as LayerMapping
from codesign.names import DESIGN_OBJECTIVES
from codesign.workload.layer import Layer, LayerTable, VectorOp

__all__ = ["REQUIRED_KEYS", "CostFunction", "FunctionCostModel", "workload_table"]

#: Keys every answer of the wrapped function must have.
REQUIRED_KEYS: tuple[str, ...] = ("latency_cycles", "energy_pj", "area_mm2")
_OPTIONAL_KEYS: tuple[str, ...] = ("layer_cycles", "layer_energy_pj", "feasible")
#: What a non-finite value becomes (the search also treats objectives >= this as failed).
NOT_FINITE = 1e30

#: ``fn(accelerator, layers, mappings) -> {"latency_cycles": ..., ...}``
CostFunction = Callable[[Accelerator, LayerTable, Sequence[LayerMapping]], Mapping[str, Any]]


def workload_table(workload: WorkloadTensors) -> LayerTable:
    """The `LayerTable` a `WorkloadTensors` stands for (names ``layer<i>``, ``vector<i>``).

    >>> import codesign
    >>> table = codesign.LayerTable.from_layers([Layer.gemm(M=2, K=3, N=4)] * 2)
    >>> back = workload_table(WorkloadTensors.from_table(table))
    >>> back.layers == table.layers, back.counts
    (True, (2,))
    """
    dims = workload.dims.tolist()
    strides, dilations = workload.stride.tolist(), workload.dilation.tolist()
    layers = tuple(Layer(*d, stride=tuple(s), dilation=tuple(dl), name=f"layer{i}")
                   for i, (d, s, dl) in enumerate(zip(dims, strides, dilations, strict=True)))
    vector_ops = tuple(
        VectorOp(name=f"vector{i}", op_type="vector", elements=0, bytes_in=0, bytes_out=0,
                 ops=int(ops), words=int(words))
        for i, (ops, words) in enumerate(zip(workload.vector_ops.tolist(),
                                             workload.vector_words.tolist(), strict=True)))
    return LayerTable(layers, tuple(int(c) for c in workload.counts.tolist()),
                      tuple((layer.name,) for layer in layers), vector_ops)


class FunctionCostModel:
    """Turn a per-design function into a `CostModel` by looping over the batch.

    ``fn``: see the module docstring for what it gets and returns. ``extra_objectives``:
    names of the added objectives ``fn`` returns (each a float per design); they become
    `CostResult.extra_objectives` and may be used as ``explore`` objectives and constraints.

    >>> def tiny(accelerator, layers, mappings):
    ...     macs = sum(c * layer.macs for layer, c in zip(layers.layers, layers.counts))
    ...     return {"latency_cycles": macs / accelerator.n_pes, "energy_pj": 1.0 * macs,
    ...             "area_mm2": 0.01 * accelerator.n_pes, "peak_power": 2.0}
    >>> model = FunctionCostModel(tiny, extra_objectives=("peak_power",))
    >>> from codesign import Accelerator, LayerTable
    >>> table = LayerTable.from_layers([Layer.gemm(M=4, K=4, N=4)])
    >>> hw = HardwareBatch.from_accelerators([Accelerator(pe_rows=4, pe_cols=4)])
    >>> m = LayerMapping.from_json({"temporal": {"DRAM": {"P": 4, "C": 4, "K": 4}}})
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     res = model.evaluate(hw, WorkloadTensors.from_table(table),
    ...                          MappingBatch.from_mappings([[m]]))
    >>> res.latency_cycles.tolist(), res.objectives()["peak_power"].tolist()
    ([4.0], [2.0])
    """

    def __init__(self, fn: CostFunction, extra_objectives: Sequence[str] = ()) -> None:
        if not callable(fn):
            raise ConfigError(f"FunctionCostModel: expected a function, got {fn!r}")
        extra = (extra_objectives,) if isinstance(extra_objectives, str) else extra_objectives
        names = tuple(str(n) for n in extra)
        clash = [n for n in names if n in DESIGN_OBJECTIVES or n in REQUIRED_KEYS
                 or n in _OPTIONAL_KEYS]
        if clash or len(set(names)) != len(names):
            raise ConfigError(f"FunctionCostModel: extra_objectives {list(names)} must be "
                              f"distinct and not reuse built-in names ({', '.join(clash)}); "
                              "rename them")
        self.fn = fn
        self.extra_objectives = names
        self._warned_slow = False

    def __repr__(self) -> str:
        name = getattr(self.fn, "__qualname__", repr(self.fn))
        return f"FunctionCostModel({name}, extra_objectives={self.extra_objectives!r})"

    def evaluate(self, hardware: HardwareBatch, workload: WorkloadTensors,
                 mappings: MappingBatch) -> CostResult:
        """Call ``fn`` once per design and stack the answers.

        Shape:
            hardware: ``[B]``; workload: ``[L]``; mappings: ``[B, L]``.
            returns: a `CostResult` on ``hardware``'s device, floats in its float dtype.
        """
        n_b = hardware.n_designs
        if not self._warned_slow:
            self._warned_slow = True
            warnings.warn(f"{self!r} costs designs one at a time in Python; expect it to be "
                          "much slower than a batched torch CostModel", stacklevel=2)
        table = workload_table(workload)
        per_design = mappings.to_mappings()                                   # [B][L]
        answers = [self._call(hardware.accelerator(b), table, tuple(per_design[b]), b)
                   for b in range(n_b)]
        return self._pack(answers, hardware, workload, table)

    # -- helpers ---------------------------------------------------------------------------
    def _call(self, accelerator: Accelerator, table: LayerTable,
              mappings: tuple[LayerMapping, ...], b: int) -> dict[str, Any]:
        out = self.fn(accelerator, table, mappings)
        where = f"{self!r}, design {b}"
        if not isinstance(out, Mapping):
            raise ConfigError(f"{where}: returned {type(out).__name__}; return a dict with "
                              f"{', '.join(REQUIRED_KEYS)}")
        expected = set(REQUIRED_KEYS) | set(self.extra_objectives)
        missing = sorted(expected - set(out))
        unknown = sorted(set(out) - expected - set(_OPTIONAL_KEYS))
        if missing or unknown:
            raise ConfigError(
                f"{where}: " + "; ".join(
                    ([f"missing keys {missing}"] if missing else [])
                    + ([f"unknown keys {unknown} (declare added objectives with "
                        "FunctionCostModel(fn, extra_objectives=(...)))"] if unknown else [])))
        n_l = len(table)
        for key in ("layer_cycles", "layer_energy_pj"):
            if key in out and len(out[key]) != n_l:
                raise ConfigError(f"{where}: {key} has {len(out[key])} values, expected one "
                                  f"per unique layer ({n_l})")
        return dict(out)

    def _pack(self, answers: list[dict[str, Any]], hardware: HardwareBatch,
              workload: WorkloadTensors, table: LayerTable) -> CostResult:
        device, dtype = hardware.glb_bw.device, hardware.glb_bw.dtype
        n_b, n_l = len(answers), len(table)
        macs = [float(layer.macs) for layer in table.layers]
        network_macs = sum(c * m for c, m in zip(table.counts, macs, strict=True)) or 1.0
        scalar_keys = (*REQUIRED_KEYS, *self.extra_objectives)
        scalars = [[_float(a[k]) for k in scalar_keys] for a in answers]      # [B, K]
        layer_cycles, layer_energy = [], []
        for a, row in zip(answers, scalars, strict=True):
            share = [m / network_macs for m in macs]
            layer_cycles.append([_float(v) for v in a["layer_cycles"]] if "layer_cycles" in a
                                else [row[0] * s for s in share])
            layer_energy.append([_float(v) for v in a["layer_energy_pj"]]
                                if "layer_energy_pj" in a else [row[1] * s for s in share])
        ok = [bool(a.get("feasible", True)) for a in answers]
        finite = [all(map(math.isfinite, row + lc + le))
                  for row, lc, le in zip(scalars, layer_cycles, layer_energy, strict=True)]
        bad = [b for b, f in enumerate(finite) if not f]
        if bad:
            warnings.warn(f"{self!r}: non-finite costs for designs {bad[:10]}"
                          f"{'...' if len(bad) > 10 else ''} of the batch; they are marked "
                          "infeasible", RuntimeWarning, stacklevel=3)

        def tensor(values: list) -> torch.Tensor:
            t = torch.tensor(values, dtype=dtype, device=device)
            return torch.where(torch.isfinite(t), t, torch.full_like(t, NOT_FINITE))

        s = tensor(scalars).reshape(n_b, len(scalar_keys))                   # [B, K]
        cycles = tensor(layer_cycles).reshape(n_b, n_l)                      # [B, L]
        energy = tensor(layer_energy).reshape(n_b, n_l)                      # [B, L]
        feasible_design = torch.tensor([o and f for o, f in zip(ok, finite, strict=True)],
                                       dtype=torch.bool, device=device)      # [B]
        feasible = feasible_design.unsqueeze(1).expand(n_b, n_l).clone()     # [B, L]
        n_pes = (hardware.pe_rows * hardware.pe_cols).to(dtype).unsqueeze(1)  # [B, 1]
        useful = workload.dims.prod(-1).to(device=device, dtype=dtype)       # [L]
        slots = cycles * n_pes                                               # [B, L]
        utilization = torch.where(slots > 0, useful / slots.clamp(min=1e-30),
                                  torch.zeros_like(slots)).clamp(max=1.0)
        # the core only: no bounds, accesses or energy parts are invented, so nothing
        # downstream calls such a model compute-bound or shows made-up traffic
        return CostResult(
            cycles=cycles, energy_pj=energy, feasible=feasible, area_mm2=s[:, 2],
            latency_cycles=s[:, 0], total_energy_pj=s[:, 1],
            feasible_design=feasible_design, clock_mhz=hardware.clock_mhz,
            utilization=utilization,
            extra_objectives={n: s[:, 3 + i] for i, n in enumerate(self.extra_objectives)},
        )


def _float(value: Any) -> float:
    """A Python float from a number, a numpy scalar or a one-element tensor."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"cost function returned {value!r} where a number was expected"
                          ) from None
