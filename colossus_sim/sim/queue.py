"""The queue: which queued jobs of one GPU type start now, and on how many racks.

A pure decision over counts: the free racks now, the queued jobs in the queue's order (each
with the sizes it can start on and its projected run time at a size) and when the running
jobs are projected to release their racks. ``none`` starts jobs in order until one does not
fit; ``easy`` then gives that job (the head) a reservation at the earliest time enough racks
will be free and lets later jobs start only if they end before it or use racks it will not
need; ``conservative`` gives every queued job a reservation in turn, on a profile of free racks
over time, and starts those whose reservation is now. Which racks a started job gets is the
placement's; the engine applies the decision. Projections assume nothing more fails (the
run-time estimate a user gives a batch scheduler). Cost: ``none``/``easy`` O(queued + running)
per decision, ``conservative`` O(queued × (running + queued)) numpy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from colossus_sim.config.scenario import Backfill


class Queued(NamedTuple):
    """A queued job as the queue sees it: ``size_for(free)`` is the racks it would start on
    with ``free`` racks free (None: it cannot start on them); ``run_s(racks)`` its projected
    run time on that many; ``need`` the fewest racks it starts on."""

    key: int
    need: int
    size_for: Callable[[int], int | None]
    run_s: Callable[[int], float]


class Release(NamedTuple):
    """Racks a running job is projected to release, and when."""

    at_s: float
    racks: int


class Start(NamedTuple):
    key: int
    racks: int


def decide(
    now_s: float,
    free: int,
    queue: Sequence[Queued],
    releases: Sequence[Release],
    backfill: Backfill,
) -> list[Start]:
    """The jobs of ``queue`` (in order) that start now, with their racks."""
    if backfill is Backfill.CONSERVATIVE:
        return _conservative(now_s, free, queue, releases)
    starts: list[Start] = []
    pending = list(releases)
    for pos, job in enumerate(queue):
        size = job.size_for(free) if free > 0 else None
        if size is None:
            if backfill is Backfill.NONE or free <= 0:
                return starts
            return starts + _easy_backfill(now_s, free, job, queue[pos + 1 :], pending)
        starts.append(Start(job.key, size))
        free -= size
        pending.append(Release(now_s + job.run_s(size), size))
    return starts


def reservation(free: int, need: int, releases: Sequence[Release]) -> tuple[float, int]:
    """When ``need`` racks will first be free (``free`` now, plus ``releases`` as they come),
    and how many racks beyond ``need`` are free then (``math.inf`` and what is left at the end
    when never)."""
    have = free
    for release in sorted(releases):
        have += release.racks
        if have >= need:
            return release.at_s, have - need
    return math.inf, max(have - need, 0)


def _easy_backfill(
    now_s: float, free: int, head: Queued, rest: Sequence[Queued], releases: list[Release]
) -> list[Start]:
    """EASY: later jobs start if they end before the head's reservation or fit in the racks
    the head will not need then."""
    shadow_s, extra = reservation(free, head.need, releases)
    starts: list[Start] = []
    for job in rest:
        if free <= 0:
            break
        size = job.size_for(free)
        if size is None:
            continue
        if now_s + job.run_s(size) <= shadow_s:
            pass
        elif size <= extra:
            extra -= size
        else:
            size = job.size_for(min(free, extra)) if extra >= job.need else None
            if size is None:
                continue
            extra -= size
        starts.append(Start(job.key, size))
        free -= size
    return starts


def _conservative(
    now_s: float, free: int, queue: Sequence[Queued], releases: Sequence[Release]
) -> list[Start]:
    """Every queued job, in order, reserves the earliest window its racks are free for its
    whole projected run; those whose window opens now start."""
    times = [now_s, *sorted({r.at_s for r in releases if r.at_s > now_s})]
    at = np.array(times, dtype=np.float64)
    avail = np.full(len(at), float(free))
    for release in releases:
        avail[at >= max(release.at_s, now_s)] += release.racks
    starts: list[Start] = []
    for job in queue:
        size = job.size_for(int(avail[0])) if avail[0] > 0 else None
        if size is not None and _fits(at, avail, 0, size, now_s + job.run_s(size)):
            at, avail = _reserve(at, avail, 0, size, now_s + job.run_s(size))
            starts.append(Start(job.key, size))
            continue
        dur = job.run_s(job.need)
        for k in range(1, len(at)):
            if avail[k] >= job.need and _fits(at, avail, k, job.need, at[k] + dur):
                at, avail = _reserve(at, avail, k, job.need, at[k] + dur)
                break
    return starts


def _fits(at: np.ndarray, avail: np.ndarray, k: int, racks: int, end_s: float) -> bool:
    stop = int(np.searchsorted(at, end_s, side="left"))
    return bool(np.all(avail[k : max(stop, k + 1)] >= racks))


def _reserve(
    at: np.ndarray, avail: np.ndarray, k: int, racks: int, end_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """The profile with ``racks`` taken from ``at[k]`` until ``end_s``."""
    if math.isfinite(end_s) and end_s not in at:
        pos = int(np.searchsorted(at, end_s))
        at = np.insert(at, pos, end_s)
        avail = np.insert(avail, pos, avail[pos - 1])
    stop = int(np.searchsorted(at, end_s, side="left"))
    avail = avail.copy()
    avail[k:stop] -= racks
    return at, avail
