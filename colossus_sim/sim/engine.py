"""The engine: runs a scenario on the simpy clock — failures, repairs and switch faults as
events, what they do to the jobs (``recovery.py`` decides, the lifecycle applies) — and hands
the ledger's results back.

simpy orders the events: repairs, job submissions and finishes, switch repairs, stragglers.
The failure candidates (``failures.py``) and restart completions, most of a run's events, wait
in the inline queue (``inline.py``) and run between simpy's in the same time order. The job
lifecycle and the settling after each event (bandwidth, then power) are ``lifecycle.py``'s.
Cost: O(live jobs) per event plus what the collaborators say they cost; no per-GPU or
per-step work."""

from __future__ import annotations

import functools
from collections.abc import Generator

import numpy as np
import simpy

from colossus_sim.config.reliability import FailureDomain
from colossus_sim.kinds import ACTIVE, EventKind, JobStatus, RestartCause
from colossus_sim.results import RunResult
from colossus_sim.run_progress import Reporter, RunProgress, daily
from colossus_sim.sim import admission
from colossus_sim.sim import recovery as rec
from colossus_sim.sim.failures import Candidate, Failure, interrupts
from colossus_sim.sim.jobs import JobRun
from colossus_sim.sim.network import SwitchFault
from colossus_sim.sim.scheduling import Scheduling
from colossus_sim.sim.stragglers import StragglerProcess
from colossus_sim.units import SECONDS_PER_DAY, SECONDS_PER_HOUR


