"""Memo-quality figures of a run and of a sweep: racks per job, utilisation, site power, a
Gantt of the jobs with their failures, and sweep response curves.

Every function is pure: it builds a ``matplotlib.figure.Figure`` on the headless Agg canvas
(no pyplot and no global state, so it works in worker processes and tests), returns it and,
given ``path``, writes it as a PNG atomically (``results.write_atomic``). Time axes are in
days, every axis label carries its unit, and the seven jobs keep one colour each across the
figures. The inputs are the run's tidy frames (``RunResult.job_series_frame``,
``power_frame``, ``timeline_frame``) and the sweep frame (one row per point × seed × job).
"""

from __future__ import annotations

import io
import math
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from colossus_sim.results import JobResult, RunResult, write_atomic

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.typing import LineStyleType
    from numpy.typing import NDArray

DPI = 150
"""Pixels per inch of the PNGs: an 11 × 6.5 in figure is 1,650 × 975 pixels."""
RUN_FIGSIZE = (11.0, 6.5)
SWEEP_FIGSIZE = (10.0, 6.0)
TITLE_SIZE = 14
LABEL_SIZE = 11
TICK_SIZE = 10
HOURS_PER_DAY = 24.0

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
STATUS_COLORS = {
    "running": "#2E9E5B",
    "restarting": "#F2A33A",
    "stalled": "#C8372D",
    "pending": "#C9CED6",
}
"""Gantt bar colours by job status (``finished`` is a marker, not a bar)."""

_FRACTION_COLUMNS = frozenset({"goodput", "mfu", "allocated_frac", "productive_frac", "min_clock"})
"""Sweep columns holding a fraction: plotted ×100 in %."""
_COLUMN_LABELS = {
    "time_to_train_days": "time to train (days)",
    "goodput": "goodput (%)",
    "mfu": "MFU (%)",
    "step_s": "step time (s)",
    "step_s_at_min_clock": "step time at the lowest clock (s)",
    "tokens": "tokens trained (tokens)",
    "tokens_per_day": "tokens per day (tokens/day)",
    "failures": "failures (count)",
    "restarts": "restarts (count)",
    "checkpoints": "checkpoints (count)",
    "replans": "re-plans (count)",
    "racks": "racks (racks)",
    "gpus": "GPUs (GPUs)",
    "start_days": "start (day)",
    "finish_days": "day the job finishes (days)",
    "energy_mwh": "facility energy (MWh)",
    "mean_power_mw": "mean facility power (MW)",
    "peak_power_mw": "peak facility power (MW)",
    "mwh_per_trillion_tokens": "energy per trillion tokens (MWh/T tokens)",
    "throttled_hours": "hours below full clock (h)",
    "min_clock": "lowest clock (% of full)",
    "power_swing_mw": "compute/communication swing (MW)",
    "checkpoint_interval_min": "checkpoint interval (min)",
}
_UNIT_SUFFIXES = (
    ("_days", "days"),
    ("_hours", "h"),
    ("_h", "h"),
    ("_minutes", "min"),
    ("_min", "min"),
    ("_s", "s"),
    ("_mwh", "MWh"),
    ("_mw", "MW"),
    ("_gb", "GB"),
    ("_tb_per_s", "TB/s"),
    ("_gb_per_s", "GB/s"),
    ("_frac", "%"),
    ("_pct", "%"),
)
_PARAMETER_LABELS = {
    "racks": "racks",
    "rate_multiplier": "failure-rate multiplier",
    "restart_minutes": "restart time",
    "facility_cap_mw": "facility power cap",
    "spare_racks": "spare racks",
    "priority": "priority",
    "horizon_days": "horizon",
    "seed": "seed",
}
_PARAMETER_UNITS = {
    "racks": "racks",
    "rate_multiplier": "×",
    "priority": "rank",
    "seed": "seed",
}
_LINESTYLES: tuple[LineStyleType, ...] = ("-", "--", ":", "-.")
_MARKERS = ("o", "s", "^", "D", "v", "P")


# ----------------------------------------------------------------------------- helpers


