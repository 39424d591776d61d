"""The scheduler: jobs over time (submit, after), the queue against Erlang C, EASY and
conservative backfill never delaying a reservation, malleable admission, fixed-length work,
and the bad input the new fields allow."""

from __future__ import annotations

import functools
import math
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import cast

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_engine import checked_simulation
from test_fabric import cluster_spec
from typer.testing import CliRunner

from colossus_sim import api
from colossus_sim.cluster import ClusterState
from colossus_sim.config.scenario import Backfill
from colossus_sim.errors import ScenarioError
from colossus_sim.scenario import ResolvedScenario
from colossus_sim.sim import admission, queue
from colossus_sim.sim.engine import Simulation
from colossus_sim.sim.jobs import JobRun
from colossus_sim.sim.placement import Pack
from colossus_sim.sim.planning import Planner
from colossus_sim.units import SECONDS_PER_DAY

PROVENANCE = """\
provenance:
  cluster: {assumption: test}
  jobs: {assumption: test}
  horizon_days: {assumption: test}
  failures: {assumption: test}
  checkpoint: {assumption: test}
  scheduler: {assumption: test}
  fabric: {assumption: test}
"""


def cluster_file(tmp_path: Path, racks: int, gb300: int = 0) -> Path:
    """A cluster of ``racks`` GB200 racks (and ``gb300`` GB300 racks) in one pod."""
    path = tmp_path / "cluster.yaml"
    mix = f"{{gb200: {racks}, gb300: {gb300}}}" if gb300 else f"{{gb200: {racks}}}"
    path.write_text(
        f"""\
name: queue_test
title: {racks} GB200 racks and {gb300} GB300
racks: {racks + gb300}
gpus_per_rack: 72
rack_mix: {mix}
racks_per_pod: {max(racks + gb300, 1)}
power: {{facility_cap_mw: 500, pue: 1.1, network_w_per_gpu: 60}}
fabric: {{planes: 72, switch_ports: 64, port_gbps: 800, leaf_oversubscription: 1,
         core_oversubscription: 2}}
provenance:
  racks: {{assumption: test}}
  gpus_per_rack: {{assumption: test}}
  rack_mix: {{assumption: test}}
  racks_per_pod: {{assumption: test}}
  power: {{assumption: test}}
  fabric: {{assumption: test}}
"""
    )
    return path


def scenario_file(
    tmp_path: Path,
    jobs: list[str],
    *,
    racks: int = 10,
    horizon_days: float = 60,
    scheduler: str = "{policy: pack}",
    failures: str = "{enabled: false}",
    gb300: int = 0,
    storage_tb_per_s: float = 10,
) -> Path:
    """A scenario of ``jobs`` (YAML lines under ``jobs:``, e.g. flow lines ``name: {...}``) on
    ``racks`` GB200 racks (and ``gb300`` GB300 racks)."""
    cluster = cluster_file(tmp_path, racks, gb300)
    path = tmp_path / "scenario.yaml"
    body = "\n".join(f"  {line}" for line in jobs)
    path.write_text(
        f"""\
name: queue_test
title: queue test
cluster: {cluster}
horizon_days: {horizon_days}
jobs:
{body}
scheduler: {scheduler}
failures: {failures}
fabric: {{enabled: false}}
checkpoint: {{storage_tb_per_s: {storage_tb_per_s}, host_copy_gb_per_s: 200,
             max_interval_minutes: 60, restart_minutes: 5}}
{PROVENANCE}"""
    )
    return path


def erlang_c_wait(servers: int, arrivals_per_day: float, service_days: float) -> float:
    """Mean wait in an M/M/c FIFO queue (Erlang C)."""
    load = arrivals_per_day * service_days
    top = load**servers / math.factorial(servers) * servers / (servers - load)
    below = sum(load**k / math.factorial(k) for k in range(servers))
    return top / (below + top) * service_days / (servers - load)


def test_rigid_one_rack_jobs_wait_as_erlang_c_predicts(tmp_path: Path) -> None:
    """2,000 one-rack jobs, Poisson arrivals at 8 a day and exponential lengths of a day on
    10 racks under FIFO: the mean wait (batch means, warm-up dropped) is within three
    standard errors of Erlang C's 0.205 days."""
    rng = np.random.default_rng(0)
    n, servers, per_day = 2000, 10, 8.0
    submit = np.cumsum(rng.exponential(1 / per_day, n))
    days = rng.exponential(1.0, n)
    lines = [
        f"j{i}: {{workload: imagine_v2, racks: 1, days: {d:.6f}, submit_days: {t:.6f}}}"
        for i, (t, d) in enumerate(zip(submit, days, strict=True))
    ]
    path = scenario_file(
        tmp_path,
        lines,
        racks=servers,
        horizon_days=float(submit[-1]) + 60,
        scheduler="{queue: fifo, backfill: none}",
    )
    result = api.simulate(path)
    waits = np.array([j.wait_days for j in result.jobs], dtype=np.float64)
    assert all(j.finished for j in result.jobs)
    batches = waits[200:].reshape(20, -1).mean(axis=1)
    stderr = batches.std(ddof=1) / math.sqrt(len(batches))
    theory = erlang_c_wait(servers, per_day, 1.0)
    assert theory == pytest.approx(0.2046, abs=1e-4)
    assert abs(batches.mean() - theory) <= 3 * stderr
    # Each job ran its days (a checkpoint every hour adds well under 1%).
    ran = np.array([j.time_to_train_days for j in result.jobs], dtype=np.float64)
    assert ran == pytest.approx(days, rel=0.01)


