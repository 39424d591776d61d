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
capacity arrays are computed once and rewritten in place where a switch changes; an allocation
change costs O(racks) numpy and O(jobs × links) for the division, a switch change what it
touches (``state``), no graph search.

Modules: ``layout`` (switch tiers, the rack/block/pod layout and capacities), ``graph`` (the
networkx graph, bisection, GraphML; networkx imported only there, on use), ``rings`` (jobs'
rings and the links their hops cross), ``bandwidth`` (limits, max-min filling: the division as
pure functions), ``state`` (``FabricState``: failed switches, capacities and shares kept up to
date by what changed), ``summary`` (what ``colossus-sim fabric`` prints). Importing the package
costs numpy and pydantic only.
"""

from colossus_sim.fabric.bandwidth import (
    LIMIT_CORE,
    LIMIT_LEAF,
    LIMIT_NAMES,
    LIMIT_NIC,
    NO_LIMIT,
    JobBandwidth,
    JobFabric,
    Limit,
    max_min_fractions,
)
from colossus_sim.fabric.graph import (
    bisection_gbps,
    build_graph,
    graph_bisection_gbps,
    graphml_bytes,
)
from colossus_sim.fabric.layout import (
    SWITCH_TIERS,
    BoolArray,
    FabricLayout,
    FloatArray,
    IntArray,
    SwitchTier,
    build_layout,
    effective_fabric,
    site_layout,
)
from colossus_sim.fabric.rings import Rings
from colossus_sim.fabric.state import FabricState
from colossus_sim.fabric.summary import FabricSummary, TierSummary, summarize

__all__ = [
    "LIMIT_CORE",
    "LIMIT_LEAF",
    "LIMIT_NAMES",
    "LIMIT_NIC",
    "NO_LIMIT",
    "SWITCH_TIERS",
    "BoolArray",
    "FabricLayout",
    "FabricState",
    "FabricSummary",
    "FloatArray",
    "IntArray",
    "JobBandwidth",
    "JobFabric",
    "Limit",
    "Rings",
    "SwitchTier",
    "TierSummary",
    "bisection_gbps",
    "build_graph",
    "build_layout",
    "effective_fabric",
    "graph_bisection_gbps",
    "graphml_bytes",
    "max_min_fractions",
    "site_layout",
    "summarize",
]
