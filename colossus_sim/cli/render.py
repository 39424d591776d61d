"""What the commands print about one run, one job, the fabric and the fidelity table: rich
tables and text lines.

Owns the look of ``run``, ``plan``, ``step``, ``fabric`` and ``validate`` (the sweep-like
commands' tables are ``render_sweep``'s; the consoles and how a table fits them are
``tables``'). JSON goes to stdout sorted and indented. Cost: rich
formatting of a few dozen rows, milliseconds; importing rich (~50 ms) is paid by every
command anyway.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from rich.console import JustifyMethod
from rich.table import Table

from colossus_sim import api
from colossus_sim.cli.render_grid import grid_lines
from colossus_sim.cli.render_recovery import recovery_lines
from colossus_sim.cli.tables import err, fitted, out, print_table

if TYPE_CHECKING:
    from colossus_sim.api import Calibration, FidelityRow, JobStep, RunResult
    from colossus_sim.fabric import FabricSummary


def print_json(payload: object) -> None:
    sys.stdout.write(api.json_text(payload))


def stopped(exc: BaseException) -> tuple[str, int]:
    """What stopped a command running on worker processes, and its exit code: SIGTERM (as
    ``api.Terminated``) and Ctrl-C 130, a worker process that died (``BrokenProcessPool``) 1."""
    if isinstance(exc, api.Terminated):
        return "terminated (SIGTERM)", 130
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", 130
    return "a worker process died (killed, or out of memory?)", 1


def wrote(path: object) -> None:
    """``wrote PATH`` on stderr, the path taken literally (no rich markup)."""
    err.print(f"wrote {path}", markup=False, soft_wrap=True)


def _columns(table: Table, columns: list[tuple[str, JustifyMethod]]) -> Table:
    for name, justify in columns:
        table.add_column(name, justify=justify)
    return table


PLAN_DROP_FIRST = (
    "plan tp·pp·dp·ep·cp·vp mb rc",
    "params total/active",
    "HBM GB",
    "Mtok/s",
    "gpu",
    "racks",
    "MFU",
)
"""Columns of ``plan``'s table a narrow terminal loses first (the job, its step time and days
to train stay)."""


def jobs_table(steps: list[JobStep], width: int | None = None) -> Table:
    """The seven jobs on their default racks, fitted to ``width`` columns (None: every
    column)."""
    columns: list[tuple[str, JustifyMethod]] = [
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
    ]
    rows = []
    for s in steps:
        p = s.step.plan
        rows.append(
            [
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
            ]
        )
    title = "Colossus 2 jobs: step time on their default racks (no failures)"
    return fitted(title, columns, rows, width, PLAN_DROP_FIRST)


RUN_DROP_FIRST = (
    "plan tp·pp·dp·ep·cp·vp",
    "MW",
    "failures",
    "step s",
    "min clock",
    "gpu",
    "start d",
    "MFU",
    "throttled h",
    "racks",
    "wait d",
    "goodput",
)
"""Columns a narrow terminal loses first (the job, its finish and time to train stay)."""


def run_table(result: RunResult, width: int | None = None) -> Table:
    """The run's named jobs (a trace's jobs are one line of ``cluster_lines``), fitted to
    ``width`` columns (None: every column)."""
    title = (
        f"{result.label}: {len(result.jobs)} jobs, {result.cluster.hours / 24:.1f} days simulated"
    )
    named = [j for j in result.jobs if not j.background]
    throttled = any(j.throttled_hours > 0 for j in named)
    columns: list[tuple[str, JustifyMethod]] = [
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
        ("finish d", "right"),
        ("time to train d", "right"),
    ]
    waited = any(j.wait_days for j in named)
    if waited:
        columns[-3:-3] = [("wait d", "right")]
    if throttled:
        columns[5:5] = [("min clock", "right"), ("throttled h", "right")]
    rows = []
    for j in named:
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
            "—" if j.start_days is None else f"{j.goodput:.1%}",  # none: it never trained
            f"{j.failures:,}",
            f"{j.mean_power_mw:,.0f}",
            "—" if j.start_days is None else f"{j.start_days:.1f}",
            "—" if j.finish_days is None else f"{j.finish_days:.1f}",
            ttt,
        ]
        if waited:
            cells[-3:-3] = ["—" if j.wait_days is None else f"{j.wait_days:.1f}"]
        if throttled:
            cells[5:5] = [f"{j.min_clock:.3f}", f"{j.throttled_hours:,.0f}"]
        rows.append(cells)
    return fitted(title, columns, rows, width, RUN_DROP_FIRST)


def cluster_lines(result: RunResult) -> list[str]:
    c = result.cluster
    hours = c.gpu_hours
    lost = hours["rework"] + hours["restart"] + hours["checkpoint"] + hours["stalled"]
    lines = [
        f"cluster: {c.gpus:,} GPUs · allocated {c.allocated_frac:.1%} · productive "
        f"{c.productive_frac:.1%} · {c.failures:,} failures ({c.spare_gpu_failures:,} of idle "
        f"hot-spare GPUs, no interruption), {c.repairs:,} repairs · "
        f"{lost / 1e6:,.1f}M GPU-h lost to restart/rework/checkpoint/stall · "
        f"{c.events:,} events · "
        + (
            f"last job finished day {c.makespan_days:.1f}"
            if c.makespan_days
            else "not all finished"
        ),
        f"power: facility peak {c.peak_facility_mw:,.0f} MW of a {c.power_cap_mw:,.0f} MW cap "
        f"(IT peak {c.peak_it_mw:,.0f} MW) · mean {c.mean_facility_mw:,.0f} MW · "
        f"{c.energy_mwh / 1e3:,.1f} GWh · synchronous compute/communication swing up to "
        f"{c.power_swing_mw:,.0f} MW",
    ]
    lines += grid_lines(c.grid)
    idle = c.gpu_hours["idle"]
    if idle > 0:
        why = c.idle_gpu_hours
        lines.append(
            f"idle: {idle / 1e6:,.1f}M GPU-h ({idle / sum(hours.values()):.1%}) · nothing queued "
            f"{why['no_queued_job'] / idle:.0%} · only jobs of another GPU type queued "
            f"{why['queued_for_other_gpu'] / idle:.0%} · a queued job does not fit "
            f"{why['queued_job_does_not_fit'] / idle:.0%}"
        )
    for j in result.jobs:
        if j.throttled_hours <= 0 or j.background:
            continue
        compute = j.breakdown_s.get("compute_s", 0.0)
        lines.append(
            f"  {j.name}: cap held its clock down to {j.min_clock:.3f} for "
            f"{j.throttled_hours:,.0f} h; its compute-bound {compute:.2f} s of a "
            f"{j.step_s:.2f} s step stretches to {compute / j.min_clock:.2f} s, so the step "
            f"takes {j.step_s_at_min_clock:.2f} s (+{j.step_s_at_min_clock / j.step_s - 1:.1%}); "
            "communication and HBM-bound parts keep their time"
        )
    lines += recovery_lines(result) + trace_lines(result) + restart_lines(result)
    return lines + fabric_lines(result)


def trace_lines(result: RunResult) -> list[str]:
    """The trace's jobs in one line: how many ran and finished, their waits and sizes."""
    background = [j for j in result.jobs if j.background]
    if not background:
        return []
    waits = sorted(j.wait_days for j in background if j.wait_days is not None)
    finished = sum(j.finished for j in background)
    held = sum(sum(j.gpu_hours.values()) for j in background)
    productive = sum(j.gpu_hours["productive"] for j in background)
    wait = "none started"
    if waits:
        p95 = waits[min(int(0.95 * len(waits)), len(waits) - 1)]
        wait = f"wait mean {sum(waits) / len(waits):.2f} d, p95 {p95:.2f} d"
    first = background[0]
    return [
        f"trace ({first.workload} on {first.gpu}): {len(background):,} jobs, "
        f"{len(waits):,} started, {finished:,} finished · {wait} · "
        f"{sum(j.racks for j in background) / len(background):.1f} racks on average · "
        f"goodput {productive / held if held else 0.0:.1%}"
    ]


