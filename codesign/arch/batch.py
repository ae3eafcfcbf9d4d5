"""`HardwareBatch`: B accelerator designs as tensors, the hardware input of a `CostModel`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import torch

from codesign.arch.accelerator import Accelerator
from codesign.workload.layer import DIM_INDEX, DIMS
from codesign.workload.tensors import move_tensors

__all__ = ["HardwareBatch"]


@dataclass(frozen=True)
class HardwareBatch:
    """B accelerator designs as tensors.

    Shape:
        pe_rows, pe_cols, rf_words, glb_words, word_bits: ``[B]`` int64.
        glb_bw, dram_bw (words per cycle), clock_mhz: ``[B]`` float.
        spatial_allowed: ``[B, 2, D]`` bool: dim ``d`` may be unrolled over rows (0) / cols (1).
        systolic: ``[B]`` bool.
    """

    pe_rows: torch.Tensor
    pe_cols: torch.Tensor
    rf_words: torch.Tensor
    glb_words: torch.Tensor
    glb_bw: torch.Tensor
    dram_bw: torch.Tensor
    word_bits: torch.Tensor
    clock_mhz: torch.Tensor
    spatial_allowed: torch.Tensor
    systolic: torch.Tensor

    @classmethod
    def from_accelerators(cls, accelerators: Sequence[Accelerator],
                          device: torch.device | str | None = None,
                          dtype: torch.dtype = torch.float64) -> HardwareBatch:
        def ints(key):
            return torch.tensor([getattr(a, key) for a in accelerators], dtype=torch.int64,
                                device=device)

        def floats(key):
            return torch.tensor([float(getattr(a, key)) for a in accelerators], dtype=dtype,
                                device=device)

        allowed = torch.zeros(len(accelerators), 2, len(DIMS), dtype=torch.bool, device=device)
        for b, acc in enumerate(accelerators):
            for axis, dims in enumerate((acc.dataflow.rows, acc.dataflow.cols)):
                for d in dims:
                    allowed[b, axis, DIM_INDEX[d]] = True
        return cls(
            pe_rows=ints("pe_rows"), pe_cols=ints("pe_cols"), rf_words=ints("rf_words"),
            glb_words=ints("glb_words"), glb_bw=floats("glb_bw"), dram_bw=floats("dram_bw"),
            word_bits=ints("word_bits"), clock_mhz=floats("clock_mhz"),
            spatial_allowed=allowed,
            systolic=torch.tensor([a.systolic for a in accelerators], dtype=torch.bool,
                                  device=device),
        )

    @property
    def n_designs(self) -> int:
        return self.pe_rows.shape[0]

    def to(self, device=None, dtype=None) -> HardwareBatch:
        return move_tensors(self, device, dtype)

    def index_select(self, index: torch.Tensor) -> HardwareBatch:
        """Designs ``index`` (``[B']`` int64), in that order: a ``[B']`` batch."""
        return type(self)(**{f.name: getattr(self, f.name).index_select(0, index)
                             for f in fields(self)})

    def repeat_interleave(self, n: int) -> HardwareBatch:
        """Every design ``n`` times in a row: design ``b`` at rows ``b*n .. b*n + n-1``
        (``[B * n]``), the layout candidate populations use."""
        return type(self)(**{f.name: getattr(self, f.name).repeat_interleave(n, dim=0)
                             for f in fields(self)})
