"""The Python surface a notebook or the CLI uses: scenarios and runs, one job's step time,
the seven-job plan table, the fidelity table, the scenario library's checks, sweeps and
replicas, and the files and figures of each. Everything returns typed results; bad input
raises ``ScenarioError``.

The pieces live in their own modules (``job_step``, ``replicas``, ``sweep``, ``regression``,
``plots``); this module is the one import the command line and notebooks need. Cost: importing
it loads the config and perf layers, the scenario loader and the result models (~0.5 s, most
of the command line's start-up: numpy, pydantic and its schemas, YAML); the engine (simpy),
sweeps, the regression checker, networkx, pandas, pyarrow and matplotlib load on the first
call that needs them, and the names of ``_LAZY`` (the planner's tables, the fidelity table,
process pools, replicas, plots) on first reading."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Unpack

from colossus_sim import scenario as scenario_module
from colossus_sim.errors import Issue, ScenarioError
from colossus_sim.grid_results import GridResult
from colossus_sim.output_checks import Output, OutputKind, output_problem
from colossus_sim.output_checks import check_outputs as _check_outputs
from colossus_sim.outputs import publish_folder, reported, write_atomic
from colossus_sim.paths import describe_data_root
from colossus_sim.results import (
    RUN_FILES,
    RunResult,
    job_number_columns,
    json_bytes,
    json_text,
    parquet_bytes,
    run_files,
)
from colossus_sim.run_progress import Reporter, RunProgress
from colossus_sim.scenario import ResolvedScenario
from colossus_sim.seeds import check_seed, check_seed_run

if TYPE_CHECKING:
    from colossus_sim.job_step import (
        PLAN_OPTION,
        RACKS_OPTION,
        JobStep,
        default_jobs,
        job_step,
        jobs_frame,
        parse_plan_option,
    )
    from colossus_sim.perf.fidelity import Calibration, FidelityRow, calibrations
    from colossus_sim.plots import plot_allocation, plot_gantt, plot_grid, plot_power, plot_sweep
    from colossus_sim.procs import Terminated, terminate_as_interrupt
    from colossus_sim.replicas import Band, JobBand, ReplicaSummary, compare, replica_summary
    from colossus_sim.side_by_side import simulate_each
    from colossus_sim.sweep_exec import SchedulerLostError
    from colossus_sim.sweep_grid import parse_grid_option, parse_seeds_option, value_text

_LAZY = {
    "colossus_sim.job_step": "PLAN_OPTION RACKS_OPTION JobStep default_jobs job_step jobs_frame "
    "parse_plan_option",
    "colossus_sim.perf.fidelity": "Calibration FidelityRow calibrations",
    "colossus_sim.procs": "Terminated terminate_as_interrupt",
    "colossus_sim.replicas": "Band JobBand ReplicaSummary compare replica_summary",
    "colossus_sim.side_by_side": "simulate_each",
    "colossus_sim.sweep_exec": "SchedulerLostError",
    "colossus_sim.sweep_grid": "parse_grid_option parse_seeds_option value_text",
    # Memo figures of a run (racks per job, site power against the cap, jobs by status, the
    # hour around the largest step) and of a sweep table's response curve: matplotlib.
    "colossus_sim.plots": "plot_allocation plot_gantt plot_grid plot_power plot_sweep",
}
"""Names this module gives from modules a run does not need (the planner's tables, the
fidelity table, process pools and signals, sweeps and replicas, plots: ~0.1 s of imports
without matplotlib, most of it ``multiprocessing``): each module is imported when one of its
names is first read."""
_LAZY_MODULE = {name: module for module, names in _LAZY.items() for name in names.split()}


def __getattr__(name: str) -> object:
    module = _LAZY_MODULE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    import networkx as nx
    import pandas as pd
    from rich.table import Table

    from colossus_sim.fabric import FabricSummary
    from colossus_sim.regression import CheckReport
    from colossus_sim.sweep import Grid, Scenario, SweepOptions, SweepResult


def load_scenario(
    path: str | Path | None = None, overrides: list[str] | None = None
) -> ResolvedScenario:
    """Read, override (``["jobs.grok5_10t.racks=+20%", ...]``) and validate a scenario."""
    return scenario_module.load_scenario(path, overrides)


def simulate(
    scenario: ResolvedScenario | str | Path | None = None,
    overrides: list[str] | None = None,
    seed: int | None = None,
    progress: Reporter | None = None,
) -> RunResult:
    """Run a scenario (default: Colossus 2's) to the end of its jobs or its horizon;
    ``seed`` (0 to 2**63−1) replaces the scenario's. ``progress`` is told the run's
    ``RunProgress`` once per simulated day and at its end (it changes nothing in the run)."""
    from colossus_sim.sim import Simulation

    if seed is not None:
        check_seed(seed, "seed")
    if not isinstance(scenario, ResolvedScenario):
        scenario = load_scenario(scenario, overrides)
    elif overrides:
        raise ValueError("pass overrides with a path, not with an already loaded scenario")
    sim = Simulation(scenario, seed=seed)
    if progress is not None:
        sim.watch(progress)
    return sim.run()


def fabric(
    scenario: ResolvedScenario | str | Path | None = None, overrides: list[str] | None = None
) -> tuple[FabricSummary, nx.Graph]:
    """The scenario's scale-out fabric (its topology with the scenario's overrides): the
    summary ``colossus-sim fabric`` prints and the networkx graph."""
    from colossus_sim import fabric as fabric_module

    if not isinstance(scenario, ResolvedScenario):
        scenario = load_scenario(scenario, overrides)
    cluster = scenario.cluster
    layout = fabric_module.site_layout(cluster, scenario.scenario.fabric)
    graph = fabric_module.build_graph(layout)
    return fabric_module.summarize(cluster, layout, graph), graph


def graphml_bytes(graph: nx.Graph) -> bytes:
    """A fabric graph as GraphML, for Gephi/yEd or ``networkx.read_graphml``."""
    from colossus_sim import fabric as fabric_module

    return fabric_module.graphml_bytes(graph)


def fidelity() -> list[FidelityRow]:
    """The published cases against the model (see ``perf/fidelity.py``)."""
    from colossus_sim.perf.fidelity import fidelity_table

    return fidelity_table()


def fidelity_frame(rows: list[FidelityRow]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame([r.model_dump(mode="json") for r in rows])


def validation_error_pct(rows: Sequence[FidelityRow], *, worst: bool = False) -> float:
    """The median (or the largest) |error| over the validation cases (the held ones)."""
    from colossus_sim.perf.fidelity import held_error_pct

    return held_error_pct(rows, worst=worst)


def write_graphml(graph: nx.Graph, path: Path) -> None:
    """Write a fabric graph as GraphML (through a temporary file and a rename)."""
    write_atomic(path, graphml_bytes(graph))


# ---------------------------------------------------------------------------- the library
# The scenarios with an ``expect:`` block, run and held to their figures (``regression/``).


def check(
    paths: Sequence[Path] | None = None, *, workers: int | None = None, update: bool = False
) -> CheckReport:
    """Run the scenarios (default: the scenarios folder) with an ``expect:`` block and compare
    their figures; ``update`` rewrites the expected values that moved."""
    from colossus_sim import regression

    return regression.check(paths, workers=workers, update=update)


def drift_table(report: CheckReport) -> Table:
    """A check's figures as a rich table: expected, got, drift, tolerance, verdict."""
    from colossus_sim import regression

    return regression.drift_table(report)


