"""The campaign file: which explore runs a sweep makes, and their settings.

A campaign names axes; each job takes one value of every axis (the cross product by
default, ``combine: zip`` pairs the i-th values instead)::

    workloads:                  # name: ONNX file (relative to this file), or a list of paths
      resnet18: ../models/resnet18.onnx
      mobilenet: ../models/mobilenet_v2.onnx
      both: [../models/resnet18.onnx, ../models/mobilenet_v2.onnx]   # one chip for both
    spaces:                     # name: design-space YAML, or null for the built-in space
      default: null
      edge: edge_space.yaml
    objectives: [latency,energy,area]   # one set per entry ("edp,area" is one set)
    strategies: [nested]
    algorithms: [nsga2]
    seeds: [0, 1]
    budget: {population: 16, generations: 10}    # or budgets: {name: {...}, ...}
    constraints: {max_area_mm2: 50}
    device: cpu
    combine: product            # or zip

A named workload whose value is a list of paths is one job over all of them: one
accelerator for the mix (`codesign.workload.mix`; each model named by its file stem, one
inference of each). Only ``workloads`` is required. A job's folder is named by the values
of the axes that vary (``resnet18-edge-s1``), so the names stay the same when the file is
read again. `load_campaign` reports every problem of a file at once, one per line part.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from codesign.errors import (
    ConfigError,
    did_you_mean,
    joined_problems,
    short_repr,
    unknown_keys,
)
from codesign.names import DEFAULT_OBJECTIVES
from codesign.search.config import DEFAULT_STRATEGY, SETTINGS, ExploreConfig
from codesign.workload.mix import workload_names

__all__ = ["BUDGET_KEYS", "Campaign", "Job", "load_campaign", "parse_campaign"]

#: Budget and effort keys a campaign's ``budget`` may set (`codesign.api.explore` keywords).
BUDGET_KEYS: tuple[str, ...] = ("population", "generations", "max_evals", "time_limit_s",
                                "mapper_candidates", "mapper_steps")
#: Constraint keys (`codesign.api.explore` keywords).
CONSTRAINT_KEYS: tuple[str, ...] = ("max_area_mm2", "max_power_w")
_AXES = ("workloads", "spaces", "objectives", "strategies", "algorithms", "budgets", "seeds")
_TOP_KEYS = (*_AXES, "budget", "constraints", "device", "combine", "refine")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+=-]{0,63}$")
_DEFAULTS = {"objectives": ",".join(DEFAULT_OBJECTIVES), "strategies": DEFAULT_STRATEGY,
             "algorithms": ExploreConfig.algorithm, "seeds": 0}


@dataclass(frozen=True)
class Job:
    """One explore run of a campaign: plain data, so it travels to any worker."""

    name: str
    workload: str
    workload_path: str | list[str]
    space: str
    space_path: str | None
    objectives: str
    strategy: str
    algorithm: str
    budget_name: str
    budget: dict[str, Any]
    seed: int
    constraints: dict[str, float] = field(default_factory=dict)
    device: str = "cpu"
    refine: str | None = None

    def settings(self) -> dict[str, Any]:
        """The columns campaign.csv gives this job (its axis values)."""
        return {"job": self.name, "workload": self.workload, "space": self.space,
                "objectives": self.objectives, "strategy": self.strategy,
                "algorithm": self.algorithm, "budget": self.budget_name, "seed": self.seed}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Campaign:
    """A validated campaign: its jobs in file order, and where the file was."""

    jobs: tuple[Job, ...]
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "jobs": [j.to_dict() for j in self.jobs]}


def load_campaign(path: str | Path) -> Campaign:
    """Read and validate a campaign YAML file (strict loader); every problem at once."""
    from codesign.arch.io import load_yaml

    path = Path(path)
    return parse_campaign(load_yaml(path), base=path.resolve().parent, where=str(path))


def _named(raw: Any, axis: str, problems: list[str], name_of=None) -> dict[str, Any]:
    """An axis as ``{name: value}``: a mapping as it is, a list named by ``name_of`` (or
    the value itself), a scalar as a list of one."""
    if isinstance(raw, Mapping):
        items = [(str(k), v) for k, v in raw.items()]
    else:
        values = raw if isinstance(raw, list) else [raw]
        items = [((name_of(v) if name_of else str(v)), v) for v in values]
    if not items:
        problems.append(f"{axis}: empty; give at least one value")
    named: dict[str, Any] = {}
    for name, value in items:
        if not _NAME.match(name):
            problems.append(f"{axis}: name {short_repr(name)} must be 1-64 letters, digits "
                            "or _.+=- (it names the job's folder)")
        elif name in named:
            problems.append(f"{axis}: {name!r} appears twice")
        named[name] = value
    return named


def _resolved(value: str | list[str], resolve: Any) -> str | list[str]:
    """A job's workload path (or paths, for a mix) made absolute."""
    if isinstance(value, list):
        return [str(resolve(p).resolve()) for p in value]
    return str(resolve(value).resolve())


