"""Where every rack sits in the fabric and what each tier can carry: the switch tiers, the
rail-plane Clos layout (leaf blocks, pods, spine and core positions, sized from switch port
budgets) and the capacity (Gb/s, each direction, all planes) of every rack's NICs, every
block's leaf uplinks and every pod's uplinks to the core.

Cost: O(racks) numpy, once per run (and once per ``colossus-sim fabric``); the layout is
immutable and everything else in the package reads its arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from colossus_sim.config.cluster import ClusterSpec, FabricSpec
from colossus_sim.config.load import load_gpu
from colossus_sim.config.scenario import FabricScenarioSpec

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class SwitchTier(StrEnum):
    """A tier of switches, in the order traffic climbs them (formats as its name)."""

    LEAF = "leaf"
    SPINE = "spine"
    CORE = "core"


SWITCH_TIERS: tuple[SwitchTier, ...] = tuple(SwitchTier)
"""The tiers in climbing order: ``SWITCH_TIERS[i]`` is tier ``i``."""


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

    def switch_counts(self) -> dict[SwitchTier, int]:
        """Physical switches per tier (positions × planes)."""
        planes = self.spec.planes
        return {
            SwitchTier.LEAF: self.blocks * planes,
            SwitchTier.SPINE: self.pods * self.spines_per_pod * planes,
            SwitchTier.CORE: self.cores * planes,
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
