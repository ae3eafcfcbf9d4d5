"""Throughput of the batched analytical cost model: layer-mapping evaluations per second.

    python benchmarks/bench_cost_model.py                      # CPU, int64 counts
    python benchmarks/bench_cost_model.py --dtype float32      # fp32 counts and floats
    python benchmarks/bench_cost_model.py --device cuda --designs 262144

One evaluation is one (design, layer, mapping) triple costed completely: access counts,
cycles and bounds, capacity and feasibility, energy by level, area, network totals. The
workload is a ResNet-ish set of 16 conv/gemm shapes; mappings are random ceil-padded
factorizations with random loop orders (a typical search population).
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from codesign import Accelerator, Layer, LayerTable
from codesign.cost.access_counts import soa_view
from codesign.cost.analytical import AnalyticalCostModel
from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors

LAYERS = [
    Layer.conv(K=64, C=3, P=112, Q=112, R=7, S=7, stride=2),
    Layer.conv(K=64, C=64, P=56, Q=56, R=3, S=3),
    Layer.conv(K=64, C=64, P=56, Q=56),
    Layer.conv(K=256, C=64, P=56, Q=56),
    Layer.conv(K=128, C=128, P=28, Q=28, R=3, S=3),
    Layer.conv(K=128, C=256, P=28, Q=28, stride=2),
    Layer.conv(K=512, C=128, P=28, Q=28),
    Layer.conv(K=256, C=256, P=14, Q=14, R=3, S=3),
    Layer.conv(K=1024, C=256, P=14, Q=14),
    Layer.conv(K=512, C=512, P=7, Q=7, R=3, S=3),
    Layer.conv(K=2048, C=512, P=7, Q=7),
    Layer.depthwise(channels=144, P=56, Q=56, R=3, S=3),
    Layer.depthwise(channels=960, P=7, Q=7, R=3, S=3, dilation=2),
    Layer.gemm(M=128, K=768, N=768),
    Layer.gemm(M=128, K=768, N=3072),
    Layer.gemm(M=128, K=64, N=128, batch=12),
]


def random_population(n_designs: int, workload: WorkloadTensors, generator: torch.Generator,
                      device: torch.device, dtype: torch.dtype, layout: str = "soa"
                      ) -> tuple[HardwareBatch, MappingBatch]:
    """Random designs (varied array, buffers, bandwidths) and random per-layer mappings.

    ``layout="soa"`` stores factors and orders as ``[F, D, B, L]`` (`soa_view`), as a batched
    mapping decoder can produce them; ``"aos"`` is plain ``[B, L, F, D]`` (the model then
    transposes once per call).
    """
    accs = [Accelerator(pe_rows=r, pe_cols=c, rf_words=rf, glb_words=g, glb_bw=bw)
            for r, c, rf, g, bw in [(16, 16, 64, 1 << 16, 32.0), (32, 8, 128, 1 << 18, 64.0),
                                    (8, 64, 32, 1 << 15, 16.0), (64, 64, 256, 1 << 20, 128.0)]]
    picks = torch.randint(len(accs), (n_designs,), generator=generator).tolist()
    hardware = HardwareBatch.from_accelerators([accs[i] for i in picks]).to(device)
    n_layers = workload.n_layers
    dims = workload.dims.cpu()                                             # [L, D]
    inner = torch.randint(1, 5, (n_designs, n_layers, 4, 8), generator=generator)
    inner = torch.minimum(inner, dims[None, :, None, :])                   # [B, L, 4, D]
    dram = -(-dims // inner.prod(-2))                                      # [B, L, D] ceil
    factors = torch.cat([dram.unsqueeze(-2), inner], dim=-2)               # DRAM first
    order = torch.rand(n_designs, n_layers, 3, 8, generator=generator).argsort(-1)
    factors = factors.to(device)
    if dtype.is_floating_point:
        factors = factors.to(dtype)
        hardware = hardware.to(dtype=dtype)
    order = order.to(device)
    if layout == "soa":
        factors, order = soa_view(factors), soa_view(order)
    return hardware, MappingBatch(factors=factors, order=order)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", type=int, default=65536, help="designs per call (B)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", choices=("int64", "float32", "float64"), default="int64",
                        help="int64: exact counts, float64 cycles/energy; float32: all fp32")
    parser.add_argument("--layout", choices=("soa", "aos"), default="soa",
                        help="storage of the mapping tensors (see random_population)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    dtype = getattr(torch, args.dtype)
    table = LayerTable.from_layers(LAYERS)
    workload = WorkloadTensors.from_table(table, device=device)
    hardware, mappings = random_population(args.designs, workload,
                                           torch.Generator().manual_seed(0), device, dtype,
                                           args.layout)
    evaluate = AnalyticalCostModel(compiled=args.compile).evaluate

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    with torch.no_grad():
        start = time.perf_counter()
        result = evaluate(hardware, workload, mappings)   # warm-up (and compile)
        sync()
        first = time.perf_counter() - start
        times, cpu_times = [], []
        for _ in range(args.repeat):
            start, cpu_start = time.perf_counter(), time.process_time()
            result = evaluate(hardware, workload, mappings)
            sync()
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
    n = args.designs * workload.n_layers
    best = min(times)
    print(f"device={device} dtype={args.dtype} layout={args.layout} compile={args.compile} "
          f"threads={torch.get_num_threads()} designs={args.designs} layers={workload.n_layers}")
    print(f"first call {first:.3f} s; best of {args.repeat}: {best:.4f} s "
          f"(median {sorted(times)[len(times) // 2]:.4f} s)")
    print(f"{n / best / 1e6:.2f} M layer-mapping evaluations/s "
          f"(feasible share {result.feasible.float().mean():.3f})")
    # CPU seconds used by this process: less sensitive to other jobs sharing the cores.
    print(f"{n / min(cpu_times) / 1e6:.2f} M evaluations per CPU-second "
          f"(x{torch.get_num_threads()} threads = "
          f"{n / min(cpu_times) * torch.get_num_threads() / 1e6:.2f} M/s if the cores were free)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
