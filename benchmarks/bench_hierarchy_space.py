"""`codesign explore` on a hierarchy design space (default: spaces/eyeriss.yaml) at the
default budget: the three figures docs/PERFORMANCE.md gives for the default space.

    python benchmarks/bench_hierarchy_space.py                        # seeds 0 1 2, ResNet-50
    python benchmarks/bench_hierarchy_space.py --seeds 0 --generations 2 --population 8
        # a smoke test on a loaded machine (small budget: the figures mean little)

1. Wall time of the CLI (``codesign explore MODEL --space SPACE --device cpu``, a fresh
   process: imports, ONNX import, search, final remap, all output files), timed from outside.
2. Best EDP of the default strategy (nested) over the ``random`` strategy at the same number
   of design evaluations (``--max-evals`` = what the nested run spent): uniform joint
   genomes (hardware and one mapping per layer), as on the default space. Where levels are
   tiny (Eyeriss's scratchpads) random joint genomes rarely fit, and the ratio is infinite;
   so the script also gives the ratio over random *hardware* search with the same batched
   mapper inside (``--strategy nested-cold --algorithm random``), a much harder baseline.
3. Hypervolume of the default run against the same seed with ``--factor`` x the generations.
   Both runs share generation 0 (same seed and population), hence the normalisation bounds;
   both hypervolumes are recomputed with the default run's bounds, reference point 1.1.
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

from codesign.api import DEFAULT_GENERATIONS, DEFAULT_POPULATION, explore
from codesign.search.archive import hypervolume
from codesign.search.hierarchy_space import HierarchySpace
from codesign.workload.table import load_onnx

ROOT = Path(__file__).resolve().parents[1]


def front(result) -> np.ndarray:
    return np.array([[d["metrics"]["latency_s"], d["metrics"]["energy_j"],
                      d["metrics"]["area_mm2"]] for d in result.pareto]).reshape(-1, 3)


def best_edp(result) -> float:
    f = front(result)
    return float((f[:, 0] * f[:, 1]).min()) if len(f) else float("inf")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "resnet50.onnx")
    parser.add_argument("--space", type=Path, default=ROOT / "spaces" / "eyeriss.yaml")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--factor", type=int, default=10, help="budget multiple to compare to")
    parser.add_argument("--population", type=int, default=DEFAULT_POPULATION)
    parser.add_argument("--generations", type=int, default=DEFAULT_GENERATIONS)
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args(argv)
    budget = {"population": args.population, "generations": args.generations}
    default = (args.population, args.generations) == (DEFAULT_POPULATION, DEFAULT_GENERATIONS)

    if not args.skip_cli:
        extra = [] if default else ["--population", str(args.population),
                                    "--generations", str(args.generations)]
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "codesign.cli", "explore", str(args.model),
                            "--space", str(args.space), "--out", f"{tmp}/run", "--device",
                            args.device, *extra], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            wall = time.perf_counter() - start
            run = json.loads(Path(f"{tmp}/run/run.json").read_text())
        print(f"CLI {'default' if default else 'small'} run on {args.model.name}, "
              f"{args.space.name}: {wall:.1f} s wall (search + remap {run['wall_s']:.1f} s, "
              f"{run['evaluations']} evaluations, {run['n_pareto']} Pareto designs)")

    table = load_onnx(args.model)
    space = HierarchySpace.from_yaml(args.space)
    print("| seed | nested: evals, s, best EDP | random: evals, best EDP | EDP ratio "
          "| random HW + mapper: evals, best EDP | EDP ratio "
          f"| {args.factor}x: evals, s | HV default / {args.factor}x |")
    print("|---|---|---|---|---|---|---|---|")
    edp_ratios, hw_ratios, hv_ratios = [], [], []
    for seed in args.seeds:
        t0 = time.perf_counter()
        small = explore(table, space, seed=seed, device=args.device, **budget)
        t1 = time.perf_counter()
        rand = explore(table, space, seed=seed, device=args.device, strategy="random",
                       population=args.population, max_evals=small.run["evaluations"])
        t2 = time.perf_counter()
        rand_hw = explore(table, space, seed=seed, device=args.device, strategy="nested-cold",
                          algorithm="random", population=args.population,
                          max_evals=small.run["evaluations"])
        big = explore(table, space, seed=seed, device=args.device,
                      population=args.population, generations=args.generations * args.factor)
        t3 = time.perf_counter()
        hv = small.run["hypervolume"]
        assert hv["lo_log10"] == big.run["hypervolume"]["lo_log10"], "generation 0 differs"
        lo, hi = np.array(hv["lo_log10"]), np.array(hv["hi_log10"])
        hv_small, hv_big = hypervolume(front(small), lo, hi), hypervolume(front(big), lo, hi)
        edp_ratios.append(best_edp(rand) / best_edp(small))
        hw_ratios.append(best_edp(rand_hw) / best_edp(small))
        hv_ratios.append(hv_small / hv_big if hv_big else float("nan"))
        print(f"| {seed} | {small.run['evaluations']}, {t1 - t0:.1f}, {best_edp(small):.4g} | "
              f"{rand.run['evaluations']}, {best_edp(rand):.4g} ({t2 - t1:.1f} s) | "
              f"{edp_ratios[-1]:.2f}x | {rand_hw.run['evaluations']}, "
              f"{best_edp(rand_hw):.4g} | {hw_ratios[-1]:.2f}x | "
              f"{big.run['evaluations']}, {t3 - t2:.1f} | "
              f"{hv_ratios[-1]:.3f} |", flush=True)
    geo = float(np.exp(np.mean(np.log(edp_ratios))))
    geo_hw = float(np.exp(np.mean(np.log(hw_ratios))))
    print(f"best EDP over random: geo-mean {geo:.2f}x, min {min(edp_ratios):.2f}x; over random "
          f"hardware + mapper: geo-mean {geo_hw:.2f}x, min {min(hw_ratios):.2f}x; "
          f"HV vs {args.factor}x: mean {np.mean(hv_ratios):.3f}, min {np.min(hv_ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
