"""The fabric as a networkx graph (for inspection, GraphML export and tests) and its bisection
bandwidth, in closed form and by max-flow on the graph.

networkx is imported only inside the functions that build or read a graph, so the simulation
never pays for it. Building the full site's graph takes about a second; the max-flow bisection
is for tests on small sites.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from colossus_sim.fabric.layout import FabricLayout, FloatArray, SwitchTier

if TYPE_CHECKING:
    import networkx as nx


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
    graph.add_nodes_from(leaves, tier=SwitchTier.LEAF.value, switches=planes)
    spines = {
        (p, s): f"spine:{p}.{s}" for p in range(layout.pods) for s in range(layout.spines_per_pod)
    }
    graph.add_nodes_from(spines.values(), tier=SwitchTier.SPINE.value, switches=planes)
    cores = [f"core:{c}" for c in range(layout.cores)]
    graph.add_nodes_from(cores, tier=SwitchTier.CORE.value, switches=planes)
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


def graphml_bytes(graph: nx.Graph) -> bytes:
    """The graph as GraphML (UTF-8)."""
    import networkx as nx  # only graph users pay for it

    return "\n".join(nx.generate_graphml(graph)).encode() + b"\n"
