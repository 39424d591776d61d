"""The look every figure shares: sizes, fonts, the job palette and status colours, the
headless figure, axis styling, tick formats, limit lines, and the atomic PNG writer.

Owns no data handling. Importing it imports matplotlib's Agg backend, ``Figure`` and tickers
(a few hundred ms; the package's callers, ``api`` and ``cli``, import it only when drawing).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from colossus_sim.kinds import JobStatus
from colossus_sim.outputs import write_atomic

if TYPE_CHECKING:
    from matplotlib.axes import Axes

DPI = 150
"""Pixels per inch of the PNGs: an 11 × 6.5 in figure is 1,650 × 975 pixels."""
RUN_FIGSIZE = (11.0, 6.5)
SWEEP_FIGSIZE = (10.0, 6.0)
TITLE_SIZE = 14
LABEL_SIZE = 11
TICK_SIZE = 10

# Okabe & Ito's colour-blind safe palette (without black, and a purple for its yellow, which
# vanishes as a thin band on white), then tab10 colours for any further jobs.
JOB_PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#6A3D9A",
    "#7F7F7F",
    "#8C564B",
    "#17BECF",
    "#BCBD22",
    "#9467BD",
)
STATUS_COLORS: dict[str, str] = {
    JobStatus.RUNNING: "#2E9E5B",
    JobStatus.RESTARTING: "#F2A33A",
    JobStatus.STALLED: "#C8372D",
    JobStatus.PENDING: "#C9CED6",
    JobStatus.STOPPING: "#7B5EA7",
}
"""Gantt bar colours by job status (``finished`` is a marker, not a bar)."""


NOTEBOOK_DPI = 80
"""Pixels per inch a notebook shows a figure at (an 11-inch figure is 880 pixels wide)."""


def png_bytes(fig: Figure, dpi: int = DPI) -> bytes:
    """``fig`` as PNG bytes (no timestamp or version metadata: the same figure, the same
    bytes)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def save_png(fig: Figure, path: str | Path, dpi: int = DPI) -> Path:
    """Render ``fig`` as a PNG and write it atomically."""
    target = Path(path)
    write_atomic(target, png_bytes(fig, dpi))
    return target


class MemoFigure(Figure):
    """A matplotlib ``Figure`` that shows itself in Jupyter (``_repr_png_``) without pyplot or
    an inline backend: a cell ending in ``plots.plot_power(run)`` displays the figure."""

    def _repr_png_(self) -> bytes:
        return png_bytes(self, NOTEBOOK_DPI)


PHASE_TINTS = (0.4, 0.65, 0.8)
"""How far toward white a job's later phases (``grok5_10t/sft``, ``/rl``) take its colour."""


def job_colors(jobs: Sequence[str]) -> dict[str, str]:
    """One colour per job, by position (the scenario's job order gives the same colours in
    every figure of a run); a later phase of a job (``name/phase`` beside ``name``) takes a
    lighter tint of that job's colour, so 19 jobs read as their 7 families."""
    from matplotlib.colors import to_hex, to_rgb

    colors: dict[str, str] = {}
    phases: dict[str, int] = {}
    for job in jobs:
        parent = job.split("/", 1)[0]
        if "/" in job and parent in colors:
            tint = PHASE_TINTS[min(phases.get(parent, 0), len(PHASE_TINTS) - 1)]
            phases[parent] = phases.get(parent, 0) + 1
            r, g, b = to_rgb(colors[parent])
            colors[job] = to_hex((r + (1 - r) * tint, g + (1 - g) * tint, b + (1 - b) * tint))
        else:
            colors[job] = JOB_PALETTE[(len(colors) - sum(phases.values())) % len(JOB_PALETTE)]
    return colors


def _figure(figsize: tuple[float, float]) -> Figure:
    fig = MemoFigure(figsize=figsize, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)  # attaches itself as fig.canvas: headless, no pyplot
    return fig


def _titled(fig: Figure, title: str, version: str | None) -> None:
    """The figure's title, and a footer naming the colossus-sim version that made its data
    (the title says the scenario, what-ifs and seed)."""
    fig.suptitle(title, fontsize=TITLE_SIZE)
    if version:
        fig.text(
            0.995,
            0.003,
            f"colossus-sim {version}",
            ha="right",
            va="bottom",
            fontsize=TICK_SIZE - 2,
            color="#888888",
        )


def _done(fig: Figure, path: str | Path | None) -> Figure:
    if path is not None:
        save_png(fig, path)
    return fig


def _style(ax: Axes) -> None:
    ax.tick_params(labelsize=TICK_SIZE)
    ax.grid(True, color="#DDDDDD", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _thousands(value: float, _pos: int | None = None) -> str:
    """A tick with thousands separators and only the decimals it needs (2,500 · 2.5)."""
    if abs(value - round(value)) < 1e-9:
        return f"{round(value):,d}"
    return f"{value:,.3f}".rstrip("0").rstrip(".")


def _count_axis(ax: Axes) -> None:
    """A y axis of counts or megawatts: round steps, thousands separators."""
    ax.yaxis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 5, 10]))
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))


def _days_axis(ax: Axes, end_days: float) -> None:
    ax.set_xlim(0.0, max(end_days, 1e-9))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=12, steps=[1, 2, 5, 10], integer=end_days > 2))
    ax.set_xlabel("time since the start of the run (days)", fontsize=LABEL_SIZE)


def _limit_line(
    ax: Axes, y: float, end_d: float, text: str, color: str, linewidth: float = 1.0, **line: Any
) -> None:
    """A dashed horizontal limit (cluster size, power cap) labelled at its right end."""
    ax.axhline(y, color=color, linestyle="--", linewidth=linewidth, **line)
    ax.annotate(
        text,
        xy=(end_d, y),
        xytext=(-4, 4),
        textcoords="offset points",
        ha="right",
        va="bottom",
        fontsize=TICK_SIZE,
        color=color,
    )


def _empty_note(ax: Axes, text: str) -> None:
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=LABEL_SIZE,
        color="#555555",
    )