def save_png(fig: Figure, path: str | Path, dpi: int = DPI) -> Path:
    """Render ``fig`` as a PNG and write it atomically (no timestamp or version metadata, so
    the same figure gives the same bytes)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    target = Path(path)
    write_atomic(target, buffer.getvalue())
    return target


def job_colors(jobs: Sequence[str]) -> dict[str, str]:
    """One colour per job, by position (the scenario's job order gives the same colours in
    every figure of a run)."""
    return {job: JOB_PALETTE[i % len(JOB_PALETTE)] for i, job in enumerate(jobs)}


def _figure(figsize: tuple[float, float]) -> Figure:
    fig = Figure(figsize=figsize, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)  # attaches itself as fig.canvas: headless, no pyplot
    return fig


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
    0 before the first row. ``times`` must be sorted; of equal stamps the last row wins."""
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


def _sorted_series(result: RunResult) -> pd.DataFrame:
    frame = result.job_series_frame()
    return frame.sort_values("time_h", kind="stable").reset_index(drop=True)


# ----------------------------------------------------------------------------- allocation


def plot_allocation(result: RunResult, path: str | Path | None = None) -> Figure:
    """Racks held by each job over time (stacked), and the cluster's utilisation: the share
    of racks allocated to jobs and the share held by running jobs (not restarting, stalled
    or waiting), as exact time-weighted means over short bins."""
    series = _sorted_series(result)
    jobs = _job_order(result, series)
    colors = job_colors(jobs)
    end_h = _end_hours(result, series)
    end_d = end_h / HOURS_PER_DAY
    total_racks = int(result.cluster.racks)

    fig = _figure(RUN_FIGSIZE)
    ax_racks, ax_util = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    fig.suptitle(
        f"Racks by job and cluster utilisation — {result.scenario} (seed {result.seed})",
        fontsize=TITLE_SIZE,
    )
    for ax in (ax_racks, ax_util):
        _style(ax)
    _days_axis(ax_util, end_d)
    ax_racks.set_ylabel("racks held (racks)", fontsize=LABEL_SIZE)
    _count_axis(ax_racks)
    ax_util.set_ylabel("share of the cluster's racks (%)", fontsize=LABEL_SIZE)

    if series.empty or end_h <= 0:
        _empty_note(ax_racks, "no job ran in this scenario")
        _empty_note(ax_util, "no job ran in this scenario")
        ax_racks.set_ylim(0, max(total_racks, 1))
        ax_util.set_ylim(0, 100)
        return _done(fig, path)

    times = series["time_h"].to_numpy(dtype=np.float64)
    grid = np.unique(np.concatenate([[0.0], times[times < end_h]]))
    held = {}
    running = np.zeros_like(grid)
    for job in jobs:
        rows = series[series["job"] == job]
        t = rows["time_h"].to_numpy(dtype=np.float64)
        racks = rows["racks"].to_numpy(dtype=np.float64)
        is_running = (rows["status"] == "running").to_numpy()
        held[job] = _step_values(t, grid, racks)
        running += _step_values(t, grid, np.where(is_running, racks, 0.0))

    # Stack the longest-lived (largest) jobs at the bottom so the finishing ones peel off
    # the top; the legend lists them top to bottom as drawn.
    stack = list(reversed(jobs))
    x = np.append(grid, end_h) / HOURS_PER_DAY
    ys = [np.append(held[j], held[j][-1]) for j in stack]
    ax_racks.stackplot(
        x,
        ys,
        colors=[colors[j] for j in stack],
        step="post",
        linewidth=0.0,
        labels=[j for j in stack],
    )
    if total_racks > 0:
        _limit_line(ax_racks, total_racks, end_d, f"cluster: {total_racks:,} racks", "#333333")
    ax_racks.set_ylim(0, max(total_racks, float(np.max(np.sum(ys, axis=0)))) * 1.08)
    handles, labels = ax_racks.get_legend_handles_labels()
    fig.legend(
        handles[::-1],
        labels[::-1],
        loc="outside right upper",
        title="job",
        fontsize=TICK_SIZE,
        title_fontsize=LABEL_SIZE,
        frameon=False,
    )

    denominator = max(total_racks, 1)
    allocated_pct = np.sum([held[j] for j in jobs], axis=0) * 100.0 / denominator
    width_h = _nice_bin_hours(end_h)
    edges, running_mean = _bin_means(grid, running * 100.0 / denominator, end_h, width_h)
    ax_util.step(
        x,
        np.append(allocated_pct, allocated_pct[-1]),
        where="post",
        color="#444444",
        linewidth=1.4,
        label="allocated to jobs",
    )
    ax_util.fill_between(
        edges / HOURS_PER_DAY,
        np.append(running_mean, running_mean[-1]),
        step="post",
        color=STATUS_COLORS["running"],
        alpha=0.55,
        linewidth=0.0,
        label=f"running jobs ({_hours_text(width_h)} mean)",
    )
    ax_util.set_ylim(0, 105)
    ax_util.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
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


