"""The grid's view of the site's power: how fast steps ramp (hand-computed cases and the
default run's restarts)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from colossus_sim import api
from colossus_sim.config.load import load_gpu
from colossus_sim.perf import grid
from colossus_sim.sim.ramps import RampBook


def _job(index: int, gpus: int) -> Any:
    """What the ramp book reads of a job: its index and its plan's training GPUs."""
    return SimpleNamespace(index=index, step=SimpleNamespace(gpus_used=gpus))


def test_a_change_ramps_over_the_gpu_ramp_or_the_smoothing_limit_whichever_is_slower() -> None:
    """Job 0 (1,000 GPUs) starts at 600 kW above idle, then drops to 0; job 1 (10 GPUs) rises
    by 3 kW at the same event. GPUs ramp in 20 ms; under a 100 W/s-per-GPU limit the drop of
    600 W per GPU takes 6 s, the rise of 300 W per GPU 3 s."""
    jobs = [_job(0, 1000), _job(1, 10)]
    free = RampBook([0.02, 0.02], None)
    assert free.change(jobs, {0: 600e3}) == pytest.approx((600e3 / 0.02, 0.02))
    assert free.change(jobs, {1: 3e3}) == pytest.approx(((-600e3 + 3e3) / 0.02, 0.02))
    limited = RampBook([0.02, 0.02], 100.0)
    assert limited.change(jobs, {0: 600e3}) == pytest.approx((600e3 / 6.0, 6.0))
    rate, longest = limited.change(jobs, {1: 3e3})
    assert longest == pytest.approx(6.0)
    assert rate == pytest.approx(-600e3 / 6.0 + 3e3 / 3.0)
    # No job moves faster than the limit: |rate| ≤ (GPUs moving) × limit.
    assert abs(rate) <= (1000 + 10) * 100.0


def test_the_largest_ramp_adds_an_instants_rows_and_spreads_the_cooling_share() -> None:
    """Three instants: t=0 (the start, not a step), t=1 h with two rows (+50 and +30 MW/s: one
    IT step of +4 MW), t=2 h (−200 MW/s, an IT step of −8 MW). PUE 1.25: the cooling share of
    a step, 0.25·|ΔIT|, comes over 60 s."""
    time_h = [0.0, 1.0, 1.0, 2.0]
    it_mw = [100.0, 101.0, 104.0, 96.0]
    rates = [0.0, 50.0, 30.0, -200.0]
    steps = grid.net_steps(time_h, it_mw)
    assert steps.tolist() == pytest.approx([4.0, -8.0])
    got = grid.largest_ramp_mw_per_s(time_h, rates, steps, pue=1.25, cooling_ramp_s=60.0)
    assert got == pytest.approx(max(80.0 + 0.25 * 4 / 60, 200.0 + 0.25 * 8 / 60))


@pytest.fixture(scope="module")
def five_days() -> api.RunResult:
    return api.simulate(overrides=["horizon_days=5"])


def test_the_default_runs_fastest_ramp_is_a_whole_step_over_the_gpus_ramp(
    five_days: api.RunResult,
) -> None:
    """Each 10T restart drops its whole draw above idle at once: the largest IT step over the
    GB300's 20 ms bounds the fastest ramp from below; no change is faster than every IT step
    of the run at once."""
    g = five_days.cluster.grid
    power = five_days.power
    it_steps = grid.net_steps(power.time_h, power.it_mw)
    ramp_s = load_gpu("gb300").power.ramp_s
    assert g.largest_ramp_mw_per_s >= np.abs(it_steps).max() / ramp_s
    assert g.largest_ramp_mw_per_s <= np.abs(it_steps).sum() / ramp_s
    assert all(r >= 0 for r in power.ramp_s)
