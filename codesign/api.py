"""`explore`: the library entry point of ``codesign explore`` (model in, Pareto designs out).

Picks the device once, builds the evaluator and strategy, runs the search, re-costs the
archive exactly and turns it into `ParetoDesign` records; with ``out`` it also writes the
run folder (``pareto.csv``, ``designs.json``, ``history.csv``, ``run.json``, ``pareto.png``,
plus a JSON + ``.npz`` checkpoint every few seconds and at the end, for ``resume``).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import os
import platform
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codesign.arch.space import DesignSpace
from codesign.errors import ConfigError, RunError
from codesign.names import DEFAULT_OBJECTIVES
from codesign.results.pareto import PARETO_COLUMNS, ParetoDesign
from codesign.search.config import (
    DEFAULT_GENERATIONS,
    DEFAULT_MAPPER_CANDIDATES,
    DEFAULT_MAPPER_STEPS,
    DEFAULT_MIGRANTS,
    DEFAULT_MIGRATE_EVERY,
    DEFAULT_POPULATION,
    DEFAULT_REFINE,
    REFINE_METHODS,
    RUN_FACTS,
    ExploreConfig,
)
from codesign.search.run import Budget, GenerationStats, RunState
from codesign.workload.layer import DIMS, TENSORS, LayerTable
from codesign.workload.mix import WorkloadMix

#: What `explore` takes as its workload: one `LayerTable` or path, several paths (one
#: accelerator for all), or several named tables or paths.
Workloads = LayerTable | str | Path | Sequence[str | Path] | Mapping[str, LayerTable | str | Path]

# the defaults and refine methods are `codesign.search.config`'s, named here as before
__all__ = ["DEFAULT_GENERATIONS", "DEFAULT_MAPPER_CANDIDATES", "DEFAULT_MAPPER_STEPS",
           "DEFAULT_POPULATION", "DEFAULT_REFINE", "REFINE_METHODS", "ExploreConfig",
           "ExploreResult", "explore"]

#: Files a run folder holds; ``--force`` removes exactly these before a new run.
RUN_FILES: tuple[str, ...] = ("pareto.csv", "designs.json", "history.csv", "run.json",
                              "pareto.png", "checkpoint.json", "checkpoint.npz",
                              "report.html", "layers.png", "roofline.png", "convergence.png")


@dataclass
class ExploreResult:
    """What `explore` found: the Pareto designs (sorted by the first objective), the
    per-generation history and the run record (``run.json``)."""

    pareto: list[ParetoDesign]
    history: list[dict[str, Any]]
    run: dict[str, Any]
    table: LayerTable = field(repr=False)

    @property
    def interrupted(self) -> bool:
        return bool(self.run.get("interrupted"))

    def rows(self) -> list[dict[str, Any]]:
        """``pareto.csv`` rows."""
        return [d.row() for d in self.pareto]

    def columns(self) -> tuple[str, ...]:
        """``pareto.csv`` columns: `PARETO_COLUMNS`, then a custom cost model's added
        objectives."""
        extra = [k for d in self.pareto[:1] for k in d.metrics if k not in PARETO_COLUMNS]
        return (*PARETO_COLUMNS, *extra)

    def to_csv(self) -> str:
        """``pareto.csv`` as text (one row per Pareto design)."""
        from codesign.results.export import generate_csv

        return generate_csv(self.rows(), self.columns())

    def to_json(self) -> str:
        """`to_dict` as indented JSON text."""
        from codesign.results.export import generate_json

        return generate_json(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """Plain data: run record, Pareto designs with per-layer mappings, history."""
        return {"run": self.run, "designs": [d.to_dict() for d in self.pareto],
                "history": self.history}

    def write(self, folder: str | Path, plot: bool = True, report: bool = True) -> None:
        """Write the result files (each atomically) into ``folder``; with ``report`` also
        ``report.html`` (and, with ``plot``, its PNGs; `codesign.results.report`)."""
        from codesign.results.export import write_csv, write_json

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        write_csv(folder / "pareto.csv", self.rows(), self.columns())
        write_json(folder / "designs.json", {"objectives": self.run["config"]["objectives"],
                                             "designs": [d.to_dict() for d in self.pareto]})
        columns = list(self.history[0]) if self.history else ["generation", "evaluations"]
        write_csv(folder / "history.csv", self.history, columns)
        if plot:
            from codesign.results.plots import plot_pareto

            plot_pareto(self.pareto, folder / "pareto.png")
        write_json(folder / "run.json", self.run)
        if report:
            from codesign.results.report import write_report

            write_report(folder, png=plot)


def _versions() -> dict[str, str]:
    import numpy
    import pymoo
    import torch

    from codesign import __version__

    return {"codesign": __version__, "python": platform.python_version(),
            "torch": torch.__version__, "numpy": numpy.__version__,
            "pymoo": getattr(pymoo, "__version__", "?")}


def _printable(path: str | Path) -> str:
    """``path`` as text that can be printed and written as UTF-8: a byte that is not UTF-8
    (kept by Python as a surrogate) shows as ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _check_path_text(path: str | Path, option: str) -> None:
    """A path codesign will write into run.json and report.html must be valid UTF-8 text."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(f"{option} {_printable(path)}: the name is not valid UTF-8 "
                          "(run.json and report.html record it as text); rename it or pick "
                          "another path") from None


def _check_out(out: Path, force: bool) -> list[str]:
    """The run files already in ``out`` (a `ConfigError` if there are some and not
    ``force``); nothing is removed here: `_clear_out` does that once every input is valid."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a folder; pick another path")
    existing = [name for name in RUN_FILES if (out / name).exists()]
    if existing and not force:
        raise ConfigError(f"--out {out}: already holds a run ({', '.join(existing)}); pass "
                          "--force to overwrite it or --resume to continue it")
    return existing


