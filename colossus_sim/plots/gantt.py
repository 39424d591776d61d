"""The Gantt figure: one row per job with bars coloured by status — queued from its submit day
to its start, nothing before it (held) — a marker where it was submitted (after the run's
start), a tick per failure that hit the job, a marker where it finished, and a note of its
time to train, goodput and wait.

Cost: O(series rows) to merge each job's status stretches; a handful of collections per job
(one bar collection per status, one event collection of failures), not one artist per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from colossus_sim.kinds import EventKind, JobStatus
from colossus_sim.plots._series import _end_hours, _job_order, _sorted_series, hourly
from colossus_sim.plots._style import (
    LABEL_SIZE,
    RUN_FIGSIZE,
    STATUS_COLORS,
    TICK_SIZE,
    _days_axis,
    _done,
    _figure,
    _style,
    _titled,
)
from colossus_sim.units import HOURS_PER_DAY

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from numpy.typing import NDArray

    from colossus_sim.results import JobResult, RunResult

_Stretches = dict[str, list[tuple[float, float]]]
"""(start, width) in days of each status's stretches of one job."""
_BAR_H = 0.5
"""A row's bar height (rows are 1 apart)."""
_SUBMIT_MARKER = ">"
_LEGEND_NAMES = {JobStatus.PENDING: "queued"}
"""Legend words for statuses whose word in the job series reads otherwise on a chart."""


def plot_gantt(result: RunResult, path: str | Path | None = None) -> Figure:
    """One row per job: bars coloured by status (running, restarting, stalled, and queued —
    status ``pending`` — from its submit day to its start; nothing before its submit day,
    while it is held), a marker on its submit day when that is after the run's start, a tick
    per failure that hit the job, and a marker where it finished. Each bar collection's gid
    is ``job:status`` (``job:running`` the base the other statuses are drawn over), the submit
    marker's ``job:submit``.

    A restart lasts minutes, far less than a pixel of a months-long axis, so each bar is
    drawn as a running-coloured base with the other statuses antialiased over it: a pixel's
    colour mixes the statuses in proportion to their time (a 10T row restarting a third of
    the time shows a third orange), instead of dropping or exaggerating the slivers."""
    series = _sorted_series(result)
    timeline = hourly(result.timeline)
    jobs = _job_order(result, series)
    end_h = _end_hours(result, series)
    end_d = end_h / HOURS_PER_DAY
    by_name = {j.name: j for j in result.jobs}
    fig, ax = _gantt_axes(result, end_d, len(jobs))

    failure_times = _failure_times(timeline)
    unowned = len(failure_times.get("", ()))
    labels = []
    notes = []
    submitted_later = False
    for row, job in enumerate(jobs):
        hits = failure_times.get(job)
        info = by_name.get(job)
        rows = series[series["job"] == job]
        stretches = _queued(_intervals_of(rows, end_h), info, end_h / HOURS_PER_DAY)
        _gantt_row(ax, float(row), job, stretches, rows, hits)
        submitted_later |= _submit_marker(ax, float(row), job, info)
        labels.append(_row_label(job, info))
        notes.append(_gantt_note(info, stretches, 0 if hits is None else hits.size))
    _gantt_yaxes(ax, labels, notes)
    _gantt_legend(fig, unowned, submitted_later)
    return _done(fig, path)


def _gantt_axes(result: RunResult, end_d: float, rows: int) -> tuple[Figure, Axes]:
    """The figure, as tall as its rows need, with a days axis and room for a finish marker."""
    height = max(3.5, 1.4 + 0.65 * rows)
    fig = _figure((RUN_FIGSIZE[0] + 1.0, height))
    ax = fig.subplots()
    _style(ax)
    ax.grid(False, axis="y")
    _days_axis(ax, end_d)
    ax.set_xlim(0.0, max(end_d, 1e-9) * 1.02)  # room for a finish marker at the very end
    _titled(fig, f"Jobs over time, with failures — {result.label}", result.version)
    return fig, ax


