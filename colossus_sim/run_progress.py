"""How far a run has got, for whoever shows it while it runs (``colossus-sim run`` in a
terminal, a notebook through ``api.simulate(progress=...)``): the simulated day, the jobs
finished of all, and the failures so far.

It is read from the timeline as its rows are written, at most once per simulated day, and
reading it changes nothing in the run: a run with a reporter gives the same bytes as one
without. Cost: one comparison per timeline row and one call per simulated day.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from colossus_sim.units import HOURS_PER_DAY


class RunProgress(NamedTuple):
    """A run's state at the start of a simulated day (or at its end)."""

    day: int
    """Whole simulated days so far."""
    finished: int
    """Jobs (and phases) that finished their work."""
    jobs: int
    """Jobs (and phases) in the run."""
    failures: int
    """Failures so far (accepted, on a job's racks or not)."""


Reporter = Callable[[RunProgress], None]
"""What is told of a run's progress."""


def daily(report: Reporter, state: Callable[[], tuple[int, int, int]]) -> Callable[..., None]:
    """A timeline listener that tells ``report`` the run's ``state`` (jobs finished, jobs,
    failures) at the first row of each simulated day; a row's first field is its hour."""
    next_h = 0.0

    def on_row(row: tuple[float, str, str, int, str]) -> None:
        nonlocal next_h
        hours = row[0]
        if hours >= next_h:
            day = int(hours // HOURS_PER_DAY)
            next_h = (day + 1) * HOURS_PER_DAY
            finished, jobs, failures = state()
            report(RunProgress(day, finished, jobs, failures))

    return on_row
