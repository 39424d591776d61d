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

A restart (``restart_anatomy``) is the sum of its parts: detecting the failure (heartbeat or
watchdog timeout), rescheduling onto healthy hardware, starting the processes, building the
communicators (a cost per thousand GPUs: bootstrap exchanges grow with the ranks), loading the
state (``bytes ÷ bytes/s`` of the tier it comes from) and a few slow first steps.

With failures Poisson at mean interval ``M``, cycles of ``τ`` compute then ``δ`` blocking
(durable at its end), and a restart of ``R`` that a failure during it starts again, the
expected wall time of one cycle is ``M·e^{R/M}·(e^{(τ+δ)/M} − 1)`` (Daly 2006), so the
effective training time ratio is ``ETTR = τ / (M·e^{R/M}·(e^{(τ+δ)/M} − 1))``
(``ettr_closed_form``), which the simulation's goodput must reproduce.

**The write in flight.** A checkpoint that becomes durable ``δ_p`` after its blocking ends
(the asynchronous write to storage, ``δ_p ≤ τ + δ``) shifts every commit by ``δ_p``. Between
two failures the commits then come at ``P + δ_p, 2P + δ_p, …`` from the stretch's start
(``P = τ + δ``): each after ``P`` more, except the first, which needs ``P + δ_p``. A stretch
lasts ``M`` on average (memoryless), and commits ``e^{−(P+δ_p)/M} / (1 − e^{−P/M})`` cycles
of ``τ``; with the restart's ``M·(e^{R/M} − 1)``,
``ETTR = τ / (M·e^{R/M}·(e^{P/M} − 1)·e^{δ_p/M})``. The write in flight costs the factor
``e^{−δ_p/M}`` (≈ ``δ_p`` per failure: a failure inside the window, probability ``δ_p/P``,
loses one interval more), the same at every ``τ``.

**The optimal interval** (``optimal_interval_s``) maximises that ETTR. ``δ_p`` and ``R`` do
not depend on ``τ``, so ``d ln ETTR / dτ = 1/τ − e^{P/M} / (M·(e^{P/M} − 1)) = 0``, i.e.
``1 − e^{−P/M} = τ/M``: with ``y = τ/M`` and ``b = δ/M``, ``ln(1 − y) + y + b = 0``, whose
root in ``(0, 1)`` is ``y = 1 + W₀(−e^{−1−b})`` (Lambert's principal branch; unique, since the
left side falls from ``b`` at ``y = 0`` to ``−∞`` at ``y = 1``). For ``b → 0`` it is
``√(2b) − 2b/3 + O(b^{3/2})``: Young's ``√(2·δ·M)`` less Daly's ``2δ/3``. The storage enters
twice: a synchronous write is ``δ`` itself, and an asynchronous one bounds ``τ`` from below
by its write ``δ_p`` (one in flight at a time) — so the optimum is the root clamped to
``[max(δ_p, step), τ_max]`` (the ETTR is unimodal in ``τ``).

References
----------
Young, "A first order approximation to the optimum checkpoint interval", CACM 17(9), 1974;
Daly, "A higher order estimate of the optimum checkpoint interval", FGCS 22(3), 2006;
Llama 3 Herd of Models §3.3.4 (interruption counts); Kokolis et al., HPCA 2025 (ETTR model);
Jiang et al., MegaScale, NSDI 2024 §4 (communicator initialisation at scale).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from colossus_sim.units import BYTES_PER_GB, BYTES_PER_TB, SECONDS_PER_HOUR


def job_mtbf_s(rate_per_gpu_hour: float, gpus: int) -> float:
    """Mean time between interruptions of a job on ``gpus`` GPUs, in seconds (∞ if no failures);
    equally, at a rate per rack-hour, on that many racks."""
    rate = rate_per_gpu_hour * gpus
    return math.inf if rate <= 0 else SECONDS_PER_HOUR / rate


def domain_rate_per_gpu_hour(
    rate_per_gpu_hour: float, causes: Mapping[str, tuple[float, object]], domain: object
) -> float:
    """The part of ``rate_per_gpu_hour`` that takes out ``domain``: the rate times its causes'
    share of the observed counts (``causes``: name → (count, domain))."""
    total = sum(count for count, _ in causes.values())
    if total <= 0:
        return 0.0
    return rate_per_gpu_hour * sum(c for c, d in causes.values() if d == domain) / total


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


def lost_to_storage_s(
    elapsed_s: float,
    interval_s: float,
    blocking_s: float,
    write_s: float,
    *,
    every: int,
    first: int,
    done_s: float,
) -> float:
    """Compute lost when a stretch of snapshot cycles falls back to shared storage, where
    snapshots ``first``, ``first + every``, … went on to storage, each durable ``write_s``
    after it was taken; ``done_s``: the stretch's compute so far. Without a durable one in
    the stretch, all of it."""
    period = interval_s + blocking_s
    taken = math.floor((elapsed_s - write_s) / period) if elapsed_s >= write_s else 0
    if taken < first:
        return done_s
    last = first + (taken - first) // every * every
    return max(done_s - last * interval_s, 0.0)


