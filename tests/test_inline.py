"""The inline queue runs its items in time order between simpy's events, each at its own time
on the clock, as if each were a simpy event of its own."""

from __future__ import annotations

import functools

from hypothesis import given, settings
from hypothesis import strategies as st

from colossus_sim.sim.inline import Clock, InlineQueue

times = st.lists(st.floats(min_value=0.0, max_value=1000.0), min_size=1, max_size=30, unique=True)


@settings(max_examples=200, deadline=None)
@given(items=times, events=times, later=times)
def test_items_and_simpy_events_run_in_time_order_each_at_its_time(
    items: list[float], events: list[float], later: list[float]
) -> None:
    """Items queued up front, simpy timeouts, and items an item queues when it runs (``later``
    seconds after it): everything runs in time order, the clock at each one's time."""
    clock = Clock()
    queue = InlineQueue(clock)
    ran: list[tuple[float, float]] = []  # (when it was due, the clock when it ran)

    def item(at_s: float, spawn: float | None) -> None:
        ran.append((at_s, clock.now))
        if spawn is not None:
            due = clock.now + spawn
            queue.at(due, lambda: item(due, None))

    spawns = [*later, *[None] * len(items)]
    for at_s, spawn in zip(items, spawns, strict=False):
        queue.at(at_s, functools.partial(item, at_s, spawn))
    for at_s in events:
        clock.call_at(at_s, lambda _ev, at_s=at_s: ran.append((at_s, clock.now)))
    clock.run()
    assert all(due == now for due, now in ran)  # each at its own time
    assert [now for _, now in ran] == sorted(now for _, now in ran)  # in time order
    assert len(ran) == len(items) + len(events) + min(len(items), len(later))
