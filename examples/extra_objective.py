"""Add an objective to the analytical model, then search with it and constrain it.

The added objective is the peak DRAM bandwidth a design demands: over the layers, the
largest DRAM traffic per second that layer needs (words moved / its cycles x word bytes x
clock), in GB/s. A design that keeps DRAM quiet leaves bandwidth to the rest of the SoC.

How: subclass `AnalyticalCostModel`, name the objective in ``extra_objectives`` (so that
``explore`` accepts it up front), and return it in `CostResult.extra_objectives`. Then
``explore(objectives=(..., "peak_dram_gbps"), constraints={"peak_dram_gbps": limit})``.

Run: ``python examples/extra_objective.py [--quick] [--out DIR]``
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile

import codesign
from codesign import AnalyticalCostModel, CostResult, HardwareBatch, MappingBatch, WorkloadTensors

_DRAM = 2  # index of DRAM on the accesses' level axis (RF, GLB, DRAM)


class PeakDramBandwidth(AnalyticalCostModel):
    """The analytical model plus ``peak_dram_gbps``: ``[B]`` GB/s, the most any layer asks
    of DRAM while it runs (vector ops left out)."""

    extra_objectives = ("peak_dram_gbps",)

    def evaluate(self, hardware: HardwareBatch, workload: WorkloadTensors,
                 mappings: MappingBatch) -> CostResult:
        result = super().evaluate(hardware, workload, mappings)
        words = result.accesses[:, :, _DRAM].sum((-2, -1)).to(result.cycles.dtype)  # [B, L]
        words_per_cycle = words / result.cycles.clamp(min=1.0)                      # [B, L]
        bytes_per_s = (words_per_cycle * hardware.word_bits.unsqueeze(1) / 8
                       * hardware.clock_mhz.unsqueeze(1) * 1e6)                     # [B, L]
        peak = bytes_per_s.amax(-1) / 1e9                                           # [B]
        return dataclasses.replace(result, extra_objectives={
            **result.extra_objectives, "peak_dram_gbps": peak})


def small_cnn() -> codesign.LayerTable:
    """Three conv layers and a classifier, built in code (no ONNX file needed)."""
    return codesign.LayerTable.from_layers([
        codesign.Layer.conv(K=32, C=3, P=32, Q=32, R=3, S=3, name="conv1"),
        codesign.Layer.conv(K=64, C=32, P=16, Q=16, R=3, S=3, name="conv2"),
        codesign.Layer.conv(K=64, C=64, P=16, Q=16, R=3, S=3, name="conv3"),
        codesign.Layer.gemm(M=1, K=64 * 16 * 16, N=10, name="fc"),
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        default=bool(os.environ.get("CODESIGN_EXAMPLES_QUICK")),
                        help="tiny budget (what the tests run)")
    parser.add_argument("--out", help="output folder (default: a temporary one)")
    parser.add_argument("--limit-gbps", type=float, default=12.0,
                        help="constraint: peak DRAM bandwidth at most this many GB/s")
    args = parser.parse_args(argv)

    model = PeakDramBandwidth()
    space = codesign.DesignSpace(dram_bw=16.0)  # 16 words/cycle x 2 B x 1 GHz = 32 GB/s max
    budget = (dict(population=6, generations=2, mapper_candidates=4, mapper_steps=1)
              if args.quick else dict(population=24, generations=12))
    out = args.out or tempfile.mkdtemp(prefix="codesign-extra-objective-")
    result = codesign.explore(
        small_cnn(), space, objectives=("latency", "energy", "peak_dram_gbps"),
        constraints={"peak_dram_gbps": args.limit_gbps}, cost_model=model, out=out,
        plot=False, seed=0, **budget)

    print(f"{len(result.pareto)} Pareto designs (latency, energy, peak DRAM GB/s), every one "
          f"at most {args.limit_gbps} GB/s:")
    for row in result.rows():
        print(f"  {row['pe_rows']:>3}x{row['pe_cols']:<3} glb {row['glb_words']:>8} words  "
              f"{row['latency_s'] * 1e6:8.2f} us  {row['energy_j'] * 1e6:8.2f} uJ  "
              f"{row['peak_dram_gbps']:6.2f} GB/s")
        assert row["peak_dram_gbps"] <= args.limit_gbps * (1 + 1e-9)
    # the column is in pareto.csv too
    with open(os.path.join(out, "pareto.csv")) as f:
        assert "peak_dram_gbps" in f.readline()
    print(f"results in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
