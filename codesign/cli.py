"""Command line: ``codesign inspect | map | explore | report ...``.

A thin layer over the library API. This module is the only error boundary: a
`CodesignError` about the input (model, accelerator, mapping, config) prints one line and
exits 2, a failed run prints ``Error: ...`` and exits 1; Ctrl-C, SIGTERM or SIGHUP at any
moment of a command print ``Aborted!`` and exit 130; anything else is a bug and keeps its
traceback. The library (and torch) are imported inside commands so ``codesign --help``
stays fast.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable

import click

from codesign import __version__
from codesign.names import LAYER_OBJECTIVES, OBJECTIVE_UNITS, WORKLOAD_MARK
from codesign.search.config import SETTINGS  # no torch: `codesign --help` stays fast

INPUT_ERROR_EXIT = 2
RUN_ERROR_EXIT = 1
#: Exit status after Ctrl-C, SIGTERM or SIGHUP (128 + SIGINT, as shells report Ctrl-C).
INTERRUPT_EXIT = 130


class _Group(click.Group):
    """Turns `CodesignError` into one line and an exit code, and every stop signal into
    ``Aborted!`` and `INTERRUPT_EXIT`."""

    def __call__(self, *args, **kwargs):
        # the real process (CliRunner calls main() itself). Once the command is done (its
        # files written), a stop signal must not turn its exit status into 1 or -2/-15:
        # the interpreter's shutdown resets Python's handlers to the OS default, so the
        # process ends here, with the command's status, without that shutdown
        if kwargs.get("standalone_mode") is False:  # the caller wants the return value
            return self.main(*args, **kwargs)
        code: int | str | None = 0
        try:
            self.main(*args, **kwargs)
        except SystemExit as exc:
            code = exc.code
        finally:
            _flush()
            _exit_on_stop_signals()
        if isinstance(code, str):
            click.echo(code, err=True)
            code = 1
        _flush()
        os._exit(code or 0)

    def invoke(self, ctx: click.Context):
        from codesign.errors import CodesignError, RunError
        from codesign.search.interrupt import interrupt_on_signals

        try:
            with interrupt_on_signals():  # SIGTERM/SIGHUP from the first moment, like Ctrl-C
                return super().invoke(ctx)
        except KeyboardInterrupt:  # click would say "Aborted!" and exit 1
            click.echo("Aborted!", err=True)
            ctx.exit(INTERRUPT_EXIT)
        except RunError as exc:
            click.echo(f"Error: {_bounded(str(exc))}", err=True)
            ctx.exit(RUN_ERROR_EXIT)
        except CodesignError as exc:
            click.echo(f"Error: {_bounded(str(exc))}", err=True)
            ctx.exit(INPUT_ERROR_EXIT)


#: Characters of an error line at most: messages quote values through `short_repr`, and
#: this cut is the last guard (a 2.1 GB line came out of a YAML alias bomb once).
MAX_ERROR_CHARS = 4000


def _bounded(message: str) -> str:
    """``message`` on one line, its middle cut out past `MAX_ERROR_CHARS` (the start says
    what and where, the end what to do)."""
    message = " ".join(message.splitlines())
    if len(message) <= MAX_ERROR_CHARS:
        return message
    return message[: MAX_ERROR_CHARS - 1003] + " … " + message[-1000:]


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
            stream.flush()


def _exit_on_stop_signals() -> None:
    """From now on (the command is done, its files written), a stop signal ends the
    process at once with `INTERRUPT_EXIT`; one the caller ignores stays ignored."""
    def stop(signum: int, frame: object) -> None:
        os._exit(INTERRUPT_EXIT)

    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None and signal.getsignal(sig) in (signal.SIG_DFL,
                                                         signal.default_int_handler):
            signal.signal(sig, stop)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="codesign")
def main() -> None:
    """Hardware/software co-design space exploration for DNN accelerators.

    ONNX in; Pareto-optimal accelerator designs and the per-layer schedules behind each out.
    """


class _NameValue(click.ParamType):
    """``NAME=VALUE`` where VALUE is ``AxBxC`` (shape) or one int (dim)."""

    def __init__(self, shape: bool) -> None:
        self.shape = shape
        self.name = "NAME=AxBxC" if shape else "NAME=INT"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        name, sep, rest = str(value).rpartition("=")
        try:
            parts = tuple(int(v) for v in rest.lower().split("x")) if self.shape else (int(rest),)
        except ValueError:
            parts = ()
        if not sep or not name or not parts or min(parts) < 1:
            self.fail(f"expected {self.name} with positive ints, e.g. "
                      f"{'input=1x3x224x224' if self.shape else 'batch=1'}; got {value!r}",
                      param, ctx)
        return (name, parts if self.shape else parts[0])


class _Limit(click.ParamType):
    """``NAME=VALUE``: an upper limit on a named objective (``power=2.5``)."""

    name = "NAME=VALUE"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        name, sep, rest = str(value).rpartition("=")
        try:
            limit = float(rest)
        except ValueError:
            limit = float("nan")
        if not sep or not name.strip() or not 0 < limit < float("inf"):
            self.fail(f"expected NAME=VALUE with a number > 0, e.g. power=2.5; got {value!r}",
                      param, ctx)
        return (name.strip(), limit)


def _setting_option(name: str) -> Callable:
    """The click option of the `ExploreConfig` field ``name``: its flag, type, choices,
    default and help come from the field's `Setting` (codesign/search/config.py). Ranges
    are shown in the help and checked by `ExploreConfig` (every problem at once, one line,
    the message the API gives); a setting that a value given with ``--resume`` replaces
    defaults to ``None`` here (not given)."""
    from dataclasses import fields

    from codesign.search.config import ExploreConfig

    setting = SETTINGS[name]
    field = next(f for f in fields(ExploreConfig) if f.name == name)
    default = None if setting.on_resume in ("given", "budget") else field.default
    if setting.kind == "bool":
        return click.option(setting.option, name, default=default, show_default=True,
                            help=setting.help)
    types = {"int": click.INT, "float": click.FLOAT, "str": click.STRING,
             "choice": click.Choice(setting.choices), "names": click.STRING,
             "limits": _Limit(), "shapes": _NameValue(shape=True),
             "dims": _NameValue(shape=False), "weights": _NameValue(shape=False),
             "space": click.Path(dir_okay=False, path_type=str)}
    multiple = setting.kind in ("limits", "shapes", "dims", "weights")
    if setting.kind == "names":
        default = ",".join(field.default)
    elif multiple or setting.kind == "space":
        default = None
    shown = setting.default_text or (None if default is None else str(default))
    notes = [f"default: {shown}"] if shown is not None else []
    if setting.minimum is not None:
        notes.append(f"x{'>' if setting.exclusive else '>='}{setting.minimum:g}")
    text = setting.help + (f"  [{'; '.join(notes)}]" if notes else "")
    return click.option(setting.option, name, type=types[setting.kind], default=default,
                        multiple=multiple, metavar=setting.metavar, help=text)


def _setting_options(*names: str) -> Callable:
    """`_setting_option` for each of ``names``, in that order in ``--help``."""
    def decorate(command: Callable) -> Callable:
        for name in reversed(names):
            command = _setting_option(name)(command)
        return command
    return decorate


#: How an ONNX model becomes a workload (inspect, map, explore).
_WORKLOAD_SETTINGS = ("input_shapes", "dims", "fusion")
#: Options of ``codesign explore`` that say where and how a run writes its files, not what
#: it searches: the only ones that are not `ExploreConfig` fields (tests/test_cli_options.py).
EXPLORE_RUN_OPTIONS = ("out", "force", "resume", "no_plot")


def _check_settings(**values: object) -> None:
    """`Setting` checks for a command that takes some of explore's settings (``map``)."""
    from codesign.errors import ConfigError, joined_problems

    problems = [p for name, value in values.items()
                if (p := SETTINGS[name].problem(name, value))]
    if problems:
        raise ConfigError(joined_problems(problems))