@dataclass(frozen=True)
class RestartAnatomy:
    """The parts of one restart, in seconds."""

    detection_s: float
    reschedule_s: float
    startup_s: float
    """Process start plus communicator initialisation."""
    load_s: float
    warmup_s: float

    @property
    def total_s(self) -> float:
        return self.detection_s + self.reschedule_s + self.startup_s + self.load_s + self.warmup_s

    def breakdown_s(self) -> dict[str, float]:
        """The parts by name (``RESTART_PART_NAMES``, in order)."""
        return {name: float(getattr(self, name)) for name in RESTART_PART_NAMES}


RESTART_PART_NAMES = ("detection_s", "reschedule_s", "startup_s", "load_s", "warmup_s")
"""``RestartAnatomy``'s parts, in the order a restart runs them."""


def restart_anatomy(
    *,
    gpus: int,
    detection_s: float,
    reschedule_s: float,
    process_start_s: float,
    comm_init_s_per_1k_gpus: float,
    load_bytes: float,
    load_bytes_per_s: float,
    warmup_steps: float,
    step_s: float,
) -> RestartAnatomy:
    """What a restart of a job on ``gpus`` GPUs takes: ``detection + reschedule + (process
    start + comm_init·gpus/1000) + load_bytes/load_bytes_per_s + warmup_steps·step``."""
    return RestartAnatomy(
        detection_s=detection_s,
        reschedule_s=reschedule_s,
        startup_s=process_start_s + comm_init_s_per_1k_gpus * gpus / 1000.0,
        load_s=load_bytes / load_bytes_per_s,
        warmup_s=warmup_steps * step_s,
    )


def ettr_closed_form(
    *,
    interval_s: float,
    blocking_s: float,
    restart_s: float,
    mtbf_s: float,
    durable_after_s: float = 0.0,
) -> float:
    """Expected share of wall time spent on compute that is kept (Daly's renewal, with the
    write in flight ``durable_after_s``: above)."""
    if not math.isfinite(mtbf_s):
        return interval_s / (interval_s + blocking_s)
    # τ / (M·e^{(R+δ_p)/M}·(e^{P/M} − 1)), written with e^{−x} so that a cycle of many
    # mean times between failures comes out ~0 instead of overflowing
    period_s = interval_s + blocking_s
    kept = math.exp(-(restart_s + durable_after_s + period_s) / mtbf_s)
    return interval_s / mtbf_s * kept / -math.expm1(-period_s / mtbf_s)


def optimal_interval_s(blocking_s: float, mtbf_s: float, *, min_s: float, max_s: float) -> float:
    """The compute between checkpoints that maximises ``ettr_closed_form`` (Notes: ``M·y``,
    ``y`` the root of ``ln(1 − y) + y + δ/M = 0``), clamped to ``[min_s, max_s]``; ``max_s``
    when nothing fails."""
    if not math.isfinite(mtbf_s):
        return max_s
    ideal = mtbf_s * _daly_root(blocking_s / mtbf_s)
    return min(max(ideal, min_s), max_s)


def _daly_root(b: float) -> float:
    """The ``y`` in ``(0, 1)`` with ``ln(1 − y) + y + b = 0`` (0 for ``b ≤ 0``), by Newton's
    method from the right of the root: the left side is concave and falling, so each step
    stays right of it and closes in (from ``√(2b)``, or ``1 − e^{−1−b}`` when that is
    nearer; both lie right of the root)."""
    if b <= 0:
        return 0.0
    if b > 35.0:  # 1 − y = e^{−y−b} is below rounding: y is 1 − e^{−1−b} to double precision
        return -math.expm1(-1.0 - b)
    y = min(math.sqrt(2.0 * b), -math.expm1(-1.0 - b))
    for _ in range(100):
        if y < 1e-4:  # ln(1 − y) + y by its series: the sum would cancel to rounding
            g = b - y * y * (0.5 + y * (1.0 / 3.0 + y * (0.25 + y * 0.2)))
        else:
            g = math.log1p(-y) + y + b
        step = g * (1.0 - y) / y  # g / g', g' = −y / (1 − y)
        y += step
        if abs(step) <= 1e-15 * y:
            break
    return y


def storage_bytes_per_s(tb_per_s: float) -> float:
    return tb_per_s * BYTES_PER_TB


def host_copy_bytes_per_s(gb_per_s: float) -> float:
    return gb_per_s * BYTES_PER_GB
