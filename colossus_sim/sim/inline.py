"""Events the engine runs without a simpy event each: the failure candidates and restart
completions, which are most of a run's events.

simpy orders events by pushing each on its heap and running it from there (an object, a
callback list and a heap entry per event). The failure stream and the restarts it causes are
the bulk of a run (about 25k failures and 9k restart completions in the default scenario), so
they wait in this queue's own heap instead, and run *inline*: each as soon as it is due,
while it comes strictly before the next simpy event, with the clock moved to its time
(``Clock.advance_to``). Only when a simpy event comes first does the queue hand over to simpy,
leaving one wake-up timeout at its earliest item. The order of everything is the order simpy
would have given (by time; items of one instant in the order they were queued), so the run's
record is the same; only the per-event overhead goes.

Cost: O(log n) per item; one simpy event per stretch of items a simpy event interrupts.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

import simpy
from simpy.events import NORMAL


class Clock(simpy.Environment):
    """simpy's environment, whose clock the inline queue may move forward to an item's time
    (never past the next simpy event, so simpy's order stands), and which can call back at an
    absolute time (a timeout's ``now + delay`` may round off it)."""

    def advance_to(self, at_s: float) -> None:
        """Move the clock to ``at_s``: the caller knows it is not before now nor after
        simpy's next event (``InlineQueue.run_due`` checked both)."""
        self._now = at_s

    def call_at(self, at_s: float, callback: Callable[[simpy.Event], None]) -> None:
        """Call ``callback`` at ``at_s`` exactly, as a simpy event (ordered as a timeout)."""
        event = simpy.Event(self)
        event._ok, event._value = True, None
        event.callbacks.append(callback)
        heapq.heappush(self._queue, (at_s, NORMAL, next(self._eid), event))


Item = tuple[float, int, Callable[[], None]]
"""(time s, order queued, action)."""


class InlineQueue:
    """Actions due at given times, run in time order between (and before) simpy's events."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.heap: list[Item] = []
        self.order = itertools.count()
        self.wakes: list[float] = []
        """Times of the wake-up timeouts pending in simpy (the earliest first)."""
        self.running = False
        """Inside ``run_due``, which arms the wake-up once it stops."""

    def at(self, at_s: float, action: Callable[[], None]) -> None:
        """Run ``action`` at ``at_s`` (not before now)."""
        heapq.heappush(self.heap, (at_s, next(self.order), action))
        if not self.running:
            self._arm(at_s)

    def _arm(self, at_s: float) -> None:
        """Make sure simpy wakes the queue by ``at_s``."""
        wakes = self.wakes
        if wakes and wakes[0] <= at_s:
            return  # an earlier wake-up runs the queue first
        heapq.heappush(wakes, at_s)
        self.clock.call_at(at_s, self._wake)

    def _wake(self, _event: simpy.Event) -> None:
        heapq.heappop(self.wakes)
        self.run_due()

    def run_due(self) -> None:
        """Run the items due now, then those before the next simpy event, in time order."""
        heap, clock = self.heap, self.clock
        self.running = True
        try:
            while heap:
                at_s = heap[0][0]
                if at_s > clock.now and at_s >= clock.peek():
                    break
                action = heapq.heappop(heap)[2]
                clock.advance_to(at_s)
                action()
        finally:
            self.running = False
        if heap:
            self._arm(heap[0][0])
