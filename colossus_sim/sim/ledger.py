"""The ledger: what a run records, and the typed results it builds from that record alone.

It keeps the timeline (one row per event), GPU-seconds by state — per job while a job holds
racks, per cluster state (idle, spare, repair) for racks no job holds — energy (the site's,
charged between events at the draw in force; each job's, banked when its draw changes), the
site's power and each job's status/racks/step over time (a row per change), and counts of
failures, repairs and switch faults. At every instant each rack's GPUs are in exactly one
state, so GPU-hours by state add up to racks × GPUs per rack × hours.

The engine tells the ledger what happened; the ledger never decides anything, and the results
are built from its record and the jobs' public state, never from the engine's attributes (the
model does not format its own output). Cost: O(1) per record, O(jobs + rows) to build results.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import colossus_sim
from colossus_sim.cluster import ClusterState
from colossus_sim.effective import EffectiveValues
from colossus_sim.grid_results import PowerSeries
from colossus_sim.kinds import EventKind, JobStatus
from colossus_sim.perf import power
from colossus_sim.perf.oscillation import PulseTrain
from colossus_sim.perf.step_time import StepBreakdown
from colossus_sim.results import (
    CLUSTER_GPU_STATES,
    JOB_GPU_STATES,
    ClusterResult,
    GpuState,
    IdleReason,
    JobResult,
    JobSeries,
    RunResult,
    Timeline,
)
from colossus_sim.sim import grid_report, job_figures
from colossus_sim.sim.jobs import JobRun
from colossus_sim.sim.power import PowerDecision
from colossus_sim.sim.ramps import PowerBook, pulse_trains
from colossus_sim.units import (
    BYTES_PER_PB,
    BYTES_PER_TB,
    J_PER_MWH,
    SECONDS_PER_DAY,
    SECONDS_PER_HOUR,
    TOKENS_PER_TRILLION,
    W_PER_MW,
)

TimelineRow = tuple[float, str, str, int, str]
"""(hours, event kind, job name or "", rack or -1, detail)."""
_IDLE, _SPARE, _REPAIR = GpuState.IDLE, GpuState.SPARE, GpuState.REPAIR


class Clock(Protocol):
    """What the ledger reads the simulated time from (simpy's ``Environment``)."""

    @property
    def now(self) -> float: ...


@dataclass
class JobBook:
    """What one job's racks spent: GPU-seconds by state, energy, throttled time."""

    gpu_s: dict[GpuState, float] = field(default_factory=lambda: dict.fromkeys(JOB_GPU_STATES, 0.0))
    energy_j: float = 0.0
    throttled_s: float = 0.0
    power_mark_s: float = 0.0
    peak_it_w: float = 0.0


class Ledger:
    """Records one run; ``result`` builds its ``RunResult``."""

    def __init__(self, jobs: int, cluster: ClusterState, clock: Clock, book: PowerBook) -> None:
        self.clock = clock
        """Where the simulated time is read (the engine's simpy environment)."""
        self.cluster = cluster
        self.pue = book.pue
        self.book = book
        self.books = [JobBook() for _ in range(jobs)]
        self.timeline: list[TimelineRow] = []
        self.listeners: list[Callable[[TimelineRow], None]] = []
        """Called with every timeline row as it is recorded (e.g. a test's invariant check)."""
        self.cluster_gpu_s = dict.fromkeys(CLUSTER_GPU_STATES, 0.0)
        self.cluster_clock_s = 0.0
        self.energy_it_j = 0.0
        self.power_samples: list[tuple[float, float, float, float]] = []
        self.ramp_rates_w_per_s: list[float] = []
        """The IT ramp rate at the start of each power sample's change (signed)."""
        self.job_samples: list[tuple[float, str, str, int, float, float]] = []
        self.job_last_sample: list[tuple[str, int, float, float] | None] = [None] * jobs
        self.job_last_mark: list[tuple[int, int, float, float] | None] = [None] * jobs
        self.peak_swing_w = 0.0
        self.peak_swing_h = 0.0
        self.peak_trains: list[PulseTrain] = []
        """The running jobs' pulse trains when their swing was largest."""
        self.failures = 0
        self.spare_gpu_failures = 0
        self.repairs = 0
        self.fabric_faults = 0
        self.stragglers = 0
        self.lemons = (0, 0, 0)
        """Lemon trays, their failures, those found (set by the engine at the end)."""
        self.queued = [0] * len(cluster.type_names)
        """Jobs queued for racks, by GPU type (the lifecycle counts them in and out)."""
        self.idle_gpu_s = dict.fromkeys(IdleReason, 0.0)
        self._unowned_key: tuple[int, ...] = ()
        self._unowned_cached: tuple[int, int, int, list[tuple[IdleReason, int]]] = (0, 0, 0, [])

    # ------------------------------------------------------------------ recording
    def log(
        self,
        kind: EventKind,
        job: JobRun | None = None,
        rack: int = -1,
        detail: str = "",
        at_s: float | None = None,
    ) -> None:
        """A timeline row, stamped now (or at ``at_s``, a moment since the last row)."""
        now_h = (self.clock.now if at_s is None else at_s) / SECONDS_PER_HOUR
        row = (now_h, str.__str__(kind), job.name if job else "", rack, detail)
        self.timeline.append(row)
        for listener in self.listeners:
            listener(row)

    def advance_cluster(self, now_s: float, site_it_w: float) -> None:
        """Charge the time since the last event: racks no job owns, and the site's energy at
        the draw in force since then (constant between events)."""
        dt = now_s - self.cluster_clock_s
        if dt > 0:
            idle, spare, repair, idle_reasons = self._unowned()
            gpus = self.cluster.gpus_per_rack
            by_state = self.cluster_gpu_s
            by_state[_IDLE] += idle * gpus * dt
            if idle:
                gpu_s_per_rack = gpus * dt
                for reason, racks in idle_reasons:
                    self.idle_gpu_s[reason] += racks * gpu_s_per_rack
            by_state[_SPARE] += spare * gpus * dt
            by_state[_REPAIR] += repair * gpus * dt
            self.energy_it_j += site_it_w * dt
        self.cluster_clock_s = now_s

    def _unowned(self) -> tuple[int, int, int, list[tuple[IdleReason, int]]]:
        """The racks no job owns — idle, spare, under repair — and the idle ones by reason;
        derived again only when the cluster's counts or the queue moved."""
        key = (self.cluster.unowned_changes, *self.queued)
        if key != self._unowned_key:
            self._unowned_key = key
            idle, spare, repair = self.cluster.state_counts()
            self._unowned_cached = (idle, spare, repair, self._idle_by_reason())
        return self._unowned_cached

    def _idle_by_reason(self) -> list[tuple[IdleReason, int]]:
        """Each type's idle racks and why they are idle: a job of the type is queued but does
        not fit (or is held back for a reservation), only jobs of another type are queued, or
        nothing is queued."""
        any_queued = any(self.queued)
        reasons = []
        for kind, row in enumerate(self.cluster.unowned_by_type.tolist()):
            idle = row[0]
            if not idle:
                continue
            if self.queued[kind]:
                reason = IdleReason.QUEUED_JOB_DOES_NOT_FIT
            elif any_queued:
                reason = IdleReason.QUEUED_FOR_OTHER_GPU
            else:
                reason = IdleReason.NO_QUEUED_JOB
            reasons.append((reason, idle))
        return reasons

    def bank_power(self, job: JobRun, now_s: float) -> None:
        """Charge ``job`` the energy (and throttled time) of its draw since it last changed."""
        book = self.books[job.index]
        dt = now_s - book.power_mark_s
        if dt > 0:
            book.energy_j += job.it_w * dt
            if job.throttled:
                book.throttled_s += dt
        book.power_mark_s = now_s

    def note_draw(self, job: JobRun) -> None:
        book = self.books[job.index]
        book.peak_it_w = max(book.peak_it_w, job.it_w)

    def sample(
        self,
        now_s: float,
        jobs: list[JobRun],
        owned: list[int],
        decision: PowerDecision,
        moved: list[JobRun],
    ) -> dict[int, float]:
        """After the power is balanced: a row for each job whose status, racks or step time
        changed since its last row; the site's draw from now on (a row when it changed, with
        how fast the change of the ``moved`` jobs' draws ramps) and the largest swing yet.
        Returns the seconds of work each moved job's rise, held back by a ramp limit, costs
        it (by job index; ``RampBook.held``)."""
        site_it_w, swing_w = decision.site_it_w, decision.swing_w
        now_h = now_s / SECONDS_PER_HOUR
        for job in jobs:
            mark = (job.version, owned[job.index], job.fabric_frac, job.clock)
            if mark == self.job_last_mark[job.index]:
                continue  # nothing that sets its row moved since it was last looked at
            self.job_last_mark[job.index] = mark
            running = job.status is JobStatus.RUNNING and job.phases is not None
            step_s = job.phases.step_s(job.clock) * job.slow if running and job.phases else 0.0
            state = (job.status.value, owned[job.index], step_s, job.fabric_frac)
            if state != self.job_last_sample[job.index]:
                self.job_last_sample[job.index] = state
                self.job_samples.append((now_h, job.name, *state))
        if swing_w > self.peak_swing_w:
            self.peak_swing_w, self.peak_swing_h = swing_w, now_h
            self.peak_trains = pulse_trains(jobs, self.book.floor_w)
        rate_w_per_s, ramp_s = self.book.ramps.change(moved, decision.extra_w)
        samples = self.power_samples
        if not samples or samples[-1][1] != site_it_w / W_PER_MW:
            if not samples:  # the run's first draw: not a change
                rate_w_per_s = ramp_s = 0.0
            samples.append((now_h, site_it_w / W_PER_MW, site_it_w * self.pue / W_PER_MW, ramp_s))
            self.ramp_rates_w_per_s.append(rate_w_per_s)
        return self.book.ramps.held

    # ------------------------------------------------------------------ results
    def result(
        self,
        *,
        scenario: str,
        what_if: list[str],
        seed: int,
        end_s: float,
        jobs: list[JobRun],
        effective: EffectiveValues,
        plan_for: Callable[[JobRun, int], StepBreakdown | None],
        restart_for: Callable[[JobRun], tuple[float, dict[str, float]]],
        storage_peak_bytes_per_s: float = 0.0,
    ) -> RunResult:
        """The typed results of the run recorded, which ended at ``end_s``. ``plan_for`` plans a
        job that never started on the racks it asked for (its plan is still reported; every
        job's plan was checked before the run); ``restart_for`` gives what a restart after a
        failure takes a job, and its parts; ``storage_peak_bytes_per_s`` the most the running
        jobs' shares of the checkpoint storage added up to."""
        job_results = []
        for job in jobs:
            step = job.first_step if job.first_step is not None else plan_for(job, job.want_racks)
            assert step is not None  # Planner.check_fits refused the run otherwise
            job_results.append(self._job_result(job, step, end_s, restart_for(job)))
        return RunResult(
            scenario=scenario,
            what_if=what_if,
            version=colossus_sim.__version__,
            seed=seed,
            jobs=job_results,
            cluster=self._cluster_result(
                end_s, effective.facility_cap_mw, jobs, storage_peak_bytes_per_s
            ),
            timeline=Timeline(**_columns(Timeline, self.timeline)),
            power=PowerSeries(**_columns(PowerSeries, self.power_samples)),
            job_series=JobSeries(**_columns(JobSeries, self.job_samples)),
        )

    def _job_result(
        self,
        job: JobRun,
        step: StepBreakdown,
        end_s: float,
        restart: tuple[float, dict[str, float]],
    ) -> JobResult:
        """``step``: its first step (or the plan it would run); ``restart``: a restart, by part."""
        book = self.books[job.index]
        held = sum(book.gpu_s.values())
        started = job.start_s if job.start_s is not None else 0.0
        ttt_s = job_figures.time_to_train_s(job, started, end_s)
        elapsed_days = max(((job.finish_s or end_s) - started) / SECONDS_PER_DAY, 1e-12)
        energy_mwh = book.energy_j * self.pue / J_PER_MWH
        life_s = max((job.finish_s or end_s) - started, 1e-12)
        floor_w = self.book.floor_w.get(job.gpu.name, 0.0)
        swing_w = step.gpus_used * power.swing_w_per_gpu(job.gpu, 1.0, floor_w=floor_w)
        flat = job.first_flat_step or step
        return JobResult(
            name=job.name,
            background=job.background,
            workload=job.spec.name,
            gpu=job.gpu.name,
            racks=job.first_racks or job.want_racks,  # the racks it asked for, if it never ran
            gpus=(job.first_racks or job.want_racks) * self.cluster.gpus_per_rack,
            plan=step.plan,
            step_s=step.step_s,
            breakdown_s=step.breakdown_s,
            step_s_full_bw=flat.step_s,
            fabric_cost_s=job_figures.fabric_cost(step, flat),
            fabric=job.fabric_first,
            fabric_min_bw_frac=job.fabric_min_frac,
            mfu=step.mfu,
            mfu_physical=step.mfu
            * step.gpus_used
            / ((job.first_racks or job.want_racks) * self.cluster.gpus_per_rack),
            tokens_per_step=step.tokens_per_step,
            tokens=job.tokens,
            tokens_budget=job.budget_tokens,
            tokens_per_day=job.tokens / elapsed_days,
            goodput=book.gpu_s[GpuState.PRODUCTIVE] / held if held > 0 else 0.0,
            **job_figures.counts(job),
            restart_s=restart[0],
            restart_breakdown_s=restart[1],
            **job_figures.checkpoint_figures(job),
            gpu_hours={k.value: v / SECONDS_PER_HOUR for k, v in book.gpu_s.items()},
            **job_figures.days(job, ttt_s),
            time_to_train_days=None if ttt_s is None else ttt_s / SECONDS_PER_DAY,
            energy_mwh=energy_mwh,
            mean_power_mw=energy_mwh * SECONDS_PER_HOUR / life_s,
            peak_power_mw=book.peak_it_w * self.pue / W_PER_MW,
            mwh_per_trillion_tokens=(
                energy_mwh / (job.tokens / TOKENS_PER_TRILLION) if job.tokens else 0.0
            ),
            throttled_hours=book.throttled_s / SECONDS_PER_HOUR,
            min_clock=job.min_clock,
            step_s_at_min_clock=power.StepPhases.of(step.breakdown_s).step_s(job.min_clock),
            power_swing_mw=swing_w * self.pue / W_PER_MW,
        )

    def _cluster_result(
        self, end_s: float, cap_mw: float, jobs: list[JobRun], storage_peak_bytes_per_s: float
    ) -> ClusterResult:
        gpus = self.cluster.racks * self.cluster.gpus_per_rack
        total_gpu_s = gpus * end_s
        by_state = dict.fromkeys(GpuState, 0.0)
        for book in self.books:
            for k, v in book.gpu_s.items():
                by_state[k] += v
        for k, v in self.cluster_gpu_s.items():
            by_state[k] += v
        allocated = sum(by_state[k] for k in JOB_GPU_STATES)
        energy_j = self.energy_it_j * self.pue
        return ClusterResult(
            racks=self.cluster.racks,
            gpus=gpus,
            hours=end_s / SECONDS_PER_HOUR,
            allocated_frac=allocated / total_gpu_s if total_gpu_s else 0.0,
            productive_frac=by_state[GpuState.PRODUCTIVE] / total_gpu_s if total_gpu_s else 0.0,
            gpu_hours={k.value: v / SECONDS_PER_HOUR for k, v in by_state.items()},
            failures=self.failures,
            spare_gpu_failures=self.spare_gpu_failures,
            repairs=self.repairs,
            events=len(self.timeline),
            makespan_days=(
                max(j.finish_s or 0.0 for j in jobs) / SECONDS_PER_DAY
                if all(j.finish_s is not None for j in jobs)
                else None
            ),
            idle_gpu_hours={k.value: v / SECONDS_PER_HOUR for k, v in self.idle_gpu_s.items()},
            fabric_faults=self.fabric_faults,
            lemon_trays=self.lemons[0],
            lemon_failures=self.lemons[1],
            lemons_found=self.lemons[2],
            stragglers=self.stragglers,
            storage_busy_frac=sum(j.storage_busy_s for j in jobs) / end_s if end_s else 0.0,
            storage_pb_written=sum(j.storage_bytes for j in jobs) / BYTES_PER_PB,
            storage_peak_tb_per_s=storage_peak_bytes_per_s / BYTES_PER_TB,
            **job_figures.site_checkpoint_figures(jobs),
            power_cap_mw=cap_mw,
            peak_it_mw=max((p[1] for p in self.power_samples), default=0.0),
            peak_facility_mw=max((p[2] for p in self.power_samples), default=0.0),
            mean_facility_mw=energy_j / end_s / W_PER_MW if end_s else 0.0,
            energy_mwh=energy_j / J_PER_MWH,
            power_swing_mw=self.peak_swing_w * self.pue / W_PER_MW,
            grid=grid_report.grid_result(
                self.power_samples,
                self.ramp_rates_w_per_s,
                self.book,
                end_s=end_s,
                swing_at_h=self.peak_swing_h,
                trains=self.peak_trains,
            ),
        )


def _columns(model: Any, rows: list[Any]) -> dict[str, list[Any]]:
    """Rows of tuples → the model's fields, one list per column (empty lists for no rows)."""
    names = list(model.model_fields)
    if rows and len(rows[0]) != len(names):
        raise ValueError(f"{model.__name__}: rows of {len(rows[0])} fields for {names}")
    # a column at a time (itemgetter): ~3x faster than zip(*rows) for the timeline's 60k rows
    return {name: list(map(operator.itemgetter(i), rows)) for i, name in enumerate(names)}
