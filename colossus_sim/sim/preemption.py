"""Preemption: racks a queued job may take from lower-priority running jobs of its GPU type
when the free racks are too few for it (``scheduler.preemption: priority``).

Running ``malleable`` jobs shrink toward their ``min_racks`` first (the lowest priority first);
then whole jobs are checkpoint-stopped and requeued, the lowest priority first and, among
equals, the latest started first (it has run least since it began). Nothing is taken unless
the queued job can then start on its minimum. A decision of (job, racks to give); the
lifecycle applies it: a shrunk job restarts smaller, a stopped job loses no work (it stops at a
checkpoint) and pays a restart when it resumes. Cost: O(running jobs of the type) per queued
job considered, a planner lookup per shrink size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from colossus_sim.cluster import IntArray
from colossus_sim.kinds import ACTIVE
from colossus_sim.sim.jobs import JobRun


class Yield(NamedTuple):
    """``job`` gives up ``racks`` racks: all it holds (it stops and requeues) or some
    (it shrinks)."""

    job: JobRun
    racks: int
    stops: bool


def victims(
    head: JobRun,
    free: int,
    running: Sequence[JobRun],
    owned: IntArray,
    runs_on: Callable[[JobRun, int], bool],
) -> list[Yield]:
    """What lower-priority ``running`` jobs give up so ``head`` can start on its minimum with
    ``free`` racks free (``runs_on(job, racks)``: its model runs on that many); [] when even
    all of it would not be enough, or nothing is needed."""
    need = head.min_racks - free
    if need <= 0:
        return []
    lower = sorted(
        (
            j
            for j in running
            if j.setup.priority < head.setup.priority and j.status in ACTIVE and owned[j.index]
        ),
        key=lambda j: (j.setup.priority, -(j.start_s or 0.0), -j.index),
    )
    given: list[Yield] = []
    for job in lower:  # shrink malleable jobs toward their minimum first
        held = int(owned[job.index])
        spare = min(held - job.min_racks, need)
        if spare > 0 and runs_on(job, held - spare):
            given.append(Yield(job, spare, stops=False))
            need -= spare
        if need <= 0:
            return given
    shrunk = {y.job.index: y.racks for y in given}
    for job in lower:  # then stop whole jobs
        held = int(owned[job.index])
        need -= held - shrunk.get(job.index, 0)
        given = [y for y in given if y.job is not job] + [Yield(job, held, stops=True)]
        if need <= 0:
            return given
    return []
