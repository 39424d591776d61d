"""``colossus-sim run``'s progress while it simulates: the jobs finished of all (a bar), the
simulated day, the failures so far and the time elapsed, on stderr, in a terminal only, and
gone when the run ends (its report follows). A run takes seconds; without it nothing shows
that one is under way.

Cost: rich's progress display is imported only when shown; it is redrawn once per simulated
day (``api.simulate``'s reporter), with no refresh thread.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.console import Console

from colossus_sim import api

BAR_WIDTH = 10
"""Columns of the bar itself: with a year's stream's figures (1000/1000 jobs, day 365, 80,091
failures) and compare's label every field fits an 80-column terminal whole."""


@contextlib.contextmanager
def run_progress(console: Console, what: str = "simulating") -> Iterator[api.Reporter | None]:
    """A reporter for ``api.simulate(progress=...)`` drawing on ``console`` while the block
    runs, its bar labelled ``what``; None (nothing shown) when ``console`` is not a
    terminal."""
    if not console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn(what, markup=False),
        BarColumn(bar_width=BAR_WIDTH),
        MofNCompleteColumn(),
        TextColumn("jobs · day {task.fields[day]} · {task.fields[failures]:,} failures"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        auto_refresh=False,
    )
    task = bar.add_task("run", total=None, day=0, failures=0)

    def report(progress: api.RunProgress) -> None:
        bar.update(
            task,
            total=progress.jobs,
            completed=progress.finished,
            day=progress.day,
            failures=progress.failures,
            refresh=True,
        )

    with bar:
        yield report