def _failure_times(timeline: pd.DataFrame) -> dict[str, NDArray[np.float64]]:
    """Days of the failures that hit each job (``""``: racks no job held)."""
    failures = timeline[timeline["kind"] == EventKind.FAILURE]
    return {
        str(job): group["time_h"].to_numpy(dtype=np.float64) / HOURS_PER_DAY
        for job, group in failures.groupby("job", sort=False)
    }


def _intervals_of(rows: pd.DataFrame, end_h: float) -> _Stretches:
    """A job's status stretches from its rows of the job series."""
    return _intervals(
        rows["time_h"].to_numpy(dtype=np.float64), [str(s) for s in rows["status"]], end_h
    )


def _queued(stretches: _Stretches, info: JobResult | None, end_d: float) -> _Stretches:
    """``stretches`` with the job's queue before its start taken from its results: from its
    submit day to its start day (or the run's end), none if it was never submitted. The
    results are what the tables report; a job series row can be stamped after the moment
    the status changed. Stretches queued after its start are kept."""
    if info is None:
        return stretches
    stop = end_d if info.start_days is None else info.start_days
    later = [(s, w) for s, w in stretches.get(JobStatus.PENDING, []) if s >= stop]
    first = info.submit_days
    queued = [(first, stop - first)] if first is not None and stop > first else []
    out = {status: xr for status, xr in stretches.items() if status != JobStatus.PENDING}
    if queued or later:
        out[JobStatus.PENDING] = queued + later
    return out


def _gantt_row(
    ax: Axes,
    y: float,
    job: str,
    stretches: _Stretches,
    rows: pd.DataFrame,
    hits: NDArray[np.float64] | None,
) -> None:
    """One job's row: its status bars, failure ticks and finish marker."""
    _status_bars(ax, y, job, stretches)
    if hits is not None and hits.size:
        ax.eventplot(
            hits,
            orientation="horizontal",
            lineoffsets=y - _BAR_H / 2 - 0.1,
            linelengths=0.16,
            linewidths=0.4,
            colors="#222222",
            alpha=0.6,
        )
    finished = rows[rows["status"] == JobStatus.FINISHED]
    if not finished.empty:
        at = float(finished["time_h"].iloc[0]) / HOURS_PER_DAY
        ax.plot([at], [y], marker="D", markersize=7, color="#111111", linestyle="none", zorder=4)


def _submit_marker(ax: Axes, y: float, job: str, info: JobResult | None) -> bool:
    """A marker on the day the job joined the queue, if after the run's start; drawn or not."""
    if info is None or not info.submit_days:
        return False
    ax.plot(
        [info.submit_days],
        [y],
        marker=_SUBMIT_MARKER,
        markersize=7,
        color="#444444",
        linestyle="none",
        zorder=4,
        gid=f"{job}:submit",
    )
    return True


def _status_bars(ax: Axes, y: float, job: str, stretches: _Stretches) -> None:
    """A running-coloured base from the job's start to the end of its life, then each other
    status over it (its queue before the start lies outside the base)."""
    life = _lifespan(stretches)
    if life is not None and JobStatus.RUNNING in stretches:
        ax.broken_barh(
            [life],
            (y - _BAR_H / 2, _BAR_H),
            facecolors=STATUS_COLORS[JobStatus.RUNNING],
            linewidth=0.0,
            gid=f"{job}:{JobStatus.RUNNING}",
        )
    for status, xranges in stretches.items():
        if status == JobStatus.RUNNING:
            continue
        ax.broken_barh(
            xranges,
            (y - _BAR_H / 2, _BAR_H),
            facecolors=STATUS_COLORS.get(status, "#888888"),
            linewidth=0.0,
            gid=f"{job}:{status}",
        )


def _gantt_yaxes(ax: Axes, labels: list[str], notes: list[str]) -> None:
    """Job names on the left (first job on top), each row's note on the right."""
    ax.set_yticks(range(len(labels)), labels, fontsize=TICK_SIZE)
    ax.set_ylim(len(labels) - 0.5, -0.7)  # first job on top
    ax.set_ylabel("job (racks at start)", fontsize=LABEL_SIZE)
    side = ax.secondary_yaxis("right")
    side.set_yticks(range(len(labels)), notes, fontsize=TICK_SIZE - 1)
    side.tick_params(length=0)
    side.spines["right"].set_visible(False)


