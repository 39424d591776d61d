"""The fabric during a run: the switches out, each job's NIC cap and its bandwidth share, kept
up to date by what changed rather than re-derived after every switch fault or repair.

A switch change costs what it touches:

- a leaf fault or repair moves the NIC cap (the worst share of working leaf planes among its
  blocks) of the jobs with racks in its block only: O(those jobs × leaves out), in Python;
- whether any link could saturate is decided without looking at the links: each ring set's
  *peak* (the highest ratio of a link's full-rate load to its capacity with no switch out, one
  per tier, found once per placement) against the *floor* of each tier's capacity now (the
  most spines out in one pod, the cores out: O(1); a leaf out lowers its block's links and
  the NIC caps of the jobs crossing them alike). Peak under floor by ``ROOM`` or more: no link
  can saturate, and every job runs at its NIC cap — unchanged when no cap moved, so a spine or
  core fault under a light load re-divides nothing;
- otherwise the exact division runs (``bandwidth.divide``: O(jobs × links), and the max-min
  filling if a link saturates) on the links' capacities, derived on demand; the last answer
  stands when no cap moved and the changed links carry no job's traffic. The filling rounds
  are global (splitting them by which jobs share links would round differently), so a change
  on a saturated fabric re-divides every job.

New rings (racks moved) re-derive the caps, peaks and answer: O(jobs × links) per placement
change. Every answer is the exact division's to the bit: the margin is far above rounding.
"""

from __future__ import annotations

import collections

import numpy as np

from colossus_sim.fabric.bandwidth import (
    LIMIT_NIC,
    NO_LIMIT,
    JobBandwidth,
    divide,
    nic_caps,
    nic_limits,
    unsaturated,
)
from colossus_sim.fabric.layout import SWITCH_TIERS, FabricLayout, FloatArray, IntArray, SwitchTier
from colossus_sim.fabric.rings import Rings, build_rings, rebuilt_rings, replaced_rings

ROOM = 1e-9
"""Relative margin by which a tier's peak load must be under its capacity floor for the
shortcut: far above the rounding of a load summed over jobs (~1e-14 relative), so a link with
that room cannot saturate at any job's NIC cap (each at most its NICs' rate), in any order."""


class MostOut:
    """The most switches out at any one position of a tier (spines in one pod), kept in
    O(1) a change by counting the positions at each level."""

    def __init__(self) -> None:
        self.levels: collections.Counter[int] = collections.Counter()
        self.most = 0

    def moved(self, was: int, now: int) -> None:
        """One position went from ``was`` switches out to ``now``."""
        self.levels[was] -= 1
        self.levels[now] += 1
        self.most = max(self.most, now)
        while self.most and self.levels[self.most] <= 0:
            self.most -= 1