def _check_number(key: str, value: Any, problems: list[str], where: str) -> None:
    """``value`` against the range explore itself accepts for ``key``
    (`codesign.search.config.SETTINGS`), so a job never fails on a budget the file passed."""
    setting = SETTINGS[key]
    integer, low = setting.kind == "int", setting.minimum or 0
    strict = setting.exclusive or not integer
    ok = (isinstance(value, int) if integer else isinstance(value, (int, float))) \
        and not isinstance(value, bool) and (value > low if strict else value >= low)
    if not ok:
        kind = ("a positive integer" if integer and low == 1 else
                f"an integer >= {low:g}" if integer else
                "a positive number" if low == 0 else f"a number > {low:g}")
        problems.append(f"{where}{key}: {short_repr(value)} is not {kind}")


def _parse_budget(raw: Any, where: str, problems: list[str]) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: expected a mapping of {', '.join(BUDGET_KEYS)}")
        return {}
    problems += unknown_keys(raw, BUDGET_KEYS, f"{where}: ")
    budget = {k: v for k, v in raw.items() if k in BUDGET_KEYS and v is not None}
    for key, value in budget.items():
        _check_number(key, value, problems, f"{where}: ")
    return budget


def _check_choice(axis: str, value: Any, choices: Sequence[str], problems: list[str]) -> None:
    if value not in choices:
        problems.append(f"{axis}: {short_repr(value)} is not one of {', '.join(choices)}"
                        f"{did_you_mean(value, choices)}")