# ----------------------------------------------------------------------------- power


def plot_power(result: RunResult, path: str | Path | None = None) -> Figure:
    """Site facility and IT power over time (piecewise constant, drawn as steps) against the
    facility power cap."""
    frame = result.power_frame().sort_values("time_h", kind="stable")
    end_h = _end_hours(result, frame)
    end_d = end_h / HOURS_PER_DAY
    cap = float(result.cluster.power_cap_mw)

    fig = _figure(RUN_FIGSIZE)
    ax = fig.subplots()
    _style(ax)
    _days_axis(ax, end_d)
    ax.set_ylabel("power (MW)", fontsize=LABEL_SIZE)
    _count_axis(ax)
    c = result.cluster
    fig.suptitle(f"Site power — {result.scenario} (seed {result.seed})", fontsize=TITLE_SIZE)
    ax.set_title(
        f"peak {c.peak_facility_mw:,.0f} MW facility ({c.peak_it_mw:,.0f} MW IT), "
        f"mean {c.mean_facility_mw:,.0f} MW, energy {c.energy_mwh / 1000:,.1f} GWh",
        fontsize=LABEL_SIZE,
        loc="left",
    )

    top = 0.0
    if frame.empty:
        _empty_note(ax, "no power samples in this run")
    else:
        times = frame["time_h"].to_numpy(dtype=np.float64)
        t = np.append(times, end_h) / HOURS_PER_DAY
        facility = frame["facility_mw"].to_numpy(dtype=np.float64)
        it = frame["it_mw"].to_numpy(dtype=np.float64)
        # Every restart dips the draw for minutes, so the instantaneous trace is a band; the
        # exact time-weighted means over short bins show the trend over it.
        ax.step(
            t,
            np.append(facility, facility[-1]),
            where="post",
            color="#9CC3E4",
            linewidth=0.5,
            label="facility, instantaneous",
            gid="facility_mw",
        )
        width_h = _nice_bin_hours(end_h)
        mean_text = f"{_hours_text(width_h)} mean"
        for values, label, color, style in (
            (facility, f"facility (IT × PUE), {mean_text}", "#0B4F8A", "-"),
            (it, f"IT (racks and fabric), {mean_text}", "#2E9E5B", "--"),
        ):
            edges, means = _bin_means(times, values, end_h, width_h)
            ax.step(
                edges / HOURS_PER_DAY,
                np.append(means, means[-1]),
                where="post",
                color=color,
                linestyle=style,
                linewidth=1.8,
                label=label,
            )
        top = float(max(facility.max(), it.max()))
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
    if handles:
        fig.legend(
            handles,
            labels,
            loc="outside lower center",
            ncols=len(handles),
            fontsize=TICK_SIZE,
            frameon=False,
        )
    return _done(fig, path)


# ----------------------------------------------------------------------------- Gantt


def _intervals(
    times: NDArray[np.float64], statuses: Sequence[str], end_h: float
) -> dict[str, list[tuple[float, float]]]:
    """(start, width) in days of each status's stretches, consecutive equal statuses merged;
    ``finished`` draws no bar."""
    out: dict[str, list[tuple[float, float]]] = {}
    n = len(times)
    i = 0
    while i < n:
        status = statuses[i]
        j = i + 1
        while j < n and statuses[j] == status:
            j += 1
        start = times[i]
        stop = times[j] if j < n else end_h
        if status != "finished" and stop > start:
            out.setdefault(status, []).append(
                (start / HOURS_PER_DAY, (stop - start) / HOURS_PER_DAY)
            )
        i = j
    return out


def _lifespan(stretches: dict[str, list[tuple[float, float]]]) -> tuple[float, float] | None:
    """(start, width) in days from a job's first stretch to the end of its last."""
    spans = [s for xr in stretches.values() for s in xr]
    if not spans:
        return None
    lo = min(s for s, _ in spans)
    hi = max(s + w for s, w in spans)
    return lo, hi - lo


