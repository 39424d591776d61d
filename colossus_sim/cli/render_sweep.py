"""What the commands over many runs print: the replica bands of ``run --replicas``, the
summary table of ``sweep`` and the side-by-side table of ``compare``.

Owns how a band reads (``P50 [P10–P90]``, one figure when P10 = P90, "—" when no run has it),
which figures the tables show (a job's finish day beside its time to train, which counts from
its start) and how a figure reads in a comparison (thousands separated, ~4 significant
digits). Cost:
a pandas group-by over the sweep table (one group per grid point and job), milliseconds for
thousands of rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from colossus_sim import api

if TYPE_CHECKING:
    import pandas as pd


def band_text(band: api.Band, fmt: str) -> str:
    if band.p50 is None or band.p10 is None or band.p90 is None:
        return "—"
    if band.p10 == band.p90:
        return format(band.p50, fmt)
    return f"{band.p50:{fmt}} [{band.p10:{fmt}}–{band.p90:{fmt}}]"


def replicas_table(summary: api.ReplicaSummary) -> Table:
    """Each job's bands as ``P50 [P10–P90]``: time to train (from its start), the day it
    finishes, and the days it queued when any replica of any job queued."""
    seeds = summary.seeds
    table = Table(
        title=f"{summary.scenario}: {len(seeds)} replicas, seeds {seeds[0]}–{seeds[-1]} "
        "(replica i runs seed base + i); P50 [P10–P90]"
    )
    waited = any(j.wait_days.p90 for j in summary.jobs)
    columns = ["job", "finished", "time to train d", "finish d", "goodput"]
    if waited:
        columns[4:4] = ["wait d"]
    for name in columns:
        table.add_column(name, justify="left" if name == "job" else "right")
    for j in summary.jobs:
        cells = [
            j.job,
            f"{j.finished}/{j.runs}",
            band_text(j.time_to_train_days, ".2f"),
            band_text(j.finish_days, ".2f"),
            band_text(j.goodput, ".1%"),
        ]
        if waited:
            cells[4:4] = [band_text(j.wait_days, ".2f")]
        table.add_row(*cells)
    return table


def sweep_table(frame: pd.DataFrame, grid_paths: list[str], jobs: list[str] | None) -> Table:
    """One row per grid combination and job; with several seeds, P50 [P10–P90]. The finish
    day goes with the time to train (counted from the start), the wait when any job queued."""
    seeds = frame["seed"].nunique()
    table = Table(
        title=f"sweep of {frame.attrs.get('scenario', 'a scenario')}: "
        f"{frame['point'].nunique()} points"
        + (f" ({seeds} seeds each; P50 [P10–P90])" if seeds > 1 else "")
    )
    waited = bool((frame["wait_days"].fillna(0.0) > 0).any())
    figures = ["time to train d", "finish d", "goodput", "step s", "failures"]
    if waited:
        figures[2:2] = ["wait d"]
    for name in [*grid_paths, "job", "runs", *figures]:
        table.add_column(name, justify="left" if name == "job" else "right")
    groups = frame.groupby(grid_paths, sort=False, dropna=False) if grid_paths else [((), frame)]
    given = frame.attrs.get("grid_given", {})
    for combo, rows in groups:
        values = combo if isinstance(combo, tuple) else (combo,)
        values = tuple(
            _as_given(v, given.get(p, {})) for v, p in zip(values, grid_paths, strict=True)
        )
        for job, job_rows in rows.groupby("job", sort=False):
            if jobs and job not in jobs:
                continue
            band = api.replica_summary(job_rows).jobs[0]
            cells = [
                band_text(band.time_to_train_days, ".2f"),
                band_text(band.finish_days, ".2f"),
                band_text(band.goodput, ".1%"),
                f"{job_rows['step_s'].median():.2f}",
                f"{job_rows['failures'].median():,.0f}",
            ]
            if waited:
                cells[2:2] = [band_text(band.wait_days, ".2f")]
            table.add_row(*(str(v) for v in values), str(job), str(band.runs), *cells)
    return table


def _as_given(value: object, given: dict[str, str]) -> str:
    """A grid value for the table: ``4080 (+20%)`` where it was given as a relative value."""
    plain = value.item() if hasattr(value, "item") else value  # a numpy scalar of pandas
    text = api.value_text(plain)
    return f"{text} ({given[text]})" if text in given else text


def figure(value: float) -> str:
    """A figure for a table: thousands separated, ~4 significant digits, "—" for NaN."""
    if value != value:
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def compare_table(delta: pd.DataFrame, title: str) -> Table:
    """Each job's figures in A and B, B − A and B − A relative to |A|."""
    table = Table(title=title)
    for name in ("job", "metric", "A", "B", "B − A", "rel"):
        table.add_column(name, justify="left" if name in {"job", "metric"} else "right")
    columns = (delta[c].tolist() for c in ("job", "metric", "a", "b", "delta", "rel"))
    for job, metric, a, b, diff, rel in zip(*columns, strict=True):
        table.add_row(
            str(job),
            str(metric),
            *(figure(v) for v in (a, b, diff)),
            f"{rel:+.1%}" if rel == rel else "—",
        )
    return table
