"""Each job's bandwidth: the max-min fair share of its NICs' rate its rings get on the links
they cross, what limits it, and the fabric's state during a run (failed switches).

Jobs sharing a link share it max-min fairly per flow (one flow per plane per hop): all of a
job's flows run at one rate (a synchronous collective runs at its slowest hop), and the rates
of all jobs rise together until a link saturates or a job reaches its NICs' speed (progressive
filling). Cost per re-allocation: O(jobs × links) numpy for the filling, at most jobs + 1
rounds; none when no link saturates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from pydantic import BaseModel, ConfigDict

from colossus_sim.config.cluster import FabricSpec
from colossus_sim.fabric.layout import SWITCH_TIERS, FabricLayout, FloatArray, IntArray, SwitchTier
from colossus_sim.fabric.rings import Rings, build_rings, merge_rings, replaced_rings


class Limit(StrEnum):
    """What limits a job's bandwidth (formats as its description)."""

    NONE = "none"
    NIC = "nic"
    LEAF_UPLINKS = "leaf uplinks"
    POD_UPLINKS = "pod uplinks to core"


LIMIT_NAMES: tuple[Limit, ...] = tuple(Limit)
"""The limits in code order: ``JobBandwidth.limit`` holds indices into it."""
NO_LIMIT = LIMIT_NAMES.index(Limit.NONE)
LIMIT_NIC = LIMIT_NAMES.index(Limit.NIC)
LIMIT_LEAF = LIMIT_NAMES.index(Limit.LEAF_UPLINKS)
LIMIT_CORE = LIMIT_NAMES.index(Limit.POD_UPLINKS)


