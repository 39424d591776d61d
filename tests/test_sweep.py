"""Sweeps: each point stored once, an interrupted sweep resumes without redoing points and ends
byte-identical, the local pool and dask agree, the store holds no partial files, bad grids are
located errors before anything runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest
from one_job import one_job_scenario
from queued_jobs import queued_scenario
from typer.testing import CliRunner

import colossus_sim
from colossus_sim import api, plots, sweep_exec
from colossus_sim import sweep as sweeps
from colossus_sim.errors import ScenarioError
from colossus_sim.results import parquet_bytes

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()
QUIET: dict[str, Any] = {"dashboard_address": None, "scheduler_kwargs": {"dashboard_address": ":0"}}
"""A test cluster's options: no dashboard, and the scheduler's HTTP routes on a free port (two
clusters at once, under ``pytest -n``, would otherwise both ask for 8787)."""
GRID: dict[str, list[object]] = {
    "failures.rate_multiplier": [0.5, 1, 2],
    "jobs.grok44_1t_a.racks": [300, "+10%"],
}


def _store_names(store: Path) -> list[str]:
    return sorted(p.name for p in store.iterdir())


def test_an_interrupted_sweep_resumes_without_redoing_points(tmp_path: Path) -> None:
    scenario = one_job_scenario(tmp_path, horizon_days=1)  # 24 points computed, a day each
    reference = sweeps.run(scenario, GRID, seeds=[1, 2], workers=1, store=tmp_path / "ref")
    assert (reference.points, reference.computed, reference.reused) == (12, 12, 0)

    store = tmp_path / "store"
    first: list[str] = []

    def stop_after_four(point: sweeps.SweepPoint) -> None:
        first.append(point.key)
        if len(first) == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweeps.run(scenario, GRID, seeds=[1, 2], workers=2, store=store, on_stored=stop_after_four)
    # Exactly the points reported stored are there, each complete; nothing temporary.
    assert _store_names(store) == sorted(f"{k}.parquet" for k in first)
    for name in _store_names(store):
        pd.read_parquet(store / name)

    # A temporary file a killed writer left an hour ago is cleaned up by the next run.
    stale = store / ".deadbeef.parquet.x1y2.tmp"
    stale.write_bytes(b"partial")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))

    second: list[str] = []
    resumed = sweeps.run(
        scenario,
        GRID,
        seeds=[1, 2],
        workers=2,
        store=store,
        on_stored=lambda p: second.append(p.key),
    )
    assert not set(first) & set(second), "a stored point was computed again"
    assert (resumed.computed, resumed.reused) == (8, 4)
    assert len(second) == 8
    assert _store_names(store) == sorted(f"{k}.parquet" for k in first + second)
    assert parquet_bytes(resumed.frame) == parquet_bytes(reference.frame)

    again = sweeps.run(scenario, GRID, seeds=[1, 2], workers=2, store=store)
    assert (again.computed, again.reused) == (0, 12)
    assert parquet_bytes(again.frame) == parquet_bytes(reference.frame)


def test_the_table_has_grid_columns_seed_and_job_columns(tmp_path: Path) -> None:
    scenario = one_job_scenario(tmp_path)
    frame = api.sweep(scenario, {"jobs.grok44_1t_a.racks": [400, "+0%"]}, seeds=[5], workers=1)
    assert list(frame.columns[:3]) == ["point", "jobs.grok44_1t_a.racks", "seed"]
    assert {"job", "time_to_train_days", "goodput", "step_s", "mfu"} <= set(frame.columns)
    assert frame["point"].tolist() == [0, 1]
    assert frame["jobs.grok44_1t_a.racks"].tolist() == [400, 400]  # +0% of 400, resolved
    assert (
        frame.attrs["scenario"] == "grok44_1t_a_alone"
    )  # what made it, for the table and figure titles
    fig = plots.plot_sweep(frame, x="jobs.grok44_1t_a.racks")
    assert fig.get_suptitle().endswith(" — grok44_1t_a_alone")
    assert f"colossus-sim {colossus_sim.__version__}" in [t.get_text() for t in fig.texts]
    # 400 and +0% resolve to the same simulation: one stored run, two identical rows.
    result = sweeps.run(scenario, {"jobs.grok44_1t_a.racks": [400, "+0%"]}, seeds=[5], workers=1)
    assert (result.points, result.computed) == (2, 1)
    jobs = frame.drop(columns=["point", "jobs.grok44_1t_a.racks"])
    pd.testing.assert_frame_equal(
        jobs.iloc[[0]].reset_index(drop=True), jobs.iloc[[1]].reset_index(drop=True)
    )
    # Point order: the grid's values in order, the last path fastest, seeds innermost.
    plan = sweeps.plan(scenario, GRID, seeds=[7, 8])
    assert [(p.values, p.seed) for p in plan.points[:3]] == [
        ((0.5, 300), 7),
        ((0.5, 300), 8),
        ((0.5, 440), 7),  # +10% of the file's 400 racks
    ]
    assert plan.given == {"jobs.grok44_1t_a.racks": {"440": "+10%"}}
    # replicas: seeds s … s+N−1 from the point's own seed (3 in the file).
    assert [p.seed for p in sweeps.plan(scenario, None, replicas=3).points] == [3, 4, 5]
    # A loaded scenario works as its file; one changed after loading is refused.
    loaded = api.load_scenario(scenario)
    assert sweeps.plan(loaded, None).points == sweeps.plan(scenario, None).points
    with pytest.raises(ValueError, match="pass its path and the overrides"):
        sweeps.plan(api.load_scenario(scenario, ["jobs.grok44_1t_a.racks=300"]), None)


def test_the_local_pool_and_dask_give_identical_frames(tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    scenario = one_job_scenario(tmp_path)
    grid = {"failures.rate_multiplier": [0.5, 2]}
    local = api.sweep(scenario, grid, seeds=[1, 2], workers=2, store=tmp_path / "local")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, **QUIET) as cluster:
        by_address = api.sweep(
            scenario, grid, seeds=[1, 2], scheduler=cluster.scheduler_address, store=tmp_path / "a"
        )
        with Client(cluster) as client:
            by_client = api.sweep(scenario, grid, seeds=[1, 2], client=client)
    pd.testing.assert_frame_equal(local, by_address)
    pd.testing.assert_frame_equal(local, by_client)
    assert parquet_bytes(local) == parquet_bytes(by_address)


def test_a_lost_dask_scheduler_is_exit_2_and_the_rerun_resumes(
    cli_module: ModuleType, tmp_path: Path
) -> None:
    """The scheduler closed after the first stored point: exit 2 saying how many points the
    store kept and that a rerun computes the rest, no traceback; the rerun (on a new
    scheduler, same store) computes only the missing points."""
    import dask
    from distributed import LocalCluster

    scenario = one_job_scenario(tmp_path, horizon_days=1)
    store = tmp_path / "store"
    args = ["sweep", str(scenario), "--grid", "failures.rate_multiplier=0.5,1,2", "--seeds", "1-4"]
    args += ["--store", str(store)]
    options = {"n_workers": 1, "threads_per_worker": 1, "processes": False}
    with LocalCluster(**options, **QUIET) as cluster:

        def close_after_first_point() -> None:
            while not list(store.glob("*.parquet")):
                time.sleep(0.01)
            cluster.sync(cluster.scheduler.close)

        closer = threading.Thread(target=close_after_first_point, daemon=True)
        closer.start()
        lost = runner.invoke(cli_module.app, [*args, "--scheduler", cluster.scheduler_address])
        closer.join(timeout=30)
        # Closing the cluster asks its scheduler, gone now, to terminate: dask retries that
        # connection for distributed.comm.timeouts.connect (30 s by default) before giving up.
        with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
            cluster.close()
    assert lost.exit_code == 2, lost.output
    assert "Traceback" not in lost.output, lost.output
    kept = len(list(store.glob("*.parquet")))
    assert 1 <= kept < 12
    message = (
        f"the dask scheduler at {cluster.scheduler_address} went away after {kept} of 12 "
        "points; the store keeps them: rerun the same command to compute the rest"
    )
    assert message in lost.output, lost.output

    with LocalCluster(**options, **QUIET) as cluster:
        rerun = runner.invoke(
            cli_module.app, [*args, "--scheduler", cluster.scheduler_address, "--json"]
        )
    assert rerun.exit_code == 0, rerun.output
    data = json.loads(rerun.stdout)
    assert (data["points"], data["reused"], data["computed"]) == (12, kept, 12 - kept)


@pytest.mark.parametrize(
    ("grid", "field", "fragment"),
    [
        ({"jobs.grok44_1t_a.rackz": [1]}, "--grid jobs.grok44_1t_a.rackz", "did you mean 'racks'"),
        ({"jobs.grok44_1t_a.racks": [300, 9000]}, "--grid jobs.grok44_1t_a.racks=9000", "at most"),
        ({"failures.rate_multiplier": [1, "often"]}, "--grid failures.rate_multiplier=often", ""),
        ({"failures.rate_multiplier": []}, "--grid failures.rate_multiplier", "no values"),
        ({"seed": [1, 2]}, "--grid seed", "seeds or replicas"),
    ],
)
def test_bad_grid_input_is_a_located_error_before_anything_runs(
    tmp_path: Path, grid: dict[str, list[object]], field: str, fragment: str
) -> None:
    store = tmp_path / "store"
    with pytest.raises(ScenarioError) as caught:
        sweeps.run(one_job_scenario(tmp_path), grid, workers=1, store=store)
    issue = caught.value.issues[0]
    assert issue.field == field, str(caught.value)
    assert fragment in str(caught.value)
    assert not store.exists() or not list(store.iterdir()), "a point ran despite bad input"


def test_an_error_names_the_override_that_wrote_the_path(tmp_path: Path) -> None:
    """Not an earlier ``--set`` at the same job: the grid value that wrote the bad path."""
    with pytest.raises(ScenarioError) as caught:
        sweeps.plan(
            one_job_scenario(tmp_path),
            {"jobs.grok44_1t_a.racks": [9000]},
            overrides=["jobs.grok44_1t_a.priority=3"],
        )
    assert caught.value.issues[0].field == "--grid jobs.grok44_1t_a.racks=9000"


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--grid", "jobs.grok44_1t_a.rackz=1,2"], ("--grid jobs.grok44_1t_a.rackz", "'racks'")),
        (["--grid", "jobs.grok44_1t_a.racks=300,-4"], ("--grid jobs.grok44_1t_a.racks=-4",)),
        (["--grid", "failures.rate_multiplier"], ("--grid failures.rate_multiplier", "PATH=V1")),
        (["--grid", "failures.rate_multiplier=1,,2"], ("an empty value",)),
        (["--seeds", "5-2"], ("--seeds",)),
        (["--seeds", "1", "--replicas", "2"], ("--seeds or --replicas",)),
        (["--scheduler", "tcp://127.0.0.1:1"], ("--scheduler", "cannot connect")),
        (["--scheduler", "foo://127.0.0.1:1"], ("--scheduler", "unknown address scheme")),
    ],
)
def test_bad_sweep_options_exit_2_without_a_traceback(
    cli_module: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    fragments: tuple[str, ...],
) -> None:
    monkeypatch.setattr(sweep_exec, "CONNECT_TIMEOUT", "0.5s")  # nothing listens on port 1
    scenario = one_job_scenario(tmp_path)
    result = runner.invoke(cli_module.app, ["sweep", str(scenario), *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


def test_cli_sweep_writes_the_table_and_resumes(cli_module: ModuleType, tmp_path: Path) -> None:
    scenario = one_job_scenario(tmp_path)
    args = ["sweep", str(scenario), "--grid", "failures.rate_multiplier=0.5,2", "--seeds", "1-2"]
    out = tmp_path / "out"
    result = runner.invoke(cli_module.app, [*args, "--out", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "failures.rate_multiplier" in result.stdout and "grok44_1t_a" in result.stdout
    table = pd.read_parquet(out / "sweep.parquet")
    assert len(table) == 4 and table["seed"].tolist() == [1, 2, 1, 2]
    first = (out / "sweep.parquet").read_bytes()
    again = runner.invoke(cli_module.app, [*args, "--out", str(out), "--json"])
    assert again.exit_code == 0, again.output
    data = json.loads(again.stdout)
    assert (data["points"], data["computed"], data["reused"]) == (4, 0, 4)
    assert len(data["rows"]) == 4
    assert (out / "sweep.parquet").read_bytes() == first


def test_ctrl_c_stops_the_cli_cleanly_and_the_rerun_resumes(tmp_path: Path) -> None:
    """A real Ctrl-C (SIGINT to the process group, as a terminal sends it) mid-sweep."""
    scenario = one_job_scenario(tmp_path, horizon_days=1)
    store = tmp_path / "store"
    args = [sys.executable, str(ROOT / "cli.py"), "sweep", str(scenario), "--store", str(store)]
    args += ["--grid", "failures.rate_multiplier=0.5,1,2,4", "--seeds", "0-3", "--workers", "2"]
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if store.is_dir() and len(list(store.glob("*.parquet"))) >= 2:
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr, stderr
    assert "run the same command again to resume" in stderr
    names = _store_names(store)
    assert names and all(n.endswith(".parquet") and not n.startswith(".") for n in names)
    stored = len(names)
    assert stored < 16

    rerun = subprocess.run([*args, "--json"], capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    data = json.loads(rerun.stdout)
    assert (data["points"], data["reused"], data["computed"]) == (16, stored, 16 - stored)


def _children(pid: int) -> dict[int, str]:
    """The live child processes of ``pid`` (psutil when installed, else /proc), each with its
    start time, so a pid reused later is not taken for the same process."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        try:
            kids = psutil.Process(pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return {}
        return {k.pid: str(k.create_time()) for k in kids}
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == str(pid):  # fields: state, ppid, ..., starttime (19th)
            found[int(entry.name)] = fields[19]
    return found


def _alive(processes: dict[int, str]) -> list[int]:
    """Which of ``processes`` (pid → start time from ``_children``) still run (a zombie whose
    parent has not yet reaped it counts as gone)."""
    try:
        import psutil
    except ImportError:
        psutil = None
    alive = []
    for pid, started in processes.items():
        if psutil is not None:
            try:
                proc = psutil.Process(pid)
                if str(proc.create_time()) == started and proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
            except psutil.NoSuchProcess:
                pass
            continue
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[19] == started and fields[0] != "Z":
            alive.append(pid)
    return alive


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_terminated_or_killed_sweep_leaves_no_worker_alive(
    tmp_path: Path, sig: signal.Signals
) -> None:
    """What CI cancellation sends, to the sweep's process alone (not its group): within 5 s
    none of its worker processes is left. SIGTERM is an orderly stop (exit 130, the store
    keeps finished points); SIGKILL leaves the kernel to kill the workers."""
    store = tmp_path / "store"
    args = [sys.executable, str(ROOT / "cli.py"), "sweep", "--set", "horizon_days=10"]
    args += ["--grid", "failures.rate_multiplier=0.5,1,2,4", "--seeds", "1-3", "--workers", "2"]
    proc = subprocess.Popen(
        [*args, "--store", str(store)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        workers: dict[int, str] = {}
        while time.monotonic() < deadline and proc.poll() is None and len(workers) < 2:
            workers = _children(proc.pid)
            time.sleep(0.05)
        assert len(workers) >= 2, "the sweep started no pool"
        time.sleep(0.5)  # into their first points
        proc.send_signal(sig)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        while _alive(workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _alive(workers) == [], "worker processes outlived the sweep"
    finally:
        for pid in _alive(workers):
            os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
    stderr = proc.stderr.read() if proc.stderr else ""
    if sig == signal.SIGTERM:
        assert proc.returncode == 130, stderr
        assert "Traceback" not in stderr, stderr
        assert "terminated (SIGTERM)" in stderr and "run the same command again to resume" in stderr
    else:
        assert proc.returncode == -signal.SIGKILL
    assert all(n.endswith(".parquet") for n in _store_names(store))


def test_the_table_has_submit_wait_and_finish_days(cli_module: ModuleType, tmp_path: Path) -> None:
    """A job that queues: its finish day is its start plus its time to train, its wait the
    days from its submission to its start; one that never starts has neither. The CLI table
    shows the finish day and the wait, and --plot-y finish_days draws it."""
    scenario = queued_scenario(tmp_path)
    grid = {"jobs.wide.submit_days": [1, 4]}
    frame = api.sweep(scenario, grid, workers=1, store=tmp_path / "store")
    assert {"submit_days", "wait_days", "finish_days"} <= set(frame.columns)
    ran = frame[frame["finished"]]
    assert set(ran["job"]) == {"first", "wide"}
    assert ran["finish_days"].tolist() == pytest.approx(
        (ran["start_days"] + ran["time_to_train_days"]).tolist()
    )
    wide = frame[frame["job"] == "wide"].set_index("jobs.wide.submit_days")
    assert wide["start_days"].tolist() == pytest.approx([5.0, 5.0], abs=1e-3)  # when first ends
    assert wide["wait_days"].tolist() == pytest.approx([4.0, 1.0], abs=1e-3)
    never = frame[frame["job"].isin(["stuck", "held"])]
    assert never["wait_days"].isna().all() and never["finish_days"].isna().all()
    ax = api.plot_sweep(frame, x="jobs.wide.submit_days", y="finish_days").axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == (
        "submit day of wide (days)",
        "day the job finishes (days)",
    )

    plot = tmp_path / "finish.png"
    args = ["sweep", str(scenario), "--grid", "jobs.wide.submit_days=1,4", "--workers", "1"]
    args += ["--store", str(tmp_path / "store"), "--plot", str(plot), "--plot-y", "finish_days"]
    result = runner.invoke(cli_module.app, args)
    assert result.exit_code == 0, result.output
    assert "finish d" in result.stdout and "wait d" in result.stdout
    assert "2 found in the store" in result.stdout
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_wrong_plot_y_is_refused_before_the_sweep_runs(
    cli_module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--plot-y is checked against the number columns the table will have (from the result
    schema) before any point runs: exit 2 with a suggestion, nothing computed."""

    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("the sweep ran")

    monkeypatch.setattr(api, "run_sweep", must_not_run)
    args = ["sweep", "--grid", "horizon_days=1,2", "--plot", str(tmp_path / "p.png")]
    for given in (args, args[:3]):  # without --plot too: the option was meant for a plot
        result = runner.invoke(cli_module.app, [*given, "--plot-y", "goodputt"])
        assert result.exit_code == 2, result.output
        assert "--plot-y: not a number column" in result.output
        assert "did you mean 'goodput'" in result.output and "Traceback" not in result.output
    assert set(api.job_number_columns()) >= {"goodput", "finish_days", "wait_days", "plan_dp"}


def test_a_relative_grid_value_gives_a_numeric_column_and_axis(
    cli_module: ModuleType, tmp_path: Path
) -> None:
    """``racks=300,400,+20%`` (the file's 400 racks): the column holds 300, 400, 480 (ints, so
    the plot's axis is numeric, the points at their rack counts), and the table, the Parquet
    file's metadata and the plot's ticks keep the +20% it was given as."""
    scenario = one_job_scenario(tmp_path, horizon_days=1)
    path = "jobs.grok44_1t_a.racks"
    out, png = tmp_path / "out", tmp_path / "racks.png"
    args = ["sweep", str(scenario), "--grid", f"{path}=300,400,+20%", "--workers", "1"]
    result = runner.invoke(cli_module.app, [*args, "--out", str(out), "--plot", str(png)])
    assert result.exit_code == 0, result.output
    assert "480 (+20%)" in result.stdout
    table = pd.read_parquet(out / "sweep.parquet")
    assert table[path].tolist() == [300, 400, 480]
    assert pd.api.types.is_integer_dtype(table[path])
    assert table.attrs["grid_given"] == {path: {"480": "+20%"}}
    fig = api.plot_sweep(table, x=path)
    ax = fig.axes[0]
    (line,) = ax.get_lines()
    assert list(line.get_xdata()) == [300.0, 400.0, 480.0]  # at their values, not 0, 1, 2
    assert list(ax.get_xticks()) == [300.0, 400.0, 480.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["300", "400", "480\n(+20%)"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
