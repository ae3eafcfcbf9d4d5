"""AlexNet CONV1-5 on the Eyeriss hierarchy preset against the chip's published figures.

    python benchmarks/validation/eyeriss_alexnet.py [--effort default|thorough] [--seed 0]
    python benchmarks/validation/eyeriss_alexnet.py --write-problems DIR

The same from the command line, on the Timeloop problem files the second form writes
(committed as ``benchmarks/validation/alexnet_conv_b4/``)::

    codesign map benchmarks/validation/alexnet_conv_b4 --arch eyeriss

Published (Y.-H. Chen, T. Krishna, J. Emer, V. Sze, "Eyeriss: An Energy-Efficient
Reconfigurable Accelerator for Deep Convolutional Neural Networks", JSSC 52(1), 2017):
CONV1-5 at batch 4, 200 MHz, in about 115 ms in total, with on average about 148 of the
168 PEs active. The layers are AlexNet's (227 x 227 input, CONV2/4/5 in two groups). The script
maps every layer with `codesign.hierarchy.mapper.map_hierarchy` (edp) and prints per layer
and in total: cycles, time at 200 MHz, the PEs a mapping uses (its fan-out factors) and
the utilisation of the 168 MACs (useful MACs / cycles / 168), then the published totals.
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from codesign.cost.levels import with_technology
from codesign.hierarchy.mapper import map_hierarchy
from codesign.hierarchy.presets import eyeriss
from codesign.workload.layer import Layer

BATCH = 4
LAYERS = [
    Layer.conv(K=96, C=3, P=55, Q=55, R=11, S=11, N=BATCH, stride=4, name="CONV1"),
    Layer.conv(K=128, C=48, P=27, Q=27, R=5, S=5, N=BATCH, G=2, name="CONV2"),
    Layer.conv(K=384, C=256, P=13, Q=13, R=3, S=3, N=BATCH, name="CONV3"),
    Layer.conv(K=192, C=192, P=13, Q=13, R=3, S=3, N=BATCH, G=2, name="CONV4"),
    Layer.conv(K=128, C=192, P=13, Q=13, R=3, S=3, N=BATCH, G=2, name="CONV5"),
]
#: JSSC 2017: CONV1-5 at batch 4 and 200 MHz, in total (ms), and the mean active PEs.
PUBLISHED_MS, PUBLISHED_PES = 115.0, 148


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--effort", default="default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write-problems", metavar="DIR",
                        help="write the layers as Timeloop v0.4 problem files to DIR, map nothing")
    args = parser.parse_args()
    if args.write_problems:
        from pathlib import Path

        from codesign.timeloop.writers import generate_problem, write_yaml

        folder = Path(args.write_problems)
        folder.mkdir(parents=True, exist_ok=True)
        for layer in LAYERS:
            write_yaml(folder / f"{layer.name}.yaml", generate_problem(layer))
        print(f"-> {folder}/CONV1-5.yaml")
        return
    torch.set_num_threads(1)
    h = with_technology(eyeriss())
    start = time.perf_counter()
    m = map_hierarchy(h, LAYERS, objective="edp", effort=args.effort, seed=args.seed)
    wall = time.perf_counter() - start
    print(f"mapped in {wall:.1f} s ({args.effort} effort, seed {args.seed})")
    print(f"{'layer':6} {'cycles':>12} {'ms':>7} {'PEs':>4} {'util':>5}")
    total_ms = 0.0
    pe_weighted = cycles_total = 0.0
    for layer, lm in zip(LAYERS, m.layers, strict=True):
        factors = lm.nest.to_json(h)["spatial"] if hasattr(lm.nest, "to_json") else {}
        pes = math.prod(v for axes in factors.values() for f in axes.values()
                        for v in f.values()) if factors else 0
        ms = lm.cycles / (h.clock_mhz * 1e3)
        util = layer.macs / lm.cycles / h.n_compute
        total_ms += ms
        pe_weighted += pes * lm.cycles
        cycles_total += lm.cycles
        print(f"{layer.name:6} {lm.cycles:12.4g} {ms:7.1f} {pes:4d} {util:5.2f}"
              + ("" if lm.feasible else "  (infeasible)"))
    print(f"total  {cycles_total:12.4g} {total_ms:7.1f} {pe_weighted / cycles_total:4.0f}"
          "   (PEs: mean weighted by each layer's cycles)")
    print(f"published: {PUBLISHED_MS:.0f} ms, {PUBLISHED_PES} PEs; ours / published: time "
          f"{total_ms / PUBLISHED_MS:.2f}x, PEs {pe_weighted / cycles_total / PUBLISHED_PES:.2f}x")


if __name__ == "__main__":
    main()
