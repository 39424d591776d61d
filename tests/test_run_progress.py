"""A run's progress (``api.simulate(progress=...)``, ``colossus-sim run`` in a terminal): told
once per simulated day and at the end, true to the run, and without effect on it."""

from __future__ import annotations

import io
import itertools

from rich.console import Console

from colossus_sim import api
from colossus_sim.cli.progress import run_progress


def test_progress_follows_the_run_day_by_day_and_changes_nothing() -> None:
    scenario = api.load_scenario(None, ["horizon_days=20"])
    reports: list[api.RunProgress] = []
    watched = api.simulate(scenario, progress=reports.append)
    alone = api.simulate(scenario)
    assert watched.model_dump_json() == alone.model_dump_json()  # watching changes nothing
    *daily, last = reports
    days = [report.day for report in daily]
    assert days == list(range(len(days)))  # each day once, in order, from day 0
    assert days[-1] <= 20
    assert all(a.failures <= b.failures for a, b in itertools.pairwise(reports))
    assert all(a.finished <= b.finished for a, b in itertools.pairwise(reports))
    assert {report.jobs for report in reports} == {len(watched.jobs)}
    # the last report is the run's end, as its results say
    assert last.day == int(watched.cluster.hours // 24)
    assert last.failures == watched.cluster.failures
    assert last.finished == sum(job.finished for job in watched.jobs) > 0


def test_the_progress_shows_in_a_terminal_and_is_cleared() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120, color_system=None)
    with run_progress(console) as report:
        assert report is not None
        report(api.RunProgress(day=12, finished=3, jobs=19, failures=3107))
        shown = screen.getvalue()
    assert "3/19" in shown and "day 12" in shown and "3,107 failures" in shown
    assert "\x1b[2K" in screen.getvalue()[len(shown) :]  # erased when the run is over


def test_nothing_shows_outside_a_terminal() -> None:
    screen = io.StringIO()
    with run_progress(Console(file=screen, force_terminal=False)) as report:
        assert report is None
    assert screen.getvalue() == ""
