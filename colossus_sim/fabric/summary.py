"""The fabric of one site as ``colossus-sim fabric`` prints it: switches, positions and
bandwidth per tier, injection and bisection bandwidth, and the graph's size.

Cost: the closed-form bisection (O(racks) numpy) on a layout and graph already built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from colossus_sim.config.cluster import ClusterSpec
from colossus_sim.fabric.graph import _half_injection_gbps, bisection_gbps
from colossus_sim.fabric.layout import FabricLayout, SwitchTier

if TYPE_CHECKING:
    import networkx as nx


class TierSummary(BaseModel):
    """One switch tier: how many switches, what enters from below and leaves above."""

    # ``colossus-sim fabric`` only: built on first use, not when a run imports the fabric.
    model_config = ConfigDict(frozen=True, defer_build=True)

    tier: str
    switches: int
    positions: int
    down_tbps: float
    up_tbps: float | None
    oversubscription: float | None


class FabricSummary(BaseModel):
    """The fabric of one site as ``colossus-sim fabric`` prints it."""

    model_config = ConfigDict(frozen=True, defer_build=True)

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
        SwitchTier.LEAF: layout.blocks,
        SwitchTier.SPINE: layout.pods * layout.spines_per_pod,
        SwitchTier.CORE: layout.cores,
    }
    rows = (
        (SwitchTier.LEAF, injection, block_up, spec.leaf_oversubscription),
        (SwitchTier.SPINE, block_up, pod_up, spec.core_oversubscription),
        (SwitchTier.CORE, pod_up, None, None),
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