def _gantt_legend(fig: Figure, unowned: int, submitted_later: bool) -> None:
    """The statuses, the failure tick, the submit marker (when drawn) and the finish marker,
    below the axes."""
    handles: list[Any] = [
        Patch(facecolor=STATUS_COLORS[s], label=_LEGEND_NAMES.get(s, s))
        for s in (JobStatus.RUNNING, JobStatus.RESTARTING, JobStatus.STALLED, JobStatus.PENDING)
    ]
    handles.append(
        Line2D(
            [],
            [],
            color="#222222",
            marker="|",
            linestyle="none",
            markersize=9,
            label=EventKind.FAILURE.value,
        )
    )
    if submitted_later:
        handles.append(
            Line2D(
                [],
                [],
                color="#444444",
                marker=_SUBMIT_MARKER,
                linestyle="none",
                markersize=7,
                label="submitted",
            )
        )
    handles.append(
        Line2D(
            [],
            [],
            color="#111111",
            marker="D",
            linestyle="none",
            markersize=7,
            label=JobStatus.FINISHED.value,
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


def _intervals(times: NDArray[np.float64], statuses: Sequence[str], end_h: float) -> _Stretches:
    """(start, width) in days of each status's stretches, consecutive equal statuses merged;
    ``finished`` draws no bar."""
    out: _Stretches = {}
    n = len(times)
    i = 0
    while i < n:
        status = statuses[i]
        j = i + 1
        while j < n and statuses[j] == status:
            j += 1
        start = times[i]
        stop = times[j] if j < n else end_h
        if status != JobStatus.FINISHED and stop > start:
            out.setdefault(status, []).append(
                (start / HOURS_PER_DAY, (stop - start) / HOURS_PER_DAY)
            )
        i = j
    return out


def _lifespan(stretches: _Stretches) -> tuple[float, float] | None:
    """(start, width) in days from the start of a job's first stretch after it started (not
    its queue before the start) to the end of its last stretch."""
    after_start = [s for status, xr in stretches.items() if status != JobStatus.PENDING for s in xr]
    if not after_start:
        return None
    lo = min(s for s, _ in after_start)
    hi = max(s + w for xr in stretches.values() for s, w in xr)
    return lo, hi - lo


def _row_label(job: str, info: JobResult | None) -> str:
    """A row's label: the job and the racks it started on (none if it never started)."""
    if info is None:
        return job
    if info.start_days is None:
        return f"{job}\nnot started"
    return f"{job}\n{info.racks:,} racks"


def _gantt_note(info: JobResult | None, stretches: _Stretches, failures: int) -> str:
    """The right-hand note of a Gantt row: time to train (and the finish day it projects to),
    goodput, days queued, failures, restart share."""
    if info is None:
        return ""
    if info.submit_days is None:
        return "never submitted\n(held to the end of the run)"
    if info.start_days is None:
        return f"queued from day {info.submit_days:,.1f}\nnever started (waited for racks)"
    ttt = info.time_to_train_days
    if ttt is None:
        head = "no progress"
    elif info.finished:
        head = f"trained in {_days(ttt)} d"
    else:
        head = f"projected {_days(ttt)} d"
        if info.finish_days is not None:
            head += f", day {_days(info.finish_days)}"
    active = sum(
        w for status, xr in stretches.items() if status != JobStatus.PENDING for _, w in xr
    )
    restarting = sum(w for _, w in stretches.get(JobStatus.RESTARTING, []))
    share = f" · {restarting / active:.0%} restarting" if active > 0 else ""
    queued = f"queued {_days(info.wait_days)} d · " if info.wait_days else ""
    return f"{head} · {info.goodput:.0%} goodput\n{queued}{failures:,} failures{share}"


def _days(days: float) -> str:
    return f"{days:,.1f}" if days < 100 else f"{days:,.0f}"
