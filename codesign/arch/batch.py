"""`HardwareBatch`: B accelerator designs as tensors, the hardware input of a `CostModel`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import torch

from codesign.arch.accelerator import DATAFLOWS, RATE_FIELDS, SIZE_FIELDS, Accelerator, Dataflow
from codesign.workload.layer import DIM_INDEX, DIMS
from codesign.workload.tensors import move_tensors, take_designs

__all__ = ["HardwareBatch"]


@dataclass(frozen=True)
class HardwareBatch:
    """B accelerator designs as tensors: one field per numeric `HW_FIELDS` entry, in its order
    (a test pins that), then the dataflow as a mask and the systolic flag.

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
            **{k: ints(k) for k in SIZE_FIELDS}, **{k: floats(k) for k in RATE_FIELDS},
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
            **{k: int(getattr(self, k)[b]) for k in SIZE_FIELDS},
            **{k: float(getattr(self, k)[b]) for k in RATE_FIELDS},
            dataflow=dataflow, systolic=bool(self.systolic[b]), name=name)

    def repeat_interleave(self, n: int) -> HardwareBatch:
        """Every design ``n`` times in a row: design ``b`` at rows ``b*n .. b*n + n-1``
        (``[B * n]``), the layout candidate populations use."""
        return type(self)(**{f.name: getattr(self, f.name).repeat_interleave(n, dim=0)
                             for f in fields(self)})
