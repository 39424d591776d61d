"""Admission: which waiting job starts on which racks, and which running job grows, when racks
of a GPU type come free. Reads state, returns decisions (racks); the engine applies them.

Racks that come free go, in order, to the spare pool up to its target, to running jobs shrunk
below the racks they asked for, to pending jobs — each only when all the racks it asks for are
free (gang admission), in priority order (ties: scenario order) — and to jobs allowed to grow
beyond what they asked for (``max_racks``). Which racks a job gets, in which rank order, is the
placement policy's (``placement.py``); a size its model cannot run on is declined. Cost:
O(racks of the type) numpy per decision, a planner search per new size (cached).
"""

from __future__ import annotations

from collections.abc import Iterable

from colossus_sim.cluster import ClusterState, IntArray
from colossus_sim.kinds import ACTIVE, JobStatus
from colossus_sim.sim.jobs import JobRun
from colossus_sim.sim.placement import Placement
from colossus_sim.sim.planning import Planner


def by_priority(jobs: Iterable[JobRun]) -> list[JobRun]:
    """Highest priority first; ties in scenario order."""
    return sorted(jobs, key=lambda j: (-j.setup.priority, j.index))


def initial_spares(cluster: ClusterState, gpu: str, target: int) -> IntArray:
    """The spare pool at the start: the last free racks of the type, after the jobs' blocks."""
    free = cluster.free_racks(gpu)
    return free[len(free) - min(target, len(free)) :]


def spare_top_up(cluster: ClusterState, gpu: str, target: int) -> IntArray | None:
    """Free racks to add to the spare pool to bring it back to ``target`` (None: it is full)."""
    have = len(cluster.spare_racks(gpu, cluster.gpus_per_rack))
    if have >= target:
        return None
    return cluster.free_racks(gpu)[: target - have]


def regrow_count(job: JobRun, owned: int) -> int:
    """Racks an active job lacks of what it asked for (it shrank after a failure)."""
    return job.want_racks - owned if job.status in ACTIVE and owned < job.want_racks else 0


def beyond_count(job: JobRun, owned: int) -> int:
    """Racks an active job may still take beyond what it asked for, up to ``max_racks``."""
    limit = job.setup.max_racks or 0
    return limit - owned if job.status in ACTIVE and owned < limit else 0


def start_racks(
    job: JobRun, cluster: ClusterState, placement: Placement, planner: Planner
) -> IntArray | None:
    """The racks a pending job starts on, or None: not all it asks for are free, or its model
    does not run on them."""
    if job.status is not JobStatus.PENDING:
        return None
    free = cluster.free_racks(job.gpu.name)
    if len(free) < job.want_racks:
        return None
    chosen = placement.choose(cluster, free, job.want_racks)
    return chosen if planner.plan(job, len(chosen)) is not None else None


def growth_racks(
    job: JobRun, count: int, cluster: ClusterState, placement: Placement, planner: Planner
) -> IntArray | None:
    """Up to ``count`` free racks a running job grows onto, or None: none free, or its model
    does not run on the larger size."""
    free = cluster.free_racks(job.gpu.name)
    if len(free) == 0:
        return None
    extra = placement.choose(cluster, free, count)
    owned = int(cluster.owned_count[job.index])
    return extra if planner.plan(job, owned + len(extra)) is not None else None
