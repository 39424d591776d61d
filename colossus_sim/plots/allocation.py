"""The allocation figure: racks held by each job over time (stacked) above the cluster's
utilisation (share of racks allocated, and the binned mean share held by running jobs).

Cost: O(jobs × series rows) numpy to sample each job's racks on the run's time grid, then one
stackplot and two step layers (a few hundred ms to render on Agg).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from colossus_sim.kinds import JobStatus
from colossus_sim.plots._series import (
    _bin_means,
    _end_hours,
    _hours_text,
    _job_order,
    _nice_bin_hours,
    _sorted_series,
    _step_values,
)
from colossus_sim.plots._style import (
    LABEL_SIZE,
    RUN_FIGSIZE,
    STATUS_COLORS,
    TICK_SIZE,
    _count_axis,
    _days_axis,
    _done,
    _empty_note,
    _figure,
    _limit_line,
    _style,
    _titled,
    job_colors,
)
from colossus_sim.units import HOURS_PER_DAY

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from numpy.typing import NDArray

    from colossus_sim.results import RunResult


def plot_allocation(result: RunResult, path: str | Path | None = None) -> Figure:
    """Racks held by each job over time (stacked), and the cluster's utilisation: the share
    of racks allocated to jobs and the share held by running jobs (not restarting, stalled
    or waiting), as exact time-weighted means over short bins."""
    series = _sorted_series(result)
    jobs = _job_order(result, series)
    end_h = _end_hours(result, series)
    end_d = end_h / HOURS_PER_DAY
    total_racks = int(result.cluster.racks)
    fig, ax_racks, ax_util = _allocation_axes(result, end_d)

    if series.empty or end_h <= 0:
        _empty_note(ax_racks, "no job ran in this scenario")
        _empty_note(ax_util, "no job ran in this scenario")
        ax_racks.set_ylim(0, max(total_racks, 1))
        ax_util.set_ylim(0, 100)
        return _done(fig, path)

    grid, held, running = _held_racks(series, jobs, end_h)
    x = np.append(grid, end_h) / HOURS_PER_DAY
    _draw_racks(fig, ax_racks, x, held, job_colors(jobs), total_racks, end_d)
    _draw_utilisation(ax_util, x, grid, held, running, total_racks, end_h)
    ax_racks.set_title(
        f"Over the run: {result.cluster.allocated_frac:.1%} of GPU-hours allocated to jobs, "
        f"{result.cluster.productive_frac:.1%} productive",
        fontsize=LABEL_SIZE,
        loc="left",
    )
    ax_util.legend(
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncols=2,
        fontsize=TICK_SIZE,
        frameon=False,
        borderaxespad=0.2,
    )
    return _done(fig, path)


def _allocation_axes(result: RunResult, end_d: float) -> tuple[Figure, Axes, Axes]:
    """The figure with its two axes (racks above, utilisation below) titled and labelled."""
    fig = _figure(RUN_FIGSIZE)
    ax_racks, ax_util = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    _titled(fig, f"Racks by job and cluster utilisation — {result.label}", result.version)
    for ax in (ax_racks, ax_util):
        _style(ax)
    _days_axis(ax_util, end_d)
    ax_racks.set_ylabel("racks held (racks)", fontsize=LABEL_SIZE)
    _count_axis(ax_racks)
    ax_util.set_ylabel("share of the cluster's racks (%)", fontsize=LABEL_SIZE)
    return fig, ax_racks, ax_util


def _held_racks(
    series: pd.DataFrame, jobs: list[str], end_h: float
) -> tuple[NDArray[np.float64], dict[str, NDArray[np.float64]], NDArray[np.float64]]:
    """The time grid (every stamp before the end, from 0), each job's racks on it, and the
    racks held by running jobs."""
    times = series["time_h"].to_numpy(dtype=np.float64)
    grid = np.unique(np.concatenate([[0.0], times[times < end_h]]))
    held = {}
    running = np.zeros_like(grid)
    for job in jobs:
        rows = series[series["job"] == job]
        t = rows["time_h"].to_numpy(dtype=np.float64)
        racks = rows["racks"].to_numpy(dtype=np.float64)
        is_running = (rows["status"] == JobStatus.RUNNING).to_numpy()
        held[job] = _step_values(t, grid, racks)
        running += _step_values(t, grid, np.where(is_running, racks, 0.0))
    return grid, held, running


def _draw_racks(
    fig: Figure,
    ax: Axes,
    x: NDArray[np.float64],
    held: dict[str, NDArray[np.float64]],
    colors: dict[str, str],
    total_racks: int,
    end_d: float,
) -> None:
    """The stacked racks per job, the cluster's size, and the job legend."""
    # Stack the longest-lived (largest) jobs at the bottom so the finishing ones peel off
    # the top; the legend lists them top to bottom as drawn.
    stack = list(reversed(held))
    ys = [np.append(held[j], held[j][-1]) for j in stack]
    ax.stackplot(
        x,
        ys,
        colors=[colors[j] for j in stack],
        step="post",
        linewidth=0.0,
        labels=[j for j in stack],
    )
    if total_racks > 0:
        _limit_line(ax, total_racks, end_d, f"cluster: {total_racks:,} racks", "#333333")
    ax.set_ylim(0, max(total_racks, float(np.max(np.sum(ys, axis=0)))) * 1.08)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(
        handles[::-1],
        labels[::-1],
        loc="outside right upper",
        title="job",
        fontsize=TICK_SIZE,
        title_fontsize=LABEL_SIZE,
        frameon=False,
    )


def _draw_utilisation(
    ax: Axes,
    x: NDArray[np.float64],
    grid: NDArray[np.float64],
    held: dict[str, NDArray[np.float64]],
    running: NDArray[np.float64],
    total_racks: int,
    end_h: float,
) -> None:
    """The share of racks allocated (a step line) and held by running jobs (binned means)."""
    denominator = max(total_racks, 1)
    allocated_pct = np.sum(list(held.values()), axis=0) * 100.0 / denominator
    width_h = _nice_bin_hours(end_h)
    edges, running_mean = _bin_means(grid, running * 100.0 / denominator, end_h, width_h)
    ax.step(
        x,
        np.append(allocated_pct, allocated_pct[-1]),
        where="post",
        color="#444444",
        linewidth=1.4,
        label="allocated to jobs",
    )
    ax.fill_between(
        edges / HOURS_PER_DAY,
        np.append(running_mean, running_mean[-1]),
        step="post",
        color=STATUS_COLORS[JobStatus.RUNNING],
        alpha=0.55,
        linewidth=0.0,
        label=f"running jobs ({_hours_text(width_h)} mean)",
    )
    ax.set_ylim(0, 105)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
