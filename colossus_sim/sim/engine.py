"""The engine: the simpy clock, the job lifecycle, and nothing else — it asks its collaborators
for decisions and applies them.

simpy orders the events: failures (``failures.py``), repairs, restart completions, job
finishes, switch repairs. After each event the engine settles the cluster: bandwidth shares
first (``network.py``: they change step times), then clocks under the power cap
(``power.py``). Which job starts or grows on which racks is ``admission.py``'s decision (with
``placement.py``'s placement); what a job does when it loses a rack is ``recovery.py``'s; a
job's plan, step and checkpoint cadence come from ``planning.py``; the ledger (``ledger.py``)
records and builds the results. A job's events carry its ``version`` and are dropped when
the job's state moved on since they were scheduled. Cost: O(1) per event plus what the
collaborators say they cost; no per-GPU or per-step work.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator

import numpy as np
import simpy

from colossus_sim.cluster import FREE, ClusterState, IntArray
from colossus_sim.config.reliability import FailureDomain
from colossus_sim.config.scenario import PlacementPolicy
from colossus_sim.fabric import LIMIT_NAMES, JobBandwidth
from colossus_sim.kinds import ACTIVE, EventKind, JobStatus, RestartCause
from colossus_sim.perf import power
from colossus_sim.results import RunResult
from colossus_sim.scenario import ResolvedScenario
from colossus_sim.sim import admission
from colossus_sim.sim import recovery as rec
from colossus_sim.sim.failures import Failure, FailureProcess, interrupts
from colossus_sim.sim.jobs import JobRun, jobs_of
from colossus_sim.sim.ledger import Ledger
from colossus_sim.sim.network import Network, SwitchFault
from colossus_sim.sim.placement import placement_for
from colossus_sim.sim.planning import Planner
from colossus_sim.sim.power import PowerController
from colossus_sim.units import SECONDS_PER_HOUR


class Simulation:
    """Runs one resolved scenario with one seed; ``run()`` returns the typed results."""

    def __init__(self, resolved: ResolvedScenario, seed: int | None = None) -> None:
        sc = resolved.scenario
        self.resolved = resolved
        self.seed = sc.seed if seed is None else seed
        self.env = simpy.Environment()
        self.cluster = ClusterState(resolved.cluster, len(resolved.jobs))
        self.jobs = jobs_of(resolved)
        site_gpus = self.cluster.racks * self.cluster.gpus_per_rack
        self.placement = placement_for(sc.scheduler.policy)
        self.spare_target = dict(sc.scheduler.spare_racks)
        self.planner = Planner(resolved, site_gpus, self.cluster.gpus_per_rack)
        self.failures = FailureProcess(resolved, np.random.default_rng(self.seed))
        self.power = PowerController(resolved, self.cluster)
        self.network = Network(resolved, self.seed, len(self.jobs))
        self.ledger = Ledger(len(self.jobs), self.cluster, self.power.pue, self.env)
        self.recovery = rec.RecoveryPolicyContext(
            cluster=self.cluster,
            placement=self.placement,
            planner=self.planner,
            jobs=self.jobs,
            priority_preemption=sc.scheduler.policy is PlacementPolicy.PRIORITY,
        )
        self.site_it_w = 0.0
        self.power_dirty = True
        self.done = self.env.event()

    # ------------------------------------------------------------------ run
    def run(self) -> RunResult:
        for gpu, target in self.spare_target.items():
            self.cluster.set_spare(admission.initial_spares(self.cluster, gpu, target))
        self.power.check_cap(self.jobs, self.planner)
        for job in self.jobs:
            self.planner.check_interval(job, max(job.want_racks, job.setup.max_racks or 0))
        for job in admission.by_priority(self.jobs):
            self._admit(job)
        self._settle()
        self.env.process(self._failure_loop())
        horizon = self.env.timeout(self.resolved.effective.horizon_s)
        self.env.run(until=self.done | horizon)
        self.ledger.advance_cluster(self.env.now, self.site_it_w)
        for job in self.jobs:
            self.ledger.bank_power(job, self.env.now)
            if job.status is not JobStatus.FINISHED:
                self._close(job, lose_work=False)
        return self.ledger.result(
            scenario=self.resolved.scenario.name,
            seed=self.seed,
            end_s=self.env.now,
            jobs=self.jobs,
            effective=self.resolved.effective,
            plan_for=self.planner.plan,
            restart_for=lambda job: self.planner.restart_summary(
                job, int(self.cluster.owned_count[job.index]) or job.first_racks
            ),
            error_at=self.resolved.error_at,
        )

    # ------------------------------------------------------------------ bookkeeping
    def _close(self, job: JobRun, *, lose_work: bool) -> None:
        """Charge ``job``'s racks for its current status since it began; apply lost work."""
        gpus = int(self.cluster.owned_count[job.index]) * self.cluster.gpus_per_rack
        book = self.ledger.books[job.index].gpu_s
        for state, gpu_s in job.close_stretch(self.env.now, gpus, lose_work=lose_work):
            book[state] += gpu_s
        job.since_s = self.env.now
        job.version += 1  # any event scheduled for the old status is now stale
        self.power_dirty = True  # its status (and so its draw) is about to change

    def _schedule(self, delay: float, job: JobRun, action: Callable[[JobRun], None]) -> None:
        version = job.version
        event = self.env.timeout(max(delay, 0.0))
        event.callbacks.append(lambda _ev: self._if_current(job, version, action))

    def _if_current(self, job: JobRun, version: int, action: Callable[[JobRun], None]) -> None:
        if job.version == version:
            self.ledger.advance_cluster(self.env.now, self.site_it_w)
            action(job)
            self._settle()

    def _schedule_finish(self, job: JobRun) -> None:
        """(Re)schedule the end of the token budget at the current rate."""
        self._schedule(job.finish_at_s() - self.env.now, job, self._finish)

    # ------------------------------------------------------------------ job transitions
    def _run(self, job: JobRun) -> None:
        """Start (or resume) training: schedule the finish at the analytic completion time."""
        assert job.step is not None
        job.status = JobStatus.RUNNING
        job.since_s = self.env.now
        self.power_dirty = True
        job.rate_mark_s = self.env.now
        job.stretch_tokens = 0.0
        cadence = self.planner.checkpoint_cadence(job, int(self.cluster.owned_count[job.index]))
        job.cadence = cadence
        job.blocking_s, job.durable_s, job.interval_s = cadence[:3]
        self._schedule_finish(job)

    def _restart(self, job: JobRun, cause: RestartCause, detail: str = "") -> None:
        job.status = JobStatus.RESTARTING
        job.since_s = self.env.now
        job.restarts += 1
        self.ledger.log(EventKind.RESTART, job, detail=detail or cause.value)
        racks = int(self.cluster.owned_count[job.index])
        self._schedule(
            self.planner.restart_s(job, racks, detected=cause.detected), job, self._restart_done
        )

    def _restart_done(self, job: JobRun) -> None:
        self._close(job, lose_work=False)
        self._run(job)

    def _finish(self, job: JobRun) -> None:
        self._close(job, lose_work=False)
        job.tokens = job.budget_tokens
        job.status = JobStatus.FINISHED
        job.finish_s = self.env.now
        racks = self.cluster.racks_of(job.index)
        self.cluster.release(job.index, racks)
        self.ledger.log(EventKind.FINISH, job, detail=f"{len(racks)} racks freed")
        self._refill(job.gpu.name)
        if all(j.status is JobStatus.FINISHED for j in self.jobs):
            self.done.succeed()

    def _set_racks(self, job: JobRun, racks: int) -> None:
        """Re-plan ``job`` for ``racks`` racks (the deciding policy checked that it fits)."""
        step = self.planner.plan(job, racks)
        assert step is not None
        if job.step is not None and step.plan != job.step.plan:
            job.replans += 1
        job.flat_step = step
        job.step = self.planner.at_share(job, job.fabric_frac)
        job.phases = power.StepPhases.of(job.step.breakdown_s)
        self.power.forget(job)  # racks or plan changed: recompute the power curve when needed

    # ------------------------------------------------------------------ admission
    def _admit(self, job: JobRun) -> None:
        chosen = admission.start_racks(job, self.cluster, self.placement, self.planner)
        if chosen is None:
            return
        self._set_racks(job, len(chosen))
        self.cluster.take(job.index, chosen)
        job.first_step = job.first_step or job.step
        job.first_racks = job.first_racks or len(chosen)
        job.start_s = self.env.now if job.start_s is None else job.start_s
        self.ledger.log(EventKind.START, job, detail=f"{len(chosen)} racks")
        self._run(job)

    def _refill(self, gpu: str) -> None:
        """Hand free racks of ``gpu`` type out (``admission.py`` says to whom, in which order)."""
        spares = admission.spare_top_up(self.cluster, gpu, self.spare_target.get(gpu, 0))
        if spares is not None:
            self.cluster.set_spare(spares)
        order = admission.by_priority(j for j in self.jobs if j.gpu.name == gpu)
        owned = self.cluster.owned_count
        for job in order:  # 1. shrunk jobs back to the racks they asked for
            count = admission.regrow_count(job, int(owned[job.index]))
            if count > 0:
                self._grow(job, count)
        for job in order:  # 2. pending jobs, when their racks are all free
            if job.status is JobStatus.PENDING:
                self._admit(job)
        for job in order:  # 3. jobs allowed to grow beyond what they asked for
            count = admission.beyond_count(job, int(owned[job.index]))
            if count > 0:
                self._grow(job, count)

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

    # ------------------------------------------------------------------ failures and repairs
    def _failure_loop(self) -> Generator[simpy.Event, None, None]:
        for candidate in self.failures.candidates(self.cluster):
            yield self.env.timeout(candidate[0])
            failure = self.failures.accept(candidate, self.cluster)
            if failure is None:
                continue  # thinning: the drawn GPU is already broken
            self.ledger.advance_cluster(self.env.now, self.site_it_w)
            self._fail(failure)
            self._settle()

    def _fail(self, failure: Failure) -> None:
        rack = failure.rack
        self.ledger.failures += 1
        owner = int(self.cluster.owner[rack])
        job = self.jobs[owner] if owner != FREE else None
        interrupted = job if job is not None and job.status in ACTIVE else None
        if interrupted is not None and not interrupts(failure, interrupted.active_gpus):
            interrupted = None  # an idle hot-spare GPU (or tray): a repair, not an interruption
            self.ledger.spare_gpu_failures += 1
        if interrupted is not None:
            self._close(interrupted, lose_work=True)
            interrupted.failures += 1
        if failure.lost_gpus:
            self.cluster.change_health(rack, -failure.lost_gpus)
            event = self.env.timeout(failure.repair_h * SECONDS_PER_HOUR)
            event.callbacks.append(functools.partial(self._repair_event, rack, failure.lost_gpus))
        self.ledger.log(EventKind.FAILURE, job, rack, failure.cause)
        if failure.domain is FailureDomain.SWITCH:
            self._switch_fault(rack, failure.repair_h)
        if interrupted is None:
            return
        if self.cluster.healthy[rack] >= interrupted.active_gpus:
            self._restart(interrupted, RestartCause.FAILURE, failure.cause)
            return
        self._recover(interrupted, rack)

    def _recover(self, job: JobRun, bad: int) -> None:
        """Apply what ``recovery.py`` decides for ``job``, which lost rack ``bad``."""
        decision = rec.recover(self.recovery, job, bad)
        if isinstance(decision, rec.SwapSpare):
            self.cluster.replace(job.index, bad, decision.rack)
            self.ledger.log(EventKind.SWAP, job, decision.rack, f"spare replaces rack {bad}")
            self._restart(job, RestartCause.SPARE_SWAP)
        elif isinstance(decision, rec.TakeFromVictim):
            victim, taken = decision.victim, decision.rack
            owned = int(self.cluster.owned_count[victim.index])
            self._close(victim, lose_work=True)
            self.cluster.release(victim.index, np.array([taken], dtype=np.int64))
            self._set_racks(victim, owned - 1)
            self.ledger.log(EventKind.PREEMPT, victim, taken, f"rack given to {job.name}")
            self._restart(victim, RestartCause.PREEMPTED)
            self.cluster.replace(job.index, bad, taken)
            self._restart(job, RestartCause.RACK_FROM_LOWER_PRIORITY)
        elif isinstance(decision, rec.Shrink):
            self.cluster.release(job.index, np.array([bad], dtype=np.int64))
            self._set_racks(job, decision.racks)
            self.ledger.log(EventKind.SHRINK, job, bad, f"{decision.racks} racks")
            self._restart(job, RestartCause.SHRINK)
        else:
            job.status = JobStatus.STALLED
            job.since_s = self.env.now
            self.ledger.log(EventKind.STALL, job, bad, "waiting for repair")

    def _repair_event(self, rack: int, gpus: int, _event: simpy.Event) -> None:
        self.ledger.advance_cluster(self.env.now, self.site_it_w)
        self.ledger.repairs += 1
        self.cluster.change_health(rack, gpus)
        owner = int(self.cluster.owner[rack])
        self.ledger.log(EventKind.REPAIR, self.jobs[owner] if owner != FREE else None, rack)
        if owner != FREE:
            job = self.jobs[owner]
            racks: IntArray = self.cluster.racks_of(owner)
            if job.status is JobStatus.STALLED and np.all(
                self.cluster.healthy[racks] >= job.active_gpus
            ):
                self._close(job, lose_work=False)
                self._restart(job, RestartCause.REPAIRED)
        elif self.cluster.healthy[rack] == self.cluster.gpus_per_rack:
            self._refill(self.cluster.type_names[int(self.cluster.gpu_type[rack])])
        self._settle()

    def _switch_fault(self, rack: int, repair_h: float) -> None:
        fault = self.network.switch_for(rack)
        if fault is None:
            return
        self.network.set_switch(fault, broken=True)
        self.ledger.fabric_faults += 1
        detail = f"{fault.tier} switch {fault.index}"
        self.ledger.log(EventKind.FABRIC_FAULT, rack=rack, detail=detail)
        event = self.env.timeout(repair_h * SECONDS_PER_HOUR)
        event.callbacks.append(functools.partial(self._switch_repair, fault))

    def _switch_repair(self, fault: SwitchFault, _event: simpy.Event) -> None:
        self.ledger.advance_cluster(self.env.now, self.site_it_w)
        self.network.set_switch(fault, broken=False)
        self.ledger.log(EventKind.FABRIC_REPAIR, detail=f"{fault.tier} switch {fault.index}")
        self._settle()

    # ------------------------------------------------------------------ settling
    def _settle(self) -> None:
        """After an event: bandwidth shares first (they change step times), then power."""
        bw = self.network.shares(self.cluster)
        if bw is not None:
            self._apply_shares(bw)
        self._rebalance()

    def _apply_shares(self, bw: JobBandwidth) -> None:
        """Re-time the jobs whose bandwidth share changed."""
        for job in self.jobs:
            if job.flat_step is None or self.cluster.owned_count[job.index] == 0:
                continue
            frac = float(bw.frac[job.index])
            settled = job.fabric_first is not None or job.status is not JobStatus.RUNNING
            if settled and frac == job.fabric_frac and job.step_frac_of is job.flat_step:
                continue  # same plan, same share: its step stands
            wanted = self.planner.at_share(job, frac)
            job.step_frac_of = job.flat_step
            if job.fabric_first is None and job.status is JobStatus.RUNNING:
                job.fabric_first = self.network.describe(bw, job.index)
                job.first_step, job.first_flat_step = wanted, job.flat_step
            if wanted is job.step:
                continue
            if abs(frac - job.fabric_frac) >= 5e-4:  # a change the log's 0.1% can show
                limit = LIMIT_NAMES[int(bw.limit[job.index])]
                detail = f"bandwidth {job.fabric_frac:.1%} → {frac:.1%} ({limit})"
                self.ledger.log(EventKind.FABRIC, job, detail=detail)
            job.fabric_frac = frac
            job.fabric_min_frac = min(job.fabric_min_frac, frac)
            if job.status is JobStatus.RUNNING:
                job.bank_rate(self.env.now)
            job.step = wanted
            job.phases = power.StepPhases.of(wanted.breakdown_s)
            self.power.forget(job)
            self.power_dirty = True
            if job.status is JobStatus.RUNNING:
                job.version += 1
                self._schedule_finish(job)

    def _rebalance(self) -> None:
        """Apply the power controller's clocks and draws (only after a job changed status or
        racks), re-timing jobs whose clock moved; the ledger banks energy and samples."""
        if not self.power_dirty:
            return
        self.power_dirty = False
        now = self.env.now
        owned = self.cluster.owned_count.tolist()
        decision = self.power.decide(self.jobs, owned)
        for job in self.jobs:
            new_w = decision.draw_w[job.index]
            clock = decision.clock_of[job.index]
            if clock is None:  # not running: its racks draw idle power
                if new_w != job.it_w or job.throttled:
                    self.ledger.bank_power(job, now)
                    job.it_w = new_w
                    job.throttled = False
                continue
            if clock != job.clock:
                job.bank_rate(now)
                job.clock = clock
                job.min_clock = min(job.min_clock, clock)
                job.version += 1
                self._schedule_finish(job)
            if new_w != job.it_w or job.throttled != (clock < 1.0):
                self.ledger.bank_power(job, now)
                job.it_w = new_w
                job.throttled = clock < 1.0
                self.ledger.note_draw(job)
        self.site_it_w = decision.site_it_w
        self.ledger.sample(now, self.jobs, owned, decision.site_it_w, decision.swing_w)
