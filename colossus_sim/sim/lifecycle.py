"""A job's lifecycle in a run: the state the engine's events change and the transitions between —
running, restarting, resized, finished — each applying the decision of a collaborator
(``planning``, ``network``, ``power``, the storage); the ledger records. Queueing, handing
racks out and preemption are ``scheduling.py``'s, on top of this class. After each event the
cluster is settled: bandwidth shares first (they change step times), then clocks under the
power cap. A job's events carry its ``version`` and are dropped when the job's state moved on
since they were scheduled. The loops run over the live jobs (queued or holding racks), never
over every job of a long stream. Cost: O(live jobs) per event plus what the collaborators say.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from colossus_sim.cluster import ClusterState, IntArray
from colossus_sim.config.scenario import Admission, PlacementPolicy, Preemption
from colossus_sim.fabric import JobBandwidth
from colossus_sim.kinds import EventKind, JobStatus, RestartCause
from colossus_sim.perf import power
from colossus_sim.run_progress import Reporter
from colossus_sim.scenario import ResolvedScenario
from colossus_sim.sim import recovery as rec
from colossus_sim.sim.arrivals import Arrivals
from colossus_sim.sim.checkpoint_storage import SharedStorage
from colossus_sim.sim.failures import FailureProcess
from colossus_sim.sim.finish_checks import FinishChecks
from colossus_sim.sim.inline import Clock, InlineQueue
from colossus_sim.sim.jobs import Cadence, JobRun, jobs_of
from colossus_sim.sim.ledger import Ledger
from colossus_sim.sim.network import Network
from colossus_sim.sim.placement import placement_for
from colossus_sim.sim.planning import Planner
from colossus_sim.sim.power import PowerController, PowerDecision
from colossus_sim.sim.ramps import power_book
from colossus_sim.sim.repair_events import RepairEvents
from colossus_sim.sim.repairs import PendingRepairs


class Lifecycle(RepairEvents):
    """The jobs of one run, their transitions and the settling after each event."""

    def __init__(self, resolved: ResolvedScenario, seed: int | None = None) -> None:
        sc = resolved.scenario
        self.resolved = resolved
        self.seed = sc.seed if seed is None else seed
        self.env = Clock()
        self.inline = InlineQueue(self.env)
        """The failures and restart completions, run without a simpy event each."""
        self.finishes = FinishChecks(self.env, lambda job: self._apply(lambda: self._finish(job)))
        self.cluster = ClusterState(resolved.cluster, len(resolved.jobs))
        self.jobs = jobs_of(resolved, malleable=sc.scheduler.admission is Admission.MALLEABLE)
        self.arrivals = Arrivals(self.jobs)
        site_gpus = self.cluster.racks * self.cluster.gpus_per_rack
        self.placement = placement_for(sc.scheduler.policy)
        self.spare_target = dict(sc.scheduler.spare_racks)
        self.planner = Planner(resolved, site_gpus, self.cluster.gpus_per_rack)
        self.failures = FailureProcess(resolved, np.random.default_rng(self.seed), self.seed)
        self.power = PowerController(resolved, self.cluster)
        self.storage = SharedStorage(self.planner.storage_bytes_per_s())
        self.network = Network(resolved, self.seed, len(self.jobs))
        book = power_book(resolved, self.jobs, self.power.pue)
        self.ledger = Ledger(len(self.jobs), self.cluster, self.env, book)
        self.recovery = rec.RecoveryPolicyContext(
            cluster=self.cluster,
            placement=self.placement,
            planner=self.planner,
            jobs=self.jobs,
            priority_preemption=sc.scheduler.policy is PlacementPolicy.PRIORITY,
            snapshot_peer=sc.recovery.snapshot_peer if sc.recovery is not None else None,
        )
        self.queue_order, self.backfill = sc.scheduler.queue, sc.scheduler.backfill
        self.preempts = sc.scheduler.preemption is Preemption.PRIORITY
        self.live: dict[int, JobRun] = {}
        """Jobs queued or holding racks, and those finished since power was last balanced."""
        self.unfinished = len(self.jobs)
        self.site_it_w = 0.0
        self.power_dirty = True
        self.power_touched: set[int] = set()
        """The jobs whose status, step or racks changed since power was last balanced."""
        self.done = self.env.event()
        self.pending_repairs = PendingRepairs()
        """GPU repairs nothing acts on, applied when next looked at (``repair_events.py``)."""
        self.repairs_seen = -1
        """The cluster's allocation count when pending repairs were last checked."""
        self.recheck_repairs = False
        self.watchers: list[Reporter] = []
        """Told the run's progress at its end (``Simulation.watch``)."""

    # ------------------------------------------------------------------ bookkeeping
    def _close(
        self,
        job: JobRun,
        *,
        lose_work: bool,
        in_flight_only: bool = False,
        copy_lost: bool = False,
    ) -> None:
        """Charge ``job``'s racks for its current status since it began; apply lost work (all
        since the last durable checkpoint — with ``copy_lost`` the last in shared storage —, or
        with ``in_flight_only`` the step in flight)."""
        gpus = int(self.cluster.owned_count[job.index]) * self.cluster.gpus_per_rack
        book = self.ledger.books[job.index].gpu_s
        stretch = job.close_stretch(
            self.env.now,
            gpus,
            lose_work=lose_work,
            in_flight_only=in_flight_only,
            copy_lost=copy_lost,
        )
        for state, gpu_s in stretch:
            book[state] += gpu_s
        job.since_s = self.env.now
        job.version += 1  # any event scheduled for the old status is now stale
        self.power_dirty = True  # its status (and so its draw) is about to change
        self.power_touched.add(job.index)
        self.storage.stopped(job)  # it writes no checkpoint until it runs again

    def _training_gpus(self, job: JobRun) -> int:
        return int(self.cluster.owned_count[job.index]) * job.active_gpus

    def _schedule(self, delay: float, job: JobRun, action: Callable[[JobRun], None]) -> None:
        version = job.version
        event = self.env.timeout(max(delay, 0.0))
        event.callbacks.append(lambda _ev: self._if_current(job, version, action))

    def _schedule_inline(self, delay: float, job: JobRun, action: Callable[[JobRun], None]) -> None:
        """As ``_schedule``, in the inline queue (``inline.py``): for the frequent events."""
        version = job.version
        at_s = self.env.now + max(delay, 0.0)
        self.inline.at(at_s, lambda: self._if_current(job, version, action))

    def _if_current(self, job: JobRun, version: int, action: Callable[[JobRun], None]) -> None:
        if job.version == version:
            self._apply(lambda: action(job))

    def _later(self, delay_s: float, action: Callable[[], None]) -> None:
        """Run ``action`` (an event no job's state can make stale) in ``delay_s`` seconds."""
        event = self.env.timeout(delay_s)
        event.callbacks.append(lambda _ev: self._apply(action))

    def _apply(self, action: Callable[[], None]) -> None:
        """An event: charge the time since the last, act, settle."""
        self._advance()
        action()
        self._settle()

    def _advance(self) -> None:
        """Charge the time since the last event, with the repairs that came due in it."""
        self._apply_due_repairs()
        self.ledger.advance_cluster(self.env.now, self.site_it_w)

    def _repaired(self, rack: int, gpus: int) -> None:
        """A repair event: a stalled job whose racks are all whole again restarts; a whole
        rack no job holds is handed out."""
        job = self._count_repair(rack, gpus)
        if job is None:
            if self.cluster.healthy[rack] == self.cluster.gpus_per_rack:
                self._refill(self.cluster.type_names[int(self.cluster.gpu_type[rack])])
            return
        if job.status is not JobStatus.STALLED:
            return  # a running job looks at its racks only when it waits for them
        racks: IntArray = self.cluster.racks_of(job.index)
        if np.all(self.cluster.healthy[racks] >= job.active_gpus):
            self._close(job, lose_work=False)
            self._restart(job, RestartCause.REPAIRED)
            self.recheck_repairs = True  # it may want racks again (it may have shrunk)

    def _schedule_finish(self, job: JobRun) -> None:
        """(Re)schedule the end of the token budget at the current rate (``finish_checks``)."""
        now = self.env.now
        self.finishes.due(job, now + max(job.finish_at_s() - now, 0.0))

    # ------------------------------------------------------------------ job transitions
    def _run(self, job: JobRun) -> None:
        """Start (or resume) training: schedule the finish at the analytic completion time."""
        assert job.step is not None
        job.status = JobStatus.RUNNING
        job.since_s = self.env.now
        self.power_dirty = True
        self.power_touched.add(job.index)
        job.rate_mark_s = self.env.now
        job.stretch_tokens = 0.0
        cadence = self._cadence(job)
        job.cadence = cadence
        self.storage.running(job, self._training_gpus(job), cadence.storage_demand_bytes_per_s)
        job.blocking_s, job.durable_s, job.interval_s = cadence[:3]
        self._schedule_finish(job)

    def _cadence(self, job: JobRun) -> Cadence:
        """How ``job`` checkpoints now, beside the jobs running now (the storage is shared)."""
        gpus = self._training_gpus(job)
        return self.planner.checkpoint_cadence(
            job,
            int(self.cluster.owned_count[job.index]),
            lambda demand: self.storage.write_bytes_per_s(job, gpus, demand),
        )

    def _reshare_storage(self, started: JobRun | None = None) -> None:
        """A job started or finished: the others writing to the shared storage take their new
        parts at the end of their checkpoint cycles (``SharedStorage.reshares``)."""
        now = self.env.now
        for job, at_s in self.storage.reshares(self.live.values(), started, self._cadence, now):
            self._schedule(at_s - now, job, self._reshared)

    def _reshared(self, job: JobRun) -> None:
        """At the end of a checkpoint cycle, ``job`` goes on with its new part of the storage
        (its last checkpoint counted as saved, though a failure in the seconds before it is
        durable would have lost the cycle)."""
        self._close(job, lose_work=False)
        self._run(job)

    def _restart(self, job: JobRun, cause: RestartCause, detail: str = "") -> None:
        job.status = JobStatus.RESTARTING
        job.since_s = self.env.now
        job.restarts += 1
        if job.replicas_out:  # every replica restarts: those out come back with the rest
            job.replicas_out = 0
            job.drop_epoch += 1
        detail = detail or cause.value
        self.ledger.log(
            EventKind.RESTART, job, detail=f"{detail}, from storage" if job.from_storage else detail
        )
        racks = int(self.cluster.owned_count[job.index])
        job.read_bytes_per_s = self.storage.read_bytes_per_s(job, self._training_gpus(job))
        restart_s = self.planner.restart_s(
            job, racks, detected=cause.detected, read_bytes_per_s=job.read_bytes_per_s
        )
        self._schedule_inline(restart_s, job, self._restart_done)

    def _restart_done(self, job: JobRun) -> None:
        self._close(job, lose_work=False)
        if job.from_storage:  # back at its last checkpoint in storage: the count starts again
            job.snapshots_unstored = 0
        job.from_storage = False  # the state is back in place
        self._run(job)

    def _finish(self, job: JobRun) -> None:
        self._close(job, lose_work=False)
        job.tokens = job.budget_tokens
        job.status = JobStatus.FINISHED
        job.finish_s = self.env.now
        racks = self.cluster.racks_of(job.index)
        self.cluster.release(job.index, racks)
        self.ledger.log(EventKind.FINISH, job, detail=f"{len(racks)} racks freed")
        self._reshare_storage()
        for waiting, at_s in self.arrivals.after_finish(job):
            self._submit_at(waiting, at_s)
        self._refill(job.gpu.name)
        self.unfinished -= 1
        if not self.unfinished:
            self.done.succeed()

    def _set_racks(self, job: JobRun, racks: int) -> None:
        """Re-plan ``job`` for ``racks`` racks (the deciding policy checked that it fits)."""
        step = self.planner.plan(job, racks)
        assert step is not None
        if job.step is not None:
            job.replans += step.plan != job.step.plan
            job.resizes += bool(self.cluster.owned_count[job.index])  # it holds racks
        job.flat_step = step
        job.step = self.planner.at_share(job, job.fabric_frac)
        job.phases = power.StepPhases.of(job.step.breakdown_s)
        self.power.forget(job)  # racks or plan changed: recompute the power curve when needed

    # ------------------------------------------------------------------ admission
    def _submit_at(self, job: JobRun, at_s: float, *, refill: bool = True) -> None:
        """Queue ``job`` at ``at_s``: ``scheduling.py``'s."""
        raise NotImplementedError

    def _refill(self, gpu: str) -> None:
        """Hand free racks of ``gpu`` type out: ``scheduling.py``'s."""
        raise NotImplementedError

    # ------------------------------------------------------------------ settling
    def _settle(self) -> None:
        """After an event: bandwidth shares first (they change step times), then power."""
        bw = self.network.shares(self.cluster)
        if bw is not None:
            self._apply_shares(bw)
        self._rebalance()
        self._hand_back_repairs()

    def _apply_shares(self, bw: JobBandwidth) -> None:
        """Re-time the jobs whose bandwidth share changed (``network.py`` says which)."""
        for job, frac, step, detail in self.network.retimes(
            bw, self.live.values(), self.cluster, self.planner
        ):
            if detail:
                self.ledger.log(EventKind.FABRIC, job, detail=detail)
            job.fabric_frac = frac
            job.fabric_min_frac = min(job.fabric_min_frac, frac)
            running = job.status is JobStatus.RUNNING
            if running:
                job.bank_rate(self.env.now)
            job.step = step
            job.phases = power.StepPhases.of(step.breakdown_s)
            self.power.forget(job)
            self.power_dirty = True
            self.power_touched.add(job.index)
            if running:
                job.version += 1
                self._schedule_finish(job)

    def _rebalance(self) -> None:
        """Apply the power controller's clocks and draws (only after a job changed status or
        racks), re-timing jobs whose clock moved; the ledger banks energy and samples. When
        one job changed alone and the others' clocks and draws stand, only it is decided
        (``PowerController.decide_one``). A job that finished leaves the live set once its
        draw is banked."""
        if not self.power_dirty:
            return
        self.power_dirty = False
        touched, self.power_touched = self.power_touched, set()
        now = self.env.now
        owned = self.cluster.owned_list()
        live = list(self.live.values())
        decision = None
        if len(touched) == 1:
            alone = self.jobs[next(iter(touched))]
            if alone.status is not JobStatus.FINISHED:
                decision = self.power.decide_one(live, alone, owned[alone.index])
        moved: list[JobRun] = []  # the jobs whose draw changed: the ledger times their ramps
        if decision is None:
            decision = self.power.decide(live, owned)
            for job in live:
                self._apply_draw(job, decision, now, moved)
        else:
            self._apply_draw(alone, decision, now, moved)
        self.site_it_w = decision.site_it_w
        for index, delay_s in self.ledger.sample(now, live, owned, decision, moved).items():
            job = self.jobs[index]
            if job.status is JobStatus.RUNNING:  # its rise was held back: its work waits
                job.hold(now, delay_s)
                job.version += 1
                self._schedule_finish(job)
        for job in live:
            if job.status is JobStatus.FINISHED:
                del self.live[job.index]

    def _apply_draw(
        self, job: JobRun, decision: PowerDecision, now: float, moved: list[JobRun]
    ) -> None:
        """``job``'s clock and draw as ``decision`` says (``moved`` gains it if its draw did)."""
        new_w = decision.draw_w[job.index]
        clock = decision.clock_of.get(job.index)
        if clock is None:  # not running: its racks draw idle power
            if new_w != job.it_w or job.throttled:
                self.ledger.bank_power(job, now)
                moved.append(job)
                job.it_w = new_w
                job.throttled = False
            return
        if clock != job.clock:
            job.bank_rate(now)
            job.clock = clock
            job.min_clock = min(job.min_clock, clock)
            job.version += 1
            self._schedule_finish(job)
        if new_w != job.it_w or job.throttled != (clock < 1.0):
            self.ledger.bank_power(job, now)
            moved.append(job)
            job.it_w = new_w
            job.throttled = clock < 1.0
            self.ledger.note_draw(job)
