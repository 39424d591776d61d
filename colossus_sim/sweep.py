"""Sweeps: many scenario points, each run once and stored once.

A sweep is a scenario, a grid ``{override path: [values, ...]}`` (the paths of ``--set``:
``jobs.grok5_10t.racks``, ``failures.rate_multiplier``; values such as ``3400`` or ``"+20%"``)
and seeds. Its points are the cartesian product of the grid's values, in the grid's order with
the last path varying fastest, times the seeds (innermost). Every point is resolved through
``scenario.load_scenario(path, overrides)`` in this process before anything runs, so bad input
anywhere in the grid is a located ``ScenarioError`` up front.

Each point's result (its ``RunResult.jobs_frame()``) is stored as one Parquet file named by
a key: the SHA-256 of a canonical JSON dump of the fully resolved scenario — scenario,
cluster, every job's workload and GPU specs, the GPU specs of every rack type, the failure
model and the performance constants, without ``provenance``/``expect`` (annotations that
change no figure) — plus the seed, the package version and a hash of the package source. Two
points that resolve to the same simulation (``racks=3400`` and ``racks=+0%``) share one
file. The parent process writes each file through a temporary file and a rename
(``results.write_atomic``); a re-run finds the stored points and computes only the missing
ones, so an interrupted sweep resumes where it stopped and never leaves a partial file. The
tidy table is always built from the stored files, so a resumed sweep and an uninterrupted
one give byte-identical tables.

Points run on a local process pool (the platform's start method; default ``os.cpu_count()``
workers; one worker runs in-process; workers ignore Ctrl-C, which the parent handles by
cancelling the points not started) or on dask.distributed (a ``Client`` or a scheduler
address). A worker gets plain arguments — the scenario's absolute path, the point's overrides,
the seed and the expected key — re-loads the scenario, checks that it resolves to the same key
(a worker with other data files or another version refuses), runs it and returns Parquet bytes.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import itertools
import json
import os
import signal
import tempfile
import time
from collections.abc import Callable, Collection, Generator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

import colossus_sim
from colossus_sim import paths
from colossus_sim import scenario as scenario_module
from colossus_sim.config.load import load_gpu
from colossus_sim.errors import Issue, ScenarioError
from colossus_sim.results import write_atomic
from colossus_sim.scenario import SET_OPTION, ResolvedScenario, parse_override

if TYPE_CHECKING:
    import pandas as pd
    from distributed import Client
    from rich.progress import Progress

GRID_OPTION = "--grid"
SEEDS_OPTION = "--seeds"
STORE_FORMAT = 1
"""Bumped when what a stored file holds changes (part of every key)."""
MAX_SEED = 2**63
STALE_TMP_S = 60.0
"""A temporary file older than this was left by a killed writer (a write takes milliseconds)."""
CONNECT_TIMEOUT = "10s"
"""How long to try reaching a dask scheduler before calling its address bad input."""
_NOT_PHYSICS = frozenset({"provenance", "expect"})
"""Fields left out of the key: annotations about a value, never read by the engine."""


# ---------------------------------------------------------------------------- points
@dataclass(frozen=True)
class SweepPoint:
    """One run of a sweep: the grid values (typed, in the grid's path order), the overrides
    that produce them, the seed and the store key."""

    index: int
    values: tuple[Any, ...]
    overrides: tuple[str, ...]
    grid: tuple[str, ...]
    """The grid's part of ``overrides`` (``PATH=VALUE`` each)."""
    seed: int
    key: str


@dataclass(frozen=True)
class SweepPlan:
    """Every point of a sweep, validated and keyed; ``source`` is what workers re-load."""

    source: str
    name: str
    """The scenario's ``name`` (with the overrides every point shares)."""
    paths: tuple[str, ...]
    points: tuple[SweepPoint, ...]

    @property
    def keys(self) -> list[str]:
        """The distinct keys, in point order (points that resolve alike share one)."""
        return list(dict.fromkeys(p.key for p in self.points))


def _plain(value: Any) -> Any:
    """A pydantic model (or anything inside one) as plain JSON data, annotations dropped."""
    if isinstance(value, BaseModel):
        return {
            name: _plain(getattr(value, name))
            for name in type(value).model_fields
            if name not in _NOT_PHYSICS
        }
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return to_jsonable_python(value)


def canonical_json(resolved: ResolvedScenario) -> str:
    """The resolved scenario as canonical JSON: everything a run reads except the seed."""
    scenario = _plain(resolved.scenario)
    scenario.pop("seed", None)  # the seed a point runs with is keyed on its own
    payload = {
        "scenario": scenario,
        "cluster": _plain(resolved.cluster),
        "jobs": [
            {"name": j.name, "spec": _plain(j.spec), "gpu": _plain(j.gpu)} for j in resolved.jobs
        ],
        "rack_gpus": {name: _plain(load_gpu(name)) for name in sorted(resolved.cluster.rack_mix)},
        "reliability": _plain(resolved.reliability),
        "consts": _plain(resolved.consts),
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)


def point_key(resolved: ResolvedScenario, seed: int) -> str:
    """The store key of one run: hash of the canonical scenario, the seed and the version."""
    return _key(canonical_json(resolved), seed)


@functools.cache
def code_fingerprint() -> str:
    """Hash of the package's own source: a stored point made by other code (an edited
    checkout at the same version) is not reused."""
    digest = hashlib.sha256()
    root = Path(colossus_sim.__file__).parent
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _key(scenario_json: str, seed: int) -> str:
    text = json.dumps(
        {
            "format": STORE_FORMAT,
            "version": colossus_sim.__version__,
            "code": code_fingerprint(),
            "seed": seed,
            "scenario": scenario_json,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def value_text(value: Any) -> str:
    """A grid value as the text of a ``--set`` (``True`` → ``true``, ``0.5`` → ``0.5``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(to_jsonable_python(value))  # a flow mapping/list YAML reads back


def _column(texts: list[str], path: str) -> list[Any]:
    """The grid column of one path: bools, ints or floats when every value is one; the texts
    as given otherwise (``+20%`` beside ``3400``)."""
    parsed = [parse_override(f"{path}={t}") for t in texts]
    values = [p.value for p in parsed]
    if any(p.relative_pct is not None for p in parsed):
        return list(texts)
    if all(isinstance(v, bool) for v in values):
        return values
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return values
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return [float(v) for v in values]
    return list(texts)


def _grid_issue(issue: Issue, grid: Collection[str]) -> Issue:
    """Blame a grid override on ``--grid`` (the loader names every override ``--set``)."""
    prefix = f"{SET_OPTION} "
    text = issue.field.removeprefix(prefix)
    ours = {*grid, *(g.partition("=")[0] for g in grid)}  # PATH=VALUE, or PATH alone
    if issue.field.startswith(prefix) and text in ours:
        return replace(issue, field=f"{GRID_OPTION} {text}")
    return issue


def _source_path(scenario: ResolvedScenario | str | Path | None) -> Path:
    """The scenario file as an absolute path, which a worker process can re-load."""
    if isinstance(scenario, ResolvedScenario):
        for base in (paths.data_root(), Path.cwd()):
            candidate = base / scenario.source
            if paths.is_file(candidate):
                return candidate.resolve()
        return Path(scenario.source).resolve()
    return scenario_module._resolve_path(scenario).resolve()


def resolve_seeds(base: int, seeds: Sequence[int] | None, replicas: int | None) -> tuple[int, ...]:
    """The seeds a point runs with: ``seeds`` as given, or ``replicas`` seeds ``base + i``
    (``i`` = 0 … replicas−1, ``base`` the point's own seed), or just ``base``."""
    if seeds is not None and replicas is not None:
        raise ScenarioError.at("replicas", "give seeds or replicas, not both")
    if replicas is not None:
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
            raise ScenarioError.at("replicas", "not a count of runs", got=repr(replicas))
        if base + replicas > MAX_SEED:
            raise ScenarioError.at(
                "replicas", "the seeds run past 2**63", got=f"base seed {base} + {replicas}"
            )
        return tuple(base + i for i in range(replicas))
    if seeds is None:
        return (base,)
    if isinstance(seeds, str | bytes) or not isinstance(seeds, Sequence) or not seeds:
        raise ScenarioError.at("seeds", "expected a non-empty list of seeds", got=repr(seeds))
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < MAX_SEED:
            raise ScenarioError.at("seeds", "a seed is an integer 0 to 2**63−1", got=repr(s))
    return tuple(dict.fromkeys(seeds))


def plan(
    scenario: ResolvedScenario | str | Path | None = None,
    grid: Mapping[str, Sequence[Any]] | None = None,
    *,
    overrides: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    replicas: int | None = None,
) -> SweepPlan:
    """Validate and key every point (each grid combination is loaded once); all bad input in
    the grid is reported together, before anything runs."""
    base_overrides = list(overrides or [])
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
    grid = dict(grid or {})
    texts: dict[str, list[str]] = {}
    issues: list[Issue] = []
    for path, values in grid.items():
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
        columns = {path: _column(t, path) for path, t in texts.items()}
    except ScenarioError as exc:  # a malformed relative value such as +x%
        grid_texts = {f"{p}={t}" for p, values in texts.items() for t in values}
        raise ScenarioError([_grid_issue(i, grid_texts) for i in exc.issues]) from None
    names = tuple(texts)
    points: list[SweepPoint] = []
    combos = itertools.product(*(range(len(texts[p])) for p in names))
    for combo in combos:
        grid_overrides = [f"{p}={texts[p][i]}" for p, i in zip(names, combo, strict=True)]
        try:
            resolved = (
                scenario_module.load_scenario(source, base_overrides + grid_overrides)
                if names
                else base
            )
        except ScenarioError as exc:
            located = [_grid_issue(i, grid_overrides) for i in exc.issues]
            issues.extend(i for i in located if i not in issues)
            continue
        values = tuple(columns[p][i] for p, i in zip(names, combo, strict=True))
        scenario_json = canonical_json(resolved)
        for seed in resolve_seeds(resolved.scenario.seed, seeds, replicas):
            points.append(
                SweepPoint(
                    index=len(points),
                    values=values,
                    overrides=(*base_overrides, *grid_overrides),
                    grid=tuple(grid_overrides),
                    seed=seed,
                    key=_key(scenario_json, seed),
                )
            )
    if issues:
        raise ScenarioError(issues)
    return SweepPlan(source=str(source), name=base.scenario.name, paths=names, points=tuple(points))


# ---------------------------------------------------------------------------- one point
_Outcome = tuple[bytes | None, list[Issue]]


def compute_point(source: str, overrides: Sequence[str], seed: int, key: str) -> _Outcome:
    """Run one point (in a worker): its jobs table as Parquet bytes, or the issues it raised.

    Top-level, with plain arguments, so it pickles by reference under ``spawn`` and dask.
    """
    from colossus_sim.sim import Simulation

    try:
        resolved, scenario_json = _load(source, tuple(overrides), _stamp(source))
        if _key(scenario_json, seed) != key:
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
    return _point_parquet(result.jobs_frame(), key, seed, scenario_json), []


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


def _point_parquet(frame: pd.DataFrame, key: str, seed: int, scenario_json: str) -> bytes:
    """A point's jobs table as Parquet, with its key, seed, version and scenario as metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[b"colossus_sim"] = json.dumps(
        {
            "key": key,
            "seed": seed,
            "version": colossus_sim.__version__,
            "format": STORE_FORMAT,
            "scenario": json.loads(scenario_json),
        },
        sort_keys=True,
    ).encode()
    sink = pa.BufferOutputStream()
    pq.write_table(table.replace_schema_metadata(meta), sink, compression="zstd")
    return bytes(sink.getvalue().to_pybytes())


def _ignore_sigint() -> None:
    """Pool workers leave Ctrl-C to the parent, which stops handing out points."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


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


def store_path(store: Path, key: str) -> Path:
    """Where a point's result lives in a store."""
    return store / f"{key}.parquet"


def _clean_stale(store: Path) -> None:
    """Remove temporary files a killed writer left (not one another sweep is writing now)."""
    now = time.time()
    for stale in store.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            if now - stale.stat().st_mtime > STALE_TMP_S:
                stale.unlink()


_Results = Generator[tuple[SweepPoint, _Outcome], None, None]


def _progress_bar(total: int, done: int) -> Progress:
    """A bar with points done of all, elapsed time and ETA, on stderr."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("sweep"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    bar.add_task("sweep", total=total, completed=done)
    return bar


def _local(
    todo: list[SweepPoint], source: str, workers: int, stack: contextlib.ExitStack
) -> _Results:
    """Results of the points on a process pool (or in this process for one worker), as they
    finish. The pool starts and every point is submitted before this returns (so no other
    thread runs yet when the platform forks); leaving ``stack`` early (Ctrl-C, an exception)
    cancels the points not started and waits for the running ones."""
    if workers <= 1 or len(todo) <= 1:
        return ((p, compute_point(source, p.overrides, p.seed, p.key)) for p in todo)
    pool = stack.enter_context(
        ProcessPoolExecutor(max_workers=min(workers, len(todo)), initializer=_ignore_sigint)
    )
    pending: dict[Future[_Outcome], SweepPoint] = {
        pool.submit(compute_point, source, p.overrides, p.seed, p.key): p for p in todo
    }
    futures = list(pending)
    stack.callback(lambda: [f.cancel() for f in futures])
    return _as_finished(pending)


def _as_finished(pending: dict[Future[_Outcome], SweepPoint]) -> _Results:
    """The pool's results as they finish (ties in point order)."""
    while pending:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in sorted(done, key=lambda f: pending[f].index):
            yield pending.pop(future), future.result()


def _dask(
    todo: list[SweepPoint], source: str, client: Client, stack: contextlib.ExitStack
) -> _Results:
    """Results of the points on a dask.distributed cluster, as they finish; leaving
    ``stack`` early cancels the points not finished."""
    from distributed import as_completed

    futures = {
        client.submit(compute_point, source, p.overrides, p.seed, p.key, pure=False): p
        for p in todo
    }
    stack.callback(client.cancel, list(futures))  # no-op for the finished ones
    finished = as_completed(list(futures))  # type: ignore[no-untyped-call]
    return ((futures[f], f.result()) for f in finished)


def _connect(scheduler: str) -> Client:
    from distributed import Client

    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as exc:
        raise ScenarioError.at(
            "--scheduler",
            f"cannot connect to a dask scheduler ({type(exc).__name__}: {exc})",
            got=repr(scheduler),
            expected="an address such as tcp://host:8786",
        ) from None


def tidy_frame(sweep: SweepPlan, store: Path) -> pd.DataFrame:
    """One row per point and job: ``point``, the grid paths, ``seed``, the jobs table."""
    import pandas as pd
    import pyarrow.parquet as pq

    tables: dict[str, pd.DataFrame] = {}
    frames = []
    for point in sweep.points:
        if point.key not in tables:
            data = store_path(store, point.key).read_bytes()
            tables[point.key] = pq.read_table(io.BytesIO(data)).to_pandas()
        frames.append(tables[point.key])
    counts = [len(f) for f in frames]

    def repeat(values: Sequence[Any]) -> list[Any]:
        return [v for v, n in zip(values, counts, strict=True) for _ in range(n)]

    left = pd.DataFrame(
        {
            "point": repeat([p.index for p in sweep.points]),
            **{
                path: repeat([p.values[i] for p in sweep.points])
                for i, path in enumerate(sweep.paths)
            },
            "seed": repeat([p.seed for p in sweep.points]),
        }
    )
    right = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return pd.concat([left, right], axis=1)


def run(
    scenario: ResolvedScenario | str | Path | None = None,
    grid: Mapping[str, Sequence[Any]] | None = None,
    *,
    overrides: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    replicas: int | None = None,
    store: str | Path | None = None,
    client: Client | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = False,
    on_stored: Callable[[SweepPoint], None] | None = None,
) -> SweepResult:
    """Run a sweep: plan and validate every point, compute the ones not in ``store`` (default:
    a temporary folder, removed afterwards), store each once, return the tidy table.

    ``on_stored`` is called after each point is written (a hook for tests and tools).
    """
    if client is not None and scheduler is not None:
        raise ScenarioError.at("--scheduler", "give a dask client or a scheduler address, not both")
    if workers is not None and (isinstance(workers, bool) or workers < 1):
        raise ScenarioError.at("--workers", "needs at least one worker", got=repr(workers))
    sweep = plan(scenario, grid, overrides=overrides, seeds=seeds, replicas=replicas)
    with contextlib.ExitStack() as stack:
        if store is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sweep-")))
        else:
            folder = Path(store)
            folder.mkdir(parents=True, exist_ok=True)
            _clean_stale(folder)
        keys = sweep.keys
        first: dict[str, SweepPoint] = {}
        for point in sweep.points:
            first.setdefault(point.key, point)
        todo = [first[k] for k in keys if not store_path(folder, k).is_file()]
        reused = len(keys) - len(todo)
        if scheduler is not None and todo:
            client = _connect(scheduler)
            stack.callback(client.close)
        results = (
            _dask(todo, sweep.source, client, stack)
            if client is not None
            else _local(todo, sweep.source, workers or os.cpu_count() or 1, stack)
        )
        bar = _progress_bar(len(keys), reused) if progress and todo else None
        if bar is not None:
            stack.enter_context(bar)
        issues: list[Issue] = []
        for point, (data, point_issues) in results:
            if data is None:
                located = [_grid_issue(i, point.grid) for i in point_issues]
                issues.extend(i for i in located if i not in issues)
            else:
                write_atomic(store_path(folder, point.key), data)
                if on_stored is not None:
                    on_stored(point)
            if bar is not None:
                bar.advance(bar.task_ids[0])
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


# ---------------------------------------------------------------------------- CLI parsing
def _split_values(text: str) -> list[str]:
    """``a,b,{x: 1, y: 2}`` → three values: commas inside brackets or quotes do not split."""
    parts: list[str] = []
    depth, quote, start = 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def parse_grid_option(items: Sequence[str]) -> dict[str, list[str]]:
    """``["jobs.grok5_10t.racks=3400,+20%", "failures.rate_multiplier=1,2"]`` → the grid."""
    grid: dict[str, list[str]] = {}
    for item in items:
        path, sep, raw = item.partition("=")
        path = path.strip()
        if not sep or not path or any(not part for part in path.split(".")):
            raise ScenarioError.at(
                f"{GRID_OPTION} {item}",
                "expected PATH=V1,V2,...",
                expected="e.g. failures.rate_multiplier=0.5,1,2",
            )
        values = _split_values(raw)
        if any(v == "" for v in values):
            raise ScenarioError.at(
                f"{GRID_OPTION} {path}", "an empty value", got=repr(raw), expected="V1,V2,..."
            )
        if path in grid:
            raise ScenarioError.at(
                f"{GRID_OPTION} {path}", "given twice: list all its values in one --grid"
            )
        grid[path] = values
    return grid


def parse_seeds_option(text: str) -> list[int]:
    """``1,2,3`` or ``0-7`` or ``1,5-6`` → the seeds, in the order given."""
    seeds: list[int] = []
    for item in text.split(","):
        lo, dash, hi = item.strip().partition("-")
        try:
            first = int(lo)
            last = int(hi) if dash else first
        except ValueError:
            raise ScenarioError.at(
                SEEDS_OPTION, "expected seeds such as 1,2,3 or 0-7", got=repr(item.strip())
            ) from None
        if not 0 <= first <= last < MAX_SEED or last - first >= 100_000:
            raise ScenarioError.at(
                SEEDS_OPTION,
                "a seed range runs low to high, within 0 to 2**63−1 (at most 100,000 seeds)",
                got=repr(item.strip()),
            )
        seeds.extend(range(first, last + 1))
    return seeds


__all__ = [
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
