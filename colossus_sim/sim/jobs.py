"""A job's state during a run (``JobRun``) and the arithmetic of its progress.

Between events a running job advances analytically: its running stretch splits into compute
and checkpoint blocking (``perf/reliability.py``) and its tokens follow from its step time at
its clock. ``JobRun`` holds the state the engine's decisions change; its methods only compute
from that state (tokens earned so far, when its budget runs out, what a stretch charges). What
the run records (GPU-seconds, energy) is the ledger's. Cost: O(1) per call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

from colossus_sim.config.hardware import GpuSpec
from colossus_sim.config.scenario import ScenarioJob
from colossus_sim.config.workload import JobSpec
from colossus_sim.fabric import JobFabric
from colossus_sim.kinds import CheckpointTier, JobStatus
from colossus_sim.perf import power
from colossus_sim.perf import reliability as rel
from colossus_sim.perf.model_size import model_size
from colossus_sim.perf.step_time import StepBreakdown
from colossus_sim.results import GpuState
from colossus_sim.scenario import ResolvedScenario
from colossus_sim.units import SECONDS_PER_DAY


class Cadence(NamedTuple):
    """How a running job checkpoints: it blocks ``blocking_s`` every ``interval_s``, and a
    checkpoint is durable in ``tier`` ``durable_s`` after it starts. Every ``storage_every``-th
    checkpoint (each one, or a tiered job's every k-th, written on from host memory) writes
    ``storage_bytes`` to shared storage, served at ``storage_share`` of the storage's
    bandwidth for ``storage_write_s``; it asked for ``storage_demand_bytes_per_s`` on
    average."""

    blocking_s: float
    durable_s: float
    interval_s: float
    storage_bytes: float = 0.0
    storage_share: float = 0.0
    storage_write_s: float = 0.0
    storage_demand_bytes_per_s: float = 0.0
    storage_every: int = 1
    tier: CheckpointTier = CheckpointTier.SHARED_STORAGE
    stop_s: float = 0.0
    """What a checkpoint-stop takes (preemption): the checkpoint's blocking copy and its
    write to shared storage, the racks held until it is durable there."""


@dataclass
class JobRun:
    """One job's mutable state during a run (the entity the engine's decisions change)."""

    index: int
    name: str
    spec: JobSpec
    setup: ScenarioJob
    gpu: GpuSpec
    params: float
    budget_tokens: float
    want_racks: int
    min_racks: int
    """Racks it can start on (its ``racks`` under ``gang`` admission)."""
    background: bool = False
    """A job of the scenario's trace."""
    status: JobStatus = JobStatus.HELD
    submit_s: float | None = None
    """When it joined the queue (None: it never did)."""
    waits_for: int = 0
    """Jobs it comes after (``after:``) that have not finished yet."""
    since_s: float = 0.0
    step: StepBreakdown | None = None
    first_step: StepBreakdown | None = None
    flat_step: StepBreakdown | None = None
    """Its plan's step at full NIC bandwidth; ``step`` is at the fabric's share."""
    first_flat_step: StepBreakdown | None = None
    fabric_frac: float = 1.0
    step_frac_of: StepBreakdown | None = None
    """The full-bandwidth step ``step`` was derived from at ``fabric_frac``."""
    fabric_first: JobFabric | None = None
    fabric_min_frac: float = 1.0
    first_racks: int = 0
    tokens: float = 0.0
    interval_s: float = math.inf
    blocking_s: float = 0.0
    durable_s: float = 0.0
    version: int = 0
    """Bumped whenever an event scheduled for the job's old state must not fire."""
    failures: int = 0
    restarts: int = 0
    checkpoints: int = 0
    cadence: Cadence | None = None
    """How it checkpoints in its current running stretch (``planning.py``)."""
    storage_bytes: float = 0.0
    """Bytes its checkpoints wrote to shared storage."""
    read_bytes_per_s: float = 0.0
    """What its last restart read its checkpoint from the shared storage at (0: none yet)."""
    snapshots_unstored: int = 0
    """Snapshots since the last that went on to shared storage (an ``in_memory`` job's)."""
    from_storage: bool = False
    """Its restart loads the last checkpoint in shared storage (its snapshot's copies were
    lost), not a peer's copy."""
    storage_busy_s: float = 0.0
    """Seconds × share of the site's storage bandwidth its checkpoint writes occupied."""
    tier_checkpoints: dict[CheckpointTier, int] = field(default_factory=dict)
    """Checkpoints durable in each tier so far."""
    tier_bytes: dict[CheckpointTier, float] = field(default_factory=dict)
    tier_interval_s: dict[CheckpointTier, float] = field(default_factory=dict)
    """Compute between its checkpoints in each tier, summed over them (÷ their count: the
    mean interval)."""
    replans: int = 0
    resizes: int = 0
    preemptions: int = 0
    """Times it gave racks to a higher-priority queued job (stopped or shrunk)."""
    stragglers: int = 0
    """Slow trays that struck it (``failures.stragglers``)."""
    slow: float = 1.0
    """How many times longer its steps take while a straggler is among its racks."""
    slow_stragglers: int = 0
    """Stragglers among its racks not yet found."""
    slow_since_s: float = 0.0
    slowed_s: float = 0.0
    """Seconds it had a straggler (it ran slowed while it trained)."""
    replicas_out: int = 0
    """Data-parallel replicas that left after a failure and have not rejoined
    (``drop_replica``); the others go on at their share of the rate."""
    replica_drops: int = 0
    drop_epoch: int = 0
    """Bumped by a global restart (every replica restarts): pending rejoins are then void."""
    start_s: float | None = None
    finish_s: float | None = None
    # Power: relative compute clock set by the controller, and what the job's racks draw.
    clock: float = 1.0
    min_clock: float = 1.0
    phases: power.StepPhases | None = None
    stretch_tokens: float = 0.0
    rate_mark_s: float = 0.0
    held_s: float = 0.0
    """Seconds of the running stretch its power ramp held its work back (``hold``)."""
    throttled: bool = False
    it_w: float = 0.0
    # Its finish: when its budget runs out at the rate set at ``finish_version``, and the
    # earliest finish check pending (``finish_checks.py``).
    finish_due_s: float = math.inf
    finish_version: int = -1
    finish_watch_s: float | None = None

    @property
    def tokens_per_s(self) -> float:
        assert self.step is not None and self.phases is not None
        step_s = self.phases.step_s(self.clock) * self.slow
        return self.step.tokens_per_step / step_s * self.replica_share

    @property
    def replica_share(self) -> float:
        """Share of its data-parallel replicas training (1 unless replicas are out)."""
        if not self.replicas_out or self.step is None:
            return 1.0
        return 1.0 - self.replicas_out / self.step.plan.dp

    @property
    def active_gpus(self) -> int:
        return self.spec.active_gpus_per_rack

    def ideal_tokens_per_s(self, step: StepBreakdown) -> float:
        """Its rate on ``step``'s plan at full clock (what its run-time estimates assume)."""
        return step.tokens_per_step / step.step_s

    def remaining_tokens(self) -> float:
        return max(self.budget_tokens - self.tokens - self.stretch_tokens, 0.0)

    def projected_finish_s(self, now_s: float) -> float:
        """When it would finish if nothing more failed: at its current rate while running,
        else from ``now_s`` at its plan's full-clock rate (a restart's rest not counted)."""
        if self.status is JobStatus.RUNNING:
            return self.finish_at_s()
        assert self.step is not None
        return now_s + self.remaining_tokens() / self.ideal_tokens_per_s(self.step)

    def stretch_tokens_at(self, now_s: float, now_c: rel.CycleSplit | None = None) -> float:
        """Tokens the current running stretch has earned by ``now_s`` (its rate changes with
        the clock; the checkpoint cycle runs on regardless); ``now_c``: the stretch's split at
        ``now_s``, when the caller has it."""
        if now_c is None:
            now_c = rel.cycle_split(now_s - self.since_s, self.interval_s, self.blocking_s)
        mark_c = rel.cycle_split(self.rate_mark_s - self.since_s, self.interval_s, self.blocking_s)
        return self.stretch_tokens + (now_c.compute_s - mark_c.compute_s) * self.tokens_per_s

    def bank_rate(self, now_s: float) -> None:
        """Bank the tokens of the running stretch so far before its rate changes."""
        self.stretch_tokens = self.stretch_tokens_at(now_s)
        self.rate_mark_s = now_s

    def hold(self, now_s: float, delay_s: float) -> None:
        """Its work waits ``delay_s`` (a rise its power smoothing's ramp limit held back: its
        GPUs reach full power only at the ramp's end): the stretch owes that much compute."""
        self.bank_rate(now_s)
        self.stretch_tokens -= delay_s * self.tokens_per_s
        self.held_s += delay_s

    def finish_at_s(self) -> float:
        """When the token budget runs out at the current rate (absolute seconds)."""
        remaining = self.remaining_tokens()
        mark_c = rel.cycle_split(self.rate_mark_s - self.since_s, self.interval_s, self.blocking_s)
        target = mark_c.compute_s + remaining / self.tokens_per_s
        return self.since_s + rel.wall_time_for_compute(target, self.interval_s, self.blocking_s)

    def close_stretch(
        self,
        now_s: float,
        gpus: int,
        *,
        lose_work: bool,
        in_flight_only: bool = False,
        copy_lost: bool = False,
    ) -> list[tuple[GpuState, float]]:
        """End the job's current status at ``now_s``: bank the tokens a running stretch earned
        (less the work a failure loses: since the last durable checkpoint — with ``copy_lost``
        since the last in shared storage —, or with ``in_flight_only`` the step in flight,
        half a step on average) and return the
        GPU-seconds its ``gpus`` spent, by state (an out replica's share waits, as restart)."""
        dur = now_s - self.since_s
        if self.status is JobStatus.RUNNING and self.step is not None:
            split = rel.cycle_split(dur, self.interval_s, self.blocking_s)
            lost = self._lost_s(dur, split, copy_lost=copy_lost) if lose_work else 0.0
            if in_flight_only and self.phases is not None:
                lost = min(lost, split.compute_s, self.phases.step_s(self.clock) / 2)
            share = self.replica_share
            held = min(self.held_s, max(split.compute_s - lost, 0.0))  # the ramp's wait
            self.held_s = 0.0
            self.checkpoints += split.checkpoints
            self._count_storage_writes(split.checkpoints)
            earned = self.stretch_tokens_at(now_s, split)
            # Lost compute is valued at the current rate (clock changes inside the lost
            # window, at most one checkpoint interval, are not tracked apart).
            self.tokens = min(
                self.tokens + max(earned - lost * self.tokens_per_s, 0.0), self.budget_tokens
            )
            return [
                (GpuState.PRODUCTIVE, (split.compute_s - lost - held) * gpus * share),
                (GpuState.REWORK, lost * gpus * share),
                (GpuState.CHECKPOINT, split.blocked_s * gpus),
                (GpuState.RESTART, split.compute_s * gpus * (1.0 - share) + held * gpus * share),
            ]
        if self.status is JobStatus.RESTARTING:
            return [(GpuState.RESTART, dur * gpus)]
        if self.status is JobStatus.STALLED:
            return [(GpuState.STALLED, dur * gpus)]
        if self.status is JobStatus.STOPPING:
            return [(GpuState.CHECKPOINT, dur * gpus)]
        return []

    def bank_slowed(self, now_s: float) -> None:
        """Its last straggler went (or the run ended) at ``now_s``: count the time since the
        first came, up to its finish if it finished first."""
        until_s = now_s if self.finish_s is None else min(now_s, self.finish_s)
        self.slowed_s += max(until_s - self.slow_since_s, 0.0)

    def unsaved_s(self, now_s: float, *, since_storage: bool) -> float:
        """The running stretch's compute since its last durable checkpoint (``since_storage``:
        since the last in shared storage), what a failure now would lose."""
        dur = now_s - self.since_s
        split = rel.cycle_split(dur, self.interval_s, self.blocking_s)
        return self._lost_s(dur, split, copy_lost=since_storage)

    def _lost_s(self, dur_s: float, split: rel.CycleSplit, *, copy_lost: bool) -> float:
        """Compute a failure ``dur_s`` into a running stretch throws away: since the last
        durable checkpoint, or with ``copy_lost`` (a snapshot's copies went with the rack)
        since the last that went on to shared storage."""
        if not (copy_lost and self.cadence is not None):
            return rel.lost_compute_s(
                dur_s, self.interval_s, self.blocking_s, self.durable_s, split.compute_s
            )
        every = self.cadence.storage_every
        return rel.lost_to_storage_s(
            dur_s,
            self.interval_s,
            self.blocking_s,
            self.cadence.storage_write_s,
            every=every,
            first=every - self.snapshots_unstored % every,
            done_s=split.compute_s,
        )

    def _count_storage_writes(self, checkpoints: int) -> None:
        """Bank what ``checkpoints`` more checkpoints wrote: to their tier, and to shared
        storage each one, or a tiered job's every k-th, counted across its stretches (a
        restart from a fast tier's copy keeps its place in the count; one from storage starts
        it again: ``Lifecycle._restart_done``)."""
        cadence = self.cadence
        if cadence is None or not checkpoints:
            return
        if cadence.tier is not CheckpointTier.SHARED_STORAGE:
            self._tally(cadence.tier, checkpoints, cadence.storage_bytes, cadence.interval_s)
        taken = self.snapshots_unstored + checkpoints
        writes, self.snapshots_unstored = divmod(taken, cadence.storage_every)
        self.storage_bytes += writes * cadence.storage_bytes
        self.storage_busy_s += writes * cadence.storage_write_s * cadence.storage_share
        if writes:
            interval_s = cadence.storage_every * cadence.interval_s
            self._tally(CheckpointTier.SHARED_STORAGE, writes, cadence.storage_bytes, interval_s)

    def _tally(
        self, tier: CheckpointTier, count: int, bytes_each: float, interval_s: float
    ) -> None:
        """``count`` checkpoints of ``bytes_each`` in ``tier``, ``interval_s`` of compute apart."""
        self.tier_checkpoints[tier] = self.tier_checkpoints.get(tier, 0) + count
        self.tier_bytes[tier] = self.tier_bytes.get(tier, 0.0) + count * bytes_each
        self.tier_interval_s[tier] = self.tier_interval_s.get(tier, 0.0) + count * interval_s


def jobs_of(resolved: ResolvedScenario, malleable: bool) -> list[JobRun]:
    """Each job of the scenario, held until it is submitted, in the scenario's order (a
    fixed-length job's token budget is set once it is planned: ``fixed_work_tokens``)."""
    made = []
    for i, r in enumerate(resolved.jobs):
        setup = r.setup
        made.append(
            JobRun(
                index=i,
                name=r.name,
                spec=r.spec,
                setup=setup,
                gpu=r.gpu,
                params=model_size(r.spec.arch).total,
                budget_tokens=float(setup.tokens or r.spec.training.tokens or 0.0),
                want_racks=setup.racks,
                min_racks=(setup.min_racks or 1) if malleable else setup.racks,
                waits_for=len(setup.after),
                background=r.background,
            )
        )
    return made


def fixed_work_tokens(days: float, step: StepBreakdown) -> float:
    """The work of a fixed-length job: ``days`` of compute at ``step``'s full-clock rate
    (checkpoints, restarts, a fabric or power limit then make it take longer)."""
    return days * SECONDS_PER_DAY * step.tokens_per_step / step.step_s