def max_min_fractions(demand: FloatArray, capacity: FloatArray, cap: FloatArray) -> FloatArray:
    """Flow-level max-min fair rates by progressive filling: job ``j`` has ``demand[j, l]``
    flows on link ``l``, all at one rate ``x[j] ≤ cap[j]`` (a synchronous collective runs at
    its slowest flow). All unfrozen jobs' rates rise together; a job freezes when it reaches
    its cap or a link it uses saturates. Returns ``x``."""
    if np.all(cap @ demand <= capacity):
        return cap.astype(np.float64)  # no link saturates even at every job's own cap
    jobs = demand.shape[0]
    x = np.zeros(jobs)
    active = np.ones(jobs, dtype=bool)
    uses = demand > 0
    for _ in range(jobs + 1):
        if not active.any():
            break
        load = x @ demand
        rising = demand[active].sum(axis=0)
        headroom = np.maximum(capacity - load, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            link_t = np.where(rising > 0, headroom / rising, np.inf)
        step = min(float(link_t.min()) if link_t.size else math.inf, float((cap - x)[active].min()))
        x[active] += step
        saturated = link_t <= step * (1 + 1e-12)
        done = (x >= cap * (1 - 1e-12)) | (uses & saturated).any(axis=1)
        active &= ~done
    return np.minimum(x, cap)


class JobFabric(BaseModel):
    """One job's place in the fabric and the bandwidth it gets there."""

    model_config = ConfigDict(frozen=True)

    bw_frac: float
    """Share of its NICs' bandwidth its scale-out collectives get."""
    limit: str
    """What limits it, a ``Limit``'s text: ``none``, ``nic`` (a failed leaf), ``leaf
    uplinks`` or ``pod uplinks to core``."""
    pods: int
    cross_pod_frac: float
    """Share of its ring hops between racks in different pods."""
    cross_block_frac: float
    sharing_jobs: int
    """Other jobs on the saturated links that limit it."""
    oversubscription: float
    """Of the tier that limits it (1 when none does)."""


@dataclass(frozen=True)
class JobBandwidth:
    """Each job's share of its NIC bandwidth and why (arrays indexed by job)."""

    frac: FloatArray
    """Fraction of full NIC bandwidth its scale-out collectives get (1 = no loss)."""
    limit: IntArray
    """What limits it: an index into ``LIMIT_NAMES`` (``NO_LIMIT`` … ``LIMIT_CORE``)."""
    cross_pod_frac: FloatArray
    """Share of its ring hops that cross pods (0 for a job in one pod)."""
    cross_block_frac: FloatArray
    pods: IntArray
    """Pods its racks are in."""
    sharing: IntArray
    """Other jobs that share a link it is limited on."""

    def of(self, job: int, spec: FabricSpec) -> JobFabric:
        limit = int(self.limit[job])
        over = {LIMIT_LEAF: spec.leaf_oversubscription, LIMIT_CORE: spec.core_oversubscription}
        return JobFabric(
            bw_frac=float(self.frac[job]),
            limit=LIMIT_NAMES[limit],
            pods=int(self.pods[job]),
            cross_pod_frac=float(self.cross_pod_frac[job]),
            cross_block_frac=float(self.cross_block_frac[job]),
            sharing_jobs=int(self.sharing[job]),
            oversubscription=float(over.get(limit, 1.0)),
        )


class FabricState:
    """The fabric during a run: capacities less failed switches, and each job's bandwidth."""

    def __init__(self, layout: FabricLayout) -> None:
        self.layout = layout
        self.failed_leaf = np.zeros(layout.blocks, dtype=np.int64)
        self.failed_spine = np.zeros(layout.pods, dtype=np.int64)
        self.failed_core = 0
        counts = layout.switch_counts()
        self.switches = np.array([counts[t] for t in SWITCH_TIERS], dtype=np.float64)
        self._links: tuple[FloatArray, FloatArray] | None = None
        """(capacity of every link, each block's leaf share) while no switch changes."""
        self._leaf_changes = 0
        self._unsaturated: tuple[Rings, int, JobBandwidth] | None = None
        """The last answer in which no link saturated, with the rings and the count of leaf
        changes it was for: while both stand, each job's share is its NICs' (set by the
        leaves alone), so a spine or core change that saturates nothing leaves it as it is."""

    # -- faults ----------------------------------------------------------------------
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
        (``delta=1``) or is repaired (``delta=-1``)."""
        self._links = None
        if tier is SwitchTier.LEAF:
            self._leaf_changes += 1
            self.failed_leaf[index] += delta
        elif tier is SwitchTier.SPINE:
            self.failed_spine[index] += delta
        else:
            self.failed_core += delta

    # -- bandwidth -------------------------------------------------------------------
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
            fresh = build_rings(self.layout, owner, rank_key, jobs, changed)
            return merge_rings(fresh, previous, changed, jobs)
        return build_rings(self.layout, owner, rank_key, jobs, None)

    def replaced(
        self, rings: Rings, owner: IntArray, rank_key: IntArray, job: int, lost: int, new: int
    ) -> Rings:
        """``rings`` after rack ``new`` (of ``lost``'s GPU type, as spares are) took the rank
        of ``lost`` in ``job`` (``owner`` and ``rank_key`` already say so): only the two hops
        around that rank change (``rings.replaced_rings``)."""
        return replaced_rings(self.layout, rings, owner, rank_key, job, lost, new)

    def _same_unsaturated(self, rings: Rings, capacity: FloatArray) -> JobBandwidth | None:
        """The last unsaturated answer, if it was for these rings and leaves and no link
        saturates at ``capacity`` either."""
        last = self._unsaturated
        if last is None or last[0] is not rings or last[1] != self._leaf_changes:
            return None
        return last[2] if np.all(self._full_load(rings, last[2].frac) <= capacity) else None

    @staticmethod
    def _full_load(rings: Rings, nic_cap: FloatArray) -> FloatArray:
        """Gb/s on each link with every job at ``nic_cap`` of its NICs' rate."""
        if np.all(nic_cap == 1.0):
            return rings.full_load_gbps
        return np.asarray((nic_cap * rings.flow_gbps) @ rings.demand)

    def bandwidth(self, rings: Rings) -> JobBandwidth:
        """Every job's bandwidth share for its rings, given the switches working now."""
        demand = rings.demand
        jobs = demand.shape[0]
        blocks = self.layout.blocks
        if self._links is None:
            block_cap, pod_cap = self.capacities()
            self._links = (
                np.concatenate((block_cap, block_cap, pod_cap, pod_cap)),
                1.0 - self.failed_leaf / self.layout.spec.planes,
            )
        capacity, leaf_ok = self._links
        same = self._same_unsaturated(rings, capacity)
        if same is not None:
            return same  # every job still at its NICs' share
        nic_cap = np.ones(jobs)
        broken = np.flatnonzero(leaf_ok < 1.0)
        if len(broken):  # each job at the worst leaf share among its blocks
            nic_cap = np.where(rings.block_racks[:, broken] > 0, leaf_ok[broken], 1.0).min(
                axis=1, initial=1.0
            )
        if np.all(self._full_load(rings, nic_cap) <= capacity):
            limited = nic_cap < 1.0  # nothing saturates: each job at its own NICs' share
            answer = JobBandwidth(
                frac=nic_cap,
                limit=np.where(limited, LIMIT_NIC, NO_LIMIT).astype(np.int64),
                cross_pod_frac=rings.cross_pod_frac,
                cross_block_frac=rings.cross_block_frac,
                pods=rings.pods,
                sharing=np.zeros(jobs, dtype=np.int64),
            )
            self._unsaturated = (rings, self._leaf_changes, answer)
            return answer
        self._unsaturated = None
        rate = max_min_fractions(demand, capacity, nic_cap * rings.flow_gbps)
        frac = rate / rings.flow_gbps
        uses = demand > 0
        saturated = rate @ demand >= capacity * (1 - 1e-9)
        on_sat = uses & saturated
        leaf_sat = on_sat[:, : 2 * blocks].any(axis=1)
        core_sat = on_sat[:, 2 * blocks :].any(axis=1)
        limit = np.select(
            [frac >= 1.0 - 1e-12, frac >= nic_cap * (1 - 1e-12), core_sat, leaf_sat],
            [NO_LIMIT, LIMIT_NIC, LIMIT_CORE, LIMIT_LEAF],
            NO_LIMIT,
        ).astype(np.int64)
        users = uses.astype(np.int64)
        together = ((users * saturated) @ users.T) > 0
        sharing = np.where(limit == NO_LIMIT, 0, together.sum(axis=1) - together.diagonal())
        return JobBandwidth(
            frac=frac,
            limit=limit,
            cross_pod_frac=rings.cross_pod_frac,
            cross_block_frac=rings.cross_block_frac,
            pods=rings.pods,
            sharing=sharing.astype(np.int64),
        )
