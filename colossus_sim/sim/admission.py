"""Admission: which queued job starts on how many racks, and which running job grows, when racks
of a GPU type come free. Reads state, returns decisions (racks); the engine applies them.

Racks that come free go, in order, to the spare pool up to its target, to running jobs below
the racks they asked for (shrunk after a failure, or started small by ``malleable``
admission), to queued jobs — in the queue's order (``priority``: highest first; ``fifo``: by
submit time; ties in scenario order), each on all its racks (``gang``) or at least its
``min_racks`` (``malleable``), with the backfill ``queue.py`` decides — and to jobs allowed to
grow beyond what they asked for (``max_racks``). Which racks a job gets, in which rank order,
is the placement policy's (``placement.py``); a size its model cannot run on is declined. Cost:
O(racks of the type) numpy per decision, a planner search per new size (cached).
"""

from __future__ import annotations

from collections.abc import Iterable

from colossus_sim.cluster import ClusterState, IntArray
from colossus_sim.config.scenario import Backfill, QueueOrder
from colossus_sim.kinds import ACTIVE, JobStatus
from colossus_sim.sim import queue
from colossus_sim.sim.jobs import JobRun
from colossus_sim.sim.placement import Placement
from colossus_sim.sim.planning import Planner


def by_priority(jobs: Iterable[JobRun]) -> list[JobRun]:
    """Highest priority first; ties in scenario order."""
    return sorted(jobs, key=lambda j: (-j.setup.priority, j.index))


def queue_order(jobs: Iterable[JobRun], order: QueueOrder) -> list[JobRun]:
    """Queued jobs in the order the queue considers them."""
    if order is QueueOrder.FIFO:
        return sorted(jobs, key=lambda j: (j.submit_s or 0.0, j.index))
    return sorted(jobs, key=lambda j: (-j.setup.priority, j.submit_s or 0.0, j.index))


def queue_starts(
    now_s: float,
    jobs: Iterable[JobRun],
    gpu: str,
    cluster: ClusterState,
    planner: Planner,
    order: QueueOrder,
    backfill: Backfill,
) -> list[tuple[JobRun, int]]:
    """The queued jobs of ``gpu`` type that start now, and on how many racks (``queue.py``)."""
    mine = [j for j in jobs if j.gpu.name == gpu]
    queued = queue_order((j for j in mine if j.status is JobStatus.PENDING), order)
    free = len(cluster.free_racks(gpu))
    if not queued or free == 0:
        return []
    owned = cluster.owned_count
    releases = [
        queue.Release(j.projected_finish_s(now_s), int(owned[j.index]))
        for j in mine
        if j.step is not None and owned[j.index] > 0 and j.status is not JobStatus.FINISHED
    ]
    views = [
        queue.Queued(
            key=j.index,
            need=j.min_racks,
            size_for=lambda n, j=j: start_size(j, n, planner),  # type: ignore[misc]
            run_s=lambda n, j=j: run_estimate_s(j, n, planner),  # type: ignore[misc]
        )
        for j in queued
    ]
    by_key = {j.index: j for j in queued}
    return [(by_key[s.key], s.racks) for s in queue.decide(now_s, free, views, releases, backfill)]


def start_size(job: JobRun, free: int, planner: Planner) -> int | None:
    """The racks ``job`` starts on when ``free`` are free: as many as it asks for, or (when
    malleable) fewer down to its minimum; None when that is not enough or its model does not
    run on them."""
    size = min(free, job.want_racks)
    if size < job.min_racks or planner.plan(job, size) is None:
        return None
    return size


def run_estimate_s(job: JobRun, racks: int, planner: Planner) -> float:
    """How long ``job``'s remaining work takes on ``racks`` racks at full clock with nothing
    failing (the estimate a user would give a batch scheduler)."""
    step = planner.plan(job, racks)
    if step is None:
        return float("inf")
    return job.remaining_tokens() / job.ideal_tokens_per_s(step)


def initial_spares(cluster: ClusterState, gpu: str, target: int) -> IntArray:
    """The spare pool at the start: the last free racks of the type, after the jobs' blocks."""
    free = cluster.free_racks(gpu)
    return free[len(free) - min(target, len(free)) :]


def spare_top_up(cluster: ClusterState, gpu: str, target: int) -> IntArray | None:
    """Free racks to add to the spare pool to bring it back to ``target`` (None: it is full)."""
    have = cluster.counts_of(gpu)[1]  # its whole spare racks no job holds: O(1)
    if have >= target:
        return None
    return cluster.free_racks(gpu)[: target - have]


def any_wants(jobs: Iterable[JobRun], owned: IntArray) -> bool:
    """Whether any of ``jobs`` would take racks: queued, below what it asked for, or allowed
    to grow beyond it."""
    return any(
        j.status is JobStatus.PENDING
        or regrow_count(j, int(owned[j.index]))
        or beyond_count(j, int(owned[j.index]))
        for j in jobs
    )


def regrow_count(job: JobRun, owned: int) -> int:
    """Racks an active job lacks of what it asked for (it shrank after a failure)."""
    return job.want_racks - owned if job.status in ACTIVE and owned < job.want_racks else 0


def beyond_count(job: JobRun, owned: int) -> int:
    """Racks an active job may still take beyond what it asked for, up to ``max_racks``."""
    limit = job.setup.max_racks or 0
    return limit - owned if job.status in ACTIVE and owned < limit else 0


def start_racks(job: JobRun, racks: int, cluster: ClusterState, placement: Placement) -> IntArray:
    """Which ``racks`` free racks a queued job starts on (the placement's choice)."""
    return placement.choose(cluster, cluster.free_racks(job.gpu.name), racks)


def growth_racks(
    job: JobRun, count: int, cluster: ClusterState, placement: Placement, planner: Planner
) -> IntArray | None:
    """Up to ``count`` free racks a running job grows onto, or None: none free, its model
    does not run on the larger size, or the larger size trains on no more GPUs (a resize costs
    a restart: racks its plan would leave idle are not worth one)."""
    free = cluster.free_racks(job.gpu.name)
    if len(free) == 0:
        return None
    extra = placement.choose(cluster, free, count)
    owned = int(cluster.owned_count[job.index])
    grown = planner.plan(job, owned + len(extra))
    if grown is None or (job.flat_step is not None and grown.gpus_used <= job.flat_step.gpus_used):
        return None
    return extra
