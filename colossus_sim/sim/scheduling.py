"""The scheduler's transitions in a run: queueing a job, handing free racks out (spares, regrowth,
the queue's starts, growth beyond a job's ask), and preemption — each applying the decision of
``admission.py``, ``queue.py``, ``placement.py`` or ``preemption.py``.

A job that gives racks to a higher-priority one first writes a checkpoint (status
``stopping``): it blocks for the checkpoint's copy and holds its racks until the write is
durable in shared storage (``Cadence.stop_s``), then releases them, and the job it gave them to
starts on them. Meanwhile it counts the racks pledged to it and stops no one else, and the
type's free racks are held for it: no other job starts or grows on them. A failure during the
write loses it: the job loses its work since its last durable checkpoint and lets its racks go
at once. A job that was restarting has nothing to save and gives its racks at once. Cost:
O(live jobs of the type) per hand-out.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from colossus_sim.config.scenario import RecoveryMode
from colossus_sim.kinds import EventKind, JobStatus, RestartCause
from colossus_sim.results import GpuState
from colossus_sim.scenario import ResolvedScenario
from colossus_sim.sim import admission, preemption
from colossus_sim.sim.jobs import JobRun
from colossus_sim.sim.lifecycle import Lifecycle


class StopOrder(NamedTuple):
    """What a stopping job does once its checkpoint is durable: give ``gives`` to ``to``;
    ``unsaved_s``: its compute since its last durable checkpoint (what a failure during the
    write loses)."""

    gives: preemption.Yield
    to: JobRun
    unsaved_s: float


class Scheduling(Lifecycle):
    """Queue, hand-out and preemption transitions on top of the job lifecycle."""

    def __init__(self, resolved: ResolvedScenario, seed: int | None = None) -> None:
        super().__init__(resolved, seed)
        self.stops: dict[int, StopOrder] = {}
        """The jobs writing a checkpoint before they give racks up, by index."""

    def _submit_at(self, job: JobRun, at_s: float, *, refill: bool = True) -> None:
        """Queue ``job`` at ``at_s`` (now, if that has passed), then hand out its type's racks."""
        if at_s > self.env.now:  # a held job's version does not change until it is queued
            self._schedule(at_s - self.env.now, job, lambda j: self._submit_at(j, self.env.now))
            return
        job.status = JobStatus.PENDING
        job.submit_s = job.since_s = self.env.now
        job.version += 1  # its status changed: the ledger samples it now
        self.live[job.index] = job
        self.ledger.queued[self.cluster.type_index(job.gpu.name)] += 1
        self.ledger.log(EventKind.SUBMIT, job)
        self.recheck_repairs = True  # a repair of a free rack of its type now acts
        if refill:
            self._refill(job.gpu.name)

    def _admit(self, job: JobRun, racks: int) -> None:
        self.ledger.queued[self.cluster.type_index(job.gpu.name)] -= 1
        chosen = admission.start_racks(job, racks, self.cluster, self.placement)
        self._set_racks(job, len(chosen))
        self.cluster.take(job.index, chosen)
        job.first_step = job.first_step or job.step
        job.first_racks = job.first_racks or len(chosen)
        job.start_s = self.env.now if job.start_s is None else job.start_s
        if job.preemptions:  # it ran before a higher-priority job stopped it
            self.ledger.log(EventKind.START, job, detail=f"{len(chosen)} racks, resumed")
            self._restart(job, RestartCause.RESUMED)
            return
        self.ledger.log(EventKind.START, job, detail=f"{len(chosen)} racks")
        self._run(job)
        self._reshare_storage(job)

    def _refill(self, gpu: str) -> None:
        """Hand free racks of ``gpu`` type out (``admission.py`` says to whom, in which order)."""
        if not self.preempts and self.cluster.counts_of(gpu)[0] == 0:
            return  # no rack free, and none can be taken: nothing to decide
        order = admission.by_priority(j for j in self.live.values() if j.gpu.name == gpu)
        owned = self.cluster.owned_count
        first = -math.inf  # under preemption, a lower-priority job does not regrow past it
        if self.preempts:
            first = self._preempt(gpu, order)
            if any(j.status is JobStatus.STOPPING for j in order):
                return  # the free racks are held for the job that stopped others for them
        idle, spare, _ = self.cluster.counts_of(gpu)
        target = self.spare_target.get(gpu, 0)
        if idle == 0 or (spare >= target and not admission.any_wants(order, owned)):
            return  # nothing to hand out, or nobody to hand it to
        spares = admission.spare_top_up(self.cluster, gpu, target)
        if spares is not None:
            self.cluster.set_spare(spares)
        for job in order:  # 1. shrunk jobs back to the racks they asked for
            count = admission.regrow_count(job, int(owned[job.index]))
            if count > 0 and job.setup.priority >= first:
                self._grow(job, count)
        starts = admission.queue_starts(  # 2. queued jobs, as the queue decides
            self.env.now, order, gpu, self.cluster, self.planner, self.queue_order, self.backfill
        )
        for job, racks in starts:
            self._admit(job, racks)
        for job in order:  # 3. jobs allowed to grow beyond what they asked for
            count = admission.beyond_count(job, int(owned[job.index]))
            if count > 0:
                self._grow(job, count)

    def _preempt(self, gpu: str, order: list[JobRun]) -> float:
        """Queued jobs take racks from lower-priority running ones (``preemption.py``) and
        start on them; returns the highest priority still queued."""
        queued = [j for j in order if j.status is JobStatus.PENDING]
        for head in queued:
            pledged = self._pledged_to(head, order)
            free = self.cluster.counts_of(gpu)[0] + pledged
            given = preemption.victims(
                head,
                free,
                order,
                self.cluster.owned_count,
                lambda job, racks: self.planner.plan(job, racks) is not None,
            )
            for gives in given:
                self._yield(gives, head)
            size = admission.start_size(head, self.cluster.counts_of(gpu)[0], self.planner)
            if given and size is not None:
                self._admit(head, size)
            elif given or pledged:
                break  # it waits for racks being checkpoint-stopped for it: the next wait too
        left = [j.setup.priority for j in order if j.status is JobStatus.PENDING]
        return max(left, default=-math.inf)

    def _pledged_to(self, head: JobRun, order: list[JobRun]) -> int:
        """Racks jobs now writing their stop checkpoint will give ``head``."""
        stops = self.stops
        return sum(
            stops[j.index].gives.racks
            for j in order
            if j.status is JobStatus.STOPPING and stops[j.index].to is head
        )

    def _yield(self, gives: preemption.Yield, to: JobRun) -> None:
        """``gives.job`` hands racks to ``to``: a running job writes a checkpoint first and
        gives them when it is durable; a restarting one gives them now."""
        job = gives.job
        job.preemptions += 1
        cadence = job.cadence
        if job.status is not JobStatus.RUNNING or cadence is None or cadence.stop_s <= 0:
            self._close(job, lose_work=False)  # nothing unsaved: it gives its racks now
            self._give(gives, to)
            return
        in_memory = job.setup.recovery is RecoveryMode.IN_MEMORY
        unsaved_s = job.unsaved_s(self.env.now, since_storage=in_memory)
        self._close(job, lose_work=False)  # its work is saved by the stop checkpoint
        job.status = JobStatus.STOPPING
        self.stops[job.index] = StopOrder(gives, to, unsaved_s)
        self.ledger.log(
            EventKind.STOP, job, detail=f"checkpoint, then {gives.racks} racks to {to.name}"
        )
        self._schedule(cadence.stop_s, job, self._stopped)

    def _stopped(self, job: JobRun) -> None:
        """``job``'s stop checkpoint is durable: its racks go, first to the job it stopped for."""
        self._close(job, lose_work=False)
        order = self.stops.pop(job.index)
        # it resumes from the checkpoint it just wrote (an in_memory job's peers are gone)
        job.from_storage = job.setup.recovery is RecoveryMode.IN_MEMORY
        self._give(order.gives, order.to)
        gpu = job.gpu.name
        if order.to.status is JobStatus.PENDING:
            size = admission.start_size(order.to, self.cluster.counts_of(gpu)[0], self.planner)
            if size is not None:
                self._admit(order.to, size)
        self._refill(gpu)

    def _stop_failed(self, job: JobRun) -> None:
        """A failure struck ``job`` while it wrote its stop checkpoint: the write is lost, and
        with it the work since its last durable checkpoint; its racks go now."""
        order = self.stops[job.index]
        gpus = int(self.cluster.owned_count[job.index]) * self.cluster.gpus_per_rack
        book = self.ledger.books[job.index].gpu_s
        lost_gpu_s = order.unsaved_s * gpus
        book[GpuState.PRODUCTIVE] -= lost_gpu_s
        book[GpuState.REWORK] += lost_gpu_s
        assert job.step is not None and job.phases is not None
        job.tokens = max(job.tokens - order.unsaved_s * job.tokens_per_s, 0.0)
        self._stopped(job)

    def _give(self, gives: preemption.Yield, to: JobRun) -> None:
        """``gives.job`` releases racks to ``to``: all of them (it requeues) or some (it
        restarts smaller)."""
        job = gives.job
        racks = self.cluster.racks_of(job.index)
        self.cluster.release(job.index, racks[len(racks) - gives.racks :])
        if gives.stops:
            job.status = JobStatus.PENDING
            self.ledger.queued[self.cluster.type_index(job.gpu.name)] += 1
            self.ledger.log(EventKind.REQUEUE, job, detail=f"{gives.racks} racks to {to.name}")
            return
        self._set_racks(job, len(racks) - gives.racks)
        self.ledger.log(EventKind.SHRINK, job, detail=f"{gives.racks} racks to {to.name}")
        self._restart(job, RestartCause.YIELDED)

    def _grow(self, job: JobRun, count: int) -> None:
        extra = admission.growth_racks(job, count, self.cluster, self.placement, self.planner)
        if extra is None:
            return
        owned = int(self.cluster.owned_count[job.index])
        self._close(job, lose_work=False)  # resized at a checkpoint boundary
        self.cluster.take(job.index, extra)
        self._set_racks(job, owned + len(extra))
        self.ledger.log(EventKind.GROW, job, detail=f"+{len(extra)} racks")
        self._restart(job, RestartCause.GROW)
