"""``colossus-sim sweep`` and ``compare``: a scenario over a grid of overrides × seeds, and two
scenarios side by side.

The sweep's parameters reach ``api.run_sweep`` as one ``sweep.SweepOptions`` built here from
the options. Cost: ``sweep`` runs one simulation per point not already in its store, on a
process pool or dask (imported only when ``--scheduler`` is given); ``--out`` writes Parquet
and ``--plot`` imports matplotlib only when given. ``compare`` runs two simulations at once
(``api.simulate_each``: A here, B in a worker process).
"""

from __future__ import annotations

import contextlib
import difflib
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from colossus_sim import api
from colossus_sim.cli.options import (
    AllMetrics,
    CompareJobs,
    CompareJson,
    CompareOverrides,
    CompareOverridesA,
    CompareOverridesB,
    CompareSeed,
    GridOption,
    PlotY,
    ScenarioA,
    ScenarioArg,
    ScenarioB,
    Scheduler,
    Seeds,
    Store,
    SweepJobs,
    SweepJson,
    SweepOut,
    SweepOverrides,
    SweepPlot,
    SweepReplicas,
    SweepWorkers,
)
from colossus_sim.cli.progress import run_progress
from colossus_sim.cli.render import print_json, stopped, wrote
from colossus_sim.cli.render_sweep import compare_table, sweep_table
from colossus_sim.cli.tables import err, out, print_table

if TYPE_CHECKING:
    import pandas as pd

    from colossus_sim.sweep import SweepOptions, SweepResult

COMPARE_METRICS = (
    "time_to_train_days",
    "goodput",
    "step_s",
    "mfu",
    "racks",
    "failures",
    "submit_days",
    "start_days",
    "wait_days",
    "finish_days",
    "energy_mwh",
)
"""The figures ``compare`` shows without ``--all`` (rows in ``jobs_frame``'s column order).
Time to train counts from a job's start, so its submit, wait and finish days come with it: a
job that queues longer in B can train as fast and still finish later."""


def sweep(
    scenario: ScenarioArg = None,
    grid: GridOption = None,
    set_: SweepOverrides = None,
    seeds: Seeds = None,
    replicas: SweepReplicas = None,
    store: Store = None,
    out_dir: SweepOut = None,
    workers: SweepWorkers = None,
    scheduler: Scheduler = None,
    job: SweepJobs = None,
    json_out: SweepJson = False,
    plot: SweepPlot = None,
    plot_y: PlotY = "time_to_train_days",
) -> None:
    """Run a scenario over a grid of overrides × seeds, each point once: a progress bar with
    ETA on stderr, then a summary table. Interrupted, it resumes from its --store."""
    if seeds is not None and replicas is not None:
        raise api.ScenarioError.at("--seeds", "give --seeds or --replicas, not both")
    if workers is not None and scheduler is not None:
        raise api.ScenarioError.at("--workers", "give --workers or --scheduler, not both")
    grid_values = api.parse_grid_option(grid or [])
    if plot is not None and not grid_values:
        raise api.ScenarioError.at("--plot", "a sweep plot needs a --grid path for its x axis")
    _check_plot_y(plot_y)  # a bad one is refused even without --plot: it was meant for one
    options: SweepOptions = {
        "overrides": set_ or [],
        "seeds": api.parse_seeds_option(seeds) if seeds is not None else None,
        "replicas": replicas,
        "store": out_dir / "store" if store is None and out_dir is not None else store,
        "scheduler": scheduler,
        "workers": workers,
        "progress": not json_out,
    }
    _check_outputs(store, out_dir, plot)
    start = time.perf_counter()
    result = _run_sweep(scenario, grid_values, options, "--out" if store is None else "--store")
    if out_dir is not None:
        with api.reported("--out", out_dir):
            wrote(api.write_sweep(result.frame, out_dir))
    if plot is not None:
        shown = result.frame[result.frame["job"].isin(job)] if job else result.frame
        _sweep_plot(shown, list(grid_values), plot, plot_y)
    if json_out:
        print_json(
            {
                "points": result.points,
                "computed": result.computed,
                "reused": result.reused,
                "store": None if result.store is None else str(result.store),
                "rows": json.loads(result.frame.to_json(orient="records")),
            }
        )
        return
    print_table(sweep_table(result.frame, list(grid_values), job))
    out.print(
        f"{result.points} points: {result.computed} computed, {result.reused} found in the store"
        f"{f' {result.store}' if result.store else ''} · wall {time.perf_counter() - start:.1f} s",
        markup=False,
    )


def _check_outputs(store: Path | None, out_dir: Path | None, plot: Path | None) -> None:
    """Each output path, before any point runs: the store and --out are folders (--out holds
    sweep.parquet and, without --store, the store), --plot a file."""
    api.check_outputs(
        api.Output("--store", store, "folder"),
        api.Output("--out", out_dir, "folder"),
        api.Output("--out", None if out_dir is None else out_dir / "sweep.parquet"),
        api.Output("--out", None if out_dir is None or store else out_dir / "store", "folder"),
        api.Output("--plot", plot),
    )


@contextlib.contextmanager
def seed_options() -> Iterator[None]:
    """Bad seeds blamed on the options that gave them (the sweep names its arguments)."""
    try:
        yield
    except api.ScenarioError as exc:
        names = {"replicas": "--replicas", "seeds": "--seeds"}
        issues = [replace(i, field=names.get(i.field, i.field)) for i in exc.issues]
        raise api.ScenarioError(issues) from None


