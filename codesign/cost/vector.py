"""Cost of the vector (non-MAC) ops of a workload: activations, pooling, softmax, norms, adds.

The model, for each vector op ``v`` (``ops[v]`` arithmetic operations, ``words[v]`` words
moved from and to DRAM) on each design ``b``:

1. **Where it runs.** A vector unit of ``pe_cols`` lanes, one op per lane per cycle. It sits
   at the array's output edge (where a row of ``pe_cols`` results leaves the array each
   cycle, as TPU's activation unit, Simba's post-processing unit or NVDLA's SDP do); the PE
   array itself is not used, so the MAC layers' mappings are unaffected.
2. **Where the data lives.** ``words[v]`` (`codesign.workload.layer.VectorOp.words`, one
   word per element as for MAC layers) stream from/to DRAM through the GLB. Element-wise
   ops fused into their producer's output stream (`codesign.workload.fusion`) move only
   their other operands; views (Reshape, ...) move nothing; every other op reads all its
   inputs and writes its outputs (no reuse between standalone ops).
3. **Cycles.** Compute and transfer overlap (double buffering):
   ``cycles[v] = max(ops[v] / pe_cols, words[v] / dram_bw)``; ops run one after another and
   after the layer they are fused into (not overlapped with it: an upper bound), so the
   design's vector cycles are ``sum_v cycles[v]``. A pure data-movement op (transpose,
   concat: ``ops = 0``) still costs its transfer time.
4. **Energy.** Each arithmetic op costs one MAC of ``word_bits`` bits (`mac_pj`; ops that are
   dearer, e.g. exp or divide, are counted as several ops by the importer), and each word
   one DRAM access plus one GLB access:
   ``energy[v] = ops[v] x mac_pj + words[v] x (dram_pj + glb_pj(glb_words))``.
   Leakage during vector cycles is not included here (the caller may add it with
   `leakage_energy_pj` on the returned cycles).
"""

from __future__ import annotations

import torch

from codesign.arch.technology import Technology
from codesign.cost.energy import dram_access_pj, glb_access_pj, mac_pj
from codesign.mapping.batch import HardwareBatch, WorkloadTensors

__all__ = ["vector_cost"]


def vector_cost(hardware: HardwareBatch, workload: WorkloadTensors, tech: Technology
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Cycles and energy of all vector ops of ``workload`` on each design (module docstring).

    Shape:
        hardware: ``B`` designs; workload.vector_ops, workload.vector_words: ``[V]``.
        returns ``(cycles [B], energy_pj [B])``, dtype of ``hardware``'s float fields;
        zeros when ``V = 0``.

    >>> from codesign.arch.accelerator import Accelerator
    >>> from codesign.workload.layer import LayerTable, VectorOp
    >>> relu = VectorOp("relu", "Relu", elements=64, bytes_in=128, bytes_out=128, ops=64,
    ...                 words=128)
    >>> wl = WorkloadTensors.from_table(LayerTable.from_layers([], [relu]))
    >>> hw = HardwareBatch.from_accelerators([Accelerator(pe_cols=16, dram_bw=8.0)])
    >>> cycles, _ = vector_cost(hw, wl, Technology.default())
    >>> float(cycles[0])   # max(64 ops / 16 lanes, 128 words / 8 words per cycle)
    16.0
    """
    dtype = hardware.glb_bw.dtype
    ops = workload.vector_ops.to(dtype)  # [V]
    words = workload.vector_words.to(dtype)  # [V]
    lanes = hardware.pe_cols.to(dtype).unsqueeze(-1)  # [B, 1]
    dram_bw = hardware.dram_bw.to(dtype).unsqueeze(-1)  # [B, 1]
    cycles = torch.maximum(ops / lanes, words / dram_bw).sum(dim=-1)  # [B]
    per_word = (dram_access_pj(hardware.word_bits, tech, dtype)
                + glb_access_pj(hardware.glb_words, hardware.word_bits, tech, dtype))  # [B]
    energy = (ops.sum() * mac_pj(hardware.word_bits, tech, dtype)
              + words.sum() * per_word)  # [B]
    return cycles, energy
