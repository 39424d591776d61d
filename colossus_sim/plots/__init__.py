"""Memo-quality figures of a run and of a sweep: racks per job, utilisation, site power, the
grid report (the whole run beside the hour around its largest step), a Gantt of the jobs with
their failures, and sweep response curves.

Every function is pure: it builds a ``matplotlib.figure.Figure`` on the headless Agg canvas
(no pyplot and no global state, so it works in worker processes and tests), returns it and,
given ``path``, writes it as a PNG atomically (``outputs.write_atomic``). Time axes are in
days, every axis label carries its unit, and the seven jobs keep one colour each across the
figures. The inputs are the run's tidy frames (``RunResult.job_series_frame``,
``power_frame``, ``timeline_frame``) and the sweep frame (one row per point × seed × job).

One module per figure: ``allocation``, ``power``, ``grid``, ``gantt``, ``sweep``; ``_style``
holds the shared look (sizes, palette, axes, the PNG writer), ``_series`` the run frames' time-grid
arithmetic and ``_labels`` the sweep's axis labels with units. Importing the package imports
matplotlib (a few hundred ms), so ``api`` and ``cli`` import it only when they draw.
"""

from colossus_sim.plots._style import (
    DPI,
    JOB_PALETTE,
    RUN_FIGSIZE,
    STATUS_COLORS,
    SWEEP_FIGSIZE,
    job_colors,
    save_png,
)
from colossus_sim.plots.allocation import plot_allocation
from colossus_sim.plots.gantt import plot_gantt
from colossus_sim.plots.grid import plot_grid
from colossus_sim.plots.power import plot_power
from colossus_sim.plots.sweep import plot_sweep

__all__ = [
    "DPI",
    "JOB_PALETTE",
    "RUN_FIGSIZE",
    "STATUS_COLORS",
    "SWEEP_FIGSIZE",
    "job_colors",
    "plot_allocation",
    "plot_gantt",
    "plot_grid",
    "plot_power",
    "plot_sweep",
    "save_png",
]
