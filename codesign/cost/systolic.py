"""Compute cycles of a systolic array: every fold of the array pays a pipeline fill and drain.

The v1 roofline counts one cycle per temporal step. A systolic array (``hardware.systolic``)
also spends, every time its stationary operand is swapped (a *fold*), cycles to shift the
new stationary data in and to fill and drain the skewed pipeline. Derived from SCALE-Sim
v3's cycle accounting (``scalesim/compute/systolic_compute_{ws,os,is}.py``: the demand
matrices of one fold have ``T + 2*rows + cols - 2`` lines for ws and is, ``T + rows + cols -
2`` for os) and checked against it in ``tests/validation/test_scalesim_agreement.py``::

    cycles = folds * (T + rows + cols - 2 + preload)        preload = rows for W or I
                                                           stationary, 0 for O stationary

* The stationary tensor is the one relevant to every dim the dataflow may unroll (ws: W,
  os: O, is: I). For a dataflow without one (``flexible``) it is a tensor relevant to every
  dim the mapping unrolls, whichever costs fewer cycles; a mapping for which no tensor is
  relevant to all its unrolled dims has nothing stationary and refills every step.
* ``folds`` = how often the stationary tensor's RF tiles are refilled (`reloads` of
  DESIGN.md, over the GLB and DRAM loops), so a loop order that swaps the stationary data
  inside the streaming loops pays a fill and drain each time. ``T`` = steps per fold.
* ``flatten=True`` (the default) packs the dims unrolled on one array axis as one flattened
  GEMM axis, as SCALE-Sim and im2col-lowering arrays do: rows <- C, R, S of a 3x3 conv with
  C = 3 take ``ceil(3*3*3 / rows)`` folds, not ``ceil(3 / r_C) * ceil(3 / r_R) * ...``,
  using the whole axis whatever the per-dim factors (which still set the access counts). The
  covered dims' temporal iterations shrink by ``ceil(prod D / pe) / prod(temporal factors)``
  (never grow), in the compute steps (all temporal levels) and in the folds (GLB and DRAM
  loops; RF factors of a covered dim stay inside the PE). A dim unrolled on both axes
  disables flattening for that mapping. ``flatten=False`` keeps the per-dim view.

With ``hardware.systolic`` False the v1 compute cycles (`latency.compute_cycles`) come back
unchanged.
"""

from __future__ import annotations

import torch

from codesign.cost.access_counts import relevance, reloads
from codesign.cost.latency import compute_cycles
from codesign.mapping.batch import HardwareBatch

__all__ = ["systolic_compute_cycles", "systolic_overhead_cycles"]

_DRAM, _GLB, _ROWS, _COLS, _RF = range(5)
#: Whether a stationary W, I, O is shifted in over the rows before a fold streams (SCALE-Sim:
#: weights (ws) and inputs (is) are preloaded; outputs (os) start at zero in place).
_PRELOAD = (True, True, False)


def systolic_overhead_cycles(hardware: HardwareBatch) -> torch.Tensor:
    """Fill and drain cycles per fold for each stationary tensor: ``rows + cols - 2``, plus
    ``rows`` to preload a stationary W or I.

    Shape:
        returns: ``[B, T]`` (T = W, I, O) in ``hardware``'s float dtype.

    >>> from codesign import Accelerator
    >>> hw = HardwareBatch.from_accelerators([Accelerator(pe_rows=4, pe_cols=8)])
    >>> systolic_overhead_cycles(hw).tolist()
    [[14.0, 14.0, 10.0]]
    """
    dtype = hardware.glb_bw.dtype
    rows = hardware.pe_rows.to(dtype).unsqueeze(-1)                        # [B, 1]
    cols = hardware.pe_cols.to(dtype).unsqueeze(-1)                        # [B, 1]
    preload = torch.tensor(_PRELOAD, dtype=dtype, device=rows.device)     # [T]
    return rows + cols - 2 + preload * rows                               # [B, T]


