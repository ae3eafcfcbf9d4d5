"""`ExploreConfig`: the settings of one explore run, checked once, saved in ``run.json``.

One frozen object holds what `codesign.explore` and ``codesign explore`` may be told: the
objectives, the strategy and algorithm, the budget, the constraints, the mapper effort, the
seed, the device, the cost model's spec, the design space and how the ONNX model becomes a
workload. Each field carries a `Setting` (its meaning, its valid values, its command-line
option), so that

- the checks live here once and report every problem at once, on one line
  (``explore: population must be an integer >= 2, got 1; ...``), for the API and the CLI alike;
- ``run.json``'s ``config`` is written by `ExploreConfig.to_json` and read back for
  ``--resume`` by `ExploreConfig.from_json`;
- the options of ``codesign explore`` (their names, choices, defaults and help) are generated
  from `SETTINGS` (``cli.py``; a test checks that options and fields match).

The module imports neither torch nor numpy (``codesign --help`` reads it), so the names of
the strategies, algorithms and devices are restated here; a test checks them against
`codesign.search.strategies` and `codesign.device`.

>>> ExploreConfig(objectives="edp, area", population=8).objectives
('edp', 'area')
>>> ExploreConfig(mapper_candidates=1)
Traceback (most recent call last):
...
codesign.errors.ConfigError: explore: mapper candidates must be an integer >= 2, got 1
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codesign.errors import (
    ConfigError,
    did_you_mean,
    joined_problems,
    short_repr,
    unknown_keys,
)
from codesign.names import DEFAULT_OBJECTIVES

if TYPE_CHECKING:
    from codesign.arch.space import DesignSpace
    from codesign.search.run import Budget

__all__ = [
    "ALGORITHMS",
    "DEFAULT_GENERATIONS",
    "DEFAULT_MAPPER_CANDIDATES",
    "DEFAULT_MAPPER_STEPS",
    "DEFAULT_MIGRANTS",
    "DEFAULT_MIGRATE_EVERY",
    "DEFAULT_POPULATION",
    "POPULATION_ALGORITHMS",
    "DEFAULT_REFINE",
    "DEFAULT_STRATEGY",
    "DEVICE_NAMES",
    "MAPPER_MIN_CANDIDATES",
    "MAPPER_MIN_STEPS",
    "REFINE_METHODS",
    "RUN_FACTS",
    "SETTINGS",
    "STRATEGY_ALIASES",
    "STRATEGY_NAMES",
    "ExploreConfig",
    "Setting",
]

#: Default budget (docs/PERFORMANCE.md, "Explore": ResNet-50 well inside 60 s on 2 cores).
DEFAULT_POPULATION = 32
DEFAULT_GENERATIONS = 100
#: Default nested-mapper effort per design and generation (4 x 2 + 1 = 9 evaluations): at
#: equal evaluations a cheaper inner mapper explores more designs, and the front is mapped
#: again at the end anyway (docs/PERFORMANCE.md, "Strategies": 4 x 1 beat 8 x 2 by 1.0-1.9%
#: hypervolume on ResNet-50 and BERT-base).
DEFAULT_MAPPER_CANDIDATES = 4
DEFAULT_MAPPER_STEPS = 1
#: The mapper's limits (`codesign.search.mapper.search_mappings` checks the same ones): its
#: binary tournament needs two candidates; 0 steps costs the classic seed mappings and random
#: ones without improving them (what the sequential strategy's heuristic phase does).
MAPPER_MIN_CANDIDATES = 2
MAPPER_MIN_STEPS = 0

#: Strategies, as `codesign.search.strategies.STRATEGIES` names them; former names still
#: accepted (a run folder records the name it was started with); the default, which beats
#: the others at equal evaluations (docs/PERFORMANCE.md, "Strategies").
STRATEGY_NAMES: tuple[str, ...] = ("joint", "nested", "nested-cold", "sequential", "random")
STRATEGY_ALIASES: dict[str, str] = {"nested-warm": "nested"}
DEFAULT_STRATEGY = "nested"
#: pymoo algorithms of the outer search (`codesign.search.strategies.ALGORITHMS`).
ALGORITHMS: tuple[str, ...] = ("nsga2", "nsga3", "agemoea2", "smsemoa", "random")
#: The algorithms that keep a population, which islands exchange designs between
#: (`codesign.search.evolutionary.POPULATION_ALGORITHMS`).
POPULATION_ALGORITHMS: tuple[str, ...] = tuple(a for a in ALGORITHMS if a != "random")
#: Island model (`codesign.search.islands`): generations between two migrations, and
#: designs each island sends. Off by default (one island) until benchmarks/bench_islands.py
#: shows it wins at equal wall time (docs/SEARCH.md, "Islands").
DEFAULT_MIGRATE_EVERY = 5
DEFAULT_MIGRANTS = 2
#: Polishing of the final front: ``none`` or ``gradient`` (MGDA on the continuous
#: relaxation, `codesign.search.gradient.refine`). ``none`` by default: at equal wall time it
#: is neutral after the default nested strategy and wins after ``joint``
#: (docs/PERFORMANCE.md, "Gradient refinement").
REFINE_METHODS: tuple[str, ...] = ("none", "gradient")
DEFAULT_REFINE = "none"
#: Device names the CLI offers (`codesign.device.DEVICE_NAMES`; the API also takes
#: ``cuda:1``, checked by `codesign.device.resolve_device`).
DEVICE_NAMES: tuple[str, ...] = ("auto", "cpu", "cuda")

#: Keys of run.json's ``config`` that record what a run found, not what it was told (the
#: cost model's class, the workload's size): `ExploreConfig.from_json` skips them.
RUN_FACTS: tuple[str, ...] = ("cost_model", "n_unique_layers", "n_mac_layers")
#: Settings that run.json nests under ``"workload"`` (as ``path``, ``input_shapes``, ...).
_WORKLOAD = {"model": "path", "input_shapes": "input_shapes", "dims": "dims",
             "fusion": "fusion"}
#: Settings run.json holds only when they are given (a one-workload run.json is as before).
_ONLY_WHEN_SET = ("weights",)
_WHERE = "explore"


@dataclass(frozen=True)
class Setting:
    """What one field of `ExploreConfig` means, which values it takes, and its option.

    ``kind``: ``int``, ``float``, ``str``, ``bool``, ``choice`` (one of ``choices``, or a
    former name in ``also``; ``strict=False`` leaves the check to the code that uses it),
    ``names`` (comma-separated objective names), ``limits`` (name -> upper limit),
    ``shapes`` / ``dims`` / ``weights`` (graph input -> shape, symbolic dim -> size,
    workload -> inferences in the mix), ``paths`` (one path, or several), ``space`` (a
    `DesignSpace`, a YAML path on the command line). ``minimum``: the smallest value
    (``exclusive``: values must be above it). ``option``: the flag of ``codesign explore``
    (``MODEL``: its argument). ``on_resume`` (see `ExploreConfig.resumed`): ``saved`` (the
    run folder's value), ``given`` (a value given with ``--resume`` replaces the saved one),
    ``budget`` (one limit given replaces the saved budget) or ``call`` (always the caller's:
    the machine's device). ``default_text``: the CLI's ``[default: ...]``
    where the default is worked out later.
    """

    kind: str
    help: str
    option: str
    label: str = ""
    choices: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    strict: bool = True
    minimum: float | None = None
    exclusive: bool = False
    unit: str = ""
    metavar: str | None = None
    on_resume: str = "saved"
    default_text: str | None = None

    def problem(self, name: str, value: Any) -> str | None:
        """What is wrong with ``value`` for this setting (``None``: nothing); one line."""
        label = self.label or name.replace("_", " ")
        if value is None and self.kind in ("int", "float", "str", "shapes", "dims", "weights",
                                           "paths"):
            return None
        if self.kind == "int":
            bound = "" if self.minimum is None else f" >= {self.minimum:g}"
            if not _is_int(value) or (self.minimum is not None and value < self.minimum):
                return f"{label} must be an integer{bound}, got {short_repr(value)}"
        elif self.kind == "float":
            bound = "" if self.minimum is None else \
                f" {'>' if self.exclusive else '>='} {self.minimum:g}"
            unit = f" of {self.unit}" if self.unit else ""
            if not _is_number(value) or not math.isfinite(value) or (
                    self.minimum is not None and (value <= self.minimum if self.exclusive
                                                  else value < self.minimum)):
                return f"{label} must be a finite number{unit}{bound}, got {short_repr(value)}"
        elif self.kind == "str":
            if not isinstance(value, str):
                return f"{label} must be a string, got {short_repr(value)}"
        elif self.kind == "bool":
            if not isinstance(value, bool):
                return f"{label} must be true or false, got {short_repr(value)}"
        elif self.kind == "choice":
            if not isinstance(value, str) or self.strict and value not in (*self.choices,
                                                                           *self.also):
                return (f"unknown {label} {short_repr(value)}{did_you_mean(value, self.choices)}"
                        f" (choose one of {', '.join(self.choices)})")
        elif self.kind == "names":
            if not isinstance(value, tuple) or not value \
                    or not all(isinstance(n, str) and n for n in value) \
                    or len(set(value)) != len(value):
                return f"{label} must be one or more distinct names, got {short_repr(value)}"
        elif self.kind == "limits":
            return _limits_problem(label, value)
        elif self.kind in ("shapes", "dims", "weights"):
            return _sizes_problem(label, value, shape=self.kind == "shapes")
        elif self.kind == "paths":
            several = isinstance(value, tuple) and len(value) >= 2
            if value is not None and not (isinstance(value, str) or several and all(
                    isinstance(p, str) and p for p in value)):
                return (f"{label} must be a path or a sequence of paths, got "
                        f"{short_repr(value)}")
            if several and len(set(value)) != len(value):
                return f"{label}: {', '.join(sorted({p for p in value if value.count(p) > 1}))}" \
                       " given more than once"
        elif self.kind == "space":
            from codesign.arch.space import DesignSpace

            if not isinstance(value, DesignSpace):
                return f"{label} must be a DesignSpace, got {short_repr(value)}"
        return None


def _setting(default: Any = None, *, factory: Any = None, **setting: Any) -> Any:
    """A dataclass field of `ExploreConfig` with its `Setting` as metadata."""
    meta = {"setting": Setting(**setting)}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def _default_space() -> DesignSpace:
    from codesign.arch.space import DesignSpace

    return DesignSpace()


_COST_MODEL_HELP = ("Cost model: 'analytical' (default), an installed plugin's name "
                    "(entry points 'codesign.cost_models') or package.module:Name.")


@dataclass(frozen=True)
class ExploreConfig:
    """The settings of one explore run (`codesign.explore` takes them as keywords).

    Built once, checked once: a `ConfigError` lists every problem on one line. Loose forms
    are normalised (``objectives="edp,area"`` becomes ``("edp", "area")``, ``(name, value)``
    pairs become dicts); with no budget given ``generations`` is `DEFAULT_GENERATIONS`.
    `validate` checks the objective and constraint names against the cost model's.
    ``model`` is the ONNX file (resolved path; ``None`` for a `LayerTable`), explored with
    ``input_shapes``, ``dims`` and ``fusion`` as in `codesign.workload.table.load_onnx`;
    a tuple of files explores one accelerator for all of them (`codesign.workload.mix`),
    with ``weights`` the inferences of each in the mix.
    """

    objectives: tuple[str, ...] = _setting(
        DEFAULT_OBJECTIVES, kind="names", option="--objectives",
        help="Comma-separated objectives to minimise: latency, energy, area, edp, power "
             "(or one a custom --cost-model adds).")
    strategy: str = _setting(
        DEFAULT_STRATEGY, kind="choice", option="--strategy", choices=STRATEGY_NAMES,
        also=tuple(STRATEGY_ALIASES),
        help="Search strategy: nested searches hardware with a batched mapper inside that "
             "builds on the mappings of earlier generations; nested-cold maps every design "
             "from scratch; sequential costs designs with fixed mapping heuristics first; "
             "joint evolves hardware and mapping genes together; random samples both.")
    algorithm: str = _setting(
        "nsga2", kind="choice", option="--algorithm", choices=ALGORITHMS, strict=False,
        help="pymoo algorithm of the outer search.")
    population: int = _setting(
        DEFAULT_POPULATION, kind="int", option="--population", minimum=2,
        help="Designs per generation.")
    generations: int | None = _setting(
        None, kind="int", option="--generations", minimum=1, on_resume="budget",
        metavar="N", default_text=f"{DEFAULT_GENERATIONS} unless --max-evals or --time-limit "
                                  "is given",
        help="Stop after N generations.")
    max_evals: int | None = _setting(
        None, kind="int", option="--max-evals", minimum=1, on_resume="budget", metavar="N",
        help="At most N design evaluations (mapper candidates and the final remap "
             "included); too few for one generation and a remap is an error that says the "
             "minimum.")
    time_limit_s: float | None = _setting(
        None, kind="float", option="--time-limit", label="time limit", minimum=0,
        exclusive=True, unit="seconds", on_resume="budget", metavar="SECONDS",
        help="Seconds the search and the final remap may take together (the remap is "
             "scaled down to fit; start-up and writing the results come on top).")
    max_area_mm2: float | None = _setting(
        None, kind="float", option="--max-area", label="max area", minimum=0, exclusive=True,
        unit="mm2", metavar="MM2", help="Constraint: chip area at most MM2.")
    max_power_w: float | None = _setting(
        None, kind="float", option="--max-power", label="max power", minimum=0,
        exclusive=True, unit="W", metavar="W", help="Constraint: average power at most W watts.")
    constraints: dict[str, float] = _setting(
        factory=dict, kind="limits", option="--max", metavar="NAME=VALUE",
        help="Constraint: objective NAME at most VALUE, in its unit (latency s, energy J, "
             "area mm2, edp J*s, power W, or an objective the cost model adds), e.g. "
             "power=2.5 (repeatable).")
    cost_model_spec: str | None = _setting(
        None, kind="str", option="--cost-model", label="cost model", metavar="SPEC",
        on_resume="given", help=_COST_MODEL_HELP)
    mapper_candidates: int = _setting(
        DEFAULT_MAPPER_CANDIDATES, kind="int", option="--mapper-candidates",
        minimum=MAPPER_MIN_CANDIDATES,
        help="Nested strategy: mapping candidates per layer and design.")
    mapper_steps: int = _setting(
        DEFAULT_MAPPER_STEPS, kind="int", option="--mapper-steps", minimum=MAPPER_MIN_STEPS,
        help="Nested strategy: mapper steps per generation (0: the best of the starting "
             "candidates).")
    seed: int = _setting(0, kind="int", option="--seed", minimum=0, help="Random seed.")
    islands: int = _setting(
        1, kind="int", option="--islands", minimum=1,
        help="Independent populations (islands), each in its own worker process with a seed "
             "of its own, exchanging their best designs every --migrate-every generations; "
             "the front is the non-dominated set over all. Budget per island: --generations "
             "and --time-limit each, --max-evals split evenly. 1: one population in this "
             "process.")
    migrate_every: int = _setting(
        DEFAULT_MIGRATE_EVERY, kind="int", option="--migrate-every", minimum=1, metavar="N",
        help="Islands: generations between two migrations.")
    migrants: int = _setting(
        DEFAULT_MIGRANTS, kind="int", option="--migrants", minimum=1, metavar="N",
        help="Islands: designs each island sends to the next one (ring) at a migration, its "
             "best by rank and crowding; they replace the receiver's worst.")
    ray: bool = _setting(
        False, kind="bool", option="--ray/--no-ray",
        help='Islands: run them as Ray actors on a local Ray cluster started here, one CPU '
             'each, instead of local processes (pip install "codesign[ray]").')
    refine: str = _setting(
        DEFAULT_REFINE, kind="choice", option="--refine", label="refine method",
        choices=REFINE_METHODS, on_resume="given", default_text=DEFAULT_REFINE,
        help="Polish the final front: gradient = MGDA steps on the continuous relaxation, "
             "projected and re-costed exactly; worth it with --strategy joint.")
    device: str = _setting(
        "auto", kind="choice", option="--device", choices=DEVICE_NAMES, strict=False,
        on_resume="call", help="Torch device for the mapper and the cost model.")
    space: DesignSpace = _setting(
        factory=_default_space, kind="space", option="--space", label="design space",
        metavar="PATH",
        help="Design space YAML (ranges/choices of the HW parameters); default: built in.")
    model: str | tuple[str, ...] | None = _setting(
        None, kind="paths", option="MODEL",
        help="The ONNX model to explore, or several: one accelerator for all of them.")
    weights: dict[str, int] | None = _setting(
        None, kind="weights", option="--weight", metavar="NAME=N",
        help="Several models: inferences of model NAME (its file stem) in the mix whose "
             "latency and energy are minimised, the weighted sums of the models' (default 1 "
             "each; repeatable). Each model's own figures are objectives too: latency@NAME, "
             "energy@NAME, edp@NAME, power@NAME.")
    input_shapes: dict[str, tuple[int, ...]] | None = _setting(
        None, kind="shapes", option="--input-shape", metavar="NAME=AxBxC",
        help="Set a graph input's shape, e.g. input=1x3x224x224 (repeatable).")
    dims: dict[str, int] | None = _setting(
        None, kind="dims", option="--dim", metavar="NAME=INT",
        help="Set a named symbolic dim everywhere, e.g. batch=1 (repeatable).")
    fusion: bool = _setting(
        True, kind="bool", option="--fusion/--no-fusion",
        help="Run element-wise ops (bias, batch-norm, activations, residual adds) on the "
             "output stream of the layer before them, as an accelerator's post-processing "
             "unit does; --no-fusion costs each as its own DRAM round trip.")

    def __post_init__(self) -> None:
        for name, value in _normalised(self).items():
            object.__setattr__(self, name, value)
        problems = [p for f in dataclasses.fields(self)
                    if (p := SETTINGS[f.name].problem(f.name, getattr(self, f.name)))]
        if problems:
            raise ConfigError(f"{_WHERE}: " + joined_problems(problems))

    # -- derived views -------------------------------------------------------------------
    def budget(self) -> Budget:
        """The `Budget` of the run (whichever limit comes first)."""
        from codesign.search.run import Budget

        return Budget(population=self.population, generations=self.generations,
                      max_evals=self.max_evals, time_limit_s=self.time_limit_s)

    def validate(self, objective_names: Sequence[str]) -> None:
        """Check the objectives and constraint names against ``objective_names`` (what the
        run's cost model offers, `codesign.cost.model.objective_names`) and the algorithm
        against the search registry (`codesign.search.searches.SEARCHES`, which code may
        extend; the CLI offers the built-in ones); a `ConfigError` lists every unknown
        name."""
        allowed = tuple(objective_names)
        problems = []
        unknown = [n for n in self.objectives if n not in allowed]
        if unknown:
            problems.append(f"objectives {','.join(self.objectives)!r}: need one or more "
                            f"distinct names from {', '.join(allowed)} (unknown: "
                            f"{', '.join(unknown)}){did_you_mean(unknown[0], allowed)}")
        from codesign.search.searches import SEARCHES  # the registry, with added searches

        if self.algorithm not in SEARCHES:
            problems.append(f"unknown algorithm {short_repr(self.algorithm)}"
                            f"{did_you_mean(self.algorithm, tuple(SEARCHES))} (choose one of "
                            f"{', '.join(SEARCHES)})")
        problems += self._island_problems()
        bad = [n for n in self.constraints if n not in allowed]
        if bad:
            problems.append("constraints: " + "; ".join(
                f"unknown name {n!r}{did_you_mean(n, allowed)} (known: {', '.join(allowed)})"
                for n in bad))
        if problems:
            raise ConfigError(f"{_WHERE}: " + joined_problems(problems))

    def _island_problems(self) -> list[str]:
        """What is wrong with the island settings together with the others."""
        problems = []
        if self.islands > 1:
            if self.strategy == "random" or self.algorithm not in POPULATION_ALGORITHMS:
                kept = "strategy random" if self.strategy == "random" else \
                    f"algorithm {short_repr(self.algorithm)}"
                problems.append(f"islands {self.islands}: migration moves designs between "
                                f"populations and {kept} keeps none; use --islands 1 or an "
                                f"algorithm of {', '.join(POPULATION_ALGORITHMS)}")
            if self.migrants >= self.population:
                problems.append(f"migrants {self.migrants}: must be below the population "
                                f"({self.population}) that receives them")
        if self.ray:
            import importlib.util

            if self.islands == 1:
                problems.append("ray runs islands as Ray actors: give --islands 2 or more")
            elif importlib.util.find_spec("ray") is None:
                problems.append('ray needs Ray: pip install "codesign[ray]"')
        return problems

    def replace(self, **changes: Any) -> ExploreConfig:
        """A copy with ``changes``, checked again."""
        return dataclasses.replace(self, **changes)

    def resumed(self, **call: Any) -> ExploreConfig:
        """This saved config, resumed with the caller's settings ``call`` (``None``: not
        given): a budget given replaces the saved budget as a whole, a ``given`` setting
        (refine, cost model) replaces the saved one, a ``call`` setting (the device) is
        always the caller's; the rest is the run folder's (`Setting.on_resume`).

        An island run is refused: its checkpoint is the merged front, not the islands'
        populations and migration schedule, so it could not go on as it would have."""
        if self.islands > 1:
            raise ConfigError(f"--resume: this run used {self.islands} islands, and an island "
                              "run cannot be resumed (docs/SEARCH.md, \"Islands\"); its "
                              "results are in the folder; start a new run with --out")
        changes: dict[str, Any] = {}
        budget = {n: v for n, v in call.items() if SETTINGS[n].on_resume == "budget"}
        if any(v is not None for v in budget.values()):
            changes.update({n: None for n, s in SETTINGS.items() if s.on_resume == "budget"},
                           **budget)
        for name, value in call.items():
            on_resume = SETTINGS[name].on_resume
            if on_resume == "call" or on_resume == "given" and value is not None:
                changes[name] = value
        return self.replace(**changes)

    # -- run.json ------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """run.json's ``config`` (plain JSON data; `from_json` reads it back).

        The workload settings go under ``"workload"``; they are ``null`` for a workload
        given as a `LayerTable` (``model`` is ``None``)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name not in _WORKLOAD and not (f.name in _ONLY_WHEN_SET
                                                and getattr(self, f.name) is None):
                out[f.name] = _to_json(getattr(self, f.name))
        out["space"] = self.space.to_dict()
        onnx = self.model is not None
        out["workload"] = {
            "path": _to_json(self.model),
            "input_shapes": _to_json(self.input_shapes) if onnx else None,
            "dims": _to_json(self.dims) if onnx else None,
            "fusion": self.fusion if onnx else None}
        return out

    @classmethod
    def from_json(cls, data: Any, where: str = "run.json config") -> ExploreConfig:
        """The config `to_json` wrote (also by earlier versions: ``constraints``,
        ``refine``, ``cost_model_spec``, the island settings and ``workload.fusion`` may be
        missing); every
        problem of a damaged or edited file at once, as one `ConfigError` naming ``where``.
        The keys in `RUN_FACTS` are skipped."""
        from codesign.arch.space import DesignSpace

        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected an object of settings, got "
                              f"{type(data).__name__}")
        problems: list[str] = []
        names = [f.name for f in dataclasses.fields(cls)]
        keys = [n for n in names if n not in _WORKLOAD] + ["workload"]
        optional = {"constraints": {}, "refine": None, "cost_model_spec": None,
                    "weights": None, "islands": 1, "migrate_every": DEFAULT_MIGRATE_EVERY,
                    "migrants": DEFAULT_MIGRANTS, "ray": False}
        problems += unknown_keys([k for k in data if k not in RUN_FACTS], keys)
        problems += [f"missing key {k!r}" for k in keys if k not in data and k not in optional]
        kwargs = {k: data.get(k, optional.get(k)) for k in keys if k in data or k in optional}
        kwargs["constraints"] = kwargs.get("constraints") or {}
        if kwargs.get("refine") is None:
            kwargs["refine"] = DEFAULT_REFINE
        try:
            kwargs["space"] = DesignSpace.from_dict(data.get("space"), where=f"{where} space")
        except ConfigError as exc:
            problems.append(str(exc))
            kwargs["space"] = DesignSpace()
        workload = kwargs.pop("workload", None)
        if isinstance(workload, dict):
            for name, key in _WORKLOAD.items():
                if workload.get(key) is not None:
                    kwargs[name] = workload[key]
        elif "workload" in data:
            problems.append(f"workload must be an object, got {short_repr(workload)}")
        kwargs = {k: v for k, v in kwargs.items() if k in names}
        try:
            config = cls(**kwargs)
        except ConfigError as exc:  # the settings' own problems, after those of the file
            problems.append(str(exc).removeprefix(f"{_WHERE}: "))
        if problems:
            raise ConfigError(f"{where}: " + joined_problems(problems))
        return config


#: The `Setting` of every `ExploreConfig` field, in field order.
SETTINGS: dict[str, Setting] = {f.name: f.metadata["setting"]
                                for f in dataclasses.fields(ExploreConfig)}


# -- normalising and checking -------------------------------------------------------------

def _normalised(config: ExploreConfig) -> dict[str, Any]:
    """The loose forms of ``config``'s values made canonical (values of the wrong type are
    left as they are, for the checks to name)."""
    out: dict[str, Any] = {}
    objectives = config.objectives
    if isinstance(objectives, str):
        objectives = tuple(n.strip() for n in objectives.split(",") if n.strip())
    elif isinstance(objectives, Sequence):
        objectives = tuple(objectives)
    out["objectives"] = objectives
    constraints = _as_dict(config.constraints, empty={})
    if isinstance(constraints, dict):  # limits are floats (an int limit 64 is 64.0)
        constraints = {k: float(v) if _is_number(v) else v for k, v in constraints.items()}
    out["constraints"] = constraints
    model = config.model
    if isinstance(model, Sequence) and not isinstance(model, str):
        model = tuple(str(p) if isinstance(p, Path) else p for p in model)
        model = model[0] if len(model) == 1 else model  # one workload is the plain case
    out["model"] = str(model) if isinstance(model, Path) else model
    out["weights"] = _as_dict(config.weights, empty=None)
    out["input_shapes"] = _as_dict(config.input_shapes, empty=None, tuples=True)
    out["dims"] = _as_dict(config.dims, empty=None)
    if config.space is None:
        out["space"] = _default_space()
    if config.generations is None and config.max_evals is None and config.time_limit_s is None:
        out["generations"] = DEFAULT_GENERATIONS
    return out


def _as_dict(value: Any, empty: Any, tuples: bool = False) -> Any:
    """A mapping, or ``(name, value)`` pairs (repeated CLI options), as a new dict."""
    if value is None:
        return empty
    if not isinstance(value, Mapping):
        try:
            value = dict(value)
        except (TypeError, ValueError):
            return value
    if not value:
        return empty
    if tuples:
        return {k: tuple(v) if isinstance(v, (list, tuple)) else v for k, v in value.items()}
    return dict(value)


def _limits_problem(label: str, value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"{label} must be a mapping of objective name -> limit, got {short_repr(value)}"
    bad = [f"{short_repr(k)}: limit must be a finite number > 0, got {short_repr(v)}"
           for k, v in value.items()
           if not isinstance(k, str) or not _is_number(v) or not 0 < v < math.inf]
    return f"{label}: " + "; ".join(bad) if bad else None


def _sizes_problem(label: str, value: Any, shape: bool) -> str | None:
    def ok(size: Any) -> bool:
        if shape:
            return isinstance(size, tuple) and bool(size) and all(
                _is_int(s) and s >= 1 for s in size)
        return _is_int(size) and size >= 1

    what = "a shape of positive integers" if shape else "a positive integer"
    if not isinstance(value, dict) or not all(isinstance(k, str) and ok(v)
                                              for k, v in value.items()):
        return f"{label} must map names to {what}, got {short_repr(value)}"
    return None


def _to_json(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


