"""The power figure: site facility and IT power over time against the facility power cap —
binned means of both, the facility's highest and lowest draw in each bin (the restarts' dips
show as the low line, not as a solid band of thousands of steps), and the steps of 100 MW or
more in each bin as bars on their own axis: the events, not a slab.

Cost: O(power samples) numpy for the bins, four step layers, one bar layer and a limit line.
"""

from __future__ import annotations

import math
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
    _limit_line,
    _style,
    _titled,
)
from colossus_sim.units import HOURS_PER_DAY

BIG_STEP_MW = 100.0
"""Steps counted per bin: the grid figures' middle threshold."""

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
    for other in fig.axes[1:]:
        more = other.get_legend_handles_labels()
        handles, labels = handles + more[0], labels + more[1]
    if handles:
        fig.legend(
            handles,
            labels,
            loc="outside lower center",
            ncols=min(len(handles), 3),
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
    _titled(fig, f"Site power — {result.label}", result.version)
    ax.set_title(
        f"peak {c.peak_facility_mw:,.0f} MW facility ({c.peak_it_mw:,.0f} MW IT), "
        f"mean {c.mean_facility_mw:,.0f} MW, energy {c.energy_mwh / 1000:,.1f} GWh",
        fontsize=LABEL_SIZE,
        loc="left",
    )
    return fig, ax


def _draw_power(ax: Axes, frame: pd.DataFrame, end_h: float) -> float:
    """The binned facility and IT means, the facility's range in each bin, and the big steps
    per bin; returns the highest draw."""
    times = frame["time_h"].to_numpy(dtype=np.float64)
    facility = frame["facility_mw"].to_numpy(dtype=np.float64)
    it = frame["it_mw"].to_numpy(dtype=np.float64)
    width_h = _nice_bin_hours(end_h)
    edges, _ = _bin_means(times, facility, end_h, width_h)
    low, high = _bin_extremes(times, facility, edges)
    days = edges / HOURS_PER_DAY
    bin_text = f"{_hours_text(width_h)} bins"
    for values, label, color, gid in (
        (high, f"facility, highest in {bin_text}", "#9CC3E4", "facility_mw"),
        (low, f"facility, lowest in {bin_text} (restarts' dips)", "#E8A66B", "facility_low_mw"),
    ):
        ax.step(
            days,
            np.append(values, values[-1]),
            where="post",
            color=color,
            linewidth=0.9,
            label=label,
            gid=gid,
        )
    for values, label, color, style in (
        (facility, f"facility (IT × PUE), {_hours_text(width_h)} mean", "#0B4F8A", "-"),
        (it, f"IT (racks and fabric), {_hours_text(width_h)} mean", "#2E9E5B", "--"),
    ):
        _, means = _bin_means(times, values, end_h, width_h)
        ax.step(
            days,
            np.append(means, means[-1]),
            where="post",
            color=color,
            linestyle=style,
            linewidth=1.8,
            label=label,
        )
    _draw_steps(ax, times, facility, edges)
    return float(max(facility.max(), it.max()))


def _draw_steps(
    ax: Axes,
    times: npt.NDArray[np.float64],
    facility: npt.NDArray[np.float64],
    edges: npt.NDArray[np.float64],
) -> None:
    """Steps of at least 100 MW (rises and falls) in each bin, as bars on a right-hand axis."""
    instants = np.unique(times)[1:]
    steps = grid.net_steps(times, facility)
    big = instants[np.abs(steps) >= BIG_STEP_MW]
    counts, _ = np.histogram(big, bins=edges)
    twin = ax.twinx()
    twin.bar(
        edges[:-1] / HOURS_PER_DAY,
        counts,
        width=np.diff(edges) / HOURS_PER_DAY,
        align="edge",
        color="#7A7A7A",
        alpha=0.35,
        label=f"steps of {BIG_STEP_MW:g} MW or more per bin",
        gid="steps",
    )
    twin.set_ylabel(f"steps ≥ {BIG_STEP_MW:g} MW per bin (count)", fontsize=LABEL_SIZE)
    twin.set_ylim(0, max(int(counts.max(initial=0)), 1) * 4)  # bars in the bottom quarter
    twin.tick_params(labelsize=TICK_SIZE)