def _dim_masks(flags: torch.Tensor) -> torch.Tensor:
    """Bool ``[..., D]`` as int64 bit masks ``[...]`` (bit d = dim d), so that subset tests
    and per-subset lookups over the 8 dims are one op. (A float matmul: exact below 2**24.)"""
    bits = torch.tensor([float(1 << d) for d in range(flags.shape[-1])], device=flags.device)
    return (flags.to(torch.float32) @ bits).to(torch.int64)


def _subset_products(dims: torch.Tensor) -> torch.Tensor:
    """``[L, 2**D]``: the product of the dims in each subset (bit mask) of every layer."""
    n_dims = dims.shape[-1]
    subsets = torch.arange(1 << n_dims, device=dims.device)                # [S]
    member = (subsets.unsqueeze(-1) >> torch.arange(n_dims, device=dims.device)) & 1  # [S, D]
    return torch.where(member.bool(), dims.unsqueeze(-2), 1).prod(-1)     # [L, S]


def _per_axis(factors: torch.Tensor, unrolled: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per array axis: the unrolled dims as a bit mask, and the product of their temporal
    factors over the GLB and DRAM loops (folds) and over every level (steps).

    A loop over the 8 dims on ``[B, L]`` vectors (contiguous in the cost model's
    structure-of-arrays layout), which is much faster there than masked products over D.

    Shape:
        factors: ``[B, L, F, D]``; unrolled: ``[B, L, 2, D]`` bool (rows, cols);
        returns: masks ``[B, L, 2]`` int64, folds and steps ``[B, L, 2]`` (factors' dtype).
    """
    masks, folds, steps = [0, 0], [1, 1], [1, 1]
    for d in range(factors.shape[-1]):
        outer = factors[..., _DRAM, d] * factors[..., _GLB, d]            # [B, L]
        every = outer * factors[..., _RF, d]                              # [B, L]
        for axis in (0, 1):
            u = unrolled[..., axis, d]                                    # [B, L]
            masks[axis] = masks[axis] + torch.where(u, 1 << d, 0)
            folds[axis] = folds[axis] * torch.where(u, outer, 1)
            steps[axis] = steps[axis] * torch.where(u, every, 1)
    return torch.stack(masks, -1), torch.stack(folds, -1), torch.stack(steps, -1)


def _flatten_ratios(masks: torch.Tensor, folds_per_dim: torch.Tensor,
                    steps_per_dim: torch.Tensor, dims: torch.Tensor, hardware: HardwareBatch,
                    dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """How much packing each axis's unrolled dims as one flattened axis shrinks the compute
    steps and the folds (both ``<= 1``; 1 where nothing is gained).

    Shape:
        masks, folds_per_dim, steps_per_dim: ``[B, L, 2]`` from `_per_axis`;
        dims: ``[L, D]``; returns two ``[B, L]``.
    """
    table = _subset_products(dims)                                        # [L, S]
    extent = table.unsqueeze(0).expand(masks.shape[0], -1, -1).gather(-1, masks)  # [B, L, 2]
    pe = torch.stack((hardware.pe_rows, hardware.pe_cols), -1).to(dtype)  # [B, 2]
    # exact for integers below 2**53; float (even grad-carrying) array sizes work too
    packed = torch.ceil(extent.to(dtype) / pe.unsqueeze(1))               # [B, L, 2]
    r_steps = (packed / steps_per_dim.to(dtype)).clamp(max=1).prod(-1)   # [B, L]
    r_folds = (packed / folds_per_dim.to(dtype)).clamp(max=1).prod(-1)   # [B, L]
    on_both = (masks[..., 0] & masks[..., 1]) != 0                        # [B, L]
    return torch.where(on_both, 1, r_steps), torch.where(on_both, 1, r_folds)


def systolic_compute_cycles(factors: torch.Tensor, dims: torch.Tensor, hardware: HardwareBatch,
                            order: torch.Tensor, *, flatten: bool = True,
                            reload: torch.Tensor | None = None) -> torch.Tensor:
    """Compute cycles with the fill and drain of every fold where ``hardware.systolic``;
    the v1 product of temporal factors elsewhere (see the module docstring for the model).

    Pure and batched; differentiable in float ``factors`` (the flattened packing depends on
    the layer dims only, so it has no gradient of its own).

    Shape:
        factors: ``[B, L, F, D]`` (DRAM, GLB, rows, cols, RF); dims: ``[L, D]``;
        order: ``[B, L, M, D]`` loop orders outer -> inner (DRAM, GLB, RF);
        reload: optional ``[B, L, 2, T]`` `reloads(factors, order)` when the caller has it;
        returns: ``[B, L]`` in ``hardware``'s float dtype.

    A 4 x 4 x 4 GEMM, weight-stationary on a 2 x 2 array: 2 x 2 folds of ``C`` and ``K``,
    each streaming the 4 rows of ``P`` plus ``2*2 + 2 - 2 = 4`` fill and drain cycles:

    >>> from codesign import Accelerator, Layer, LayerTable, Mapping, MappingBatch
    >>> from codesign import WorkloadTensors
    >>> m = Mapping.from_json({"spatial": {"rows": {"C": 2}, "cols": {"K": 2}},
    ...                        "temporal": {"GLB": {"K": 2, "C": 2, "P": 4}},
    ...                        "order": {"GLB": ["K", "C", "P"]}})
    >>> wl = WorkloadTensors.from_table(LayerTable.from_layers([Layer.gemm(M=4, K=4, N=4)]))
    >>> mb = MappingBatch.from_mappings([[m], [m]])
    >>> hw = HardwareBatch.from_accelerators([
    ...     Accelerator(pe_rows=2, pe_cols=2, dataflow="ws", systolic=True),
    ...     Accelerator(pe_rows=2, pe_cols=2, dataflow="ws", systolic=False)])
    >>> systolic_compute_cycles(mb.factors, wl.dims, hw, mb.order).tolist()
    [[32.0], [16.0]]
    """
    v1 = compute_cycles(factors, hardware)                                # [B, L]
    dtype = v1.dtype
    unrolled = factors[..., _ROWS:_COLS + 1, :] > 1                       # [B, L, 2, D]
    masks, folds_per_dim, steps_per_dim = _per_axis(factors, unrolled)    # [B, L, 2] each
    if flatten:
        r_steps, r_folds = _flatten_ratios(masks, folds_per_dim, steps_per_dim, dims,
                                           hardware, dtype)
    else:
        r_steps = r_folds = torch.ones_like(v1)
    steps = v1 * r_steps                                                  # [B, L]
    rel = relevance(factors.device)                                       # [T, D]
    if reload is None:
        reload = reloads(factors, order)                                  # [B, L, 2, T]
    refills = reload[..., 0, :].to(dtype)                                 # [B, L, T]
    folds = torch.minimum((refills * r_folds.unsqueeze(-1)).clamp(min=1),
                          steps.unsqueeze(-1))                            # [B, L, T]
    overhead = systolic_overhead_cycles(hardware)                         # [B, T]
    per_tensor = steps.unsqueeze(-1) + folds * overhead.unsqueeze(1)      # [B, L, T]

    # t qualifies when it is relevant to every dim unrolled (or allowed): subset tests
    irrelevant = _dim_masks(~rel)                                         # [T]
    used = masks[..., 0] | masks[..., 1]                                  # [B, L]
    fits_mapping = (used.unsqueeze(-1) & irrelevant) == 0                 # [B, L, T]
    allowed = _dim_masks(hardware.spatial_allowed.any(-2))                # [B]
    fits_dataflow = (allowed.unsqueeze(-1) & irrelevant) == 0             # [B, T]
    fixed = fits_dataflow.any(-1, keepdim=True).unsqueeze(-1)             # [B, 1, 1]
    candidate = torch.where(fixed, fits_dataflow.unsqueeze(1), fits_mapping)  # [B, L, T]

    inf = torch.tensor(float("inf"), dtype=dtype, device=v1.device)
    best = torch.where(candidate, per_tensor, inf).amin(-1)              # [B, L]
    every_step = steps * (1 + overhead[:, 2:3])                           # [B, L]
    systolic = torch.where(candidate.any(-1), best, every_step)           # [B, L]
    return torch.where(hardware.systolic.unsqueeze(-1), systolic, v1)
