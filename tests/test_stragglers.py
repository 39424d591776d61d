"""Stragglers (``failures.stragglers``): slow trays that slow their job until found. Checked
against the Poisson count of onsets and against the time they can cost a job, part by part."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from one_job import one_job_scenario

from colossus_sim import api
from colossus_sim.errors import ScenarioError

SLOWDOWN = 0.5
FOUND_AFTER_MIN = 30.0
RATE_PER_M_GPU_H = 20.0


def _stragglers(rate: float = RATE_PER_M_GPU_H, slowdown: float = SLOWDOWN) -> list[str]:
    return [
        f"failures.stragglers.onsets_per_million_gpu_hours={rate}",
        f"failures.stragglers.slowdown={slowdown}",
        f"failures.stragglers.found_after_minutes={FOUND_AFTER_MIN}",
    ]


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One 1T job on 400 racks with no failures: only stragglers interrupt it."""
    return one_job_scenario(tmp_path_factory.mktemp("stragglers"), horizon_days=40, rate=0.0)


def test_onsets_follow_their_rate_and_each_found_one_is_a_restart(alone: Path) -> None:
    """Over the run, the site's onsets and those on the job's racks are Poisson counts of
    rate × GPUs × hours (within 4σ); every one on the job found before it finished costs one
    restart (those of its last half hour, ~0.3 expected, are not found)."""
    result = api.simulate(alone, _stragglers())
    job, site = result.jobs[0], result.cluster
    hours = site.hours
    for count, gpus in ((site.stragglers, site.gpus), (job.stragglers, job.racks * 72)):
        expected = RATE_PER_M_GPU_H / 1e6 * gpus * hours
        assert abs(count - expected) < 4 * math.sqrt(expected)
    assert 0 <= job.stragglers - job.restarts <= 3 and job.restarts > 0
    assert job.straggler_hours <= job.stragglers * FOUND_AFTER_MIN / 60 + 1e-9


def test_what_stragglers_cost_a_job_is_its_slowed_compute_and_its_restarts(alone: Path) -> None:
    """The time to train grows by the restarts (each ``restart_s``) plus the work a slowed
    job does not do: ``1 − 1/(1 + slowdown)`` of its compute while slowed, which is at most
    its straggler hours and at least those less the restarts inside them."""
    plain = api.simulate(alone).jobs[0]
    job = api.simulate(alone, _stragglers()).jobs[0]
    extra_h = (job.time_to_train_days - plain.time_to_train_days) * 24
    restarts_h = job.restarts * job.restart_s / 3600
    lost_share = 1 - 1 / (1 + SLOWDOWN)
    low = restarts_h + max(job.straggler_hours - restarts_h, 0.0) * lost_share
    high = restarts_h + job.straggler_hours * lost_share
    assert low * 0.99 <= extra_h <= high * 1.01
    assert job.tokens == pytest.approx(plain.tokens)


def test_stragglers_that_never_start_change_nothing(alone: Path) -> None:
    """At a zero rate the stragglers' own random stream draws nothing: the same run."""
    plain = api.simulate(alone, ["failures.rate_multiplier=1"])
    none = api.simulate(alone, ["failures.rate_multiplier=1", *_stragglers(rate=0.0)])
    assert none.jobs == plain.jobs and none.cluster.stragglers == 0


def test_a_slowdown_of_zero_is_refused_at_its_field(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        api.load_scenario(one_job_scenario(tmp_path), _stragglers(slowdown=0.0))
    assert "failures.stragglers.slowdown" in str(caught.value)
