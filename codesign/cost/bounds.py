"""Lower bounds on a layer's cycles and energy that no mapping can beat (DESIGN.md v1).

They depend on the layer and the hardware only, so ``actual / bound >= 1`` measures how far
a mapping is from what the design could possibly do (the *gap*), and which resource sets
the floor.

Derivation (every step is a row of the access table in DESIGN.md):

* Minimum words of each tensor: ``|W| = G K C R S``, ``|O| = N G K P Q`` and
  ``|I|min = N G C Hmin Wmin``. A level's traffic of a tensor is ``reloads x tile``, and
  ``reloads`` multiplies every relevant loop above the level with factor > 1, so the traffic
  is at least (product of the relevant factors above) x (tile footprint). For W and O this
  is at least the whole tensor. For inputs a tile of ``p`` output rows and ``r`` filter rows
  costs ``(p-1) stride + (r-1) dilation + 1`` rows and is repeated ``>= P/p x R/r`` times;
  that total is monotone in ``p`` and in ``r``, so its minimum is at a corner:
  ``Hmin = min(P R, R ((P-1) stride + 1), P ((R-1) dilation + 1), (P-1) stride +
  (R-1) dilation + 1)``, the bounding box unless a stride larger than the filter skips rows
  (then fetching row tiles separately is cheaper). Same for ``Wmin`` with Q, S.
* DRAM words ``>= |W| + |I|min + |O|`` (W and I read once, every output written once).
* GLB words ``>= 2 (|W| + |I|min + |O|)``: W and I are written from DRAM and read towards
  the array at least once each; every output is written (``updates_GLB >= |O|``) and read
  towards DRAM (``updates_DRAM >= |O|``) at least once.
* RF words ``>= 4 MACs + |W| + |I|min + |O|``: every useful MAC reads W, I and O from the RF
  and writes O (the ``useful MACs`` terms of the table), and each tensor is filled into
  the RFs at least once.
* Cycles ``>= max(MACs / (rows cols), GLB words / bw_glb, DRAM words / bw_dram)``: the
  compute cycles are the product of the temporal factors, at least ``MACs / PEs``; each
  bandwidth bound uses the minimum words above.
* Energy ``>= sum over levels of minimum words x energy per access + MACs x MAC energy +
  leakage over the minimum cycles``; every part of the model's energy is at least its part
  here (energy per access depends on the design only).

Padding (ceil-divided factors) only adds traffic and cycles, so the bounds hold for every
mapping, feasible or not.
"""

from __future__ import annotations

import torch

from codesign.arch.technology import Technology
from codesign.cost.energy import energy_per_access_pj, leakage_energy_pj, mac_energy_pj
from codesign.mapping.batch import HardwareBatch, WorkloadTensors
from codesign.workload.layer import DIM_INDEX

__all__ = ["BOUND_KEYS", "lower_bounds", "min_input_extent", "min_words"]

#: Keys of the dict `lower_bounds` returns, every value ``[B, L]``.
BOUND_KEYS: tuple[str, ...] = (
    "compute_cycles", "glb_cycles", "dram_cycles", "cycles",
    "rf_energy_pj", "glb_energy_pj", "dram_energy_pj", "mac_energy_pj", "leakage_energy_pj",
    "energy_pj",
)


def min_input_extent(p: torch.Tensor, r: torch.Tensor, stride: torch.Tensor,
                     dilation: torch.Tensor) -> torch.Tensor:
    """Fewest input rows any tiling of ``p`` output rows x ``r`` filter rows fetches in total.

    The minimum over the four corner tilings (one tile or single rows along each of P and R);
    the bounding box ``(p-1) stride + (r-1) dilation + 1`` unless a stride larger than the
    filter skips rows.

    Shape:
        all inputs broadcast together (e.g. ``[L]``); returns that shape, int64.

    >>> t = torch.tensor
    >>> min_input_extent(t([4, 4]), t([3, 1]), t([1, 2]), t([1, 1])).tolist()  # 6 = box; 4 rows
    [6, 4]
    """
    box = (p - 1) * stride + (r - 1) * dilation + 1
    per_p = p * ((r - 1) * dilation + 1)
    per_r = r * ((p - 1) * stride + 1)
    singles = p * r
    return torch.minimum(torch.minimum(box, per_p), torch.minimum(per_r, singles))


