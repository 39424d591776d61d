"""The power figure: site facility and IT power over time (the instantaneous facility trace
and binned means of both) against the facility power cap.

Cost: O(power samples) numpy for the bin means, three step layers and a limit line.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from colossus_sim.plots._series import (
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
    TITLE_SIZE,
    _count_axis,
    _days_axis,
    _done,
    _empty_note,
    _figure,
    _limit_line,
    _style,
)
from colossus_sim.units import HOURS_PER_DAY

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from colossus_sim.results import RunResult


def plot_power(result: RunResult, path: str | Path | None = None) -> Figure:
    """Site facility and IT power over time (piecewise constant, drawn as steps) against the
    facility power cap."""
    frame = hourly(result.power).sort_values("time_h", kind="stable")
    end_h = _end_hours(result, frame)
    end_d = end_h / HOURS_PER_DAY
    cap = float(result.cluster.power_cap_mw)
    fig, ax = _power_axes(result, end_d)

    top = 0.0
    if frame.empty:
        _empty_note(ax, "no power samples in this run")
    else:
        top = _draw_power(ax, frame, end_h)
    if math.isfinite(cap) and cap > 0:
        _limit_line(
            ax,
            cap,
            end_d,
            f"cap {cap:,.0f} MW",
            "#C8372D",
            linewidth=1.6,
            label="facility cap",
            gid="cap",
        )
        top = max(top, cap)
    ax.set_ylim(0, max(top, 1.0) * 1.1)
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(
            handles,
            labels,
            loc="outside lower center",
            ncols=len(handles),
            fontsize=TICK_SIZE,
            frameon=False,
        )
    return _done(fig, path)


def _power_axes(result: RunResult, end_d: float) -> tuple[Figure, Axes]:
    """The figure and its axes, titled with the run's peak, mean and energy."""
    fig = _figure(RUN_FIGSIZE)
    ax = fig.subplots()
    _style(ax)
    _days_axis(ax, end_d)
    ax.set_ylabel("power (MW)", fontsize=LABEL_SIZE)
    _count_axis(ax)
    c = result.cluster
    fig.suptitle(f"Site power — {result.label}", fontsize=TITLE_SIZE)
    ax.set_title(
        f"peak {c.peak_facility_mw:,.0f} MW facility ({c.peak_it_mw:,.0f} MW IT), "
        f"mean {c.mean_facility_mw:,.0f} MW, energy {c.energy_mwh / 1000:,.1f} GWh",
        fontsize=LABEL_SIZE,
        loc="left",
    )
    return fig, ax


def _draw_power(ax: Axes, frame: pd.DataFrame, end_h: float) -> float:
    """The facility trace and the binned facility and IT means; returns the highest draw."""
    times = frame["time_h"].to_numpy(dtype=np.float64)
    t = np.append(times, end_h) / HOURS_PER_DAY
    facility = frame["facility_mw"].to_numpy(dtype=np.float64)
    it = frame["it_mw"].to_numpy(dtype=np.float64)
    # Every restart dips the draw for minutes, so the instantaneous trace is a band; the
    # exact time-weighted means over short bins show the trend over it.
    ax.step(
        t,
        np.append(facility, facility[-1]),
        where="post",
        color="#9CC3E4",
        linewidth=0.5,
        label="facility, instantaneous",
        gid="facility_mw",
    )
    width_h = _nice_bin_hours(end_h)
    mean_text = f"{_hours_text(width_h)} mean"
    for values, label, color, style in (
        (facility, f"facility (IT × PUE), {mean_text}", "#0B4F8A", "-"),
        (it, f"IT (racks and fabric), {mean_text}", "#2E9E5B", "--"),
    ):
        edges, means = _bin_means(times, values, end_h, width_h)
        ax.step(
            edges / HOURS_PER_DAY,
            np.append(means, means[-1]),
            where="post",
            color=color,
            linestyle=style,
            linewidth=1.8,
            label=label,
        )
    return float(max(facility.max(), it.max()))
