"""The scale-out fabric: Colossus 2's rail-optimised Clos as a graph, its capacity per tier,
and the bandwidth each job gets from where its racks are and who else shares the links.

Topology (``topologies/*.yaml`` → ``fabric``): every rack has one NIC per GPU and NIC ``i`` of
every rack joins plane ``i`` (rail-optimised), so the fabric is ``planes`` identical Clos
networks over the racks. In each plane a leaf serves a *leaf block* of ``racks_per_leaf``
racks, spines join a pod's leaves, and core switches join the pods. Traffic between two racks
spreads over all planes (a GPU reaches another rail over NVLink first), so the graph holds one
node per switch *position* carrying all planes' capacity, and counts switches × ``planes``.

Bandwidth (flow level): a job's scale-out collectives run as rings over its racks in rank
order (NCCL's ring over the inter-domain ranks; hierarchical all-reduce does its NIC phase
this way). A ring hop between racks in different leaf blocks crosses that block's uplinks;
between pods, the pods' uplinks to the core. Each crossing hop wants its rack's full NIC
rate. Jobs sharing a link share it max-min fairly per flow (one flow per plane per hop): all
of a job's flows run at one rate (a synchronous collective runs at its slowest hop), and the
rates of all jobs rise together until a link saturates or a job reaches its NICs' speed
(progressive filling), so a 400G job keeps its full rate beside an 800G one. Demand counts
all ``planes`` flows of a rack: a job that keeps some GPUs as hot spares leaves the same
planes idle in every rack, so per plane the used uplinks saturate as if all were in use. The
capacity arrays are computed once; an allocation change costs O(racks) numpy and O(jobs ×
links) for the filling, no graph search.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from colossus_sim.config.cluster import ClusterSpec, FabricSpec
from colossus_sim.config.load import load_gpu
from colossus_sim.config.scenario import FabricScenarioSpec

if TYPE_CHECKING:
    import networkx as nx

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Tier names in the order traffic climbs them; ``TIERS[i]`` labels limit codes below.
NO_LIMIT, LIMIT_NIC, LIMIT_LEAF, LIMIT_CORE = 0, 1, 2, 3
LIMIT_NAMES = ("none", "nic", "leaf uplinks", "pod uplinks to core")
SWITCH_TIERS = ("leaf", "spine", "core")


def effective_fabric(topology: FabricSpec, scenario: FabricScenarioSpec) -> FabricSpec:
    """The topology's fabric with the scenario's oversubscription overrides applied."""
    update: dict[str, float] = {}
    if scenario.leaf_oversubscription is not None:
        update["leaf_oversubscription"] = scenario.leaf_oversubscription
    if scenario.core_oversubscription is not None:
        update["core_oversubscription"] = scenario.core_oversubscription
    return topology.model_copy(update=update)


def site_layout(cluster: ClusterSpec, scenario: FabricScenarioSpec) -> FabricLayout:
    """The layout of ``cluster``'s fabric with ``scenario``'s overrides and each rack type's
    NIC speed from its GPU spec."""
    nic = {name: load_gpu(name).nic_gbit_per_s for name in cluster.rack_mix}
    return build_layout(cluster, effective_fabric(cluster.fabric, scenario), nic)


@dataclass(frozen=True)
class FabricLayout:
    """Which block and pod each rack is in, and the capacity (Gb/s, each direction, all planes)
    of every rack's NICs, every block's leaf uplinks and every pod's uplinks to the core."""

    spec: FabricSpec
    rack_pod: IntArray
    rack_block: IntArray
    block_pod: IntArray
    rack_nic_gbps: FloatArray
    block_up_gbps: FloatArray
    pod_up_gbps: FloatArray
    spines_per_pod: int
    """Spine positions per pod (each is ``planes`` switches, one per plane)."""
    cores: int
    """Core positions (each is ``planes`` switches)."""
    racks_per_leaf: int

    @property
    def racks(self) -> int:
        return int(self.rack_pod.shape[0])

    @property
    def pods(self) -> int:
        return int(self.block_pod.max()) + 1 if self.block_pod.size else 0

    @property
    def blocks(self) -> int:
        return int(self.block_pod.shape[0])

    def switch_counts(self) -> dict[str, int]:
        """Physical switches per tier (positions × planes)."""
        planes = self.spec.planes
        return {
            "leaf": self.blocks * planes,
            "spine": self.pods * self.spines_per_pod * planes,
            "core": self.cores * planes,
        }