def _clear_out(out: Path, existing: Sequence[str]) -> None:
    for name in existing:
        (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def _guarded(fn: Callable[..., ExploreResult]) -> Callable[..., ExploreResult]:
    """Run `explore` holding the output folder's lock (one run per folder) and with SIGTERM
    and SIGHUP stopping it like Ctrl-C (docs/GUARANTEES.md, "Runs")."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> ExploreResult:
        from codesign.results.lock import lock_folder
        from codesign.search.interrupt import interrupt_on_signals

        resume, out = kwargs.get("resume"), kwargs.get("out")
        folder = resume if resume is not None else out
        if folder is not None:  # before the lock creates the folder
            _check_path_text(folder, "--resume" if resume is not None else "--out")
        lock = (lock_folder(folder, "--resume" if resume is not None else "--out")
                if folder is not None else contextlib.nullcontext())
        with interrupt_on_signals(), lock:
            return fn(*args, **kwargs)
    return wrapper


@_guarded
def explore(
    workload: Workloads | None = None,
    space: Any = None,
    *,
    objectives: str | Sequence[str] = DEFAULT_OBJECTIVES,
    strategy: str | None = None,
    algorithm: str = "nsga2",
    population: int | None = None,
    generations: int | None = None,
    max_evals: int | None = None,
    time_limit_s: float | None = None,
    max_area_mm2: float | None = None,
    max_power_w: float | None = None,
    constraints: Mapping[str, float] | None = None,
    mapper_candidates: int = DEFAULT_MAPPER_CANDIDATES,
    mapper_steps: int = DEFAULT_MAPPER_STEPS,
    refine: str | None = None,
    seed: int = 0,
    islands: int = 1,
    migrate_every: int = DEFAULT_MIGRATE_EVERY,
    migrants: int = DEFAULT_MIGRANTS,
    ray: bool = False,
    device: str = "auto",
    out: str | Path | None = None,
    force: bool = False,
    resume: str | Path | None = None,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    dims: Mapping[str, int] | None = None,
    fusion: bool = True,
    weights: Mapping[str, int] | None = None,
    progress: Callable[[GenerationStats], None] | None = None,
    cost_model: Any = None,
    command: Sequence[str] | None = None,
    plot: bool = True,
    notify: Callable[[str], None] | None = None,
) -> ExploreResult:
    """Search accelerator designs and per-layer mappings jointly; return the Pareto front.

    The settings are the fields of `ExploreConfig` (codesign.search.config), which checks
    them all at once (one `ConfigError` line) and is saved as run.json's ``config``.
    ``space``: a `DesignSpace` (default: the built-in one) or a
    `codesign.search.hierarchy_space.HierarchySpace` over a base hierarchy, whose run returns
    a `codesign.results.hierarchy.HierarchyResult` in the architecture's level names
    (`_explore_hierarchy` says what it does not take).
    ``workload``: a `LayerTable` or an ONNX path (``input_shapes`` and ``dims`` fix symbolic
    inputs and ``fusion`` runs element-wise ops on their producer's output stream, as in
    `load_onnx`). Several workloads (a sequence of paths, named by their file stems, or a
    mapping of name -> `LayerTable` or path) search one accelerator for all of them
    (`codesign.workload.mix`): each layer shape is mapped once, the objectives are the
    mix's (``weights``: inferences of each workload, 1 by default; latency and energy are
    the weighted sums) and each workload's own (``latency@name``, ``energy@name``,
    ``edp@name``, ``power@name``), which may be minimised or constrained too.
    Budget: ``population`` designs per generation, stopping at ``generations``,
    ``max_evals`` design evaluations or ``time_limit_s`` seconds, whichever comes first
    (defaults: `DEFAULT_POPULATION` x `DEFAULT_GENERATIONS` when none is given).
    Mapper effort of the nested strategy: ``mapper_candidates`` (>= 2) per layer and design,
    ``mapper_steps`` (>= 0; 0 keeps the best starting candidate) per generation.
    ``resume``: a run folder to continue from its checkpoint (its saved configuration is
    used; a budget, ``refine`` or ``cost_model`` given here replaces the saved one, and
    ``device`` is this call's). Ctrl-C stops after writing the front
    found so far; the result then has ``interrupted`` set. A Ctrl-C once the search has
    ended waits until the files are written, then raises `KeyboardInterrupt`; a second one
    raises it at once.
    ``refine``: polish the final front, one of `REFINE_METHODS` (default `DEFAULT_REFINE`,
    or the saved run's); ``gradient`` needs the analytical cost model.
    ``constraints``: upper limits on any objective name, e.g. ``{"power": 2.0}`` or an
    objective a custom cost model adds (``max_area_mm2`` / ``max_power_w`` are shorthands).
    ``cost_model``: a `CostModel`, a spec for `load_cost_model` (``"analytical"``, a plugin
    name, ``"package.module:Name"``) or a per-design function (wrapped in
    `FunctionCostModel`); default: the analytical model with the space's technology. A spec
    is saved in the run folder and ``resume`` loads it again; a model passed as an object
    must be passed again to ``resume`` (it refuses to go on with another model). A run
    folder never names code to import: ``resume`` re-loads a ``package.module:Name`` spec
    only when it is given again as ``cost_model``; without one it loads the analytical model
    or an installed ``codesign.cost_models`` plugin by its registered name.
    ``islands``: more than 1 runs that many populations in worker processes (``ray``:
    Ray actors), each with a seed of its own, sending their ``migrants`` best designs to
    the next island every ``migrate_every`` generations; the front is the non-dominated
    set over all (`codesign.search.islands`; an island run cannot be resumed).
    ``notify``: called with one line of text for what the user should know (which cost
    model a resumed run uses); nothing is printed.
    Every input is checked before ``out`` is touched: with ``force`` the old run's files are
    removed only once the model, design space, cost model and options are valid. A run that
    fails after it started records ``"status": "failed"`` and the error in ``run.json``.
    """
    from codesign.cost.model import objective_names
    from codesign.names import workload_objectives
    from codesign.workload.mix import check_weights

    if space is not None and not isinstance(space, DesignSpace):
        from codesign.search.hierarchy_space import HierarchySpace

        if isinstance(space, HierarchySpace):
            return _explore_hierarchy(
                workload, space, resume=resume, cost_model=cost_model, refine=refine,
                islands=islands, ray=ray, weights=weights,
                out=out, force=force, progress=progress, command=command,
                objectives=objectives, strategy=strategy, algorithm=algorithm,
                population=population, generations=generations, max_evals=max_evals,
                time_limit_s=time_limit_s, max_area_mm2=max_area_mm2,
                max_power_w=max_power_w, constraints=constraints,
                mapper_candidates=mapper_candidates, mapper_steps=mapper_steps, seed=seed,
                device=device, input_shapes=input_shapes, dims=dims, fusion=fusion)
    spec = cost_model if isinstance(cost_model, str) else None
    workload_settings = {"input_shapes": input_shapes, "dims": dims, "fusion": fusion}
    resumed: _Resumed | None = None
    if resume is not None:
        if weights:
            raise ConfigError("--resume goes on with the run's saved workload weights; do not "
                              "pass weights with it (start a new run to change them)")
        config, resumed = _resumed_config(
            Path(resume), workload, workload_settings, cost_model,
            generations=generations, max_evals=max_evals, time_limit_s=time_limit_s,
            refine=refine, cost_model_spec=spec, device=device)
        workload = workload if workload is not None else config.model
        cost_model, out = resumed.cost_model, resumed.folder
    else:
        if workload is None:
            raise ConfigError("explore: give a workload (a LayerTable or an ONNX path)")
        defaulted = {"strategy": strategy, "population": population, "refine": refine}
        config = ExploreConfig(
            objectives=objectives, algorithm=algorithm, generations=generations,
            max_evals=max_evals, time_limit_s=time_limit_s, max_area_mm2=max_area_mm2,
            max_power_w=max_power_w, constraints=constraints,
            mapper_candidates=mapper_candidates, mapper_steps=mapper_steps, seed=seed,
            islands=islands, migrate_every=migrate_every, migrants=migrants, ray=ray,
            device=device, cost_model_spec=spec, space=space, model=_model_path(workload),
            weights=weights, **workload_settings,
            **{k: v for k, v in defaulted.items() if v is not None})
    if cost_model is not None:
        from codesign.cost.loading import as_cost_model

        cost_model = as_cost_model(cost_model)
    names = _workload_names(workload, config)
    config.validate((*objective_names(cost_model), *workload_objectives(names)))
    if names:
        check_weights(config.weights, names)
    elif config.weights:
        raise ConfigError("explore: weights weigh several workloads in a mix; this run has "
                          "one workload: drop the weights or give more workloads")
    return _run(config, workload, cost_model, resumed, out=out, force=force,
                progress=progress, command=command, plot=plot, notify=notify)


@dataclass(frozen=True)
class _Resumed:
    """What `explore` needs of the run folder it resumes besides the config: run.json's
    `RUN_FACTS`, the checkpoint, the cost model to go on with and a line saying which."""

    folder: Path
    facts: dict[str, Any]
    state: RunState
    cost_model: Any
    which: str


def _resumed_config(folder: Path, workload: Any, workload_settings: dict[str, Any],
                    cost_model: Any, **call: Any) -> tuple[ExploreConfig, _Resumed]:
    """The saved config of ``folder`` with the caller's settings ``call`` that a resumed
    run takes (`ExploreConfig.resumed`); a workload given again comes with the caller's
    workload settings."""
    saved, facts, state = _load_resume(folder)
    config = saved.resumed(**call)
    if workload is not None:
        config = config.replace(model=_model_path(workload), **workload_settings)
    elif config.model is None:
        raise RunError(f"{folder}: the run explored an in-memory workload; pass the "
                       "same LayerTable to explore(..., resume=...)")
    cost_model, which = _resume_cost_model(config.cost_model_spec, facts, folder, cost_model)
    return config, _Resumed(folder, facts, state, cost_model, which)


def _run(config: ExploreConfig, workload: LayerTable | str, cost_model: Any,
         resumed: _Resumed | None, *, out: str | Path | None, force: bool,
         progress: Callable[[GenerationStats], None] | None, command: Sequence[str] | None,
         plot: bool, notify: Callable[[str], None] | None) -> ExploreResult:
    """Run a checked config: load the workload, build the evaluator, search, write."""
    from codesign.search.searches import check_search
    from codesign.search.strategies import strategy as get_strategy

    strat = get_strategy(config.strategy)
    space = config.space
    budget = config.budget()
    check_search(config.algorithm, len(config.objectives), budget.population)  # numba?
    saved_state = resumed.state if resumed is not None else None
    resume = resumed.folder if resumed is not None else None

    out_path = Path(out) if out is not None else None
    existing: list[str] = []
    if out_path is not None and resume is None:
        existing = _check_out(out_path, force)  # removed only once every input is valid

    # -- heavy imports and inputs -------------------------------------------------------
    import torch

    from codesign.device import resolve_device
    from codesign.mapping.batch import WorkloadTensors
    from codesign.search.problem import BatchEvaluator, MapperEffort

    loaded = _load_workloads(workload, config)
    mix = loaded if isinstance(loaded, WorkloadMix) else None
    table = mix.union if mix is not None else loaded
    dev = resolve_device(config.device)
    _check_sizes_fit(strat, space, table, budget.population, config.mapper_candidates, dev)
    if cost_model is None:
        from codesign.arch.presets import resolve_technology
        from codesign.cost.analytical import AnalyticalCostModel

        cost_model = AnalyticalCostModel(resolve_technology(space.technology))
    if resumed is not None:
        _check_same_model(resumed.facts, resumed.folder, cost_model)
    inner = cost_model
    if config.refine == "gradient":
        from codesign.cost.analytical import AnalyticalCostModel

        if mix is not None:
            raise ConfigError("refine gradient differentiates one workload's analytical cost; "
                              "this run has several workloads: use refine none")
        if not isinstance(cost_model, AnalyticalCostModel):
            raise ConfigError(f"refine gradient differentiates the analytical cost model; "
                              f"this run uses {type(cost_model).__name__}: use refine none")
    if mix is not None:
        from codesign.cost.mix import MixCostModel

        cost_model = MixCostModel(inner, mix)
    evaluator = BatchEvaluator(
        space, WorkloadTensors.from_table(table, device=dev), cost_model, config.objectives,
        mode=strat.mode, max_area_mm2=config.max_area_mm2, max_power_w=config.max_power_w,
        effort=strat.effort or MapperEffort(config.mapper_candidates, config.mapper_steps),
        seed=config.seed, device=dev, constraints=config.constraints)

    run: dict[str, Any] = {
        "command": list(command) if command is not None else None,
        "config": {**config.to_json(), "cost_model": _class_path(type(inner)),
                   "n_unique_layers": len(table), "n_mac_layers": table.n_mac_layers},
        **({"workloads": mix.to_dict()} if mix is not None else {}),
        "seed": config.seed, "device": str(dev),
        "device_name": (torch.cuda.get_device_name(dev) if dev.type == "cuda"
                        else platform.processor() or platform.machine()),
        "versions": _versions(),
        "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "resumed_from_generation": saved_state.generation if saved_state else None,
        "status": "running", "interrupted": False,
    }

    from codesign.results.export import write_json
    from codesign.search.checkpoint import write_checkpoint
    from codesign.search.run import check_state

    if saved_state is None:
        _check_island_budget(config, evaluator, strat, budget)
    else:
        check_state(saved_state, evaluator.n_var, space.n_genes, evaluator.n_layers,
                    len(config.objectives), f"{resume}/checkpoint.npz")
        if notify is not None:  # every input is valid: say which model goes on
            notify(resumed.which)
    written = False
    try:
        if out_path is not None:
            _clear_out(out_path, existing)
            write_json(out_path / "run.json", run)
        state, refined = _search(out_path, evaluator, strat, config.algorithm, budget,
                                 config.seed, saved_state, config.refine, dev, progress,
                                 islands=config)
        from codesign.search.interrupt import deferred_signals

        # from here on a first Ctrl-C/SIGTERM waits until every file is written (they
        # belong together); a second one stops at once
        with deferred_signals() as received:
            if out_path is not None:
                write_checkpoint(out_path, *state.to_checkpoint())
            result = _result(run, evaluator, space, table, state, config.refine, refined,
                             mix)
            if out_path is not None:
                result.write(out_path, plot=plot)
            written = True
        if received:  # the run finished and is written; the signal still stops the caller
            raise KeyboardInterrupt("stopped while the results were written")
        return result
    except KeyboardInterrupt:  # stopped outside the search loop (a second Ctrl-C, say)
        if not written:
            _record_stop(out_path, run, "interrupted", None)
        raise
    except Exception as exc:  # disk full, out of memory, a failing cost model
        _record_stop(out_path, run, "failed", exc)
        raise


def _record_stop(out_path: Path | None, run: dict[str, Any], status: str,
                 exc: BaseException | None) -> None:
    """Say in run.json that the run stopped early (best effort: the disk may be full)."""
    if out_path is None:
        return
    from codesign.results.export import write_json

    run.update({"status": status, "interrupted": status == "interrupted",
                "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")})
    if exc is not None:
        run["error"] = f"{type(exc).__name__}: {exc}"[:2000]
    with contextlib.suppress(Exception):
        write_json(out_path / "run.json", run)


def _check_island_budget(config: ExploreConfig, evaluator, strat, budget: Budget) -> None:
    """`check_budget` for one island's share of the budget (the whole one without
    islands)."""
    from codesign.search.run import check_budget

    if config.islands == 1:
        check_budget(evaluator, strat, budget)
        return
    from codesign.search.islands import island_budget

    share = island_budget(budget, config.islands)
    try:
        check_budget(evaluator, strat, share)
    except ConfigError as exc:
        raise ConfigError(f"islands {config.islands}: each island gets {share.max_evals} of "
                          f"the evaluations; {exc}") from None


def _search(out_path: Path | None, evaluator, strat, algorithm: str, budget: Budget,
            seed: int, saved_state: RunState | None, refine: str, dev,
            progress: Callable[[GenerationStats], None] | None,
            islands: ExploreConfig | None = None) -> tuple[RunState, Any]:
    """The search (and the optional refinement), checkpointed every few seconds and after
    the remap (the caller writes the last state in any case). With ``islands`` (a config
    of more than one island) the islands search in workers (`codesign.search.islands`;
    no checkpoints on the way: an island run cannot be resumed)."""
    from codesign.search.checkpoint import CheckpointWriter
    from codesign.search.run import run_search

    writer = CheckpointWriter(out_path) if out_path is not None else None

    def on_generation(state: RunState, stats: GenerationStats) -> None:
        if writer is not None:
            writer.maybe_write(state, force=stats.phase != "search")
        if progress is not None:
            progress(stats)

    with _cpu_threads(1 if dev.type == "cpu" else None):
        if islands is not None and islands.islands > 1:
            from codesign.search.islands import IslandPlan, island_budget, run_islands

            plan = IslandPlan(strat, algorithm, island_budget(budget, islands.islands), seed,
                              islands.islands, islands.migrate_every, islands.migrants)
            state = run_islands(evaluator, plan, progress=progress,
                                workers="ray" if islands.ray else "processes")
        else:
            state = run_search(evaluator, strat, algorithm, budget, seed=seed,
                               state=saved_state, on_generation=on_generation)
        refined = None
        if refine == "gradient" and not state.interrupted and len(state.archive):
            from codesign.search.gradient import refine_run

            refined = refine_run(state, evaluator, on_generation=on_generation)
    return state, refined


def _result(run: dict[str, Any], evaluator, space: DesignSpace, table: LayerTable,
            state: RunState, refine: str, refined: Any, mix: WorkloadMix | None = None
            ) -> ExploreResult:
    """The front re-costed exactly, and run.json's final record."""
    pareto = _pareto(evaluator, space, table, state, mix)
    run.update({
        "status": "interrupted" if state.interrupted else "done",
        "interrupted": state.interrupted, "stop_reason": state.stop_reason,
        "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "generations_done": state.generation, "evaluations": state.n_evals,
        "wall_s": state.elapsed_s, "n_pareto": len(pareto),
        "infeasible": _infeasible_record(evaluator, table),
        "refine": None if refined is None else {
            "method": refine, "steps": refined.n_steps, "evaluations": refined.n_evals,
            "designs_added": refined.n_added, "wall_s": refined.wall_s},
        "hypervolume": {
            "value": state.history[-1]["hypervolume"] if state.history else 0.0,
            "space": "log10 objectives normalised by (z - lo) / (hi - lo)",
            "lo_log10": None if state.hv_lo is None else state.hv_lo.tolist(),
            "hi_log10": None if state.hv_hi is None else state.hv_hi.tolist(),
            "reference_point": 1.1,
        },
    })
    return ExploreResult(pareto=pareto, history=list(state.history), run=run, table=table)


def _infeasible_record(evaluator: Any, table: LayerTable) -> dict[str, Any]:
    """run.json's account of infeasible designs: counts per constraint and the layers that
    most often had no mapping that fits (by name; the five worst)."""
    tally = evaluator.infeasibility
    record = tally.to_dict()
    misfits = record.pop("layer_misfits")
    worst = sorted((i for i, n in enumerate(misfits) if n), key=lambda i: -misfits[i])[:5]
    record["layers_without_a_fitting_mapping"] = [
        {"layer": i, "names": list(table.names[i][:3]), "n_designs": misfits[i]}
        for i in worst]
    return record


def _check_sizes_fit(strat: Any, space: DesignSpace, table: LayerTable, population: int,
                     mapper_candidates: int, dev: Any) -> None:
    """Refuse, before the run starts, a population or mapper effort the machine cannot
    hold (`codesign.search.limits`)."""
    from codesign.mapping.encoding import n_mapping_genes
    from codesign.search.limits import check_explore_fits
    from codesign.search.problem import MapperEffort

    n_layers = len(table)
    n_var = space.n_genes + (n_layers * n_mapping_genes() if strat.mode == "joint" else 0)
    efforts: list[MapperEffort] = [e for e in (strat.remap,) if e is not None]
    if strat.mode == "nested":
        efforts.append(strat.effort or MapperEffort(mapper_candidates))
    check_explore_fits(population=population, n_var=n_var, n_layers=n_layers,
                       pairwise=strat.use_algorithm,
                       mapper_candidates=max((e.n_candidates for e in efforts), default=None),
                       device=str(dev))


@contextlib.contextmanager
def _cpu_threads(n: int | None):
    """Run with ``n`` torch CPU threads, then restore the caller's setting.

    The cost tensors of one generation are small (``[B, L, ...]``), so intra-op threads
    mostly add synchronisation: one thread measured ~10x faster than two on a shared 2-core
    machine (docs/PERFORMANCE.md, "Explore").
    """
    import torch

    if n is None:
        yield
        return
    saved = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


def _pareto(evaluator, space: DesignSpace, table: LayerTable, state: RunState,
            mix: WorkloadMix | None = None) -> list[ParetoDesign]:
    from codesign.results.pareto import pareto_designs

    archive = state.archive.sorted()
    if not len(archive):
        return []
    _, mappings, result = evaluator.cost(archive.hw_genes, archive.factors, archive.order)
    finite = evaluator.finite_mask(result)  # [N] numpy bool
    if not finite.all():  # a cost model failing now on a design it costed before
        import torch

        from codesign.cost.chunked import take_designs
        from codesign.search.archive import Archive

        warnings.warn(f"cost model: objectives not finite for {int((~finite).sum())} of "
                      f"{len(finite)} front designs when costed again; they are left out of "
                      "the front", UserWarning, stacklevel=3)
        keep = finite.nonzero()[0]
        archive = Archive(archive.objectives[keep], archive.hw_genes[keep],
                          archive.factors[keep], archive.order[keep])
        index = torch.as_tensor(keep, device=result.latency_cycles.device)
        mappings, result = take_designs(mappings, index), take_designs(result, index)
        if not len(archive):
            return []
    accelerators = [space.accelerator(g, name=f"pareto-{i}")
                    for i, g in enumerate(archive.hw_genes)]
    from codesign.arch.technology import Technology

    tech = getattr(evaluator.cost_model, "technology", None)   # for the energy lower bounds
    return pareto_designs(accelerators, table, mappings, result,
                          technology=tech if isinstance(tech, Technology) else None, mix=mix)


def _class_path(cls: type) -> str:
    """``module:QualName``, how ``run.json`` names the cost model's class."""
    return f"{cls.__module__}:{cls.__qualname__}"


def _model_path(workload: Workloads) -> str | tuple[str, ...] | None:
    """run.json's name of an ONNX workload (its resolved path) or of several (a tuple);
    ``None`` for a table or a mapping of named workloads."""
    if isinstance(workload, (LayerTable, Mapping)):
        return None
    if isinstance(workload, (str, Path)):
        _check_path_text(workload, "model")
        return str(Path(workload).resolve())
    paths = tuple(workload)
    for path in paths:
        if not isinstance(path, (str, Path)):
            raise ConfigError(f"explore: workloads must be paths (or a mapping of name -> "
                              f"LayerTable), got {_short(repr(path))}")
        _check_path_text(path, "model")
    return tuple(str(Path(p).resolve()) for p in paths)


def _workload_names(workload: Workloads | None, config: ExploreConfig) -> tuple[str, ...]:
    """The names of a run's several workloads (file stems, or a mapping's keys); ``()`` for
    one workload."""
    from codesign.workload.mix import workload_names

    if isinstance(workload, Mapping):
        return tuple(str(k) for k in workload)
    if isinstance(config.model, tuple):
        return workload_names(config.model)
    return ()


def _load_workloads(workload: Workloads, config: ExploreConfig) -> LayerTable | WorkloadMix:
    """The run's `LayerTable`, or its `WorkloadMix` of several (each loaded with the
    config's input shapes, dims and fusion)."""
    from codesign.timeloop.workload import load_workload
    from codesign.workload.mix import workload_names

    def load(path: str | Path) -> LayerTable:
        return load_workload(path, input_shapes=config.input_shapes, dims=config.dims,
                             fusion=config.fusion)

    if isinstance(workload, LayerTable):
        return workload
    if isinstance(workload, Mapping):
        return WorkloadMix.from_tables(
            {str(n): t if isinstance(t, LayerTable) else load(t) for n, t in workload.items()},
            config.weights)
    if isinstance(config.model, tuple):
        names = workload_names(config.model)
        return WorkloadMix.from_tables(dict(zip(names, map(load, config.model), strict=True)),
                                       config.weights)
    return load(workload if isinstance(workload, (str, Path)) else config.model)


def _resume_cost_model(spec: str | None, facts: dict[str, Any], folder: Path,
                       given: Any) -> tuple[Any, str]:
    """The cost model a resumed run uses and a line saying which.

    A run folder never names code to import (docs/GUARANTEES.md, "Safety"): a model the
    caller gives again is used (`_check_same_model` compares it with the saved one later);
    otherwise only the analytical model or an installed ``codesign.cost_models`` plugin,
    by its registered name (the saved ``spec``), is loaded. A ``module:Name`` spec in
    run.json is a `ConfigError` asking for ``--cost-model`` again.
    """
    from codesign.cost.analytical import AnalyticalCostModel
    from codesign.cost.loading import DEFAULT_COST_MODEL

    analytical = _class_path(AnalyticalCostModel)
    used = facts.get("cost_model") or analytical
    where = f"--resume {_printable(folder)}"
    if not isinstance(used, str):
        raise ConfigError(f"{folder}/run.json: config.cost_model must be a string; the file "
                          "was damaged or edited: start a new run")
    if given is not None:
        name = given if isinstance(given, str) else _class_path(type(given))
        return given, f"{where}: cost model {_short(name)} (given again)"
    if not spec and used == analytical or spec == DEFAULT_COST_MODEL:
        return None, f"{where}: cost model analytical (built in)"
    if spec and ":" not in spec:  # a plugin name: only installed entry points can load
        return spec, f"{where}: cost model {_short(spec)} (installed plugin, entry point " \
                     f"'codesign.cost_models')"
    named = spec or used
    raise ConfigError(f"{where}: the run used the cost model {_short(named)}, which a run "
                      "folder cannot load (it never names code to import); pass it again "
                      f"with --cost-model {_short(named)} (or explore(..., resume=..., "
                      "cost_model=...))")


def _short(text: str, limit: int = 80) -> str:
    """``text`` quoted, cut to ``limit`` characters with an ellipsis (a hostile file's
    value never fills an error message)."""
    text = _printable(text) if isinstance(text, str) else str(text)
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _check_same_model(facts: dict[str, Any], folder: Path, cost_model: Any) -> None:
    """A resumed run goes on with the model it started with (its class, as run.json names
    it); the archive's objectives would otherwise mix two models."""
    from codesign.cost.analytical import AnalyticalCostModel

    used = facts.get("cost_model") or _class_path(AnalyticalCostModel)
    now = _class_path(type(cost_model))
    if now != used:
        raise ConfigError(f"--resume {_printable(folder)}: the run used the cost model "
                          f"{_short(used)}, this one is {_short(now)}; resume with the same "
                          "model or start a new run with --out")


def _load_resume(folder: Path) -> tuple[ExploreConfig, dict[str, Any], RunState]:
    """The saved config, run.json's `RUN_FACTS` and the checkpoint of a run folder."""
    import json

    from codesign.search.checkpoint import read_checkpoint

    run_json = folder / "run.json"
    try:
        saved = json.loads(run_json.read_text())
        saved["config"]["workload"]  # noqa: B018 - check the key exists
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        raise ConfigError(f"{run_json}: not a readable run.json with a config; is {folder} a "
                          "codesign explore output folder?") from None
    config = ExploreConfig.from_json(saved["config"], where=f"{run_json} config")
    facts = {key: saved["config"].get(key) for key in RUN_FACTS}
    state, arrays = read_checkpoint(folder)
    try:
        restored = RunState.from_checkpoint(state, arrays)
        if not all(isinstance(row, dict) for row in restored.history):
            raise TypeError("history rows must be objects")
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as exc:
        raise ConfigError(f"{folder}/checkpoint.npz: holds unexpected values "
                          f"({type(exc).__name__}: {str(exc)[:200]}); the file was damaged "
                          "or edited: start a new run") from None
    return config, facts, restored


def _explore_hierarchy(workload: Workloads | None, space: Any, *,
                       resume: Any, cost_model: Any, refine: str | None, islands: int,
                       ray: bool, weights: Mapping[str, int] | None, out: Any,
                       force: bool, progress: Callable[[GenerationStats], None] | None,
                       command: Sequence[str] | None, **settings: Any) -> Any:
    """`explore` on a `HierarchySpace` (``--space`` with a ``base``): the same settings,
    strategies and searches, the hierarchy mapper inside
    (`codesign.search.hierarchy_problem`), results in the architecture's level names
    (`codesign.results.hierarchy`); ``refine="gradient"`` polishes the front's mappings
    (`codesign.search.hierarchy_gradient`). Not available here: ``resume``, a custom
    ``cost_model``, islands, several workloads; vector ops are not costed."""
    several = workload is not None and not isinstance(workload, (LayerTable, str, Path))
    refused = [what for what, given in (("resume", resume is not None),
                                        ("a custom cost_model", cost_model is not None),
                                        ("islands", islands != 1), ("ray", ray),
                                        ("several workloads", several),
                                        ("weights", bool(weights)))
               if given]
    if refused:
        raise ConfigError(f"a hierarchy design space (base {space.base.name!r}) does not take "
                          f"{', '.join(refused)}; drop it or use the default design space")
    if workload is None:
        raise ConfigError("explore: give a workload (a LayerTable or an ONNX path)")
    config = ExploreConfig(model=_model_path(workload), **{
        k: v for k, v in {**settings, "refine": refine}.items() if v is not None})
    from codesign.names import DESIGN_OBJECTIVES

    config.validate(DESIGN_OBJECTIVES)
    from codesign.search.searches import check_search
    from codesign.search.strategies import strategy as get_strategy

    strat = get_strategy(config.strategy)
    budget = config.budget()
    check_search(config.algorithm, len(config.objectives), budget.population)
    out_path = Path(out) if out is not None else None
    existing = _check_out(out_path, force) if out_path is not None else []

    import numpy as np

    from codesign.device import resolve_device
    from codesign.results.export import write_json
    from codesign.search.archive import Archive
    from codesign.search.hierarchy_problem import HierarchyEvaluator
    from codesign.search.problem import MapperEffort
    from codesign.search.run import run_search

    if isinstance(workload, LayerTable):
        table = workload
    else:
        from codesign.timeloop.workload import load_workload

        table = load_workload(workload, input_shapes=config.input_shapes, dims=config.dims,
                              fusion=config.fusion)
    dev = resolve_device(config.device)
    evaluator = HierarchyEvaluator(
        space, table, config.objectives, mode=strat.mode, max_area_mm2=config.max_area_mm2,
        max_power_w=config.max_power_w,
        effort=strat.effort or MapperEffort(config.mapper_candidates, config.mapper_steps),
        seed=config.seed, device=dev, constraints=config.constraints)
    n_l, n_f = len(table), len(evaluator.structure.slots)
    n_m = len(evaluator.structure.levels)
    state = RunState(archive=Archive(
        np.zeros((0, len(config.objectives))), np.zeros((0, space.n_genes)),
        np.zeros((0, n_l, n_f, len(DIMS)), np.int64),
        np.zeros((0, n_l, n_m, len(DIMS) + len(TENSORS)), np.int64)))
    run: dict[str, Any] = {
        "command": list(command) if command is not None else None,
        "config": {**config.to_json(), "space": space.to_dict(),
                   "cost_model": "codesign.hierarchy.model.nest_cost",
                   "n_unique_layers": n_l, "n_mac_layers": table.n_mac_layers},
        "seed": config.seed, "device": str(dev), "versions": _versions(),
        "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "status": "running", "interrupted": False,
    }
    if out_path is not None:
        _clear_out(out_path, existing)
        write_json(out_path / "run.json", run)

    def on_generation(_state: RunState, stats: GenerationStats) -> None:
        if progress is not None:
            progress(stats)

    from codesign.search.interrupt import deferred_signals

    written = False
    try:
        with _cpu_threads(1 if dev.type == "cpu" else None):
            state = run_search(evaluator, strat, config.algorithm, budget, seed=config.seed,
                               state=state, on_generation=on_generation)
            refined = None
            if config.refine == "gradient" and not state.interrupted and len(state.archive):
                from codesign.search.gradient import refine_run
                from codesign.search.hierarchy_gradient import refine_hierarchy

                refined = refine_run(state, evaluator, on_generation=on_generation,
                                     refine_fn=refine_hierarchy)
            run["refine"] = None if refined is None else {
                "method": config.refine, "steps": refined.n_steps,
                "evaluations": refined.n_evals, "designs_added": refined.n_added,
                "wall_s": refined.wall_s, "relaxed": "mapping factors"}
            # from here on a first Ctrl-C/SIGTERM waits until the results are written; a
            # second one stops at once (as `_run`)
            with deferred_signals() as received:
                result = _hierarchy_result(evaluator, space, state, run, out_path)
                written = True
    except KeyboardInterrupt:  # a second Ctrl-C while the results were costed or written
        if not written:
            _record_stop(out_path, run, "interrupted", None)
        raise
    except Exception as exc:
        _record_stop(out_path, run, "failed", exc)
        raise
    if received:  # finished and written; the signal still stops the caller
        raise KeyboardInterrupt("stopped while the results were written")
    return result


def _hierarchy_result(evaluator: Any, space: Any, state: RunState, run: dict[str, Any],
                      out_path: Path | None) -> Any:
    """The front of a hierarchy run costed again, run.json's record, the files written."""
    from codesign.results.hierarchy import HierarchyResult, front_designs

    archive = state.archive.sorted()
    designs = front_designs(evaluator, archive.hw_genes, archive.factors, archive.order)
    record = evaluator.infeasibility.to_dict()
    record.pop("layer_misfits")
    run.update({
        "status": "interrupted" if state.interrupted else "done",
        "interrupted": state.interrupted, "stop_reason": state.stop_reason,
        "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "generations_done": state.generation, "evaluations": state.n_evals,
        "wall_s": state.elapsed_s, "n_pareto": len(designs), "infeasible": record,
        "hypervolume": {"value": state.history[-1]["hypervolume"] if state.history else 0.0,
                        "lo_log10": None if state.hv_lo is None else state.hv_lo.tolist(),
                        "hi_log10": None if state.hv_hi is None else state.hv_hi.tolist(),
                        "reference_point": 1.1}})
    result = HierarchyResult(designs, list(state.history), run, space.column_names,
                             evaluator.structure.level_names)
    if out_path is not None:
        result.write(out_path)
    return result
