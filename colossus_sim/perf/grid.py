"""What a site's power does to the grid, from its draw over time: steps and how they spread.

The site's draw is piecewise constant between the simulation's events (``ledger.py``), so a
*step* is the change in facility MW at an event time: several events at one instant are one
step (the net change). ``step_counts`` counts steps at or above thresholds (per day of the
run), ``largest_steps`` the largest rise and fall, ``exceedance`` the draw exceeded for a
given share of the time (a load-duration curve, time-weighted), ``largest_ramps_mw_per_s``
how fast the fastest step moves: its IT part at the jobs' ramp rates (``sim/ramps.py``: GPUs
follow a change within their ``ramp_s``), its cooling share ``(PUE − 1)·ΔIT`` over the
facility's ``cooling_ramp_s`` (PUE does not scale a sub-second transient). Cost: O(samples)
numpy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

STEP_THRESHOLDS_MW = (50.0, 100.0, 200.0)
"""Step sizes a utility asks about (the grid issue's thresholds)."""
EXCEEDED_SHARES = (0.0, 0.1, 0.5, 0.9, 1.0)


def net_steps(
    time_h: Sequence[float] | FloatArray, draw_mw: Sequence[float] | FloatArray
) -> FloatArray:
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
    time_h: Sequence[float] | FloatArray,
    draw_mw: Sequence[float] | FloatArray,
    end_h: float,
    shares: Sequence[float],
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


def largest_ramps_mw_per_s(
    time_h: Sequence[float] | FloatArray,
    it_rate_mw_per_s: Sequence[float] | FloatArray,
    it_steps_mw: FloatArray,
    *,
    pue: float,
    cooling_ramp_s: float,
    shares: FloatArray | None = None,
) -> tuple[float, float]:
    """The fastest the facility draw rises and falls at any instant (MW/s, both ≥ 0): the
    instant's IT ramp rates (signed, several rows at one instant add) plus its net IT step's
    cooling share ``(pue − 1)·|ΔIT|`` spread over ``cooling_ramp_s``. ``it_steps_mw`` is
    ``net_steps`` of the IT draw (one per instant after the first); ``shares`` scales each
    instant's ramp by the share of its step the grid sees (on-site storage takes the rest)."""
    t = np.asarray(time_h, dtype=np.float64)
    rate = np.asarray(it_rate_mw_per_s, dtype=np.float64)
    if t.size < 2:
        return 0.0, 0.0
    instant = np.concatenate(([0], np.cumsum(t[1:] != t[:-1])))  # each row's instant
    net_rate = np.bincount(instant, weights=rate)[1:]  # the first instant starts the run
    cooling = (pue - 1.0) * it_steps_mw / cooling_ramp_s
    seen = np.ones_like(cooling) if shares is None else shares
    moving = (net_rate + cooling) * seen
    return max(float(moving.max(initial=0.0)), 0.0), max(float(-moving.min(initial=0.0)), 0.0)


def ramped_draw_mw(
    change_s: FloatArray,
    change_mw: FloatArray,
    ramp_s: FloatArray,
    base_mw: float,
    at_s: FloatArray,
) -> FloatArray:
    """The draw at the instants ``at_s``: ``base_mw`` plus each change ``change_mw[k]``,
    made linearly over ``ramp_s[k]`` from ``change_s[k]`` (a zero ramp is a step). Cost:
    O(instants × changes) — for a window of the run, never the whole run."""
    if change_s.size == 0:
        return np.full(at_s.shape, base_mw)
    progress = (at_s[:, None] - change_s[None, :]) / np.maximum(ramp_s, 1e-9)[None, :]
    return np.asarray(base_mw + np.clip(progress, 0.0, 1.0) @ change_mw, dtype=np.float64)
