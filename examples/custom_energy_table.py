"""Cost the global buffer with your own SRAM energy table, keeping the rest of the model.

The analytical model's SRAM energy per access is a smooth power law fitted through three
published points (docs/TECHNOLOGY.md). If you have numbers for your own memory compiler,
two ways in:

1. only the fitted constants change: ``Technology.default().replace(sram_ref_pj=...)``
   and ``AnalyticalCostModel(technology)`` (or a technology YAML in the design space);
2. the shape changes (a measured table): subclass `AnalyticalCostModel`, let it count
   accesses as usual, and re-price the GLB term from your table. That is what
   `TableSramModel` below does, batched over designs and layers (piecewise-linear in
   log2(capacity), flat beyond the table's ends).

The table here is illustrative, not measured: the per-64-bit-access energies of [H14]
(8 KB 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ) with one made-up point in between, to show a table
that the power law does not follow. Replace it with your own.

Run: ``python examples/custom_energy_table.py [--quick] [--out DIR]``
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile

import torch

import codesign
from codesign import AnalyticalCostModel, CostResult, HardwareBatch, MappingBatch, WorkloadTensors

_GLB = 1  # GLB on the level axes (RF, GLB, DRAM) of accesses and energy_parts_pj

#: SRAM capacity in bytes -> pJ per 64-bit access (illustrative, see the module docstring)
SRAM_TABLE_PJ_PER_64B: dict[int, float] = {
    8 * 1024: 10.0,
    32 * 1024: 20.0,
    256 * 1024: 70.0,      # made up: a banked macro that is costlier than the fit
    1024 * 1024: 100.0,
}


def table_lookup(size_bytes: torch.Tensor, table: dict[int, float]) -> torch.Tensor:
    """Piecewise-linear interpolation in log2(size), clamped to the table's ends.

    Shape:
        size_bytes: ``[B]``; returns ``[B]`` in its float dtype.
    """
    dtype = size_bytes.dtype if size_bytes.is_floating_point() else torch.float64
    xs = torch.tensor([float(k) for k in sorted(table)], dtype=dtype,
                      device=size_bytes.device).log2()
    ys = torch.tensor([table[k] for k in sorted(table)], dtype=dtype, device=size_bytes.device)
    x = size_bytes.to(dtype).log2().clamp(xs[0], xs[-1])                 # [B]
    i = torch.searchsorted(xs, x, right=True).clamp(1, len(xs) - 1)      # [B]
    w = (x - xs[i - 1]) / (xs[i] - xs[i - 1])
    return ys[i - 1] + w * (ys[i] - ys[i - 1])


class TableSramModel(AnalyticalCostModel):
    """The analytical model with GLB energy per access from `SRAM_TABLE_PJ_PER_64B`."""

    def __init__(self, table: dict[int, float] | None = None, technology=None) -> None:
        super().__init__(technology)
        self.table = dict(table or SRAM_TABLE_PJ_PER_64B)

    def evaluate(self, hardware: HardwareBatch, workload: WorkloadTensors,
                 mappings: MappingBatch) -> CostResult:
        result = super().evaluate(hardware, workload, mappings)
        dtype = result.energy_pj.dtype
        size_bytes = hardware.glb_words.to(dtype) * hardware.word_bits.to(dtype) / 8     # [B]
        pj_per_word = (table_lookup(size_bytes, self.table)
                       * hardware.word_bits.to(dtype) / 64)                            # [B]
        glb_accesses = result.accesses[:, :, _GLB].sum((-2, -1)).to(dtype)              # [B, L]
        parts = result.energy_parts_pj.clone()
        parts[:, :, _GLB] = glb_accesses * pj_per_word.unsqueeze(1)                    # [B, L]
        energy = parts.sum(-1)                                                         # [B, L]
        counts = workload.counts.to(dtype)                                             # [L]
        return dataclasses.replace(
            result, energy_parts_pj=parts, energy_pj=energy,
            total_energy_pj=(energy * counts).sum(-1) + result.vector_energy_pj)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        default=bool(os.environ.get("CODESIGN_EXAMPLES_QUICK")),
                        help="tiny budget (what the tests run)")
    parser.add_argument("--out", help="output folder (default: a temporary one)")
    args = parser.parse_args(argv)

    # 1. one layer, one mapping, two GLB sizes: the table changes only the GLB energy
    layer = codesign.Layer.conv(K=64, C=64, P=14, Q=14, R=3, S=3, name="conv")
    table = codesign.LayerTable.from_layers([layer])
    mapping = codesign.Mapping.from_json({
        "spatial": {"rows": {"C": 16}, "cols": {"K": 16}},
        "temporal": {"RF": {"R": 3, "S": 3}, "GLB": {"P": 14, "Q": 14, "C": 4},
                     "DRAM": {"K": 4}},
        "order": {"RF": ["R", "S"], "GLB": ["C", "P", "Q"], "DRAM": ["K"]}})
    designs = [codesign.Accelerator(glb_words=words) for words in (16 * 1024, 128 * 1024)]
    hw = HardwareBatch.from_accelerators(designs)
    wl = WorkloadTensors.from_table(table)
    mb = MappingBatch.from_mappings([[mapping]] * len(designs))
    base = AnalyticalCostModel().evaluate(hw, wl, mb)
    mine = TableSramModel().evaluate(hw, wl, mb)
    print("GLB words  GLB energy fitted -> table (uJ)   total (uJ)")
    for b, acc in enumerate(designs):
        print(f"{acc.glb_words:>9}  {base.energy_parts_pj[b, 0, _GLB] * 1e-6:8.3f} -> "
              f"{mine.energy_parts_pj[b, 0, _GLB] * 1e-6:8.3f}        "
              f"{base.total_energy_pj[b] * 1e-6:8.3f} -> {mine.total_energy_pj[b] * 1e-6:8.3f}")
    same = [0, 2, 3, 4]  # RF, DRAM, MAC, leakage are untouched
    assert torch.equal(base.energy_parts_pj[..., same], mine.energy_parts_pj[..., same])
    assert torch.equal(base.latency_cycles, mine.latency_cycles)

    # 2. explore with it: the search sees the new GLB prices
    budget = (dict(population=6, generations=2, mapper_candidates=4, mapper_steps=1)
              if args.quick else dict(population=24, generations=12))
    out = args.out or tempfile.mkdtemp(prefix="codesign-custom-energy-")
    result = codesign.explore(table, objectives=("latency", "energy"),
                              cost_model=TableSramModel(), out=out, plot=False, **budget)
    best = min(result.rows(), key=lambda r: r["energy_j"])
    print(f"{len(result.pareto)} Pareto designs; lowest energy {best['energy_j'] * 1e6:.3f} uJ "
          f"with a {best['glb_words']}-word GLB; results in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
