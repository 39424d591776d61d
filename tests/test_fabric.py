"""The scale-out fabric: the graph against closed forms, max-min sharing, placement, faults,
and pack vs spread on the default scenario explained by the tier that limits."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from small_cluster import small_scenario

from colossus_sim import api, fabric
from colossus_sim.cluster import ClusterState
from colossus_sim.config.cluster import ClusterSpec
from colossus_sim.config.scenario import FabricScenarioSpec
from colossus_sim.fabric import SWITCH_TIERS, SwitchTier
from colossus_sim.fabric.bandwidth import divide, nic_caps
from colossus_sim.sim.placement import Pack, Spread, TopologyAware

NIC_GBPS = {"gb200": 400.0, "gb300": 800.0}


def cluster_spec(
    mix: dict[str, int], racks_per_pod: int = 16, core: float = 2.0, leaf: float = 1.0
) -> ClusterSpec:
    fields = {
        "name": "t",
        "title": "t",
        "racks": sum(mix.values()),
        "gpus_per_rack": 72,
        "rack_mix": mix,
        "racks_per_pod": racks_per_pod,
        "power": {"facility_cap_mw": 100, "pue": 1.1, "network_w_per_gpu": 60},
        "fabric": {
            "planes": 72,
            "switch_ports": 16,
            "port_gbps": 800,
            "leaf_oversubscription": leaf,
            "core_oversubscription": core,
        },
    }
    prov = {k: {"assumption": "test"} for k in fields if k not in ("name", "title")}
    return ClusterSpec.model_validate({**fields, "provenance": prov})


def layout_of(spec: ClusterSpec) -> fabric.FabricLayout:
    return fabric.build_layout(spec, spec.fabric, NIC_GBPS)


# ------------------------------------------------------------------ the graph
@pytest.mark.parametrize(
    ("mix", "core", "leaf"),
    [
        ({"gb300": 64}, 2.0, 1.0),
        ({"gb300": 64}, 1.0, 1.0),
        ({"gb200": 24, "gb300": 40}, 3.0, 1.0),
        ({"gb300": 56}, 2.0, 2.0),  # 3.5 pods, a partial pod and block
    ],
)
def test_bisection_of_the_graph_equals_the_closed_form(
    mix: dict[str, int], core: float, leaf: float
) -> None:
    spec = cluster_spec(mix, core=core, leaf=leaf)
    layout = layout_of(spec)
    graph = fabric.build_graph(layout)
    closed = fabric.bisection_gbps(layout)
    assert fabric.graph_bisection_gbps(graph, layout) == pytest.approx(closed, rel=1e-9)


def test_bisection_of_a_uniform_site_is_half_its_injection_over_the_core_taper() -> None:
    # 4 pods of 16 GB300 racks: each pod's 16 × 72 × 800 Gb/s climbs 1:1 to the spines and
    # leaves for the core at 2:1; two pods on each side.
    layout = layout_of(cluster_spec({"gb300": 64}, core=2.0))
    assert fabric.bisection_gbps(layout) == pytest.approx(2 * 16 * 72 * 800 / 2.0)


def test_switch_counts_follow_the_port_budget() -> None:
    # 16-port switches: leaves take 8 racks down and 8 up; spines 8 down.
    layout = layout_of(cluster_spec({"gb300": 64}))
    assert layout.racks_per_leaf == 8
    counts = layout.switch_counts()
    assert counts["leaf"] == 8 * 72  # 2 blocks per pod × 4 pods, one leaf per plane
    assert counts["spine"] == 4 * 2 * 72  # 2 blocks × 8 uplinks / 8 spine downlinks per pod
    graph = fabric.build_graph(layout)
    tiers = nx.get_node_attributes(graph, "tier")
    assert sum(1 for t in tiers.values() if t == "rack") == 64


def test_graphml_round_trips(tmp_path: Path) -> None:
    graph = fabric.build_graph(layout_of(cluster_spec({"gb300": 32})))
    path = tmp_path / "f.graphml"
    path.write_bytes(fabric.graphml_bytes(graph))
    back = nx.read_graphml(path)
    assert back.number_of_edges() == graph.number_of_edges()


# ------------------------------------------------------------------ max-min sharing
def test_two_identical_jobs_crossing_one_oversubscribed_link_each_get_half() -> None:
    demand = np.array([[10.0], [10.0]])
    x = fabric.max_min_fractions(demand, np.array([10.0]), np.ones(2))
    assert x == pytest.approx([0.5, 0.5])


def test_a_slower_nic_keeps_its_full_rate_and_the_faster_one_takes_the_rest() -> None:
    # 10 flows each: 400G-like flows (cap 0.4) and 800G-like (cap 0.8) on a link of 10.
    # All rise to 0.4 (load 8); the slow job stops at its NICs, the fast one gets the rest.
    demand = np.array([[10.0], [10.0]])
    x = fabric.max_min_fractions(demand, np.array([10.0]), np.array([0.4, 0.8]))
    assert x == pytest.approx([0.4, 0.6])


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda jobs: st.tuples(
            st.lists(
                st.lists(st.sampled_from([0.0, 1.0, 3.0, 7.5]), min_size=4, max_size=4),
                min_size=jobs,
                max_size=jobs,
            ),
            st.lists(st.floats(0.5, 20.0), min_size=4, max_size=4),
            st.lists(st.floats(0.1, 1.0), min_size=jobs, max_size=jobs),
        )
    )
)
def test_max_min_never_overloads_a_link_and_every_limited_job_sees_a_full_one(
    case: tuple[list[list[float]], list[float], list[float]],
) -> None:
    demand, capacity, cap = (np.array(v, dtype=float) for v in case)
    x = fabric.max_min_fractions(demand, capacity, cap)
    load = x @ demand
    assert np.all(load <= capacity * (1 + 1e-9))
    assert np.all(x <= cap + 1e-12) and np.all(x >= 0)
    full = load >= capacity * (1 - 1e-9)
    for j in range(len(x)):
        if x[j] < cap[j] - 1e-9:  # limited by the network: it must use a full link
            assert np.any(full & (demand[j] > 0))


# ------------------------------------------------------------------ placement
def owner_for(layout: fabric.FabricLayout, racks_by_job: list[list[int]]) -> tuple:
    owner = np.full(layout.racks, -1, dtype=np.int64)
    key = np.zeros(layout.racks, dtype=np.int64)
    k = 0
    for j, racks in enumerate(racks_by_job):
        for r in racks:
            owner[r] = j
            key[r] = k
            k += 1
    return owner, key


def test_a_job_confined_to_one_pod_sees_no_core_contention() -> None:
    layout = layout_of(cluster_spec({"gb300": 64}))
    state = fabric.FabricState(layout)
    inside = list(range(0, 8))  # half of pod 0
    # The other job alternates pods at every rank: every hop crosses the 2:1 core.
    spread = [r for pair in zip(range(8, 16), range(16, 24), strict=True) for r in pair]
    spread += [r for pair in zip(range(32, 48), range(48, 64), strict=True) for r in pair]
    owner, key = owner_for(layout, [inside, spread])
    bw = state.bandwidth(state.rings(owner, key, 2))
    assert bw.frac[0] == 1.0 and bw.cross_pod_frac[0] == 0.0
    assert bw.frac[1] < 1.0
    assert fabric.LIMIT_NAMES[int(bw.limit[1])] == "pod uplinks to core"


def test_two_identical_spread_jobs_share_the_pod_uplinks_evenly() -> None:
    layout = layout_of(cluster_spec({"gb300": 32}))  # 2 pods
    state = fabric.FabricState(layout)
    a = [r for pair in zip(range(0, 8), range(16, 24), strict=True) for r in pair]
    b = [r for pair in zip(range(8, 16), range(24, 32), strict=True) for r in pair]
    owner, key = owner_for(layout, [a, b])
    bw = state.bandwidth(state.rings(owner, key, 2))
    # Each pod: 16 racks of ring hops leaving at full rate onto uplinks of 16 racks ÷ 2.
    assert bw.frac == pytest.approx([0.5, 0.5])
    assert list(bw.sharing) == [1, 1]


def test_removing_a_spine_switch_lowers_bandwidth_by_its_share() -> None:
    layout = layout_of(cluster_spec({"gb300": 32}))
    state = fabric.FabricState(layout)
    a = [r for pair in zip(range(0, 16), range(16, 32), strict=True) for r in pair]
    owner, key = owner_for(layout, [a])
    rings = state.rings(owner, key, 1)
    before = state.bandwidth(rings).frac[0]
    state.fail(SwitchTier.SPINE, 0)
    after = state.bandwidth(rings).frac[0]
    share = 1 / (layout.spines_per_pod * layout.spec.planes)
    assert after == pytest.approx(before * (1 - share))
    state.fail(SwitchTier.SPINE, 0, delta=-1)
    assert state.bandwidth(rings).frac[0] == pytest.approx(before)


ACROSS_PODS = [
    r
    for p in zip([*range(7), *range(8, 15)], [*range(16, 23), *range(24, 31)], strict=True)
    for r in p
]
"""One job alternating between two pods, 7 racks of each 8-rack block: every hop crosses pods,
so each pod's uplinks to the core (1:1) carry 14 racks' NICs of their 16, each block's
uplinks 7 of their 8."""
ACROSS_BLOCKS = [r for p in zip(range(7), range(8, 15), strict=True) for r in p]
"""One job alternating between the two blocks of pod 0: each block's uplinks carry 7 racks'
NICs of their 8; no hop leaves the pod."""


@pytest.mark.parametrize(
    ("racks", "tier", "limit"),
    [
        (ACROSS_PODS, SwitchTier.SPINE, "pod uplinks to core"),
        (ACROSS_BLOCKS, SwitchTier.SPINE, "leaf uplinks"),
        (ACROSS_PODS, SwitchTier.CORE, "pod uplinks to core"),
    ],
)
def test_switches_out_saturate_links_only_once_their_load_exceeds_what_is_left(
    racks: list[int], tier: SwitchTier, limit: str
) -> None:
    layout = layout_of(cluster_spec({"gb300": 32}, core=1.0))
    state = fabric.FabricState(layout)
    rings = state.rings(*owner_for(layout, [racks]), 1)
    per_position = {SwitchTier.SPINE: layout.spines_per_pod, SwitchTier.CORE: layout.cores}
    sixteenth = per_position[tier] * layout.spec.planes // 16  # of pod 0's spines, or cores
    state.fail(tier, 0, delta=sixteenth)  # 15/16 left: room for 14/16 or 7/8
    assert state.bandwidth(rings).frac[0] == 1.0
    state.fail(tier, 0, delta=2 * sixteenth)  # 13/16 left: the links' share is 13/14
    bw = state.bandwidth(rings)
    assert bw.frac[0] == pytest.approx(13 / 14)
    assert fabric.LIMIT_NAMES[int(bw.limit[0])] == limit
    state.fail(tier, 0, delta=-3 * sixteenth)  # all repaired
    assert state.bandwidth(rings).frac[0] == 1.0


def test_a_failed_leaf_costs_its_racks_one_plane() -> None:
    layout = layout_of(cluster_spec({"gb300": 32}))
    state = fabric.FabricState(layout)
    owner, key = owner_for(layout, [list(range(8)), list(range(8, 16))])
    rings = state.rings(owner, key, 2)
    state.fail(SwitchTier.LEAF, int(layout.rack_block[0]))
    bw = state.bandwidth(rings)
    assert bw.frac[0] == pytest.approx(71 / 72)
    assert fabric.LIMIT_NAMES[int(bw.limit[0])] == "nic"
    assert bw.frac[1] == 1.0  # the next leaf block


def test_policies_place_as_documented() -> None:
    spec = cluster_spec({"gb300": 64})
    cluster = ClusterState(spec, 2)
    free = np.arange(64, dtype=np.int64)
    packed = Pack().choose(cluster, free, 20)
    assert list(packed) == list(range(20))
    dealt = Spread().choose(cluster, free, 8)
    assert len(set(cluster.pod[dealt[:4]].tolist())) == 4  # consecutive ranks, different pods
    # Topology-aware: 20 racks into one whole pod (16) and the tightest pod for the other 4.
    cluster.take(1, np.arange(16, 26, dtype=np.int64))  # pod 1 has 6 free racks left
    free = np.flatnonzero(cluster.owner == -1)
    chosen = TopologyAware().choose(cluster, free, 20)
    pods = cluster.pod[chosen]
    assert sorted(set(pods.tolist())) == [0, 1]
    # A failed rack of pod 2 is replaced from pod 2's spares, else the nearest pod's.
    spares = np.array([5, 40, 60], dtype=np.int64)  # pods 0, 2, 3
    assert list(Pack().replacement(cluster, spares, 33)) == [40]
    assert list(TopologyAware().replacement(cluster, spares[[0, 2]], 50)) == [60]
    assert list(Spread().replacement(cluster, spares, 33)) == [5]  # blind to the topology


# ------------------------------------------------------------------ the engine
def test_a_network_failure_is_one_event_interrupting_its_job_and_taking_one_switch(
    tmp_path: Path,
) -> None:
    path = small_scenario(tmp_path, horizon_days="2")  # ~2,000 failures, ~150 of the network
    on = api.simulate(path)
    off = api.simulate(path, overrides=["fabric.faults=false"])
    assert on.cluster.fabric_faults > 0 and off.cluster.fabric_faults == 0
    # The switch's tier comes from the fabric's own stream: the seed's failures are unchanged.
    assert on.cluster.failures == off.cluster.failures
    timeline = on.timeline_frame()
    failures = timeline.query("kind == 'failure'")
    assert list(failures.rack) == list(off.timeline_frame().query("kind == 'failure'").rack)
    # Every network failure, and nothing else, takes out a switch, at its time and rack.
    network = failures.query("detail == 'network'")
    faults = timeline.query("kind == 'fabric_fault'")
    assert len(network) == on.cluster.fabric_faults == len(faults)
    assert list(zip(network.time_days, network.rack, strict=True)) == list(
        zip(faults.time_days, faults.rack, strict=True)
    )
    # A network failure leaves the rack's GPUs healthy: no rack repair follows it.
    repairs = timeline.query("kind == 'repair'")
    hardware = failures.query("detail not in ('network', 'software')")
    assert len(repairs) <= len(hardware)


def test_effective_fabric_applies_scenario_overrides() -> None:
    spec = cluster_spec({"gb300": 16}).fabric
    got = fabric.effective_fabric(spec, FabricScenarioSpec(core_oversubscription=7))
    assert got.core_oversubscription == 7 and got.leaf_oversubscription == 1


@pytest.fixture(scope="module")
def placements() -> dict[str, api.RunResult]:
    base = ["failures.enabled=false"]
    return {
        policy: api.simulate(overrides=[*base, f"scheduler.policy={policy}"])
        for policy in ("pack", "spread", "topology-aware")
    }


def _job(result: api.RunResult, name: str) -> api.JobResult:  # type: ignore[name-defined]
    return next(j for j in result.jobs if j.name == name)


def test_spread_slows_the_10t_job_through_the_pod_uplinks(
    placements: dict[str, api.RunResult],
) -> None:
    pack = _job(placements["pack"], "grok5_10t")
    spread = _job(placements["spread"], "grok5_10t")
    assert pack.fabric is not None and spread.fabric is not None
    assert pack.fabric.bw_frac == 1.0 and pack.step_s == pack.step_s_full_bw
    assert spread.fabric.limit == "pod uplinks to core"
    assert spread.fabric.cross_pod_frac > 0.9
    assert spread.fabric.bw_frac == pytest.approx(0.5, abs=0.01)  # the 2:1 core taper
    assert spread.step_s > pack.step_s
    # The whole difference is the scale-out parts the fabric lengthened.
    assert spread.step_s - spread.step_s_full_bw == pytest.approx(
        sum(spread.fabric_cost_s.values()), rel=1e-9
    )
    assert set(spread.fabric_cost_s) <= {"dp_sync_s", "pp_p2p_s", "ep_comm_s", "cp_comm_s"}
    assert spread.time_to_train_days > pack.time_to_train_days


def test_topology_aware_gives_the_biggest_jobs_the_fewest_pods(
    placements: dict[str, api.RunResult],
) -> None:
    """Admitted biggest first, the 10T and 6T jobs take whole pods and touch fewer than
    under pack; the last GB300 job takes the fragments they leave (it may touch more)."""
    for name in ("grok5_10t", "grok5_6t", "imagine_v2"):
        pack = _job(placements["pack"], name).fabric
        aware = _job(placements["topology-aware"], name).fabric
        assert pack is not None and aware is not None
        assert aware.pods < pack.pods, name
        assert aware.cross_pod_frac <= pack.cross_pod_frac, name
    assert _job(placements["topology-aware"], "imagine_v2").fabric.pods == 1  # type: ignore[union-attr]


def test_fabric_off_gives_every_job_its_full_bandwidth() -> None:
    result = api.simulate(
        overrides=["failures.enabled=false", "scheduler.policy=spread", "fabric.enabled=false"]
    )
    assert all(j.fabric is None and j.step_s == j.step_s_full_bw for j in result.jobs)


def _move_racks(cluster: ClusterState, op: str, job: int, pick: int) -> None:
    """``op`` on ``job``'s racks: take a free rack, release one, or replace one by a free rack
    of its type (a spare); anything else (a switch fault) moves none."""
    free = np.flatnonzero(cluster.owner == -1)
    mine = cluster.racks_of(job)
    if op == "take" and len(free):
        cluster.take(job, free[[pick % len(free)]])
    elif op == "release" and len(mine):
        cluster.release(job, mine[[pick % len(mine)]])
    elif op == "replace" and len(mine):
        lost = int(mine[pick % len(mine)])
        same = free[cluster.gpu_type[free] == cluster.gpu_type[lost]]  # spares: same type
        if len(same):
            cluster.replace(job, lost, int(same[pick % len(same)]))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["take", "release", "replace"]), st.integers(0, 2), st.integers()
        ),
        min_size=1,
        max_size=25,
    )
)
def test_patched_rings_equal_rebuilt_rings(ops: list[tuple[str, int, int]]) -> None:
    """After any mix of takes, releases and one-rack replacements, the engine's patched and
    partially rebuilt rings equal rings built from scratch."""
    spec = cluster_spec({"gb200": 24, "gb300": 40})
    cluster = ClusterState(spec, 3)
    state = fabric.FabricState(layout_of(spec))
    rings = state.rings(cluster.owner, cluster.rank_key, 3)
    for op, job, pick in ops:
        _move_racks(cluster, op, job, pick)
        for j, lost, new in cluster.replacements:
            if j not in cluster.changed_jobs:
                rings = state.replaced(rings, cluster.owner, cluster.rank_key, j, lost, new)
            else:
                cluster.changed_jobs.add(j)
        changed = np.array(sorted(cluster.changed_jobs), dtype=np.int64)
        cluster.replacements.clear()
        cluster.changed_jobs.clear()
        rings = state.rings(cluster.owner, cluster.rank_key, 3, changed=changed, previous=rings)
        fresh = state.rings(cluster.owner, cluster.rank_key, 3)
        for name in fabric.Rings.__dataclass_fields__:
            assert np.array_equal(getattr(rings, name), getattr(fresh, name)), name


FAULT_TIERS = {"leaf": SwitchTier.LEAF, "spine": SwitchTier.SPINE, "core": SwitchTier.CORE}


def exact_bandwidth(state: fabric.FabricState, rings: fabric.Rings) -> fabric.JobBandwidth:
    """The division from scratch: capacities and NIC caps derived from the failed switches,
    no shortcut."""
    lay = state.layout
    block_cap, pod_cap = state.capacities()
    capacity = np.concatenate((block_cap, block_cap, pod_cap, pod_cap))
    leaf_ok = 1.0 - state.failed_leaf / lay.spec.planes
    return divide(rings, capacity, nic_caps(rings.block_racks, leaf_ok), lay.blocks)


@settings(max_examples=80, deadline=None)
@given(
    st.sampled_from([(1.0, 1.0), (1.0, 2.0), (2.0, 1.0), (1.0, 7.0)]),
    st.booleans(),
    st.integers(0, 2**32 - 1),
    st.lists(
        st.tuples(
            st.sampled_from(
                ["take", "release", "replace", "leaf", "leaf", "spine", "core", "repair"]
            ),
            st.integers(0, 2),
            st.integers(0, 10**6),
            st.booleans(),
        ),
        min_size=1,
        max_size=40,
    ),
)
def test_shares_kept_up_to_date_equal_shares_divided_from_scratch(
    tapers: tuple[float, float],
    packed: bool,
    seed: int,
    ops: list[tuple[str, int, int, bool]],
) -> None:
    """Over any mix of placement changes (takes, releases, spare swaps) and switch faults and
    repairs (up to 72 at one position at once, to bring links near saturation), asked after
    some changes and not others, the shares the state keeps up to date are, bit for bit,
    those of the exact division of the rings from scratch: under light load (the shortcut)
    and under saturation (the filling). Three jobs start on a 4-pod site, on runs of racks
    (``packed``) or scattered."""
    leaf, core = tapers
    spec = cluster_spec({"gb200": 24, "gb300": 40}, leaf=leaf, core=core)
    cluster = ClusterState(spec, 3)
    rng = np.random.default_rng(seed)
    racks = np.arange(64) if packed else rng.permutation(64)
    for job, chunk in enumerate(np.split(racks[: int(rng.integers(6, 60))], [20, 40])):
        if len(chunk):
            cluster.take(job, chunk)
    cluster.changed_jobs.clear()
    state = fabric.FabricState(layout_of(spec))
    lay = state.layout
    rings = state.rings(cluster.owner, cluster.rank_key, 3)
    out: list[tuple[SwitchTier, int, int]] = []
    for op, job, pick, ask in ops:
        _move_racks(cluster, op, job, pick)
        if op in FAULT_TIERS:
            tier = FAULT_TIERS[op]
            index = (pick % lay.blocks, pick % lay.pods, 0)[SWITCH_TIERS.index(tier)]
            already = sum(n for t, i, n in out if (t, i) == (tier, index))
            count = min(1 + pick % 72, lay.spec.planes - already)  # at most every plane
            if count:
                state.fail(tier, index, delta=count)
                out.append((tier, index, count))
        elif op == "repair" and out:
            tier, index, count = out.pop(pick % len(out))
            state.fail(tier, index, delta=-count)
        for j, lost, new in cluster.replacements:
            if j not in cluster.changed_jobs:
                rings = state.replaced(rings, cluster.owner, cluster.rank_key, j, lost, new)
        changed = np.array(sorted(cluster.changed_jobs), dtype=np.int64)
        cluster.replacements.clear()
        cluster.changed_jobs.clear()
        rings = state.rings(cluster.owner, cluster.rank_key, 3, changed=changed, previous=rings)
        if ask:
            got, want = state.bandwidth(rings), exact_bandwidth(state, rings)
            for name in fabric.JobBandwidth.__dataclass_fields__:
                assert np.array_equal(getattr(got, name), getattr(want, name)), name


@pytest.mark.parametrize("policy", ["pack", "spread"])
def test_a_run_keeping_shares_up_to_date_equals_one_dividing_from_scratch(
    tmp_path: Path, policy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run whose shares follow what each change touches is, byte for byte, the run that
    divides the links from scratch after every change (~150 switch faults and their repairs,
    spare swaps; ``spread`` saturates the pod uplinks, so the filling runs)."""
    path = small_scenario(tmp_path, horizon_days="2", policy=policy)
    kept = api.simulate(path)
    assert kept.cluster.fabric_faults > 0
    monkeypatch.setattr(fabric.FabricState, "bandwidth", exact_bandwidth)
    scratch = api.simulate(path)
    assert kept.model_dump_json() == scratch.model_dump_json()
