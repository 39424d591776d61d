"""Typed results of the site's power as the grid sees it: the power timeline (a row per change,
with how fast each change ramps) and the grid figures built from it (``perf/grid.py``).

Kept apart from ``results.py``, which holds them in a run's ``RunResult``; pure pydantic models,
no cost beyond their fields.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class PowerSeries(BaseModel):
    """Site power over time, one column per field: row ``i`` holds from ``time_h[i]`` until
    ``time_h[i+1]`` (piecewise constant, a row per change)."""

    model_config = ConfigDict(frozen=True)

    time_h: list[float]
    it_mw: list[float]
    facility_mw: list[float]
    ramp_s: list[float]
    """How long the change into this row takes the GPUs (the longest of its jobs' ramps; the
    facility's cooling share follows over ``cooling_ramp_s``); 0 for the first row."""

    def __len__(self) -> int:
        return len(self.time_h)


class OscillationComponent(BaseModel):
    """One sinusoid of the site's in-step oscillation (``perf/oscillation.py``): its frequency,
    peak amplitude (IT MW: cooling does not follow it) and the jobs whose trains make it."""

    model_config = ConfigDict(frozen=True)

    frequency_hz: float
    amplitude_mw: float
    jobs: list[str]


class GridResult(BaseModel):
    """The site's facility draw as the grid sees it (``sim/grid_report.py``): steps (a step is
    the net change at one instant), how fast they ramp, the duration curve, the in-step
    oscillation, and what the mitigations cost. With on-site storage the step, count and ramp
    figures are the grid's side of it."""

    model_config = ConfigDict(frozen=True)

    steps_per_day: dict[str, float]
    """Steps at least this many MW (``"50"``, ``"100"``, ``"200"``), rises and falls, per day."""
    largest_rise_mw: float
    largest_fall_mw: float
    draw_exceeded_mw: dict[str, float]
    """The draw the site is at or above for a share of the run (``"p0"`` peak, ``"p50"``
    median, ``"p100"`` minimum), time-weighted."""
    largest_ramp_mw_per_s: float
    """The fastest the facility draw moves at the start of any step: its jobs' IT changes over
    their ramp times plus the cooling share over the facility's."""
    largest_ramp_up_mw_per_s: float
    largest_ramp_down_mw_per_s: float
    """The fastest rise and the fastest fall (restarts start with a fall, end with a rise)."""
    cooling_ramp_s: float
    """How long the facility's cooling share of a step took to follow it (the site's)."""
    oscillation_at_h: float
    """When the jobs' swing between their phases was largest: the instant the spectrum is of."""
    oscillation: list[OscillationComponent]
    """The strongest components of the in-step oscillation then (at most three)."""
    strongest_oscillation_hz: float
    strongest_oscillation_mw: float
    """The strongest component's frequency and peak amplitude (0 with no job swinging)."""
    ramp_energy_mwh: float
    """Facility energy the ramps add over instant steps (falls worked down, staggered rises);
    not in ``ClusterResult.energy_mwh``, the integral of the event-resolution draw."""
    ramp_delay_hours: float
    """Work delayed by rises the smoothing ramp limit held back (job-hours, ½ ramp each)."""
    storage_min_soc_mwh: float | None = None
    storage_max_soc_mwh: float | None = None
    """The on-site storage's lowest and highest state of charge (None without storage)."""
    storage_loss_mwh: float | None = None
    """What charging the storage lost (round trip), bought back from the grid."""