def build_layout(
    cluster: ClusterSpec, spec: FabricSpec, nic_gbps: dict[str, float]
) -> FabricLayout:
    """Blocks, pods and capacities of ``cluster``'s racks (numbered GPU type by type, pod by
    pod, as ``cluster.ClusterState`` numbers them); ``nic_gbps`` is each GPU type's NIC rate."""
    counts = [cluster.rack_mix[name] for name in cluster.rack_mix]
    rack_type = np.repeat(np.arange(len(counts)), counts)
    racks = int(rack_type.shape[0])
    per_pod = cluster.racks_per_pod
    per_leaf = min(spec.racks_per_leaf, per_pod)
    blocks_per_pod = math.ceil(per_pod / per_leaf)
    index = np.arange(racks)
    rack_pod = (index // per_pod).astype(np.int64)
    rack_block = (rack_pod * blocks_per_pod + (index % per_pod) // per_leaf).astype(np.int64)
    # Renumber blocks densely (the last pod may be partial).
    used, rack_block = np.unique(rack_block, return_inverse=True)
    rack_block = rack_block.astype(np.int64)
    block_pod = (used // blocks_per_pod).astype(np.int64)
    planes = spec.planes
    type_nic = np.array([nic_gbps[name] for name in cluster.rack_mix], dtype=np.float64)
    rack_nic = planes * type_nic[rack_type] if racks else np.zeros(0)
    # Switch counts from port budgets (800G ports, one rack per leaf downlink per plane).
    leaf_uplinks = per_leaf / spec.leaf_oversubscription
    spine_downlinks = spec.switch_ports // 2
    spines_per_pod = max(math.ceil(blocks_per_pod * leaf_uplinks / spine_downlinks), 1)
    spine_uplinks = spine_downlinks / spec.core_oversubscription
    pods = int(rack_pod.max()) + 1 if racks else 0
    cores_per_group = max(math.ceil(pods * spine_uplinks / spec.switch_ports), 1)
    # Uplinks are cabled for what sits below at the tier's oversubscription: a leaf of 400G
    # GB200 NICs needs half the 800G uplinks of a leaf of 800G GB300 NICs.
    block_nic = np.bincount(rack_block, weights=rack_nic, minlength=len(used))
    block_up = block_nic / spec.leaf_oversubscription
    pod_up = np.bincount(block_pod, weights=block_up, minlength=pods) / spec.core_oversubscription
    return FabricLayout(
        spec=spec,
        rack_pod=rack_pod,
        rack_block=rack_block,
        block_pod=block_pod,
        rack_nic_gbps=np.asarray(rack_nic, dtype=np.float64),
        block_up_gbps=block_up.astype(np.float64),
        pod_up_gbps=pod_up.astype(np.float64),
        spines_per_pod=spines_per_pod,
        cores=cores_per_group * spines_per_pod,
        racks_per_leaf=per_leaf,
    )


# ---------------------------------------------------------------------------- the graph
def build_graph(layout: FabricLayout) -> nx.Graph:
    """The fabric as an undirected networkx graph: nodes ``rack:i``, ``leaf:b``, ``spine:p.s``,
    ``core:c`` (a switch node stands for its ``planes`` per-plane switches); edge attribute
    ``capacity_gbps`` (each direction, all planes). Spine ``s`` of every pod connects to the
    core positions of group ``s``, as in a k-ary fat tree."""
    import networkx as nx  # only graph users pay for it

    spec = layout.spec
    planes = spec.planes
    graph = nx.Graph(name="scale-out fabric", planes=planes)
    racks = [f"rack:{r}" for r in range(layout.racks)]
    leaves = [f"leaf:{b}" for b in range(layout.blocks)]
    graph.add_nodes_from(racks, tier="rack", switches=0)
    graph.add_nodes_from(leaves, tier="leaf", switches=planes)
    spines = {
        (p, s): f"spine:{p}.{s}" for p in range(layout.pods) for s in range(layout.spines_per_pod)
    }
    graph.add_nodes_from(spines.values(), tier="spine", switches=planes)
    cores = [f"core:{c}" for c in range(layout.cores)]
    graph.add_nodes_from(cores, tier="core", switches=planes)
    graph.add_edges_from(
        (racks[r], leaves[b], {"capacity_gbps": float(cap)})
        for r, (b, cap) in enumerate(zip(layout.rack_block, layout.rack_nic_gbps, strict=True))
    )
    n_spines = layout.spines_per_pod
    graph.add_edges_from(
        (leaves[b], spines[(int(p), s)], {"capacity_gbps": float(up) / n_spines})
        for b, (p, up) in enumerate(zip(layout.block_pod, layout.block_up_gbps, strict=True))
        for s in range(n_spines)
    )
    per_group = layout.cores // n_spines
    graph.add_edges_from(
        (
            name,
            cores[s * per_group + c],
            {"capacity_gbps": float(layout.pod_up_gbps[p]) / n_spines / per_group},
        )
        for (p, s), name in spines.items()
        for c in range(per_group)
    )
    return graph


def _pod_out_gbps(layout: FabricLayout) -> FloatArray:
    """What each pod can send beyond itself: its blocks' NICs capped by their leaf uplinks,
    summed, capped by the pod's uplinks to the core."""
    block_nic = np.bincount(
        layout.rack_block, weights=layout.rack_nic_gbps, minlength=layout.blocks
    )
    block_out = np.minimum(block_nic, layout.block_up_gbps)
    pod_leaf = np.bincount(layout.block_pod, weights=block_out, minlength=layout.pods)
    return np.minimum(pod_leaf, layout.pod_up_gbps)


def bisection_gbps(layout: FabricLayout) -> float:
    """Closed form: between the first half of the pods and the rest, the smaller side's total
    of what its pods can send beyond themselves (the core is non-blocking between its ports)."""
    out = _pod_out_gbps(layout)
    half = layout.pods // 2
    return float(min(out[:half].sum(), out[half:].sum())) if layout.pods > 1 else 0.0


def _half_injection_gbps(layout: FabricLayout) -> float:
    pod_nic = np.bincount(layout.rack_pod, weights=layout.rack_nic_gbps, minlength=layout.pods)
    half = layout.pods // 2
    return float(min(pod_nic[:half].sum(), pod_nic[half:].sum())) if layout.pods > 1 else 0.0


def graph_bisection_gbps(graph: nx.Graph, layout: FabricLayout) -> float:
    """The same cut by max-flow on the graph (for tests: slow on the full site)."""
    import networkx as nx  # only graph users pay for it

    flow = nx.DiGraph()
    for u, v, data in graph.edges(data=True):
        flow.add_edge(u, v, capacity=data["capacity_gbps"])
        flow.add_edge(v, u, capacity=data["capacity_gbps"])
    half = layout.pods // 2
    for r in range(layout.racks):
        side = "src" if layout.rack_pod[r] < half else "dst"
        cap = float(layout.rack_nic_gbps[r])
        if side == "src":
            flow.add_edge("src", f"rack:{r}", capacity=cap)
        else:
            flow.add_edge(f"rack:{r}", "dst", capacity=cap)
    return float(nx.maximum_flow_value(flow, "src", "dst"))


# ---------------------------------------------------------------------------- flows
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
    """What limits it: ``none``, ``nic`` (a failed leaf), ``leaf uplinks`` or ``pod uplinks
    to core``."""
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
    """What limits it: one of ``LIMIT_NAMES``' indices."""
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

    def fail(self, tier: str, index: int, delta: int = 1) -> None:
        """A switch of ``tier`` at position ``index`` (block, pod, or any for core) fails
        (``delta=1``) or is repaired (``delta=-1``)."""
        self._links = None
        if tier == "leaf":
            self.failed_leaf[index] += delta
        elif tier == "spine":
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
            fresh = self._rings(owner, rank_key, jobs, changed)
            pick = np.zeros(jobs, dtype=bool)
            pick[changed] = True
            return Rings(
                **{
                    name: np.where(
                        pick.reshape((-1,) + (1,) * (getattr(fresh, name).ndim - 1)),
                        getattr(fresh, name),
                        getattr(previous, name),
                    )
                    for name in Rings.__dataclass_fields__
                }
            )
        return self._rings(owner, rank_key, jobs, None)

    def _rings(
        self, owner: IntArray, rank_key: IntArray, jobs: int, only: IntArray | None
    ) -> Rings:
        lay = self.layout
        if only is None:
            held = np.flatnonzero(owner >= 0)
        else:
            wanted = np.zeros(jobs + 1, dtype=bool)
            wanted[only + 1] = True
            held = np.flatnonzero(wanted[owner + 1])
        # Held racks in rank-key order (keys are unique among held racks: a bucket pass, no
        # comparison sort), then grouped by job with a stable radix sort on small job ids.
        keys = rank_key[held]
        slots = np.full(int(keys.max(initial=0)) + 1, -1, dtype=np.int64)
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

    def replaced(
        self, rings: Rings, owner: IntArray, rank_key: IntArray, job: int, lost: int, new: int
    ) -> Rings:
        """``rings`` after rack ``new`` (of ``lost``'s GPU type, as spares are) took the rank
        of ``lost`` in ``job`` (``owner`` and ``rank_key`` already say so): only the two hops
        around that rank change. O(the job's
        racks) for finding its neighbours, no sort, no rebuild."""
        lay = self.layout
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
        nic_cap = np.ones(jobs)
        broken = np.flatnonzero(leaf_ok < 1.0)
        if len(broken):  # each job at the worst leaf share among its blocks
            nic_cap = np.where(rings.block_racks[:, broken] > 0, leaf_ok[broken], 1.0).min(
                axis=1, initial=1.0
            )
        full_load = (nic_cap * rings.flow_gbps) @ demand
        if np.all(full_load <= capacity):  # nothing saturates: each job at its own NICs' share
            limited = nic_cap < 1.0
            return JobBandwidth(
                frac=nic_cap,
                limit=np.where(limited, LIMIT_NIC, NO_LIMIT).astype(np.int64),
                cross_pod_frac=rings.cross_pod_frac,
                cross_block_frac=rings.cross_block_frac,
                pods=rings.pods,
                sharing=np.zeros(jobs, dtype=np.int64),
            )
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


# ---------------------------------------------------------------------------- summary
class TierSummary(BaseModel):
    """One switch tier: how many switches, what enters from below and leaves above."""

    model_config = ConfigDict(frozen=True)

    tier: str
    switches: int
    positions: int
    down_tbps: float
    up_tbps: float | None
    oversubscription: float | None


class FabricSummary(BaseModel):
    """The fabric of one site as ``colossus-sim fabric`` prints it."""

    model_config = ConfigDict(frozen=True)

    cluster: str
    racks: int
    pods: int
    racks_per_pod: int
    blocks: int
    racks_per_leaf: int
    planes: int
    switch_ports: int
    port_gbps: float
    tiers: list[TierSummary]
    injection_tbps: float
    """All NICs' bandwidth, each direction."""
    bisection_tbps: float
    """Between the first half of the pods and the rest."""
    bisection_injection_tbps: float
    """What the smaller side's NICs inject: the bisection of a non-blocking fabric."""
    graph_nodes: int
    graph_edges: int


def summarize(cluster: ClusterSpec, layout: FabricLayout, graph: nx.Graph) -> FabricSummary:
    spec = layout.spec
    counts = layout.switch_counts()
    injection = float(layout.rack_nic_gbps.sum())
    block_up = float(layout.block_up_gbps.sum())
    pod_up = float(layout.pod_up_gbps.sum())
    positions = {
        "leaf": layout.blocks,
        "spine": layout.pods * layout.spines_per_pod,
        "core": layout.cores,
    }
    rows = (
        ("leaf", injection, block_up, spec.leaf_oversubscription),
        ("spine", block_up, pod_up, spec.core_oversubscription),
        ("core", pod_up, None, None),
    )
    return FabricSummary(
        cluster=cluster.name,
        racks=layout.racks,
        pods=layout.pods,
        racks_per_pod=cluster.racks_per_pod,
        blocks=layout.blocks,
        racks_per_leaf=layout.racks_per_leaf,
        planes=spec.planes,
        switch_ports=spec.switch_ports,
        port_gbps=spec.port_gbps,
        tiers=[
            TierSummary(
                tier=tier,
                switches=counts[tier],
                positions=positions[tier],
                down_tbps=down / 1e3,
                up_tbps=None if up is None else up / 1e3,
                oversubscription=over,
            )
            for tier, down, up, over in rows
        ],
        injection_tbps=injection / 1e3,
        bisection_tbps=bisection_gbps(layout) / 1e3,
        bisection_injection_tbps=_half_injection_gbps(layout) / 1e3,
        graph_nodes=graph.number_of_nodes(),
        graph_edges=graph.number_of_edges(),
    )


def graphml_bytes(graph: nx.Graph) -> bytes:
    """The graph as GraphML (UTF-8)."""
    import networkx as nx  # only graph users pay for it

    return "\n".join(nx.generate_graphml(graph)).encode() + b"\n"