def parse_campaign(data: Any, *, base: Path | None = None,
                   where: str = "campaign") -> Campaign:
    """The campaign's jobs from its YAML data; `ConfigError` listing every problem.

    ``base``: the folder relative paths are read from (the campaign file's).
    """
    from codesign.arch.space import DesignSpace
    from codesign.search.problem import parse_objectives
    from codesign.search.strategies import ALGORITHMS, STRATEGIES

    base = base or Path.cwd()
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping with workloads, spaces, objectives, "
                          "strategies, algorithms, budget(s), seeds")
    problems: list[str] = []
    problems += unknown_keys(data, _TOP_KEYS)
    if "workloads" not in data:
        problems.append("workloads: missing; name at least one ONNX model")
    if "budget" in data and "budgets" in data:
        problems.append("give budget (one) or budgets (several), not both")

    def resolve(p: Any) -> Path:
        return Path(p) if Path(p).is_absolute() else base / str(p)

    workloads = _named(data.get("workloads", []), "workloads", problems,
                       name_of=lambda v: Path(str(v)).stem)
    for name, value in workloads.items():
        paths = value if isinstance(value, list) and len(value) >= 2 else [value]
        for path in paths:
            if not isinstance(path, str) or not path:
                problems.append(f"workloads: {name}: expected a path or a list of two or more "
                                f"paths, got {short_repr(path)}")
            elif not resolve(path).exists():
                problems.append(f"workloads: {name}: {resolve(path)} does not exist")
        if len(paths) > 1 and all(isinstance(p, str) and p for p in paths):
            try:
                workload_names(paths)
            except ConfigError as exc:
                problems.append(f"workloads: {name}: {str(exc).removeprefix('explore: ')}")
    spaces = _named(data.get("spaces", {"default": None}), "spaces", problems,
                    name_of=lambda v: "default" if v is None else Path(str(v)).stem)
    for name, value in spaces.items():
        if value is None:
            continue
        if not isinstance(value, str):
            problems.append(f"spaces: {name}: expected a path or null, got "
                            f"{short_repr(value)}")
            continue
        try:
            DesignSpace.from_yaml(resolve(value))
        except ConfigError as exc:
            problems.append(f"spaces: {name}: {exc}")
    objectives = _named(data.get("objectives", _DEFAULTS["objectives"]), "objectives",
                        problems, name_of=lambda v: "+".join(
                            n.strip() for n in str(v).split(",") if n.strip()))
    for value in objectives.values():
        try:
            parse_objectives(value if isinstance(value, (str, list)) else str(value))
        except ConfigError as exc:
            problems.append(f"objectives: {exc}")
    strategies = _named(data.get("strategies", _DEFAULTS["strategies"]), "strategies",
                        problems)
    for value in strategies.values():
        _check_choice("strategies", value, tuple(STRATEGIES), problems)
    algorithms = _named(data.get("algorithms", _DEFAULTS["algorithms"]), "algorithms",
                        problems)
    for value in algorithms.values():
        _check_choice("algorithms", value, ALGORITHMS, problems)
    seeds = _named(data.get("seeds", _DEFAULTS["seeds"]), "seeds", problems)
    for value in seeds.values():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            problems.append(f"seeds: {short_repr(value)} is not an integer >= 0")
    if "budgets" in data:
        raw_budgets = data["budgets"]
        if isinstance(raw_budgets, list):
            raw_budgets = {f"b{i}": b for i, b in enumerate(raw_budgets)}
        budgets = {name: _parse_budget(b, f"budgets: {name}", problems)
                   for name, b in _named(raw_budgets, "budgets", problems).items()}
    else:
        budgets = {"budget": _parse_budget(data.get("budget") or {}, "budget", problems)}
    constraints = data.get("constraints") or {}
    if not isinstance(constraints, Mapping):
        problems.append(f"constraints: expected a mapping of {', '.join(CONSTRAINT_KEYS)}")
        constraints = {}
    problems += unknown_keys(constraints, CONSTRAINT_KEYS, "constraints: ")
    for key, value in constraints.items():
        if key in CONSTRAINT_KEYS:
            _check_number(key, value, problems, "constraints: ")
    device = data.get("device", "cpu")
    _check_choice("device", device, ("auto", "cpu", "cuda"), problems)
    refine = data.get("refine")
    if refine is not None:
        _check_choice("refine", refine, ("none", "gradient"), problems)
    combine = data.get("combine", "product")
    _check_choice("combine", combine, ("product", "zip"), problems)
    axes = {"workloads": workloads, "spaces": spaces, "objectives": objectives,
            "strategies": strategies, "algorithms": algorithms, "budgets": budgets,
            "seeds": seeds}
    if combine == "zip":
        lengths = {len(v) for v in axes.values() if len(v) != 1}
        if len(lengths) > 1:
            problems.append("combine zip: every axis needs the same number of values (or "
                            "one); got " + ", ".join(f"{k} {len(v)}" for k, v in axes.items()))
    if problems:
        raise ConfigError(f"{where}: {joined_problems(problems)}")

    names = {axis: list(values) for axis, values in axes.items()}
    if combine == "zip":
        n = max(len(v) for v in names.values())
        rows = [tuple(v[i] if len(v) > 1 else v[0] for v in names.values()) for i in range(n)]
    else:
        rows = list(itertools.product(*names.values()))
    varying = [axis for axis, values in names.items() if len(values) > 1]
    jobs = []
    for row in rows:
        pick = dict(zip(names, row, strict=True))
        parts = [pick[a] if a != "seeds" else f"s{pick[a]}" for a in varying]
        name = "-".join(parts) or "job"
        space_value = spaces[pick["spaces"]]
        objective_value = objectives[pick["objectives"]]
        jobs.append(Job(
            name=name, workload=pick["workloads"],
            workload_path=_resolved(workloads[pick["workloads"]], resolve),
            space=pick["spaces"],
            space_path=None if space_value is None else str(resolve(space_value).resolve()),
            objectives=",".join(parse_objectives(objective_value)),
            strategy=strategies[pick["strategies"]], algorithm=algorithms[pick["algorithms"]],
            budget_name=pick["budgets"], budget=dict(budgets[pick["budgets"]]),
            seed=int(seeds[pick["seeds"]]), constraints=dict(constraints), device=device,
            refine=refine))
    duplicates = sorted({j.name for j in jobs if sum(k.name == j.name for k in jobs) > 1})
    if duplicates:
        raise ConfigError(f"{where}: jobs {', '.join(duplicates[:5])} appear more than once "
                          "(combine zip repeats a combination)")
    return Campaign(jobs=tuple(jobs), source=where)
