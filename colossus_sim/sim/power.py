"""The power controller: each running job's clock under the facility cap, what every job's
racks draw, and the pre-check that the cap can be met at all.

Every rack draws its idle power unless a running job trains on it, so the site's IT draw is a
constant idle baseline plus, per running job, its curve at its clock (``perf/power.py``) less
its racks' idle draw. When the jobs at full clock fit under the cap every clock is 1;
otherwise ``perf.power.solve_clocks`` finds the highest clocks that fit (one clock for all, or
the lowest priority slowed first). The controller returns a decision (clocks and draws); the
engine re-times the jobs whose clock moved and the ledger banks energy. Cost: O(jobs × clock
grid) per decision, a job's curve computed once per plan and racks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from colossus_sim import fabric
from colossus_sim.cluster import ClusterState
from colossus_sim.config.scenario import PowerPolicy
from colossus_sim.kinds import JobStatus
from colossus_sim.perf import power
from colossus_sim.scenario import ResolvedScenario
from colossus_sim.sim.jobs import JobRun
from colossus_sim.sim.planning import Planner
from colossus_sim.units import W_PER_MW


@dataclass(frozen=True)
class JobCurve:
    """A running job's IT watts against clock on its racks and plan, its racks' idle draw,
    its full-clock draw above idle and its compute/communication swing at full clock."""

    curve_w: npt.NDArray[np.float64]
    full_w: float
    """``curve_w`` at full clock (the common case, read without indexing the array)."""
    racks_idle_w: float
    full_extra_w: float
    full_swing_w: float


class PowerDecision(NamedTuple):
    """Clocks of the running jobs and every job's IT draw (by job index), the site's IT draw and
    the swing of all running jobs between their phases."""

    clock_of: dict[int, float]
    """Each running job's clock, by job index."""
    draw_w: dict[int, float]
    """Each job's IT draw, by job index."""
    site_it_w: float
    swing_w: float
    extra_w: dict[int, float]
    """Each running job's draw above its racks' idle draw (what its start or stop moves)."""


