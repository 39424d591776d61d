"""The optimal checkpoint interval (``perf.reliability.optimal_interval_s``): it maximises the
renewal ETTR with the write in flight, agrees with Young–Daly where the checkpoint is cheap
against the mean time between failures, and with a brute-force search of the same expression
everywhere; in a run, the interval policy in effect and the goodput a write in flight costs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from alone_job import alone, only_job
from hypothesis import given, settings
from hypothesis import strategies as st

from colossus_sim import api
from colossus_sim.config.checkpoint import IntervalPolicy
from colossus_sim.config.reliability import FailureDomain
from colossus_sim.errors import ScenarioError
from colossus_sim.perf import reliability as rel
from colossus_sim.scenario import ResolvedScenario


@given(blocking_s=st.floats(1e-3, 100.0), mtbf_s=st.floats(1e4, 1e8))
def test_young_daly_is_the_limit_of_a_cheap_checkpoint(blocking_s: float, mtbf_s: float) -> None:
    """Where ``b = δ/M`` is small (≤ 0.01 here) the optimum is Young's ``√(2δM)`` to relative
    order ``√b`` (the next term is ``−2δ/3``, i.e. ``√(2b)/3`` of it) and Daly's
    ``√(2δM) − 2δ/3`` to order ``δ·√b`` (the root's series goes on with ``√2·b^{3/2}/18``)."""
    b = blocking_s / mtbf_s
    tau = rel.optimal_interval_s(blocking_s, mtbf_s, min_s=0.0, max_s=math.inf)
    young_s = math.sqrt(2.0 * blocking_s * mtbf_s)
    assert tau == pytest.approx(young_s, rel=0.5 * math.sqrt(b))
    daly_s = young_s - 2.0 * blocking_s / 3.0
    assert abs(tau - daly_s) <= 0.1 * blocking_s * math.sqrt(b) + 1e-9 * tau
    # and the module's Young–Daly interval is that limit
    assert rel.young_daly_interval_s(blocking_s, mtbf_s, min_s=0.0, max_s=math.inf) == young_s


@settings(max_examples=60, deadline=None)
@given(
    blocking_s=st.floats(0.0, 600.0),
    mtbf_s=st.floats(60.0, 1e6),
    durable_after_s=st.floats(0.0, 300.0),
    restart_s=st.floats(0.0, 1200.0),
    min_s=st.floats(1.0, 300.0),
    span=st.floats(1.5, 1e4),
)
def test_the_optimum_is_a_brute_force_search_of_the_same_expression(
    blocking_s: float,
    mtbf_s: float,
    durable_after_s: float,
    restart_s: float,
    min_s: float,
    span: float,
) -> None:
    """Over 4,001 intervals spread geometrically over ``[min_s, max_s]`` no ETTR (with the
    write in flight, the restart, the blocking) beats the optimum's; inside the bounds it is
    a local maximum (both neighbours 0.1% away are lower or equal to rounding). The write in
    flight and the restart scale the ETTR by factors of their own and do not move it."""
    max_s = min_s * span

    def ettr(interval_s: float) -> float:
        return rel.ettr_closed_form(
            interval_s=interval_s,
            blocking_s=blocking_s,
            restart_s=restart_s,
            mtbf_s=mtbf_s,
            durable_after_s=durable_after_s,
        )

    tau = rel.optimal_interval_s(blocking_s, mtbf_s, min_s=min_s, max_s=max_s)
    assert min_s <= tau <= max_s
    best = max(ettr(float(t)) for t in np.geomspace(min_s, max_s, 4001))
    assert ettr(tau) >= best * (1.0 - 1e-12)
    if min_s * 1.001 < tau < max_s / 1.001:
        assert ettr(tau * 1.001) <= ettr(tau) * (1 + 1e-12)
        assert ettr(tau / 1.001) <= ettr(tau) * (1 + 1e-12)


def test_the_write_in_flight_costs_its_share_of_a_failure() -> None:
    """``e^{−δ_p/M}``: a write that takes a tenth of the mean time between failures costs the
    ETTR the factor e^{−0.1}, at any interval; and with nothing failing nothing is lost."""
    for interval_s in (60.0, 600.0, 3000.0):
        kwargs = dict(interval_s=interval_s, blocking_s=5.0, restart_s=300.0, mtbf_s=3600.0)
        lagged = rel.ettr_closed_form(**kwargs, durable_after_s=360.0)  # type: ignore[arg-type]
        assert lagged / rel.ettr_closed_form(**kwargs) == pytest.approx(math.exp(-0.1))  # type: ignore[arg-type]
    assert rel.optimal_interval_s(5.0, math.inf, min_s=30.0, max_s=3600.0) == 3600.0


def test_a_slow_synchronous_write_checkpoints_sooner_than_young_daly() -> None:
    """A synchronous 300 s write on a job failing every 840 s (the 10T's order of magnitude):
    the optimum meets its stationarity condition ``1 − e^{−(τ+δ)/M} = τ/M``, lies below
    Young–Daly's first-order ``√(2δM)`` (710 s: the higher terms take 26% off it here), and
    its ETTR is higher."""
    mtbf_s, blocking_s = 840.0, 300.0
    young_s = rel.young_daly_interval_s(blocking_s, mtbf_s, min_s=0.0, max_s=math.inf)
    tau = rel.optimal_interval_s(blocking_s, mtbf_s, min_s=0.0, max_s=math.inf)
    assert -math.expm1(-(tau + blocking_s) / mtbf_s) == pytest.approx(tau / mtbf_s, rel=1e-12)
    assert tau < 0.8 * young_s
    kwargs = dict(blocking_s=blocking_s, restart_s=100.0, mtbf_s=mtbf_s, durable_after_s=20.0)
    assert rel.ettr_closed_form(interval_s=tau, **kwargs) > rel.ettr_closed_form(  # type: ignore[arg-type]
        interval_s=young_s,
        **kwargs,  # type: ignore[arg-type]
    )


# ---------------------------------------------------------------------------- in a run


def test_the_policy_defaults_to_young_daly_or_a_fixed_interval(tmp_path: Path) -> None:
    """Unset, ``interval_policy`` is ``fixed`` when a fixed interval is given and
    ``young_daly`` otherwise, so scenarios written before it mean what they meant."""
    base = "mode: sync, storage_tb_per_s: 10, max_interval_minutes: 60, restart_minutes: 5"
    policy = api.load_scenario(alone(tmp_path, checkpoint=base)).scenario.checkpoint.policy
    assert policy is IntervalPolicy.YOUNG_DALY
    fixed = alone(tmp_path, checkpoint=f"{base}, interval_steps: 100")
    assert api.load_scenario(fixed).scenario.checkpoint.policy is IntervalPolicy.FIXED


@pytest.mark.parametrize(
    ("written", "field"),
    [
        ("interval_policy: fixed", "checkpoint.interval_policy"),
        ("interval_policy: optimal, interval_minutes: 30", "checkpoint.interval_minutes"),
        ("interval_policy: young_daly, interval_steps: 100", "checkpoint.interval_steps"),
    ],
)
def test_a_policy_and_its_interval_must_agree(tmp_path: Path, written: str, field: str) -> None:
    """``fixed`` without an interval, or an interval under another policy, is refused at the
    line that says it."""
    checkpoint = f"mode: sync, storage_tb_per_s: 10, max_interval_minutes: 60, {written}"
    with pytest.raises(ScenarioError) as caught:
        api.load_scenario(alone(tmp_path, checkpoint=f"{checkpoint}, restart_minutes: 5"))
    (issue,) = caught.value.issues
    assert issue.field == field and issue.line is not None


def test_goodput_pays_for_the_write_in_flight(tmp_path: Path) -> None:
    """Asynchronous checkpoints to a slow storage (the 20.6 TB state at 0.25 TB/s: durable
    82 s after each one, the interval stretched to match): the run's goodput over ~1,900
    failures is the renewal ETTR with the write in flight within 1 point (as for synchronous
    checkpoints, ``test_recovery``), and the ETTR without it is more than 3 points off."""
    checkpoint = "mode: async, storage_tb_per_s: 0.25, max_interval_minutes: 60, restart_minutes: 5"
    job = only_job(api.simulate(alone(tmp_path, checkpoint=checkpoint)))
    state_bytes = job.checkpoint_tb_written / job.checkpoints * 1e12
    durable_after_s = state_bytes / 0.25e12  # alone on the site: all of the storage
    held_s = sum(job.gpu_hours.values()) / job.gpus * 3600.0
    kwargs = dict(
        interval_s=job.checkpoint_interval_min * 60.0,
        blocking_s=job.checkpoint_blocking_s,
        restart_s=300.0,
        mtbf_s=held_s / job.failures,
    )
    assert kwargs["interval_s"] == pytest.approx(durable_after_s, rel=1e-9)
    with_lag = rel.ettr_closed_form(**kwargs, durable_after_s=durable_after_s)  # type: ignore[arg-type]
    assert job.goodput == pytest.approx(with_lag, abs=0.01)
    assert rel.ettr_closed_form(**kwargs) - job.goodput > 0.03  # type: ignore[arg-type]


def interruption_mtbf_s(resolved: ResolvedScenario, racks: int) -> float:
    """Mean time between the failures that interrupt a job on ``racks`` racks of 72 GPUs:
    the failure model's GPU and tray causes strike one of 72 slots, and interrupt only on
    the job's active GPUs (an idle hot spare's is a repair); the rest strike any GPU."""
    causes = list(resolved.reliability.causes.values())
    spare_share = sum(
        c.count for c in causes if c.domain in (FailureDomain.GPU, FailureDomain.TRAY)
    ) / sum(c.count for c in causes)
    active = resolved.jobs[0].spec.active_gpus_per_rack
    per_rack = resolved.effective.failure_rate_per_gpu_hour * (
        spare_share * active + (1.0 - spare_share) * 72
    )
    return 3600.0 / (per_rack * racks)


def test_the_optimal_policy_checkpoints_at_the_closed_form(tmp_path: Path) -> None:
    """Synchronous writes of 82 s (0.25 TB/s), interruptions every ~14 minutes: under
    ``optimal`` the job checkpoints at ``optimal_interval_s`` for its blocking and its racks'
    failure rate (Young–Daly's √(2δM) is 16% longer there), and its goodput is the renewal
    ETTR at that interval within 1 point."""
    checkpoint = (
        "mode: sync, storage_tb_per_s: 0.25, max_interval_minutes: 60, restart_minutes: 5, "
        "interval_policy: optimal"
    )
    path = alone(tmp_path, checkpoint=checkpoint)
    job = only_job(api.simulate(path))
    resolved = api.load_scenario(path)
    mtbf_s = interruption_mtbf_s(resolved, job.racks)
    interval_s = job.checkpoint_interval_min * 60.0
    blocking_s = job.checkpoint_blocking_s
    assert interval_s == pytest.approx(
        rel.optimal_interval_s(blocking_s, mtbf_s, min_s=job.step_s, max_s=3600.0), rel=1e-9
    )
    young_s = rel.young_daly_interval_s(blocking_s, mtbf_s, min_s=job.step_s, max_s=3600.0)
    assert young_s > 1.1 * interval_s
    held_s = sum(job.gpu_hours.values()) / job.gpus * 3600.0
    expected = rel.ettr_closed_form(
        interval_s=interval_s,
        blocking_s=blocking_s,
        restart_s=300.0,
        mtbf_s=held_s / job.failures,
    )
    assert job.goodput == pytest.approx(expected, abs=0.01)
