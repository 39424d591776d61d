"""Jobs' collective rings over their racks: which links each ring hop crosses and how many
flows it puts there. A job's scale-out collectives run as a ring over its racks in rank order
(NCCL's ring over the inter-domain ranks); a hop between leaf blocks crosses both blocks'
uplinks, one between pods both pods' uplinks to the core.

Depends only on the placement, not on failed switches. Cost: O(racks) numpy per whole build
(a bucket pass and a radix sort); to build the moved jobs' rows again, O(racks) numpy to find
their racks and O(their racks) for the rows, plus copying the others' (jobs × links); O(the
job's racks) when one spare rack replaces one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from colossus_sim.fabric.layout import BoolArray, FabricLayout, FloatArray, IntArray


@dataclass(frozen=True)
class Rings:
    """Jobs' rings over their racks: per job and link (block out, block in, pod out, pod in)
    the Gb/s its crossing hops want at full rate; which blocks and how many pods it uses.
    Immutable, so what is derived from it is computed once per instance."""

    demand: FloatArray
    """Flows (one per plane per crossing hop) per job and link."""
    flow_gbps: FloatArray
    """A flow's full rate: the job's NIC speed."""
    block_racks: IntArray
    """Racks per job and leaf block."""
    pod_racks: IntArray
    size: IntArray
    """Racks (and so ring hops) per job."""
    cross_pod_hops: IntArray
    cross_block_hops: IntArray

    @functools.cached_property
    def job_blocks(self) -> BoolArray:
        return np.asarray(self.block_racks > 0)

    @functools.cached_property
    def pods(self) -> IntArray:
        return np.asarray((self.pod_racks > 0).sum(axis=1), dtype=np.int64)

    def _frac(self, hops: IntArray) -> FloatArray:
        return np.where(self.size > 1, hops / np.maximum(self.size, 1), 0.0)

    @functools.cached_property
    def cross_pod_frac(self) -> FloatArray:
        return self._frac(self.cross_pod_hops)

    @functools.cached_property
    def cross_block_frac(self) -> FloatArray:
        return self._frac(self.cross_block_hops)

    @functools.cached_property
    def nobody(self) -> IntArray:
        """A zero per job (shared by the answers that need one, so read only)."""
        zeros = np.zeros(self.size.shape[0], dtype=np.int64)
        zeros.flags.writeable = False
        return zeros

    @functools.cached_property
    def used_links(self) -> BoolArray:
        """Whether any job's hops cross each link."""
        return np.asarray(self.demand.any(axis=0))

    @functools.cached_property
    def blocks_in_use(self) -> BoolArray:
        """Whether any job has a rack in each leaf block."""
        return np.asarray(self.block_racks.any(axis=0))

    @functools.cached_property
    def pods_in_use(self) -> BoolArray:
        return np.asarray(self.pod_racks.any(axis=0))

    @functools.cached_property
    def crosses_pods(self) -> bool:
        """Whether any job's ring has a hop between pods."""
        return bool(self.cross_pod_hops.any())

    @functools.cached_property
    def full_load_gbps(self) -> FloatArray:
        """Gb/s each link carries with every job at its NICs' full rate."""
        return np.asarray(self.flow_gbps @ self.demand)


def build_rings(lay: FabricLayout, owner: IntArray, rank_key: IntArray, jobs: int) -> Rings:
    """Each of ``jobs`` jobs' ring over its racks (``owner``: a job's row, ``-1`` = none) in
    ``rank_key`` order."""
    held = np.flatnonzero(owner >= 0)
    # Held racks in rank-key order (keys are unique among held racks): a bucket pass when the
    # keys are dense, else a sort of the few (keys grow over a long stream's hand-outs).
    keys = rank_key[held]
    top = int(keys.max(initial=0))
    if top > 4 * len(keys) + 1024:
        by_key = held[np.argsort(keys)]
    else:
        slots = np.full(top + 1, -1, dtype=np.int64)
        slots[keys] = held
        by_key = slots[slots >= 0]
    small = np.int16 if jobs < 2**15 else np.int64
    by_job = np.argsort(owner[by_key].astype(small), kind="stable")
    racks = by_key[by_job]
    job = owner[racks]
    size = np.bincount(job, minlength=jobs)
    ends = np.cumsum(size)
    nxt = np.arange(1, len(racks) + 1)
    has = size > 0
    nxt[ends[has] - 1] = (ends - size)[has]  # each ring closes on its first rack
    nxt_racks = racks[nxt] if len(racks) else racks
    src_block, dst_block = lay.rack_block[racks], lay.rack_block[nxt_racks]
    src_pod, dst_pod = lay.rack_pod[racks], lay.rack_pod[nxt_racks]
    cross_block = src_block != dst_block
    cross_pod = src_pod != dst_pod
    flows = np.full(len(racks), float(lay.spec.planes))  # one flow per plane per hop
    blocks, pods = lay.blocks, lay.pods
    links = 2 * blocks + 2 * pods
    size_all = jobs * links
    demand = np.zeros(size_all)
    for mask, link in (
        (cross_block, src_block),
        (cross_block, blocks + dst_block),
        (cross_pod, 2 * blocks + src_pod),
        (cross_pod, 2 * blocks + pods + dst_pod),
    ):
        demand += np.bincount(
            job[mask] * links + link[mask], weights=flows[mask], minlength=size_all
        )
    flow_gbps = np.ones(jobs)
    if len(racks):
        np.maximum.at(flow_gbps, job, lay.rack_nic_gbps[racks] / lay.spec.planes)
    return Rings(
        flow_gbps=flow_gbps,
        demand=demand.reshape(jobs, links),
        block_racks=np.bincount(job * blocks + src_block, minlength=jobs * blocks).reshape(
            jobs, blocks
        ),
        pod_racks=np.bincount(job * pods + src_pod, minlength=jobs * pods).reshape(jobs, pods),
        size=size.astype(np.int64),
        cross_pod_hops=np.bincount(job[cross_pod], minlength=jobs).astype(np.int64),
        cross_block_hops=np.bincount(job[cross_block], minlength=jobs).astype(np.int64),
    )


