"""Throughput of the hierarchy cost model against the v1 analytical model, in one run.

    python benchmarks/bench_hierarchy.py                 # CPU, 16384 designs x 16 layers
    python benchmarks/bench_hierarchy.py --device cuda --designs 262144

Three models on the same workload (bench_cost_model's 16 ResNet-ish conv/gemm shapes) and
random ceil-padded mappings: the v1 `AnalyticalCostModel` (DRAM, GLB, array, RF), the
hierarchy model (`nest_cost`) on the same 4-level shape, and on an Eyeriss-like 6-level
hierarchy (DRAM, GLB, fan-outs 14 and 12, ifmap / weights / psum scratchpads). One
evaluation is one (design, layer, mapping) costed completely. Ratios are measured in one
run; the absolute figures move with the machine's load.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cost_model import LAYERS, random_population  # noqa: E402

from codesign import LayerTable  # noqa: E402
from codesign.cost.access_counts import soa_view  # noqa: E402
from codesign.cost.analytical import AnalyticalCostModel  # noqa: E402
from codesign.hierarchy import FanOut, Hierarchy, NestBatch, StorageLevel  # noqa: E402
from codesign.hierarchy.model import nest_cost  # noqa: E402
from codesign.mapping.batch import WorkloadTensors  # noqa: E402

V1_SHAPE = Hierarchy("v1-shape", (
    StorageLevel("DRAM", read_pj=200.0, fill_pj=200.0, update_pj=200.0, block_words=4),
    StorageLevel("GLB", capacity_words=1 << 16, read_bw=32.0, read_pj=6.0, fill_pj=6.0,
                 update_pj=6.0),
    FanOut("array", x=16, y=16),
    StorageLevel("RF", capacity_words=64, read_pj=0.5, fill_pj=0.5, update_pj=0.5)))
EYERISS_LIKE = Hierarchy("eyeriss-like", (
    StorageLevel("DRAM", read_pj=200.0, fill_pj=200.0, update_pj=200.0, block_words=8),
    StorageLevel("GLB", keeps=("I", "O"), capacity_words=1 << 17, read_bw=16.0,
                 write_bw=16.0, read_pj=18.0, fill_pj=14.0, update_pj=14.0, block_words=8),
    FanOut("columns", x=14), FanOut("rows", y=12),
    StorageLevel("ifmap_spad", keeps=("I",), capacity_words=12, read_pj=0.2, fill_pj=0.18),
    StorageLevel("weights_spad", keeps=("W",), capacity_words=192, read_pj=1.9, fill_pj=1.9),
    StorageLevel("psum_spad", keeps=("O",), capacity_words=16, read_pj=0.4, fill_pj=0.4,
                 update_pj=0.4)))


def random_nests(hierarchy: Hierarchy, dims: torch.Tensor, n_designs: int,
                 generator: torch.Generator, device) -> NestBatch:
    """Inner slots 1..4 per dim (at most the dim), the outermost takes the ceil rest."""
    n_l, n_f, n_m = dims.shape[0], len(hierarchy.slots), len(hierarchy.levels)
    inner = torch.randint(1, 5, (n_designs, n_l, n_f - 1, dims.shape[1]), generator=generator)
    inner = torch.minimum(inner, dims[None, :, None, :])
    outer = -(-dims // inner.prod(-2))
    factors = torch.cat([outer.unsqueeze(-2), inner], -2)
    order = torch.rand(n_designs, n_l, n_m, dims.shape[1], generator=generator).argsort(-1)
    # structure-of-arrays storage, as bench_cost_model gives the v1 model (soa_view), and
    # the hierarchy's own keep sets
    return NestBatch(soa_view(factors.to(device)), soa_view(order.to(device)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", type=int, default=16384)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    workload = WorkloadTensors.from_table(LayerTable.from_layers(LAYERS), device=device)
    gen = torch.Generator().manual_seed(0)
    hardware, mappings = random_population(args.designs, workload, gen, device, torch.int64)
    v1 = AnalyticalCostModel()
    stride, dilation = workload.stride, workload.dilation
    nests = {h.name: random_nests(h, workload.dims.cpu(), args.designs, gen, device)
             for h in (V1_SHAPE, EYERISS_LIKE)}
    runs = {
        "v1 AnalyticalCostModel": lambda: v1.evaluate(hardware, workload, mappings),
        "hierarchy, v1 shape (4 levels)": lambda: nest_cost(V1_SHAPE, nests["v1-shape"],
                                                            stride, dilation),
        "hierarchy, eyeriss-like (6 levels)": lambda: nest_cost(
            EYERISS_LIKE, nests["eyeriss-like"], stride, dilation),
    }
    n = args.designs * workload.n_layers
    rates = {}
    with torch.no_grad():
        for name, fn in runs.items():
            fn()
            best = float("inf")
            for _ in range(args.repeat):
                start = time.perf_counter()
                fn()
                if device.type == "cuda":
                    torch.cuda.synchronize()
                best = min(best, time.perf_counter() - start)
            rates[name] = n / best
    print(f"device={device} threads={torch.get_num_threads()} designs={args.designs} "
          f"layers={workload.n_layers} (best of {args.repeat})")
    base = rates["v1 AnalyticalCostModel"]
    for name, rate in rates.items():
        print(f"{name:36s} {rate / 1e6:7.3f} M evaluations/s  ({rate / base:.2f}x v1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
