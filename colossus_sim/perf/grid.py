"""What a site's power does to the grid, from its draw over time: steps and how they spread.

The site's draw is piecewise constant between the simulation's events (``ledger.py``), so a
*step* is the change in facility MW at an event time: several events at one instant are one
step (the net change). ``step_counts`` counts steps at or above thresholds (per day of the
run), ``largest_steps`` the largest rise and fall, ``exceedance`` the draw exceeded for a
given share of the time (a load-duration curve, time-weighted). Event resolution only: how
fast a step ramps (GPUs in milliseconds, a restart's ranks over seconds) is the grid issue's
next part. Cost: O(samples) numpy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

STEP_THRESHOLDS_MW = (50.0, 100.0, 200.0)
"""Step sizes a utility asks about (the grid issue's thresholds)."""
EXCEEDED_SHARES = (0.0, 0.1, 0.5, 0.9, 1.0)


def net_steps(time_h: Sequence[float], draw_mw: Sequence[float]) -> FloatArray:
    """The net change in draw at each distinct sample time after the first (MW)."""
    t = np.asarray(time_h, dtype=np.float64)
    p = np.asarray(draw_mw, dtype=np.float64)
    if len(t) < 2:
        return np.zeros(0)
    last_at = np.flatnonzero(np.append(t[1:] != t[:-1], True))  # last sample of each instant
    levels = p[last_at]
    return np.diff(levels)


def step_counts(steps: FloatArray, thresholds_mw: Sequence[float]) -> list[int]:
    """How many steps (rises or falls) are at least each threshold in size."""
    size = np.abs(steps)
    return [int(np.count_nonzero(size >= threshold)) for threshold in thresholds_mw]


def largest_steps(steps: FloatArray) -> tuple[float, float]:
    """(largest rise, largest fall) in MW, both ≥ 0."""
    if steps.size == 0:
        return 0.0, 0.0
    return max(float(steps.max()), 0.0), max(float(-steps.min()), 0.0)


def exceedance(
    time_h: Sequence[float], draw_mw: Sequence[float], end_h: float, shares: Sequence[float]
) -> list[float]:
    """The draw the site is at or above for each share of the time from the first sample to
    ``end_h`` (share 0: the peak; 1: the minimum)."""
    t = np.append(np.asarray(time_h, dtype=np.float64), end_h)
    p = np.asarray(draw_mw, dtype=np.float64)
    if p.size == 0:
        return [0.0 for _ in shares]
    held = np.diff(t)
    kept = held > 0  # several samples at one instant: only the last one lasts
    p, held = p[kept], held[kept]
    if p.size == 0:
        return [0.0 for _ in shares]
    order = np.argsort(-p, kind="stable")
    cum = np.cumsum(held[order])
    total = cum[-1] if cum.size and cum[-1] > 0 else 1.0
    out = []
    for share in shares:
        i = int(np.searchsorted(cum / total, share, side="left"))
        out.append(float(p[order[min(i, p.size - 1)]]))
    return out