def test_jobs_join_the_queue_at_their_submit_day_or_after_the_jobs_they_follow(
    tmp_path: Path,
) -> None:
    path = scenario_file(
        tmp_path,
        [
            "pre: {workload: imagine_v2, racks: 4, days: 2}",
            "sft: {workload: imagine_v2, racks: 2, days: 1, after: {pre: 0.5}}",
            "rl: {workload: imagine_v2, racks: 3, days: 1, after: [sft]}",
            "late: {workload: imagine_v2, racks: 1, days: 1, submit_days: 5}",
        ],
    )
    result = api.simulate(path)
    jobs = {j.name: j for j in result.jobs}
    assert result.cluster.makespan_days == max(j.finish_days for j in jobs.values())
    assert jobs["pre"].submit_days == 0.0
    assert jobs["sft"].submit_days == pytest.approx(jobs["pre"].finish_days + 0.5)
    assert jobs["rl"].submit_days == pytest.approx(jobs["sft"].finish_days)
    assert jobs["late"].submit_days == pytest.approx(5.0)
    for job in jobs.values():  # ten racks: nothing waits for racks
        assert job.wait_days == pytest.approx(0.0)
        assert job.finish_days == pytest.approx(job.start_days + job.time_to_train_days)


def test_a_job_waiting_for_one_that_never_finishes_is_never_queued(tmp_path: Path) -> None:
    path = scenario_file(
        tmp_path,
        [
            "long: {workload: imagine_v2, racks: 2, days: 50}",
            "next: {workload: imagine_v2, racks: 2, days: 1, after: [long]}",
        ],
        horizon_days=10,
    )
    result = api.simulate(path)
    jobs = {j.name: j for j in result.jobs}
    assert result.cluster.makespan_days is None
    assert jobs["next"].submit_days is None and jobs["next"].start_days is None
    assert not jobs["long"].finished and jobs["long"].finish_days == pytest.approx(50, rel=0.01)


@pytest.mark.parametrize(
    ("backfill", "short_backfills"), [("none", False), ("easy", True), ("conservative", True)]
)
def test_backfill_lets_a_short_job_past_the_head_but_never_one_that_would_delay_it(
    tmp_path: Path, backfill: str, short_backfills: bool
) -> None:
    """On 10 racks ``first`` (6 racks, 10 days) runs; ``big`` (all 10) is the head and can
    start when it ends. ``short`` (2 racks, 5 days) ends before then, so backfill starts it
    now; ``long`` (2 racks, 20 days) would hold racks ``big`` needs, so it waits behind it."""
    path = scenario_file(
        tmp_path,
        [
            "first: {workload: imagine_v2, racks: 6, days: 10}",
            "big: {workload: imagine_v2, racks: 10, days: 10, submit_days: 0.1}",
            "short: {workload: imagine_v2, racks: 2, days: 5, submit_days: 0.2}",
            "long: {workload: imagine_v2, racks: 2, days: 20, submit_days: 0.3}",
        ],
        scheduler=f"{{queue: fifo, backfill: {backfill}}}",
    )
    jobs = {j.name: j for j in api.simulate(path).jobs}
    assert jobs["big"].start_days == pytest.approx(jobs["first"].finish_days)
    short_start = 0.2 if short_backfills else jobs["big"].finish_days
    assert jobs["short"].start_days == pytest.approx(short_start)
    assert jobs["long"].start_days == pytest.approx(jobs["big"].finish_days)


def test_malleable_admission_starts_a_job_on_what_is_free_and_grows_it(tmp_path: Path) -> None:
    """Gang: ``wide`` (8 racks) waits for ``first`` (6 of 10 racks) to finish. Malleable: it
    starts on the 4 free racks and grows to 8 when ``first`` finishes (a restart to resize)."""
    jobs = [
        "first: {workload: imagine_v2, racks: 6, days: 5, priority: 1}",
        "wide: {workload: imagine_v2, racks: 8, days: 10}",
    ]
    gang_run = api.simulate(scenario_file(tmp_path, jobs))
    gang = {j.name: j for j in gang_run.jobs}
    assert gang["wide"].start_days == pytest.approx(gang["first"].finish_days)
    # Gang: the 4 free racks idle while ``wide`` waits for them, charged to that reason.
    waiting_gpu_h = 4 * 72 * gang["first"].finish_days * 24
    idle = gang_run.cluster.idle_gpu_hours
    assert idle["queued_job_does_not_fit"] == pytest.approx(waiting_gpu_h, rel=1e-6)
    assert sum(idle.values()) == pytest.approx(gang_run.cluster.gpu_hours["idle"])
    malleable = api.simulate(scenario_file(tmp_path, jobs, scheduler="{admission: malleable}"))
    by_name = {j.name: j for j in malleable.jobs}
    wide = by_name["wide"]
    assert wide.start_days == 0.0 and wide.racks == 4 and wide.resizes == 1
    assert wide.finish_days < gang["wide"].finish_days
    series = malleable.job_series_frame()
    assert series[series["job"] == "wide"]["racks"].max() == 8
    assert malleable.cluster.idle_gpu_hours["queued_job_does_not_fit"] == 0.0
    # The work is the same: 10 days on 8 racks.
    assert wide.tokens == pytest.approx(gang["wide"].tokens)