@main.command()
@click.argument("model", type=click.Path(dir_okay=True, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@_setting_options(*_WORKLOAD_SETTINGS)
def inspect(model: str, as_json: bool, input_shapes: tuple, dims: tuple, fusion: bool) -> None:
    """Show the MAC layers, vector ops and totals of an ONNX MODEL (or of Timeloop problem
    files: a folder of them, one layer each, or one .yaml)."""
    import json

    from codesign.timeloop.workload import read_workload
    from codesign.workload.summary import format_summary, workload_summary

    graph = read_workload(model, input_shapes=dict(input_shapes), dims=dict(dims))
    summary = workload_summary(graph, fusion=fusion)
    if summary["unknown_ops"]:
        click.echo(f"Warning: {model}: op types without a handler, costed as elementwise "
                   f"vector ops (1 op per output element): {', '.join(summary['unknown_ops'])}",
                   err=True)
    unresolved = graph.graph.get("unresolved_vector_ops", [])
    if unresolved:
        inputs_known = all(shape is not None and all(isinstance(d, int) for d in shape)
                           for shape in graph.graph.get("inputs", {}).values())
        advice = ("the inputs' shapes are all known, so the model computes these sizes at run "
                  "time from ops codesign cannot fold; re-export it with static shapes "
                  "(torch.onnx.export(..., dynamo=True)) or fold them with onnxsim"
                  if inputs_known else "set --input-shape/--dim to resolve")
        click.echo(f"Warning: {model}: {len(unresolved)} vector ops have unknown output sizes "
                   f"(counted as 0), e.g. '{unresolved[0]}'; {advice}", err=True)
    click.echo(json.dumps(summary, indent=2) if as_json else format_summary(summary))


class _Progress:
    """Generation progress: one self-overwriting line on a terminal, plain lines when piped."""

    def __init__(self, total: int | None) -> None:
        self.total = total
        self.tty = sys.stderr.isatty()
        self.width = 0

    def __call__(self, stats) -> None:
        if stats.phase == "search":
            gen = f"gen {stats.generation}" + (f"/{self.total}" if self.total else "")
        else:  # the final mapping of the front, after the last generation
            gen = stats.phase
        note = f"  ({stats.note})" if stats.note else ""
        best = "  ".join(f"{name} {value:.3g}"
                         f"{OBJECTIVE_UNITS.get(name.partition(WORKLOAD_MARK)[0], '')}"
                         for name, value in stats.best.items())
        line = (f"{gen}  evals {stats.n_evals}  HV {stats.hypervolume:.4g}  "
                f"pareto {stats.n_pareto}  {best}  {stats.evals_per_s:.0f} evals/s{note}")
        if self.tty:
            click.echo("\r" + line.ljust(self.width), nl=False, err=True)
            self.width = len(line)
        else:
            click.echo(line, err=True)

    def close(self) -> None:
        if self.tty and self.width:
            click.echo("", err=True)


@main.command()
@click.argument("model", nargs=-1, type=click.Path(path_type=str))
@_setting_options(*(name for name in SETTINGS if name != "model"))
@click.option("--out", type=click.Path(file_okay=False, path_type=str),
              help="Output folder  [default: explore-<model name>, explore-<a>+<b> for "
                   "several]")
@click.option("--force", is_flag=True, help="Overwrite an existing run in --out.")
@click.option("--resume", type=click.Path(file_okay=False, exists=True, path_type=str),
              help="Continue the run in this folder from its last checkpoint, with its "
                   "settings (a budget, --refine or --cost-model given replaces the saved "
                   "one; --device is this call's).")
@click.option("--no-plot", is_flag=True, help="Do not draw pareto.png.")
def explore(model: tuple[str, ...], out: str | None, force: bool, resume: str | None,
            no_plot: bool, **settings) -> None:
    """Search accelerator designs and per-layer mappings for an ONNX MODEL (or a folder of
    Timeloop problem files, one layer each), or one accelerator for several MODELs (each
    layer shape mapped once; objectives on the mix, see --weight, and per model as
    latency@NAME, energy@NAME, edp@NAME, power@NAME with NAME the file stem); write the
    Pareto front (pareto.csv, designs.json, history.csv, run.json, pareto.png) and
    report.html (why each design wins; see `codesign report`) to --out.

    \b
    Progress (stderr), one line per generation, then "remap" for the final mapping of
    the front:
      evals   design evaluations so far (mapper candidates included)
      HV      hypervolume of the front so far, higher is better: objectives in log10,
              normalised to [0, 1] between the best and worst of the first generation's
              feasible designs, against the reference point 1.1 in each (run.json
              "hypervolume" has the bounds)
      pareto  designs on the front; then the best value of each objective

    Ctrl-C, SIGTERM or SIGHUP write the front found so far and exit 130.
    """
    from pathlib import Path

    from codesign.api import explore as run_explore
    from codesign.errors import ConfigError
    from codesign.search.config import DEFAULT_GENERATIONS

    space_path = settings.pop("space")
    models = model
    model = None if not models else models[0] if len(models) == 1 else models
    if model is None and resume is None:
        raise ConfigError("explore: give a MODEL (an ONNX file or a folder of Timeloop problems) "
                          "or --resume DIR")
    if resume is not None and (model is not None or space_path is not None):
        raise ConfigError("--resume continues a run with its saved model and design space; "
                          "do not pass MODEL or --space with it")
    space = _read_space(space_path) if space_path else None
    if out is None and resume is None:
        out = "explore-" + "+".join(Path(m).stem for m in models)
    for name in ("constraints", "input_shapes", "dims", "weights"):  # repeated NAME=VALUE
        settings[name] = dict(settings[name]) or None
    generations = settings["generations"]
    budget_given = any(settings[k] is not None
                       for k in ("generations", "max_evals", "time_limit_s"))
    progress = _Progress(generations if generations is not None else
                         (DEFAULT_GENERATIONS if not budget_given and resume is None else None))
    try:
        result = run_explore(
            model, space, cost_model=settings.pop("cost_model_spec"), out=out, force=force,
            resume=resume, progress=progress, command=["codesign", *sys.argv[1:]],
            plot=not no_plot, notify=lambda line: click.echo(line, err=True), **settings)
    finally:
        progress.close()
    folder = resume or out
    run = result.run
    click.echo(f"{len(result.pareto)} Pareto designs from {run['evaluations']} evaluations in "
               f"{run['wall_s']:.1f} s ({run['config']['strategy']}, {run['device']}) -> "
               f"{folder}/pareto.csv")
    if not result.pareto:
        click.echo(f"Warning: {_no_design_reason(run)}", err=True)
    if result.interrupted:
        click.echo("Aborted!", err=True)
        sys.exit(INTERRUPT_EXIT)


def _read_space(path: str):
    """The ``--space`` file: a hierarchy space when it names a ``base``, else the default
    space's YAML (`DesignSpace`)."""
    from pathlib import Path

    from codesign.arch.io import load_yaml
    from codesign.arch.space import DesignSpace

    data = load_yaml(path)
    if isinstance(data, dict) and "base" in data:
        from codesign.search.hierarchy_space import HierarchySpace

        return HierarchySpace.from_dict(data, where=path, base_dir=Path(path).parent)
    return DesignSpace.from_yaml(path)


def _no_design_reason(run: dict) -> str:
    """Why a run found no feasible design, from run.json's ``infeasible`` counts: how many
    designs broke each constraint, and what to change (only options that were given)."""
    record = run.get("infeasible") or {}
    n_designs = record.get("n_designs", 0)
    violations = {k: v for k, v in (record.get("violations") or {}).items() if v}
    if not n_designs or not violations:
        return "no design met every constraint; widen the design space"
    config = run.get("config") or {}
    space = config.get("space") or {}
    parts, advice = [], []
    capacity = violations.pop("capacity", 0)
    not_finite = record.get("not_finite", 0)
    if capacity - not_finite > 0:
        layers = record.get("layers_without_a_fitting_mapping") or []
        worst = ""
        if layers:
            names = layers[0]["names"]
            label = (names[0] if names else "?") + (" ..." if len(names) > 1 else "")
            worst = f" (most often layer {layers[0]['layer']} {label!r}, in " \
                    f"{layers[0]['n_designs']} designs)"
        parts.append(f"{capacity - not_finite} had a layer with no mapping that fits the "
                     f"buffers and the PE array{worst}")
        sizes = ", ".join(f"{key} {max(space[key])}" for key in ("rf_words", "glb_words")
                          if space.get(key))
        advice.append("allow larger buffers in --space" + (f" (largest now: {sizes})"
                                                           if sizes else ""))
    if not_finite:
        parts.append(f"{not_finite} had objectives that are not finite")
        advice.append("check the cost model")
    options = {"area": "--max-area", "power": "--max-power"}
    for name, count in violations.items():
        option = options.get(name, f"--max {name.removeprefix('max_')}")
        parts.append(f"{count} were over {option}")
        advice.append(f"relax {option}")
    return (f"no feasible design among the {n_designs} designs evaluated: "
            f"{'; '.join(parts)}; "
            f"{', or '.join(dict.fromkeys(advice))}")


@main.command()
@click.argument("run_dir", type=click.Path(path_type=str))
@click.option("--design", "design_id", type=int, required=True,
              help="Design number (the design column of pareto.csv).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def sensitivity(run_dir: str, design_id: int, as_json: bool) -> None:
    """Elasticities, objective conflicts and local curvature of one design of an explore
    RUN_DIR (its mappings held fixed)."""
    import json

    from codesign.results.sensitivity import format_sensitivity
    from codesign.results.sensitivity import sensitivity as design_report

    report = design_report(run_dir, design_id)
    click.echo(json.dumps(report, indent=2) if as_json else format_sensitivity(report))


@main.command("map")
@click.argument("model", type=click.Path(path_type=str))
@click.option("--arch", "arch", required=True, metavar="NAME|YAML",
              help="Architecture: a hierarchy preset (eyeriss, gemmini, shidiannao, simba, "
                   "tpu: the chips' own levels), v1:NAME for the v1 RF/GLB/DRAM preset of "
                   "that name (v1:eyeriss, v1:shidiannao, v1:simba, v1:tpu), or a YAML file: "
                   "a hierarchy (top-level 'nodes'), a Timeloop v0.4 architecture or a v1 "
                   "accelerator. A preset name is the hierarchy; v1:NAME the template.")
@click.option("--ert", type=click.Path(dir_okay=False, path_type=str),
              help="Accelergy ERT for a Timeloop --arch (without one every energy is 0).")
@click.option("--constraints", type=click.Path(dir_okay=False, path_type=str),
              help="Timeloop v0.4 mapspace constraints, for any hierarchy --arch (its level "
                   "names; the problem's dim names, C M R S N P Q G for an ONNX model).")
@click.option("--objective", type=click.Choice(LAYER_OBJECTIVES), default="edp",
              show_default=True, help="Per-layer objective the mapper minimises.")
@click.option("--effort", type=click.Choice(["fast", "default", "thorough"]), default="default",
              show_default=True, help="Mapper budget (candidates per layer x steps).")
@_setting_options("device", "seed")
@click.option("--out", type=click.Path(file_okay=False, path_type=str),
              help="Also write layers.csv and mappings.json to this folder.")
@_setting_options(*_WORKLOAD_SETTINGS, "cost_model_spec")
def map_command(model: str, arch: str, ert: str | None, constraints: str | None,
                objective: str, effort: str, device: str, seed: int,
                out: str | None, input_shapes: tuple, dims: tuple, fusion: bool,
                cost_model_spec: str | None) -> None:
    """Find the best mapping of every layer of an ONNX MODEL (or of Timeloop problem
    files: a folder, or one file) on one architecture; print a per-layer table (mapping,
    cycles, energy, PEs used, utilisation, the bound: compute or a level by its own name)
    and totals (time at the clock, PEs active on average). A Timeloop --arch with one
    problem file prints the loop nest as Timeloop does."""
    from pathlib import Path

    from codesign.timeloop.files import is_timeloop_arch
    from codesign.timeloop.workload import is_timeloop_workload

    _check_settings(seed=seed)
    if is_timeloop_arch(arch) and is_timeloop_workload(model) and Path(model).is_file():
        from codesign.timeloop.map import map_files

        click.echo(map_files(arch, model, ert, constraints, objective=objective,
                             effort=effort, device=device, seed=seed, out=out))
        return

    from codesign.cost.loading import load_cost_model
    from codesign.search.architectures import problem_names, resolve_architecture
    from codesign.search.layer_maps import map_layers
    from codesign.timeloop.workload import load_workload

    names = problem_names(model) if (constraints or is_timeloop_arch(arch)) else None
    target = resolve_architecture(arch, ert=ert, constraints=constraints, names=names)
    table = load_workload(model, input_shapes=dict(input_shapes) or None, dims=dict(dims) or None,
                      fusion=fusion)
    result = map_layers(table, target, objective=objective, device=device, seed=seed,
                        effort=effort,
                        cost_model=load_cost_model(cost_model_spec) if cost_model_spec
                        else None)
    from codesign.search.layer_maps import HierarchyMapResult

    hierarchy = isinstance(result, HierarchyMapResult)
    if hierarchy:
        from codesign.results.map_table import format_hierarchy_map

        click.echo(format_hierarchy_map(result))
    else:
        click.echo(_map_table(result))
    bad = [i for i, ok in enumerate(result.feasible) if not ok]
    if bad:
        where = "the levels' capacities" if hierarchy else "the RF/GLB"
        click.echo(f"Warning: {len(bad)} layer(s) have no mapping found that fits {where} "
                   f"(e.g. layer {bad[0]}); try --effort thorough or a bigger --arch",
                   err=True)
    if out is not None:
        if hierarchy:
            from codesign.results.map_table import write_hierarchy_map

            paths = write_hierarchy_map(result, out)
            click.echo(f"-> {', '.join(map(str, paths))}")
            return
        from codesign.atomic import make_folder
        from codesign.results.export import write_csv, write_json

        folder = make_folder(out)
        rows = result.to_rows()
        write_csv(folder / "layers.csv", rows, list(rows[0]) if rows else ["layer"])
        write_json(folder / "mappings.json", result.to_dict())
        click.echo(f"-> {folder / 'layers.csv'}, {folder / 'mappings.json'}")


def _map_table(result) -> str:
    """The text table of `codesign map`: one line per unique layer, then totals."""
    from codesign.results.map_table import layer_label

    header = ("#", "layer", "n", "mapping", "cycles", "energy_uJ", "util", "bound")
    lines = []
    for row in result.to_rows():
        lines.append((str(row["layer"]), layer_label(row["names"]), str(row["count"]),
                      row["mapping"],
                      f"{row['cycles']:.4g}", f"{row['energy_pj'] * 1e-6:.4g}",
                      f"{row['utilization']:.2f}",
                      row["bottleneck"] + ("" if row["feasible"] else " (infeasible)")))
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h)
              for i, h in enumerate(header)]
    text = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    text += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    acc = result.accelerator
    text.append(
        f"total: {result.table.n_mac_layers} MAC layers ({len(result.table)} unique) on "
        f"{acc.name or 'accelerator'} {acc.pe_rows}x{acc.pe_cols} {acc.dataflow.name}: "
        f"{result.latency_cycles:.4g} cycles = {result.latency_s * 1e3:.4g} ms, "
        f"{result.total_energy_pj * 1e-6:.4g} uJ, area {result.area_mm2:.3g} mm2 "
        f"(objective {result.objective}, {result.device}, seed {result.seed})")
    return "\n".join(text)


@main.command()
@click.argument("run_dir", type=click.Path(path_type=str))
@click.option("--design", "design", type=click.IntRange(min=0), default=None,
              help="Design (its row in designs.json, 0 = first) the PNGs explain  "
                   "[default: lowest energy-delay product].")
@click.option("--no-png", is_flag=True, help="Write report.html only, no PNG figures.")
def report(run_dir: str, design: int | None, no_png: bool) -> None:
    """Write report.html (self-contained, works offline) and layers.png, roofline.png,
    convergence.png into an explore RUN_DIR: why each Pareto design wins (bottleneck per
    layer, gap to the lower bounds), its mappings, and the search's convergence."""
    from codesign.results.report import write_report

    path = write_report(run_dir, png=not no_png, design=design)
    click.echo(f"-> {path}")


@main.command()
@click.argument("arch", type=click.Path(dir_okay=False, path_type=str))
@click.argument("problem", type=click.Path(dir_okay=False, path_type=str))
@click.argument("mapping", type=click.Path(dir_okay=False, path_type=str))
@click.option("--ert", type=click.Path(dir_okay=False, path_type=str),
              help="Accelergy energy reference table (ERT.yaml) for per-action energies; "
                   "without one every energy is 0.")
@click.option("--halo/--no-halo", default=True, show_default=True,
              help="Fill only the new elements when an input window slides (Timeloop's "
                   "count); --no-halo refetches whole tiles (DESIGN.md v1).")
@click.option("--json", "as_json", is_flag=True,
              help="Print {cycles, energy_pj, computes, levels, energy_by_level_pj} as JSON.")
def evaluate(arch: str, problem: str, mapping: str, ert: str | None, halo: bool,
             as_json: bool) -> None:
    """Cost one mapping of one layer, given as Timeloop v0.4 files: ARCH (architecture
    nodes), PROBLEM (shape + instance), MAPPING (temporal/spatial/dataspace directives).
    Per level and data space: reads, fills, updates summed over the utilized instances,
    as Timeloop counts them (docs/VALIDATION.md)."""
    import json

    from codesign.hierarchy.counts import CountingRules
    from codesign.timeloop.evaluate import cost_case, read_case, summary

    case = read_case(arch, problem, mapping, ert)
    for warning in case.warnings:
        click.echo(f"Warning: {warning}", err=True)
    result = summary(case, cost_case(case, CountingRules(halo=halo)))
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(_evaluate_table(result))


def _evaluate_table(result: dict) -> str:
    header = ("level", "data space", "reads", "fills", "updates")
    rows = [(level, space, f"{c['reads']:,}", f"{c['fills']:,}", f"{c['updates']:,}")
            for level, spaces in result["levels"].items() for space, c in spaces.items()]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    computes = max(result["computes"], 1)
    lines.append("energy: " + ", ".join(
        f"{name} {pj * 1e3 / computes:.4g} fJ/compute"
        for name, pj in result["energy_by_level_pj"].items()))
    lines.append(f"total: {result['cycles']:,} cycles, {result['energy_pj'] * 1e-6:.6g} uJ, "
                 f"{result['computes']:,} computes")
    return "\n".join(lines)


@main.command("export-timeloop")
@click.argument("run_dir", type=click.Path(path_type=str))
@click.option("--design", "design", type=click.IntRange(min=0), required=True,
              help="Design to export (pareto.csv's design column).")
@click.option("--out", type=click.Path(file_okay=False, path_type=str), required=True,
              help="Folder for arch.yaml, ERT.yaml, problems/, mappings/ and export.json.")
def export_timeloop(run_dir: str, design: int, out: str) -> None:
    """Write one Pareto design of an explore RUN_DIR as Timeloop v0.4 files: the
    architecture, an Accelergy ERT with the technology model's energies, and per unique
    layer a problem and the design's mapping. `codesign evaluate` (or Timeloop) reads them
    back to the design's numbers under Timeloop's counting rules; the last line says how
    far those are from pareto.csv's (v1 rules, docs/VALIDATION.md)."""
    from codesign.results.timeloop import export_design

    result = export_design(run_dir, design, out)
    for note in result.notes:
        click.echo(f"Note: {note}", err=True)
    click.echo(f"-> {result.folder}: arch.yaml, ERT.yaml, {len(result.layers)} problems and "
               f"mappings, export.json")
    click.echo(result.note())


@main.command()
@click.argument("campaign_file", metavar="CAMPAIGN", type=click.Path(dir_okay=False,
                                                                      path_type=str))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=str),
              help="Campaign folder: campaign.csv, pareto.csv, index.html, runs/<job>/.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Run up to N jobs at once in local processes (with --ray: the CPUs of "
                   "the local Ray cluster).  [default: one job at a time in this process]")
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", default=None,
              metavar="[ADDRESS]",
              help='Run jobs as Ray tasks (pip install "codesign[ray]"): on a local cluster '
                   "started for the sweep, or on the cluster at ADDRESS (ray start --head).")
