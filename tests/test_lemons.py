"""Lemon trays (``failures.lemons``): a share of the failures on a few trays until they are
found. Checked against the superposition of two Poisson streams and against the rule that
finds them."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from one_job import one_job_scenario

from colossus_sim import api
from colossus_sim.cluster import ClusterState
from colossus_sim.errors import ScenarioError
from colossus_sim.sim.failures import FailureProcess
from colossus_sim.units import SECONDS_PER_HOUR

LEMONS = "failures.lemons"


def _lemon_overrides(share: float, found_after: int, fraction: float = 0.02) -> list[str]:
    return [
        f"{LEMONS}.tray_fraction={fraction}",
        f"{LEMONS}.failure_share={share}",
        f"{LEMONS}.found_after_failures={found_after}",
    ]


def _draw(tmp_path: Path, overrides: list[str], hours: float) -> tuple[FailureProcess, list[int]]:
    """The candidates of ``hours`` on Colossus 2 with every GPU healthy, each accepted (so
    lemons are counted and found): the process and each accepted failure's lemon tray."""
    resolved = api.load_scenario(one_job_scenario(tmp_path, rate=1.0), overrides)
    process = FailureProcess(resolved, np.random.default_rng(7), seed=7)
    cluster = ClusterState(resolved.cluster, len(resolved.jobs))
    lemons, now_s = [], 0.0
    for candidate in process.candidates(cluster):
        now_s += candidate[0]
        if now_s > hours * SECONDS_PER_HOUR:
            break
        if process.accept(candidate, cluster) is not None:
            lemons.append(candidate[5])
    return process, lemons


def test_lemons_never_found_keep_the_total_rate_and_take_their_share(tmp_path: Path) -> None:
    """Never found, the lemons only move failures: the site's count over 200 hours is the
    model's rate × GPUs × hours (Poisson: within 4σ), and the lemons' part of it is
    ``failure_share`` (binomial: within 4σ)."""
    share, hours = 0.73, 200.0
    process, lemons = _draw(tmp_path, _lemon_overrides(share, found_after=0), hours)
    site = process.resolved.cluster
    expected = (
        process.resolved.effective.failure_rate_per_gpu_hour
        * site.racks
        * site.gpus_per_rack
        * hours
    )
    assert abs(len(lemons) - expected) < 4 * math.sqrt(expected)
    on_lemons = sum(1 for tray in lemons if tray >= 0)
    sigma = math.sqrt(len(lemons) * share * (1 - share))
    assert abs(on_lemons - share * len(lemons)) < 4 * sigma
    assert process.lemons is not None and process.lemons.found_count == 0


def test_a_lemon_is_found_at_its_kth_failure_and_fails_no_more(tmp_path: Path) -> None:
    """Found after 2 failures, no lemon tray fails a third time, every tray that failed twice
    is found and no other is, and every lemon failure is counted against its tray."""
    hours = 400.0
    process, lemons = _draw(tmp_path, _lemon_overrides(0.73, found_after=2), hours)
    trays = process.lemons
    assert trays is not None
    assert trays.failures.max() == 2
    assert np.array_equal(trays.found, trays.failures >= 2)
    assert trays.accepted == sum(1 for tray in lemons if tray >= 0) == trays.failures.sum()
    assert trays.found_count > 0


def test_lemons_that_cause_no_failure_change_nothing(tmp_path: Path) -> None:
    """With ``failure_share: 0`` the lemons have their own random stream and no rate: the run
    is the run without them, figure for figure."""
    path = one_job_scenario(tmp_path, horizon_days=2, rate=3.0)
    plain = api.simulate(path)
    with_lemons = api.simulate(path, _lemon_overrides(0.0, found_after=1))
    assert with_lemons.cluster.lemon_trays > 0 and with_lemons.cluster.lemon_failures == 0
    assert with_lemons.jobs == plain.jobs
    assert with_lemons.cluster.failures == plain.cluster.failures


def test_finding_lemons_sooner_means_fewer_failures(tmp_path: Path) -> None:
    """One job for 4 days at 3× the rate: finding a lemon at its first failure leaves fewer
    failures (and no fewer tokens) than never finding it."""
    path = one_job_scenario(tmp_path, horizon_days=4, rate=3.0)
    never = api.simulate(path, _lemon_overrides(0.73, found_after=0))
    first = api.simulate(path, _lemon_overrides(0.73, found_after=1))
    assert first.cluster.lemons_found == first.cluster.lemon_failures > 0
    assert first.cluster.failures < never.cluster.failures
    assert first.jobs[0].tokens >= never.jobs[0].tokens


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("tray_fraction=0", "tray_fraction"),
        ("failure_share=1", "failure_share"),
        ("found_after_failures=-1", "found_after_failures"),
    ],
)
def test_bad_lemons_are_refused_at_their_field(tmp_path: Path, override: str, field: str) -> None:
    values = dict(o.split("=", 1) for o in _lemon_overrides(0.5, 2))
    key, value = override.split("=")
    values[f"{LEMONS}.{key}"] = value
    with pytest.raises(ScenarioError) as caught:
        api.load_scenario(one_job_scenario(tmp_path), [f"{k}={v}" for k, v in values.items()])
    assert f"{LEMONS}.{field}" in str(caught.value)


def test_the_run_text_says_how_the_checkpoints_went_and_what_the_lemons_did(
    tmp_path: Path,
) -> None:
    """The text output's checkpoint line counts each tier the run used as the result does,
    and the lemon line gives the result's lemon counts."""
    from typer.testing import CliRunner

    from colossus_sim.cli.app import app

    path = one_job_scenario(tmp_path, horizon_days=2, rate=3.0)
    overrides = _lemon_overrides(0.73, found_after=1)
    args = ["run", str(path), *[a for o in overrides for a in ("--set", o)]]
    shown = CliRunner().invoke(app, args, env={"COLUMNS": "400"})
    assert shown.exit_code == 0, shown.output
    result = api.simulate(path, overrides)
    c = result.cluster
    stored = c.checkpoints_by_tier["shared_storage"]
    assert stored > 0 and f"checkpoints: {stored:,} to shared storage" in shown.output
    assert "to local NVMe" not in shown.output  # a tier the run did not use
    assert (
        f"lemon trays: {c.lemon_trays:,} · {c.lemon_failures:,} of the {c.failures:,} failures"
        f" · {c.lemons_found:,} found and replaced" in shown.output
    )