def test_a_running_job_grows_only_onto_racks_its_plan_trains_on() -> None:
    """A resize costs a restart, so a job whose data-parallel replica spans two racks grows
    by two, not onto one more rack its plan would leave idle."""
    spec = cluster_spec({"gb200": 12})
    cluster = ClusterState(spec, 1)
    cluster.take(0, np.arange(8, dtype=np.int64))
    replica_racks = 2

    def trained_on(racks: int) -> SimpleNamespace:
        return SimpleNamespace(gpus_used=racks // replica_racks * replica_racks * 64)

    planner = SimpleNamespace(plan=lambda job, racks: trained_on(racks))
    job = SimpleNamespace(index=0, gpu=SimpleNamespace(name="gb200"), flat_step=trained_on(8))
    grow = functools.partial(
        admission.growth_racks,
        cluster=cluster,
        placement=Pack(),
        planner=cast(Planner, planner),
    )
    assert grow(cast(JobRun, job), 1) is None  # a 9th rack: still four replicas
    extra = grow(cast(JobRun, job), 2)
    assert extra is not None and len(extra) == 2  # a fifth replica


releases = st.lists(
    st.builds(
        queue.Release,
        at_s=st.floats(1.0, 1000.0),
        racks=st.integers(1, 20),
    ),
    max_size=6,
)
queued = st.lists(st.tuples(st.integers(1, 30), st.floats(1.0, 2000.0)), min_size=1, max_size=8)


def views(jobs: list[tuple[int, float]]) -> list[queue.Queued]:
    """Rigid queued jobs of (racks, run seconds)."""
    return [
        queue.Queued(
            key=i,
            need=racks,
            size_for=lambda free, racks=racks: racks if free >= racks else None,  # type: ignore[misc]
            run_s=lambda _n, run=run: run,  # type: ignore[misc]
        )
        for i, (racks, run) in enumerate(jobs)
    ]


@settings(max_examples=300, deadline=None)
@given(free=st.integers(0, 40), jobs=queued, running=releases)
def test_easy_backfill_never_delays_the_head_past_its_reservation(
    free: int, jobs: list[tuple[int, float]], running: list[queue.Release]
) -> None:
    """Whatever starts, it fits in the free racks, the jobs before the head start in order,
    and the head can still start at the reservation it had."""
    q = views(jobs)
    starts = queue.decide(0.0, free, q, running, Backfill.EASY)
    assert sum(s.racks for s in starts) <= free
    strict = queue.decide(0.0, free, q, running, Backfill.NONE)
    assert starts[: len(strict)] == strict
    if len(strict) == len(q):
        return
    head = q[len(strict)]
    in_order = running + [queue.Release(jobs[s.key][1], s.racks) for s in strict]
    before, _ = queue.reservation(free - sum(s.racks for s in strict), head.need, in_order)
    after_rel = running + [queue.Release(jobs[s.key][1], s.racks) for s in starts]
    after, _ = queue.reservation(free - sum(s.racks for s in starts), head.need, after_rel)
    assert after <= before


@settings(max_examples=200, deadline=None)
@given(free=st.integers(0, 40), jobs=queued, running=releases)
def test_conservative_backfill_starts_a_subset_of_what_easy_starts_after_the_head(
    free: int, jobs: list[tuple[int, float]], running: list[queue.Release]
) -> None:
    """Conservative protects every queued job, EASY only the head: what fits before the head
    starts either way, and conservative never starts more racks than fit."""
    q = views(jobs)
    strict = queue.decide(0.0, free, q, running, Backfill.NONE)
    conservative = queue.decide(0.0, free, q, running, Backfill.CONSERVATIVE)
    assert conservative[: len(strict)] == strict
    assert sum(s.racks for s in conservative) <= free


@pytest.mark.parametrize(
    ("jobs", "field", "message"),
    [
        (["a: {workload: imagine_v2, racks: 1, after: [b]}"], "jobs.a.after", "no such job"),
        (
            [
                "a: {workload: imagine_v2, racks: 1, after: [b]}",
                "b: {workload: imagine_v2, racks: 1, after: [a]}",
            ],
            "jobs.a.after",
            "cycle",
        ),
        (["a: {workload: imagine_v2, racks: 2, min_racks: 3}"], "jobs.a.min_racks", "at most"),
        (["a: {workload: imagine_v2, racks: 2, days: 1, tokens: 1e12}"], "jobs.a", "not both"),
        (["a: {workload: imagine_v2, racks: 20}"], "jobs.a.racks", "more racks"),
    ],
)
def test_bad_job_stream_input_is_located(
    tmp_path: Path, jobs: list[str], field: str, message: str
) -> None:
    path = scenario_file(tmp_path, jobs)
    with pytest.raises(ScenarioError) as caught:
        api.load_scenario(path)
    text = str(caught.value)
    assert f"{path}:" in text and field in text and message in text


#: A job of three phases (its own two days, an SFT, an RL on GB300) and a job after its RL.
PHASED = [
    "pre:",
    "  workload: imagine_v2",
    "  racks: 4",
    "  days: 2",
    "  priority: 2",
    "  phases:",
    "    sft: {tokens: 1.0e10, racks: 2, lag_days: 0.5}",
    "    rl: {days: 1, racks: 3, gpu: gb300, lag_days: 1, priority: 5}",
    "next: {workload: imagine_v2, racks: 1, days: 1, after: [pre/rl]}",
]


def test_phases_run_in_order_after_their_lags_on_their_own_racks_and_gpu_type(
    tmp_path: Path,
) -> None:
    """Phase ``sft`` of ``pre`` is the job ``pre/sft``: it joins the queue its lag after the
    phase before it (``pre`` itself) finishes, on its own racks and GPU type, with the job's
    workload and (unless it sets its own) priority; a job may come after a phase."""
    path = scenario_file(tmp_path, PHASED, gb300=4)
    result = api.simulate(path)
    jobs = {j.name: j for j in result.jobs}
    assert list(jobs) == ["pre", "next", "pre/sft", "pre/rl"]  # phases after the written jobs
    pre, sft, rl = jobs["pre"], jobs["pre/sft"], jobs["pre/rl"]
    assert all(j.finished and j.workload == "imagine_v2" for j in jobs.values())
    assert sft.submit_days == pytest.approx(pre.finish_days + 0.5)
    assert rl.submit_days == pytest.approx(sft.finish_days + 1)
    assert jobs["next"].submit_days == pytest.approx(rl.finish_days)
    assert [(j.racks, j.gpu) for j in (pre, sft, rl)] == [
        (4, "gb200"),
        (2, "gb200"),
        (3, "gb300"),
    ]
    assert sft.tokens_budget == pytest.approx(1e10)  # a training phase: tokens, step-timed
    assert rl.time_to_train_days == pytest.approx(1.0, rel=0.01)  # a fixed-length phase
    setups = {j.name: j.setup for j in api.load_scenario(path).jobs}
    assert setups["pre/sft"].priority == 2 and setups["pre/rl"].priority == 5
    assert setups["pre/rl"].after == {"pre/sft": 1.0}


def test_set_writes_into_a_phase(tmp_path: Path) -> None:
    """``--set jobs.<job>.phases.<phase>.<field>`` changes the phase; the results' name of a
    phase (``jobs.<job>/<phase>``) is not a path of the file, and says which one is."""
    resolved = api.load_scenario(overrides=["jobs.grok45_15t_a.phases.rl.days=20"])
    setups = {j.name: j.setup for j in resolved.jobs}
    assert setups["grok45_15t_a/rl"].days == 20 and setups["grok45_15t_b/rl"].days == 14
    path = scenario_file(tmp_path, PHASED, gb300=4)
    resolved = api.load_scenario(path, ["jobs.pre.phases.sft.lag_days=3"])
    assert {j.name: j.setup for j in resolved.jobs}["pre/sft"].after == {"pre": 3.0}
    with pytest.raises(ScenarioError) as caught:
        api.load_scenario(path, ["jobs.pre/sft.lag_days=3"])
    assert "did you mean 'jobs.pre.phases.sft.lag_days'" in str(caught.value)
    with pytest.raises(ScenarioError) as caught:
        api.load_scenario(path, ["jobs.pre.phases.sfr.lag_days=3"])
    assert "'sfr' is not a key of jobs.pre.phases" in str(caught.value)
    assert "did you mean 'sft'" in str(caught.value)


def test_an_expect_path_names_a_phase(cli_module: ModuleType, tmp_path: Path) -> None:
    """``expect: {jobs.pre/rl.finish_days: ...}`` is checked against the phase's job; a typo
    in the phase's name is bad input at its line, with the phase it meant."""
    path = scenario_file(tmp_path, PHASED, gb300=4)
    finish = {j.name: j.finish_days for j in api.simulate(path).jobs}["pre/rl"]
    expect = f"expect:\n  jobs.pre/rl.finish_days: {{value: {finish!r}, abs_tol: 1e-9}}\n"
    text = path.read_text() + expect
    path.write_text(text)
    result = CliRunner().invoke(cli_module.app, ["check", str(path)])
    assert result.exit_code == 0, result.output
    assert "jobs.pre/rl.finish_days" in result.output
    path.write_text(text.replace("jobs.pre/rl.", "jobs.pre/rll."))
    line = len(text.splitlines())
    with pytest.raises(ScenarioError) as caught:
        api.load_scenario(path)
    message = str(caught.value)
    assert f"{path}:{line}:3: expect.jobs.pre/rll.finish_days: unknown job" in message
    assert "did you mean 'pre/rl'" in message


def _phased_with(*changes: tuple[str, str]) -> list[str]:
    lines = list(PHASED)
    for old, new in changes:
        lines = [line.replace(old, new) for line in lines]
    return lines


@pytest.mark.parametrize(
    ("changes", "at", "field", "message"),
    [
        (
            [("{days: 1, racks: 3,", "{racks: 3,")],
            "rl:",
            "jobs.pre.phases.rl",
            "a phase needs its work: tokens",
        ),
        (
            [("{days: 1,", "{days: 1, tokens: 1.0e9,")],
            "rl:",
            "jobs.pre.phases.rl",
            "or tokens, not both",
        ),
        ([("[pre/rl]", "[pre/rll]")], "next:", "jobs.next.after", "did you mean 'pre/rl'"),
        (  # a cycle through phases: pre waits for its own RL
            [("  days: 2", "  after: [pre/rl]")],
            "after:",
            "jobs.pre.after",
            "cycle, so none of them would ever start (got pre → pre/rl → pre/sft → pre)",
        ),
        ([("racks: 3,", "racks: 5,")], "rl:", "jobs.pre.phases.rl.racks", "more racks"),
        (  # the racks the phase takes from its job (4) are more than its GPU type has (3)
            [("racks: 3,", "")],
            "rl:",
            "jobs.pre.phases.rl.racks",
            "more racks than 4 GB200 racks and 3 GB300 has for jobs: 3 gb300 racks",
        ),
        ([("gpu: gb300", "gpu: gb400")], "rl:", "jobs.pre.phases.rl.gpu", "unknown GPU type"),
        (
            [("lag_days: 1,", "lag_days: 1, min_racks: 4,")],
            "rl:",
            "jobs.pre.phases.rl.min_racks",
            "must be at most racks",
        ),
        ([("sft:", "s.ft:")], "phases:", "jobs.pre.phases", "may not be empty or contain"),
        ([("next:", "pre/x:")], "pre/x:", "jobs.pre/x", "a job's own name may not contain"),
    ],
)
def test_bad_phases_are_located_at_the_phase(
    tmp_path: Path, changes: list[tuple[str, str]], at: str, field: str, message: str
) -> None:
    path = scenario_file(tmp_path, _phased_with(*changes), racks=4, gb300=3)
    text = path.read_text()
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.strip().startswith(at))
    with pytest.raises(ScenarioError) as caught:
        api.load_scenario(path)
    rendered = str(caught.value)
    assert f"{path}:{line}:" in rendered and f": {field}: " in rendered, rendered
    assert message in rendered, rendered


