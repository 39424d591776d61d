"""colossus-sim command line: thin typer commands over ``colossus_sim.api``.

Run ``colossus-sim --help`` (installed) or ``python cli.py --help`` (checkout). Bad input
prints ``file:line:col: field: what is wrong`` on stderr and exits with code 2.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from colossus_sim import api, regression
from colossus_sim import sweep as sweeps
from colossus_sim.config.workload import CaseRole
from colossus_sim.errors import ScenarioError
from colossus_sim.perf.fidelity import FidelityRow, calibrations, median_abs_error_pct
from colossus_sim.results import RunResult, json_bytes, parquet_bytes, write_atomic, write_run

if TYPE_CHECKING:
    import pandas as pd

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
    table = Table(title="Colossus 2 jobs: step time on their default racks (no failures)")
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


def _run_table(result: RunResult) -> Table:
    table = Table(
        title=f"{result.scenario}: {len(result.jobs)} jobs, seed {result.seed}, "
        f"{result.cluster.hours / 24:.1f} days simulated"
    )
    throttled = any(j.throttled_hours > 0 for j in result.jobs)
    columns = [
        ("job", "left"),
        ("gpu", "left"),
        ("racks", "right"),
        ("plan tp·pp·dp·ep·cp·vp", "left"),
        ("step s", "right"),
        ("MFU", "right"),
        ("goodput", "right"),
        ("failures", "right"),
        ("MW", "right"),
        ("start d", "right"),
        ("time to train d", "right"),
    ]
    if throttled:
        columns[5:5] = [("min clock", "right"), ("throttled h", "right")]
    for name, justify in columns:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for j in result.jobs:
        p = j.plan
        ttt = "—" if j.time_to_train_days is None else f"{j.time_to_train_days:.1f}"
        if not j.finished and j.time_to_train_days is not None:
            ttt += " (projected)"
        cells = [
            j.name,
            j.gpu,
            f"{j.racks:,}",
            f"{p.tp}·{p.pp}·{p.dp}·{p.ep}·{p.cp}·{p.vp}",
            f"{j.step_s:.2f}",
            f"{j.mfu:.1%}",
            f"{j.goodput:.1%}",
            f"{j.failures:,}",
            f"{j.mean_power_mw:,.0f}",
            "—" if j.start_days is None else f"{j.start_days:.1f}",
            ttt,
        ]
        if throttled:
            cells[5:5] = [f"{j.min_clock:.3f}", f"{j.throttled_hours:,.0f}"]
        table.add_row(*cells)
    return table


def _cluster_lines(result: RunResult) -> list[str]:
    c = result.cluster
    hours = c.gpu_hours
    lost = hours["rework"] + hours["restart"] + hours["checkpoint"] + hours["stalled"]
    lines = [
        f"cluster: {c.gpus:,} GPUs · allocated {c.allocated_frac:.1%} · productive "
        f"{c.productive_frac:.1%} · {c.failures:,} failures, {c.repairs:,} repairs · "
        f"{lost / 1e6:,.1f}M GPU-h lost to restart/rework/checkpoint/stall · "
        f"{c.events:,} events",
        f"power: facility peak {c.peak_facility_mw:,.0f} MW of a {c.power_cap_mw:,.0f} MW cap "
        f"(IT peak {c.peak_it_mw:,.0f} MW) · mean {c.mean_facility_mw:,.0f} MW · "
        f"{c.energy_mwh / 1e3:,.1f} GWh · synchronous compute/communication swing up to "
        f"{c.power_swing_mw:,.0f} MW",
    ]
    for j in result.jobs:
        if j.throttled_hours <= 0:
            continue
        compute = j.breakdown_s.get("compute_s", 0.0)
        lines.append(
            f"  {j.name}: cap held its clock down to {j.min_clock:.3f} for "
            f"{j.throttled_hours:,.0f} h; its compute-bound {compute:.2f} s of a "
            f"{j.step_s:.2f} s step stretches to {compute / j.min_clock:.2f} s, so the step "
            f"takes {j.step_s_at_min_clock:.2f} s (+{j.step_s_at_min_clock / j.step_s - 1:.1%}); "
            "communication and HBM-bound parts keep their time"
        )
    return lines + _fabric_lines(result)


def _fabric_lines(result: RunResult) -> list[str]:
    """Where each job's racks sit in the fabric and what bandwidth that cost it."""
    placed = [j for j in result.jobs if j.fabric is not None]
    if not placed:
        return ["fabric: off (every job at its NICs' full bandwidth)"]
    c = result.cluster
    lines = [
        f"fabric: {c.fabric_faults:,} switch faults (repaired in place); where each job started:"
    ]
    for j in placed:
        f = j.fabric
        assert f is not None
        where = (
            f"  {j.name}: {f.pods} pod{'s' if f.pods != 1 else ''}, "
            f"{f.cross_pod_frac:.0%} of ring hops cross pods"
        )
        if f.bw_frac >= 1.0:
            lines.append(f"{where}; full NIC bandwidth")
            continue
        cost = ", ".join(f"{k} +{v:.3f} s" for k, v in j.fabric_cost_s.items() if v > 0)
        shared = f" shared with {f.sharing_jobs} other jobs" if f.sharing_jobs else ""
        lines.append(
            f"{where}; the {f.oversubscription:g}:1 {f.limit}{shared} give it "
            f"{f.bw_frac:.0%} of its NIC bandwidth: {cost}, so the step takes "
            f"{j.step_s:.2f} s instead of {j.step_s_full_bw:.2f} s "
            f"(+{j.step_s / j.step_s_full_bw - 1:.1%})"
        )
    worst = min(placed, key=lambda j: j.fabric_min_bw_frac)
    if worst.fabric_min_bw_frac < 1.0:
        lines.append(
            f"  lowest share during the run: {worst.name} at {worst.fabric_min_bw_frac:.1%} "
            "(placement changes and switch faults; see job_series)"
        )
    return lines