def check_summary(report: CheckReport) -> str:
    """A check's one-line verdict: how many figures held, drifted, failed to run."""
    from colossus_sim import regression

    return regression.summary_line(report)


def write_junit(report: CheckReport, path: Path) -> None:
    """Write a check as JUnit XML, one case per figure."""
    from colossus_sim import regression

    regression.write_junit(report, path)


# ---------------------------------------------------------------------------- sweeps
# Many points, each run once and stored once (``sweep.py``); a scenario over seeds
# (``replicas.py``); two runs side by side.


def run_sweep(
    scenario: Scenario = None, grid: Grid | None = None, **options: Unpack[SweepOptions]
) -> SweepResult:
    """``sweep``'s table with its counts: points, computed now, found in the store."""
    from colossus_sim import sweep as sweep_module

    return sweep_module.run(scenario, grid, **options)


def sweep(
    scenario: Scenario = None, grid: Grid | None = None, **options: Unpack[SweepOptions]
) -> pd.DataFrame:
    """Run every point of ``grid`` (``{"jobs.grok5_10t.racks": [3400, "+20%"], ...}``, the
    paths of ``--set``) × seeds and return one row per point and job: ``point``, one column per
    grid path (named by the path), ``seed``, then the columns of ``RunResult.jobs_frame()``.

    Points are the cartesian product of the grid's values in order (last path fastest), seeds
    innermost. The ``options`` are ``sweep.SweepOptions``: ``seeds`` lists them;
    ``replicas=N`` runs seeds ``s + 0 … s + N−1`` from each point's own seed ``s``; neither
    runs each point once with its seed. ``overrides`` apply to every point. Each point is
    stored once in ``store`` (default: a temporary folder) under a key of its resolved
    scenario, seed and version: a re-run computes only missing points. Runs on a local process
    pool (``workers``, default ``os.cpu_count()``) or on dask (a ``client`` or a ``scheduler``
    address). Bad input anywhere in the grid raises a located ``ScenarioError`` before
    anything runs.
    """
    return run_sweep(scenario, grid, **options).frame


