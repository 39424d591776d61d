"""How the site's draw moves: how fast each change ramps (the ledger's per-event ramp
bookkeeping) and the jobs' in-step pulse trains (``perf/oscillation.py``).

A job's draw above its racks' idle draw moves when it starts, stops, restarts, stalls or is
throttled; all its GPUs move together (synchronous training), so the change ramps over the
GPU type's ``ramp_s`` — or, under a power-smoothing ramp limit (watts per second per GPU),
over ``|change per GPU| ÷ limit`` if that is longer. Several jobs changing at one event ramp
at once, so the site's IT draw starts moving at ``Σ change_j ÷ ramp_j`` (the step's initial
slope, its fastest) and has settled after the longest ``ramp_j``. ``RampBook`` keeps each
job's last draw and GPUs to find what changed. ``pulse_trains`` reads each running job's
phases at its clock as a pulse train; jobs that resumed at one instant with one period are
in lock-step. Cost: O(live jobs) per power decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from colossus_sim.kinds import JobStatus
from colossus_sim.perf import power
from colossus_sim.perf.oscillation import PulseTrain
from colossus_sim.sim.jobs import JobRun


class RampBook:
    """Each job's last draw above idle and training GPUs, to time the next change."""

    def __init__(self, ramp_s: Sequence[float], limit_w_per_s: float | None) -> None:
        self.ramp_s = list(ramp_s)
        """Each job's GPU ramp time (its GPU type's), by job index."""
        self.limit_w_per_s = limit_w_per_s
        """The smoothing ramp limit per GPU, if any."""
        self.last_w = [0.0] * len(self.ramp_s)
        self.last_gpus = [0] * len(self.ramp_s)

    def change(self, jobs: Sequence[JobRun], extra_w: dict[int, float]) -> tuple[float, float]:
        """(the site's IT ramp rate at the start of this change in W/s, signed; the longest
        ramp in s) for the live ``jobs`` whose draw above idle is now ``extra_w`` (0 if absent)."""
        rate_w_per_s = 0.0
        longest_s = 0.0
        last_w, last_gpus, limit = self.last_w, self.last_gpus, self.limit_w_per_s
        for job in jobs:
            i = job.index
            new_w = extra_w.get(i, 0.0)
            gpus = job.step.gpus_used if job.step is not None and new_w else 0
            delta_w = new_w - last_w[i]
            if delta_w:
                ramp_s = self.ramp_s[i]
                moving = max(gpus, last_gpus[i])
                if limit is not None and moving:
                    ramp_s = max(ramp_s, abs(delta_w) / moving / limit)
                rate_w_per_s += delta_w / ramp_s
                longest_s = max(longest_s, ramp_s)
                last_w[i] = new_w
            last_gpus[i] = gpus
        return rate_w_per_s, longest_s


@dataclass(frozen=True)
class PowerBook:
    """What the ledger needs to price and time the site's power: the PUE, how long the
    facility's cooling share takes to follow a step, and the jobs' ramps."""

    pue: float
    cooling_ramp_s: float
    ramps: RampBook


def pulse_trains(jobs: Sequence[JobRun]) -> list[PulseTrain]:
    """The running ``jobs``' in-step pulse trains: period and high share at their clock, the
    swing of their training GPUs (those of replicas still in), lock-step by resume instant."""
    trains = []
    for job in jobs:
        if job.status is not JobStatus.RUNNING or job.phases is None or job.step is None:
            continue
        phases, clock = job.phases, job.clock
        period_s = phases.step_s(clock)
        gpus = job.step.gpus_used * job.replica_share
        trains.append(
            PulseTrain(
                name=job.name,
                period_s=period_s,
                high_frac=(phases.clocked_s / clock + phases.busy_s) / period_s,
                swing_w=gpus * power.swing_w_per_gpu(job.gpu, clock),
                group=(job.since_s, round(period_s, 9)),
            )
        )
    return trains
