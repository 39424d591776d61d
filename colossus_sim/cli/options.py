"""Every command-line argument and option, declared once as an ``Annotated`` type alias.

A command's signature is a list of these aliases with their defaults; an option that means
the same in several commands (the scenario argument, ``--set``, ``--seed``, ``--json``,
``--out``, ``--replicas``, ``--workers``, ``--job``, ``--plot``) is built by one helper here,
with each command's own help line where the commands say it differently. Cost: none beyond
importing typer (the aliases are built once at import).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


def _set(help: str) -> Any:
    return typer.Option("--set", help=help)


def _seed(help: str) -> Any:
    # checked by the command (``api.check_seed``), as every other seed is: 0 to 2**63−1
    return typer.Option("--seed", help=help)


def _json(help: str) -> Any:
    return typer.Option("--json", help=help)


def _out(help: str) -> Any:
    return typer.Option("--out", help=help)


def _replicas(help: str) -> Any:
    return typer.Option("--replicas", min=1, help=help)


def _workers(help: str) -> Any:
    return typer.Option("--workers", min=1, help=help)


def _jobs(help: str) -> Any:
    return typer.Option("--job", help=help)


def _plot(help: str) -> Any:
    return typer.Option("--plot", help=help)


# ---------------------------------------------------------------------------- scenarios
ScenarioArg = Annotated[
    str | None,
    typer.Argument(help="A scenario in scenarios/ or a YAML path (default: colossus2)."),
]
ScenarioA = Annotated[
    str | None,
    typer.Argument(help="Scenario A: a name in scenarios/ or a YAML path (default: colossus2)."),
]
ScenarioB = Annotated[
    str | None, typer.Argument(help="Scenario B, compared with A (default: A itself).")
]
RunOverrides = Annotated[
    list[str] | None,
    _set(
        "Override PATH=VALUE, repeatable: jobs.grok5_10t.racks=+20%, "
        "failures.rate_multiplier=2, scheduler.policy=spread, horizon_days=90."
    ),
]
FabricOverrides = Annotated[
    list[str] | None, _set("Override PATH=VALUE, e.g. fabric.core_oversubscription=1.")
]
SweepOverrides = Annotated[list[str] | None, _set("Override PATH=VALUE for every point.")]
CompareOverrides = Annotated[list[str] | None, _set("Override PATH=VALUE in both.")]
CompareOverridesA = Annotated[
    list[str] | None,
    typer.Option("--set-a", help="Override PATH=VALUE in A only (after --set), repeatable."),
]
CompareOverridesB = Annotated[
    list[str] | None,
    typer.Option(
        "--set-b",
        help="Override PATH=VALUE in B only (after --set), repeatable: "
        "compare --set-b jobs.grok5_10t.racks=+20% is the default against that what-if.",
    ),
]
Seed = Annotated[int | None, _seed("Override the scenario's seed (0 to 2**63−1).")]
CompareSeed = Annotated[int | None, _seed("Run both with this seed (0 to 2**63−1).")]

# ---------------------------------------------------------------------------- output
RunJson = Annotated[bool, _json("Print one JSON object (scenario, seed, jobs, cluster).")]
TableJson = Annotated[bool, _json("Print JSON instead of a table.")]
StepJson = Annotated[bool, _json("Print one JSON object.")]
ValidateJson = Annotated[bool, _json("Print a JSON list, one object per case.")]
SweepJson = Annotated[bool, _json("Print one JSON object: points, computed, reused, rows.")]
CompareJson = Annotated[
    bool, _json("Print one JSON object: a and b (scenario, what_if, seed, version) and rows.")
]
RunOut = Annotated[
    Path | None,
    _out(
        "Write result.json and jobs/cluster/timeline/power/job_series Parquet into this "
        "folder, published whole: it holds all of this run's files or all of the previous "
        "ones, never a mix. It must be new, empty or an earlier result folder."
    ),
]
SweepOut = Annotated[Path | None, _out("Write the tidy table into this folder as sweep.parquet.")]
RunPlot = Annotated[
    Path | None,
    _plot(
        "Write PNG figures PLOT_allocation.png (racks per job, utilisation), "
        "PLOT_power.png (site power, its steps and the cap), PLOT_gantt.png (jobs, failures) "
        "and PLOT_grid.png (the run beside the hour around its largest step, each second); "
        "one run's figures, so not with --replicas."
    ),
]
SweepPlot = Annotated[
    Path | None,
    _plot(
        "Write a PNG of --plot-y against the first --grid path, a line per job "
        "(median, with the P10–P90 band when there are several seeds)."
    ),
]
PlotY = Annotated[
    str,
    typer.Option(
        "--plot-y",
        help="The figure to plot: a jobs column, e.g. goodput, step_s, finish_days, wait_days.",
    ),
]
GraphmlOut = Annotated[
    Path | None, typer.Option("--graphml", help="Write the fabric graph as GraphML here.")
]
SweepJobs = Annotated[
    list[str] | None, _jobs("Show only these jobs in the table and the plot (the files keep all).")
]
CompareJobs = Annotated[list[str] | None, _jobs("Show only these jobs (repeatable).")]
AllMetrics = Annotated[
    bool, typer.Option("--all", help="Every numeric job figure, not the headline ones.")
]

# ---------------------------------------------------------------------------- one job
WorkloadArg = Annotated[
    str, typer.Argument(help="A job in workloads/ (e.g. grok5_10t) or a YAML path.")
]
Racks = Annotated[
    int | None, typer.Option("--racks", help="Whole NVL72 racks (default: the job's own).")
]
Gpu = Annotated[
    str | None, typer.Option("--gpu", help="GPU type: gb200 or gb300 (default: the job's own).")
]
PlanText = Annotated[
    str,
    typer.Option(
        "--plan",
        help="'auto' (search), or fix fields: tp=8,pp=16,dp=..,ep=..,cp=..,vp=..,"
        "microbatch=..,recompute=none|selective|full; unfixed fields are searched.",
    ),
]

# ---------------------------------------------------------------------------- checks
Calibrate = Annotated[
    bool,
    typer.Option(
        "--calibrate",
        help="Re-fit each calibrated constant on its published cases and show stored vs fitted.",
    ),
]
CheckPaths = Annotated[
    list[Path] | None,
    typer.Argument(
        metavar="PATHS", help="Scenario files or folders (default: the scenarios folder)."
    ),
]
Junit = Annotated[
    Path | None,
    typer.Option("--junit", help="Also write JUnit XML here (one case per figure)."),
]
Update = Annotated[
    bool,
    typer.Option("--update", help="Accept the moves: rewrite the expected values in place."),
]
CheckWorkers = Annotated[
    int | None, _workers("Scenarios run at once (default: 2, or 1 on 1 core).")
]

# ---------------------------------------------------------------------------- many runs
RunReplicas = Annotated[
    int | None,
    _replicas(
        "Run N seeds (base, base+1, …; base = --seed or the scenario's) and print each "
        "job's P10/P50/P90 time to train, finish day, wait and goodput; --out writes "
        "replicas.json/.parquet."
    ),
]
SweepReplicas = Annotated[int | None, _replicas("Seeds s … s+N−1 for every point, s its own.")]
GridOption = Annotated[
    list[str] | None,
    typer.Option(
        "--grid",
        help="PATH=V1,V2,... repeatable (the paths of --set): jobs.grok5_10t.racks=3400,+20%, "
        "failures.rate_multiplier=0.5,1,2. Points are every combination × the seeds.",
    ),
]
Seeds = Annotated[
    str | None,
    typer.Option("--seeds", help="Seeds for every point: 1,2,3 or 0-7 (default: its own)."),
]
Store = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="Keep each point's result here; a re-run computes only missing points "
        "(default: OUT/store with --out, else a temporary folder).",
    ),
]
SweepWorkers = Annotated[int | None, _workers("Local worker processes (default: CPU count).")]
Scheduler = Annotated[
    str | None,
    typer.Option("--scheduler", help="Run on a dask.distributed scheduler: tcp://host:8786."),
]