def plot_gantt(result: RunResult, path: str | Path | None = None) -> Figure:
    """One row per job: bars coloured by status (running, restarting, stalled, pending),
    a tick per failure that hit the job, and a marker where it finished.

    A restart lasts minutes, far less than a pixel of a months-long axis, so each bar is
    drawn as a running-coloured base with the other statuses antialiased over it: a pixel's
    colour mixes the statuses in proportion to their time (a 10T row restarting a third of
    the time shows a third orange), instead of dropping or exaggerating the slivers."""
    series = _sorted_series(result)
    timeline = result.timeline_frame()
    jobs = _job_order(result, series)
    end_h = _end_hours(result, series)
    end_d = end_h / HOURS_PER_DAY
    by_name = {j.name: j for j in result.jobs}

    height = max(3.5, 1.4 + 0.65 * len(jobs))
    fig = _figure((RUN_FIGSIZE[0] + 1.0, height))
    ax = fig.subplots()
    _style(ax)
    ax.grid(False, axis="y")
    _days_axis(ax, end_d)
    ax.set_xlim(0.0, max(end_d, 1e-9) * 1.02)  # room for a finish marker at the very end
    fig.suptitle(
        f"Jobs over time, with failures — {result.scenario} (seed {result.seed})",
        fontsize=TITLE_SIZE,
    )

    failures = timeline[timeline["kind"] == "failure"]
    failure_times = {
        str(job): group["time_h"].to_numpy(dtype=np.float64) / HOURS_PER_DAY
        for job, group in failures.groupby("job", sort=False)
    }
    unowned = len(failure_times.get("", ()))
    bar_h = 0.5
    labels = []
    notes = []
    for row, job in enumerate(jobs):
        y = float(row)
        rows = series[series["job"] == job]
        stretches = _intervals(
            rows["time_h"].to_numpy(dtype=np.float64), [str(s) for s in rows["status"]], end_h
        )
        if rows.empty:
            stretches = {"pending": [(0.0, end_d)]}
        life = _lifespan(stretches)
        if life is not None and "running" in stretches:
            ax.broken_barh(
                [life],
                (y - bar_h / 2, bar_h),
                facecolors=STATUS_COLORS["running"],
                linewidth=0.0,
            )
        for status, xranges in stretches.items():
            if status == "running":
                continue
            ax.broken_barh(
                xranges,
                (y - bar_h / 2, bar_h),
                facecolors=STATUS_COLORS.get(status, "#888888"),
                linewidth=0.0,
            )
        hits = failure_times.get(job)
        if hits is not None and hits.size:
            ax.eventplot(
                hits,
                orientation="horizontal",
                lineoffsets=y - bar_h / 2 - 0.1,
                linelengths=0.16,
                linewidths=0.4,
                colors="#222222",
                alpha=0.6,
            )
        info = by_name.get(job)
        finished = rows[rows["status"] == "finished"]
        if not finished.empty:
            at = float(finished["time_h"].iloc[0]) / HOURS_PER_DAY
            ax.plot(
                [at], [y], marker="D", markersize=7, color="#111111", linestyle="none", zorder=4
            )
        labels.append(f"{job}\n{info.racks:,} racks" if info else job)
        notes.append(_gantt_note(info, stretches, 0 if hits is None else hits.size))

    ax.set_yticks(range(len(jobs)), labels, fontsize=TICK_SIZE)
    ax.set_ylim(len(jobs) - 0.5, -0.7)  # first job on top
    ax.set_ylabel("job (racks at start)", fontsize=LABEL_SIZE)
    side = ax.secondary_yaxis("right")
    side.set_yticks(range(len(jobs)), notes, fontsize=TICK_SIZE - 1)
    side.tick_params(length=0)
    side.spines["right"].set_visible(False)

    handles: list[Any] = [
        Patch(facecolor=STATUS_COLORS[s], label=s)
        for s in ("running", "restarting", "stalled", "pending")
    ]
    handles.append(
        Line2D([], [], color="#222222", marker="|", linestyle="none", markersize=9, label="failure")
    )
    handles.append(
        Line2D(
            [], [], color="#111111", marker="D", linestyle="none", markersize=7, label="finished"
        )
    )
    title = "status"
    if unowned:
        title += f" (not shown: {unowned:,} failures on racks no job held)"
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=len(handles),
        fontsize=TICK_SIZE,
        title=title,
        title_fontsize=TICK_SIZE,
        frameon=False,
    )
    return _done(fig, path)


