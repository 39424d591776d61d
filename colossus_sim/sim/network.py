"""The network as the simulation sees it: each job's share of its NIC bandwidth from where its
racks sit (over ``fabric/``), and switch faults.

After an event that moved racks, the jobs' collective rings are brought up to date — rebuilt
for jobs whose racks moved, patched for a one-rack replacement (a spare swap) — and the shares
divided anew for them; after a switch fault or repair on a switch some ring crosses, the
shares follow what it touched (``fabric/state.py``); after any other event nothing is
recomputed. A ``switch``-domain failure takes out one switch on the failed rack's path (its
block's leaf, its pod's spine or a core switch), the tier drawn in proportion to the switches
in each from the fabric's own random stream, so turning the fabric off leaves a seed's
failures unchanged. Cost: O(racks) numpy plus O(jobs × links) when racks move; a few
microseconds for a switch change under a light load (O(jobs behind a leaf)), O(jobs × links)
per round of the max-min filling when a link can saturate.
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

SLOTS_AT_START = 64
"""Rows of the fabric's arrays at first (doubled when more jobs hold racks at once)."""


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
        # The fabric's arrays have a row per slot, not per job: a job holds a slot while it
        # holds racks (its own index when that is free), so a long stream of jobs costs what
        # the jobs running at once cost.
        self.slots = min(jobs, SLOTS_AT_START)
        self.slot_of: dict[int, int] = {}
        self.free_slots = set(range(self.slots))
        self.slot_lookup = np.full(jobs + 1, -1, dtype=np.int64)
        """Slot by job index + 1 (index 0: a free rack's owner, -1)."""

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
            slot = self.slot_of[job.index]
            frac = float(bw.frac[slot])
            settled = job.fabric_first is not None or job.status is not JobStatus.RUNNING
            if settled and frac == job.fabric_frac and job.step_frac_of is job.flat_step:
                continue  # same plan, same share: its step stands
            wanted = planner.at_share(job, frac)
            job.step_frac_of = job.flat_step
            if job.fabric_first is None and job.status is JobStatus.RUNNING:
                job.fabric_first = self.describe(bw, slot)
                job.first_step, job.first_flat_step = wanted, job.flat_step
            if wanted is job.step:
                continue
            detail = None
            if abs(frac - job.fabric_frac) >= 5e-4:
                limit = fabric.LIMIT_NAMES[int(bw.limit[slot])]
                detail = f"bandwidth {job.fabric_frac:.1%} → {frac:.1%} ({limit})"
            changed.append(Retime(job, frac, wanted, detail))
        return changed

    def describe(self, bw: fabric.JobBandwidth, slot: int) -> fabric.JobFabric:
        assert self.state is not None
        return bw.of(slot, self.state.layout.spec)

    def _update_rings(self, cluster: ClusterState) -> None:
        """Rebuild the rings of jobs whose racks moved; patch the two hops of a replaced
        rack in place (the common case: a spare swap)."""
        assert self.state is not None
        replacements = list(cluster.replacements)
        moved = set(cluster.changed_jobs) | {job for job, _, _ in replacements}
        changed = set(cluster.changed_jobs)
        cluster.changed_jobs.clear()
        cluster.replacements.clear()
        slots_before = self.slots
        touched = self._assign_slots(cluster, moved)
        owner = self.slot_lookup[cluster.owner + 1]
        rings = self.rings
        if rings is None or self.slots != slots_before:
            self.rings = self.state.rings(owner, cluster.rank_key, self.slots)
            return
        per_job = collections.Counter(job for job, _, _ in replacements)
        for job, lost, new in replacements:
            if job in changed or per_job[job] > 1:
                changed.add(job)  # other moves too: rebuild the job's ring whole
                continue
            slot = self.slot_of[job]
            rings = self.state.replaced(rings, owner, cluster.rank_key, slot, lost, new)
        rebuild = {self.slot_of[j] for j in changed if j in self.slot_of} | touched
        self.rings = self.state.rings(
            owner,
            cluster.rank_key,
            self.slots,
            changed=np.array(sorted(rebuild), dtype=np.int64),
            previous=rings,
        )

    def _assign_slots(self, cluster: ClusterState, moved: set[int]) -> set[int]:
        """A slot for each of the ``moved`` jobs that now holds racks, and back to the free
        slots for one that holds none; returns the slots whose job changed."""
        touched = set()
        for job in sorted(moved):
            slot = self.slot_of.get(job)
            holds = bool(cluster.owned_count[job])
            if holds and slot is None:
                if not self.free_slots:  # more jobs hold racks at once than rows: double
                    grown = min(2 * self.slots, self.jobs)
                    self.free_slots.update(range(self.slots, grown))
                    self.slots = grown
                slot = job if job in self.free_slots else min(self.free_slots)
                self.free_slots.discard(slot)
                self.slot_of[job] = slot
                self.slot_lookup[job + 1] = slot
                touched.add(slot)
            elif not holds and slot is not None:
                del self.slot_of[job]
                self.slot_lookup[job + 1] = -1
                self.free_slots.add(slot)
                touched.add(slot)
        return touched

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
        self.dirty = self.dirty or self._carries_traffic(fault)

    def _carries_traffic(self, fault: SwitchFault) -> bool:
        """Whether any job's ring crosses ``fault``'s switch: a leaf serves its block's racks
        (a ring's hops leave and enter a block through its racks' leaves), a spine its pod's,
        the core every hop between pods. A switch no ring crosses changes no job's share (a
        job placed later is measured against the fabric as it is then)."""
        rings = self.rings
        if rings is None:
            return True
        if fault.tier is fabric.SwitchTier.LEAF:
            return bool(rings.blocks_in_use[fault.index])
        if fault.tier is fabric.SwitchTier.SPINE:
            return bool(rings.pods_in_use[fault.index])
        return rings.crosses_pods