def min_words(workload: WorkloadTensors) -> torch.Tensor:
    """Fewest words of W, I and O that any mapping moves across a level: ``|W|``,
    ``|I|min`` (`min_input_extent` along H and W) and ``|O|``.

    Shape:
        returns ``[L, 3]`` int64 (W, I, O).
    """
    n, g, k, c, p, q, r, s = (workload.dims[:, DIM_INDEX[d]] for d in "NGKCPQRS")  # [L]
    h = min_input_extent(p, r, workload.stride[:, 0], workload.dilation[:, 0])
    w = min_input_extent(q, s, workload.stride[:, 1], workload.dilation[:, 1])
    return torch.stack((g * k * c * r * s, n * g * c * h * w, n * g * k * p * q), dim=-1)


def lower_bounds(hardware: HardwareBatch, workload: WorkloadTensors,
                 technology: Technology | None = None) -> dict[str, torch.Tensor]:
    """Per-layer lower bounds on cycles and energy of every design (see the module doc).

    ``cycles`` is the max of the three cycle bounds, ``energy_pj`` the sum of the five
    energy parts; each part bounds the model's part of the same name (`ENERGY_PARTS`).

    Shape:
        hardware: ``[B]``; workload: ``[L]``; returns `BOUND_KEYS` -> ``[B, L]`` float,
        in ``hardware``'s float dtype and device.

    >>> from codesign import Accelerator, Layer, LayerTable
    >>> hw = HardwareBatch.from_accelerators([Accelerator(pe_rows=4, pe_cols=4)])
    >>> wl = WorkloadTensors.from_table(LayerTable.from_layers([Layer.gemm(M=4, K=4, N=4)]))
    >>> b = lower_bounds(hw, wl)   # 64 MACs / 16 PEs; 48 DRAM words / 8 words per cycle
    >>> b["compute_cycles"].tolist(), b["dram_cycles"].tolist(), b["cycles"].tolist()
    ([[4.0]], [[6.0]], [[6.0]])
    """
    tech = technology if technology is not None else Technology.default()
    dtype = hardware.glb_bw.dtype
    words = min_words(workload).to(dtype).sum(-1)                         # [L]
    macs = workload.dims.prod(-1)                                         # [L]
    fmacs = macs.to(dtype)
    pes = (hardware.pe_rows * hardware.pe_cols).to(dtype)                 # [B]
    compute = fmacs / pes.unsqueeze(-1)                                   # [B, L]
    glb = 2 * words / hardware.glb_bw.unsqueeze(-1)                       # [B, L]
    dram = words / hardware.dram_bw.unsqueeze(-1)                         # [B, L]
    cycles = torch.maximum(torch.maximum(compute, glb), dram)             # [B, L]
    per_access = energy_per_access_pj(hardware, tech).to(dtype)           # [B, 3]
    level_words = torch.stack((4 * fmacs + words, 2 * words, words), dim=-1)  # [L, 3]
    level_pj = level_words * per_access.unsqueeze(1)                      # [B, L, 3]
    mac = mac_energy_pj(macs, hardware, tech).to(dtype)                   # [B, L]
    leak = leakage_energy_pj(cycles, hardware, tech).to(dtype)            # [B, L]
    return {
        "compute_cycles": compute, "glb_cycles": glb, "dram_cycles": dram, "cycles": cycles,
        "rf_energy_pj": level_pj[..., 0], "glb_energy_pj": level_pj[..., 1],
        "dram_energy_pj": level_pj[..., 2], "mac_energy_pj": mac, "leakage_energy_pj": leak,
        "energy_pj": level_pj.sum(-1) + mac + leak,
    }
