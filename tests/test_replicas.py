"""Replicas: a scenario over seeds base + i, each job's P10/P50/P90 band; the 10T job's band
narrows as failures get rarer and collapses to a point without them. And ``compare``: two runs'
figures side by side, a job's finish day with them (a longer wait shows there). A job that
queues has wait and finish-day bands."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest
from children import HAS_PROC, run_killing_a_worker
from one_job import one_job_scenario
from queued_jobs import queued_scenario
from typer.testing import CliRunner

from colossus_sim import api

runner = CliRunner()
N = 8


@pytest.fixture(scope="module")
def ten_t(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 10T job alone on its 3,400 racks for 10 days (time to train is projected)."""
    return one_job_scenario(
        tmp_path_factory.mktemp("ten_t"), job="grok5_10t", racks=3400, horizon_days=10
    )


def _band(scenario: Path, *overrides: str) -> api.JobBand:
    summary = api.replicas(scenario, N, overrides=list(overrides), workers=2)
    assert summary.seeds == list(range(3, 3 + N))  # the file's seed 3, then 4, 5, ...
    (job,) = summary.jobs
    assert job.job == "grok5_10t" and job.runs == N
    return job


def test_the_10t_band_narrows_as_failures_get_rarer_and_collapses_without_them(
    ten_t: Path,
) -> None:
    often = _band(ten_t, "failures.rate_multiplier=2")
    rare = _band(ten_t, "failures.rate_multiplier=0.5")
    never = _band(ten_t, "failures.enabled=false")
    widths = [b.time_to_train_days.width for b in (often, rare, never)]
    assert widths[0] is not None and widths[1] is not None
    assert widths[0] > 2 * widths[1] > 0, widths
    assert widths[2] == 0.0
    assert never.goodput.width == 0.0
    # Rarer failures: a shorter time to train and a higher goodput, band by band.
    assert often.time_to_train_days.p50 > rare.time_to_train_days.p50  # type: ignore[operator]
    assert rare.time_to_train_days.p50 > never.time_to_train_days.p50  # type: ignore[operator]
    assert often.goodput.p50 < rare.goodput.p50 < never.goodput.p50  # type: ignore[operator]


def test_replica_i_runs_seed_base_plus_i(tmp_path: Path) -> None:
    scenario = one_job_scenario(tmp_path)
    summary = api.replicas(scenario, 3, seed=10, workers=1)
    assert summary.seeds == [10, 11, 12]
    frame = api.sweep(scenario, overrides=["seed=10"], replicas=3, workers=1)
    runs = [api.simulate(scenario, seed=s).jobs[0] for s in (10, 11, 12)]
    assert frame["time_to_train_days"].tolist() == [r.time_to_train_days for r in runs]
    band = summary.jobs[0].time_to_train_days
    ttt = sorted(r.time_to_train_days or 0.0 for r in runs)
    assert band.p50 == ttt[1]
    assert band.p10 is not None and ttt[0] <= band.p10 <= band.p50
    # It starts at once: no wait, and it finishes on the day its time to train ends.
    finish = summary.jobs[0].finish_days
    assert finish.p50 == pytest.approx(ttt[1]) and summary.jobs[0].wait_days.width == 0.0
    table = summary.frame()
    assert list(table.columns) == [
        "job",
        "runs",
        "finished",
        "time_to_train_days_p10",
        "time_to_train_days_p50",
        "time_to_train_days_p90",
        "finish_days_p10",
        "finish_days_p50",
        "finish_days_p90",
        "wait_days_p10",
        "wait_days_p50",
        "wait_days_p90",
        "goodput_p10",
        "goodput_p50",
        "goodput_p90",
    ]


