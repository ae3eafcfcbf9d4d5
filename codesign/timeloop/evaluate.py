"""Cost one Timeloop (architecture, problem, mapping) triple: ``codesign evaluate``.

The result has the shape of `codesign.timeloop.stats.read_stats`, so ours and Timeloop's
compare key by key (level and data-space names as in the files, counts summed over the
utilized instances)::

    {"cycles": int, "energy_pj": float, "computes": int,
     "levels": {LEVEL: {DATASPACE: {"reads": int, "fills": int, "updates": int}}},
     "energy_by_level_pj": {LEVEL: float}}
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from codesign.hierarchy.counts import TIMELOOP, CountingRules
from codesign.hierarchy.levels import Hierarchy
from codesign.hierarchy.model import NestCost, nest_cost
from codesign.hierarchy.nest import LoopNest, NestBatch
from codesign.timeloop.arch import ert_mismatches, read_arch, read_ert, to_hierarchy
from codesign.timeloop.mapping import read_mapping
from codesign.timeloop.problem import TimeloopProblem, read_problem
from codesign.workload.layer import TENSORS

__all__ = ["TimeloopCase", "evaluate_files", "read_case", "summary"]


@dataclass(frozen=True)
class TimeloopCase:
    """A hierarchy, a problem and one mapping, read from Timeloop files."""

    hierarchy: Hierarchy
    problem: TimeloopProblem
    nest: LoopNest
    warnings: tuple[str, ...] = ()


def read_case(arch: str | os.PathLike, problem: str | os.PathLike,
              mapping: str | os.PathLike, ert: str | os.PathLike | None = None
              ) -> TimeloopCase:
    """Read the three files (and an Accelergy ERT for energies; without one every energy
    is 0, and only counts and cycles are meaningful)."""
    prob = read_problem(problem)
    table = read_ert(ert) if ert is not None else None
    hierarchy = to_hierarchy(read_arch(arch), prob.tensor_of, table)
    warnings = tuple(f"{ert}: {w} (the ERT was generated for another architecture)"
                     for w in ert_mismatches(hierarchy, table or {}))
    return TimeloopCase(hierarchy, prob, read_mapping(mapping, hierarchy, prob), warnings)


def cost_case(case: TimeloopCase, rules: CountingRules = TIMELOOP,
              device: torch.device | str | None = None) -> NestCost:
    layer = case.problem.layer
    batch = NestBatch.from_nests(case.hierarchy, [[case.nest]], device=device)
    return nest_cost(case.hierarchy, batch, torch.tensor([layer.stride], device=device),
                     torch.tensor([layer.dilation], device=device), rules)


def summary(case: TimeloopCase, cost: NestCost) -> dict:
    """The JSON form above for design 0, layer 0 of ``cost`` (one host copy)."""
    c = cost.counts
    reads, fills, updates = (x[0, 0].to(torch.int64).tolist()
                             for x in (c.reads, c.fills, c.updates))
    keep = c.keep[0, 0].tolist()
    levels = {}
    for m, name in enumerate(case.hierarchy.level_names):
        levels[name] = {
            case.problem.dataspace_names[t]: {"reads": reads[m][i], "fills": fills[m][i],
                                              "updates": updates[m][i]}
            for i, t in enumerate(TENSORS) if keep[m][i]}
    by_level = cost.energy_by_level_pj()[0, 0].tolist()
    energy = {name: by_level[m] for m, name in enumerate(case.hierarchy.level_names)}
    energy[case.hierarchy.compute.name] = float(cost.compute_energy_pj[0, 0])
    return {"cycles": int(cost.cycles[0, 0]), "energy_pj": float(cost.energy_pj[0, 0]),
            "computes": int(c.computes[0, 0]), "levels": levels,
            "energy_by_level_pj": energy}


def evaluate_files(arch: str | os.PathLike, problem: str | os.PathLike,
                   mapping: str | os.PathLike, ert: str | os.PathLike | None = None,
                   rules: CountingRules = TIMELOOP) -> dict:
    """Read and cost one Timeloop case; the JSON form of the module docstring."""
    case = read_case(arch, problem, mapping, ert)
    return summary(case, cost_case(case, rules))
