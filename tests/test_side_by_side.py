"""Runs side by side (``api.simulate_each``, what ``compare`` uses) are the runs one after the
other would be: a run is a pure function of its scenario and seed, wherever it runs."""

from __future__ import annotations

import pytest

from colossus_sim import api

SHORT = ["horizon_days=2"]


@pytest.mark.parametrize("workers", [1, 2])
def test_runs_side_by_side_are_byte_identical_to_runs_in_turn(workers: int) -> None:
    scenarios = [
        api.load_scenario(None, SHORT),
        api.load_scenario(None, [*SHORT, "jobs.grok5_10t.racks=+20%"]),
        api.load_scenario("failures_2x", SHORT),
    ]
    together = api.simulate_each(scenarios, seed=7, workers=workers)
    alone = [api.simulate(s, seed=7) for s in scenarios]
    assert [r.label for r in together] == [r.label for r in alone]  # in the order asked
    assert [api.json_text(r.summary()) for r in together] == [
        api.json_text(r.summary()) for r in alone
    ]
    assert together[0].cluster.failures != together[2].cluster.failures  # three different runs


def test_progress_follows_the_first_run_and_bad_input_stops_all_before_any_runs() -> None:
    days: list[float] = []
    first, _ = api.simulate_each(
        [api.load_scenario(None, SHORT), api.load_scenario(None, SHORT)],
        seed=1,
        progress=lambda p: days.append(p.day),
    )
    assert days == sorted(days) and days[-1] == pytest.approx(first.cluster.hours / 24, abs=1)
    with pytest.raises(api.ScenarioError, match="unknown scenario"):
        api.simulate_each([api.load_scenario(None, SHORT), "no_such_scenario"])
    with pytest.raises(api.ScenarioError):
        api.simulate_each([None], seed=-1)
