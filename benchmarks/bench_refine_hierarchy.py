"""A hierarchy run's front before and after gradient refinement of its mappings.

    python benchmarks/bench_refine_hierarchy.py                      # spaces/eyeriss.yaml
    python benchmarks/bench_refine_hierarchy.py --seeds 0 1 --generations 2 --population 8

For each seed: the default strategy (nested, NSGA-II) searches ``--space`` on ``--model``
for ``--generations`` generations (objectives latency, energy, area; the default mapper
effort), then `codesign.search.hierarchy_gradient.refine_hierarchy` polishes the archive.
Reported: hypervolume before and after (log10 objectives scaled by the min and max of the
union of both fronts, reference point 1.1), best EDP before and after (J*s), the refinement's
candidates, designs added and wall time next to the search's. Not an equal-time comparison:
the refinement's time is on top of the search's (printed so the ratio can be read).
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np
import torch

from codesign.search.archive import Archive, hypervolume
from codesign.search.hierarchy_gradient import refine_hierarchy
from codesign.search.hierarchy_problem import HierarchyEvaluator
from codesign.search.hierarchy_space import HierarchySpace
from codesign.search.run import Budget, RunState, run_search
from codesign.search.strategies import strategy
from codesign.workload.layer import DIMS, TENSORS
from codesign.workload.table import load_onnx

ROOT = Path(__file__).resolve().parents[1]
OBJECTIVES = ("latency", "energy", "area")


def _edp(objectives: np.ndarray) -> float:
    return float((objectives[:, 0] * objectives[:, 1]).min())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default=str(ROOT / "spaces" / "eyeriss.yaml"))
    ap.add_argument("--model", default=str(ROOT / "models" / "resnet50.onnx"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--generations", type=int, default=3)
    ap.add_argument("--population", type=int, default=16)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    space = HierarchySpace.from_yaml(args.space)
    table = load_onnx(args.model)
    strat = strategy("nested")
    print(f"space {args.space}, model {Path(args.model).name}, population {args.population},"
          f" {args.generations} generations")
    print("seed  hv_before  hv_after  edp_before  edp_after  edp_ratio  search_s  refine_s"
          "  candidates  added")
    for seed in args.seeds:
        ev = HierarchyEvaluator(space, table, OBJECTIVES, seed=seed)
        n_l, n_f, n_m = ev.n_layers, len(ev.structure.slots), len(ev.structure.levels)
        empty = RunState(archive=Archive(
            np.zeros((0, len(OBJECTIVES))), np.zeros((0, space.n_genes)),
            np.zeros((0, n_l, n_f, len(DIMS)), np.int64),
            np.zeros((0, n_l, n_m, len(DIMS) + len(TENSORS)), np.int64)))
        t0 = time.perf_counter()
        state = run_search(ev, strat, "nsga2", Budget(population=args.population,
                                                       generations=args.generations),
                           seed=seed, state=empty)
        search_s = time.perf_counter() - t0
        before = copy.deepcopy(state.archive)
        after = state.archive
        stats = refine_hierarchy(ev, after)
        both = np.log10(np.concatenate([before.objectives, after.objectives]))
        lo, hi = both.min(0), both.max(0)
        hv = [hypervolume(a.objectives, lo, hi) for a in (before, after)]
        e0, e1 = _edp(before.objectives), _edp(after.objectives)
        print(f"{seed:4d}  {hv[0]:9.4f}  {hv[1]:8.4f}  {e0:10.4g}  {e1:9.4g}  {e0 / e1:9.3f}"
              f"  {search_s:8.1f}  {stats.wall_s:8.1f}  {stats.n_evals:10d}  "
              f"{stats.n_added:5d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
