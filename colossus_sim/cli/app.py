"""The typer app: every command registered in the order ``--help`` lists them, each behind
the bad-input boundary (a ``ScenarioError`` → its located messages on stderr, exit code 2).

The installed ``colossus-sim`` runs ``main``; ``python cli.py`` at the project root and
``python -m colossus_sim.cli`` run the same ``app``. Either way the program name in usage lines
is the name it was called by. Cost: importing the commands imports typer, rich and
``colossus_sim.api`` (~0.7-0.8 s of CPU with the interpreter, bytecode cached); each command
imports what else it needs (the engine, pandas, pyarrow, matplotlib, dask, process pools) when
it runs (``docs/architecture.md``, "What is imported when").
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer

from colossus_sim.cli import checks, plan, run, sweeps
from colossus_sim.cli.tables import err
from colossus_sim.errors import ScenarioError

P = ParamSpec("P")
R = TypeVar("R")
EXIT_BAD_INPUT = 2


def reports_bad_input(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a ``ScenarioError`` into its located messages on stderr and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ScenarioError as exc:
            for issue in exc.issues:
                err.print(f"error: {issue.render()}", markup=False, soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None

    return wrapper


app = typer.Typer(
    help="Simulate training jobs on xAI Colossus 2 scale clusters: step time, MFU, plans.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(asked: bool) -> None:
    if asked:
        from colossus_sim import __version__
        from colossus_sim.api import describe_data_root

        typer.echo(f"colossus-sim {__version__}")
        typer.echo(describe_data_root())
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """Simulate training jobs on xAI Colossus 2 scale clusters: step time, MFU, plans."""


for _command in (
    run.run,
    plan.plan,
    plan.step,
    plan.fabric,
    checks.validate,
    checks.check,
    sweeps.sweep,
    sweeps.compare,
):
    app.command()(reports_bad_input(_command))


def main() -> None:
    """The ``colossus-sim`` console script."""
    app()