def _run_plots(result: RunResult, prefix: Path) -> list[Path]:
    from colossus_sim import plots

    stem = prefix.with_suffix("") if prefix.suffix == ".png" else prefix
    written = []
    for name, draw in (
        ("allocation", plots.plot_allocation),
        ("power", plots.plot_power),
        ("gantt", plots.plot_gantt),
    ):
        target = stem.with_name(f"{stem.name}_{name}.png")
        draw(result, target)
        written.append(target)
    return written


@app.command()
@reports_bad_input
def run(
    scenario: Annotated[
        str | None,
        typer.Argument(help="A scenario in scenarios/ or a YAML path (default: colossus2)."),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Override PATH=VALUE, repeatable: jobs.grok5_10t.racks=+20%, "
            "failures.rate_multiplier=2, scheduler.policy=spread, horizon_days=90.",
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", min=0, help="Override the scenario's seed.")
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (scenario, seed, jobs, cluster).")
    ] = False,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write result.json and jobs/cluster/timeline/power/job_series Parquet here.",
        ),
    ] = None,
    replicas: Annotated[
        int | None,
        typer.Option(
            "--replicas",
            min=1,
            help="Run N seeds (base, base+1, …; base = --seed or the scenario's) and print each "
            "job's P10/P50/P90 time to train and goodput; --out writes replicas.json/.parquet.",
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Write PNG figures PLOT_allocation.png (racks per job, utilisation), "
            "PLOT_power.png (site power and the cap) and PLOT_gantt.png (jobs, failures).",
        ),
    ] = None,
) -> None:
    """Run a scenario: the jobs share the cluster over time, with failures and checkpoints."""
    if replicas is not None:
        _run_replicas(scenario, set_ or [], seed, replicas, json_out, out_dir)
        return
    result = api.simulate(scenario, overrides=set_ or [], seed=seed)
    if out_dir is not None:
        for path in write_run(result, out_dir):
            err.print(f"wrote {path}")
    if plot is not None:
        for path in _run_plots(result, plot):
            err.print(f"wrote {path}", markup=False)
    if json_out:
        _print_json(result.summary())
        return
    out.print(_run_table(result))
    for line in _cluster_lines(result):
        out.print(line, markup=False)


@app.command()
@reports_bad_input
def plan(
    json_out: Annotated[
        bool, typer.Option("--json", help="Print JSON instead of a table.")
    ] = False,
) -> None:
    """Plan each of the seven jobs on its default racks: step time, MFU, memory, days to train
    its token budget without failures."""
    steps = api.default_jobs()
    if json_out:
        _print_json({"jobs": [s.model_dump(mode="json") for s in steps]})
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


