"""Sweeps: many scenario points, each run once and stored once.

A sweep is a scenario, a grid ``{override path: [values, ...]}`` (the paths of ``--set``:
``jobs.grok5_10t.racks``, ``failures.rate_multiplier``; values such as ``3400`` or ``"+20%"``)
and seeds. Its points are the cartesian product of the grid's values, in the grid's order with
the last path varying fastest, times the seeds (innermost). Every point is resolved through
``scenario.load_scenario(path, overrides)`` in this process before anything runs, so bad input
anywhere in the grid is a located ``ScenarioError`` up front.

Each point's result (its ``RunResult.jobs_frame()``) is stored once under a key of its fully
resolved scenario, seed and code (``sweep_store``): two points that resolve to the same
simulation (``racks=3400`` and ``racks=+0%``) share one file. The parent process writes each
file through a temporary file and a rename (``outputs.write_atomic``); a re-run finds the
stored points and computes only the missing ones, so an interrupted sweep resumes where it
stopped and never leaves a partial file. The tidy table is always built from the stored files,
so a resumed sweep and an uninterrupted one give byte-identical tables.

Points run on a local process pool or on dask.distributed (``sweep_exec``). A worker re-loads
the scenario from plain arguments, checks that it resolves to the same key (a worker with
other data files or another version refuses), runs it and returns Parquet bytes.

This module owns the sweep's parameters (``SweepOptions``, the one list ``api.sweep``,
``api.replicas`` and the command line pass down), planning and running. Cost: planning loads
the scenario once per grid combination (~5–50 ms each); each point then costs one simulation.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from colossus_sim import paths, sweep_exec
from colossus_sim import scenario as scenario_module
from colossus_sim.config.relative import is_relative_text
from colossus_sim.errors import Issue, ScenarioError
from colossus_sim.outputs import write_atomic
from colossus_sim.scenario import ResolvedScenario
from colossus_sim.sweep_grid import (
    GRID_OPTION,
    SweepPlan,
    SweepPoint,
    grid_column,
    grid_issue,
    numeric_relative,
    parse_grid_option,
    parse_seeds_option,
    resolve_seeds,
    resolved_value,
    value_text,
)
from colossus_sim.sweep_store import (
    canonical_json,
    clean_stale,
    key_of,
    point_key,
    point_parquet,
    store_path,
    tidy_frame,
)

if TYPE_CHECKING:
    import pandas as pd
    from distributed import Client

Scenario = ResolvedScenario | str | Path | None
"""A sweep's scenario: a loaded one (as in its file), a name or path, or None (the default)."""
Grid = Mapping[str, Sequence[Any]]
"""``{override path: [values, ...]}``, e.g. ``{"jobs.grok5_10t.racks": [3400, "+20%"]}``."""


class SweepOptions(TypedDict, total=False):
    """The keyword parameters of a sweep, defined here once: ``run``, ``plan``, ``api.sweep``
    and ``api.replicas`` take them as ``**options`` and the command line builds them. A new
    sweep parameter is a field here and the line of ``plan`` or ``run`` that reads it."""

    overrides: Sequence[str] | None
    """``PATH=VALUE`` overrides (the ``--set`` syntax) applied to every point."""
    seeds: Sequence[int] | None
    """The seeds every point runs with (default: its own seed once)."""
    replicas: int | None
    """Run seeds ``s + 0 … s + N−1`` for every point, ``s`` its own seed (not with seeds)."""
    store: str | Path | None
    """Where each point's result is kept (default: a temporary folder, removed afterwards)."""
    client: Client | None
    """A dask.distributed client to run the points on."""
    scheduler: str | None
    """A dask scheduler address to connect to instead (not with client)."""
    workers: int | None
    """Local worker processes (default ``os.cpu_count()``; 1 runs in this process)."""
    progress: bool | None
    """Show a progress bar with ETA on stderr (default None: in a Jupyter notebook only)."""


# ---------------------------------------------------------------------------- planning
def _source_path(scenario: Scenario) -> Path:
    """The scenario file as an absolute path, which a worker process can re-load."""
    if isinstance(scenario, ResolvedScenario):
        for base in (paths.data_root(), Path.cwd()):
            candidate = base / scenario.source
            if paths.is_file(candidate):
                return candidate.resolve()
        return Path(scenario.source).resolve()
    return scenario_module._resolve_path(scenario).resolve()


