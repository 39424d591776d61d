"""Each job's bandwidth: the max-min fair share of its NICs' rate its rings get on the links
they cross, and what limits it, as pure functions of the rings, the links' capacities and each
job's NIC cap (``fabric/state.py`` keeps those up to date during a run).

Jobs sharing a link share it max-min fairly per flow (one flow per plane per hop): all of a
job's flows run at one rate (a synchronous collective runs at its slowest hop), and the rates
of all jobs rise together until a link saturates or a job reaches its NICs' speed (progressive
filling). Cost of ``divide``: O(jobs × links) numpy, and for the filling at most jobs + 1
rounds of that; the filling is skipped when no link saturates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from pydantic import BaseModel, ConfigDict

from colossus_sim.config.cluster import FabricSpec
from colossus_sim.fabric.layout import FloatArray, IntArray
from colossus_sim.fabric.rings import Rings


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


def nic_caps(block_racks: IntArray, leaf_ok: FloatArray) -> FloatArray:
    """Each row's (job's) NIC cap: the worst ``leaf_ok`` (share of planes with a working leaf)
    among the blocks it has racks in; its rings run at their slowest rack. O(rows × broken
    leaves)."""
    broken = np.flatnonzero(leaf_ok < 1.0)
    if not len(broken):
        return np.ones(block_racks.shape[0])
    return np.asarray(
        np.where(block_racks[:, broken] > 0, leaf_ok[broken], 1.0).min(axis=1, initial=1.0)
    )


def nic_limits(nic_cap: FloatArray) -> IntArray:
    """What limits each job held at ``nic_cap`` by nothing but its NICs: ``nic`` when a
    failed leaf took some of them, else nothing."""
    limit = np.full(len(nic_cap), NO_LIMIT, dtype=np.int64)
    limit[nic_cap < 1.0] = LIMIT_NIC
    return limit


def unsaturated(rings: Rings, nic_cap: FloatArray, limit: IntArray) -> JobBandwidth:
    """Every job at its NICs' share ``nic_cap`` (no link saturates), limited by ``limit``
    (``nic_limits(nic_cap)``, which a caller keeping both up to date passes as it is)."""
    return _answer(rings, nic_cap, limit, rings.nobody)


def _answer(rings: Rings, frac: FloatArray, limit: IntArray, sharing: IntArray) -> JobBandwidth:
    """The shares ``frac`` (limited by ``limit``, ``sharing`` saturated links with as many
    jobs) with what ``rings`` say of where each job runs."""
    return JobBandwidth(
        frac=frac,
        limit=limit,
        cross_pod_frac=rings.cross_pod_frac,
        cross_block_frac=rings.cross_block_frac,
        pods=rings.pods,
        sharing=sharing,
    )


def full_load(rings: Rings, nic_cap: FloatArray) -> FloatArray:
    """Gb/s on each link with every job at ``nic_cap`` of its NICs' rate."""
    if np.all(nic_cap == 1.0):
        return rings.full_load_gbps
    return np.asarray((nic_cap * rings.flow_gbps) @ rings.demand)


def divide(rings: Rings, capacity: FloatArray, nic_cap: FloatArray, blocks: int) -> JobBandwidth:
    """Every job's bandwidth share for its rings on links of ``capacity`` (block out, block
    in, pod out, pod in; ``blocks`` of each block kind), each job at most ``nic_cap``."""
    if np.all(full_load(rings, nic_cap) <= capacity):
        # nothing saturates: each job at its own NICs' share
        return unsaturated(rings, nic_cap, nic_limits(nic_cap))
    demand = rings.demand
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
    return _answer(rings, frac, limit, sharing.astype(np.int64))