def _gantt_note(
    info: JobResult | None, stretches: dict[str, list[tuple[float, float]]], failures: int
) -> str:
    """The right-hand note of a Gantt row: time to train, goodput, failures, restart share."""
    if info is None:
        return ""
    if info.start_days is None:
        return "never started\n(waited for racks)"
    ttt = info.time_to_train_days
    if ttt is None:
        head = "no progress"
    else:
        days = f"{ttt:,.1f}" if ttt < 100 else f"{ttt:,.0f}"
        head = f"trained in {days} d" if info.finished else f"projected {days} d"
    active = sum(w for status, xr in stretches.items() if status != "pending" for _, w in xr)
    restarting = sum(w for _, w in stretches.get("restarting", []))
    share = f" · {restarting / active:.0%} restarting" if active > 0 else ""
    return f"{head} · {info.goodput:.0%} goodput\n{failures:,} failures{share}"


# ----------------------------------------------------------------------------- sweeps


def _column_label(column: str) -> str:
    """An axis label with its unit for a result column or a grid path."""
    if column in _COLUMN_LABELS:
        return _COLUMN_LABELS[column]
    parts = column.split(".")
    leaf = parts[-1]
    if leaf in _PARAMETER_LABELS:
        name = _PARAMETER_LABELS[leaf]
        where = " of ".join(p for p in parts[1:-1] if p) if len(parts) > 2 else ""
        if where:
            name = f"{name} of {where}"
        unit = _PARAMETER_UNITS.get(leaf)
        if unit is None:
            unit = next((u for suffix, u in _UNIT_SUFFIXES if leaf.endswith(suffix)), None)
        return f"{name} ({unit})" if unit else name
    for suffix, unit in _UNIT_SUFFIXES:
        if leaf.endswith(suffix):
            return f"{column[: len(column) - len(suffix)].replace('_', ' ')} ({unit})"
    return column


def _numeric(values: Sequence[Any]) -> list[float] | None:
    """The values as floats if every one is a real number (or a string of one), else None."""
    out = []
    for v in values:
        if isinstance(v, bool):
            return None
        try:
            f = float(v)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(f):
            return None
        out.append(f)
    return out


