"""The grid mitigations as what-ifs: GPU power smoothing (a floor and a ramp limit), on-site
storage and staggered restarts — their physics, their bookkeeping, and bad input refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from colossus_sim import api
from colossus_sim.config.load import load_gpu
from colossus_sim.perf import power, storage

SMOOTHED = ["power.smoothing.floor_frac_of_tdp=0.6", "power.smoothing.ramp_limit_w_per_s=100"]
STORED = ["power.storage.power_mw=200", "power.storage.energy_mwh=400"]


@pytest.mark.parametrize("clock", [0.5, 0.75, 1.0])
@pytest.mark.parametrize("floor_frac", [0.1, 0.3, 0.6, 0.9])
def test_a_smoothed_gpu_never_draws_below_its_floor(clock: float, floor_frac: float) -> None:
    """Every phase is burned up to the floor: the low phase draws max(comm, floor), the high
    max(compute, floor), so the step's mean and both phases are at least the floor, and the
    swing between them is what is left above it."""
    gpu = load_gpu("gb300")
    floor_w = floor_frac * gpu.tdp_w
    phases = power.StepPhases(clocked_s=3.0, busy_s=1.0, wait_s=0.4)
    mean_w = power.training_gpu_w(gpu, phases, clock, floor_w=floor_w)
    high_w = max(power.compute_phase_w(gpu, clock), floor_w)
    low_w = max(gpu.power.comm_phase_w, floor_w)
    assert low_w >= floor_w and high_w >= floor_w and mean_w >= floor_w
    busy_s = phases.clocked_s / clock + phases.busy_s
    assert mean_w == pytest.approx((busy_s * high_w + 0.4 * low_w) / phases.step_s(clock))
    assert power.swing_w_per_gpu(gpu, clock, floor_w=floor_w) == pytest.approx(high_w - low_w)
    curve = power.job_it_curve_w(
        gpu, phases, gpus_in_racks=72, training_gpus=64, network_w_per_gpu=60, floor_w=floor_w
    )
    bare = power.job_it_curve_w(
        gpu, phases, gpus_in_racks=72, training_gpus=64, network_w_per_gpu=60
    )
    assert np.all(curve >= bare)


@pytest.fixture(scope="module")
def plain(default_run_with: Callable[..., api.RunResult]) -> api.RunResult:
    return default_run_with("horizon_days=5")


@pytest.fixture(scope="module")
def smoothed() -> api.RunResult:
    return api.simulate(overrides=["horizon_days=5", *SMOOTHED, *STORED])


def test_smoothing_and_storage_keep_energy_the_integral_of_power(smoothed: api.RunResult) -> None:
    series = smoothed.power
    ends = [*series.time_h[1:], smoothed.cluster.hours]
    integral = sum(
        mw * (t1 - t0) for mw, t0, t1 in zip(series.facility_mw, series.time_h, ends, strict=True)
    )
    assert integral == pytest.approx(smoothed.cluster.energy_mwh, rel=1e-9)


def test_smoothing_costs_energy_and_no_change_ramps_faster_than_the_limit(
    plain: api.RunResult, smoothed: api.RunResult
) -> None:
    """With every GPU limited to 100 W/s, the site's IT draw can move at most (all its GPUs ×
    100 W/s); the cooling share adds at most (PUE − 1)·|ΔIT| over 60 s. The floor burns power
    in the low phases (more energy), and the falls now work down over seconds (ramp energy)."""
    g, c = smoothed.cluster.grid, smoothed.cluster
    it_steps = np.abs(np.diff(smoothed.power.it_mw))
    bound = c.gpus * 100 / 1e6 + 0.1 * it_steps.max() / 60 + 1.0  # + the storage's take-over
    assert g.largest_ramp_up_mw_per_s <= bound
    assert g.largest_ramp_down_mw_per_s <= bound
    assert plain.cluster.grid.largest_ramp_mw_per_s > 100 * bound  # 20 ms ramps unsmoothed
    assert c.energy_mwh > plain.cluster.energy_mwh
    assert g.ramp_energy_mwh > plain.cluster.grid.ramp_energy_mwh
    assert g.strongest_oscillation_mw < plain.cluster.grid.strongest_oscillation_mw


def test_a_floor_at_the_compute_draw_leaves_no_in_step_oscillation() -> None:
    """Burning every low phase up to what the GPUs draw computing (0.82 of TDP) leaves no
    swing between the phases: the grid sees no in-step oscillation at all."""
    frac = load_gpu("gb300").power.compute_frac_of_tdp
    run = api.simulate(overrides=["horizon_days=1", f"power.smoothing.floor_frac_of_tdp={frac}"])
    assert run.cluster.grid.oscillation == []
    assert run.cluster.power_swing_mw == pytest.approx(0.0, abs=1e-6)


def test_storage_absorbs_steps_up_to_its_rating(
    plain: api.RunResult, smoothed: api.RunResult
) -> None:
    """200 MW of storage takes up to 200 MW of each step, so a 272 MW restart step leaves the
    grid at most ~72 MW unless the storage is already busy with an earlier step; its charge
    stays within [0, 400 MWh] and charging loses energy."""
    g = smoothed.cluster.grid
    assert g.steps_per_day["200"] < 0.1 * plain.cluster.grid.steps_per_day["200"]
    assert g.storage_min_soc_mwh is not None and g.storage_max_soc_mwh is not None
    assert 0.0 <= g.storage_min_soc_mwh <= g.storage_max_soc_mwh <= 400.0
    assert g.storage_loss_mwh is not None and g.storage_loss_mwh > 0
    assert plain.cluster.grid.storage_loss_mwh is None


def test_storage_by_hand() -> None:
    """P = 200 MW, E = 100 MWh, half full, the grid takes over at 1 MW/s. A +100 MW step: the
    grid sees none of it and takes it over in 100 s, the storage giving ½·100·100 MJ =
    1.389 MWh. A +300 MW step: the storage gives its 200, the grid sees 100. A −300 MW step
    into a 10 MWh store with 2.2 MWh of room: it can take b with ½·b²/R ≤ 2.2 MWh·3600 s/h,
    so b ≤ 125.9 MW and the store ends full."""
    run = storage.buffer_steps(
        np.array([100.0, 300.0]),
        np.array([1000.0, 1000.0]),
        power_mw=200,
        energy_mwh=100,
        grid_ramp_mw_per_s=1.0,
        initial_soc_mwh=50,
        efficiency=0.9,
    )
    assert run.grid_steps_mw.tolist() == pytest.approx([0.0, 100.0])
    assert run.soc_mwh[0] == pytest.approx(50 - 100 * 100 / 2 / 3600)
    assert run.soc_mwh[1] == pytest.approx(run.soc_mwh[0] - 200 * 200 / 2 / 3600)
    full = storage.buffer_steps(
        np.array([-300.0]),
        np.array([1000.0]),
        power_mw=200,
        energy_mwh=10,
        grid_ramp_mw_per_s=1.0,
        initial_soc_mwh=7.8,
        efficiency=0.9,
    )
    reach = np.sqrt(2 * 2.2 * 3600)
    assert full.grid_steps_mw[0] == pytest.approx(-300 + reach)
    assert full.soc_mwh[0] == pytest.approx(10.0)
    assert full.loss_mwh == pytest.approx(0.1 * 2.2)


def test_recharge_by_hand() -> None:
    """The +100 MW step above (the store gives 1.389 MWh over its 100 s hand-over), then 900 s
    before the next: at 36 MW (9 MWh) it is back at its 50 MWh; at 3.6 MW it gets 0.9 MWh of
    it back, which the grid supplies (charged) and whose loss is priced."""
    for recharge_mw, back_mwh in ((36.0, 100 * 100 / 2 / 3600), (3.6, 0.9)):
        run = storage.buffer_steps(
            np.array([100.0]),
            np.array([1000.0]),
            power_mw=200,
            energy_mwh=100,
            grid_ramp_mw_per_s=1.0,
            initial_soc_mwh=50,
            efficiency=0.9,
            recharge_mw=recharge_mw,
        )
        assert run.soc_mwh[0] == pytest.approx(50 - 100 * 100 / 2 / 3600 + back_mwh)
        assert run.charged_mwh == pytest.approx(back_mwh)
        assert run.loss_mwh == pytest.approx(0.1 * back_mwh)
        assert run.grid_steps_mw[0] == pytest.approx(0.0)


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(st.floats(-500, 500), min_size=1, max_size=60),
    gaps=st.lists(st.floats(0.0, 3600.0), min_size=60, max_size=60),
    energy=st.floats(0.01, 1000.0),
    soc_frac=st.floats(0.0, 1.0),
    recharge_mw=st.sampled_from([0.0, 5.0, 200.0]),
)
def test_the_state_of_charge_stays_within_capacity(
    steps: list[float], gaps: list[float], energy: float, soc_frac: float, recharge_mw: float
) -> None:
    """Whatever the steps, the charge stays within [0, E], recharging or not, and what went
    in less what came out is the change of charge (the tracking is lossless)."""
    run = storage.buffer_steps(
        np.array(steps),
        np.array(gaps[: len(steps)]),
        power_mw=200,
        energy_mwh=energy,
        grid_ramp_mw_per_s=2.0,
        initial_soc_mwh=soc_frac * energy,
        efficiency=0.85,
        recharge_mw=recharge_mw,
    )
    slack = 1e-9 * max(energy, 1.0)  # float rounding of the hand-over energy
    assert -slack <= run.min_soc_mwh and run.max_soc_mwh <= energy + slack
    moved = run.charged_mwh - run.discharged_mwh
    assert moved == pytest.approx(run.soc_mwh[-1] - soc_frac * energy, abs=1e-6 * max(energy, 1))
    # What the grid does not see the storage took: its output moves within ±200 MW, so no
    # step changes it by more than 400 MW, and it never takes more than the step itself.
    taken = np.array(steps) - run.grid_steps_mw
    assert np.all(np.abs(taken) <= 400 + 1e-6)
    assert np.all(np.abs(run.grid_steps_mw) <= np.abs(steps) + 200 + 1e-6)


def test_staggered_restarts_spread_the_rises_and_cost_their_ramp_energy(
    plain: api.RunResult,
) -> None:
    """Restarts bring their groups up over 30 s before training resumes: the fastest rise is
    about (a restart's rise) ÷ 30 s, the falls (failures) are untouched, and each staggered
    rise burns ½·rise·30 s."""
    run = api.simulate(overrides=["horizon_days=5", "power.restart_stagger_s=30"])
    g, before = run.cluster.grid, plain.cluster.grid
    assert g.largest_ramp_down_mw_per_s == pytest.approx(before.largest_ramp_down_mw_per_s)
    assert g.largest_ramp_up_mw_per_s < 0.01 * before.largest_ramp_up_mw_per_s
    assert g.largest_ramp_up_mw_per_s <= before.largest_rise_mw / 30 + 0.1 * 300 / 60
    assert g.ramp_energy_mwh > before.ramp_energy_mwh
    assert run.cluster.energy_mwh == pytest.approx(plain.cluster.energy_mwh)


def _write(tmp_path: Path, power_block: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "extends: colossus2\nname: bad\ntitle: bad\n"
        + power_block
        + "provenance:\n  power: {assumption: test}\n"
    )
    return path


@pytest.mark.parametrize(
    ("block", "where", "field"),
    [
        ("power:\n  smoothing:\n    floor_frac_of_tdp: 1.3\n", ":6:", "floor_frac_of_tdp"),
        ("power:\n  smoothing:\n    ramp_limit_w_per_s: 0\n", ":6:", "ramp_limit_w_per_s"),
        (
            "power:\n  storage:\n    power_mw: 200\n    energy_mwh: -400\n",
            ":7:",
            "energy_mwh",
        ),
    ],
)
def test_bad_mitigations_are_refused_at_their_line(
    cli_module: ModuleType, tmp_path: Path, block: str, where: str, field: str
) -> None:
    """A floor above TDP, a ramp limit of zero, storage of negative capacity: exit 2, naming
    the file, the line and the field."""
    path = _write(tmp_path, block)
    result = CliRunner().invoke(cli_module.app, ["run", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"bad.yaml{where}" in result.output and field in result.output, result.output


def test_a_rise_the_ramp_limit_holds_back_delays_the_jobs_work(tmp_path: Path) -> None:
    """With failures off the job's one rise, from idle at its start, is held back by a 5 W/s
    limit: its work waits half the ramp, so by the horizon it has trained that many seconds'
    tokens fewer, and the GPU-hours it waited are charged to bringing it up (restart), not
    to productive work."""
    from alone_job import alone, only_job

    path = alone(tmp_path, horizon_days=5)
    off = ["failures.enabled=false"]
    free = api.simulate(path, off)
    held = api.simulate(path, [*off, "power.smoothing.ramp_limit_w_per_s=5"])
    delay_s = held.cluster.grid.ramp_delay_hours * 3600
    assert delay_s > 30  # a ~1 kW rise per GPU at 5 W/s: minutes, half of it waited
    a, b = only_job(free), only_job(held)
    assert a.tokens - b.tokens == pytest.approx(delay_s * a.tokens_per_step / a.step_s, rel=1e-6)
    moved = a.gpu_hours["productive"] - b.gpu_hours["productive"]
    assert moved == pytest.approx(delay_s / 3600 * b.racks * 72, rel=1e-6)
    assert b.gpu_hours["restart"] - a.gpu_hours["restart"] == pytest.approx(moved, rel=1e-6)