@app.command()
@reports_bad_input
def fabric(
    scenario: Annotated[
        str | None,
        typer.Argument(help="A scenario in scenarios/ or a YAML path (default: colossus2)."),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override PATH=VALUE, e.g. fabric.core_oversubscription=1."),
    ] = None,
    graphml: Annotated[
        Path | None, typer.Option("--graphml", help="Write the fabric graph as GraphML here.")
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print JSON instead of a table.")
    ] = False,
) -> None:
    """The scale-out fabric: switches per tier, capacities, oversubscription, bisection."""
    summary, graph = api.fabric(scenario, overrides=set_ or [])
    if graphml is not None:
        write_atomic(graphml, api.graphml_bytes(graph))
        err.print(f"wrote {graphml}")
    if json_out:
        _print_json(summary.model_dump(mode="json"))
        return
    table = Table(title=f"{summary.cluster}: scale-out fabric, {summary.planes} rail planes")
    for name, justify in (
        ("tier", "left"),
        ("switches", "right"),
        ("positions × planes", "right"),
        ("down Tb/s", "right"),
        ("up Tb/s", "right"),
        ("oversubscription", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for t in summary.tiers:
        table.add_row(
            t.tier,
            f"{t.switches:,}",
            f"{t.positions:,} × {summary.planes}",
            f"{t.down_tbps:,.1f}",
            f"{t.up_tbps:,.1f}" if t.up_tbps is not None else "—",
            f"{t.oversubscription:g}:1" if t.oversubscription is not None else "—",
        )
    out.print(table)
    out.print(
        f"{summary.racks:,} racks in {summary.pods} pods of {summary.racks_per_pod} racks, "
        f"{summary.blocks} leaf blocks of {summary.racks_per_leaf} racks · "
        f"{summary.switch_ports}-port {summary.port_gbps:g}G switches · "
        f"bisection (half the pods to the other half) {summary.bisection_tbps:,.1f} Tb/s of "
        f"the {summary.bisection_injection_tbps:,.1f} Tb/s the smaller half's NICs inject "
        f"({summary.bisection_tbps / summary.bisection_injection_tbps:.0%}) · graph "
        f"{summary.graph_nodes:,} nodes, {summary.graph_edges:,} edges",
        markup=False,
    )


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
        "(calibration cases fit one matmul efficiency per GPU type, the FP8 ratio and the "
        "MoE token-path cost; tracked cases are named gaps, not held to ±15%)"
    )


@app.command()
@reports_bad_input
def check(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="PATHS", help="Scenario files or folders (default: the scenarios folder)."
        ),
    ] = None,
    junit: Annotated[
        Path | None,
        typer.Option("--junit", help="Also write JUnit XML here (one case per figure)."),
    ] = None,
    update: Annotated[
        bool,
        typer.Option("--update", help="Accept the moves: rewrite the expected values in place."),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", min=1, help="Scenarios run at once (default: 2, or 1 on 1 core)."
        ),
    ] = None,
) -> None:
    """Run the scenarios with an expect: block and compare their figures with the expected
    values: exit 0 when all hold, 1 when any drifts, 2 on bad input."""
    report = regression.check(paths or None, workers=workers, update=update)
    for name in report.skipped:
        out.print(f"skipped {name}: no expect: block", markup=False)
    if report.checks:
        out.print(regression.drift_table(report))
    for move in report.moves:
        out.print(
            f"updated {move.scenario}: {move.figure} {move.old:.6g} → {move.new:.6g}",
            markup=False,
        )
    if update and not report.moves:
        out.print("nothing moved: no expected value rewritten")
    if junit is not None:
        regression.write_junit(report, junit)
        err.print(f"wrote {junit}", markup=False)
    out.print(regression.summary_line(report), markup=False)
    raise typer.Exit(report.exit_code)


# ---------------------------------------------------------------------------- sweeps
def _band_text(band: api.Band, fmt: str) -> str:
    if band.p50 is None or band.p10 is None or band.p90 is None:
        return "—"
    if band.p10 == band.p90:
        return format(band.p50, fmt)
    return f"{band.p50:{fmt}} [{band.p10:{fmt}}–{band.p90:{fmt}}]"


def _replicas_table(summary: api.ReplicaSummary) -> Table:
    seeds = summary.seeds
    table = Table(
        title=f"{summary.scenario}: {len(seeds)} replicas, seeds {seeds[0]}–{seeds[-1]} "
        "(replica i runs seed base + i)"
    )
    for name in (
        "job",
        "finished",
        "time to train d P10",
        "P50",
        "P90",
        "goodput P10",
        "P50",
        "P90",
    ):
        table.add_column(name, justify="left" if name == "job" else "right")
    for j in summary.jobs:
        ttt, good = j.time_to_train_days, j.goodput
        table.add_row(
            j.job,
            f"{j.finished}/{j.runs}",
            *("—" if v is None else f"{v:.2f}" for v in (ttt.p10, ttt.p50, ttt.p90)),
            *("—" if v is None else f"{v:.1%}" for v in (good.p10, good.p50, good.p90)),
        )
    return table


