"""Placement policies: which free racks a job gets. One small protocol, one class per policy.

``pack`` takes the lowest-numbered racks, filling pods in order (racks are numbered pod by
pod). ``spread`` deals racks across pods round-robin. ``priority`` places like ``pack``; its
preemption rule (a higher-priority job takes a rack from a lower one on shortage) lives in
the engine, which knows the jobs.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from colossus_sim.cluster import ClusterState, IntArray
from colossus_sim.config.scenario import PlacementPolicy


class Placement(Protocol):
    def choose(self, cluster: ClusterState, candidates: IntArray, count: int) -> IntArray:
        """``count`` racks out of ``candidates`` (sorted ascending); fewer if not enough."""
        ...


class Pack:
    def choose(self, cluster: ClusterState, candidates: IntArray, count: int) -> IntArray:
        return candidates[:count]


class Spread:
    def choose(self, cluster: ClusterState, candidates: IntArray, count: int) -> IntArray:
        pods = cluster.pod[candidates]
        # Rank of each candidate within its pod, then deal rank 0 of every pod, rank 1, ...
        order = np.lexsort((candidates, pods))
        sorted_pods = pods[order]
        starts = np.r_[0, np.flatnonzero(np.diff(sorted_pods)) + 1]
        rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
        dealt = order[np.lexsort((sorted_pods, rank))]
        return np.sort(candidates[dealt[:count]])


_POLICIES: dict[PlacementPolicy, type[Pack] | type[Spread]] = {
    PlacementPolicy.PACK: Pack,
    PlacementPolicy.SPREAD: Spread,
    PlacementPolicy.PRIORITY: Pack,
}


def placement_for(policy: PlacementPolicy) -> Placement:
    return _POLICIES[policy]()
