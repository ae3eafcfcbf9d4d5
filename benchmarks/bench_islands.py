"""The island model (``explore --islands K``) against the single-process default.

    python benchmarks/bench_islands.py                       # ResNet-50, 5 seeds, 60 s
    python benchmarks/bench_islands.py --time-limit 5 --seeds 0 --generations 2 --ks 1 2
                                                             # a smoke run of both parts

(a) Equal wall time: for every seed, the default run (one population in this process) and
    ``--islands 2`` (two populations in two local processes, migration every
    `DEFAULT_MIGRATE_EVERY` generations) with the same ``--time-limit``, everything else at
    its default. Both fronts (latency, energy, area) are scored with one set of
    normalisation bounds, the per-objective log10 min and max over the fronts of every run
    of this invocation, and the reference point 1.1 (`codesign.search.archive`), so the
    hypervolumes are comparable across runs and seeds; best EDP is the front's lowest
    ``edp_js``. "search s" is run.json's ``wall_s`` (the time the limit bounds); "call s"
    adds loading, start-up of the workers and re-costing the front.
(b) Scaling on a local Ray cluster: K islands as Ray actors (one CPU each, a cluster of K
    CPUs started for each K) for ``--generations`` generations each; design evaluations
    per second of search time (evaluations over the islands' wall time from the moment
    the actors are up, the final remap included), and the ratio to K = 1. Skipped
    without Ray.

Run it on a quiet machine: the islands need their own cores (``uptime`` before and
after, in docs/PERFORMANCE.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from codesign.api import explore
from codesign.search.archive import hypervolume, normalisation_bounds
from codesign.search.config import DEFAULT_MIGRANTS, DEFAULT_MIGRATE_EVERY
from codesign.workload.table import load_onnx

ROOT = Path(__file__).resolve().parents[1]
#: pareto.csv metrics of the default objectives (latency, energy, area), in that order
METRICS = ("latency_s", "energy_j", "area_mm2")


def front(result) -> np.ndarray:
    return np.array([[d.metrics[m] for m in METRICS] for d in result.pareto]).reshape(-1, 3)


def equal_wall_time(table, seeds: list[int], time_limit: float, device: str) -> None:
    runs = []
    for seed in seeds:
        for islands in (1, 2):
            t0 = time.perf_counter()
            result = explore(table, seed=seed, time_limit_s=time_limit, islands=islands,
                             device=device)
            runs.append((seed, islands, result, time.perf_counter() - t0))
            print(f"  seed {seed}, {islands} island(s): {result.run['evaluations']} "
                  f"evaluations", flush=True)
    lo, hi = normalisation_bounds(np.concatenate([front(r) for *_, r, _ in runs]))
    print(f"\n(a) equal wall time: --time-limit {time_limit:g} s, hypervolume of log10 "
          f"(latency, energy, area) normalised by lo {np.round(lo, 3).tolist()}, hi "
          f"{np.round(hi, 3).tolist()}, reference point 1.1")
    print("| seed | islands | evaluations | search s | call s | pareto | HV | best EDP (J*s) |")
    print("|---|---|---|---|---|---|---|---|")
    scores: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
    for seed, islands, result, call_s in runs:
        f = front(result)
        hv = hypervolume(f, lo, hi)
        edp = min(d.metrics["edp_js"] for d in result.pareto)
        scores[islands].append((hv, edp))
        print(f"| {seed} | {islands} | {result.run['evaluations']} | "
              f"{result.run['wall_s']:.1f} | {call_s:.1f} | {len(f)} | {hv:.4f} | {edp:.4g} |")
    over = [(seed, islands, result.run["wall_s"]) for seed, islands, result, _ in runs
            if result.run["wall_s"] > 1.1 * time_limit]
    if over:  # the remap's first chunk is not sized by time (codesign.search.run._remap)
        print("note: past the time limit by more than 10%: " + ", ".join(
            f"seed {s} with {k} island(s) {w:.1f} s" for s, k, w in over))
    one, two = np.array(scores[1]), np.array(scores[2])
    print(f"mean HV: 1 island {one[:, 0].mean():.4f}, 2 islands {two[:, 0].mean():.4f} "
          f"(ratio {two[:, 0].mean() / one[:, 0].mean():.3f}; 2 islands higher in "
          f"{int((two[:, 0] > one[:, 0]).sum())} of {len(one)} seeds)")
    print(f"geomean best EDP ratio (2 islands / 1): "
          f"{np.exp(np.log(two[:, 1] / one[:, 1]).mean()):.3f} (below 1: islands better)")


def ray_scaling(table, ks: list[int], generations: int, seed: int, device: str) -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        print('\n(b) skipped: needs Ray (pip install "codesign[ray]")')
        return
    from codesign.arch.presets import resolve_technology
    from codesign.arch.space import DesignSpace
    from codesign.cost.analytical import AnalyticalCostModel
    from codesign.mapping.batch import WorkloadTensors
    from codesign.names import DEFAULT_OBJECTIVES
    from codesign.search.config import (
        DEFAULT_MAPPER_CANDIDATES,
        DEFAULT_MAPPER_STEPS,
        DEFAULT_POPULATION,
        DEFAULT_STRATEGY,
    )
    from codesign.search.islands import IslandPlan, run_islands
    from codesign.search.problem import BatchEvaluator, MapperEffort
    from codesign.search.run import Budget
    from codesign.search.strategies import strategy as get_strategy

    strat = get_strategy(DEFAULT_STRATEGY)
    space = DesignSpace()
    print(f"\n(b) Ray actors, one CPU each, {generations} generations of "
          f"{DEFAULT_POPULATION} designs per island (seed {seed}, {DEFAULT_STRATEGY} "
          "strategy)")
    print("| K | evaluations | search s | call s | evals/s | vs K=1 |")
    print("|---|---|---|---|---|---|")
    base = None
    for k in ks:
        evaluator = BatchEvaluator(
            space, WorkloadTensors.from_table(table, device=device),
            AnalyticalCostModel(resolve_technology(space.technology)), DEFAULT_OBJECTIVES,
            mode=strat.mode,
            effort=strat.effort or MapperEffort(DEFAULT_MAPPER_CANDIDATES,
                                                DEFAULT_MAPPER_STEPS),
            seed=seed, device=device)
        plan = IslandPlan(strat, "nsga2", Budget(population=DEFAULT_POPULATION,
                                                 generations=generations), seed, k,
                          DEFAULT_MIGRATE_EVERY, DEFAULT_MIGRANTS)
        t0 = time.perf_counter()
        state = run_islands(evaluator, plan, workers="ray")
        call_s = time.perf_counter() - t0
        rate = state.n_evals / state.elapsed_s
        base = base or rate
        print(f"| {k} | {state.n_evals} | {state.elapsed_s:.1f} | {call_s:.1f} | {rate:.0f} | "
              f"{rate / base:.2f}x |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "resnet50.onnx")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--time-limit", type=float, default=60.0,
                        help="(a): seconds of search per run, both kinds")
    parser.add_argument("--ks", nargs="+", type=int, default=[1, 2, 4],
                        help="(b): island counts")
    parser.add_argument("--generations", type=int, default=20, help="(b): per island")
    parser.add_argument("--skip-a", action="store_true")
    parser.add_argument("--skip-b", action="store_true")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args(argv)

    table = load_onnx(args.model)
    print(f"{args.model.name}: {len(table)} unique layers")
    if not args.skip_a:
        equal_wall_time(table, args.seeds, args.time_limit, args.device)
    if not args.skip_b:
        ray_scaling(table, args.ks, args.generations, args.seeds[0], args.device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