def _grid_columns(grid: Grid | None) -> tuple[dict[str, list[str]], dict[str, list[Any]]]:
    """Each grid path's values as ``--set`` texts and as its typed column; a malformed grid is
    reported whole."""
    texts: dict[str, list[str]] = {}
    issues: list[Issue] = []
    for path, values in dict(grid or {}).items():
        where = f"{GRID_OPTION} {path}"
        if path == "seed":
            issues.append(
                Issue(
                    message="vary the seed with seeds or replicas (--seeds, --replicas)",
                    field=where,
                )
            )
        elif isinstance(values, str | bytes) or not isinstance(values, Sequence):
            issues.append(Issue(message="expected a list of values", field=where, got=repr(values)))
        elif not values:
            issues.append(Issue(message="no values", field=where, expected="at least one"))
        else:
            texts[path] = [value_text(v) for v in values]
    if issues:
        raise ScenarioError(issues)
    try:
        return texts, {path: grid_column(t, path) for path, t in texts.items()}
    except ScenarioError as exc:  # a malformed relative value such as +x%
        grid_texts = {f"{p}={t}" for p, values in texts.items() for t in values}
        raise ScenarioError([grid_issue(i, grid_texts) for i in exc.issues]) from None


def plan(
    scenario: Scenario = None, grid: Grid | None = None, **options: Unpack[SweepOptions]
) -> SweepPlan:
    """Validate and key every point (each grid combination is loaded once); all bad input in
    the grid is reported together, before anything runs. Reads the ``overrides``, ``seeds``
    and ``replicas`` of ``options`` (the others say where points run)."""
    base_overrides = list(options.get("overrides") or [])
    seeds, replicas = options.get("seeds"), options.get("replicas")
    source = _source_path(scenario)
    base = scenario_module.load_scenario(source, base_overrides)
    if isinstance(scenario, ResolvedScenario) and (
        canonical_json(scenario) != canonical_json(base)
        or scenario.scenario.seed != base.scenario.seed
    ):
        raise ValueError(
            "this scenario differs from its file (was it loaded with overrides?): pass its "
            "path and the overrides instead"
        )
    texts, columns = _grid_columns(grid)
    names = tuple(texts)
    relative = [p for p in names if any(is_relative_text(t) for t in texts[p])]
    issues: list[Issue] = []
    points: list[SweepPoint] = []
    for combo in itertools.product(*(range(len(texts[p])) for p in names)):
        grid_overrides = [f"{p}={texts[p][i]}" for p, i in zip(names, combo, strict=True)]
        try:
            resolved = (
                scenario_module.load_scenario(source, base_overrides + grid_overrides)
                if names
                else base
            )
        except ScenarioError as exc:
            located = [grid_issue(i, grid_overrides) for i in exc.issues]
            issues.extend(i for i in located if i not in issues)
            continue
        values = tuple(
            resolved_value(resolved, p) if p in relative else columns[p][i]
            for p, i in zip(names, combo, strict=True)
        )
        scenario_json = canonical_json(resolved)
        for seed in resolve_seeds(resolved.scenario.seed, seeds, replicas):
            overrides = (*base_overrides, *grid_overrides)
            key = key_of(scenario_json, seed)
            points.append(
                SweepPoint(len(points), values, overrides, tuple(grid_overrides), seed, key)
            )
    if issues:
        raise ScenarioError(issues)
    points, given = numeric_relative(points, names, relative)
    shared = "".join(f" + {text}" for text in base_overrides)  # as run's label says them
    return SweepPlan(
        source=str(source),
        name=base.scenario.name + shared,
        paths=names,
        points=tuple(points),
        given=given,
    )


# ---------------------------------------------------------------------------- one point
def compute_point(source: str, overrides: Sequence[str], seed: int, key: str) -> sweep_exec.Outcome:
    """Run one point (in a worker): its jobs table as Parquet bytes, or the issues it raised.

    Top-level, with plain arguments, so it pickles by reference under ``spawn`` and dask.
    """
    from colossus_sim.sim import Simulation

    try:
        resolved, scenario_json = _load(source, tuple(overrides), _stamp(source))
        if key_of(scenario_json, seed) != key:
            return None, [
                Issue(
                    message="this worker resolves the scenario differently from the sweep's "
                    "process (other data files or another colossus-sim version?)",
                    field=" ".join(overrides) or "scenario",
                    file=source,
                )
            ]
        result = Simulation(resolved, seed=seed).run()
    except ScenarioError as exc:  # the issues pickle plainly
        return None, exc.issues
    return point_parquet(result.jobs_frame(), key, seed, scenario_json), []


def _stamp(source: str) -> int:
    try:
        return os.stat(source).st_mtime_ns
    except OSError:
        return 0


