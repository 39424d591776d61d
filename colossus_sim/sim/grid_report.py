"""The run's grid figures, built from the ledger's power record: steps, ramps, the duration
curve, the in-step oscillation at the largest swing, and — under the what-ifs — what ramping
and on-site storage change and cost.

The ledger records the facility draw at event resolution (a row per change, with each
change's IT ramp rate and time); ``grid_result`` turns that record into ``GridResult``
(``perf/grid.py``, ``perf/oscillation.py``, ``perf/storage.py``). With storage the step,
count and ramp figures are the grid's side of the storage (what it did not absorb, and the
grid taking over at its ramp rate); the duration curve stays the site's draw. Cost:
O(samples) numpy, plus one pass over the steps with storage.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from colossus_sim.config.scenario import StorageSpec
from colossus_sim.grid_results import GridResult, OscillationComponent
from colossus_sim.perf import grid, oscillation, storage
from colossus_sim.perf.grid import FloatArray
from colossus_sim.perf.oscillation import PulseTrain
from colossus_sim.sim.ramps import PowerBook
from colossus_sim.units import J_PER_MWH, SECONDS_PER_DAY, SECONDS_PER_HOUR, W_PER_MW


def grid_result(
    samples: Sequence[tuple[float, float, float, float]],
    ramp_rates_w_per_s: Sequence[float],
    book: PowerBook,
    *,
    end_s: float,
    swing_at_h: float,
    trains: list[PulseTrain],
) -> GridResult:
    """``samples``: the ledger's (hours, IT MW, facility MW, ramp s) rows; ``ramp_rates``:
    each row's IT ramp rate; the oscillation is that of ``trains`` at ``swing_at_h``."""
    table = np.asarray(samples, dtype=np.float64).reshape(-1, 4)
    time_h, facility_mw = table[:, 0], table[:, 2]
    steps = grid.net_steps(time_h, facility_mw)
    it_steps = grid.net_steps(time_h, table[:, 1])
    share = np.ones_like(steps)
    takeover_mw_per_s = 0.0
    stored: dict[str, float] = {}
    if book.storage is not None and steps.size:
        run = _buffered(steps, time_h, end_s, book.storage)
        share = np.divide(
            np.abs(run.grid_steps_mw), np.abs(steps), out=np.zeros_like(steps), where=steps != 0
        )
        steps, takeover_mw_per_s = run.grid_steps_mw, book.storage.grid_ramp_mw_per_s
        stored = {
            "storage_min_soc_mwh": run.min_soc_mwh,
            "storage_max_soc_mwh": run.max_soc_mwh,
            "storage_loss_mwh": run.loss_mwh,
        }
    days = max(end_s / SECONDS_PER_DAY, 1e-12)
    counts = grid.step_counts(steps, grid.STEP_THRESHOLDS_MW)
    rise, fall = grid.largest_steps(steps)
    curve = grid.exceedance(time_h, facility_mw, end_s / SECONDS_PER_HOUR, grid.EXCEEDED_SHARES)
    up, down = grid.largest_ramps_mw_per_s(
        time_h,
        np.asarray(ramp_rates_w_per_s, dtype=np.float64) / W_PER_MW,
        it_steps,
        pue=book.pue,
        cooling_ramp_s=book.cooling_ramp_s,
        shares=share,
    )
    return GridResult(
        steps_per_day={
            f"{mw:g}": n / days for mw, n in zip(grid.STEP_THRESHOLDS_MW, counts, strict=True)
        },
        largest_rise_mw=rise,
        largest_fall_mw=fall,
        draw_exceeded_mw={
            f"p{share * 100:g}": mw for share, mw in zip(grid.EXCEEDED_SHARES, curve, strict=True)
        },
        largest_ramp_mw_per_s=max(up, down) + takeover_mw_per_s,
        largest_ramp_up_mw_per_s=up + takeover_mw_per_s,
        largest_ramp_down_mw_per_s=down + takeover_mw_per_s,
        cooling_ramp_s=book.cooling_ramp_s,
        oscillation_at_h=swing_at_h,
        **_oscillation(trains),
        ramp_energy_mwh=book.ramps.ramp_energy_j * book.pue / J_PER_MWH,
        ramp_delay_hours=book.ramps.delay_s / SECONDS_PER_HOUR,
        **stored,
    )


def _buffered(
    steps: FloatArray, time_h: FloatArray, end_s: float, spec: StorageSpec
) -> storage.Buffered:
    """The site's steps (one per instant after the first) through the storage of ``spec``."""
    instants = np.unique(np.asarray(time_h, dtype=np.float64))
    gaps_s = np.diff(np.append(instants[1:], end_s / SECONDS_PER_HOUR)) * SECONDS_PER_HOUR
    return storage.buffer_steps(
        steps,
        gaps_s,
        power_mw=spec.power_mw,
        energy_mwh=spec.energy_mwh,
        grid_ramp_mw_per_s=spec.grid_ramp_mw_per_s,
        initial_soc_mwh=spec.initial_soc_frac * spec.energy_mwh,
        efficiency=spec.round_trip_efficiency,
        recharge_mw=spec.recharge_mw,
    )


def _oscillation(trains: list[PulseTrain]) -> dict[str, Any]:
    """The grid result's oscillation fields from the trains at the largest swing."""
    found = [
        OscillationComponent(
            frequency_hz=c.frequency_hz, amplitude_mw=c.amplitude_w / W_PER_MW, jobs=list(c.jobs)
        )
        for c in oscillation.components(trains)[:3]
    ]
    return {
        "oscillation": found,
        "strongest_oscillation_hz": found[0].frequency_hz if found else 0.0,
        "strongest_oscillation_mw": found[0].amplitude_mw if found else 0.0,
    }
