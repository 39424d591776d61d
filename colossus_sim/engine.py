"""The discrete-event engine: the jobs of a scenario sharing the cluster over time (simpy).

simpy only orders events; the physics is in ``perf/``. Events are failures (one
cluster-wide Poisson process, thinned: O(1) per failure), repairs, restart completions, job
finishes and the allocation changes they cause. Between events a job advances analytically:
its running stretch splits into compute and checkpoint blocking (``perf/reliability.py``)
and its tokens follow from its step time, re-planned only when its racks change. Pending
jobs wait in priority order for racks; finished jobs free theirs.

The fabric (``fabric.py``): after an event that moved racks or broke a fabric switch, each
job's share of its NIC bandwidth is recomputed from where its racks are (O(racks) numpy);
a job whose share changed is re-timed with its step at that share. A ``switch``-domain
failure interrupts the job behind it and takes one switch (its tier drawn from a separate
random stream, so turning the fabric off leaves a seed's failures unchanged) out until its
repair.

Accounting: at every instant each rack's 72 GPUs are in exactly one state — a job's
(productive, checkpoint, rework, restart, stalled) or the cluster's (idle, spare, repair) —
so GPU-hours by state add up to racks × 72 × hours.
"""

from __future__ import annotations

import collections
import functools
import math
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import simpy

from colossus_sim import fabric
from colossus_sim.cluster import FREE, ClusterState, IntArray
from colossus_sim.config.hardware import GpuSpec
from colossus_sim.config.load import load_gpu
from colossus_sim.config.reliability import FailureDomain
from colossus_sim.config.scenario import PlacementPolicy, RecoveryPolicy, ScenarioJob
from colossus_sim.config.workload import JobSpec, PlanFields
from colossus_sim.errors import ScenarioError
from colossus_sim.perf import power
from colossus_sim.perf import reliability as rel
from colossus_sim.perf.model_size import model_size
from colossus_sim.perf.plan_grid import RunSetup, job_setup
from colossus_sim.perf.planner import plan_job
from colossus_sim.perf.step_time import StepBreakdown, step_breakdown
from colossus_sim.results import (
    CLUSTER_STATES,
    JOB_STATES,
    RunResult,
)
from colossus_sim.scenario import ResolvedScenario
from colossus_sim.scheduler import placement_for
from colossus_sim.units import SECONDS_PER_DAY

