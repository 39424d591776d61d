"""Repairs that wait to be looked at: a GPU repair nothing acts on is applied when the engine
next acts, stamped with its own time, instead of as an event of its own.

Such a repair changes a rack's count of healthy GPUs, the run's count of repairs and the
timeline (and a whole free rack may rejoin the spare pool) — no job's status, draw or
bandwidth. ``repair_events.py`` says which repairs wait and what a due one does; the engine
applies those due at the start of each event, before anything reads the cluster's health,
each at its own time: the record is the one a repair event would have written. A pending
repair that would now act (its rack left its job, its job stalled, a job wants the free
rack) is handed back to become an event at its time (``hand_back``).

This removes an event for most repairs: those of racks running jobs hold, and those of free
racks while no job waits for one. Cost: O(log n) per repair kept; the check after an event is
O(1) unless racks moved or a job was queued or stalled, then O(pending repairs).
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
