"""The grid report figure: the whole run's facility draw beside the hour around its largest
step at one-second resolution.

Left, the whole run: the binned mean facility draw and its highest and lowest per bin, with
the largest step marked. Right, the hour centred on that step, the draw at every second:
each change of IT draw made over its own ramp (the power timeline's ``ramp_s``) and the
cooling share following over the site's ``cooling_ramp_s`` (``perf.grid.ramped_draw_mw``).
The in-step oscillation (seconds) is not drawn: it is reported as components
(``cluster.grid``).

Cost: O(power samples) for the whole-run panel; the one-second series is computed only for
the window shown, O(3,600 × the changes in it).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure

from colossus_sim.perf import grid
from colossus_sim.plots._series import (
    _bin_extremes,
    _bin_means,
    _end_hours,
    _hours_text,
    _nice_bin_hours,
    hourly,
)
from colossus_sim.plots._style import (
    LABEL_SIZE,
    RUN_FIGSIZE,
    TICK_SIZE,
    _count_axis,
    _days_axis,
    _done,
    _empty_note,
    _figure,
    _style,
    _titled,
)
from colossus_sim.units import HOURS_PER_DAY, SECONDS_PER_HOUR, SECONDS_PER_MINUTE

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from colossus_sim.results import RunResult

WINDOW_S = 3600.0
"""The zoomed window: an hour around the largest step."""
RESOLUTION_S = 1.0
FloatArray = npt.NDArray[np.float64]


def plot_grid(result: RunResult, path: str | Path | None = None) -> Figure:
    """The whole run's facility draw and, beside it, the hour around its largest step at one
    second."""
    frame = hourly(result.power).sort_values("time_h", kind="stable")
    fig = _figure((RUN_FIGSIZE[0] * 1.25, RUN_FIGSIZE[1]))
    whole, hour = fig.subplots(1, 2, width_ratios=(1.3, 1.0))
    for ax in (whole, hour):
        _style(ax)
        _count_axis(ax)
        ax.set_ylabel("facility power (MW)", fontsize=LABEL_SIZE)
    g = result.cluster.grid
    _titled(fig, f"The site as the grid sees it — {result.label}", result.version)
    end_h = _end_hours(result, frame)
    _days_axis(whole, end_h / HOURS_PER_DAY)
    if len(frame) < 2:
        _empty_note(whole, "no power changes in this run")
        _empty_note(hour, "no step to zoom on")
        return _done(fig, path)
    times = frame["time_h"].to_numpy(dtype=np.float64)
    facility = frame["facility_mw"].to_numpy(dtype=np.float64)
    at_h = _largest_step_h(times, facility)
    _draw_whole(whole, times, facility, end_h, at_h)
    whole.set_title(
        f"whole run: {g.steps_per_day['100']:,.1f} steps ≥ 100 MW a day, "
        f"largest +{g.largest_rise_mw:,.0f} / −{g.largest_fall_mw:,.0f} MW",
        fontsize=LABEL_SIZE,
        loc="left",
    )
    _draw_hour(hour, frame, at_h, end_h, g.cooling_ramp_s)
    hour.set_title(
        f"the hour around it, each second: ramps up to {g.largest_ramp_up_mw_per_s:,.0f} / "
        f"{g.largest_ramp_down_mw_per_s:,.0f} MW/s",
        fontsize=LABEL_SIZE,
        loc="left",
    )
    for ax in (whole, hour):
        ax.legend(fontsize=TICK_SIZE, frameon=False, loc="lower left")
    return _done(fig, path)


def _largest_step_h(times: FloatArray, facility: FloatArray) -> float:
    """The instant of the run's largest net step (the first, of equal ones)."""
    steps = grid.net_steps(times, facility)
    return float(np.unique(times)[1:][int(np.argmax(np.abs(steps)))])


def _draw_whole(
    ax: Axes, times: FloatArray, facility: FloatArray, end_h: float, at_h: float
) -> None:
    width_h = _nice_bin_hours(end_h)
    edges, means = _bin_means(times, facility, end_h, width_h)
    low, high = _bin_extremes(times, facility, edges)
    days = edges / HOURS_PER_DAY
    for values, label, color in (
        (high, f"highest in {_hours_text(width_h)} bins", "#9CC3E4"),
        (low, f"lowest in {_hours_text(width_h)} bins (restarts' dips)", "#E8A66B"),
    ):
        ax.step(
            days,
            np.append(values, values[-1]),
            where="post",
            color=color,
            linewidth=0.9,
            label=label,
        )
    ax.step(
        days,
        np.append(means, means[-1]),
        where="post",
        color="#0B4F8A",
        linewidth=1.6,
        label=f"{_hours_text(width_h)} mean",
    )
    ax.axvline(at_h / HOURS_PER_DAY, color="#C8372D", linewidth=1.0, label="largest step")
    ax.set_ylim(0, float(high.max()) * 1.1)


def _draw_hour(
    ax: Axes, frame: pd.DataFrame, at_h: float, end_h: float, cooling_ramp_s: float
) -> None:
    """The facility and IT draw each second of the hour centred on ``at_h`` (within the run)."""
    at_s, end_s = at_h * SECONDS_PER_HOUR, end_h * SECONDS_PER_HOUR
    start_s = min(max(at_s - WINDOW_S / 2, 0.0), max(end_s - WINDOW_S, 0.0))
    seconds = np.arange(start_s, min(start_s + WINDOW_S, end_s), RESOLUTION_S)
    it_mw, facility_mw = _window_draw(frame, seconds, cooling_ramp_s)
    minutes = (seconds - at_s) / SECONDS_PER_MINUTE
    ax.plot(minutes, facility_mw, color="#0B4F8A", linewidth=1.2, label="facility", gid="hour")
    ax.plot(minutes, it_mw, color="#2E9E5B", linewidth=1.0, linestyle="--", label="IT")
    ax.set_xlabel("minutes from the largest step (min)", fontsize=LABEL_SIZE)
    ax.set_xlim(float(minutes[0]), float(minutes[-1]))
    ax.set_ylim(0, float(facility_mw.max()) * 1.1)


def _window_draw(
    frame: pd.DataFrame, seconds: FloatArray, cooling_ramp_s: float
) -> tuple[FloatArray, FloatArray]:
    """IT and facility MW at each of ``seconds``: the changes from a cooling ramp before the
    window to its end, each ramped; the levels before them as the base."""
    t_s = frame["time_h"].to_numpy(dtype=np.float64) * SECONDS_PER_HOUR
    it = frame["it_mw"].to_numpy(dtype=np.float64)
    facility = frame["facility_mw"].to_numpy(dtype=np.float64)
    ramp_s = frame["ramp_s"].to_numpy(dtype=np.float64)
    first = max(int(np.searchsorted(t_s, seconds[0] - cooling_ramp_s, side="left")), 1)
    last = int(np.searchsorted(t_s, seconds[-1], side="right"))
    d_it = it[first:last] - it[first - 1 : last - 1]
    d_cool = (facility - it)[first:last] - (facility - it)[first - 1 : last - 1]
    it_mw = grid.ramped_draw_mw(t_s[first:last], d_it, ramp_s[first:last], it[first - 1], seconds)
    cooling = grid.ramped_draw_mw(
        t_s[first:last],
        d_cool,
        np.full(d_cool.shape, cooling_ramp_s),
        facility[first - 1] - it[first - 1],
        seconds,
    )
    return it_mw, it_mw + cooling