class PowerController:
    """Chooses clocks under the cap for one run."""

    def __init__(self, resolved: ResolvedScenario, cluster: ClusterState) -> None:
        effective = resolved.effective
        self.resolved = resolved
        self.cluster = cluster
        self.pue = resolved.cluster.power.pue
        self.network_w = resolved.cluster.power.network_w_per_gpu
        self.cap_mw = effective.facility_cap_mw
        self.cap_it_w = self.cap_mw * W_PER_MW / self.pue
        self.by_priority = resolved.scenario.power.policy is PowerPolicy.PRIORITY
        self.rack_idle_w = effective.rack_idle_w
        self.floor_w = effective.floor_w
        """Each GPU type's power-smoothing floor while it trains (0: no smoothing)."""
        self.idle_baseline_w = sum(
            int(np.count_nonzero(cluster.gpu_type == i)) * self.rack_idle_w[name]
            for i, name in enumerate(cluster.type_names)
        )
        self.curves: dict[int, JobCurve] = {}
        self.all_full = False
        """Every running job was at full clock in the last full decision."""
        self.seen_allocation = -1
        """The cluster's allocation count at the last full decision."""
        self.min_share = 1.0
        """The lowest share of its NICs' bandwidth the fabric can leave a job with no switch
        out: every hop across both tapered tiers, saturated (``1 ÷ (leaf × core)``)."""
        if resolved.scenario.fabric.enabled:
            spec = fabric.effective_fabric(resolved.cluster.fabric, resolved.scenario.fabric)
            self.min_share = 1.0 / (spec.leaf_oversubscription * spec.core_oversubscription)

    def idle_draw_w(self, job: JobRun, racks: int) -> float:
        """What ``racks`` racks of ``job``'s type draw when it does not train on them."""
        return racks * self.rack_idle_w[job.gpu.name]

    def forget(self, job: JobRun) -> None:
        """``job``'s racks or plan changed: its curve is recomputed when next needed."""
        self.curves.pop(job.index, None)

    def curve(self, job: JobRun) -> JobCurve:
        """``job``'s curve on its current racks and plan (cached until they change)."""
        found = self.curves.get(job.index)
        if found is not None:
            return found
        assert job.step is not None and job.phases is not None
        racks = int(self.cluster.owned_count[job.index])
        curve_w = power.job_it_curve_w(
            job.gpu,
            job.phases,
            gpus_in_racks=racks * self.cluster.gpus_per_rack,
            training_gpus=job.step.gpus_used,
            network_w_per_gpu=self.network_w,
            floor_w=self.floor_w[job.gpu.name],
        )
        idle_w = self.idle_draw_w(job, racks)
        full_w = float(curve_w[-1])
        made = JobCurve(
            curve_w=curve_w,
            full_w=full_w,
            racks_idle_w=idle_w,
            full_extra_w=full_w - idle_w,
            full_swing_w=job.step.gpus_used
            * power.swing_w_per_gpu(job.gpu, 1.0, floor_w=self.floor_w[job.gpu.name]),
        )
        self.curves[job.index] = made
        return made

    def decide(self, jobs: Sequence[JobRun], owned: Sequence[int]) -> PowerDecision:
        """Clocks for the running ``jobs`` under the cap, and what each of ``jobs``' ``owned``
        racks draw: a running job its curve at its clock, any other its racks' idle draw
        (the jobs not given hold no racks)."""
        running = [j for j in jobs if j.status is JobStatus.RUNNING]
        cache = self.curves
        curves = [cache.get(j.index) or self.curve(j) for j in running]
        full = self.idle_baseline_w
        for c in curves:
            full += c.full_extra_w
        if full <= self.cap_it_w:
            clocks = [1.0] * len(running)
        else:
            clocks = power.solve_clocks(
                self.cap_it_w,
                self.idle_baseline_w - sum(c.racks_idle_w for c in curves),
                [c.curve_w for c in curves],
                [j.setup.priority for j in running],
                by_priority=self.by_priority,
            )
        rack_idle_w = self.rack_idle_w
        draw_w = {
            j.index: 0.0
            if j.status is JobStatus.RUNNING
            else owned[j.index] * rack_idle_w[j.gpu.name]
            for j in jobs
        }
        clock_of: dict[int, float] = {}
        extra_w: dict[int, float] = {}
        site = self.idle_baseline_w
        swing = 0.0
        for job, c, clock in zip(running, curves, clocks, strict=True):
            if clock == 1.0:
                new_w = c.full_w
                swing += c.full_swing_w
            else:
                new_w = float(c.curve_w[int(np.searchsorted(power.CLOCK_GRID, clock))])
                assert job.step is not None
                floor_w = self.floor_w[job.gpu.name]
                swing += job.step.gpus_used * power.swing_w_per_gpu(job.gpu, clock, floor_w=floor_w)
            draw_w[job.index] = new_w
            clock_of[job.index] = clock
            extra_w[job.index] = new_w - c.racks_idle_w
            site += new_w - c.racks_idle_w
        self.all_full = all(clock == 1.0 for clock in clocks)
        self.seen_allocation = self.cluster.allocation_changes
        return PowerDecision(
            clock_of=clock_of, draw_w=draw_w, site_it_w=site, swing_w=swing, extra_w=extra_w
        )

    def decide_one(self, jobs: Sequence[JobRun], job: JobRun, racks: int) -> PowerDecision | None:
        """``decide`` when only ``job`` (on ``racks`` racks) changed since the last decision
        and the others stand: their clocks were all full, no racks moved, every running job's
        curve is known, and at full clock they all still fit under the cap. Then ``decide``
        would give each other job the clock and draw it has, so only ``job``'s is returned
        (None: not so — ask ``decide``). The site's draw and swing are summed as ``decide``
        sums them. Cost: O(jobs), no array or dictionary per job."""
        if not self.all_full or self.cluster.allocation_changes != self.seen_allocation:
            return None
        cache = self.curves
        site = self.idle_baseline_w
        swing = 0.0
        for j in jobs:
            if j.status is JobStatus.RUNNING:
                c = cache.get(j.index)
                if c is None:
                    return None
                site += c.full_extra_w
                swing += c.full_swing_w
        if site > self.cap_it_w:
            return None
        if job.status is JobStatus.RUNNING:
            c = cache[job.index]
            return PowerDecision(
                clock_of={job.index: 1.0},
                draw_w={job.index: c.full_w},
                site_it_w=site,
                swing_w=swing,
                extra_w={job.index: c.full_w - c.racks_idle_w},
            )
        idle_w = racks * self.rack_idle_w[job.gpu.name]
        return PowerDecision(
            clock_of={}, draw_w={job.index: idle_w}, site_it_w=site, swing_w=swing, extra_w={}
        )

    def check_cap(self, jobs: Sequence[JobRun], planner: Planner) -> None:
        """Refuse a cap the site cannot meet even with every job running at its lowest clock.

        The worst instant a stream of jobs can reach: each GPU type's racks (less its spares)
        filled by the jobs that draw most per rack at the lowest clock, each on at most the
        racks it may hold, the rest idle (all jobs at once when they fit). A job's lowest-clock
        draw is taken at the higher of its full and its lowest fabric share: at that clock a
        GPU waiting on the network can draw more than one computing."""
        per_rack: dict[str, list[tuple[float, int]]] = {name: [] for name in self.rack_idle_w}
        for job in jobs:
            racks = max(job.want_racks, job.setup.max_racks or 0)
            step = planner.plan(job, racks)
            if step is None:
                continue
            slowest = planner.step_at(job, racks, step, self.min_share)
            lowest_w = max(
                float(
                    power.job_it_curve_w(
                        job.gpu,
                        power.StepPhases.of(at.breakdown_s),
                        gpus_in_racks=racks * self.cluster.gpus_per_rack,
                        training_gpus=at.gpus_used,
                        network_w_per_gpu=self.network_w,
                        floor_w=self.floor_w[job.gpu.name],
                    )[0]
                )
                for at in (step, slowest)
            )
            per_rack[job.gpu.name].append((lowest_w / racks, racks))
        worst_w = 0.0
        spares = self.resolved.scenario.scheduler.spare_racks
        for i, name in enumerate(self.cluster.type_names):
            total = int(np.count_nonzero(self.cluster.gpu_type == i))
            room = total - spares.get(name, 0)
            for draw_w, racks in sorted(per_rack[name], reverse=True):
                used = min(racks, room)
                worst_w += used * max(draw_w, self.rack_idle_w[name])
                room -= used
            worst_w += (total - (total - spares.get(name, 0) - room)) * self.rack_idle_w[name]
        floor_mw = power.facility_w(worst_w, self.pue) / W_PER_MW
        if floor_mw > self.cap_mw:
            whose = (
                "the cap"
                if self.resolved.effective.cap_from_scenario
                else f"the cluster's cap (power.facility_cap_mw of {self.resolved.cluster.name})"
            )
            raise self.resolved.error_at(
                "power.facility_cap_mw",
                f"{whose} is below the {floor_mw:,.6g} MW the site draws with every job running "
                "at the lowest clock the controller may set",
                got=f"{self.cap_mw:,.6g} MW",
                expected=f"at least {floor_mw:,.6g} MW, or fewer racks in the jobs",
            )