def test_run_replicas_prints_the_bands(cli_module: ModuleType, tmp_path: Path) -> None:
    scenario = one_job_scenario(tmp_path)
    out = tmp_path / "out"
    args = ["run", str(scenario), "--replicas", "4", "--seed", "1"]
    result = runner.invoke(cli_module.app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "P10" in result.stdout and "P90" in result.stdout and "grok44_1t_a" in result.stdout
    assert "seeds 1–4" in result.stdout
    assert (out / "replicas.parquet").is_file() and (out / "replicas.json").is_file()
    as_json = runner.invoke(cli_module.app, [*args, "--json"])
    data = json.loads(as_json.stdout)
    assert data["seeds"] == [1, 2, 3, 4]
    assert set(data["jobs"][0]["time_to_train_days"]) == {"p10", "p50", "p90"}
    assert set(data["jobs"][0]["finish_days"]) == {"p10", "p50", "p90"}
    assert "finish d" in result.stdout and "wait d" not in result.stdout  # nobody queued
    bad = runner.invoke(cli_module.app, [*args[:3], "--replicas", "0"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_compare_gives_per_job_deltas(cli_module: ModuleType, tmp_path: Path) -> None:
    scenario = one_job_scenario(tmp_path)
    a = api.simulate(scenario, seed=1)
    b = api.simulate(scenario, overrides=["jobs.grok44_1t_a.racks=+20%"], seed=1)
    delta = api.compare(a, b)
    assert list(delta.columns) == ["job", "metric", "a", "b", "delta", "rel"]
    racks = delta[(delta["job"] == "grok44_1t_a") & (delta["metric"] == "racks")].iloc[0]
    assert (racks["a"], racks["b"], racks["delta"]) == (400.0, 480.0, 80.0)
    assert racks["rel"] == pytest.approx(0.2)
    step = delta[delta["metric"] == "step_s"].iloc[0]
    assert step["delta"] < 0  # more racks, shorter steps
    assert "finished" not in set(delta["metric"]) and "job" not in set(delta["metric"])

    wider = tmp_path / "wider.yaml"
    wider.write_text(scenario.read_text().replace("racks: 400", "racks: 480"))
    result = runner.invoke(cli_module.app, ["compare", str(scenario), str(wider), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    assert {"job": "grok44_1t_a", "metric": "racks", "a": 400.0, "b": 480.0}.items() <= next(
        r for r in rows if r["metric"] == "racks"
    ).items()
    table = runner.invoke(cli_module.app, ["compare", str(scenario), str(wider)])
    assert table.exit_code == 0 and "time_to_train_days" in table.stdout
    for headline in ("submit_days", "start_days", "wait_days", "finish_days"):
        assert headline in table.stdout
    bad = runner.invoke(cli_module.app, ["compare", str(scenario), "nosuch"])
    assert bad.exit_code == 2 and "unknown scenario" in bad.output


def test_compare_shows_a_longer_wait_in_the_finish_day_not_the_time_to_train() -> None:
    """With 20% more racks for the 10T, the 6T waits for racks; failures off, it trains as
    fast once started, so its finish day moves by its wait and its time to train not at all."""
    off = ["failures.enabled=false", "horizon_days=80"]  # all finish by day 50: a quicker run
    a = api.simulate(overrides=off)
    b = api.simulate("grok5_10t_racks_plus20", overrides=off)
    six_t = next(j for j in b.jobs if j.name == "grok5_6t")
    assert six_t.wait_days is not None and six_t.wait_days > 10
    delta = api.compare(a, b)
    rows = delta[delta["job"] == "grok5_6t"].set_index("metric")
    assert rows.loc["wait_days", "a"] == 0.0
    assert rows.loc["wait_days", "delta"] == pytest.approx(six_t.wait_days)
    assert rows.loc["finish_days", "delta"] == pytest.approx(six_t.wait_days, rel=1e-6)
    assert rows.loc["finish_days", "rel"] == pytest.approx(
        six_t.wait_days / rows.loc["finish_days", "a"], rel=1e-6
    )
    assert rows.loc["time_to_train_days", "delta"] == pytest.approx(0.0, abs=1e-6)
    # finish = submit + wait + time to train, in both runs
    for side in ("a", "b"):
        parts = rows.loc[["submit_days", "wait_days", "time_to_train_days"], side].sum()
        assert rows.loc["finish_days", side] == pytest.approx(parts)


def test_bands_of_a_job_that_queues(cli_module: ModuleType, tmp_path: Path) -> None:
    """``wide`` queues from day 1 until ``first`` finishes on day 5, then trains 3 days: its
    bands say wait 4, finish day 8; ``stuck`` never starts, so it has neither."""
    scenario = queued_scenario(tmp_path)
    summary = api.replicas(scenario, 2, workers=1)
    jobs = {j.job: j for j in summary.jobs}
    wide = jobs["wide"]
    assert wide.wait_days.p50 == pytest.approx(4.0, abs=1e-3) and wide.wait_days.width == 0.0
    assert wide.finish_days.p50 == pytest.approx(8.0, abs=1e-3)
    assert wide.time_to_train_days.p50 == pytest.approx(3.0, abs=1e-3)
    assert jobs["stuck"].finish_days.p50 is None and jobs["stuck"].wait_days.p50 is None
    table = runner.invoke(cli_module.app, ["run", str(scenario), "--replicas", "2"])
    assert table.exit_code == 0, table.output
    assert "wait d" in table.stdout and "finish d" in table.stdout
    row = next(line for line in table.stdout.splitlines() if " wide " in line)
    assert [cell.strip() for cell in row.split("│")[2:6]] == ["2/2", "3.00", "8.00", "4.00"]


@pytest.mark.skipif(not HAS_PROC, reason="reads Linux's /proc")
def test_a_killed_worker_stops_the_replicas_with_exit_1_saying_so() -> None:
    """``run --replicas``: a worker process killed mid-run (the OOM killer, a kill) is exit 1
    saying so, with no traceback (it printed BrokenProcessPool's)."""
    args = ("run", "--replicas", "4", "--set", "horizon_days=40")
    code, stderr = run_killing_a_worker(*args, workers=2)
    assert code == 1, stderr
    assert "a worker process died" in stderr and "nothing written" in stderr
    assert "Traceback" not in stderr
