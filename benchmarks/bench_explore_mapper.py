"""The default ResNet-50 explore, this checkout against another (issue 16 point 7): wall
time, the cost model's share of the search, and the front's hypervolume.

    python benchmarks/bench_explore_mapper.py --base /path/to/base/checkout --seeds 0 1 2 3 4

Each run is a fresh process (``explore(model, out=..., seed=s)`` at the default budget, as
``codesign explore models/resnet50.onnx --seed s`` runs it) with ``PYTHONPATH`` pointing
at one checkout; the two checkouts alternate seed by seed so that the load of a shared
machine falls on both alike. Inside the process `AnalyticalCostModel.evaluate` and
`run_search` are timed (the cost model's share = its time / the search's time; the search
includes the final remap, not the ONNX import, the output files or the plots).

Hypervolume: ``run.json``'s own value (each run's bounds come from its own generation 0),
and both fronts against one common reference: `codesign.search.archive.hypervolume` with
bounds from the union of the two runs' fronts of the same seed (latency, energy, area).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

#: runs in the child process: the explore, with the cost model and the search timed
_CHILD = r"""
import json, sys, time
import codesign.cost.analytical as analytical
import codesign.search.run as run
from codesign.api import explore

spent = {"cost_s": 0.0, "search_s": 0.0}
inner_eval, inner_search = analytical.AnalyticalCostModel.evaluate, run.run_search

def evaluate(self, *args, **kwargs):
    t = time.perf_counter()
    try:
        return inner_eval(self, *args, **kwargs)
    finally:
        spent["cost_s"] += time.perf_counter() - t

def run_search(*args, **kwargs):
    t = time.perf_counter()
    try:
        return inner_search(*args, **kwargs)
    finally:
        spent["search_s"] += time.perf_counter() - t

analytical.AnalyticalCostModel.evaluate, run.run_search = evaluate, run_search
model, out, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
t = time.perf_counter()
result = explore(model, out=out, force=True, seed=seed, device="cpu")
spent["wall_s"] = time.perf_counter() - t
spent["front"] = [[d.metrics["latency_s"], d.metrics["energy_j"], d.metrics["area_mm2"]]
                  for d in result.pareto]
spent["hypervolume"] = json.load(open(f"{out}/run.json"))["hypervolume"]
spent["codesign"] = __import__("codesign").__file__
print(json.dumps(spent))
"""


def run_one(checkout: Path, model: str, seed: int, out: Path) -> dict:
    """One explore in a fresh process on ``checkout``; its timings and front."""
    env = dict(os.environ, PYTHONPATH=str(checkout))
    done = subprocess.run([sys.executable, "-c", _CHILD, model, str(out), str(seed)],
                          env=env, capture_output=True, text=True, cwd=checkout, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["codesign"].startswith(str(checkout)), figures["codesign"]
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="checkout to compare with")
    parser.add_argument("--model", default="models/resnet50.onnx")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args(argv)
    from codesign.search.archive import hypervolume, normalisation_bounds

    checkouts = {"base": args.base.resolve(), "new": ROOT}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            got = {}
            order = ("base", "new") if seed % 2 == 0 else ("new", "base")
            for name in order:
                got[name] = run_one(checkouts[name], str(ROOT / args.model), seed,
                                    Path(tmp) / f"{name}{seed}")
            fronts = {k: np.array(v["front"]).reshape(-1, 3) for k, v in got.items()}
            lo, hi = normalisation_bounds(np.concatenate(list(fronts.values())))
            for name in ("base", "new"):
                g = got[name]
                row = {"seed": seed, "version": name, "wall_s": g["wall_s"],
                       "search_s": g["search_s"], "cost_share": g["cost_s"] / g["search_s"],
                       "hv_run": g["hypervolume"]["value"],
                       "hv_common": hypervolume(fronts[name], lo, hi)}
                rows.append(row)
                print(" ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                               for k, v in row.items()), flush=True)
    print()
    for name in ("base", "new"):
        mine = [r for r in rows if r["version"] == name]
        print(f"{name}: " + "  ".join(
            f"{k} {np.mean([r[k] for r in mine]):.3f}"
            for k in ("wall_s", "search_s", "cost_share", "hv_run", "hv_common")))
    base = [r for r in rows if r["version"] == "base"]
    new = [r for r in rows if r["version"] == "new"]
    for k in ("wall_s", "search_s"):
        ratios = [b[k] / n[k] for b, n in zip(base, new, strict=True)]
        print(f"{k} base/new per seed: " + " ".join(f"{x:.2f}" for x in ratios)
              + f"  (mean {np.mean(ratios):.2f})")
    print(f"load average: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
