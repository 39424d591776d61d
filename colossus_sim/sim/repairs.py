"""Repairs that wait to be looked at: a GPU repaired on a rack a job holds is applied when the
engine next acts, stamped with its own time, instead of as an event of its own.

Such a repair changes a rack's count of healthy GPUs, the run's count of repairs and the
timeline — no job's status, draw or bandwidth: the rack stays its job's, and a job that is
not stalled does not look at its racks' health until something else happens to it. So the
engine keeps these repairs here and, at the start of each event (before anything reads the
cluster's health), applies those due, each at its own time: the record is the one a repair
event would have written. A repair can act only on a rack no job holds (it may start a queued
job) or on a stalled job's rack (the job may restart), so a pending repair whose rack left its
job, or whose job stalled, is handed back to become an event at its time (``hand_back``).

This removes an event per GPU repair on a job's racks — about three in four of the default
run's repairs. Cost: O(log n) per repair kept; the check after an event is O(1) unless a
rack was released or a job stalled, then O(pending repairs).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator

PendingRepair = tuple[float, int, int, int]
"""(time s, order of arrival, rack, GPUs repaired)."""


class PendingRepairs:
    """Repairs of racks jobs hold, in time order, until applied or handed back."""

    def __init__(self) -> None:
        self.heap: list[PendingRepair] = []
        self.order = itertools.count()

    def __len__(self) -> int:
        return len(self.heap)

    def add(self, at_s: float, rack: int, gpus: int) -> None:
        heapq.heappush(self.heap, (at_s, next(self.order), rack, gpus))

    def due(self, now_s: float) -> Iterator[tuple[float, int, int]]:
        """The repairs at or before ``now_s``, in time order, each removed as it is given."""
        heap = self.heap
        while heap and heap[0][0] <= now_s:
            at_s, _, rack, gpus = heapq.heappop(heap)
            yield at_s, rack, gpus

    def hand_back(self, must_act: Callable[[int], bool]) -> list[tuple[float, int, int]]:
        """Remove and return (in time order) the repairs of racks for which ``must_act`` says
        a repair would do more than count: their rack left its job, or the job stalled."""
        back = [entry for entry in self.heap if must_act(entry[2])]
        if not back:
            return []
        self.heap = [entry for entry in self.heap if not must_act(entry[2])]
        heapq.heapify(self.heap)
        return [(at_s, rack, gpus) for at_s, _, rack, gpus in sorted(back)]
