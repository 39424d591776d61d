"""Recovery and preemption: what a job does when a failure leaves one of its racks unable to
run it. One policy module; it reads state and returns a decision the engine applies.

In order (``jobs.<name>.on_rack_loss`` says which steps a job may take): swap in a healthy
spare rack of its GPU type (the placement policy picks which: the nearest pod's); under the
``priority`` scheduler, take a usable rack from the lowest-priority job below it that can
re-plan on one rack fewer; shrink by the lost rack if its model still fits; else stall until
the rack is repaired. Every outcome but a stall costs a restart from the last checkpoint.
Cost: O(spares) numpy for the swap; O(jobs × their racks) for preemption, which only the
``priority`` scheduler pays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from colossus_sim.cluster import ClusterState
from colossus_sim.config.reliability import FailureDomain
from colossus_sim.config.scenario import RecoveryMode, RecoveryPolicy, SnapshotPeer
from colossus_sim.kinds import ACTIVE, JobStatus
from colossus_sim.sim.cadence import copy_domains
from colossus_sim.sim.jobs import JobRun
from colossus_sim.sim.placement import Placement
from colossus_sim.sim.planning import Planner


@dataclass(frozen=True)
class SwapSpare:
    """The spare ``rack`` takes the lost rack's place (and rank)."""

    rack: int


@dataclass(frozen=True)
class TakeFromVictim:
    """``rack`` moves from ``victim`` (which re-plans on one rack fewer) to the job."""

    victim: JobRun
    rack: int


@dataclass(frozen=True)
class Shrink:
    """The job gives up the lost rack and runs on ``racks``."""

    racks: int


@dataclass(frozen=True)
class Stall:
    """The job waits, holding its racks, until the lost rack is repaired."""


Recovery = SwapSpare | TakeFromVictim | Shrink | Stall


@dataclass(frozen=True)
class RecoveryPolicyContext:
    """What the policy reads: the racks, where spares go, how jobs re-plan, who else runs."""

    cluster: ClusterState
    placement: Placement
    planner: Planner
    jobs: Sequence[JobRun]
    priority_preemption: bool
    snapshot_peer: SnapshotPeer | None = None
    """Where ``in_memory`` jobs keep their snapshot's copy (None: no ``recovery:`` section)."""


def drops_replica(job: JobRun, healthy_after: int) -> bool:
    """Whether a failure on one of ``job``'s racks, which leaves it ``healthy_after`` healthy
    GPUs, drops a data-parallel replica instead of restarting the job: in ``drop_replica``
    mode, while it runs, the rack keeps enough GPUs (a spare takes the failed one's place)
    and at least one other replica is still in."""
    return (
        job.setup.recovery is RecoveryMode.DROP_REPLICA
        and job.status is JobStatus.RUNNING
        and healthy_after >= job.active_gpus
        and job.step is not None
        and job.replicas_out + 1 < job.step.plan.dp
    )


def takes_snapshot_copy(ctx: RecoveryPolicyContext, job: JobRun, domain: FailureDomain) -> bool:
    """Whether a failure taking out ``domain`` takes every copy of ``job``'s last fast-tier
    checkpoint, so it restarts from shared storage (``cadence.copy_domains``: a whole rack
    for an ``in_memory`` job with its peer in the rack; a tray or rack for ``local_nvme``)."""
    return domain in copy_domains(job, ctx.snapshot_peer)


def recover(ctx: RecoveryPolicyContext, job: JobRun, bad: int) -> Recovery:
    """``job`` lost rack ``bad``: a spare, a lower-priority job's rack, fewer racks, or wait."""
    policy = job.setup.on_rack_loss
    if policy in (RecoveryPolicy.SPARE_OR_SHRINK, RecoveryPolicy.SPARE_OR_WAIT):
        spares = ctx.cluster.spare_racks(job.gpu.name, job.active_gpus)
        if len(spares):
            return SwapSpare(int(ctx.placement.replacement(ctx.cluster, spares, bad)[0]))
    if ctx.priority_preemption:
        taken = _preemption(ctx, job)
        if taken is not None:
            return taken
    owned = int(ctx.cluster.owned_count[job.index])
    shrinkable = policy in (RecoveryPolicy.SPARE_OR_SHRINK, RecoveryPolicy.SHRINK)
    if shrinkable and owned > 1 and ctx.planner.plan(job, owned - 1) is not None:
        return Shrink(owned - 1)
    return Stall()


def _preemption(ctx: RecoveryPolicyContext, job: JobRun) -> TakeFromVictim | None:
    """A usable rack of the lowest-priority job below ``job`` that can lose one."""
    cluster = ctx.cluster
    victims = [
        j
        for j in ctx.jobs
        if j.gpu.name == job.gpu.name
        and j.setup.priority < job.setup.priority
        and j.status in ACTIVE
        and cluster.owned_count[j.index] > 1
    ]
    for victim in sorted(victims, key=lambda j: (j.setup.priority, -j.index)):
        owned = cluster.racks_of(victim.index)
        usable = owned[cluster.healthy[owned] >= job.active_gpus]
        if len(usable) == 0 or ctx.planner.plan(victim, len(owned) - 1) is None:
            continue
        return TakeFromVictim(victim, int(usable[-1]))
    return None
