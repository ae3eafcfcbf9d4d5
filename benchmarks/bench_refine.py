"""NSGA-II alone vs NSGA-II + gradient refinement (MGDA) at equal wall time.

    python benchmarks/bench_refine.py                                   # defaults below
    python benchmarks/bench_refine.py --models resnet50 --seeds 0 1 2 3 4 --time 20

Both arms use the default explore search (nested strategy, NSGA-II, population 24,
objectives latency, energy, area, one torch CPU thread as `explore` uses; ``--strategy`` and
``--population`` change it). The comparison
is paired, so that the noise of a shared machine hits both arms alike: for each seed the
search runs once for ``--time`` seconds, keeping a copy of its archive and elapsed time
after every generation (the search is deterministic per seed, so a run stopped earlier
would have had exactly that archive).

- ``nsga2``: the archive at the end of the run (``T`` = its wall time);
- ``nsga2+refine``: the archive of the latest generation ``g`` such that the search time up
  to ``g`` plus the time `codesign.search.gradient.refine` then takes on that archive is at
  most ``T``; refined, it is the arm's result (so it never has more time than ``nsga2``).

Reported per model and arm, over the seeds: mean hypervolume (one normalisation per model:
log10 objectives scaled by the min and max of the union of every final front of that model,
reference point 1.1, as `bench_strategies`) and best EDP (J*s, geometric mean over seeds),
plus per-seed win counts.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from codesign.arch.space import DesignSpace
from codesign.cost.analytical import AnalyticalCostModel
from codesign.mapping.batch import WorkloadTensors
from codesign.search.archive import hypervolume
from codesign.search.gradient import DEFAULT_STEPS, refine
from codesign.search.problem import BatchEvaluator, MapperEffort
from codesign.search.run import Budget, run_search
from codesign.search.strategies import strategy
from codesign.workload.table import load_onnx

ROOT = Path(__file__).resolve().parents[1]
MODELS = {"resnet50": ROOT / "models" / "resnet50.onnx",
          "bert": ROOT / "models" / "bert_base.onnx"}
OBJECTIVES = ("latency", "energy", "area")
POPULATION = 24


def run_pair(workload: WorkloadTensors, seed: int, time_s: float, n_steps: int,
             before_remap: bool = False, strategy_name: str = "nested",
             population: int = POPULATION) -> list[dict]:
    """One search of ``time_s`` seconds; the two arms' results (module docstring).
    ``before_remap``: refine the search's archive before the strategy's final remap of the
    front (so that refined hardware gets the strong mapper too), else after it."""
    nested = strategy(strategy_name)
    ev = BatchEvaluator(DesignSpace(), workload, AnalyticalCostModel(), OBJECTIVES,
                        mode=nested.mode, effort=MapperEffort(8, 2), seed=seed)
    snapshots = []

    def keep(state, stats) -> None:
        if getattr(stats, "phase", "search") == "search":
            snapshots.append((copy.deepcopy(state), ev.calls))

    budget = Budget(population=population, generations=None, time_limit_s=time_s)
    state = run_search(ev, nested, "nsga2", budget, seed=seed, on_generation=keep)
    total = state.elapsed_s
    final_phase = total - snapshots[-1][0].elapsed_s      # the strategy's remap of the front
    refine_guess = 0.0
    for index in range(len(snapshots) - 1, -1, -1):
        snap, calls = snapshots[index]
        if snap.elapsed_s + final_phase + refine_guess > total and index > 0:
            continue
        ev.calls = calls
        early = copy.deepcopy(snap)
        if before_remap:
            stats = refine(ev, early.archive, n_steps=n_steps)
        early = run_search(ev, nested, "nsga2", replace(budget, generations=snap.generation),
                           seed=seed, state=early)                # 0 generations, then remap
        if not before_remap:
            stats = refine(ev, early.archive, n_steps=n_steps)
        refine_guess = stats.wall_s
        if early.elapsed_s + stats.wall_s <= total or index == 0:
            break
    refined, generation, elapsed = early.archive, early.generation, early.elapsed_s

    def record(arm, archive, gens, wall, stats=None):
        f = archive.objectives
        return {"seed": seed, "arm": arm, "generations": gens, "wall_s": wall,
                "refine_evals": stats.n_evals if stats else 0,
                "refine_added": stats.n_added if stats else 0,
                "refine_s": stats.wall_s if stats else 0.0,
                "n_pareto": len(f), "best_edp": float((f[:, 0] * f[:, 1]).min()),
                "front": f.tolist()}

    return [record("nsga2", state.archive, state.generation, total),
            record("nsga2+refine", refined, generation, elapsed + stats.wall_s, stats)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--time", type=float, default=15.0, help="seconds per run")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS,
                        help="refine steps (MGDA iterations)")
    parser.add_argument("--strategy", choices=["nested", "joint"], default="nested",
                        help="search strategy of both arms (joint has no final remap)")
    parser.add_argument("--population", type=int, default=POPULATION)
    parser.add_argument("--before-remap", action="store_true",
                        help="refine before the nested strategy's final remap of the front")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    raw = []
    for model in args.models:
        workload = WorkloadTensors.from_table(load_onnx(MODELS[model]))
        runs = []
        for seed in args.seeds:
            for r in run_pair(workload, seed, args.time, args.steps, args.before_remap,
                              args.strategy, args.population):
                r["model"] = model
                runs.append(r)
                print(f"{model:9s} {r['arm']:13s} seed {seed}: {r['generations']} gens, "
                      f"{r['n_pareto']} designs (+{r['refine_added']} from "
                      f"{r['refine_evals']} refine evals in {r['refine_s']:.2f} s), best EDP "
                      f"{r['best_edp']:.4g} J*s, {r['wall_s']:.1f} s", file=sys.stderr,
                      flush=True)
        z = np.log10(np.concatenate([np.array(r["front"]) for r in runs]))
        lo, hi = z.min(0), z.max(0)
        for r in runs:
            r["hypervolume"] = hypervolume(np.array(r["front"]), lo, hi)
        raw.extend(runs)

    where = "before" if args.before_remap else "after"
    print(f"\n{args.time:g} s per search, {args.steps} refine steps {where} the final remap, "
          f"{args.strategy} strategy, seeds {args.seeds}, population {args.population}, "
          f"objectives {','.join(OBJECTIVES)}\n")
    print("| model | arm | generations | wall s | hypervolume (mean ± sd) | best EDP J·s "
          "(geo-mean) | HV wins | EDP wins |")
    print("|---|---|---|---|---|---|---|---|")

    def geo(values):
        return float(np.exp(np.mean(np.log(values))))

    for model in args.models:
        by_arm = {a: sorted((r for r in raw if r["model"] == model and r["arm"] == a),
                            key=lambda r: r["seed"]) for a in ("nsga2", "nsga2+refine")}
        base, ref = by_arm["nsga2"], by_arm["nsga2+refine"]
        pairs = list(zip(base, ref, strict=True))
        wins = {"nsga2": (sum(b["hypervolume"] > r["hypervolume"] for b, r in pairs),
                          sum(b["best_edp"] < r["best_edp"] for b, r in pairs)),
                "nsga2+refine": (sum(r["hypervolume"] > b["hypervolume"] for b, r in pairs),
                                 sum(r["best_edp"] < b["best_edp"] for b, r in pairs))}
        for arm, rs in by_arm.items():
            hv = [r["hypervolume"] for r in rs]
            sd = statistics.stdev(hv) if len(hv) > 1 else 0.0
            print(f"| {model} | {arm} | {np.mean([r['generations'] for r in rs]):.1f} | "
                  f"{np.mean([r['wall_s'] for r in rs]):.1f} | {np.mean(hv):.3f} ± {sd:.3f} | "
                  f"{geo([r['best_edp'] for r in rs]):.4g} | {wins[arm][0]}/{len(rs)} | "
                  f"{wins[arm][1]}/{len(rs)} |")
    if args.json:
        args.json.write_text(json.dumps(raw, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
