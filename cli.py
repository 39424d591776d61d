"""colossus-sim command line: thin typer commands over ``colossus_sim.api``.

Run ``colossus-sim --help`` (installed) or ``python cli.py --help`` (checkout). Bad input
prints ``file:line:col: field: what is wrong`` on stderr and exits with code 2.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from colossus_sim import api
from colossus_sim.config.workload import CaseRole
from colossus_sim.errors import ScenarioError
from colossus_sim.perf.fidelity import FidelityRow, calibrations, median_abs_error_pct

app = typer.Typer(
    help="Simulate training jobs on xAI Colossus 2 scale clusters: step time, MFU, plans.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Tables keep their full width when piped (a terminal's width otherwise).
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)

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


def _print_json(payload: object) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, sort_keys=True) + "\n")


def _jobs_table(steps: list[api.JobStep]) -> Table:
    table = Table(title="Colossus 2 jobs: step time on their default racks (no failures yet)")
    for name, justify in (
        ("job", "left"),
        ("gpu", "left"),
        ("racks", "right"),
        ("params total/active", "right"),
        ("plan tp·pp·dp·ep·cp·vp mb rc", "left"),
        ("step s", "right"),
        ("MFU", "right"),
        ("Mtok/s", "right"),
        ("HBM GB", "right"),
        ("days", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for s in steps:
        p = s.step.plan
        table.add_row(
            s.job,
            s.gpu,
            f"{s.racks:,}",
            f"{s.total_params / 1e12:.2f}T / {s.active_params / 1e9:.0f}B",
            f"{p.tp}·{p.pp}·{p.dp}·{p.ep}·{p.cp}·{p.vp} {p.microbatch} {p.recompute.value}",
            f"{s.step.step_s:.2f}",
            f"{s.step.mfu:.1%}",
            f"{s.step.tokens_per_s / 1e6:.1f}",
            f"{s.step.hbm_used_gb:.0f}/{s.step.hbm_capacity_gb:.0f}",
            f"{s.planned_days:.1f}",
        )
    return table


@app.command()
@reports_bad_input
def run(
    json_out: Annotated[
        bool, typer.Option("--json", help="Print JSON instead of a table.")
    ] = False,
) -> None:
    """Run the default Colossus 2 scenario.

    Until the cluster engine lands, this plans each of the seven jobs on its default racks
    and prints its step time, MFU, memory and failure-free days to train its token budget.
    """
    steps = api.default_jobs()
    if json_out:
        _print_json({"scenario": "colossus2", "jobs": [s.model_dump(mode="json") for s in steps]})
        return
    out.print(_jobs_table(steps))


@app.command()
@reports_bad_input
def step(
    workload: Annotated[
        str, typer.Argument(help="A job in workloads/ (e.g. grok5_10t) or a YAML path.")
    ],
    racks: Annotated[
        int | None, typer.Option("--racks", help="Whole NVL72 racks (default: the job's own).")
    ] = None,
    gpu: Annotated[
        str | None, typer.Option("--gpu", help="GPU type: gb200 or gb300 (default: the job's own).")
    ] = None,
    plan: Annotated[
        str,
        typer.Option(
            "--plan",
            help="'auto' (search), or fix fields: tp=8,pp=16,dp=..,ep=..,cp=..,vp=..,"
            "microbatch=..,recompute=none|selective|full; unfixed fields are searched.",
        ),
    ] = "auto",
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """One job's step-time breakdown, its parallel plan and its HBM use."""
    result = api.job_step(workload, racks=racks, gpu=gpu, plan=plan)
    s = result.step
    if json_out:
        payload = s.model_dump(mode="json")
        payload.update(
            job=result.job,
            gpu=result.gpu,
            racks=result.racks,
            planned_days=result.planned_days,
            total_params=result.total_params,
            active_params=result.active_params,
        )
        _print_json(payload)
        return
    p = s.plan
    out.print(f"[bold]{result.title}[/] on {result.racks:,} {result.gpu} racks ({s.gpus:,} GPUs)")
    out.print(
        f"plan: tp={p.tp} pp={p.pp} dp={p.dp} ep={p.ep} cp={p.cp} vp={p.vp} "
        f"microbatch={p.microbatch} recompute={p.recompute.value}  "
        f"({result.fitting:,} of {result.candidates:,} candidate plans fit HBM; "
        f"{s.gpus_used:,} GPUs used)"
    )
    table = Table(title=f"step {s.step_s:.3f} s")
    table.add_column("part")
    table.add_column("seconds", justify="right")
    table.add_column("share", justify="right")
    for name, seconds in s.breakdown_s.items():
        table.add_row(name.removesuffix("_s"), f"{seconds:.4f}", f"{seconds / s.step_s:.1%}")
    out.print(table)
    out.print(
        f"MFU {s.mfu:.1%}  ·  {s.model_tflops_per_gpu:,.0f} TFLOP/s/GPU  ·  "
        f"{s.tokens_per_s / 1e6:,.2f} M tokens/s  ·  {result.planned_days:.1f} days for the "
        "token budget without failures"
    )
    parts = ", ".join(f"{k} {v:.1f}" for k, v in s.hbm_breakdown_gb.items())
    out.print(f"HBM {s.hbm_used_gb:.1f} of {s.hbm_capacity_gb:.1f} GB per GPU ({parts})")


def _fidelity_table(rows: list[FidelityRow]) -> Table:
    table = Table(title="Step-time model vs published training runs")
    for name in ("case", "role", "hw", "GPUs", "metric", "measured", "predicted", "error %"):
        table.add_column(
            name, justify="left" if name in {"case", "role", "hw", "metric"} else "right"
        )
    for r in rows:
        table.add_row(
            r.case,
            r.role.value,
            r.hardware,
            f"{r.gpus:,}",
            r.metric.value,
            f"{r.measured:,.4g}",
            f"{r.predicted:,.4g}",
            f"{r.error_pct:+.1f}",
        )
    return table


@app.command()
@reports_bad_input
def validate(
    json_out: Annotated[
        bool, typer.Option("--json", help="Print a JSON list, one object per case.")
    ] = False,
    calibrate: Annotated[
        bool,
        typer.Option(
            "--calibrate",
            help="Re-fit each calibrated constant on its published case and show stored vs fitted.",
        ),
    ] = False,
) -> None:
    """The fidelity table: every published case in workloads/validation/, measured vs predicted."""
    if calibrate:
        fits = calibrations()
        if json_out:
            _print_json([c.model_dump(mode="json") for c in fits])
            return
        table = Table(title="Calibrated constants: stored in the data files vs re-fitted now")
        for name in ("constant", "case", "stored", "fitted"):
            table.add_column(name, justify="right" if name in {"stored", "fitted"} else "left")
        for c in fits:
            table.add_row(c.constant, c.case, f"{c.stored:.3f}", f"{c.fitted:.4f}")
        out.print(table)
        return
    rows = api.fidelity()
    if json_out:
        _print_json([r.model_dump(mode="json") for r in rows])
        return
    out.print(_fidelity_table(rows))
    out.print(
        f"median |error| over validation cases: "
        f"{median_abs_error_pct(rows, CaseRole.VALIDATION):.1f}%  "
        "(calibration cases fit one matmul efficiency per GPU type and one FP8 ratio)"
    )


if __name__ == "__main__":
    app()