def rebuilt_rings(
    lay: FabricLayout, owner: IntArray, rank_key: IntArray, previous: Rings, changed: IntArray
) -> Rings:
    """``previous`` with the rows of the ``changed`` jobs (sorted) built again from where
    their racks are now: only their racks are visited and only their rows made, in the same
    order a whole build takes them (so the same sums). O(racks) numpy to find theirs, O(their
    racks) to build, O(jobs × links) to copy the rest."""
    jobs = previous.size.shape[0]
    row = np.full(jobs + 1, -1, dtype=np.int64)
    row[changed + 1] = np.arange(len(changed))
    fresh = build_rings(lay, row[owner + 1], rank_key, len(changed))
    fields = {}
    for name in Rings.__dataclass_fields__:
        merged = getattr(previous, name).copy()
        merged[changed] = getattr(fresh, name)
        fields[name] = merged
    return Rings(**fields)


def replaced_rings(
    lay: FabricLayout,
    rings: Rings,
    owner: IntArray,
    rank_key: IntArray,
    job: int,
    lost: int,
    new: int,
) -> Rings:
    """``rings`` after rack ``new`` (of ``lost``'s GPU type, as spares are) took the rank
    of ``lost`` in ``job`` (``owner`` and ``rank_key`` already say so): only the two hops
    around that rank change. O(the job's racks) for finding its neighbours, no sort, no
    rebuild."""
    demand = rings.demand.copy()
    block_racks, pod_racks = rings.block_racks.copy(), rings.pod_racks.copy()
    cross_pod, cross_block = rings.cross_pod_hops.copy(), rings.cross_block_hops.copy()
    block_racks[job, lay.rack_block[lost]] -= 1
    block_racks[job, lay.rack_block[new]] += 1
    pod_racks[job, lay.rack_pod[lost]] -= 1
    pod_racks[job, lay.rack_pod[new]] += 1
    if rings.size[job] > 1:
        racks = np.flatnonzero(owner == job)
        keys = rank_key[racks]
        key = rank_key[new]
        before, after = keys < key, keys > key
        prev = racks[np.argmax(np.where(before, keys, -1))] if before.any() else None
        nxt = racks[np.argmin(np.where(after, keys, keys.max() + 1))] if after.any() else None
        if prev is None:  # the ring wraps: the last rank precedes the first
            prev = racks[np.argmax(keys)]
        if nxt is None:
            nxt = racks[np.argmin(keys)]
        blocks, pods = lay.blocks, lay.pods
        planes = float(lay.spec.planes)
        for a, b, sign in ((prev, lost, -1), (lost, nxt, -1), (prev, new, 1), (new, nxt, 1)):
            if lay.rack_block[a] != lay.rack_block[b]:
                demand[job, lay.rack_block[a]] += sign * planes
                demand[job, blocks + lay.rack_block[b]] += sign * planes
                cross_block[job] += sign
            if lay.rack_pod[a] != lay.rack_pod[b]:
                demand[job, 2 * blocks + lay.rack_pod[a]] += sign * planes
                demand[job, 2 * blocks + pods + lay.rack_pod[b]] += sign * planes
                cross_pod[job] += sign
    return Rings(
        flow_gbps=rings.flow_gbps,
        demand=demand,
        block_racks=block_racks,
        pod_racks=pod_racks,
        size=rings.size,
        cross_pod_hops=cross_pod,
        cross_block_hops=cross_block,
    )