def _run_replicas(
    scenario: str | None,
    overrides: list[str],
    seed: int | None,
    replicas: int,
    json_out: bool,
    out_dir: Path | None,
    workers: int | None = None,
) -> None:
    """``run --replicas N``: the scenario over N seeds, each job's P10/P50/P90 band."""
    base = [*overrides, f"seed={seed}"] if seed is not None else overrides
    result = sweeps.run(scenario, overrides=base, replicas=replicas, workers=workers, progress=True)
    frame = result.frame
    summary = api.replica_summary(frame, name=result.scenario)
    if out_dir is not None:
        for file, data in (
            ("replicas.json", json_bytes(summary.model_dump(mode="json"))),
            ("replicas.parquet", parquet_bytes(frame)),
        ):
            write_atomic(out_dir / file, data)
            err.print(f"wrote {out_dir / file}", markup=False)
    if json_out:
        _print_json(summary.model_dump(mode="json"))
        return
    out.print(_replicas_table(summary))


def _sweep_table(frame: pd.DataFrame, grid_paths: list[str], jobs: list[str] | None) -> Table:
    """One row per grid combination and job; with several seeds, P50 [P10–P90]."""
    seeds = frame["seed"].nunique()
    table = Table(
        title=f"sweep: {frame['point'].nunique()} points"
        + (f" ({seeds} seeds each; P50 [P10–P90])" if seeds > 1 else "")
    )
    for name in [*grid_paths, "job", "runs", "time to train d", "goodput", "step s", "failures"]:
        table.add_column(name, justify="left" if name == "job" else "right")
    groups = frame.groupby(grid_paths, sort=False, dropna=False) if grid_paths else [((), frame)]
    for combo, rows in groups:
        values = combo if isinstance(combo, tuple) else (combo,)
        for job, job_rows in rows.groupby("name", sort=False):
            if jobs and job not in jobs:
                continue
            band = api.replica_summary(job_rows).jobs[0]
            table.add_row(
                *(str(v) for v in values),
                str(job),
                str(band.runs),
                _band_text(band.time_to_train_days, ".2f"),
                _band_text(band.goodput, ".1%"),
                f"{job_rows['step_s'].median():.2f}",
                f"{job_rows['failures'].median():,.0f}",
            )
    return table


@app.command()
@reports_bad_input
def sweep(
    scenario: Annotated[
        str | None,
        typer.Argument(help="A scenario in scenarios/ or a YAML path (default: colossus2)."),
    ] = None,
    grid: Annotated[
        list[str] | None,
        typer.Option(
            "--grid",
            help="PATH=V1,V2,... repeatable (the paths of --set): jobs.grok5_10t.racks=3400,+20%, "
            "failures.rate_multiplier=0.5,1,2. Points are every combination × the seeds.",
        ),
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override PATH=VALUE for every point.")
    ] = None,
    seeds: Annotated[
        str | None,
        typer.Option("--seeds", help="Seeds for every point: 1,2,3 or 0-7 (default: its own)."),
    ] = None,
    replicas: Annotated[
        int | None,
        typer.Option("--replicas", min=1, help="Seeds s … s+N−1 for every point, s its own."),
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option(
            "--store",
            help="Keep each point's result here; a re-run computes only missing points "
            "(default: OUT/store with --out, else a temporary folder).",
        ),
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Write the tidy table here as sweep.parquet.")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="Local worker processes (default: CPU count)."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Run on a dask.distributed scheduler: tcp://host:8786."),
    ] = None,
    job: Annotated[
        list[str] | None,
        typer.Option("--job", help="Show only these jobs in the table (the files keep all)."),
    ] = None,
    json_out: Annotated[
        bool,
        typer.Option("--json", help="Print one JSON object: points, computed, reused, rows."),
    ] = False,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Write a PNG of --plot-y against the first --grid path, a line per job "
            "(median, with the P10–P90 band when there are several seeds).",
        ),
    ] = None,
    plot_y: Annotated[
        str,
        typer.Option("--plot-y", help="The figure to plot: a jobs column, e.g. goodput, step_s."),
    ] = "time_to_train_days",
) -> None:
    """Run a scenario over a grid of overrides × seeds, each point once: a progress bar with
    ETA on stderr, then a summary table. Interrupted, it resumes from its --store."""
    from concurrent.futures.process import BrokenProcessPool

    if seeds is not None and replicas is not None:
        raise ScenarioError.at("--seeds", "give --seeds or --replicas, not both")
    if workers is not None and scheduler is not None:
        raise ScenarioError.at("--workers", "give --workers or --scheduler, not both")
    grid_values = sweeps.parse_grid_option(grid or [])
    seed_list = sweeps.parse_seeds_option(seeds) if seeds is not None else None
    if store is None and out_dir is not None:
        store = out_dir / "store"
    start = time.perf_counter()
    try:
        result = sweeps.run(
            scenario,
            grid_values,
            overrides=set_ or [],
            seeds=seed_list,
            replicas=replicas,
            store=store,
            scheduler=scheduler,
            workers=workers,
            progress=not json_out,
        )
    except (KeyboardInterrupt, BrokenProcessPool) as exc:
        kept = f"finished points are kept in {store}" if store else "no --store: nothing kept"
        what = "interrupted" if isinstance(exc, KeyboardInterrupt) else "a worker process died"
        err.print(f"{what}: {kept}; run the same command again to resume", markup=False)
        raise typer.Exit(130 if isinstance(exc, KeyboardInterrupt) else 1) from None
    frame = result.frame
    if out_dir is not None:
        target = out_dir / "sweep.parquet"
        write_atomic(target, parquet_bytes(frame))
        err.print(f"wrote {target}", markup=False)
    if plot is not None:
        _sweep_plot(frame, list(grid_values), plot, plot_y)
    if json_out:
        _print_json(
            {
                "points": result.points,
                "computed": result.computed,
                "reused": result.reused,
                "store": None if result.store is None else str(result.store),
                "rows": json.loads(frame.to_json(orient="records")),
            }
        )
        return
    out.print(_sweep_table(frame, list(grid_values), job))
    out.print(
        f"{result.points} points: {result.computed} computed, {result.reused} found in the store"
        f"{f' {result.store}' if result.store else ''} · wall {time.perf_counter() - start:.1f} s",
        markup=False,
    )


