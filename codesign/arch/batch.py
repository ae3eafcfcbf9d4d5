"""`HardwareBatch`: B accelerator designs as tensors, the hardware input of a `CostModel`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import torch

from codesign.arch.accelerator import DATAFLOWS, Accelerator, Dataflow
from codesign.workload.layer import DIM_INDEX, DIMS
from codesign.workload.tensors import move_tensors, take_designs

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
        return take_designs(self, index)

    def accelerator(self, b: int, name: str = "") -> Accelerator:
        """Design ``b`` as a plain `Accelerator` (for per-design Python code such as
        `FunctionCostModel`; reads the tensors back to the host). The dataflow is the preset
        with the same allowed dims, else a ``custom`` one.

        >>> hw = HardwareBatch.from_accelerators([Accelerator(pe_rows=8, dataflow="ws")])
        >>> acc = hw.accelerator(0)
        >>> acc.pe_rows, acc.dataflow.name
        (8, 'ws')
        """
        allowed = self.spatial_allowed[b].tolist()  # [2, D]
        rows = tuple(d for d, ok in zip(DIMS, allowed[0], strict=True) if ok)
        cols = tuple(d for d, ok in zip(DIMS, allowed[1], strict=True) if ok)
        dataflow = next((df for df in DATAFLOWS.values() if (df.rows, df.cols) == (rows, cols)),
                        None) or Dataflow("custom", rows, cols)
        return Accelerator(
            pe_rows=int(self.pe_rows[b]), pe_cols=int(self.pe_cols[b]),
            rf_words=int(self.rf_words[b]), glb_words=int(self.glb_words[b]),
            glb_bw=float(self.glb_bw[b]), dram_bw=float(self.dram_bw[b]),
            word_bits=int(self.word_bits[b]), clock_mhz=float(self.clock_mhz[b]),
            dataflow=dataflow, systolic=bool(self.systolic[b]), name=name)

    def repeat_interleave(self, n: int) -> HardwareBatch:
        """Every design ``n`` times in a row: design ``b`` at rows ``b*n .. b*n + n-1``
        (``[B * n]``), the layout candidate populations use."""
        return type(self)(**{f.name: getattr(self, f.name).repeat_interleave(n, dim=0)
                             for f in fields(self)})
