"""What the scale-out fabric model costs on the full Colossus 2 topology.

Targets (fabric issue): building the layout and the networkx graph of the whole site in < 3 s
on 2 cores; recomputing every job's bandwidth after one allocation change in < 20 ms; and the
default scenario (60 simulated days, failures on) still inside the engine's < 2 s with the
fabric on. Prints figures; asserts nothing.

(a) layout, graph and summary build times, and the graph's size;
(b) ``FabricState.rings`` + ``FabricState.bandwidth`` on the seven default jobs placed as the
    engine places them (spares set aside, admitted biggest priority first) under ``pack``,
    ``spread`` and ``topology-aware``: a full rebuild; the patch the engine applies
    (``FabricState.replaced``) after one rack of the 10T job is swapped for a spare, as a
    failure does; and a fault or repair of the leaf, spine and core switch over one of the
    10T job's racks, each with the shares after it;
(c) the default scenario's wall time in a fresh process (start-up counted, as a user sees it)
    with the fabric on, with switch faults off and with the fabric off, and under ``spread``
    (the only default-scenario placement where links saturate and the max-min filling runs).
Run: python benchmarks/fabric.py [--repeat N]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

from colossus_sim import api, fabric
from colossus_sim.cluster import ClusterState
from colossus_sim.config.scenario import PlacementPolicy
from colossus_sim.scenario import ResolvedScenario
from colossus_sim.sim.placement import placement_for

CHILD = r"""
import json, resource, sys, time
start = time.perf_counter()
from colossus_sim import api
result = api.simulate(overrides=sys.argv[1:])
wall = time.perf_counter() - start
print(json.dumps({"wall_s": wall, "events": result.cluster.events,
                  "fabric_faults": result.cluster.fabric_faults,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def timed(action: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def layout_of(resolved: ResolvedScenario) -> fabric.FabricLayout:
    return fabric.site_layout(resolved.cluster, resolved.scenario.fabric)


# ---------------------------------------------------------------------------- (a)
def build_times(repeat: int) -> None:
    start = time.perf_counter()
    import networkx  # noqa: F401  (first import, as `colossus-sim fabric` pays it)

    import_s = time.perf_counter() - start
    resolved = api.load_scenario()
    layout = layout_of(resolved)
    graph = fabric.build_graph(layout)
    layout_t = timed(lambda: layout_of(resolved), repeat)
    graph_t = timed(lambda: fabric.build_graph(layout), repeat)
    summary_t = timed(lambda: fabric.summarize(resolved.cluster, layout, graph), repeat)
    both = [a + b for a, b in zip(layout_t, graph_t, strict=True)]
    counts = layout.switch_counts()
    print(f"(a) layout and graph of the full site, {repeat} builds each")
    print(
        f"    {layout.racks:,} racks, {layout.blocks} leaf blocks, {layout.pods} pods; switches "
        + ", ".join(f"{t} {n:,}" for t, n in counts.items())
    )
    print(f"    graph: {graph.number_of_nodes():,} nodes, {graph.number_of_edges():,} edges")
    print(f"    {'step':28s} {'median s':>9s} {'max s':>8s}")
    print(f"    {'import networkx (once)':28s} {import_s:9.4f} {import_s:8.4f}")
    for name, times in (
        ("build_layout", layout_t),
        ("build_graph", graph_t),
        ("layout + graph", both),
        ("summarize (closed forms)", summary_t),
    ):
        print(f"    {name:28s} {statistics.median(times):9.4f} {max(times):8.4f}")
    print(f"    layout + graph, worst: {max(both):.3f} s (target < 3 s)")


# ---------------------------------------------------------------------------- (b)
def placed(resolved: ResolvedScenario, policy: str) -> tuple[ClusterState, list[str]]:
    """The default jobs' racks as the engine admits them under ``policy``: spares at the end
    of each GPU type's racks, then jobs biggest priority first, each on free racks of its type."""
    sc = resolved.scenario
    jobs = resolved.jobs
    cluster = ClusterState(resolved.cluster, len(jobs))
    for gpu, target in sc.scheduler.spare_racks.items():
        free = cluster.free_racks(gpu)
        cluster.set_spare(free[len(free) - min(target, len(free)) :])
    placement = placement_for(PlacementPolicy(policy))
    order = sorted(range(len(jobs)), key=lambda i: (-sc.jobs[jobs[i].name].priority, i))
    for i in order:
        free = cluster.free_racks(jobs[i].gpu.name)
        chosen = placement.choose(cluster, free, sc.jobs[jobs[i].name].racks)
        cluster.take(i, chosen)
    cluster.changed_jobs.clear()
    return cluster, [j.name for j in jobs]


def switch_change_times(
    state: fabric.FabricState, rings: fabric.Rings, rack: int, repeat: int
) -> list[tuple[str, list[float]]]:
    """A fault and repair of each tier's switch over ``rack``, each followed by the shares
    (what the engine does after a switch fault and after its repair): seconds per change."""
    lay = state.layout
    positions = (int(lay.rack_block[rack]), int(lay.rack_pod[rack]), 0)
    rows = []
    for tier, index in zip(fabric.SWITCH_TIERS, positions, strict=True):

        def change(tier: fabric.SwitchTier = tier, index: int = index) -> None:
            state.fail(tier, index)
            state.bandwidth(rings)
            state.fail(tier, index, delta=-1)
            state.bandwidth(rings)

        rows.append((f"{tier} fault or repair", [t / 2 for t in timed(change, repeat)]))
    return rows


def recompute_times(resolved: ResolvedScenario, policy: str, repeat: int) -> None:
    cluster, names = placed(resolved, policy)
    jobs = len(names)
    state = fabric.FabricState(layout_of(resolved))

    def full() -> fabric.JobBandwidth:
        rings = state.rings(cluster.owner, cluster.rank_key, jobs)
        return state.bandwidth(rings)

    bw = full()
    full_t = timed(full, repeat)
    rings_only = timed(lambda: state.rings(cluster.owner, cluster.rank_key, jobs), repeat)
    rings = state.rings(cluster.owner, cluster.rank_key, jobs)
    # New rings (a copy: nothing derived from them yet) are divided from scratch.
    bw_only = timed(lambda: state.bandwidth(dataclasses.replace(rings)), repeat)
    big = names.index("grok5_10t")
    state.bandwidth(rings)
    switch_t = switch_change_times(state, rings, int(cluster.racks_of(big)[100]), repeat)

    # One rack of the 10T job fails and a spare of its type takes its rank (as _recover does);
    # every repetition swaps it back and forth so each timed call sees a real change.
    held = cluster.racks_of(big)
    gpu = resolved.jobs[big].gpu.name
    spare = cluster.spare_racks(gpu, cluster.gpus_per_rack)[:1]
    current = held[len(held) // 2 : len(held) // 2 + 1]
    previous = rings
    incremental_t = []
    for _ in range(repeat):
        lost, new = int(current[0]), int(spare[0])
        cluster.replace(big, lost, new)
        cluster.set_spare(current)
        cluster.replacements.clear()
        current, spare = spare, current
        start = time.perf_counter()
        previous = state.replaced(previous, cluster.owner, cluster.rank_key, big, lost, new)
        state.bandwidth(previous)
        incremental_t.append(time.perf_counter() - start)
    check = state.bandwidth(state.rings(cluster.owner, cluster.rank_key, jobs))
    agrees = np.allclose(check.frac, state.bandwidth(previous).frac)

    limits = sorted({fabric.LIMIT_NAMES[int(x)] for x in bw.limit})
    print(
        f"    {policy:15s} shares {bw.frac.min():.3f}-{bw.frac.max():.3f}, limits "
        f"{', '.join(limits)}; incremental agrees with a rebuild: {agrees}"
    )
    for name, times in (
        ("full: rings", rings_only),
        ("full: bandwidth", bw_only),
        ("full: rings + bandwidth", full_t),
        ("1-rack swap: patched", incremental_t),
        *switch_t,
    ):
        print(f"      {name:26s} {1e3 * statistics.median(times):9.3f} {1e3 * max(times):9.3f}")


# ---------------------------------------------------------------------------- (c)
def measure(overrides: list[str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, *overrides], check=True, capture_output=True, text=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def default_runs() -> None:
    sixty = ["horizon_days=60"]
    cases = (
        ("fabric on (default)", sixty),
        ("fabric on, switch faults off", [*sixty, "fabric.faults=false"]),
        ("fabric off", [*sixty, "fabric.enabled=false"]),
        ("spread, fabric on", [*sixty, "scheduler.policy=spread"]),
    )
    print("(c) default scenario, 60 days, failures on, fresh process each")
    print(f"    {'case':30s} {'wall s':>7s} {'events':>7s} {'sw faults':>9s} {'peak MB':>8s}")
    rows = {}
    for name, overrides in cases:
        r = measure(overrides)
        rows[name] = r
        print(
            f"    {name:30s} {r['wall_s']:7.2f} {r['events']:7.0f} {r['fabric_faults']:9.0f} "
            f"{r['peak_rss_mb']:8.0f}"
        )
    cost = rows["fabric on (default)"]["wall_s"] - rows["fabric off"]["wall_s"]
    print(f"    the fabric's cost on the default run: {cost:+.2f} s (target: default < 2 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--repeat", type=int, default=200, help="timed recomputations per case (default 200)"
    )
    args = parser.parse_args()
    build_times(max(args.repeat // 20, 3))
    resolved = api.load_scenario()
    print(f"(b) all seven jobs' bandwidths, {args.repeat} changes each, milliseconds per change")
    print(f"      {'':26s} {'median':>9s} {'max':>9s}")
    for policy in ("pack", "spread", "topology-aware"):
        recompute_times(resolved, policy, args.repeat)
    print("    target: < 20 ms per recomputation")
    default_runs()


if __name__ == "__main__":
    main()
