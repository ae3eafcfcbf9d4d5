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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
