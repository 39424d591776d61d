"""The grid's view of the site's power: how fast steps ramp (hand-computed cases and the
default run's restarts)."""

from __future__ import annotations

from collections.abc import Callable
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
    got = grid.largest_ramps_mw_per_s(time_h, rates, steps, pue=1.25, cooling_ramp_s=60.0)
    assert got == pytest.approx((80.0 + 0.25 * 4 / 60, 200.0 + 0.25 * 8 / 60))


@pytest.fixture(scope="module")
def five_days(default_run_with: Callable[..., api.RunResult]) -> api.RunResult:
    return default_run_with("horizon_days=5")


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


def test_two_jobs_in_lock_step_add_coherently_and_independent_ones_in_quadrature() -> None:
    """Two identical jobs, each swinging 1 MW with a 2 s step, half of it computing: each
    alone has a fundamental of 2·A/π·sin(π/2) = 0.6366 MW at 0.5 Hz and no 2nd harmonic
    (sin(π) = 0). In lock-step the two add to 4/π = 1.2732 MW; with random relative phase
    their expected power adds, √2·2/π = 0.9003 MW. With different periods they stay apart."""
    from colossus_sim.perf.oscillation import PulseTrain, components

    def train(name: str, group: str, period_s: float = 2.0) -> PulseTrain:
        return PulseTrain(name=name, period_s=period_s, high_frac=0.5, swing_w=1e6, group=group)

    locked = components([train("a", "g"), train("b", "g")])
    assert locked[0].frequency_hz == pytest.approx(0.5)
    assert locked[0].amplitude_w == pytest.approx(4e6 / np.pi)
    assert locked[0].jobs == ("a", "b")
    assert all(c.frequency_hz != pytest.approx(1.0) or c.amplitude_w < 1e-6 for c in locked)
    third = next(c for c in locked if c.frequency_hz == pytest.approx(1.5))
    assert third.amplitude_w == pytest.approx(4e6 / (3 * np.pi))
    independent = components([train("a", "g1"), train("b", "g2")])
    assert independent[0].amplitude_w == pytest.approx(np.sqrt(2) * 2e6 / np.pi)
    apart = components([train("a", "g"), train("b", "g", period_s=3.0)])
    fundamentals = {round(c.frequency_hz, 6): c.amplitude_w for c in apart}
    assert fundamentals[0.5] == pytest.approx(2e6 / np.pi)
    assert fundamentals[round(1 / 3, 6)] == pytest.approx(2e6 / np.pi)


def test_the_default_runs_strongest_oscillation_is_the_10t_at_its_step_frequency(
    five_days: api.RunResult,
) -> None:
    """All seven jobs start together; the 10T swings most (its GPUs × compute − comm watts),
    but its communication phase is only a few % of its step, so its fundamental is
    (2·swing/π)·sin(π·wait share) — far below the static swing the run also reports."""
    from colossus_sim.perf import power

    g = five_days.cluster.grid
    ten_t = next(j for j in five_days.jobs if j.name == "grok5_10t")
    phases = power.StepPhases.of(ten_t.breakdown_s)
    wait_share = phases.wait_s / phases.step_s(1.0)
    swing_mw = ten_t.plan.gpus * power.swing_w_per_gpu(load_gpu("gb300"), 1.0) / 1e6
    assert g.oscillation[0].jobs == ["grok5_10t"]
    assert g.strongest_oscillation_hz == pytest.approx(1 / ten_t.step_s, rel=1e-6)
    expected = 2 * swing_mw / np.pi * np.sin(np.pi * wait_share)
    assert g.strongest_oscillation_mw == pytest.approx(expected, rel=1e-6)
    assert g.strongest_oscillation_mw < 0.25 * swing_mw
