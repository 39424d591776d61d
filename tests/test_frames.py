"""A run's frames speak one vocabulary: a job is ``job`` in every frame, time is in days, and
a breakdown is one number column per part (never a column of dicts)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from colossus_sim import api
from colossus_sim.results import job_number_columns, run_files


@pytest.fixture(scope="module")
def short_run() -> api.RunResult:
    return api.simulate(overrides=["horizon_days=2"])


def test_every_frame_names_a_job_job_and_none_says_name(short_run: api.RunResult) -> None:
    frames = {
        "jobs": short_run.jobs_frame(),
        "timeline": short_run.timeline_frame(),
        "job_series": short_run.job_series_frame(),
        "replicas": api.replica_summary(short_run.jobs_frame().assign(seed=short_run.seed)).frame(),
        "compare": api.compare(short_run, short_run),
    }
    for name, frame in frames.items():
        assert "job" in frame.columns and "name" not in frame.columns, name
    assert short_run.jobs_frame()["job"].tolist() == [j.name for j in short_run.jobs]


def test_frames_count_time_in_days(short_run: api.RunResult) -> None:
    for frame, series in (
        (short_run.timeline_frame(), short_run.timeline),
        (short_run.power_frame(), short_run.power),
        (short_run.job_series_frame(), short_run.job_series),
    ):
        assert "time_h" not in frame.columns
        assert frame["time_days"].tolist() == pytest.approx([t / 24 for t in series.time_h])
    cluster = short_run.cluster_frame()
    assert "hours" not in cluster.columns
    assert cluster["days"].iloc[0] == pytest.approx(2.0)  # the 2-day horizon
    jobs = short_run.jobs_frame()
    assert "throttled_hours" not in jobs.columns
    assert jobs["throttled_days"].tolist() == pytest.approx(
        [j.throttled_hours / 24 for j in short_run.jobs]
    )


def test_breakdowns_are_number_columns_and_the_parts_add_up(short_run: api.RunResult) -> None:
    jobs = short_run.jobs_frame()
    for column in jobs.columns:
        assert not jobs[column].map(lambda v: isinstance(v, dict | list)).any(), column
    parts = [c for c in jobs.columns if c.startswith("breakdown_")]
    assert "breakdown_compute_s" in parts and "breakdown_dp_sync_s" in parts
    ran = jobs[jobs["step_s"] > 0]
    assert ran[parts].sum(axis=1).tolist() == pytest.approx(ran["step_s"].tolist())
    restart = [c for c in jobs.columns if c.startswith("restart_") and c != "restart_s"]
    assert restart == [
        "restart_detection_s",
        "restart_reschedule_s",
        "restart_startup_s",
        "restart_load_s",
        "restart_warmup_s",
    ]
    with_parts = jobs[jobs[restart].notna().all(axis=1)]
    assert len(with_parts) > 0
    assert with_parts[restart].sum(axis=1).tolist() == pytest.approx(
        with_parts["restart_s"].tolist()
    )


def test_the_number_columns_known_before_a_run_are_the_frames(short_run: api.RunResult) -> None:
    """``--plot-y`` is checked against ``job_number_columns`` before a sweep runs: it must be
    exactly the frame's number columns."""
    jobs = short_run.jobs_frame()
    numeric = [c for c in jobs.columns if pd.api.types.is_numeric_dtype(jobs[c])]
    assert set(job_number_columns()) == set(numeric)


def test_every_frame_and_parquet_file_says_what_made_it(tmp_path: Path) -> None:
    run = api.simulate(overrides=["horizon_days=1", "jobs.grok5_10t.racks=+20%"])
    made_by = {
        "scenario": "colossus2",
        "what_if": ["horizon_days=1", "jobs.grok5_10t.racks=+20%"],
        "seed": 42,
        "version": run.version,
        "label": "colossus2 + horizon_days=1 + jobs.grok5_10t.racks=+20% (seed 42)",
    }
    for name, data in run_files(run).items():
        if name.endswith(".parquet"):
            path = tmp_path / name
            path.write_bytes(data)
            assert pd.read_parquet(path).attrs == made_by, name
    assert run.jobs_frame().attrs == made_by