def trace_scenario(tmp_path: Path, trace: str, name: str = "t.swf", extra: str = "") -> Path:
    """One named job and a trace of background jobs on 10 GB200 racks."""
    (tmp_path / name).write_text(trace)
    path = scenario_file(tmp_path, ["named: {workload: imagine_v2, racks: 2, days: 1}"])
    text = path.read_text().replace(
        "scheduler:", f"trace: {{file: {name}, workload: imagine_v2{extra}}}\nscheduler:", 1
    )
    path.write_text(text.replace("provenance:\n", "provenance:\n  trace: {assumption: test}\n"))
    return path


SWF = """\
; Version: 2.2
; a hand-written trace: job 3 never ran (cancelled), job 4 gives only requested processors
1 0 -1 86400 64 -1 -1 64 -1 -1 1 -1 -1 -1 -1 -1 -1 -1
2 3600 -1 43200 130 -1 -1 130 -1 -1 1 -1 -1 -1 -1 -1 -1 -1

3 7200 -1 0 64 -1 -1 64 -1 -1 5 -1 -1 -1 -1 -1 -1 -1
4 10800 -1 21600 -1 -1 -1 256 -1 -1 1 -1 -1 -1 -1 -1 -1 -1
"""


def test_an_swf_trace_becomes_rigid_background_jobs_by_the_stated_rule(tmp_path: Path) -> None:
    """Racks = ⌈processors × gpus_per_processor ÷ 64 active GPUs per rack⌉; run and submit
    times in days; a job that never ran is skipped."""
    resolved = api.load_scenario(trace_scenario(tmp_path, SWF))
    background = {j.name: j.setup for j in resolved.jobs if j.background}
    assert list(background) == ["trace-1", "trace-2", "trace-4"]
    assert [j.racks for j in background.values()] == [1, 3, 4]
    assert [j.days for j in background.values()] == pytest.approx([1.0, 0.5, 0.25])
    assert [j.submit_days for j in background.values()] == pytest.approx([0, 1 / 24, 1 / 8])
    result = api.simulate(resolved)
    ran = {j.name: j for j in result.jobs if j.background}
    assert all(j.finished for j in ran.values())
    assert ran["trace-2"].time_to_train_days == pytest.approx(0.5, rel=0.01)


