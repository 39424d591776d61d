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
grid and reported as the storage's energy cost. Between steps the storage only hands over: it
is not recharged toward a target (a full or empty store simply absorbs less). Cost: one pass
over the steps (a Python loop over events, never over time).
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
    """The state of charge once each step's hand-over ends (or the next step comes): the charge
    moves one way between steps, so these are its extremes."""
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
) -> Buffered:
    """Pass the site's steps (MW, one per instant) through storage; ``gaps_s[k]`` is the time
    from step ``k`` to the next (the last: to the end of the run)."""
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
        socs[k] = soc
        low, high = min(low, soc), max(high, soc)
        b = math.copysign(max(abs(new_b) - ramp * tau, 0.0), new_b)
    return Buffered(
        grid_steps_mw=grid,
        soc_mwh=socs,
        min_soc_mwh=low,
        max_soc_mwh=high,
        discharged_mwh=out_mwh,
        charged_mwh=in_mwh,
        loss_mwh=(1.0 - efficiency) * in_mwh,
    )