SECONDS_PER_HOUR = 3600.0
#: A run with more failures (or candidate draws, most of them thinned) than this is refused as
#: bad input rather than left to grind: the default scenario has ~10k failures in ~60 days.
MAX_FAILURES = 100_000
MAX_FAILURE_DRAWS = 1_000_000


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
    flat_step: StepBreakdown | None = None
    first_flat_step: StepBreakdown | None = None
    """Its plan's step at full NIC bandwidth; ``step`` is at the fabric's share."""
    fabric_frac: float = 1.0
    step_frac_of: StepBreakdown | None = None
    """The full-bandwidth step ``step`` was derived from at ``fabric_frac``."""
    fabric_first: fabric.JobFabric | None = None
    fabric_min_frac: float = 1.0
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
    # Power: relative compute clock set by the controller, and what the job's racks draw.
    clock: float = 1.0
    min_clock: float = 1.0
    phases: power.StepPhases | None = None
    curve_w: npt.NDArray[np.float64] | None = None
    stretch_tokens: float = 0.0
    rate_mark_s: float = 0.0
    throttled_s: float = 0.0
    power_mark_s: float = 0.0
    throttled: bool = False
    it_w: float = 0.0
    racks_idle_w: float = 0.0
    full_extra_w: float = 0.0
    full_swing_w: float = 0.0
    peak_it_w: float = 0.0
    energy_j: float = 0.0

    @property
    def tokens_per_s(self) -> float:
        assert self.step is not None and self.phases is not None
        return self.step.tokens_per_step / self.phases.step_s(self.clock)

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
        self.failure_draws = 0
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
        site_power = resolved.cluster.power
        self.pue = site_power.pue
        self.network_w = site_power.network_w_per_gpu
        cap_mw = sc.power.facility_cap_mw or site_power.facility_cap_mw
        self.cap_mw = cap_mw
        self.cap_it_w = cap_mw * 1e6 / self.pue
        self.power_by_priority = sc.power.policy.value == "priority"
        self.rack_idle_w = {
            name: self.cluster.gpus_per_rack
            * (g.power.idle_w + g.power.host_overhead_w_per_gpu + self.network_w)
            for name, g in ((n, load_gpu(n)) for n in self.cluster.type_names)
        }
        self.type_racks = {
            name: int(np.count_nonzero(self.cluster.gpu_type == i))
            for i, name in enumerate(self.cluster.type_names)
        }
        self.idle_baseline_w = sum(
            count * self.rack_idle_w[name] for name, count in self.type_racks.items()
        )
        self.site_it_w = 0.0
        self.power_dirty = True
        self.energy_it_j = 0.0
        self.power_samples: list[tuple[float, float, float]] = []
        self.job_samples: list[tuple[float, str, str, int, float, float]] = []
        self.job_last_sample: list[tuple[str, int, float, float] | None] = [None] * len(self.jobs)
        self.job_last_mark: list[tuple[int, int, float, float] | None] = [None] * len(self.jobs)
        self.peak_swing_w = 0.0
        self.fabric_dirty = True
        self.fabric_seen_changes = -1
        self.fabric_rings: fabric.Rings | None = None
        self.fabric_faults = 0
        self.fabric: fabric.FabricState | None = None
        if sc.fabric.enabled:
            self.fabric = fabric.FabricState(fabric.site_layout(resolved.cluster, sc.fabric))
        self.fabric_rng = np.random.default_rng([self.seed, 1])
        self.switch_faults = self.fabric is not None and sc.fabric.faults
        self.switch_tier_cum = np.zeros(0)
        if self.fabric is not None:
            self.switch_tier_cum = np.cumsum(self.fabric.switches / self.fabric.switches.sum())
        self.step_cache: dict[tuple[str, int, str, float], StepBreakdown] = {}

    # ------------------------------------------------------------------ bookkeeping
    def _log(self, kind: str, job: JobRun | None = None, rack: int = -1, detail: str = "") -> None:
        self.timeline.append(
            (self.env.now / SECONDS_PER_HOUR, kind, job.name if job else "", rack, detail)
        )

    def _advance_cluster(self) -> None:
        """Charge the time since the last event: racks no job owns, and energy at the power
        drawn since then (constant between events)."""
        dt = self.env.now - self.cluster_clock_s
        if dt > 0:
            idle, spare, repair = self.cluster.state_counts()
            gpus = self.cluster.gpus_per_rack
            self.cluster_gpu_s["idle"] += idle * gpus * dt
            self.cluster_gpu_s["spare"] += spare * gpus * dt
            self.cluster_gpu_s["repair"] += repair * gpus * dt
            self.energy_it_j += self.site_it_w * dt
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
            earned = self._stretch_tokens(job)
            # Lost compute is valued at the current rate (clock changes inside the lost
            # window, at most one checkpoint interval, are not tracked apart).
            job.tokens = min(
                job.tokens + max(earned - lost * job.tokens_per_s, 0.0), job.budget_tokens
            )
        elif job.status is JobStatus.RESTARTING:
            job.gpu_s["restart"] += dur * gpus
        elif job.status is JobStatus.STALLED:
            job.gpu_s["stalled"] += dur * gpus
        job.since_s = now
        job.version += 1  # any event scheduled for the old status is now stale
        self.power_dirty = True  # its status (and so its draw) is about to change

    def _stretch_tokens(self, job: JobRun) -> float:
        """Tokens the current running stretch has earned so far (its rate changes with the
        clock; the checkpoint cycle runs on regardless)."""
        now_c = rel.cycle_split(self.env.now - job.since_s, job.interval_s, job.blocking_s)
        mark_c = rel.cycle_split(job.rate_mark_s - job.since_s, job.interval_s, job.blocking_s)
        return job.stretch_tokens + (now_c.compute_s - mark_c.compute_s) * job.tokens_per_s

    def _schedule_finish(self, job: JobRun) -> None:
        """(Re)schedule the end of the token budget at the current rate."""
        remaining = max(job.budget_tokens - job.tokens - job.stretch_tokens, 0.0)
        mark_c = rel.cycle_split(job.rate_mark_s - job.since_s, job.interval_s, job.blocking_s)
        target = mark_c.compute_s + remaining / job.tokens_per_s
        wall = rel.wall_time_for_compute(target, job.interval_s, job.blocking_s)
        self._schedule(job.since_s + wall - self.env.now, job, self._finish)

    # ------------------------------------------------------------------ power
    def _job_curve(self, job: JobRun) -> npt.NDArray[np.float64]:
        """The job's IT watts vs clock on its current racks and plan (cached until they change),
        with its racks' idle draw and its full-clock extra over idle."""
        assert job.step is not None and job.phases is not None
        if job.curve_w is None:
            racks = int(self.cluster.owned_count[job.index])
            job.curve_w = power.job_it_curve_w(
                job.gpu,
                job.phases,
                gpus_in_racks=racks * self.cluster.gpus_per_rack,
                training_gpus=job.step.gpus_used,
                network_w_per_gpu=self.network_w,
            )
            job.racks_idle_w = racks * self.rack_idle_w[job.gpu.name]
            job.full_extra_w = float(job.curve_w[-1]) - job.racks_idle_w
            job.full_swing_w = job.step.gpus_used * power.swing_w_per_gpu(job.gpu, 1.0)
        return job.curve_w

    def _rebalance(self) -> None:
        """After an event: choose clocks under the facility cap, re-time jobs whose clock
        moved, and record the site's power from now on. O(jobs) per event.

        Every rack draws its idle power unless a running job trains on it, so the site's IT
        draw is a constant idle baseline plus, per running job, its curve at its clock less
        its racks' idle draw.
        """
        if not self.power_dirty:
            return  # no job changed status or racks since the last balance
        self.power_dirty = False
        owned = self.cluster.owned_count.tolist()
        running = [j for j in self.jobs if j.status is JobStatus.RUNNING]
        curves = [self._job_curve(j) for j in running]
        full = self.idle_baseline_w
        for job in running:
            full += job.full_extra_w
        if full <= self.cap_it_w:
            clocks = [1.0] * len(running)
        else:
            clocks = power.solve_clocks(
                self.cap_it_w,
                self.idle_baseline_w - sum(j.racks_idle_w for j in running),
                curves,
                [j.setup.priority for j in running],
                by_priority=self.power_by_priority,
            )
        for job in self.jobs:
            if job.status is not JobStatus.RUNNING:
                new_w = owned[job.index] * self.rack_idle_w[job.gpu.name]
                if new_w != job.it_w or job.throttled:
                    self._bank_power(job)
                    job.it_w = new_w
        site = self.idle_baseline_w
        swing = 0.0
        for job, curve, clock in zip(running, curves, clocks, strict=True):
            if clock != job.clock:
                self._retime(job, clock)
            if clock == 1.0:
                new_w = float(curve[-1])
                swing += job.full_swing_w
            else:
                new_w = float(curve[int(np.searchsorted(power.CLOCK_GRID, clock))])
                assert job.step is not None
                swing += job.step.gpus_used * power.swing_w_per_gpu(job.gpu, clock)
            if new_w != job.it_w or job.throttled != (clock < 1.0):
                self._bank_power(job)
                job.it_w = new_w
                job.throttled = clock < 1.0
                job.peak_it_w = max(job.peak_it_w, new_w)
            site += new_w - job.racks_idle_w
        self.peak_swing_w = max(self.peak_swing_w, swing)
        self.site_it_w = site
        self._sample_jobs(owned)
        if not self.power_samples or self.power_samples[-1][1] != site / 1e6:
            self.power_samples.append(
                (self.env.now / SECONDS_PER_HOUR, site / 1e6, site * self.pue / 1e6)
            )

    def _sample_jobs(self, owned: list[int]) -> None:
        """Record each job whose status, racks or step time changed since its last row."""
        now_h = self.env.now / SECONDS_PER_HOUR
        for job in self.jobs:
            mark = (job.version, owned[job.index], job.fabric_frac, job.clock)
            if mark == self.job_last_mark[job.index]:
                continue  # nothing that sets its row moved since it was last looked at
            self.job_last_mark[job.index] = mark
            running = job.status is JobStatus.RUNNING and job.phases is not None
            step_s = job.phases.step_s(job.clock) if running and job.phases else 0.0
            state = (job.status.value, owned[job.index], step_s, job.fabric_frac)
            if state != self.job_last_sample[job.index]:
                self.job_last_sample[job.index] = state
                self.job_samples.append((now_h, job.name, *state))

    def _bank_power(self, job: JobRun) -> None:
        """Charge ``job`` the energy (and throttled time) of its draw since the last change."""
        dt = self.env.now - job.power_mark_s
        if dt > 0:
            job.energy_j += job.it_w * dt
            if job.throttled:
                job.throttled_s += dt
        job.power_mark_s = self.env.now
        job.throttled = False

    def _retime(self, job: JobRun, clock: float) -> None:
        """A new clock for a running job: bank its tokens so far, then move its finish."""
        self._bank_rate(job)
        job.clock = clock
        job.min_clock = min(job.min_clock, clock)
        job.version += 1
        self._schedule_finish(job)

    def _bank_rate(self, job: JobRun) -> None:
        """Bank the tokens of the running stretch so far before its rate changes."""
        job.stretch_tokens = self._stretch_tokens(job)
        job.rate_mark_s = self.env.now

    # ------------------------------------------------------------------ fabric
    def _settle(self) -> None:
        """After an event: bandwidth shares first (they change step times), then power."""
        self._refabric()
        self._rebalance()

    def _fabric_step(self, job: JobRun, frac: float) -> StepBreakdown:
        """``job``'s plan on its racks with its NICs at ``frac`` of full bandwidth (cached)."""
        assert job.flat_step is not None
        if frac == 1.0:
            return job.flat_step
        plan = job.flat_step.plan
        racks = job.flat_step.gpus // job.active_gpus
        key = (job.name, racks, plan.model_dump_json(), frac)
        step = self.step_cache.get(key)
        if step is None:
            step = step_breakdown(self._setup(job, racks, frac), plan)
            self.step_cache[key] = step
        return step

    def _refabric(self) -> None:
        """Recompute every job's bandwidth share if racks moved or a switch broke; re-time
        the jobs whose share changed. O(racks) numpy plus O(jobs × links)."""
        if self.fabric is None:
            return
        moved = self.cluster.allocation_changes != self.fabric_seen_changes
        if not (self.fabric_dirty or moved):
            return
        self.fabric_dirty = False
        if moved or self.fabric_rings is None:
            self.fabric_seen_changes = self.cluster.allocation_changes
            self._update_rings()
        assert self.fabric_rings is not None
        bw = self.fabric.bandwidth(self.fabric_rings)
        for job in self.jobs:
            if job.flat_step is None or self.cluster.owned_count[job.index] == 0:
                continue
            frac = float(bw.frac[job.index])
            settled = job.fabric_first is not None or job.status is not JobStatus.RUNNING
            if settled and frac == job.fabric_frac and job.step_frac_of is job.flat_step:
                continue  # same plan, same share: its step stands
            wanted = self._fabric_step(job, frac)
            job.step_frac_of = job.flat_step
            if job.fabric_first is None and job.status is JobStatus.RUNNING:
                job.fabric_first = bw.of(job.index, self.fabric.layout.spec)
                job.first_step, job.first_flat_step = wanted, job.flat_step
            if wanted is job.step:
                continue
            if abs(frac - job.fabric_frac) >= 5e-4:  # a change the log's 0.1% can show
                self._log(
                    "fabric",
                    job,
                    detail=f"bandwidth {job.fabric_frac:.1%} → {frac:.1%} "
                    f"({fabric.LIMIT_NAMES[int(bw.limit[job.index])]})",
                )
            job.fabric_frac = frac
            job.fabric_min_frac = min(job.fabric_min_frac, frac)
            if job.status is JobStatus.RUNNING:
                self._bank_rate(job)
            job.step = wanted
            job.phases = power.StepPhases.of(wanted.breakdown_s)
            job.curve_w = None
            self.power_dirty = True
            if job.status is JobStatus.RUNNING:
                job.version += 1
                self._schedule_finish(job)

    def _update_rings(self) -> None:
        """Rebuild the rings of jobs whose racks moved; patch the two hops of a replaced
        rack in place (the common case: a spare swap)."""
        assert self.fabric is not None
        cluster = self.cluster
        changed = set(cluster.changed_jobs)
        replacements = list(cluster.replacements)
        cluster.changed_jobs.clear()
        cluster.replacements.clear()
        rings = self.fabric_rings
        if rings is None:
            self.fabric_rings = self.fabric.rings(cluster.owner, cluster.rank_key, len(self.jobs))
            return
        per_job = collections.Counter(job for job, _, _ in replacements)
        for job, lost, new in replacements:
            if job in changed or per_job[job] > 1:
                changed.add(job)  # other moves too: rebuild the job's ring whole
                continue
            rings = self.fabric.replaced(rings, cluster.owner, cluster.rank_key, job, lost, new)
        self.fabric_rings = self.fabric.rings(
            cluster.owner,
            cluster.rank_key,
            len(self.jobs),
            changed=np.array(sorted(changed), dtype=np.int64),
            previous=rings,
        )

    def _switch_fault(self, rack: int, repair_h: float) -> None:
        """A network failure on ``rack`` takes out one switch on its path until the repair:
        its block's leaf, its pod's spine or a core switch, the tier drawn in proportion to
        the switches in each (from the fabric's own random stream)."""
        if self.fabric is None or not self.switch_faults:
            return
        u = self.fabric_rng.random()
        last = len(fabric.SWITCH_TIERS) - 1
        tier_i = min(int(np.searchsorted(self.switch_tier_cum, u, side="right")), last)
        layout = self.fabric.layout
        index = (int(layout.rack_block[rack]), int(layout.rack_pod[rack]), 0)[tier_i]
        tier = fabric.SWITCH_TIERS[tier_i]
        self.fabric.fail(tier, index)
        self.fabric_faults += 1
        self.fabric_dirty = True
        self._log("fabric_fault", rack=rack, detail=f"{tier} switch {index}")
        event = self.env.timeout(repair_h * SECONDS_PER_HOUR)
        event.callbacks.append(functools.partial(self._fabric_repair, tier, index))

    def _fabric_repair(self, tier: str, index: int, _event: simpy.Event) -> None:
        assert self.fabric is not None
        self._advance_cluster()
        self.fabric.fail(tier, index, delta=-1)
        self.fabric_dirty = True
        self._log("fabric_repair", detail=f"{tier} switch {index}")
        self._settle()

    # ------------------------------------------------------------------ planning
    def _setup(self, job: JobRun, racks: int, scale_out_frac: float = 1.0) -> RunSetup:
        return job_setup(
            arch=job.spec.arch,
            training=job.spec.training,
            software=job.spec.software,
            gpu=job.gpu,
            consts=self.resolved.consts,
            racks=racks,
            active_gpus_per_rack=job.active_gpus,
            scale_out_frac=scale_out_frac,
        )

    def _plan(self, job: JobRun, racks: int) -> StepBreakdown | None:
        """Step breakdown of ``job`` on ``racks`` racks: keep the model-parallel layout and
        re-plan data parallelism; search afresh if that no longer fits. None if nothing does."""
        fixed = PlanFields()
        if job.step is not None:
            fixed = PlanFields(**job.step.plan.model_dump(exclude={"dp"}))
        key = (job.name, racks, fixed.model_dump_json())
        if key in self.plan_cache:
            return self.plan_cache[key]
        setup = self._setup(job, racks)
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
            self._settle()

    def _run(self, job: JobRun) -> None:
        """Start (or resume) training: schedule the finish at the analytic completion time."""
        assert job.step is not None
        job.status = JobStatus.RUNNING
        job.since_s = self.env.now
        self.power_dirty = True
        job.rate_mark_s = self.env.now
        job.stretch_tokens = 0.0
        self._checkpoint_params(job)
        self._schedule_finish(job)

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
        job.flat_step = step
        job.step = self._fabric_step(job, job.fabric_frac)
        job.phases = power.StepPhases.of(job.step.breakdown_s)
        job.curve_w = None  # racks or plan changed: recompute the power curve when needed
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
        active = (JobStatus.RUNNING, JobStatus.RESTARTING)
        for job in by_priority:  # 1. shrunk jobs back to the racks they asked for
            owned = int(self.cluster.owned_count[job.index])
            if job.status in active and owned < job.want_racks:
                self._grow(job, job.want_racks - owned)
        for job in by_priority:  # 2. pending jobs, when their racks are all free
            if job.status is JobStatus.PENDING:
                self._admit(job)
        for job in by_priority:  # 3. jobs allowed to grow beyond what they asked for
            owned = int(self.cluster.owned_count[job.index])
            limit = job.setup.max_racks or 0
            if job.status in active and owned < limit:
                self._grow(job, limit - owned)

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
            self.failure_draws += batch
            if self.failures > MAX_FAILURES or self.failure_draws > MAX_FAILURE_DRAWS:
                raise self.resolved.error_at(
                    "failures.rate_multiplier",
                    f"more than {MAX_FAILURES:,} failures before the jobs finish or the horizon "
                    "ends: too many events to simulate",
                    got=f"{self.resolved.scenario.failures.rate_multiplier:g}",
                    expected="a lower rate_multiplier or a shorter horizon_days",
                )
            for i in range(batch):
                yield self.env.timeout(float(gaps[i]))
                rack = int(racks[i])
                if slots[i] >= self.cluster.healthy[rack]:
                    continue  # thinning: the drawn GPU is already broken
                self._advance_cluster()
                self._fail(rack, int(causes[i]), float(repairs[i]))
                self._settle()

    def _fail(self, rack: int, cause: int, repair_h: float) -> None:
        self.failures += 1
        domain = self.cause_domain[cause]
        lost_gpus = {
            FailureDomain.GPU: 1,
            FailureDomain.TRAY: self.tray_gpus,
            FailureDomain.RACK: int(self.cluster.healthy[rack]),
            FailureDomain.SWITCH: 0,
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
        if domain is FailureDomain.SWITCH:
            self._switch_fault(rack, repair_h)
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
                swap = self.placement.replacement(self.cluster, spares, bad)
                self.cluster.replace(job.index, bad, int(swap[0]))
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
            self.cluster.replace(job.index, bad, int(taken[0]))
            self._restart(job, "rack from lower priority")
            return True
        return False

    def _repair_event(self, rack: int, gpus: int, _event: simpy.Event) -> None:
        self._repair(rack, gpus)
        self._settle()

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
        self._check_power_cap()
        for job in sorted(self.jobs, key=lambda j: (-j.setup.priority, j.index)):
            self._admit(job)
        self._settle()
        self.env.process(self._failure_process())
        horizon = self.env.timeout(self.horizon_s)
        self.env.run(until=self.done | horizon)
        self._advance_cluster()
        for job in self.jobs:
            self._bank_power(job)
            if job.status is not JobStatus.FINISHED:
                self._close(job, lose_work=False)
        return self._results()

    def _check_power_cap(self) -> None:
        """Refuse a cap the site cannot meet even with every job running at its lowest clock."""
        worst_w = 0.0
        racks_used = 0
        for job in self.jobs:
            racks = max(job.want_racks, job.setup.max_racks or 0)
            step = self._plan(job, racks)
            if step is None:
                continue
            racks_used += racks
            curve = power.job_it_curve_w(
                job.gpu,
                power.StepPhases.of(step.breakdown_s),
                gpus_in_racks=racks * self.cluster.gpus_per_rack,
                training_gpus=step.gpus_used,
                network_w_per_gpu=self.network_w,
            )
            worst_w += float(curve[0])
        idle_racks = max(self.cluster.racks - racks_used, 0)
        worst_w += idle_racks * min(self.rack_idle_w.values())
        floor_mw = power.facility_w(worst_w, self.pue) / 1e6
        if floor_mw > self.cap_mw:
            whose = (
                "the cap"
                if self.resolved.scenario.power.facility_cap_mw is not None
                else f"the cluster's cap (power.facility_cap_mw of {self.resolved.cluster.name})"
            )
            raise self.resolved.error_at(
                "power.facility_cap_mw",
                f"{whose} is below the {floor_mw:,.0f} MW the site draws with every job running "
                "at the lowest clock the controller may set",
                got=f"{self.cap_mw:,.0f} MW",
                expected=f"at least {floor_mw:,.0f} MW, or fewer racks in the jobs",
            )

    def _results(self) -> RunResult:
        from colossus_sim.results import build_results

        return build_results(self)