class FabricState:
    """The fabric during a run: capacities less failed switches, and each job's bandwidth."""

    def __init__(self, layout: FabricLayout) -> None:
        self.layout = layout
        self._leaves = [0] * layout.blocks
        """Leaf switches out in each block."""
        self._spines = [0] * layout.pods
        """Spine switches out in each pod."""
        self.failed_core = 0
        counts = layout.switch_counts()
        self.switches = np.array([counts[t] for t in SWITCH_TIERS], dtype=np.float64)
        self._blocks, self._pods = layout.blocks, layout.pods
        self._pod_blocks = [
            np.flatnonzero(layout.block_pod == p).tolist() for p in range(self._pods)
        ]
        self._base = np.concatenate(
            (layout.block_up_gbps, layout.block_up_gbps, layout.pod_up_gbps, layout.pod_up_gbps)
        )
        """Every link's capacity (block out, block in, pod out, pod in) with no switch out."""
        self._capacity: FloatArray | None = None
        """Every link's capacity now (derived on demand, dropped by a switch change)."""
        self._leaf_ok = [1.0] * layout.blocks
        """Each block's share of planes with a working leaf."""
        self._broken: set[int] = set()
        """Blocks with a leaf out."""
        self._spines_out = MostOut()
        self._touched_leaves: set[int] = set()
        self._touched_blocks: set[int] = set()
        self._touched_pods: set[int] = set()
        # The rings last divided, what was derived from them, and the answer.
        self._rings: Rings | None = None
        self._peaks = (0.0, 0.0)
        self._block_jobs: dict[int, list[int]] = {}
        self._nic_cap = np.ones(0)
        self._nic_limit = np.zeros(0, dtype=np.int64)
        self._answer: JobBandwidth | None = None
        self._answer_free = False
        """Whether the answer was every job at its NIC cap with room on every link."""

    # -- faults ----------------------------------------------------------------------
    @property
    def failed_leaf(self) -> IntArray:
        """Leaf switches out in each block."""
        return np.array(self._leaves, dtype=np.int64)

    @property
    def failed_spine(self) -> IntArray:
        """Spine switches out in each pod."""
        return np.array(self._spines, dtype=np.int64)

    def rack_health(self) -> FloatArray:
        """Share of each rack's NIC planes with a working leaf."""
        planes = self.layout.spec.planes
        return np.asarray(1.0 - self.failed_leaf[self.layout.rack_block] / planes)

    def capacities(self) -> tuple[FloatArray, FloatArray]:
        """(block uplink, pod uplink) Gb/s after failed leaves, spines and cores."""
        lay = self.layout
        planes = lay.spec.planes
        spine_share = self.failed_spine / (planes * lay.spines_per_pod)
        core_share = self.failed_core / (planes * lay.cores)
        block = lay.block_up_gbps * (1.0 - self.failed_leaf / planes)
        block = block * (1.0 - spine_share[lay.block_pod])
        pod = lay.pod_up_gbps * (1.0 - spine_share) * (1.0 - core_share)
        return np.maximum(block, 0.0), np.maximum(pod, 0.0)

    def fail(self, tier: SwitchTier, index: int, delta: int = 1) -> None:
        """A switch of ``tier`` at position ``index`` (block, pod, or any for core) fails
        (``delta=1``) or is repaired (``delta=-1``). O(1) but for a core switch (O(pods))."""
        self._capacity = None
        if tier is SwitchTier.LEAF:
            out = self._leaves[index] = self._leaves[index] + delta
            self._leaf_ok[index] = 1.0 - out / self.layout.spec.planes
            if out:
                self._broken.add(index)
            else:
                self._broken.discard(index)
            self._touched_leaves.add(index)
            self._touched_blocks.add(index)
        elif tier is SwitchTier.SPINE:
            out = self._spines[index] = self._spines[index] + delta
            self._spines_out.moved(out - delta, out)
            self._touched_blocks.update(self._pod_blocks[index])
            self._touched_pods.add(index)
        else:
            self.failed_core += delta
            self._touched_pods.update(range(self._pods))

    # -- rings -----------------------------------------------------------------------
    def rings(
        self,
        owner: IntArray,
        rank_key: IntArray,
        jobs: int,
        changed: IntArray | None = None,
        previous: Rings | None = None,
    ) -> Rings:
        """Each job's ring over its racks (``owner``, ``-1`` = free) in ``rank_key`` order:
        which links its hops cross and how much they want. Depends only on the placement.
        With ``previous`` and ``changed``, only the ``changed`` jobs' rings are rebuilt."""
        if previous is not None and changed is not None:
            if len(changed) == 0:
                return previous
            return rebuilt_rings(self.layout, owner, rank_key, previous, changed)
        return build_rings(self.layout, owner, rank_key, jobs)

    def replaced(
        self, rings: Rings, owner: IntArray, rank_key: IntArray, job: int, lost: int, new: int
    ) -> Rings:
        """``rings`` after rack ``new`` (of ``lost``'s GPU type, as spares are) took the rank
        of ``lost`` in ``job`` (``owner`` and ``rank_key`` already say so): only the two hops
        around that rank change (``rings.replaced_rings``)."""
        return replaced_rings(self.layout, rings, owner, rank_key, job, lost, new)

    # -- bandwidth -------------------------------------------------------------------
    def bandwidth(self, rings: Rings) -> JobBandwidth:
        """Every job's bandwidth share for its rings, given the switches working now."""
        moved = self._derive(rings) if rings is not self._rings else self._recap()
        blocks, pods = self._touched_blocks, self._touched_pods
        self._touched_blocks, self._touched_pods = set(), set()
        answer = self._answer
        roomy = self._roomy()
        if (
            answer is not None
            and not moved
            and ((roomy and self._answer_free) or not self._carried(rings, blocks, pods))
        ):
            return answer  # every job at its unchanged NIC cap, or the changed links unused
        if roomy:
            answer = unsaturated(rings, self._nic_cap, self._nic_limit)
        else:
            answer = divide(rings, self._links(), self._nic_cap, self._blocks)
        self._answer, self._answer_free = answer, roomy
        return answer

    def _derive(self, rings: Rings) -> bool:
        """Caps and peaks for new rings, from scratch (O(jobs × links))."""
        self._rings = rings
        self._touched_leaves.clear()
        self._block_jobs = {}
        leaf_ok = 1.0 - self.failed_leaf / self.layout.spec.planes
        self._nic_cap = nic_caps(rings.block_racks, leaf_ok)
        self._nic_limit = nic_limits(self._nic_cap)
        load, base = rings.full_load_gbps, self._base
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(load > 0, load / base, 0.0)
        cut = 2 * self._blocks
        self._peaks = (float(ratio[:cut].max(initial=0.0)), float(ratio[cut:].max(initial=0.0)))
        return True

    def _recap(self) -> bool:
        """Recompute the NIC caps of the jobs with racks under a leaf that changed; whether
        any moved. O(those jobs × leaves out); the caps and limits arrays are replaced, not
        written, as answers hold them."""
        if not self._touched_leaves:
            return False
        assert self._rings is not None
        block_racks = self._rings.block_racks
        jobs: set[int] = set()
        for leaf in self._touched_leaves:
            here = self._block_jobs.get(leaf)
            if here is None:
                here = self._block_jobs[leaf] = np.flatnonzero(block_racks[:, leaf]).tolist()
            jobs.update(here)
        self._touched_leaves.clear()
        ok, caps, limits = self._leaf_ok, self._nic_cap, self._nic_limit
        for job in sorted(jobs):
            cap = min([1.0, *(ok[b] for b in self._broken if block_racks[job, b])])
            if cap != caps[job]:
                if caps is self._nic_cap:
                    caps, limits = caps.copy(), limits.copy()
                caps[job] = cap
                limits[job] = LIMIT_NIC if cap < 1.0 else NO_LIMIT
        moved = caps is not self._nic_cap
        self._nic_cap, self._nic_limit = caps, limits
        return moved

    def _roomy(self) -> bool:
        """Whether no link can saturate: each tier's peak full-rate load (as a share of its
        capacity with nothing out) under the lowest share any of its links keeps of the
        spines and cores now. Leaves do not count: a leaf out takes the same share from its
        block's links as from the NIC cap of every job whose hops cross them (each such job
        has a rack in the block), so it never brings them nearer saturation."""
        planes = self.layout.spec.planes
        spine = self._spines_out.most / (planes * self.layout.spines_per_pod)
        core = self.failed_core / (planes * self.layout.cores)
        block_floor = 1.0 - spine
        pod_floor = (1.0 - spine) * (1.0 - core)
        peak_block, peak_pod = self._peaks
        return peak_block < block_floor * (1 - ROOM) and peak_pod < pod_floor * (1 - ROOM)

    def _carried(self, rings: Rings, blocks: set[int], pods: set[int]) -> bool:
        """Whether any job's hops cross a link of ``blocks`` or ``pods``."""
        nb, np_ = self._blocks, self._pods
        links = [*blocks, *(nb + b for b in blocks)]
        links += [2 * nb + p for p in pods] + [2 * nb + np_ + p for p in pods]
        return bool(rings.used_links[links].any())

    def _links(self) -> FloatArray:
        """Every link's capacity now (block out, block in, pod out, pod in)."""
        if self._capacity is None:
            block_cap, pod_cap = self.capacities()
            self._capacity = np.concatenate((block_cap, block_cap, pod_cap, pod_cap))
        return self._capacity
