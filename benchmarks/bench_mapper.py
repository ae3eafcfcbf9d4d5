"""Wall time of `codesign map`'s mapper: a whole model on one fixed design.

    python benchmarks/bench_mapper.py                          # ResNet-50 on simba, CPU
    python benchmarks/bench_mapper.py --device cuda            # the same on a GPU
    python benchmarks/bench_mapper.py --effort thorough --arch eyeriss

Times `map_layers` (the batched search plus the final costing and the conversion to plain
`Mapping` objects), excluding the ONNX import. The first run is reported separately (it
builds the prime-factor table and warms torch up); the others give min and median. Also
prints the network latency and energy found, so effort settings can be compared, and the
process CPU time, which shows how much of the wall time was waiting for a shared core.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

from codesign.arch.presets import resolve_accelerator
from codesign.device import resolve_device
from codesign.search.mapper import EFFORTS, map_layers
from codesign.workload.table import load_onnx

MODELS = Path(__file__).resolve().parents[1] / "models"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(MODELS / "resnet50.onnx"))
    parser.add_argument("--arch", default="simba", help="preset name or YAML file")
    parser.add_argument("--device", default="cpu", help="auto, cpu or cuda")
    parser.add_argument("--effort", choices=tuple(EFFORTS), default="default")
    parser.add_argument("--objective", choices=("edp", "latency", "energy"), default="edp")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads during the search (map_layers' default: 1)")
    args = parser.parse_args(argv)

    device = resolve_device(args.device)
    table = load_onnx(args.model)
    accelerator = resolve_accelerator(args.arch)
    n_cand, n_steps = EFFORTS[args.effort]
    times, cpu_times, result = [], [], None
    for _ in range(max(1, args.repeat)):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start, cpu_start = time.perf_counter(), time.process_time()
        result = map_layers(table, accelerator, objective=args.objective, device=args.device,
                            seed=args.seed, effort=args.effort, cpu_threads=args.threads)
        times.append(time.perf_counter() - start)  # map_layers ends in .tolist(): synced
        cpu_times.append(time.process_time() - cpu_start)
    assert result is not None
    evals = n_cand * len(table) * (n_steps + 1)
    warm = times[1:] or times
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"model {Path(args.model).name}: {table.n_mac_layers} MAC layers, {len(table)} unique")
    print(f"arch {accelerator.name or args.arch} {accelerator.pe_rows}x{accelerator.pe_cols} "
          f"{accelerator.dataflow.name}; device {name}; threads {args.threads}; "
          f"effort {args.effort} ({n_cand} candidates x {n_steps} steps per layer, "
          f"{evals} layer-mapping evaluations)")
    print(f"first run {times[0]:.2f} s; warm min {min(warm):.2f} s, median "
          f"{statistics.median(warm):.2f} s over {len(warm)} runs "
          f"({evals / min(warm):,.0f} evaluations/s); process CPU time min "
          f"{min(cpu_times[1:] or cpu_times):.2f} s (less than wall time when the cores are "
          f"shared)")
    print(f"found: latency {result.latency_cycles:.4g} cycles, energy "
          f"{result.total_energy_pj * 1e-6:.4g} uJ, EDP "
          f"{result.latency_cycles * result.total_energy_pj:.4g} cycle*pJ, all feasible "
          f"{result.all_feasible}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