def _sweep_plot(frame: pd.DataFrame, grid_paths: list[str], target: Path, y: str) -> None:
    from colossus_sim import plots

    if not grid_paths:
        raise ScenarioError.at("--plot", "a sweep plot needs a --grid path for its x axis")
    if y not in frame.columns:
        numeric = [c for c in frame.columns if frame[c].dtype.kind in "if"]
        raise ScenarioError.at(
            "--plot-y", "not a column of the sweep table", got=repr(y), expected=", ".join(numeric)
        )
    plots.plot_sweep(frame, x=grid_paths[0], y=y, path=target)
    err.print(f"wrote {target}", markup=False)


def _figure(value: float) -> str:
    """A figure for a table: thousands separated, ~4 significant digits, "—" for NaN."""
    if value != value:
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


COMPARE_METRICS = (
    "time_to_train_days",
    "goodput",
    "step_s",
    "mfu",
    "racks",
    "failures",
    "start_days",
    "energy_mwh",
)


@app.command()
@reports_bad_input
def compare(
    a: Annotated[str, typer.Argument(help="Scenario A: a name in scenarios/ or a YAML path.")],
    b: Annotated[str, typer.Argument(help="Scenario B, compared with A.")],
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override PATH=VALUE in both.")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", min=0, help="Run both with this seed.")
    ] = None,
    all_metrics: Annotated[
        bool, typer.Option("--all", help="Every numeric job figure, not the headline ones.")
    ] = False,
    job: Annotated[
        list[str] | None, typer.Option("--job", help="Show only these jobs (repeatable).")
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print a JSON list: job, metric, a, b, delta, rel.")
    ] = False,
) -> None:
    """Run two scenarios and show each job's figures side by side: A, B, B − A, relative."""
    first = api.load_scenario(a, set_ or [])
    second = api.load_scenario(b, set_ or [])
    delta = api.compare(api.simulate(first, seed=seed), api.simulate(second, seed=seed))
    if not all_metrics:
        delta = delta[delta["metric"].isin(COMPARE_METRICS)]
    if job:
        delta = delta[delta["job"].isin(job)]
    if json_out:
        _print_json(json.loads(delta.to_json(orient="records")))
        return
    table = Table(title=f"{first.scenario.name} (A) → {second.scenario.name} (B)")
    for name in ("job", "metric", "A", "B", "B − A", "rel"):
        table.add_column(name, justify="left" if name in {"job", "metric"} else "right")
    for row in delta.itertuples(index=False):
        table.add_row(
            str(row.job),
            str(row.metric),
            *(_figure(v) for v in (row.a, row.b, row.delta)),
            f"{row.rel:+.1%}" if row.rel == row.rel else "—",
        )
    out.print(table)


if __name__ == "__main__":
    app()