def restart_lines(result: RunResult) -> list[str]:
    """What a restart after a failure takes each job, by part, when restarts are timed so."""
    lines = []
    for j in result.jobs:
        parts = j.restart_breakdown_s
        if not parts or j.background:
            continue
        named = " + ".join(f"{k.removesuffix('_s')} {v:,.0f}" for k, v in parts.items() if v)
        lines.append(
            f"  {j.name}: a restart ({j.recovery}) takes {j.restart_s:,.0f} s = {named} s; "
            f"{j.restarts:,} restart{'' if j.restarts == 1 else 's'}, goodput {j.goodput:.1%}"
        )
    return lines


def fabric_lines(result: RunResult) -> list[str]:
    """Where each job's racks sit in the fabric and what bandwidth that cost it."""
    placed = [j for j in result.jobs if j.fabric is not None and not j.background]
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
        cost = ", ".join(f"{k} +{v:.3f} s" for k, v in j.fabric_cost_s.items() if v >= 5e-4)
        shared = f" shared with {f.sharing_jobs} other jobs" if f.sharing_jobs else ""
        by = (
            "a failed leaf switch leaves it"  # a job capped at its NICs' share: fewer planes
            if f.limit == "nic"
            else f"the {f.oversubscription:g}:1 {f.limit}{shared} give it"
        )
        given = f"{where}; {by} {f.bw_frac:.0%} of its NIC bandwidth"
        if not cost:  # its communication hides behind compute even at that share
            lines.append(f"{given}, which costs its step nothing (it hides behind compute)")
            continue
        lines.append(
            f"{given}: {cost}, so the step takes {j.step_s:.2f} s instead of "
            f"{j.step_s_full_bw:.2f} s (+{j.step_s / j.step_s_full_bw - 1:.1%})"
        )
    worst = min(placed, key=lambda j: j.fabric_min_bw_frac)
    if worst.fabric_min_bw_frac < 1.0:
        lines.append(
            f"  lowest share during the run: {worst.name} at {worst.fabric_min_bw_frac:.1%} "
            "(placement changes and switch faults; see job_series)"
        )
    return lines


