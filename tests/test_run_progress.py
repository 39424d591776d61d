"""A run's progress (``api.simulate(progress=...)``, ``colossus-sim run`` in a terminal): told
once per simulated day and at the end, true to the run, and without effect on it."""

from __future__ import annotations

import io
import itertools

import pytest
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


@pytest.mark.parametrize("what", ["simulating", "simulating A, B"])  # run's, compare's
def test_the_progress_shows_whole_in_an_80_column_terminal_and_is_cleared(what: str) -> None:
    """Every field whole (none cut to "…") on 80 columns, for a year's stream of a thousand
    jobs and eighty thousand failures as for the default run."""
    for day, finished, jobs, failures in ((12, 3, 19, 3107), (365, 1000, 1000, 80091)):
        screen = io.StringIO()
        console = Console(file=screen, force_terminal=True, width=80, color_system=None)
        with run_progress(console, what) as report:
            assert report is not None
            report(api.RunProgress(day=day, finished=finished, jobs=jobs, failures=failures))
            shown = screen.getvalue()
        assert what in shown and f"{finished}/{jobs}" in shown and f"day {day} " in shown
        assert f"{failures:,} failures" in shown and "…" not in shown
        assert "\x1b[2K" in screen.getvalue()[len(shown) :]  # erased when the run is over


def test_nothing_shows_outside_a_terminal() -> None:
    screen = io.StringIO()
    with run_progress(Console(file=screen, force_terminal=False)) as report:
        assert report is None
    assert screen.getvalue() == ""
