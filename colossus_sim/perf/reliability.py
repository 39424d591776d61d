"""Failures and checkpoints as pure functions: rates, Young/Daly intervals, lost work.

Notes
-----
Failures arrive as a Poisson process of rate ``λ`` per GPU-hour (observed count ÷ observed
GPU-hours, by cause). A job on ``G`` GPUs is interrupted at rate ``λ·G``: its mean time
between failures is ``M = 1/(λ·G)``.

A checkpoint blocks training for ``δ_b`` and becomes durable ``δ_p`` after that (``δ_p = 0``
for synchronous writes, the background write time for asynchronous ones). Young's (1974) and
Daly's (2006) first-order optimum interval of compute between checkpoints is
``τ = √(2·δ_b·M)``; we clamp it to ``[max(δ_p, step), τ_max]`` (one checkpoint in flight at a
time, at least one step, at least every ``τ_max``).

A running stretch is a sequence of cycles of ``τ`` compute then ``δ_b`` blocked. After
``t`` seconds of it, checkpoint ``k`` is durable once ``k·(τ+δ_b) + δ_p ≤ t``; a failure at
``t`` loses the compute done since the last durable checkpoint.

References
----------
Young, "A first order approximation to the optimum checkpoint interval", CACM 17(9), 1974;
Daly, "A higher order estimate of the optimum checkpoint interval", FGCS 22(3), 2006;
Llama 3 Herd of Models §3.3.4 (interruption counts); Kokolis et al., HPCA 2025 (ETTR model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from colossus_sim.units import BYTES_PER_GB, BYTES_PER_TB, SECONDS_PER_HOUR


def job_mtbf_s(rate_per_gpu_hour: float, gpus: int) -> float:
    """Mean time between interruptions of a job on ``gpus`` GPUs, in seconds (∞ if no failures)."""
    rate = rate_per_gpu_hour * gpus
    return math.inf if rate <= 0 else SECONDS_PER_HOUR / rate


@dataclass(frozen=True)
class CheckpointCost:
    """Per-checkpoint blocking time, time until durable after that, and the bytes written."""

    blocking_s: float
    durable_after_s: float
    bytes_total: float


def checkpoint_cost(
    *,
    params: float,
    bytes_per_param: float,
    gpus: int,
    storage_bytes_per_s: float,
    host_copy_bytes_per_s: float,
    asynchronous: bool,
) -> CheckpointCost:
    """What one checkpoint of ``params`` parameters costs a job on ``gpus`` GPUs.

    Synchronous: blocked for the whole write to storage. Asynchronous: blocked while each
    GPU copies its shard (``bytes/gpus``) to host memory, durable once written to storage.
    """
    total = params * bytes_per_param
    write_s = total / storage_bytes_per_s
    if not asynchronous:
        return CheckpointCost(blocking_s=write_s, durable_after_s=0.0, bytes_total=total)
    return CheckpointCost(
        blocking_s=total / gpus / host_copy_bytes_per_s, durable_after_s=write_s, bytes_total=total
    )


def young_daly_interval_s(blocking_s: float, mtbf_s: float, *, min_s: float, max_s: float) -> float:
    """Compute time between checkpoints: ``√(2·δ_b·M)`` clamped to ``[min_s, max_s]``."""
    ideal = math.sqrt(2.0 * blocking_s * mtbf_s) if math.isfinite(mtbf_s) else math.inf
    return min(max(ideal, min_s), max_s)


class CycleSplit(NamedTuple):
    """How a running stretch of wall time divides into compute and checkpoint blocking (a
    tuple: the simulation splits a stretch at every event that touches a running job)."""

    compute_s: float
    blocked_s: float
    checkpoints: int


def cycle_split(elapsed_s: float, interval_s: float, blocking_s: float) -> CycleSplit:
    """Compute and blocked time in the first ``elapsed_s`` of a stretch of cycles."""
    period = interval_s + blocking_s
    full = math.floor(elapsed_s / period)
    rest = elapsed_s - full * period
    compute = full * interval_s + min(rest, interval_s)
    return CycleSplit(compute_s=compute, blocked_s=elapsed_s - compute, checkpoints=full)


def wall_time_for_compute(compute_s: float, interval_s: float, blocking_s: float) -> float:
    """Wall time a stretch needs to accumulate ``compute_s`` of compute (inverse of the split)."""
    if compute_s <= 0:
        return 0.0
    full = math.ceil(compute_s / interval_s) - 1  # checkpoints taken before the last compute
    return compute_s + full * blocking_s


def lost_compute_s(
    elapsed_s: float,
    interval_s: float,
    blocking_s: float,
    durable_after_s: float,
    done_s: float | None = None,
) -> float:
    """Compute a failure ``elapsed_s`` into a stretch throws away (since the last durable one);
    ``done_s``: the stretch's compute so far, when the caller has split it already."""
    period = interval_s + blocking_s
    done = cycle_split(elapsed_s, interval_s, blocking_s).compute_s if done_s is None else done_s
    durable = max(0, math.floor((elapsed_s - durable_after_s) / period))
    return max(done - durable * interval_s, 0.0)


def storage_bytes_per_s(tb_per_s: float) -> float:
    return tb_per_s * BYTES_PER_TB


def host_copy_bytes_per_s(gb_per_s: float) -> float:
    return gb_per_s * BYTES_PER_GB