def print_step(result: JobStep) -> None:
    """One job's plan, step-time breakdown, throughput and HBM use."""
    s = result.step
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
    print_table(table)
    out.print(
        f"MFU {s.mfu:.1%}  ·  {s.model_tflops_per_gpu:,.0f} TFLOP/s/GPU  ·  "
        f"{s.tokens_per_s / 1e6:,.2f} M tokens/s  ·  {result.planned_days:.1f} days for the "
        "token budget without failures"
    )
    parts = ", ".join(f"{k} {v:.1f}" for k, v in s.hbm_breakdown_gb.items())
    out.print(f"HBM {s.hbm_used_gb:.1f} of {s.hbm_capacity_gb:.1f} GB per GPU ({parts})")


def print_fabric(summary: FabricSummary) -> None:
    """The fabric's tiers as a table, then its size and bisection in one line."""
    table = _columns(
        Table(title=f"{summary.cluster}: scale-out fabric, {summary.planes} rail planes"),
        [
            ("tier", "left"),
            ("switches", "right"),
            ("positions × planes", "right"),
            ("down Tb/s", "right"),
            ("up Tb/s", "right"),
            ("oversubscription", "right"),
        ],
    )
    for t in summary.tiers:
        table.add_row(
            t.tier,
            f"{t.switches:,}",
            f"{t.positions:,} × {summary.planes}",
            f"{t.down_tbps:,.1f}",
            f"{t.up_tbps:,.1f}" if t.up_tbps is not None else "—",
            f"{t.oversubscription:g}:1" if t.oversubscription is not None else "—",
        )
    print_table(table)
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


def fidelity_table(rows: list[FidelityRow]) -> Table:
    table = Table(title="Step-time model vs published training runs")
    columns = ("case", "role", "hw", "GPUs", "metric", "measured", "predicted", "error %")
    for name in (*columns, "MFU", "HBM GB"):
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
            f"{r.mfu:.1%}",
            f"{r.hbm_used_gb:.0f}/{r.hbm_capacity_gb:.0f}",
        )
    return table


def calibration_table(fits: list[Calibration]) -> Table:
    table = Table(title="Calibrated constants: stored in the data files vs re-fitted now")
    for name in ("constant", "fitted on", "stored", "fitted"):
        table.add_column(name, justify="right" if name in {"stored", "fitted"} else "left")
    for c in fits:
        table.add_row(c.constant, "\n".join(c.cases), f"{c.stored:.3f}", f"{c.fitted:.4f}")
    return table
