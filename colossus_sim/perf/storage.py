"""On-site energy storage between a site and its grid: which part of each step of the draw the
grid still sees, and the storage's state of charge.

Notes
-----
The storage's output ``b`` (MW, positive while it discharges into the site) answers each step
``Δ`` of the site's draw at once, ``b ← b + Δ``, so the grid sees only what it cannot take:
``Δ_grid = Δ − (b_new − b_old)``. It then hands the load to the grid at the grid's ramp rate
``R``: ``b`` falls linearly to 0 over ``|b|/R`` (the grid ramps at ``R``). Two limits hold at
every step: ``|b| ≤ P`` (its power rating) and, since handing over ``b`` moves ``½·b²/R`` of
energy, ``½·b²/R ≤`` the charge it holds (discharging) or the room it has (charging), which
keeps the state of charge within ``[0, E]`` until the next step. The charge is tracked
losslessly; what charging loses, ``(1 − η)`` of the energy taken in, is bought back from the
grid and reported as the storage's energy cost. Once a hand-over ends, the storage moves its
charge back toward a target at up to ``recharge_mw`` (drawing from the grid, or giving to it)
until the next step: a slow flow the grid follows, not a step of its own (it starts and stops
at the grid's ramp rate, seconds against the minutes between steps, which the energy ignores).
With ``recharge_mw`` 0 the store only hands over (a full or empty store simply absorbs less).
Cost: one pass over the steps (a Python loop over events, never over time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from colossus_sim.units import SECONDS_PER_HOUR

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Buffered:
    """What the grid sees of the steps, and the storage's charge: after each step and at the
    extremes, the energy it moved (discharged and charged, MWh) and what charging lost."""

    grid_steps_mw: FloatArray
    soc_mwh: FloatArray
    """The state of charge just before each next step (after its hand-over and any recharge):
    between steps the charge moves one way during the hand-over, then toward the target, so
    the extremes are at those two ends (``min_soc_mwh``/``max_soc_mwh`` hold both)."""
    min_soc_mwh: float
    max_soc_mwh: float
    discharged_mwh: float
    charged_mwh: float
    loss_mwh: float


def buffer_steps(
    steps_mw: FloatArray,
    gaps_s: FloatArray,
    *,
    power_mw: float,
    energy_mwh: float,
    grid_ramp_mw_per_s: float,
    initial_soc_mwh: float,
    efficiency: float,
    recharge_mw: float = 0.0,
    target_soc_mwh: float | None = None,
) -> Buffered:
    """Pass the site's steps (MW, one per instant) through storage; ``gaps_s[k]`` is the time
    from step ``k`` to the next (the last: to the end of the run). Between steps the charge
    moves toward ``target_soc_mwh`` (default: the initial charge) at up to ``recharge_mw``."""
    soc_target = initial_soc_mwh if target_soc_mwh is None else target_soc_mwh
    ramp = grid_ramp_mw_per_s
    b = 0.0
    soc = initial_soc_mwh
    low = high = soc
    grid = np.empty_like(steps_mw)
    socs = np.empty_like(steps_mw)
    out_mwh = in_mwh = 0.0
    for k, (delta, gap) in enumerate(zip(steps_mw.tolist(), gaps_s.tolist(), strict=True)):
        target = b + delta
        room_mwh = soc if target > 0 else energy_mwh - soc
        reach = math.sqrt(2.0 * ramp * max(room_mwh, 0.0) * SECONDS_PER_HOUR)
        limit = min(power_mw, reach)
        new_b = max(-limit, min(limit, target))
        grid[k] = delta - (new_b - b)
        tau = min(gap, abs(new_b) / ramp)
        moved_mwh = (abs(new_b) * tau - 0.5 * ramp * tau * tau) / SECONDS_PER_HOUR
        if new_b > 0:
            soc, out_mwh = soc - moved_mwh, out_mwh + moved_mwh
        elif new_b < 0:
            soc, in_mwh = soc + moved_mwh, in_mwh + moved_mwh
        b = math.copysign(max(abs(new_b) - ramp * tau, 0.0), new_b)
        low, high = min(low, soc), max(high, soc)
        if b == 0.0 and recharge_mw > 0:  # handed over: back toward the target until the next
            flow_mwh = min(abs(soc_target - soc), recharge_mw * (gap - tau) / SECONDS_PER_HOUR)
            if soc_target > soc:
                soc, in_mwh = soc + flow_mwh, in_mwh + flow_mwh
            else:
                soc, out_mwh = soc - flow_mwh, out_mwh + flow_mwh
            low, high = min(low, soc), max(high, soc)
        socs[k] = soc
    return Buffered(
        grid_steps_mw=grid,
        soc_mwh=socs,
        min_soc_mwh=low,
        max_soc_mwh=high,
        discharged_mwh=out_mwh,
        charged_mwh=in_mwh,
        loss_mwh=(1.0 - efficiency) * in_mwh,
    )
