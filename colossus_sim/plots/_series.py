"""A run's frames as the run figures need them: jobs in scenario order, the run's end, and
piecewise-constant series sampled on a time grid or averaged exactly over bins.

Pure numpy on the ``RunResult``'s series (pandas frames of them in hours, ``hourly``); no
matplotlib. Each call is
O(rows) or O(rows · log rows).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from colossus_sim.units import HOURS_PER_DAY

if TYPE_CHECKING:
    import pandas as pd
    from numpy.typing import NDArray
    from pydantic import BaseModel

    from colossus_sim.results import RunResult


def _job_order(result: RunResult, series: pd.DataFrame) -> list[str]:
    """The scenario's jobs in order, then any other job named in the series."""
    order = [j.name for j in result.jobs]
    extra = [str(j) for j in series["job"].unique() if str(j) not in order]
    return order + extra


def _end_hours(result: RunResult, *frames: pd.DataFrame) -> float:
    """The run's end: the cluster's hours, or the latest stamp if a frame goes beyond it."""
    end = float(result.cluster.hours)
    for frame in frames:
        if len(frame):
            end = max(end, float(frame["time_h"].max()))
    return end


def _step_values(
    times: NDArray[np.float64], grid: NDArray[np.float64], values: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Piecewise-constant ``values`` (row ``i`` valid from ``times[i]``) sampled on ``grid``;
    0 before the first row (everywhere, with no rows: a job the horizon ended before it was
    queued). ``times`` must be sorted; of equal stamps the last row wins."""
    if not len(values):
        return np.zeros(len(grid), dtype=np.float64)
    idx = np.searchsorted(times, grid, side="right") - 1
    out = np.where(idx >= 0, values[np.clip(idx, 0, None)], 0.0)
    return np.asarray(out, dtype=np.float64)


def _bin_means(
    grid: NDArray[np.float64], values: NDArray[np.float64], end: float, width: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Exact time-weighted means over bins of ``width`` of a piecewise-constant function
    (``values[i]`` valid from ``grid[i]`` to ``grid[i+1]``, the last to ``end``)."""
    edges = np.arange(0.0, end, width, dtype=np.float64)
    edges = np.append(edges, end) if edges.size else np.array([0.0, end])
    knots = np.append(grid, end)
    cumulative = np.concatenate([[0.0], np.cumsum(values * np.diff(knots))])
    integral = np.interp(edges, knots, cumulative)
    widths = np.diff(edges)
    means = np.divide(np.diff(integral), widths, out=np.zeros_like(widths), where=widths > 0)
    return edges, means


def _bin_extremes(
    times: NDArray[np.float64], values: NDArray[np.float64], edges: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(lowest, highest) of a piecewise-constant function within each bin of ``edges``: the
    value in force as the bin opens and every value that holds for some time inside it (a row
    replaced at its own instant never holds)."""
    held = np.append(times[1:] > times[:-1], True)
    times, values = times[held], values[held]
    opening = np.clip(np.searchsorted(times, edges[:-1], side="right") - 1, 0, None)
    low, high = values[opening].copy(), values[opening].copy()
    inside = np.clip(np.searchsorted(edges, times, side="right") - 1, 0, len(low) - 1)
    np.minimum.at(low, inside, values)
    np.maximum.at(high, inside, values)
    return low, high


def _nice_bin_hours(end_h: float, max_bins: int = 200) -> float:
    for width in (0.25, 0.5, 1.0, 2.0, 3.0, 6.0, 12.0, 24.0, 48.0, 168.0):
        if end_h / width <= max_bins:
            return width
    return end_h / max_bins


def _hours_text(hours: float) -> str:
    if hours >= HOURS_PER_DAY and hours % HOURS_PER_DAY == 0:
        days = int(hours // HOURS_PER_DAY)
        return f"{days}-day"
    return f"{hours:g}-h"


def hourly(series: BaseModel) -> pd.DataFrame:
    """A column-per-field series as the engine stamped it (``time_h``, hours): the figures
    work in hours and label in days; the public frames are in days (``frames.series_frame``)."""
    import pandas as pd

    return pd.DataFrame(series.model_dump(), columns=list(type(series).model_fields))


def _sorted_series(result: RunResult) -> pd.DataFrame:
    frame = hourly(result.job_series)
    return frame.sort_values("time_h", kind="stable").reset_index(drop=True)