@functools.lru_cache(maxsize=16)
def _load(source: str, overrides: tuple[str, ...], stamp: int) -> tuple[ResolvedScenario, str]:
    """A worker's scenario for a point and its canonical JSON, kept for the next seeds of the
    same point (``stamp``, the file's mtime, drops it when the file changes; a parent file
    changed under a running sweep makes the key check refuse the point)."""
    resolved = scenario_module.load_scenario(source, list(overrides))
    return resolved, canonical_json(resolved)


# ---------------------------------------------------------------------------- running
@dataclass(frozen=True)
class SweepResult:
    """The tidy table and how many distinct points were computed now or found stored."""

    frame: pd.DataFrame
    scenario: str
    points: int
    computed: int
    reused: int
    store: Path | None


def _check_executors(options: SweepOptions) -> None:
    if options.get("client") is not None and options.get("scheduler") is not None:
        raise ScenarioError.at("--scheduler", "give a dask client or a scheduler address, not both")
    workers = options.get("workers")
    if workers is not None and (isinstance(workers, bool) or workers < 1):
        raise ScenarioError.at("--workers", "needs at least one worker", got=repr(workers))


def _open_store(store: str | Path | None, stack: contextlib.ExitStack) -> Path:
    """The store folder, created (a temporary one, removed with ``stack``, for None)."""
    if store is None:
        return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sweep-")))
    folder = Path(store)
    folder.mkdir(parents=True, exist_ok=True)
    clean_stale(folder)
    return folder


def _executor(
    todo: list[SweepPoint], source: str, options: SweepOptions, stack: contextlib.ExitStack
) -> sweep_exec.Results:
    """The points' results from dask (a client, or one connected now) or a local pool."""
    client, scheduler = options.get("client"), options.get("scheduler")
    if scheduler is not None and todo:
        client = sweep_exec.connect(scheduler)
        stack.callback(sweep_exec.close, client)
    if client is not None:
        return sweep_exec.on_dask(todo, source, client, stack, compute_point)
    workers = options.get("workers") or os.cpu_count() or 1
    return sweep_exec.local(todo, source, workers, stack, compute_point)


def run(
    scenario: Scenario = None,
    grid: Grid | None = None,
    *,
    on_stored: Callable[[SweepPoint], None] | None = None,
    **options: Unpack[SweepOptions],
) -> SweepResult:
    """Run a sweep: plan and validate every point, compute the ones not in ``store`` (default:
    a temporary folder, removed afterwards), store each once, return the tidy table.

    ``on_stored`` is called after each point is written (a hook for tests and tools).
    """
    _check_executors(options)
    sweep = plan(scenario, grid, **options)
    store = options.get("store")
    with contextlib.ExitStack() as stack:
        folder = _open_store(store, stack)
        keys = sweep.keys
        first: dict[str, SweepPoint] = {}
        for point in sweep.points:
            first.setdefault(point.key, point)
        todo = [first[k] for k in keys if not store_path(folder, k).is_file()]
        reused = len(keys) - len(todo)
        results = _executor(todo, sweep.source, options, stack)
        show = options.get("progress")
        show = sweep_exec.in_notebook() if show is None else show
        bar = sweep_exec.progress_bar(len(keys), reused) if show and todo else None
        if bar is not None:
            stack.enter_context(bar)
        issues: list[Issue] = []
        done = reused
        try:
            for point, (data, point_issues) in results:
                if data is None:
                    located = [grid_issue(i, point.grid) for i in point_issues]
                    issues.extend(i for i in located if i not in issues)
                else:
                    write_atomic(store_path(folder, point.key), data)
                    done += 1
                    if on_stored is not None:
                        on_stored(point)
                if bar is not None:
                    bar.step()
        except sweep_exec.SchedulerLostError as exc:  # the stored points stay for a rerun
            raise sweep_exec.SchedulerLostError(
                exc.address, done, len(keys), store is not None
            ) from None
        if issues:
            raise ScenarioError(issues)
        frame = tidy_frame(sweep, folder)
    return SweepResult(
        frame=frame,
        scenario=sweep.name,
        points=len(sweep.points),
        computed=len(todo),
        reused=reused,
        store=None if store is None else Path(store),
    )


__all__ = [
    "SweepOptions",
    "SweepPlan",
    "SweepPoint",
    "SweepResult",
    "canonical_json",
    "compute_point",
    "parse_grid_option",
    "parse_seeds_option",
    "plan",
    "point_key",
    "resolve_seeds",
    "run",
    "tidy_frame",
]