@click.option("--retries", type=click.IntRange(min=0), default=2, show_default=True,
              help="Times a job whose worker process died is started again (it resumes "
                   "from its checkpoint).")
@click.option("--resume", is_flag=True,
              help="Go on with the campaign in --out: skip finished jobs, resume stopped ones.")
@click.option("--force", is_flag=True, help="Start the campaign in --out again.")
def sweep(campaign_file: str, out: str, workers: int | None, ray_address: str | None,
          retries: int, resume: bool, force: bool) -> None:
    """Run every job of a CAMPAIGN file (workloads x spaces x objectives x strategies x
    budgets x seeds; the format is in codesign.campaign.spec and README.md), each an
    ordinary explore run in --out/runs/<job>; print one line per finished job with the
    live count, and write campaign.csv (one row per job) and pareto.csv (per workload, the
    designs no other job's design beats on latency, energy and area).

    Ctrl-C writes what finished and exits 130; --resume goes on from there.
    """
    from codesign.campaign import LocalProcesses, RayCluster, Serial, load_campaign
    from codesign.campaign import sweep as run_sweep
    from codesign.errors import ConfigError

    if resume and force:
        raise ConfigError("pass --resume or --force, not both")
    campaign = load_campaign(campaign_file)
    if ray_address is not None:
        executor = RayCluster(None if ray_address == "local" else ray_address, workers,
                              retries)
    elif workers is not None:
        executor = LocalProcesses(workers, retries)
    else:
        executor = Serial()
    click.echo(f"{len(campaign.jobs)} jobs, {executor.name} executor -> {out}", err=True)
    result = run_sweep(campaign, out, executor=executor, resume=resume, force=force,
                       progress=lambda line: click.echo(line, err=True))
    click.echo(f"{result.count('done')} of {len(result.rows)} jobs done, "
               f"{result.count('failed')} failed -> {out}/campaign.csv, {out}/pareto.csv")
    if result.interrupted:
        click.echo("Aborted!", err=True)
        sys.exit(INTERRUPT_EXIT)
    if result.count("failed"):
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
