"""The run's grid lines in the terminal: steps, ramps, the duration curve (and the in-step
oscillation and mitigations when the run has them). Text only; O(1)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from colossus_sim.api import GridResult


def grid_lines(g: GridResult) -> list[str]:
    """What the grid sees of the run, one line per topic."""
    lines = [
        f"grid: {g.steps_per_day['100']:,.1f} steps a day of 100 MW or more "
        f"({g.steps_per_day['200']:,.1f} of 200 MW or more), the largest +{g.largest_rise_mw:,.0f}"
        f" / −{g.largest_fall_mw:,.0f} MW, ramping at up to {g.largest_ramp_up_mw_per_s:,.0f} MW/s"
        f" up and {g.largest_ramp_down_mw_per_s:,.0f} MW/s down · "
        f"the site draws {g.draw_exceeded_mw['p50']:,.0f} MW or more half the time, "
        f"{g.draw_exceeded_mw['p100']:,.0f} MW at least"
    ]
    if g.oscillation:
        parts = [
            f"{c.amplitude_mw:,.1f} MW at {c.frequency_hz:.3g} Hz ({', '.join(c.jobs)})"
            for c in g.oscillation
        ]
        lines.append(
            f"in-step oscillation at day {g.oscillation_at_h / 24:.1f} (the largest swing), "
            f"strongest components: {'; '.join(parts)}"
        )
    costs = []
    if g.ramp_energy_mwh >= 1 or g.ramp_delay_hours > 0:
        costs.append(
            f"ramping adds {g.ramp_energy_mwh:,.0f} MWh over instant steps and delays "
            f"{g.ramp_delay_hours:,.1f} job-hours of work"
        )
    if g.storage_loss_mwh is not None:
        costs.append(
            f"storage charge {g.storage_min_soc_mwh or 0:,.0f}–{g.storage_max_soc_mwh or 0:,.0f} "
            f"MWh, charging lost {g.storage_loss_mwh:,.0f} MWh"
        )
    if costs:
        lines.append("mitigations: " + " · ".join(costs))
    return lines