def _run_sweep(
    scenario: str | None, grid: dict[str, list[str]], options: SweepOptions, store_option: str
) -> SweepResult:
    """The sweep; Ctrl-C, SIGTERM (CI cancelling a job) or a dead worker process says what
    was kept and exits 130 (130 for SIGTERM too) or 1; a lost dask scheduler, or a store that
    cannot be written, is exit 2 saying what was kept or naming the option that gave it."""
    from concurrent.futures.process import BrokenProcessPool

    store = options.get("store")
    try:
        with api.terminate_as_interrupt(), seed_options(), api.reported(store_option, store):
            return api.run_sweep(scenario, grid, **options)
    except api.SchedulerLostError as exc:
        err.print(f"error: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except (KeyboardInterrupt, BrokenProcessPool) as exc:
        kept = f"finished points are kept in {store}" if store else "no --store: nothing kept"
        what, code = stopped(exc)
        err.print(
            f"{what}: {kept}; run the same command again to resume", markup=False, soft_wrap=True
        )
        raise typer.Exit(code) from None


def _check_plot_y(y: str) -> None:
    """Refuse a ``--plot-y`` the sweep's table will not have, before the sweep runs."""
    columns = api.job_number_columns()
    if y not in columns:
        close = difflib.get_close_matches(y, columns, n=1, cutoff=0.5)
        raise api.ScenarioError.at(
            "--plot-y",
            "not a number column of the sweep table",
            got=repr(y),
            expected=", ".join(columns),
            suggestion=close[0] if close else None,
        )


def _sweep_plot(frame: pd.DataFrame, grid_paths: list[str], target: Path, y: str) -> None:
    with api.reported("--plot", target):
        api.plot_sweep(frame, x=grid_paths[0], y=y, path=target)
    wrote(target)


def compare(
    a: ScenarioA = None,
    b: ScenarioB = None,
    set_: CompareOverrides = None,
    set_a: CompareOverridesA = None,
    set_b: CompareOverridesB = None,
    seed: CompareSeed = None,
    all_metrics: AllMetrics = False,
    job: CompareJobs = None,
    json_out: CompareJson = False,
) -> None:
    """Run two what-ifs at once and show each job's figures side by side: A, B, B − A, relative.
    A and B are scenarios (B defaults to A, A to colossus2) with --set in both, --set-a and
    --set-b in one: compare --set-b jobs.grok5_10t.racks=+20% needs no file. Time to train
    counts from a job's start; finish_days is the day it finishes (submit_days + wait_days +
    time_to_train_days), so a job that queues longer in B shows it there."""
    if seed is not None:
        api.check_seed(seed, "--seed")
    shared = set_ or []
    first = _compare_side("A", a, shared, set_a or [])
    second = _compare_side("B", b if b is not None else a, shared, set_b or [])
    if first.source == second.source and first.overrides == second.overrides:
        raise api.ScenarioError.at(
            "B",
            "A and B are the same what-if: nothing to compare",
            got=first.scenario.name + "".join(f" + {o}" for o in first.overrides),
            expected="another scenario B, or --set-a/--set-b",
        )
    run_a, run_b = _run_both(first, second, seed)
    delta = api.compare(run_a, run_b)
    if not all_metrics:
        delta = delta[delta["metric"].isin(COMPARE_METRICS)]
    if job:
        delta = delta[delta["job"].isin(job)]
    if json_out:
        sides_json = {side: _what_if(run) for side, run in (("a", run_a), ("b", run_b))}
        print_json({**sides_json, "rows": json.loads(delta.to_json(orient="records"))})
        return
    print_table(compare_table(delta, f"A: {run_a.label}\nB: {run_b.label}"))


def _run_both(
    first: api.ResolvedScenario, second: api.ResolvedScenario, seed: int | None
) -> tuple[api.RunResult, api.RunResult]:
    """A here with its progress bar and B in a worker process, at once. Ctrl-C, SIGTERM or a
    worker that dies (killed, out of memory) says so and exits 130 or 1, not a traceback."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        with api.terminate_as_interrupt(), run_progress(err, "simulating A, B") as report:
            run_a, run_b = api.simulate_each([first, second], seed=seed, progress=report)
    except (KeyboardInterrupt, BrokenProcessPool) as exc:
        what, code = stopped(exc)
        err.print(
            f"{what}: nothing compared; run the same command again", markup=False, soft_wrap=True
        )
        raise typer.Exit(code) from None
    return run_a, run_b


def _compare_side(
    side: str, scenario: str | None, shared: list[str], own: list[str]
) -> api.ResolvedScenario:
    """One side of ``compare``: its scenario with ``--set``, then its own ``--set-a`` or
    ``--set-b`` (bad input in those is blamed on that option)."""
    try:
        return api.load_scenario(scenario, [*shared, *own])
    except api.ScenarioError as exc:
        prefix = "--set "
        mine = {*own, *(o.partition("=")[0].strip() for o in own)}
        issues = [
            replace(i, field=f"--set-{side.lower()} {i.field.removeprefix(prefix)}")
            if i.field.startswith(prefix) and i.field.removeprefix(prefix) in mine
            else i
            for i in exc.issues
        ]
        raise api.ScenarioError(issues) from None


def _what_if(run: api.RunResult) -> dict[str, object]:
    """Which what-if a side of ``compare`` is: its scenario, overrides, seed and version."""
    return {
        "scenario": run.scenario,
        "what_if": run.what_if,
        "seed": run.seed,
        "version": run.version,
    }
