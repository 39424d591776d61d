"""Placement policies: which free racks a job gets, in which rank order. One small protocol,
one class per policy.

The order of the returned racks is the order the job numbers its ranks in, and so the order
its collective rings visit racks (``fabric/``). ``pack`` takes the lowest-numbered racks,
filling pods in order (racks are numbered pod by pod), ranked in rack order. ``spread``
deals racks across pods round-robin and ranks them in dealing order, as a launcher that
knows nothing of the topology would: consecutive ranks sit in different pods. A failed
rack's replacement comes from the spares in its pod, else the nearest pod (under ``spread``:
the lowest-numbered spare). ``topology-aware`` puts a job into as few pods as it can — whole
free pods first, the remainder into the pod that fits it most tightly — ranked in rack
order; the engine admits jobs biggest-priority first, so the biggest jobs get the whole pods
and the last job of a GPU type takes the fragments they leave (it can touch more pods than
under ``pack``). ``priority`` places like ``pack``; its preemption rule (a higher-priority
job takes a rack from a lower one on shortage) is ``recovery.py``'s, which knows the jobs.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from colossus_sim.cluster import ClusterState, IntArray
from colossus_sim.config.scenario import PlacementPolicy


class Placement(Protocol):
    def choose(self, cluster: ClusterState, candidates: IntArray, count: int) -> IntArray:
        """``count`` racks out of ``candidates`` (sorted ascending), in rank order; fewer if
        not enough."""
        ...

    def replacement(self, cluster: ClusterState, spares: IntArray, lost: int) -> IntArray:
        """The spare (one rack, of ``spares``, sorted ascending) that takes ``lost``'s rank."""
        ...


def nearest_spare(cluster: ClusterState, spares: IntArray, lost: int) -> IntArray:
    """The spare in ``lost``'s pod, else in the nearest pod (ties: the lower rack), so a
    replacement keeps the job's rings inside the pods they were in where it can."""
    distance = np.abs(cluster.pod[spares] - cluster.pod[lost])
    return spares[[int(np.argmin(distance))]]


class Pack:
    def choose(self, cluster: ClusterState, candidates: IntArray, count: int) -> IntArray:
        return candidates[:count]

    def replacement(self, cluster: ClusterState, spares: IntArray, lost: int) -> IntArray:
        return nearest_spare(cluster, spares, lost)


class Spread:
    def choose(self, cluster: ClusterState, candidates: IntArray, count: int) -> IntArray:
        pods = cluster.pod[candidates]
        # Rank of each candidate within its pod, then deal rank 0 of every pod, rank 1, ...
        order = np.lexsort((candidates, pods))
        sorted_pods = pods[order]
        starts = np.r_[0, np.flatnonzero(np.diff(sorted_pods)) + 1]
        rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
        dealt = order[np.lexsort((sorted_pods, rank))]
        return candidates[dealt[:count]]

    def replacement(self, cluster: ClusterState, spares: IntArray, lost: int) -> IntArray:
        return spares[:1]  # blind to the topology, as its ranks are


class TopologyAware:
    def replacement(self, cluster: ClusterState, spares: IntArray, lost: int) -> IntArray:
        return nearest_spare(cluster, spares, lost)

    def choose(self, cluster: ClusterState, candidates: IntArray, count: int) -> IntArray:
        if count >= len(candidates):
            return candidates
        pods, free = np.unique(cluster.pod[candidates], return_counts=True)
        by_free = np.lexsort((pods, -free))  # fullest pods first, ties to the lower pod
        taken = 0
        need = count
        while taken < len(by_free) and free[by_free[taken]] <= need:
            need -= int(free[by_free[taken]])
            taken += 1
        whole = pods[by_free[:taken]]
        picked = candidates[np.isin(cluster.pod[candidates], whole)]
        if need > 0:  # best fit: the pod with the fewest free racks that holds the rest
            rest = by_free[taken:]
            best = int(pods[rest[np.argmin(np.where(free[rest] >= need, free[rest], np.inf))]])
            extra = candidates[cluster.pod[candidates] == best][:need]
            picked = np.concatenate((picked, extra))
        return np.sort(picked[:count])


_POLICIES: dict[PlacementPolicy, type[Pack] | type[Spread] | type[TopologyAware]] = {
    PlacementPolicy.PACK: Pack,
    PlacementPolicy.SPREAD: Spread,
    PlacementPolicy.PRIORITY: Pack,
    PlacementPolicy.TOPOLOGY_AWARE: TopologyAware,
}


def placement_for(policy: PlacementPolicy) -> Placement:
    return _POLICIES[policy]()
