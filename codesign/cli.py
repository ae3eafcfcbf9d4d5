"""Command line: ``codesign inspect | map | explore | report ...``.

A thin layer over the library API. This module is the only error boundary: a
`CodesignError` about the input (model, accelerator, mapping, config) prints one line and
exits 2, a failed run prints ``Error: ...`` and exits 1; anything else is a bug and keeps its
traceback. The library (and torch) are imported inside commands so ``codesign --help``
stays fast.
"""

from __future__ import annotations

import sys

import click

from codesign import __version__

INPUT_ERROR_EXIT = 2
RUN_ERROR_EXIT = 1


class _Group(click.Group):
    """Turns `CodesignError` into one line and an exit code."""

    def invoke(self, ctx: click.Context):
        from codesign.errors import CodesignError, RunError

        try:
            return super().invoke(ctx)
        except RunError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(RUN_ERROR_EXIT)
        except CodesignError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(INPUT_ERROR_EXIT)


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


@main.command()
@click.argument("model", type=click.Path(dir_okay=True, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--input-shape", "input_shapes", multiple=True, type=_NameValue(shape=True),
              help="Set a graph input's shape, e.g. input=1x3x224x224 (repeatable).")
@click.option("--dim", "dims", multiple=True, type=_NameValue(shape=False),
              help="Set a named symbolic dim everywhere, e.g. batch=1 (repeatable).")
def inspect(model: str, as_json: bool, input_shapes: tuple, dims: tuple) -> None:
    """Show the MAC layers, vector ops and totals of an ONNX MODEL."""
    import json

    from codesign.workload.onnx_graph import read_onnx
    from codesign.workload.summary import format_summary, workload_summary

    graph = read_onnx(model, input_shapes=dict(input_shapes), dims=dict(dims))
    summary = workload_summary(graph)
    if summary["unknown_ops"]:
        click.echo(f"Warning: {model}: op types without a handler, costed as elementwise "
                   f"vector ops (1 op per output element): {', '.join(summary['unknown_ops'])}",
                   err=True)
    unresolved = graph.graph.get("unresolved_vector_ops", [])
    if unresolved:
        click.echo(f"Warning: {model}: {len(unresolved)} vector ops have unknown output sizes "
                   f"(counted as 0), e.g. '{unresolved[0]}'; set --input-shape/--dim to resolve",
                   err=True)
    click.echo(json.dumps(summary, indent=2) if as_json else format_summary(summary))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