def test_a_csv_trace_may_give_racks(tmp_path: Path) -> None:
    csv_text = "submit_s,run_s,racks\n0,86400,2\n600,3600,1\n"
    path = trace_scenario(tmp_path, csv_text, name="t.csv", extra=", time_scale: 2")
    background = [j.setup for j in api.load_scenario(path).jobs if j.background]
    assert [j.racks for j in background] == [2, 1]
    assert [j.days for j in background] == pytest.approx([2.0, 2 / 24])


@pytest.mark.parametrize(
    ("trace", "name", "line", "message"),
    [
        (SWF + "5 100 -1 oops 64\n", "t.swf", 8, "field 4 is not a number"),
        (SWF + "6 100 -1\n", "t.swf", 8, "at least 5 fields"),
        (SWF + "7 100 -1 3600 64000\n", "t.swf", 8, "more gb200 racks"),
        ("submit,run_s,gpus\n0,1,1\n", "t.csv", 1, "header names submit_s"),
        ("submit_s,run_s,gpus\n0,1,1\n0,x,1\n", "t.csv", 3, "field run_s is not a number"),
    ],
)
def test_a_bad_trace_line_is_named_by_file_and_line(
    tmp_path: Path, trace: str, name: str, line: int, message: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        api.load_scenario(trace_scenario(tmp_path, trace, name=name))
    assert f"{tmp_path / name}:{line}: trace: " in str(caught.value)
    assert message in str(caught.value)


def test_a_missing_trace_file_is_named(tmp_path: Path) -> None:
    path = trace_scenario(tmp_path, SWF)
    path.write_text(path.read_text().replace("file: t.swf", "file: nope.swf"))
    with pytest.raises(ScenarioError, match=r"trace.file: no such trace file .*'nope.swf'"):
        api.load_scenario(path)


swf_jobs = st.lists(
    st.tuples(st.integers(0, 10**7), st.integers(1, 10**6), st.integers(1, 640), st.booleans()),
    min_size=1,
    max_size=20,
)


@settings(max_examples=60, deadline=None)
@given(jobs=swf_jobs)
def test_any_well_formed_swf_reads_back_job_for_job(jobs: list[tuple[int, int, int, bool]]) -> None:
    """Whatever the values, every line with a run time and a size becomes one job with
    ⌈processors ÷ 64⌉ racks, its submit and run times in days; comments are ignored."""
    from colossus_sim.config.scenario import TraceSpec
    from colossus_sim.traces import read_trace

    lines = ["; header"]
    for number, (submit, run, procs, requested_only) in enumerate(jobs, start=1):
        alloc, req = (-1, procs) if requested_only else (procs, -1)
        lines.append(f"{number} {submit} -1 {run} {alloc} -1 -1 {req} -1")
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.swf"
        path.write_text("\n".join(lines) + "\n")
        trace = read_trace(path, TraceSpec(file="t.swf", workload="w"), 64)
    assert trace.skipped == 0 and len(trace.jobs) == len(jobs)
    for job, (submit, run, procs, _) in zip(trace.jobs.values(), jobs, strict=True):
        assert job.racks == math.ceil(procs / 64)
        assert job.submit_days == pytest.approx(submit / 86_400)
        assert job.days == pytest.approx(run / 86_400)


@pytest.mark.parametrize("admission", ["gang", "malleable"])
def test_a_higher_priority_job_preempts_a_lower_one_which_resumes_after(
    tmp_path: Path, admission: str
) -> None:
    """On 10 racks ``low`` (8 racks, 10 days) runs; ``high`` (6 racks, 2 days) arrives on day
    1. Under gang admission ``low`` stops at a checkpoint, queues, and resumes when ``high``
    finishes; under malleable admission it shrinks to the 4 racks left and grows back. Either
    way ``high`` starts once ``low``'s stop checkpoint is written (well under a minute on 10
    TB/s) and ``low`` does all its work."""
    path = scenario_file(
        tmp_path,
        [
            "low: {workload: imagine_v2, racks: 8, min_racks: 2, days: 10, priority: 0}",
            "high: {workload: imagine_v2, racks: 6, min_racks: 6, days: 2, priority: 5,"
            " submit_days: 1}",
        ],
        scheduler=f"{{preemption: priority, admission: {admission}}}",
    )
    result = api.simulate(path)
    jobs = {j.name: j for j in result.jobs}
    low, high = jobs["low"], jobs["high"]
    assert 0.0 < high.wait_days * SECONDS_PER_DAY < 60.0
    assert low.preemptions == 1 and low.finished
    assert low.tokens == pytest.approx(low.tokens_budget)
    series = result.job_series_frame()
    low_racks = series[series["job"] == "low"]["racks"].tolist()
    if admission == "gang":  # stopped for high's two days, then resumed on its 8 racks
        assert 0 in low_racks and low.finish_days > 12.0
        assert low.restarts == 1  # the resume
    else:  # shrank to 4, grew back to 8 when high finished
        held = [racks for racks in low_racks if racks]  # 0 once it finished
        assert min(held) == 4 and held[-1] == 8
        assert 10.0 < low.finish_days < 12.0


def test_without_preemption_a_higher_priority_job_waits(tmp_path: Path) -> None:
    path = scenario_file(
        tmp_path,
        [
            "low: {workload: imagine_v2, racks: 8, days: 10, priority: 0}",
            "high: {workload: imagine_v2, racks: 6, days: 2, priority: 5, submit_days: 1}",
        ],
    )
    jobs = {j.name: j for j in api.simulate(path).jobs}
    assert jobs["high"].start_days == pytest.approx(jobs["low"].finish_days)
    assert jobs["low"].preemptions == 0


stream_jobs = st.lists(
    st.tuples(
        st.integers(1, 8),  # racks
        st.floats(0.1, 3.0),  # days
        st.floats(0.0, 4.0),  # submit day
        st.integers(0, 3),  # priority
        st.integers(1, 8),  # min racks (capped at racks)
    ),
    min_size=2,
    max_size=10,
)


@settings(max_examples=10, deadline=None)
@given(
    jobs=stream_jobs,
    admission=st.sampled_from(["gang", "malleable"]),
    order=st.sampled_from(["priority", "fifo"]),
    backfill=st.sampled_from(["none", "easy", "conservative"]),
    preemption=st.sampled_from(["none", "priority"]),
    seed=st.integers(0, 2**31),
)
def test_a_random_stream_keeps_every_rack_in_one_place_and_every_gpu_hour_counted(
    jobs: list[tuple[int, float, float, int, int]],
    admission: str,
    order: str,
    backfill: str,
    preemption: str,
    seed: int,
) -> None:
    """Whatever the stream and policies, with failures on: no rack in two jobs or both owned
    and spare (checked after every event), GPU-hours by state add up to racks × 72 × hours,
    idle hours by reason add up to the idle hours, no job does more than its work, and no
    job starts before it was submitted."""
    import tempfile

    lines = [
        f"j{i}: {{workload: imagine_v2, racks: {r}, min_racks: {min(m, r)}, days: {d:.3f}, "
        f"submit_days: {t:.3f}, priority: {p}}}"
        for i, (r, d, t, p, m) in enumerate(jobs)
    ]
    scheduler = (
        f"{{admission: {admission}, queue: {order}, backfill: {backfill}, "
        f"preemption: {preemption}}}"
    )
    with tempfile.TemporaryDirectory() as folder:
        path = scenario_file(
            Path(folder),
            lines,
            horizon_days=12,
            scheduler=scheduler,
            failures="{enabled: true, rate_multiplier: 200}",
        )
        resolved = api.load_scenario(path, [f"seed={seed}"])
    result = checked_simulation(resolved).run()
    c = result.cluster
    assert sum(c.gpu_hours.values()) == pytest.approx(c.gpus * c.hours, rel=1e-9)
    assert sum(c.idle_gpu_hours.values()) == pytest.approx(c.gpu_hours["idle"], rel=1e-9, abs=1e-6)
    for job in result.jobs:
        assert 0.0 <= job.goodput <= 1.0
        assert 0.0 <= job.tokens <= job.tokens_budget * (1 + 1e-9)
        if job.start_days is not None:
            assert job.submit_days is not None and job.start_days >= job.submit_days


def test_mfu_over_the_racks_counts_the_hot_spare_gpus(tmp_path: Path) -> None:
    """Imagine V2 trains on 64 of each rack's 72 GPUs: over the hardware its racks hold, its
    MFU is 64/72 of the MFU of the GPUs it trains on."""
    path = scenario_file(tmp_path, ["a: {workload: imagine_v2, racks: 2, days: 0.1}"])
    (job,) = api.simulate(path).jobs
    assert job.plan.tp * job.plan.pp * job.plan.cp * job.plan.dp == 128
    assert job.mfu_physical == pytest.approx(job.mfu * 64 / 72, rel=1e-12)


PREEMPTED_AT_DAY_1 = [
    "low: {workload: imagine_v2, racks: 8, days: 10, priority: 0}",
    "high: {workload: imagine_v2, racks: 6, days: 2, priority: 5, submit_days: 1}",
]


def _stop_checkpoint_s(resolved: ResolvedScenario, name: str, racks: int) -> float:
    """A checkpoint of job ``name`` on ``racks`` racks, by hand: each GPU copies its shard to
    host memory at 200 GB/s, then the whole state goes to storage (the job alone on it)."""
    from colossus_sim.perf.model_size import model_size

    job = next(j for j in resolved.jobs if j.name == name)
    state_bytes = model_size(job.spec.arch).total * resolved.scenario.checkpoint.bytes_per_param
    gpus = racks * job.spec.active_gpus_per_rack
    storage_bytes_per_s = resolved.scenario.checkpoint.storage_tb_per_s * 1e12
    return state_bytes / gpus / 200e9 + state_bytes / storage_bytes_per_s


def test_a_stopped_job_holds_its_racks_until_its_checkpoint_is_durable(tmp_path: Path) -> None:
    """On a 10 GB/s storage ``low``'s checkpoint-stop takes tens of seconds: ``high`` starts
    exactly that long after it arrived, the racks were ``low``'s until then (a ``stop`` row
    at day 1, ``requeue`` when it is written), the time is checkpoint time, and ``low`` loses
    no work."""
    path = scenario_file(
        tmp_path, PREEMPTED_AT_DAY_1, scheduler="{preemption: priority}", storage_tb_per_s=0.01
    )
    resolved = api.load_scenario(path)
    stop_s = _stop_checkpoint_s(resolved, "low", 8)
    assert stop_s > 10.0  # the case is worth testing
    result = Simulation(resolved).run()
    jobs = {j.name: j for j in result.jobs}
    low, high = jobs["low"], jobs["high"]
    assert high.wait_days * SECONDS_PER_DAY == pytest.approx(stop_s, rel=1e-6)
    rows = result.timeline_frame()
    low_rows = rows[rows["job"] == "low"].set_index("kind")["time_days"]
    assert low_rows["stop"] == pytest.approx(1.0)
    assert (low_rows["requeue"] - 1.0) * SECONDS_PER_DAY == pytest.approx(stop_s, rel=1e-6)
    assert low.tokens == pytest.approx(low.tokens_budget) and low.gpu_hours["rework"] == 0.0
    assert low.preemptions == 1 and low.restarts == 1  # the resume


def test_a_failure_during_the_stop_checkpoint_loses_the_unsaved_work(tmp_path: Path) -> None:
    """A GPU of ``low`` fails halfway through its stop checkpoint: the write is lost with the
    work since its last durable checkpoint (rework, at most an interval and a write), its
    racks go at once, and it still does all its work after."""
    from colossus_sim.config.reliability import FailureDomain
    from colossus_sim.sim.failures import Failure

    path = scenario_file(
        tmp_path, PREEMPTED_AT_DAY_1, scheduler="{preemption: priority}", storage_tb_per_s=0.01
    )
    resolved = api.load_scenario(path)
    stop_s = _stop_checkpoint_s(resolved, "low", 8)
    sim = Simulation(resolved)
    low = sim.jobs[0]

    def strike(row: tuple[float, str, str, int, str]) -> None:
        if row[1] == "stop":
            rack = int(sim.cluster.racks_of(low.index)[0])
            failure = Failure(rack, "test", FailureDomain.GPU, 1, 1.0, slot=0)
            sim._later(stop_s / 2, lambda: sim._fail(failure))

    sim.ledger.listeners.append(strike)
    result = sim.run()
    jobs = {j.name: j for j in result.jobs}
    assert jobs["high"].wait_days * SECONDS_PER_DAY == pytest.approx(stop_s / 2, rel=1e-6)
    lost_h = jobs["low"].gpu_hours["rework"]
    max_interval_s = resolved.scenario.checkpoint.max_interval_minutes * 60
    assert 0.0 < lost_h <= (max_interval_s + stop_s) * 8 * 72 / 3600
    assert jobs["low"].failures == 1
    assert jobs["low"].tokens == pytest.approx(jobs["low"].tokens_budget)


def test_racks_pledged_by_a_stopping_job_are_not_taken_twice(tmp_path: Path) -> None:
    """``high`` needs 6 of 10 racks, 2 are free: ``b`` (4 racks, started last) stops for it.
    While ``b`` writes its checkpoint ``late`` (2 racks, ``a``'s priority) arrives and the
    queue is looked at again: ``high`` counts ``b``'s 4 racks as coming, the 2 free racks are
    held for it (``late`` would otherwise take them and ``high`` stop ``a`` too), and no one
    else is stopped."""
    path = scenario_file(
        tmp_path,
        [
            "a: {workload: imagine_v2, racks: 4, days: 10, priority: 0}",
            "b: {workload: imagine_v2, racks: 4, days: 10, priority: 0, submit_days: 0.1}",
            "high: {workload: imagine_v2, racks: 6, days: 2, priority: 5, submit_days: 1}",
            "late: {workload: imagine_v2, racks: 2, days: 1, priority: 0, submit_days: 1.00001}",
        ],
        scheduler="{preemption: priority}",
        storage_tb_per_s=0.01,
    )
    resolved = api.load_scenario(path)
    assert _stop_checkpoint_s(resolved, "b", 4) > 1e-5 * SECONDS_PER_DAY  # late comes first
    jobs = {j.name: j for j in api.simulate(path).jobs}
    assert jobs["b"].preemptions == 1 and jobs["a"].preemptions == 0
    # b writes beside a, which checkpoints to the same storage: between all of it and half
    alone_s = _stop_checkpoint_s(resolved, "b", 4)
    assert alone_s <= jobs["high"].wait_days * SECONDS_PER_DAY <= 2 * alone_s
    assert jobs["late"].start_days is not None and jobs["late"].start_days > 2.0
