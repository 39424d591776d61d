"""Where a sweep's points run: a local process pool, this process, or a dask.distributed
cluster, and the progress bar that follows them.

Owns the executors ``sweep.run`` hands its missing points to. A local pool uses the
platform's start method (default ``os.cpu_count()`` workers; one worker, or one point, runs
in-process) from ``procs.open_pool``: its workers ignore Ctrl-C, which the parent handles by
cancelling the points not started and terminating the workers, and die with the parent. On
dask, points go to a ``Client`` (given, or connected from a scheduler address).
Either way a worker gets plain arguments — the scenario's absolute path, the point's
overrides, the seed and the expected key — and calls the point function it was handed
(``sweep.compute_point``, top-level so it pickles by reference under ``spawn`` and dask).
Cost: a pool start is ~0.1–1 s (``spawn`` re-imports the package in every worker); a dask
connection up to ``CONNECT_TIMEOUT``; the rich progress bar is imported only when shown (in a
notebook, a line of text instead).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import TYPE_CHECKING, Any, Protocol

from colossus_sim import procs
from colossus_sim.errors import Issue, ScenarioError
from colossus_sim.sweep_grid import SweepPoint

if TYPE_CHECKING:
    from distributed import Client
    from distributed import Future as DaskFuture

CONNECT_TIMEOUT = "10s"
"""How long to try reaching a dask scheduler before calling its address bad input."""

Outcome = tuple[bytes | None, list[Issue]]
"""A point's jobs table as Parquet bytes, or the issues it raised."""
PointFn = Callable[[str, Sequence[str], int, str], Outcome]
"""Runs one point from its source, overrides, seed and key (``sweep.compute_point``)."""
Results = Iterator[tuple[SweepPoint, Outcome]]


class ProgressBar(Protocol):
    """What ``sweep.run`` needs of a progress display: a context and a step per point."""

    def __enter__(self) -> Any: ...

    def __exit__(self, *exc: object) -> Any: ...

    def step(self) -> None: ...


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (IPython's ZMQ shell)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def progress_bar(total: int, done: int) -> ProgressBar:
    """Points done of all, elapsed time and ETA on stderr: a rich bar in a terminal, one
    line rewritten in place (``\r``) in a notebook, which shows stderr as it comes and needs
    no widget library for it."""
    return _TextBar(total, done) if in_notebook() else _RichBar(total, done)


class _RichBar:
    def __init__(self, total: int, done: int) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("sweep"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("elapsed"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self.task = self.bar.add_task("sweep", total=total, completed=done)

    def __enter__(self) -> _RichBar:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)

    def step(self) -> None:
        self.bar.advance(self.task)


class _TextBar:
    """``sweep 3/8 · elapsed 0:12 · ETA 0:20`` on one line of stderr, rewritten per point."""

    def __init__(self, total: int, done: int) -> None:
        self.total, self.done, self.first = total, done, done
        self.start = time.monotonic()

    def __enter__(self) -> _TextBar:
        self._show()
        return self

    def __exit__(self, *exc: object) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()

    def step(self) -> None:
        self.done += 1
        self._show()

    def _show(self) -> None:
        elapsed = time.monotonic() - self.start
        now = self.done - self.first
        eta = "?" if now == 0 else _clock(elapsed / now * (self.total - self.done))
        sys.stderr.write(
            f"\rsweep {self.done}/{self.total} · elapsed {_clock(elapsed)} · ETA {eta}"
        )
        sys.stderr.flush()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


def local(
    todo: list[SweepPoint],
    source: str,
    workers: int,
    stack: contextlib.ExitStack,
    compute: PointFn,
) -> Results:
    """Results of the points on a process pool (or in this process for one worker), as they
    finish. The pool starts and every point is submitted before this returns (so no other
    thread runs yet when the platform forks); leaving ``stack`` early (Ctrl-C, SIGTERM under
    ``procs.terminate_as_interrupt``, an exception) cancels the points not started and
    terminates the workers (a running point's result would not be stored)."""
    if workers <= 1 or len(todo) <= 1:
        return ((p, compute(source, p.overrides, p.seed, p.key)) for p in todo)
    pool = procs.open_pool(min(workers, len(todo)), stack)
    pending: dict[Future[Outcome], SweepPoint] = {
        pool.submit(compute, source, p.overrides, p.seed, p.key): p for p in todo
    }
    futures = list(pending)
    stack.callback(lambda: [f.cancel() for f in futures])  # runs before the pool closes
    return _as_finished(pending)


def _as_finished(pending: dict[Future[Outcome], SweepPoint]) -> Results:
    """The pool's results as they finish (ties in point order)."""
    while pending:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in sorted(done, key=lambda f: pending[f].index):
            yield pending.pop(future), future.result()


def on_dask(
    todo: list[SweepPoint],
    source: str,
    client: Client,
    stack: contextlib.ExitStack,
    compute: PointFn,
) -> Results:
    """Results of the points on a dask.distributed cluster, as they finish; leaving
    ``stack`` early cancels the points not finished."""
    from distributed import as_completed

    futures = {
        client.submit(compute, source, p.overrides, p.seed, p.key, pure=False): p for p in todo
    }
    stack.callback(_cancel, client, list(futures))  # no-op for the finished ones
    finished = as_completed(list(futures))  # type: ignore[no-untyped-call]
    return _from_dask(futures, finished, str(getattr(client.scheduler, "address", "?")))


class SchedulerLostError(RuntimeError):
    """The dask scheduler went away mid-sweep (its connection closed, its futures cancelled).
    ``sweep.run`` raises it with how many points were stored (``done``) of all (``total``)."""

    def __init__(self, address: str, done: int = 0, total: int = 0, kept: bool = True) -> None:
        self.address, self.done, self.total, self.kept = address, done, total, kept
        where = (
            "the store keeps them: rerun the same command to compute the rest"
            if kept
            else "without a store they are not kept: rerun with a store to keep points"
        )
        super().__init__(
            f"the dask scheduler at {address} went away after {done} of {total} points; {where}"
        )


def _from_dask(
    futures: dict[DaskFuture[Outcome], SweepPoint], finished: Any, address: str
) -> Results:
    """The results as they finish; a lost scheduler (cancelled futures, a closed connection,
    the client's timeout) is ``SchedulerLostError``, not the point's error."""
    from distributed.client import FutureCancelledError
    from distributed.comm.core import CommClosedError

    try:
        for future in finished:
            yield futures[future], future.result()
    except (FutureCancelledError, CommClosedError, TimeoutError) as exc:
        raise SchedulerLostError(address) from exc


def _cancel(client: Client, futures: list[DaskFuture[Outcome]]) -> None:
    """Cancel what has not finished; with the scheduler gone there is nothing to cancel."""
    with contextlib.suppress(OSError, TimeoutError):
        client.cancel(futures)  # type: ignore[no-untyped-call]


def close(client: Client) -> None:
    """Close a client this sweep connected. With its scheduler gone, dask logs the reconnection
    that closing cancels as an error with a traceback; that is expected here, so it is muted."""
    logger = logging.getLogger("distributed.client")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        client.close()  # type: ignore[no-untyped-call]
    finally:
        logger.setLevel(level)


def connect(scheduler: str) -> Client:
    """A dask client of the scheduler at ``scheduler``; an unreachable one is bad input."""
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
