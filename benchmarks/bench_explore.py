"""`codesign explore` at the default budget: wall time on ResNet-50, and how close its front
gets to a run with 10x the budget.

    python benchmarks/bench_explore.py                    # seeds 0 1 2, ResNet-50
    python benchmarks/bench_explore.py --seeds 0 --model models/bert_base.onnx
    python benchmarks/bench_explore.py --device cuda --seeds 0   # on a GPU machine

1. Wall time of the CLI (``codesign explore MODEL --device cpu``, a fresh process: imports,
   ONNX import, search, final remap, all output files and the plot), timed from outside.
2. Hypervolume of the default run against the same seed with 10x the generations. Both
   runs share generation 0 (same seed and population), hence the normalisation bounds; the
   script recomputes both hypervolumes with the default run's bounds and reference point
   1.1 to make "same reference point" explicit.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from codesign.api import DEFAULT_GENERATIONS, explore
from codesign.search.archive import hypervolume
from codesign.workload.table import load_onnx

ROOT = Path(__file__).resolve().parents[1]


def front(result) -> np.ndarray:
    return np.array([[d.metrics["latency_s"], d.metrics["energy_j"], d.metrics["area_mm2"]]
                     for d in result.pareto]).reshape(-1, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "resnet50.onnx")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--factor", type=int, default=10, help="budget multiple to compare to")
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                        help="torch device of the search (cuda: the H100 figure)")
    args = parser.parse_args(argv)

    if not args.skip_cli:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "codesign.cli", "explore", str(args.model),
                            "--out", f"{tmp}/run", "--device", args.device], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wall = time.perf_counter() - start
            run = json.loads(Path(f"{tmp}/run/run.json").read_text())
        print(f"CLI default run on {args.model.name}: {wall:.1f} s wall (search + remap "
              f"{run['wall_s']:.1f} s, {run['evaluations']} evaluations, "
              f"{run['n_pareto']} Pareto designs)")

    table = load_onnx(args.model)
    print("| seed | default: evals, s, HV | 10x: evals, s, HV | ratio |")
    print("|---|---|---|---|")
    ratios = []
    for seed in args.seeds:
        t0 = time.perf_counter()
        small = explore(table, seed=seed, device=args.device)
        t1 = time.perf_counter()
        big = explore(table, seed=seed, device=args.device,
                      generations=DEFAULT_GENERATIONS * args.factor)
        t2 = time.perf_counter()
        hv = small.run["hypervolume"]
        assert hv["lo_log10"] == big.run["hypervolume"]["lo_log10"], "generation 0 differs"
        lo, hi = np.array(hv["lo_log10"]), np.array(hv["hi_log10"])
        hv_small, hv_big = hypervolume(front(small), lo, hi), hypervolume(front(big), lo, hi)
        ratios.append(hv_small / hv_big)
        print(f"| {seed} | {small.run['evaluations']}, {t1 - t0:.1f}, {hv_small:.4f} | "
              f"{big.run['evaluations']}, {t2 - t1:.1f}, {hv_big:.4f} | {ratios[-1]:.3f} |",
              flush=True)
    print(f"mean ratio {np.mean(ratios):.3f}, min {np.min(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