def replicas(
    scenario: Scenario = None,
    n: int = 8,
    *,
    seed: int | None = None,
    **options: Unpack[SweepOptions],
) -> ReplicaSummary:
    """Run a scenario with ``n`` seeds and summarise each job's spread. Replica ``i`` runs
    with seed ``base + i`` (``i`` = 0 … n−1), ``base`` being ``seed`` if given, else the
    scenario's own seed — so replica 0 is the run ``simulate`` gives. Same machinery, store and
    executors as ``sweep`` (``options`` other than ``seeds`` and ``replicas``)."""
    for taken in ("seeds", "replicas"):
        if taken in options:
            raise TypeError(f"replicas() got the keyword {taken!r}: its seeds come from n, seed")
    base = list(options.get("overrides") or [])
    if seed is not None:
        base.append(f"seed={check_seed(seed, 'seed')}")
    options["overrides"], options["replicas"] = base, n
    result = run_sweep(scenario, None, **options)
    from colossus_sim.replicas import replica_summary

    return replica_summary(result.frame, name=result.scenario)


# ---------------------------------------------------------------------------- result files
# A result folder is published whole (``outputs.publish_folder``): it holds one result's files
# and nothing else, so a folder holding anything else is never replaced.

REPLICA_FILES = ("replicas.json", "replicas.parquet")
"""The files of ``run --replicas N --out``'s folder."""
RUN_PLOTS = ("allocation", "power", "gantt", "grid")
"""The figures ``run --plot PREFIX`` writes, as ``PREFIX_<name>.png``."""


def is_result_file(name: str) -> bool:
    """A file a result folder may hold: a run's or a replica run's file, a run's figure
    (``*_allocation.png``, ...), or a temporary file an interrupted writer left."""
    return (
        name in RUN_FILES
        or name in REPLICA_FILES
        or name.endswith(tuple(f"_{figure}.png" for figure in RUN_PLOTS))
        or (name.startswith(".") and name.endswith(".tmp"))
    )


def _replaceable(folder: Path) -> None:
    problem = output_problem(folder, "result", is_result_file)
    if problem is not None:
        raise ScenarioError.at("out_dir", problem)


def write_run(result: RunResult, out_dir: str | Path) -> list[Path]:
    """Publish a run's result folder as a unit: ``out_dir`` holds exactly ``result.json`` and
    the ``jobs``, ``cluster``, ``timeline``, ``power``, ``job_series`` Parquet files, all of
    this run or (killed, or failing) all of the previous one. A folder holding other files is
    refused (``ScenarioError``); return the paths."""
    return publish_folder(out_dir, run_files(result), _replaceable)


def write_replicas(summary: ReplicaSummary, frame: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """Publish a replica run's folder as a unit, as ``write_run`` does: ``replicas.json`` (the
    bands) and ``replicas.parquet`` (its sweep table); return the paths."""
    files = dict(
        zip(
            REPLICA_FILES,
            (json_bytes(summary.model_dump(mode="json")), parquet_bytes(frame)),
            strict=True,
        )
    )
    return publish_folder(out_dir, files, _replaceable)


def write_sweep(frame: pd.DataFrame, out_dir: str | Path) -> Path:
    """Write a sweep table as ``out_dir/sweep.parquet`` (one file, atomically: the folder also
    holds the sweep's store); return its path."""
    target = Path(out_dir) / "sweep.parquet"
    write_atomic(target, parquet_bytes(frame))
    return target


def check_outputs(*outputs: Output) -> None:
    """Check output paths before any work (``output_checks``): every problem is raised at once
    as a ``ScenarioError`` naming the option and the path. ``reported(option, path)`` turns a
    write that still fails (a full disk) into the same kind of error."""
    _check_outputs(*outputs, replaceable=is_result_file)


__all__ = [
    "PLAN_OPTION",
    "RACKS_OPTION",
    "REPLICA_FILES",
    "RUN_FILES",
    "RUN_PLOTS",
    "Band",
    "Calibration",
    "FidelityRow",
    "GridResult",
    "Issue",
    "JobBand",
    "JobStep",
    "Output",
    "OutputKind",
    "ReplicaSummary",
    "Reporter",
    "ResolvedScenario",
    "RunProgress",
    "RunResult",
    "ScenarioError",
    "SchedulerLostError",
    "Terminated",
    "calibrations",
    "check",
    "check_outputs",
    "check_seed",
    "check_seed_run",
    "check_summary",
    "compare",
    "default_jobs",
    "describe_data_root",
    "drift_table",
    "fabric",
    "fidelity",
    "fidelity_frame",
    "graphml_bytes",
    "is_result_file",
    "job_number_columns",
    "job_step",
    "jobs_frame",
    "json_text",
    "load_scenario",
    "parse_grid_option",
    "parse_plan_option",
    "parse_seeds_option",
    "plot_allocation",
    "plot_gantt",
    "plot_grid",
    "plot_power",
    "plot_sweep",
    "replica_summary",
    "replicas",
    "reported",
    "run_sweep",
    "simulate",
    "simulate_each",
    "sweep",
    "terminate_as_interrupt",
    "validation_error_pct",
    "value_text",
    "write_graphml",
    "write_junit",
    "write_replicas",
    "write_run",
    "write_sweep",
]
