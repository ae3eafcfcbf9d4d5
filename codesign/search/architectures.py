"""What ``--arch`` names for `codesign map` and `map_layers`: a hierarchy or a v1 accelerator.

The rule (`resolve_architecture`), first match wins:

1. ``v1:NAME``: the v1 preset NAME (``codesign/arch/presets/NAME.yaml``, the RF/GLB/DRAM
   template), mapped by the v1 mapper (`codesign.search.mapper`);
2. a hierarchy preset name (`codesign.hierarchy.presets.HIERARCHY_PRESETS`: the chip's
   real levels), energies and areas from the default technology table (`with_technology`);
   so ``eyeriss`` is the hierarchy, ``v1:eyeriss`` the template preset of that name;
3. a file: a Timeloop v0.4 architecture (``architecture: {nodes: ...}``, energies from
   ``ert``, without one every energy is 0, as in ``codesign evaluate``), a hierarchy YAML
   (top-level ``nodes``: `codesign.hierarchy.io`; energies left out from the technology
   table), or else a v1 accelerator YAML (`read_accelerator`);
4. anything else is a one-line `ConfigError` with a did-you-mean over both kinds of name.

``constraints`` (a Timeloop v0.4 mapspace constraints file) apply to any hierarchy, in its
own level names and the problem's dim and data-space names (``names``: by default those
``codesign export-timeloop`` writes, ``C M R S N P Q G`` and ``Weights Inputs Outputs``);
``ert`` only to a Timeloop architecture. Elsewhere (``explore``, campaigns, sensitivity)
names are v1 presets, and ``v1:NAME`` is accepted there too (`resolve_accelerator`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from codesign.arch.accelerator import Accelerator
from codesign.arch.io import load_yaml, parse_accelerator
from codesign.arch.presets import V1_PREFIX, load_preset, preset_names
from codesign.cost.levels import with_technology
from codesign.errors import ConfigError, did_you_mean
from codesign.hierarchy.io import is_hierarchy_data, parse_hierarchy
from codesign.hierarchy.levels import Hierarchy
from codesign.hierarchy.mapspace import MapConstraints
from codesign.hierarchy.presets import HIERARCHY_PRESETS, hierarchy_preset
from codesign.timeloop.files import is_timeloop_arch
from codesign.timeloop.problem import TimeloopProblem
from codesign.timeloop.writers import DATASPACE_NAMES, DIM_NAMES
from codesign.workload.layer import Layer

__all__ = ["ARCH_KINDS", "MappingTarget", "architecture_names", "problem_names",
           "resolve_architecture", "standard_names"]

#: Where a `MappingTarget`'s hierarchy came from.
ARCH_KINDS = ("hierarchy preset", "hierarchy YAML", "Timeloop architecture", "Hierarchy")


@dataclass(frozen=True)
class MappingTarget:
    """A hierarchy ready to map on: its (technology-filled) levels, the mapspace
    constraints to respect (``None``: none), where it came from (`ARCH_KINDS`) and notes
    for the user (e.g. that every energy is 0)."""

    hierarchy: Hierarchy
    constraints: MapConstraints | None = None
    kind: str = "Hierarchy"
    notes: tuple[str, ...] = ()


def standard_names() -> TimeloopProblem:
    """The dim and data-space names a constraints file uses for an ONNX model (those of
    the problems ``codesign export-timeloop`` writes); the layer is a placeholder."""
    return TimeloopProblem(Layer.gemm(M=1, K=1, N=1), dict(DIM_NAMES), dict(DATASPACE_NAMES))


def architecture_names() -> str:
    """The names ``--arch`` takes, for help texts and errors."""
    return (f"hierarchy presets: {', '.join(sorted(HIERARCHY_PRESETS))}; v1 presets: "
            f"{', '.join(V1_PREFIX + n for n in preset_names())}; or a YAML file "
            f"(hierarchy, Timeloop v0.4 or v1 accelerator)")


def _unknown(text: str) -> ConfigError:
    choices = [*HIERARCHY_PRESETS, *(V1_PREFIX + n for n in preset_names())]
    return ConfigError(f"--arch: unknown architecture {text!r}{did_you_mean(text, choices)} "
                       f"({architecture_names()})")


def _looks_like_path(text: str) -> bool:
    return text.endswith((".yaml", ".yml")) or "/" in text or os.sep in text


def _constraints(path: str | os.PathLike | None, hierarchy: Hierarchy,
                 names: TimeloopProblem | None) -> MapConstraints | None:
    if path is None:
        return None
    from codesign.timeloop.constraints import read_constraints

    return read_constraints(path, hierarchy, names or standard_names())


def _timeloop(path: str, ert: str | os.PathLike | None,
              constraints: MapConstraints | str | os.PathLike | None,
              names: TimeloopProblem | None) -> MappingTarget:
    from codesign.timeloop.arch import ert_mismatches, read_arch, read_ert, to_hierarchy
    from codesign.timeloop.constraints import arch_constraints

    names = names or standard_names()
    table = read_ert(ert) if ert is not None else None
    tl_arch = read_arch(path)
    hierarchy = to_hierarchy(tl_arch, names.tensor_of, table)
    cons = arch_constraints(tl_arch, hierarchy, names)
    more = constraints if isinstance(constraints, MapConstraints) else \
        _constraints(constraints, hierarchy, names)
    notes = [f"{ert}: {w} (the ERT was generated for another architecture)"
             for w in ert_mismatches(hierarchy, table or {})]
    if ert is None:
        notes.append("no --ert given, every energy is 0")
    return MappingTarget(hierarchy, cons.merged(more) if more is not None else cons,
                         ARCH_KINDS[2], tuple(notes))


def problem_names(workload: str | os.PathLike) -> TimeloopProblem | None:
    """The dim and data-space names of a Timeloop problem file or folder (all its files
    must agree), or ``None`` for an ONNX model (then `standard_names` apply)."""
    from codesign.timeloop.problem import read_problem
    from codesign.timeloop.workload import PROBLEM_SUFFIXES, is_timeloop_workload

    if not is_timeloop_workload(workload):
        return None
    path = Path(workload)
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in PROBLEM_SUFFIXES
                   and not p.name.startswith(".")) if path.is_dir() else [path]
    first = None
    for file in files:
        names = read_problem(file)
        if first is None:
            first = names
        elif (names.dim_names, names.dataspace_names) != (first.dim_names,
                                                          first.dataspace_names):
            raise ConfigError(f"{file}: its dim or data-space names differ from "
                              f"{files[0].name}'s; one constraints file cannot name both")
    return first


def resolve_architecture(arch: Accelerator | Hierarchy | MappingTarget | str | os.PathLike,
                         *,
                         ert: str | os.PathLike | None = None,
                         constraints: MapConstraints | str | os.PathLike | None = None,
                         names: TimeloopProblem | None = None
                         ) -> Accelerator | MappingTarget:
    """``arch`` as what a mapper maps on, by the rule of the module docstring: an
    `Accelerator` (v1) or a `MappingTarget` (a hierarchy, its constraints). An
    `Accelerator`, a `Hierarchy` or a `MappingTarget` is taken as given."""
    if isinstance(arch, MappingTarget):
        if ert is not None or constraints is not None:
            raise ConfigError("a MappingTarget holds its constraints already")
        return arch
    if isinstance(arch, Accelerator):
        if ert is not None or constraints is not None:
            raise ConfigError("--ert and --constraints need a hierarchy --arch (a hierarchy "
                              "preset, a hierarchy YAML or a Timeloop v0.4 architecture); "
                              "this is a v1 accelerator")
        return arch
    if ert is not None and not (isinstance(arch, (str, os.PathLike))
                                and is_timeloop_arch(arch)):
        raise ConfigError("--ert needs a Timeloop v0.4 --arch file (a preset's or a "
                          "hierarchy YAML's energies come from the technology table or the "
                          "YAML itself)")
    given = constraints if isinstance(constraints, MapConstraints) else None
    path = None if given is not None else constraints

    def target(h: Hierarchy, kind: str) -> MappingTarget:
        cons = given if given is not None else _constraints(path, h, names)
        if cons is not None:
            cons.check(h)
        return MappingTarget(h, cons, kind)

    if isinstance(arch, Hierarchy):
        return target(arch, ARCH_KINDS[3])
    text = str(arch)
    if isinstance(arch, str) and text.startswith(V1_PREFIX):
        if text[len(V1_PREFIX):] not in preset_names():
            raise _unknown(text)
        return resolve_architecture(load_preset(text[len(V1_PREFIX):]), ert=ert,
                                    constraints=constraints)
    if isinstance(arch, str) and text in HIERARCHY_PRESETS:
        return target(with_technology(hierarchy_preset(text)), ARCH_KINDS[0])
    if not (isinstance(arch, os.PathLike) or _looks_like_path(text) or Path(text).is_file()):
        raise _unknown(text)
    if is_timeloop_arch(text):
        return _timeloop(text, ert, constraints, names)
    data = load_yaml(text)
    if is_hierarchy_data(data):
        return target(with_technology(parse_hierarchy(data, text)), ARCH_KINDS[1])
    acc = parse_accelerator(data, text, base_dir=Path(text).parent)
    return resolve_architecture(acc, ert=ert, constraints=constraints)
