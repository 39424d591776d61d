"""What a job's result says about it, from its state at the end of a run: its checkpointing
(and the site's, summed by tier),
its counts (failures, restarts, resizes, preemptions, dropped replicas), its days (submit,
start, wait, finish) and time to train, and what the fabric cost its step. Pure functions of a
``JobRun`` (the ledger builds the ``JobResult`` from them). Cost: O(1) per job.
"""

from __future__ import annotations

import math
from typing import Any

from colossus_sim.kinds import CheckpointTier
from colossus_sim.perf.step_time import StepBreakdown
from colossus_sim.sim.jobs import JobRun
from colossus_sim.units import (
    BYTES_PER_PB,
    BYTES_PER_TB,
    SECONDS_PER_DAY,
    SECONDS_PER_HOUR,
    SECONDS_PER_MINUTE,
)


def checkpoint_figures(job: JobRun) -> dict[str, Any]:
    """How ``job`` checkpointed: how often and how long, what it wrote, how busy that kept its
    share of the storage (from its last running stretch's cadence), and by tier over the run:
    checkpoints, bytes and the mean compute between them."""
    cadence = job.cadence
    write_frac = 0.0
    if cadence is not None:
        write_frac = min(cadence.storage_write_s / (cadence.interval_s + cadence.blocking_s), 1.0)
    return {
        "checkpoints": job.checkpoints,
        "checkpoint_interval_min": job.interval_s / SECONDS_PER_MINUTE,
        "checkpoint_blocking_s": job.blocking_s,
        "checkpoint_tb_written": job.storage_bytes / BYTES_PER_TB,
        "storage_write_frac": write_frac,
        **_by_tier([job], "tb", BYTES_PER_TB),
    }


def site_checkpoint_figures(jobs: list[JobRun]) -> dict[str, Any]:
    """Every job's checkpoints by tier: counts, petabytes, the mean compute between them."""
    return _by_tier(jobs, "pb", BYTES_PER_PB)


def _by_tier(jobs: list[JobRun], unit: str, bytes_per_unit: float) -> dict[str, Any]:
    counts = {t: sum(j.tier_checkpoints.get(t, 0) for j in jobs) for t in CheckpointTier}
    written = {t: math.fsum(j.tier_bytes.get(t, 0.0) for j in jobs) for t in CheckpointTier}
    apart_s = {t: math.fsum(j.tier_interval_s.get(t, 0.0) for j in jobs) for t in CheckpointTier}
    return {
        "checkpoints_by_tier": {t.value: counts[t] for t in CheckpointTier},
        f"checkpoint_{unit}_by_tier": {
            t.value: written[t] / bytes_per_unit for t in CheckpointTier
        },
        "checkpoint_mean_interval_min_by_tier": {
            t.value: apart_s[t] / counts[t] / SECONDS_PER_MINUTE if counts[t] else math.nan
            for t in CheckpointTier
        },
    }


def counts(job: JobRun) -> dict[str, Any]:
    """How often ``job`` was interrupted, restarted, re-planned, resized, preempted and lost
    a replica, and how it recovers."""
    return {
        "failures": job.failures,
        "restarts": job.restarts,
        "recovery": job.setup.recovery.value,
        "replans": job.replans,
        "resizes": job.resizes,
        "preemptions": job.preemptions,
        "replica_drops": job.replica_drops,
        "stragglers": job.stragglers,
        "straggler_hours": job.slowed_s / SECONDS_PER_HOUR,
    }


def days(job: JobRun, ttt_s: float | None) -> dict[str, Any]:
    """When ``job`` joined the queue, started and finished (projected at its average rate if
    the horizon came first), in days from the start of the run, and how long it queued."""

    def day(at_s: float | None) -> float | None:
        return None if at_s is None else at_s / SECONDS_PER_DAY

    finish_s = job.finish_s
    if finish_s is None and job.start_s is not None and ttt_s is not None:
        finish_s = job.start_s + ttt_s
    waited = None
    if job.start_s is not None and job.submit_s is not None:
        waited = job.start_s - job.submit_s
    return {
        "submit_days": day(job.submit_s),
        "start_days": day(job.start_s),
        "wait_days": day(waited),
        "finish_days": day(finish_s),
        "finished": job.finish_s is not None,
    }


def time_to_train_s(job: JobRun, started: float, end_s: float) -> float | None:
    """Start to the end of its token budget: measured if it finished, else projected at its
    average rate so far (None if it earned nothing)."""
    if job.finish_s is not None:
        return job.finish_s - started
    if job.tokens > 0:
        return (end_s - started) * job.budget_tokens / job.tokens
    return None


def fabric_cost(step: StepBreakdown, flat: StepBreakdown) -> dict[str, float]:
    """Step parts the fabric's share lengthened, and by how many seconds."""
    cost = {k: step.breakdown_s[k] - flat.breakdown_s.get(k, 0.0) for k in step.breakdown_s}
    return {k: v for k, v in cost.items() if abs(v) > 1e-12}
