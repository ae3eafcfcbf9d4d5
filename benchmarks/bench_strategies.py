"""Search strategies side by side at equal evaluation counts: joint, nested, sequential, random
(and nested-cold, nested without the mapping memory).

    python benchmarks/bench_strategies.py                                 # defaults below
    python benchmarks/bench_strategies.py --models resnet50 --seeds 0 1 2 --max-evals 20000

One evaluation is one design costed with one mapping per unique layer (the nested mapper's
inner candidates count too, see `nested_evals_per_design`). Every run gets the same
``--max-evals`` (a run never exceeds it: it stops before a generation that would, so
counts fall short by less than one generation; the table shows the actual counts).
Objectives: latency, energy, area.

Reported per model and strategy, over the seeds: mean hypervolume and best EDP (J*s; the
minimum over the front, which equals the minimum over every feasible design evaluated).
Hypervolume uses one normalisation per model, so strategies compare: log10 objectives
scaled by the min and max of the union of all fronts of that model (every strategy, every
seed), reference point 1.1 (see `codesign.search.archive`).

Best EDP is also compared with the space's EDP floor (`edp_floor.py`: the least EDP lower
bound over every design of the default space): no strategy can go below it, so
``random's best EDP / floor`` caps the ratio over random search that any strategy can show.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from edp_floor import edp_floor  # benchmarks/edp_floor.py, next to this script

from codesign.api import explore
from codesign.arch.space import DesignSpace
from codesign.mapping.batch import WorkloadTensors
from codesign.search.archive import hypervolume
from codesign.search.strategies import DEFAULT_STRATEGY
from codesign.workload.table import load_onnx

ROOT = Path(__file__).resolve().parents[1]
MODELS = {"resnet50": ROOT / "models" / "resnet50.onnx",
          "bert": ROOT / "models" / "bert_base.onnx"}
STRATEGIES = ("joint", "nested", "nested-cold", "sequential", "random")
OBJECTIVES = ("latency", "energy", "area")
#: Designs per generation per strategy (random draws this many uniform genomes at a time).
POPULATION = {"joint": 96, "nested": 32, "nested-cold": 32, "sequential": 32, "random": 480}


def front(result) -> np.ndarray:
    """``[N, 3]`` latency (s), energy (J), area (mm2) of a result's Pareto designs."""
    return np.array([[d.metrics["latency_s"], d.metrics["energy_j"], d.metrics["area_mm2"]]
                     for d in result.pareto]).reshape(-1, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--max-evals", type=int, default=40000)
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)

    raw = []
    floors = {}
    for model in args.models:
        table = load_onnx(MODELS[model])
        floors[model] = edp_floor(DesignSpace(), WorkloadTensors.from_table(table))[0]
        runs = []
        for strategy in args.strategies:
            for seed in args.seeds:
                start = time.perf_counter()
                result = explore(table, objectives=OBJECTIVES, strategy=strategy, seed=seed,
                                 population=POPULATION[strategy], max_evals=args.max_evals,
                                 device="cpu")
                wall = time.perf_counter() - start
                f = front(result)
                edp = float((f[:, 0] * f[:, 1]).min()) if len(f) else float("inf")
                runs.append({"model": model, "strategy": strategy, "seed": seed,
                             "evaluations": result.run["evaluations"], "wall_s": wall,
                             "n_pareto": len(f), "best_edp": edp, "front": f.tolist()})
                print(f"{model:9s} {strategy:10s} seed {seed}: {runs[-1]['evaluations']} evals, "
                      f"{len(f)} designs, best EDP {edp:.4g} J*s, {wall:.1f} s",
                      file=sys.stderr, flush=True)
        union = np.concatenate([np.array(r["front"]).reshape(-1, 3) for r in runs])
        z = np.log10(union)
        lo, hi = z.min(0), z.max(0)
        for r in runs:
            r["hypervolume"] = hypervolume(np.array(r["front"]).reshape(-1, 3), lo, hi)
        raw.extend(runs)

    print(f"\nmax evals {args.max_evals}, seeds {args.seeds}, objectives "
          f"{','.join(OBJECTIVES)}\n")
    print("| model | strategy | evaluations | hypervolume (mean ± sd) | best EDP J·s "
          "(geo-mean) | best EDP vs random | best EDP / floor | wall s (mean) |")
    print("|---|---|---|---|---|---|---|---|")
    for model in args.models:
        rows = {s: [r for r in raw if r["model"] == model and r["strategy"] == s]
                for s in args.strategies}

        def geo(values):
            return float(np.exp(np.mean(np.log(values))))

        random_edp = geo([r["best_edp"] for r in rows["random"]]) if "random" in rows else None
        for s, rs in rows.items():
            hv = [r["hypervolume"] for r in rs]
            edp = geo([r["best_edp"] for r in rs])
            sd = statistics.stdev(hv) if len(hv) > 1 else 0.0
            ratio = f"{random_edp / edp:.2f}x" if random_edp else "-"
            print(f"| {model} | {s} | {int(np.mean([r['evaluations'] for r in rs]))} | "
                  f"{np.mean(hv):.3f} ± {sd:.3f} | {edp:.4g} | {ratio} | "
                  f"{edp / floors[model]:.2f} | {np.mean([r['wall_s'] for r in rs]):.1f} |")
    for model in args.models:
        line = f"{model}: EDP floor of the space {floors[model]:.4g} J*s"
        random_runs = [r["best_edp"] for r in raw if r["model"] == model
                       and r["strategy"] == "random"]
        if random_runs:
            cap = float(np.exp(np.mean(np.log(random_runs)))) / floors[model]
            line += f"; no strategy can beat random by more than {cap:.2f}x"
        print(line)
    print_paired(raw, args.models, args.strategies)
    if args.json:
        args.json.write_text(json.dumps(raw, indent=1))
    return 0


def print_paired(raw: list[dict], models: list[str], strategies: list[str]) -> None:
    """The default strategy against each other one, seed by seed (same seed, same model)."""
    if DEFAULT_STRATEGY not in strategies:
        return
    print(f"\n{DEFAULT_STRATEGY} (default) against each strategy, paired by seed:\n")
    print("| model | against | hypervolume: wins, mean difference | best EDP: wins, "
          "geo-mean ratio |")
    print("|---|---|---|---|")
    for model in models:
        runs = {(r["strategy"], r["seed"]): r for r in raw if r["model"] == model}
        for other in strategies:
            if other == DEFAULT_STRATEGY:
                continue
            seeds = sorted(s for (name, s) in runs if name == other
                           and (DEFAULT_STRATEGY, s) in runs)
            if not seeds:
                continue
            ours = [runs[DEFAULT_STRATEGY, s] for s in seeds]
            theirs = [runs[other, s] for s in seeds]
            d_hv = [a["hypervolume"] - b["hypervolume"] for a, b in zip(ours, theirs, strict=True)]
            ratio = [a["best_edp"] / b["best_edp"] for a, b in zip(ours, theirs, strict=True)]
            print(f"| {model} | {other} | {sum(d > 0 for d in d_hv)}/{len(seeds)}, "
                  f"{np.mean(d_hv):+.4f} | {sum(q < 1 for q in ratio)}/{len(seeds)}, "
                  f"{float(np.exp(np.mean(np.log(ratio)))):.3f} |")


if __name__ == "__main__":
    sys.exit(main())
