"""``codesign map PROBLEM --arch arch.yaml``: map a Timeloop problem on a Timeloop
architecture with the hierarchy mapper, and print the mapping as Timeloop prints one."""

from __future__ import annotations

import os

from codesign.hierarchy.levels import FanOut, StorageLevel
from codesign.hierarchy.mapper import HierarchyMapping, map_hierarchy
from codesign.timeloop.constraints import read_mapspace
from codesign.timeloop.problem import TimeloopProblem
from codesign.workload.layer import TENSORS

__all__ = ["format_loop_nest", "map_files"]


def format_loop_nest(result: HierarchyMapping, problem: TimeloopProblem, index: int = 0) -> str:
    """Layer ``index``'s mapping outer to inner, in the files' dim and data-space names::

        shared_glb [ Inputs Outputs ]
        |   for P in [0:8)
        inter_PE_spatial
        |     for M in [0:4) (Spatial-Y)
    """
    h = result.hierarchy
    lm = result.layers[index]
    nest = lm.nest
    name = problem.dim_names
    spaces = problem.dataspace_names
    lines, depth = [], 0
    for node in h.nodes:
        if isinstance(node, StorageLevel):
            kept = nest.keep.get(node.name, node.keeps)
            held = " ".join(spaces.get(t, t) for t in TENSORS if t in kept)
            lines.append(f"{node.name} [ {held} ]")
            for d in nest.full_order(node.name):
                f = nest.factor(node.name, d)
                if f > 1:
                    lines.append(f"|{'  ' * depth} for {name.get(d, d)} in [0:{f})")
                    depth += 1
        elif isinstance(node, FanOut):
            lines.append(f"inter_{node.name}_spatial")
            for axis in ("X", "Y"):
                for d, f in nest.factors.get(f"{node.name}.{axis}", {}).items():
                    lines.append(f"|{'  ' * depth} for {name.get(d, d)} in [0:{f}) "
                                 f"(Spatial-{axis})")
                    depth += 1
    lines.append(f"|{'  ' * depth} << Compute >>")
    return "\n".join(lines)


def map_files(arch: str | os.PathLike, problem: str | os.PathLike,
              ert: str | os.PathLike | None = None,
              constraints: str | os.PathLike | None = None, objective: str = "edp",
              effort: str = "default", device: str = "auto", seed: int = 0,
              out: str | os.PathLike | None = None) -> str:
    """Map ``problem`` on ``arch`` under its own and ``constraints``' constraints; the text
    `codesign map` prints (loop nest, cycles, energy, EDP). ``out``: also write
    ``mapping.json`` (the `LoopNest` JSON form) there."""
    import json

    from codesign.atomic import atomic_write_text, make_folder
    from codesign.device import resolve_device

    h, prob, cons = read_mapspace(arch, problem, ert, constraints)
    result = map_hierarchy(h, [prob.layer], objective, effort, cons, seed=seed,
                           device=resolve_device(device))
    lm = result.layers[0]
    text = [format_loop_nest(result, prob),
            f"total: {lm.cycles:.6g} cycles = {lm.cycles / h.clock_mhz:.4g} us, "
            f"{lm.energy_pj * 1e-6:.6g} uJ, EDP {lm.edp * 1e-12:.4g} J*cycle"
            + ("" if lm.feasible else " (infeasible: no mapping found fits)")
            + f" (objective {objective}, effort {effort}, seed {seed})"]
    if not ert:
        text.append("note: no --ert given, every energy is 0")
    if out is not None:
        folder = make_folder(out)
        atomic_write_text(folder / "mapping.json", json.dumps({
            "mapping": lm.nest.to_json(h), "cycles": lm.cycles, "energy_pj": lm.energy_pj,
            "feasible": lm.feasible, "objective": objective}, indent=2) + "\n")
        text.append(f"-> {folder / 'mapping.json'}")
    return "\n".join(text)
