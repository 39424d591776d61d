"""The discrete-event engine: the jobs of a scenario sharing the cluster over time (simpy).

simpy only orders events; the physics is in ``perf/``. Events are failures (one
cluster-wide Poisson process, thinned: O(1) per failure), repairs, restart completions, job
finishes and the allocation changes they cause. Between events a job advances analytically:
its running stretch splits into compute and checkpoint blocking (``perf/reliability.py``)
and its tokens follow from its step time, re-planned only when its racks change. Pending
jobs wait in priority order for racks; finished jobs free theirs.

Accounting: at every instant each rack's 72 GPUs are in exactly one state — a job's
(productive, checkpoint, rework, restart, stalled) or the cluster's (idle, spare, repair) —
so GPU-hours by state add up to racks × 72 × hours.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import simpy

from colossus_sim.cluster import FREE, ClusterState, IntArray
from colossus_sim.config.hardware import GpuSpec
from colossus_sim.config.reliability import FailureDomain
from colossus_sim.config.scenario import PlacementPolicy, RecoveryPolicy, ScenarioJob
from colossus_sim.config.workload import JobSpec, PlanFields
from colossus_sim.errors import ScenarioError
from colossus_sim.perf import reliability as rel
from colossus_sim.perf.model_size import model_size
from colossus_sim.perf.plan_grid import job_setup
from colossus_sim.perf.planner import plan_job
from colossus_sim.perf.step_time import StepBreakdown
from colossus_sim.results import (
    CLUSTER_STATES,
    JOB_STATES,
    RunResult,
)
from colossus_sim.scenario import ResolvedScenario
from colossus_sim.scheduler import placement_for
from colossus_sim.units import SECONDS_PER_DAY

SECONDS_PER_HOUR = 3600.0


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    RESTARTING = "restarting"
    STALLED = "stalled"
    FINISHED = "finished"


@dataclass
class JobRun:
    """One job's mutable state during a run (entity; the engine's handlers change it)."""

    index: int
    name: str
    spec: JobSpec
    setup: ScenarioJob
    gpu: GpuSpec
    params: float
    budget_tokens: float
    want_racks: int
    status: JobStatus = JobStatus.PENDING
    since_s: float = 0.0
    step: StepBreakdown | None = None
    first_step: StepBreakdown | None = None
    first_racks: int = 0
    tokens: float = 0.0
    interval_s: float = math.inf
    blocking_s: float = 0.0
    durable_s: float = 0.0
    version: int = 0
    failures: int = 0
    restarts: int = 0
    checkpoints: int = 0
    replans: int = 0
    start_s: float | None = None
    finish_s: float | None = None
    gpu_s: dict[str, float] = field(default_factory=lambda: dict.fromkeys(JOB_STATES, 0.0))

    @property
    def active_gpus(self) -> int:
        return self.spec.active_gpus_per_rack


class Simulation:
    """Runs one resolved scenario with one seed; ``run()`` returns the typed results."""

    def __init__(self, resolved: ResolvedScenario, seed: int | None = None) -> None:
        self.resolved = resolved
        sc = resolved.scenario
        self.seed = sc.seed if seed is None else seed
        self.rng = np.random.default_rng(self.seed)
        self.env = simpy.Environment()
        self.cluster = ClusterState(resolved.cluster, len(resolved.jobs))
        self.placement = placement_for(sc.scheduler.policy)
        self.priority_preemption = sc.scheduler.policy is PlacementPolicy.PRIORITY
        self.spare_target = dict(sc.scheduler.spare_racks)
        self.horizon_s = sc.horizon_days * SECONDS_PER_DAY
        self.restart_s = sc.checkpoint.restart_minutes * 60.0
        rel_spec = resolved.reliability
        self.rate_per_gpu_hour = (
            rel_spec.rate_per_gpu_hour * sc.failures.rate_multiplier if sc.failures.enabled else 0.0
        )
        causes = list(rel_spec.causes.items())
        counts = np.array([c.count for _, c in causes], dtype=np.float64)
        self.cause_names = [name for name, _ in causes]
        self.cause_p = counts / counts.sum() if counts.sum() > 0 else counts
        self.cause_domain = [c.domain for _, c in causes]
        self.cause_repair_h = [c.repair_hours * sc.failures.repair_multiplier for _, c in causes]
        self.tray_gpus = rel_spec.tray_gpus
        self.plan_cache: dict[tuple[str, int, str], StepBreakdown] = {}
        self.timeline: list[tuple[float, str, str, int, str]] = []
        self.cluster_gpu_s = dict.fromkeys(CLUSTER_STATES, 0.0)
        self.cluster_clock_s = 0.0
        self.failures = 0
        self.repairs = 0
        self.jobs = [
            JobRun(
                index=i,
                name=r.name,
                spec=r.spec,
                setup=sc.jobs[r.name],
                gpu=r.gpu,
                params=model_size(r.spec.arch).total,
                budget_tokens=float(r.spec.training.tokens or 0.0),
                want_racks=sc.jobs[r.name].racks,
            )
            for i, r in enumerate(resolved.jobs)
        ]
        self.done = self.env.event()

    # ------------------------------------------------------------------ bookkeeping
    def _log(self, kind: str, job: JobRun | None = None, rack: int = -1, detail: str = "") -> None:
        self.timeline.append(
            (self.env.now / SECONDS_PER_HOUR, kind, job.name if job else "", rack, detail)
        )

    def _advance_cluster(self) -> None:
        """Charge the racks no job owns for the time since the last event."""
        dt = self.env.now - self.cluster_clock_s
        if dt > 0:
            idle, spare, repair = self.cluster.state_counts()
            gpus = self.cluster.gpus_per_rack
            self.cluster_gpu_s["idle"] += idle * gpus * dt
            self.cluster_gpu_s["spare"] += spare * gpus * dt
            self.cluster_gpu_s["repair"] += repair * gpus * dt
        self.cluster_clock_s = self.env.now

    def _close(self, job: JobRun, *, lose_work: bool) -> None:
        """Charge ``job``'s racks for its current status since it began; apply lost work."""
        now = self.env.now
        dur = now - job.since_s
        gpus = int(self.cluster.owned_count[job.index]) * self.cluster.gpus_per_rack
        if job.status is JobStatus.RUNNING and job.step is not None:
            split = rel.cycle_split(dur, job.interval_s, job.blocking_s)
            lost = (
                rel.lost_compute_s(dur, job.interval_s, job.blocking_s, job.durable_s)
                if lose_work
                else 0.0
            )
            job.gpu_s["productive"] += (split.compute_s - lost) * gpus
            job.gpu_s["rework"] += lost * gpus
            job.gpu_s["checkpoint"] += split.blocked_s * gpus
            job.checkpoints += split.checkpoints
            tokens_per_s = job.step.tokens_per_step / job.step.step_s
            job.tokens = min(
                job.tokens + (split.compute_s - lost) * tokens_per_s, job.budget_tokens
            )
        elif job.status is JobStatus.RESTARTING:
            job.gpu_s["restart"] += dur * gpus
        elif job.status is JobStatus.STALLED:
            job.gpu_s["stalled"] += dur * gpus
        job.since_s = now
        job.version += 1  # any event scheduled for the old status is now stale

    # ------------------------------------------------------------------ planning
    def _plan(self, job: JobRun, racks: int) -> StepBreakdown | None:
        """Step breakdown of ``job`` on ``racks`` racks: keep the model-parallel layout and
        re-plan data parallelism; search afresh if that no longer fits. None if nothing does."""
        fixed = PlanFields()
        if job.step is not None:
            p = job.step.plan
            fixed = PlanFields(
                tp=p.tp,
                pp=p.pp,
                cp=p.cp,
                ep=p.ep,
                vp=p.vp,
                microbatch=p.microbatch,
                recompute=p.recompute,
            )
        key = (job.name, racks, fixed.model_dump_json())
        if key in self.plan_cache:
            return self.plan_cache[key]
        setup = job_setup(
            arch=job.spec.arch,
            training=job.spec.training,
            software=job.spec.software,
            gpu=job.gpu,
            consts=self.resolved.consts,
            racks=racks,
            active_gpus_per_rack=job.active_gpus,
        )
        result: StepBreakdown | None = None
        for attempt in (fixed, PlanFields()):
            try:
                result = plan_job(setup, attempt).best
                break
            except ScenarioError:
                continue
        if result is not None:
            self.plan_cache[key] = result
        return result

    def _checkpoint_params(self, job: JobRun) -> None:
        assert job.step is not None
        sc = self.resolved.scenario
        racks = int(self.cluster.owned_count[job.index])
        gpus = racks * self.cluster.gpus_per_rack
        site_gpus = self.cluster.racks * self.cluster.gpus_per_rack
        share = gpus / site_gpus
        cost = rel.checkpoint_cost(
            params=job.params,
            bytes_per_param=sc.checkpoint.bytes_per_param,
            gpus=racks * job.active_gpus,
            storage_bytes_per_s=rel.storage_bytes_per_s(sc.checkpoint.storage_tb_per_s) * share,
            host_copy_bytes_per_s=rel.host_copy_bytes_per_s(sc.checkpoint.host_copy_gb_per_s),
            asynchronous=sc.checkpoint.mode == "async",
        )
        mtbf = rel.job_mtbf_s(self.rate_per_gpu_hour, gpus)
        job.blocking_s = cost.blocking_s
        job.durable_s = cost.durable_after_s
        job.interval_s = rel.young_daly_interval_s(
            cost.blocking_s,
            mtbf,
            min_s=max(cost.durable_after_s, job.step.step_s),
            max_s=sc.checkpoint.max_interval_minutes * 60.0,
        )

    # ------------------------------------------------------------------ job transitions
    def _schedule(self, delay: float, job: JobRun, action: Callable[[JobRun], None]) -> None:
        version = job.version
        event = self.env.timeout(max(delay, 0.0))
        event.callbacks.append(lambda _ev: self._if_current(job, version, action))

    def _if_current(self, job: JobRun, version: int, action: Callable[[JobRun], None]) -> None:
        if job.version == version:
            self._advance_cluster()
            action(job)

    def _run(self, job: JobRun) -> None:
        """Start (or resume) training: schedule the finish at the analytic completion time."""
        assert job.step is not None
        job.status = JobStatus.RUNNING
        job.since_s = self.env.now
        self._checkpoint_params(job)
        remaining = max(job.budget_tokens - job.tokens, 0.0)
        compute_s = remaining / (job.step.tokens_per_step / job.step.step_s)
        wall = rel.wall_time_for_compute(compute_s, job.interval_s, job.blocking_s)
        self._schedule(wall, job, self._finish)

    def _restart(self, job: JobRun, reason: str) -> None:
        job.status = JobStatus.RESTARTING
        job.since_s = self.env.now
        job.restarts += 1
        self._log("restart", job, detail=reason)
        self._schedule(self.restart_s, job, self._restart_done)

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
        self._log("finish", job, detail=f"{len(racks)} racks freed")
        self._refill(job.gpu.name)
        if all(j.status is JobStatus.FINISHED for j in self.jobs):
            self.done.succeed()

    def _set_racks(self, job: JobRun, racks: int) -> bool:
        """Re-plan ``job`` for ``racks`` racks; False if the model cannot run on them."""
        step = self._plan(job, racks)
        if step is None:
            return False
        if job.step is not None and step.plan != job.step.plan:
            job.replans += 1
        job.step = step
        return True

    # ------------------------------------------------------------------ admission and racks
    def _admit(self, job: JobRun) -> bool:
        """Start a pending job if its racks are free; True if it started."""
        free = self.cluster.free_racks(job.gpu.name)
        if len(free) < job.want_racks:
            return False
        chosen = self.placement.choose(self.cluster, free, job.want_racks)
        if not self._set_racks(job, len(chosen)):
            return False
        self.cluster.take(job.index, chosen)
        job.first_step = job.first_step or job.step
        job.first_racks = job.first_racks or len(chosen)
        job.start_s = self.env.now if job.start_s is None else job.start_s
        self._log("start", job, detail=f"{len(chosen)} racks")
        self._run(job)
        return True

    def _refill(self, gpu: str) -> None:
        """Hand free racks of ``gpu`` type out: spare pool first, then shrunk jobs, then
        pending jobs in priority order, then jobs allowed to grow."""
        target = self.spare_target.get(gpu, 0)
        have = len(self.cluster.spare_racks(gpu, self.cluster.gpus_per_rack))
        if have < target:
            free = self.cluster.free_racks(gpu)
            self.cluster.set_spare(free[: target - have])
        by_priority = sorted(
            (j for j in self.jobs if j.gpu.name == gpu),
            key=lambda j: (-j.setup.priority, j.index),
        )
        for job in by_priority:
            if job.status in (JobStatus.RUNNING, JobStatus.RESTARTING):
                owned = int(self.cluster.owned_count[job.index])
                limit = max(job.want_racks, job.setup.max_racks or 0)
                if owned < limit:
                    self._grow(job, limit - owned)
            elif job.status is JobStatus.PENDING:
                self._admit(job)

    def _grow(self, job: JobRun, count: int) -> None:
        free = self.cluster.free_racks(job.gpu.name)
        if len(free) == 0:
            return
        extra = self.placement.choose(self.cluster, free, count)
        owned = int(self.cluster.owned_count[job.index])
        if self._plan(job, owned + len(extra)) is None:
            return
        self._close(job, lose_work=False)  # resized at a checkpoint boundary
        self.cluster.take(job.index, extra)
        self._set_racks(job, owned + len(extra))
        self._log("grow", job, detail=f"+{len(extra)} racks")
        self._restart(job, "grow")

    # ------------------------------------------------------------------ failures
    def _failure_process(self) -> Generator[simpy.Event, None, None]:
        """Candidate failures at the rate of a fully healthy cluster, thinned: a candidate that
        lands on an already-broken GPU is dropped. Random draws come in batches (same stream)."""
        gpus_total = self.cluster.racks * self.cluster.gpus_per_rack
        rate_per_s = self.rate_per_gpu_hour * gpus_total / SECONDS_PER_HOUR
        if rate_per_s <= 0:
            return
        cumulative = np.cumsum(self.cause_p)
        mean_repair_h = np.asarray(self.cause_repair_h, dtype=np.float64)
        batch = 4096
        while True:
            gaps = self.rng.exponential(1.0 / rate_per_s, batch)
            racks = self.rng.integers(self.cluster.racks, size=batch)
            slots = self.rng.integers(self.cluster.gpus_per_rack, size=batch)
            causes = np.minimum(
                np.searchsorted(cumulative, self.rng.random(batch), side="right"),
                len(cumulative) - 1,
            )
            repairs = self.rng.exponential(1.0, batch) * mean_repair_h[causes]
            for i in range(batch):
                yield self.env.timeout(float(gaps[i]))
                rack = int(racks[i])
                if slots[i] >= self.cluster.healthy[rack]:
                    continue  # thinning: the drawn GPU is already broken
                self._advance_cluster()
                self._fail(rack, int(causes[i]), float(repairs[i]))

    def _fail(self, rack: int, cause: int, repair_h: float) -> None:
        self.failures += 1
        domain = self.cause_domain[cause]
        lost_gpus = {
            FailureDomain.GPU: 1,
            FailureDomain.TRAY: self.tray_gpus,
            FailureDomain.RACK: int(self.cluster.healthy[rack]),
            FailureDomain.SOFTWARE: 0,
        }[domain]
        lost_gpus = min(lost_gpus, int(self.cluster.healthy[rack]))
        owner = int(self.cluster.owner[rack])
        job = self.jobs[owner] if owner != FREE else None
        if job is not None and job.status in (JobStatus.RUNNING, JobStatus.RESTARTING):
            self._close(job, lose_work=True)
            job.failures += 1
        if lost_gpus:
            self.cluster.change_health(rack, -lost_gpus)
            event = self.env.timeout(repair_h * SECONDS_PER_HOUR)
            event.callbacks.append(functools.partial(self._repair_event, rack, lost_gpus))
        self._log("failure", job, rack, self.cause_names[cause])
        if job is None or job.status not in (JobStatus.RUNNING, JobStatus.RESTARTING):
            return
        if self.cluster.healthy[rack] >= job.active_gpus:
            self._restart(job, self.cause_names[cause])
            return
        self._recover(job, rack)

    def _recover(self, job: JobRun, bad: int) -> None:
        """``job`` lost rack ``bad``: a spare, fewer racks, a preempted rack, or wait."""
        policy = job.setup.on_rack_loss
        gpu = job.gpu.name
        bad_racks = np.array([bad], dtype=np.int64)
        if policy in (RecoveryPolicy.SPARE_OR_SHRINK, RecoveryPolicy.SPARE_OR_WAIT):
            spares = self.cluster.spare_racks(gpu, job.active_gpus)
            if len(spares):
                swap = self.placement.choose(self.cluster, spares, 1)
                self.cluster.release(job.index, bad_racks)
                self.cluster.take(job.index, swap)
                self._log("swap", job, int(swap[0]), f"spare replaces rack {bad}")
                self._restart(job, "spare swap")
                return
        if self.priority_preemption and self._preempt_for(job, bad):
            return
        owned = int(self.cluster.owned_count[job.index])
        shrinkable = policy in (RecoveryPolicy.SPARE_OR_SHRINK, RecoveryPolicy.SHRINK)
        if shrinkable and owned > 1 and self._plan(job, owned - 1) is not None:
            self.cluster.release(job.index, bad_racks)
            self._set_racks(job, owned - 1)
            self._log("shrink", job, bad, f"{owned - 1} racks")
            self._restart(job, "shrink")
            return
        job.status = JobStatus.STALLED
        job.since_s = self.env.now
        self._log("stall", job, bad, "waiting for repair")

    def _preempt_for(self, job: JobRun, bad: int) -> bool:
        """Under ``priority``: take a rack from the lowest-priority job below ``job``."""
        victims = [
            j
            for j in self.jobs
            if j.gpu.name == job.gpu.name
            and j.setup.priority < job.setup.priority
            and j.status in (JobStatus.RUNNING, JobStatus.RESTARTING)
            and self.cluster.owned_count[j.index] > 1
        ]
        for victim in sorted(victims, key=lambda j: (j.setup.priority, -j.index)):
            owned = self.cluster.racks_of(victim.index)
            usable = owned[self.cluster.healthy[owned] >= job.active_gpus]
            if len(usable) == 0 or self._plan(victim, len(owned) - 1) is None:
                continue
            taken = usable[-1:]
            self._close(victim, lose_work=True)
            self.cluster.release(victim.index, taken)
            self._set_racks(victim, len(owned) - 1)
            self._log("preempt", victim, int(taken[0]), f"rack given to {job.name}")
            self._restart(victim, "preempted")
            self.cluster.release(job.index, np.array([bad], dtype=np.int64))
            self.cluster.take(job.index, taken)
            self._restart(job, "rack from lower priority")
            return True
        return False

    def _repair_event(self, rack: int, gpus: int, _event: simpy.Event) -> None:
        self._repair(rack, gpus)

    def _repair(self, rack: int, gpus: int) -> None:
        self._advance_cluster()
        self.repairs += 1
        self.cluster.change_health(rack, gpus)
        owner = int(self.cluster.owner[rack])
        self._log("repair", self.jobs[owner] if owner != FREE else None, rack)
        if owner != FREE:
            job = self.jobs[owner]
            racks: IntArray = self.cluster.racks_of(owner)
            if job.status is JobStatus.STALLED and np.all(
                self.cluster.healthy[racks] >= job.active_gpus
            ):
                self._close(job, lose_work=False)
                self._restart(job, "repaired")
        elif self.cluster.healthy[rack] == self.cluster.gpus_per_rack:
            self._refill(self.cluster.type_names[int(self.cluster.gpu_type[rack])])

    # ------------------------------------------------------------------ run
    def run(self) -> RunResult:
        for gpu, target in self.spare_target.items():
            free = self.cluster.free_racks(gpu)
            # Spares sit at the end of their GPU type's racks, after the jobs' blocks.
            self.cluster.set_spare(free[len(free) - min(target, len(free)) :])
        for job in sorted(self.jobs, key=lambda j: (-j.setup.priority, j.index)):
            self._admit(job)
        self.env.process(self._failure_process())
        horizon = self.env.timeout(self.horizon_s)
        self.env.run(until=self.done | horizon)
        self._advance_cluster()
        for job in self.jobs:
            if job.status is not JobStatus.FINISHED:
                self._close(job, lose_work=False)
        return self._results()

    def _results(self) -> RunResult:
        from colossus_sim.results import build_results

        return build_results(self)
