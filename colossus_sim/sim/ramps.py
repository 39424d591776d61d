"""How the site's draw moves: how fast each change ramps and what ramping costs (the ledger's
per-event bookkeeping), and the jobs' in-step pulse trains (``perf/oscillation.py``).

A job's draw above its racks' idle draw moves when it starts, stops, restarts, stalls or is
throttled; all its GPUs move together (synchronous training), so the change ramps over the
GPU type's ``ramp_s``. Under power smoothing (a what-if) it ramps at most
``ramp_limit_w_per_s`` per GPU, so over ``|change per GPU| ÷ limit`` if that is longer (the
limit covers the rack's whole change, its host following its GPUs). A staggered restart
brings a job's groups up one after another over ``restart_stagger_s`` *before* training
resumes, so a rise from idle ramps over that long without delaying the job. Several jobs
changing at one event ramp at once: the site's IT draw starts moving at ``Σ change_j ÷ ramp_j``
(the step's fastest) and has settled after the longest ``ramp_j``.

What ramping costs: a fall burns ``½·|change|·ramp`` more than a step would (the GPUs work
their way down), a staggered rise ``½·change·ramp`` (the early groups draw before training
resumes); a rise held back by the limit draws less but delays the job's work by about
``½·ramp`` (its GPUs reach full power only at the end): ``held`` says by how much, and the
lifecycle holds the job's progress back by that. ``RampBook`` keeps each job's last
draw and GPUs to find what changed. ``pulse_trains`` reads each running job's phases at its
clock (each at least the smoothing floor) as a pulse train; jobs that resumed at one instant
with one period are in lock-step. Cost: O(live jobs) per power decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from colossus_sim.config.scenario import StorageSpec
from colossus_sim.kinds import JobStatus
from colossus_sim.perf import power
from colossus_sim.perf.oscillation import PulseTrain
from colossus_sim.scenario import ResolvedScenario
from colossus_sim.sim.jobs import JobRun


class RampBook:
    """Each job's last draw above idle and training GPUs, to time and price the next change."""

    def __init__(
        self, ramp_s: Sequence[float], limit_w_per_s: float | None, stagger_s: float = 0.0
    ) -> None:
        self.ramp_s = list(ramp_s)
        """Each job's GPU ramp time (its GPU type's), by job index."""
        self.limit_w_per_s = limit_w_per_s
        """The smoothing ramp limit per GPU, if any."""
        self.stagger_s = stagger_s
        self.last_w = [0.0] * len(self.ramp_s)
        self.last_gpus = [0] * len(self.ramp_s)
        self.ramp_energy_j = 0.0
        """IT energy the ramps add over instant steps (falls worked down, staggered rises)."""
        self.delay_s = 0.0
        """Work delayed by rises the smoothing limit held back (job-seconds)."""
        self.held: dict[int, float] = {}
        """The last change's delays: seconds of work each job's held-back rise costs it
        (the lifecycle holds the job's progress back by as much)."""

    def change(self, jobs: Sequence[JobRun], extra_w: dict[int, float]) -> tuple[float, float]:
        """(the site's IT ramp rate at the start of this change in W/s, signed; the longest
        ramp in s) for ``jobs`` (at least those whose draw moved) whose draw above idle is now
        ``extra_w`` (0 if absent); books what each ramp costs."""
        rate_w_per_s = 0.0
        longest_s = 0.0
        self.held = {}
        last_w, last_gpus, get, limit = self.last_w, self.last_gpus, extra_w.get, self.limit_w_per_s
        for job in jobs:
            i = job.index
            new_w, old_w = get(i, 0.0), last_w[i]
            if new_w == old_w:
                continue  # its racks moved between idle draws, or only its clock flag
            gpus = job.step.gpus_used if job.step is not None and new_w else 0
            delta_w = new_w - old_w
            own_s = ramp_s = self.ramp_s[i]
            moving = gpus if gpus > last_gpus[i] else last_gpus[i]
            if limit is not None and moving:
                ramp_s = max(ramp_s, abs(delta_w) / moving / limit)
            if delta_w < 0:  # worked down: burns half the fall over its ramp
                self.ramp_energy_j -= 0.5 * delta_w * ramp_s
            elif old_w == 0.0 and self.stagger_s > 0:  # from idle, groups brought up early
                ramp_s = max(ramp_s, self.stagger_s)
                self.ramp_energy_j += 0.5 * delta_w * ramp_s
            elif ramp_s > own_s:  # held back by the limit: its work waits half the ramp
                self.delay_s += 0.5 * ramp_s
                self.held[i] = 0.5 * ramp_s
            rate_w_per_s += delta_w / ramp_s
            if ramp_s > longest_s:
                longest_s = ramp_s
            last_w[i], last_gpus[i] = new_w, gpus
        return rate_w_per_s, longest_s


@dataclass(frozen=True)
class PowerBook:
    """What the ledger needs to price and time the site's power: the PUE, how long the
    facility's cooling share takes to follow a step, the jobs' ramps, each GPU type's
    smoothing floor, and the on-site storage if any."""

    pue: float
    cooling_ramp_s: float
    ramps: RampBook
    floor_w: Mapping[str, float]
    storage: StorageSpec | None = None


def power_book(resolved: ResolvedScenario, jobs: Sequence[JobRun], pue: float) -> PowerBook:
    """The ``PowerBook`` of a run of ``jobs`` under ``resolved``'s power settings."""
    power_spec = resolved.scenario.power
    smoothing = power_spec.smoothing
    return PowerBook(
        pue=pue,
        cooling_ramp_s=resolved.cluster.power.cooling_ramp_s,
        ramps=RampBook(
            [j.gpu.power.ramp_s for j in jobs],
            smoothing.ramp_limit_w_per_s if smoothing else None,
            power_spec.restart_stagger_s,
        ),
        floor_w=resolved.effective.floor_w,
        storage=power_spec.storage,
    )


def pulse_trains(jobs: Sequence[JobRun], floor_w: Mapping[str, float]) -> list[PulseTrain]:
    """The running ``jobs``' in-step pulse trains: period and high share at their clock, the
    swing of their training GPUs (those of replicas still in; each phase at least its GPU
    type's smoothing floor), lock-step by resume instant."""
    trains = []
    for job in jobs:
        if job.status is not JobStatus.RUNNING or job.phases is None or job.step is None:
            continue
        phases, clock = job.phases, job.clock
        period_s = phases.step_s(clock)
        gpus = job.step.gpus_used * job.replica_share
        swing_w = power.swing_w_per_gpu(job.gpu, clock, floor_w=floor_w.get(job.gpu.name, 0.0))
        trains.append(
            PulseTrain(
                name=job.name,
                period_s=period_s,
                high_frac=(phases.clocked_s / clock + phases.busy_s) / period_s,
                swing_w=gpus * swing_w,
                group=(job.since_s, round(period_s, 9)),
            )
        )
    return trains