def _equals(column: pd.Series[Any], value: Any) -> pd.Series[bool]:
    """``column == value``, with a missing value equal to a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return column.isna()
    equal: pd.Series[bool] = column == value
    return equal


def _value_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return f"{value:,.0f}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,g}"
    return str(value)


def plot_sweep(
    frame: pd.DataFrame,
    x: str,
    y: str = "time_to_train_days",
    path: str | Path | None = None,
    hue: str = "job",
) -> Figure:
    """A sweep's response curve: ``y`` against the swept grid column ``x``, one line per
    ``hue`` value. Several rows per (hue, x) — seeds or replicas — give the median line and a
    P10–P90 band. ``hue="job"`` falls back to the ``name`` column of a sweep table (jobs are
    named as in ``RunResult.jobs_frame()``). Any other grid column (a dotted path) that varies
    gets its own line style. ``x`` values may be numbers (a numeric axis) or strings such as
    ``"+20%"`` (categories, in the order they appear)."""
    import pandas as pd

    if hue == "job" and "job" not in frame.columns and "name" in frame.columns:
        hue = "name"  # a sweep table names its jobs as ``RunResult.jobs_frame()`` does
    missing = [c for c in (x, y, hue) if c not in frame.columns]
    if missing:
        raise ValueError(
            "plot_sweep: no column "
            + ", ".join(repr(c) for c in missing)
            + "; the frame has "
            + ", ".join(repr(str(c)) for c in frame.columns)
        )
    fig = _figure(SWEEP_FIGSIZE)
    ax = fig.subplots()
    _style(ax)
    data = frame[frame[x].notna()]
    x_order: list[Hashable] = list(pd.unique(data[x]))
    numeric = _numeric(x_order)
    xlabel, ylabel = _column_label(x), _column_label(y)
    if numeric is None and x_order and all(str(v).strip().endswith("%") for v in x_order):
        xlabel = f"{xlabel.split(' (')[0]} (% change from the scenario's value)"
    ax.set_xlabel(xlabel, fontsize=LABEL_SIZE)
    ax.set_ylabel(ylabel, fontsize=LABEL_SIZE)
    fig.suptitle(
        f"{ylabel.split(' (')[0].capitalize()} vs {xlabel.split(' (')[0]}", fontsize=TITLE_SIZE
    )
    if data.empty or not x_order:
        _empty_note(ax, "no sweep points")
        return _done(fig, path)

    positions = dict(
        zip(x_order, numeric if numeric is not None else range(len(x_order)), strict=True)
    )
    if numeric is None:
        ax.set_xticks(range(len(x_order)), [_value_text(v) for v in x_order])
        ax.set_xlim(-0.3, len(x_order) - 0.7)
    elif all(v.is_integer() for v in numeric):
        ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
        if len(numeric) <= 12:
            ax.set_xticks(sorted(numeric))

    scale = 100.0 if y in _FRACTION_COLUMNS else 1.0
    others = [
        str(c)
        for c in frame.columns
        if "." in str(c) and c not in (x, hue) and data[c].nunique(dropna=False) > 1
    ]
    hues = list(pd.unique(data[hue]))
    palette = job_colors([str(h) for h in hues])
    style_keys: list[tuple[Any, ...]] = (
        list(dict.fromkeys(data[others].itertuples(index=False, name=None))) if others else [()]
    )
    spread = False
    counts: list[int] = []
    for h in hues:
        for k, key in enumerate(style_keys):
            mask = _equals(data[hue], h)
            for column, value in zip(others, key, strict=True):
                mask &= _equals(data[column], value)
            sub = data[mask]
            xs: list[float] = []
            mid: list[float] = []
            lo: list[float] = []
            hi: list[float] = []
            for value in x_order:
                ys = pd.to_numeric(sub.loc[sub[x] == value, y], errors="coerce").dropna()
                if ys.empty:
                    continue
                arr = ys.to_numpy(dtype=np.float64) * scale
                xs.append(float(positions[value]))
                mid.append(float(np.median(arr)))
                lo.append(float(np.quantile(arr, 0.1)))
                hi.append(float(np.quantile(arr, 0.9)))
                counts.append(arr.size)
            if not xs:
                continue
            order = np.argsort(xs, kind="stable")
            xa = np.asarray(xs)[order]
            color = palette[str(h)]
            ax.plot(
                xa,
                np.asarray(mid)[order],
                color=color,
                linestyle=_LINESTYLES[k % len(_LINESTYLES)],
                marker=_MARKERS[k % len(_MARKERS)],
                markersize=5,
                linewidth=1.8,
            )
            if any(b > a for a, b in zip(lo, hi, strict=True)):
                spread = True
                ax.fill_between(
                    xa,
                    np.asarray(lo)[order],
                    np.asarray(hi)[order],
                    color=color,
                    alpha=0.18,
                    linewidth=0.0,
                )

    handles: list[Any] = [
        Line2D([], [], color=palette[str(h)], linewidth=2.2, label=_value_text(h)) for h in hues
    ]
    legend = fig.legend(
        handles=handles,
        loc="outside right upper",
        title="job" if hue in ("job", "name") else _column_label(hue),
        fontsize=TICK_SIZE,
        title_fontsize=LABEL_SIZE,
        frameon=False,
    )
    extra: list[Any] = []
    if others:
        for k, key in enumerate(style_keys):
            text = ", ".join(
                f"{_column_label(c).split(' (')[0]} = {_value_text(v)}"
                for c, v in zip(others, key, strict=True)
            )
            extra.append(
                Line2D(
                    [],
                    [],
                    color="#444444",
                    linestyle=_LINESTYLES[k % len(_LINESTYLES)],
                    marker=_MARKERS[k % len(_MARKERS)],
                    label=text,
                )
            )
    low, high = (min(counts), max(counts)) if counts else (1, 1)
    runs = f"{low}" if low == high else f"{low}–{high}"
    if spread:
        extra.append(Patch(facecolor="#444444", alpha=0.18, label=f"P10–P90 of {runs} runs"))
    if extra:
        fig.legend(
            handles=extra,
            loc="outside lower center",
            ncols=min(len(extra), 3),
            fontsize=TICK_SIZE,
            frameon=False,
        )
    del legend
    subtitle = f"median of {runs} runs per point" if high > 1 else "one run per point"
    ax.set_title(subtitle, fontsize=LABEL_SIZE, loc="left")
    return _done(fig, path)


__all__ = [
    "DPI",
    "job_colors",
    "plot_allocation",
    "plot_gantt",
    "plot_power",
    "plot_sweep",
    "save_png",
]
