"""The network as the simulation sees it: each job's share of its NIC bandwidth from where its
racks sit (over ``fabric/``), and switch faults.

After an event that moved racks or broke or repaired a switch, the jobs' collective rings are
brought up to date — rebuilt for jobs whose racks moved, patched in place for a one-rack
replacement (a spare swap) — and every job's max-min share is recomputed; after any other
event nothing is recomputed. A ``switch``-domain failure takes out one switch on the failed
rack's path (its block's leaf, its pod's spine or a core switch), the tier drawn in
proportion to the switches in each from the fabric's own random stream, so turning the fabric
off leaves a seed's failures unchanged. Cost: O(racks) numpy plus O(jobs × links) per
recomputation.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from colossus_sim import fabric
from colossus_sim.cluster import ClusterState
from colossus_sim.kinds import JobStatus
from colossus_sim.perf.step_time import StepBreakdown
from colossus_sim.scenario import ResolvedScenario
from colossus_sim.sim.jobs import JobRun
from colossus_sim.sim.planning import Planner


class Retime(NamedTuple):
    """A job's step at its new bandwidth share; ``detail``: the timeline's note of the
    change, when the log's 0.1% can show it."""

    job: JobRun
    frac: float
    step: StepBreakdown
    detail: str | None


@dataclass(frozen=True)
class SwitchFault:
    """One switch out: its tier and its index within the tier."""

    tier: fabric.SwitchTier
    index: int


class Network:
    """The fabric's state during one run (absent when the scenario turns the fabric off)."""

    def __init__(self, resolved: ResolvedScenario, seed: int, jobs: int) -> None:
        spec = resolved.scenario.fabric
        self.jobs = jobs
        self.state: fabric.FabricState | None = None
        if spec.enabled:
            self.state = fabric.FabricState(fabric.site_layout(resolved.cluster, spec))
        self.rng = np.random.default_rng([seed, 1])
        self.switch_faults = self.state is not None and spec.faults
        self.tier_cum = np.zeros(0)
        if self.state is not None:
            self.tier_cum = np.cumsum(self.state.switches / self.state.switches.sum())
        self.dirty = True
        self.seen_changes = -1
        self.rings: fabric.Rings | None = None

    def shares(self, cluster: ClusterState) -> fabric.JobBandwidth | None:
        """Every job's bandwidth share if racks moved or a switch changed since last asked;
        None when nothing did (or the fabric is off)."""
        if self.state is None:
            return None
        moved = cluster.allocation_changes != self.seen_changes
        if not (self.dirty or moved):
            return None
        self.dirty = False
        if moved or self.rings is None:
            self.seen_changes = cluster.allocation_changes
            self._update_rings(cluster)
        assert self.rings is not None
        return self.state.bandwidth(self.rings)

    def retimes(
        self,
        bw: fabric.JobBandwidth,
        jobs: Iterable[JobRun],
        cluster: ClusterState,
        planner: Planner,
    ) -> list[Retime]:
        """The jobs whose step changes with the shares ``bw``. A job's first running stretch
        also records where it ran (its fabric and first step)."""
        changed = []
        for job in jobs:
            if job.flat_step is None or cluster.owned_count[job.index] == 0:
                continue
            frac = float(bw.frac[job.index])
            settled = job.fabric_first is not None or job.status is not JobStatus.RUNNING
            if settled and frac == job.fabric_frac and job.step_frac_of is job.flat_step:
                continue  # same plan, same share: its step stands
            wanted = planner.at_share(job, frac)
            job.step_frac_of = job.flat_step
            if job.fabric_first is None and job.status is JobStatus.RUNNING:
                job.fabric_first = self.describe(bw, job.index)
                job.first_step, job.first_flat_step = wanted, job.flat_step
            if wanted is job.step:
                continue
            detail = None
            if abs(frac - job.fabric_frac) >= 5e-4:
                limit = fabric.LIMIT_NAMES[int(bw.limit[job.index])]
                detail = f"bandwidth {job.fabric_frac:.1%} → {frac:.1%} ({limit})"
            changed.append(Retime(job, frac, wanted, detail))
        return changed

    def describe(self, bw: fabric.JobBandwidth, job: int) -> fabric.JobFabric:
        assert self.state is not None
        return bw.of(job, self.state.layout.spec)

    def _update_rings(self, cluster: ClusterState) -> None:
        """Rebuild the rings of jobs whose racks moved; patch the two hops of a replaced
        rack in place (the common case: a spare swap)."""
        assert self.state is not None
        changed = set(cluster.changed_jobs)
        replacements = list(cluster.replacements)
        cluster.changed_jobs.clear()
        cluster.replacements.clear()
        rings = self.rings
        if rings is None:
            self.rings = self.state.rings(cluster.owner, cluster.rank_key, self.jobs)
            return
        per_job = collections.Counter(job for job, _, _ in replacements)
        for job, lost, new in replacements:
            if job in changed or per_job[job] > 1:
                changed.add(job)  # other moves too: rebuild the job's ring whole
                continue
            rings = self.state.replaced(rings, cluster.owner, cluster.rank_key, job, lost, new)
        self.rings = self.state.rings(
            cluster.owner,
            cluster.rank_key,
            self.jobs,
            changed=np.array(sorted(changed), dtype=np.int64),
            previous=rings,
        )

    def switch_for(self, rack: int) -> SwitchFault | None:
        """The switch a network failure on ``rack`` takes out (None: faults are off)."""
        if self.state is None or not self.switch_faults:
            return None
        u = self.rng.random()
        last = len(fabric.SWITCH_TIERS) - 1
        tier_i = min(int(np.searchsorted(self.tier_cum, u, side="right")), last)
        layout = self.state.layout
        index = (int(layout.rack_block[rack]), int(layout.rack_pod[rack]), 0)[tier_i]
        return SwitchFault(fabric.SWITCH_TIERS[tier_i], index)

    def set_switch(self, fault: SwitchFault, *, broken: bool) -> None:
        """Take ``fault``'s switch out, or put it back."""
        assert self.state is not None
        self.state.fail(fault.tier, fault.index, delta=1 if broken else -1)
        self.dirty = True
