"""Wall time of one small campaign with each executor, in one run.

    python benchmarks/bench_sweep.py                    # serial, 2 processes, Ray (2 CPUs)
    python benchmarks/bench_sweep.py --jobs-model models/resnet18.onnx --generations 10

The campaign: one workload x 2 design spaces (the built-in one and a small edge space) x
``--seeds`` seeds, every job the same budget. Each executor runs the same campaign into
its own folder; the script prints wall seconds per executor, the speed-up over serial, and
checks that every job's pareto.csv is the same byte for byte. Ray's figure includes
starting the local cluster. Ratios are measured in one run; absolute figures move with the
machine's load.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from codesign.campaign import LocalProcesses, RayCluster, Serial, load_campaign, sweep  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "resnet18.onnx"))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--generations", type=int, default=10)
    parser.add_argument("--population", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    (folder / "edge.yaml").write_text("pe_rows: {min: 4, max: 32}\npe_cols: {min: 4, max: 32}\n"
                                      "glb_words: {min: 16384, max: 262144}\n")
    campaign = folder / "campaign.yaml"
    campaign.write_text(yaml.safe_dump({
        "workloads": {"model": args.model}, "spaces": {"default": None, "edge": "edge.yaml"},
        "seeds": list(range(args.seeds)), "device": "cpu",
        "budget": {"population": args.population, "generations": args.generations}}))
    jobs = load_campaign(campaign).jobs
    executors = [("serial", Serial()), (f"{args.workers} processes",
                                        LocalProcesses(args.workers))]
    if not args.no_ray:
        try:
            import ray  # noqa: F401
            executors.append((f"ray, {args.workers} CPUs", RayCluster(workers=args.workers)))
        except ImportError:
            print("ray not installed: skipping the Ray executor")
    print(f"{len(jobs)} jobs ({Path(args.model).name}, {args.population} x "
          f"{args.generations}), load average {os.getloadavg()[0]:.2f}")
    walls = {}
    for name, executor in executors:
        start = time.perf_counter()
        result = sweep(campaign, folder / name.replace(" ", "_").replace(",", ""),
                       executor=executor)
        walls[name] = time.perf_counter() - start
        assert result.count("done") == len(jobs), result.rows
        print(f"{name:>16}: {walls[name]:7.1f} s  ({walls['serial'] / walls[name]:.2f}x serial)")
    base = folder / "serial"
    for name in list(walls)[1:]:
        other = folder / name.replace(" ", "_").replace(",", "")
        same = all((base / "runs" / j.name / "pareto.csv").read_bytes()
                   == (other / "runs" / j.name / "pareto.csv").read_bytes() for j in jobs)
        print(f"{name}: every job's pareto.csv equal to serial: {same}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