class Simulation(Scheduling):
    """Runs one resolved scenario with one seed; ``run()`` returns the typed results."""

    # ------------------------------------------------------------------ run
    def run(self) -> RunResult:
        for gpu, target in self.spare_target.items():
            self.cluster.set_spare(admission.initial_spares(self.cluster, gpu, target))
        for job in self.jobs:  # what can be refused before any simulated time
            self.planner.check_fits(job)
            self.planner.check_interval(job, max(job.want_racks, job.setup.max_racks or 0))
        self.power.check_cap(self.jobs, self.planner)
        for job, at_s in self.arrivals.initial():
            self._submit_at(job, at_s, refill=False)
        for gpu in self.cluster.type_names:
            self._refill(gpu)
        self._settle()
        self.candidates = self.failures.candidates(self.cluster)
        self._queue_candidate()
        spec = self.resolved.scenario.failures
        if spec.stragglers is not None and spec.enabled:
            stragglers = StragglerProcess(
                spec.stragglers,
                racks=self.cluster.racks,
                gpus_per_rack=self.cluster.gpus_per_rack,
                seed=self.seed,
            )
            self.env.process(self._straggler_loop(stragglers))
        horizon = self.env.timeout(self.resolved.effective.horizon_s)
        self.env.run(until=self.done | horizon)
        self._advance()
        for job in self.jobs:
            if job.slow_stragglers:  # still slowed at the end
                job.bank_slowed(self.env.now)
        if (lemons := self.failures.lemons) is not None:
            self.ledger.lemons = (lemons.count, lemons.accepted, lemons.found_count)
        for job in self.jobs:
            self.ledger.bank_power(job, self.env.now)
            if job.status is not JobStatus.FINISHED:
                self._close(job, lose_work=False)
        for report in self.watchers:
            report(RunProgress(int(self.env.now // SECONDS_PER_DAY), *self._progress()))
        return self.ledger.result(
            scenario=self.resolved.scenario.name,
            what_if=list(self.resolved.overrides),
            seed=self.seed,
            end_s=self.env.now,
            jobs=self.jobs,
            effective=self.resolved.effective,
            plan_for=self.planner.plan,
            restart_for=self._restart_summary,
            storage_peak_bytes_per_s=self.storage.peak_bytes_per_s,
        )

    def watch(self, report: Reporter) -> None:
        """Tell ``report`` how far the run has got: once per simulated day, and at its end
        (``run_progress.py``; it changes nothing in the run)."""
        self.ledger.listeners.append(daily(report, self._progress))
        self.watchers.append(report)

    def _progress(self) -> tuple[int, int, int]:
        """Jobs finished, jobs, failures so far."""
        return len(self.jobs) - self.unfinished, len(self.jobs), self.ledger.failures

    def _restart_summary(self, job: JobRun) -> tuple[float, dict[str, float]]:
        """What a restart after a failure takes ``job``: as its last did (or, if it never
        restarted, as one would beside the jobs running at the end)."""
        racks = int(self.cluster.owned_count[job.index]) or job.first_racks
        if job.step is None or racks == 0:
            return 0.0, {}  # it never ran
        read_bytes_per_s = job.read_bytes_per_s or self.storage.read_bytes_per_s(
            job, racks * job.active_gpus
        )
        return self.planner.restart_summary(job, racks, read_bytes_per_s)

    # ------------------------------------------------------------------ failures and repairs
    def _queue_candidate(self) -> None:
        """Queue the next candidate failure (inline: ``inline.py``), its gap after now."""
        candidate = next(self.candidates, None)
        if candidate is not None:
            at_s = self.env.now + candidate[0]
            self.inline.at(at_s, functools.partial(self._candidate, candidate))

    def _candidate(self, candidate: Candidate) -> None:
        self._apply_due_repairs()  # before the drawn GPU's health is read
        failure = self.failures.accept(candidate, self.cluster)
        if failure is not None:  # else thinned: the drawn GPU is already broken
            self.ledger.advance_cluster(self.env.now, self.site_it_w)
            self._fail(failure)
            self._settle()
        self._queue_candidate()

    def _fail(self, failure: Failure) -> None:
        rack = failure.rack
        self.ledger.failures += 1
        job = self._holder(rack)
        interrupted = job if job is not None and job.status in ACTIVE else None
        lost_stop = None  # a job whose stop checkpoint (preemption) the failure takes
        if job is not None and job.status is JobStatus.STOPPING:
            lost_stop = job if interrupts(failure, job.active_gpus) else None
        if interrupted is not None and not interrupts(failure, interrupted.active_gpus):
            interrupted = None  # an idle hot-spare GPU (or tray): a repair, not an interruption
            self.ledger.spare_gpu_failures += 1
        drop = interrupted is not None and rec.drops_replica(
            interrupted, int(self.cluster.healthy[rack]) - failure.lost_gpus
        )
        power_dirty = self.power_dirty
        restarting = interrupted is not None and interrupted.status is JobStatus.RESTARTING
        if interrupted is not None:
            copy_lost = rec.takes_snapshot_copy(self.recovery, interrupted, failure.domain)
            self._close(interrupted, lose_work=True, in_flight_only=drop, copy_lost=copy_lost)
            interrupted.from_storage = interrupted.from_storage or copy_lost
            interrupted.failures += 1
        if failure.lost_gpus:
            self.cluster.change_health(rack, -failure.lost_gpus)
            self._repair_later(job, rack, failure.lost_gpus, failure.repair_h * SECONDS_PER_HOUR)
        self.ledger.log(EventKind.FAILURE, job, rack, failure.cause)
        if failure.domain is FailureDomain.SWITCH:
            self._switch_fault(rack, failure.repair_h)
        if lost_stop is not None:
            lost_stop.failures += 1
            self._stop_failed(lost_stop)  # the failure took its stop checkpoint's write
        if interrupted is None:
            return
        if drop:
            self._drop_replica(interrupted, failure.cause)
            return
        if self.cluster.healthy[rack] >= interrupted.active_gpus:
            self._restart(interrupted, RestartCause.FAILURE, failure.cause)
            if restarting:  # a restart started again on the same racks: the draw stands
                self.power_dirty = power_dirty
                if not power_dirty:
                    self.power_touched.clear()
            return
        self._recover(interrupted, rack)

    def _straggler_loop(self, process: StragglerProcess) -> Generator[simpy.Event, None, None]:
        for gap_s, rack in process.onsets():
            yield self.env.timeout(gap_s)
            self._advance()
            self._straggle(process, rack)
            self._settle()

    def _straggle(self, process: StragglerProcess, rack: int) -> None:
        """A tray of ``rack`` turns slow: the job training there runs slowed until it is found
        (``stragglers.py``)."""
        self.ledger.stragglers += 1
        job = self._holder(rack)
        if job is None or job.status not in ACTIVE:
            return  # the site's health checks find it before a job trains there
        job.stragglers += 1
        self.ledger.log(EventKind.STRAGGLER, job, rack, f"{process.slow_factor:g}× slower")
        if not job.slow_stragglers:
            job.slow_since_s = self.env.now
            running = job.status is JobStatus.RUNNING
            if running:
                job.bank_rate(self.env.now)
            job.slow = process.slow_factor
            if running:
                job.version += 1
                self._schedule_finish(job)
        job.slow_stragglers += 1
        self._later(process.found_after_s, functools.partial(self._straggler_found, job))

    def _straggler_found(self, job: JobRun) -> None:
        """A straggler of ``job`` is found: the job restarts with the tray swapped out (and
        runs at full speed again once none is left)."""
        job.slow_stragglers -= 1
        if not job.slow_stragglers:
            job.bank_slowed(self.env.now)
        if job.status in ACTIVE:
            self._close(job, lose_work=False)  # drained at a checkpoint: nothing lost
            job.slow = job.slow if job.slow_stragglers else 1.0
            self._restart(job, RestartCause.STRAGGLER_DRAINED)
        elif not job.slow_stragglers:
            job.slow = 1.0

    def _drop_replica(self, job: JobRun, cause: str) -> None:
        """The replica holding the failed GPU leaves; the others pause to notice, then go on
        narrower; the replica rejoins once the rack's spare GPU has the state."""
        job.replicas_out += 1
        job.replica_drops += 1
        self.ledger.log(EventKind.DROP_REPLICA, job, detail=f"{cause}: {job.replicas_out} out")
        job.status = JobStatus.RESTARTING
        job.since_s = self.env.now
        pause_s, rejoin_s = self.planner.replica_drop_s(job)
        self._schedule(pause_s, job, self._restart_done)
        rejoin = functools.partial(self._rejoin, job, job.drop_epoch)
        self._later(pause_s + rejoin_s, rejoin)

    def _rejoin(self, job: JobRun, epoch: int) -> None:
        if job.drop_epoch != epoch or not job.replicas_out or job.status is JobStatus.FINISHED:
            return  # a global restart brought it back already, or the job is done
        running = job.status is JobStatus.RUNNING
        if running:
            self._close(job, lose_work=False)
        job.replicas_out -= 1
        self.ledger.log(EventKind.REJOIN, job, detail=f"{job.replicas_out} out")
        if running:
            self._run(job)

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
            self.recheck_repairs = True  # its pending repairs must now be events
            self.ledger.log(EventKind.STALL, job, bad, "waiting for repair")

    def _switch_fault(self, rack: int, repair_h: float) -> None:
        fault = self.network.switch_for(rack)
        if fault is None:
            return
        self.network.set_switch(fault, broken=True)
        self.ledger.fabric_faults += 1
        detail = f"{fault.tier} switch {fault.index}"
        self.ledger.log(EventKind.FABRIC_FAULT, rack=rack, detail=detail)
        self._later(repair_h * SECONDS_PER_HOUR, functools.partial(self._switch_repaired, fault))

    def _switch_repaired(self, fault: SwitchFault) -> None:
        self.network.set_switch(fault, broken=False)
        self.ledger.log(EventKind.FABRIC_REPAIR, detail=f"{fault.tier} switch {fault.index}")
