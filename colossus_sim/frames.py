"""A run as a planner reads it: tidy pandas frames (one name per concept, times in days,
breakdowns as columns) and a short summary for a notebook (``summary_text``, ``summary_html``).

The typed results (``results.py``) keep what the engine measured, in its units (event times in
hours, a step's parts as a mapping); the frames are what a planner filters and plots, so in
them:

- a job is ``job`` in every frame (``jobs_frame``, ``timeline_frame``, ``job_series_frame``,
  a sweep's table, ``ReplicaSummary.frame``, ``api.compare``);
- time is in days: ``time_days`` (the timeline, power and job series), the cluster's ``days``
  and a job's ``throttled_days``; GPU-hours stay GPU-hours (a quantity of work, not a time);
- a mapping of parts is one column per part, the same columns for every job and run:
  ``breakdown_<part>`` (``breakdown_compute_s``, ``breakdown_dp_sync_s``: the step's parts),
  ``fabric_cost_<part>`` (seconds the fabric added to a part, 0 where none) and
  ``restart_<part>`` (``restart_detection_s``: a restart by part; empty where
  ``checkpoint.restart_minutes`` times every restart flat), and a figure by checkpoint tier
  ``<figure>_<tier>`` (``checkpoints_local_nvme``, ``checkpoint_tb_shared_storage``).

``job_number_columns`` gives the number columns of ``jobs_frame`` from the schema alone. Cost:
one dict per job or per event row, milliseconds for a run's ~10⁵ timeline rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from colossus_sim.config.workload import ParallelPlan
from colossus_sim.fabric import JobFabric
from colossus_sim.kinds import CheckpointTier
from colossus_sim.perf.reliability import RESTART_PART_NAMES
from colossus_sim.perf.step_time import PART_NAMES
from colossus_sim.units import HOURS_PER_DAY

if TYPE_CHECKING:
    import pandas as pd

    from colossus_sim.results import RunResult

JOB_COLUMN = "job"
"""What every frame calls a job."""
RENAMED = {"name": JOB_COLUMN, "throttled_hours": "throttled_days"}
"""Result fields whose frame column is named otherwise (``throttled_hours`` ÷ 24)."""
TIER_NAMES = tuple(tier.value for tier in CheckpointTier)
BY_TIER = {
    "checkpoints_by_tier": "checkpoints_",
    "checkpoint_tb_by_tier": "checkpoint_tb_",
    "checkpoint_pb_by_tier": "checkpoint_pb_",
    "checkpoint_mean_interval_min_by_tier": "checkpoint_mean_interval_min_",
}
"""A by-tier mapping field (of a job or the site) → its columns' prefix, one per tier."""
BREAKDOWNS: dict[str, tuple[str, tuple[str, ...], float | None]] = {
    "breakdown_s": ("breakdown_", PART_NAMES, None),
    "fabric_cost_s": ("fabric_cost_", PART_NAMES, 0.0),
    "restart_breakdown_s": ("restart_", RESTART_PART_NAMES, None),
    **{
        name: (prefix, TIER_NAMES, None)
        for name, prefix in BY_TIER.items()
        if name != "checkpoint_pb_by_tier"
    },
}
"""A mapping field → its columns' prefix, its parts and the value of a part it lacks."""
FLATTENED: dict[str, type[BaseModel]] = {"plan": ParallelPlan, "fabric": JobFabric}
"""Nested models whose fields become ``<field>_<sub>`` columns."""


def breakdown_columns() -> list[str]:
    """The columns the breakdown mappings become, in ``jobs_frame``'s order."""
    return [prefix + part for prefix, parts, _ in BREAKDOWNS.values() for part in parts]


def jobs_frame(result: RunResult) -> pd.DataFrame:
    """One row per job: ``job`` first, then its figures (units in the names), the plan and
    fabric fields, GPU-hours by state and the breakdowns, one column each."""
    import pandas as pd

    rows = []
    for j in result.jobs:
        row = j.model_dump(mode="json", exclude={"gpu_hours", *FLATTENED, *BREAKDOWNS})
        row["throttled_hours"] = j.throttled_hours / HOURS_PER_DAY
        for name, model in FLATTENED.items():
            value = getattr(j, name)
            fields = value.model_dump(mode="json") if value else dict.fromkeys(model.model_fields)
            row.update({f"{name}_{k}": v for k, v in fields.items()})
        row.update({f"gpu_hours_{k}": v for k, v in j.gpu_hours.items()})
        for name, (prefix, parts, missing) in BREAKDOWNS.items():
            mapping: dict[str, float] = getattr(j, name)
            row.update({prefix + part: mapping.get(part, missing) for part in parts})
        rows.append({RENAMED.get(k, k): v for k, v in row.items()})
    return pd.DataFrame(rows)


def cluster_frame(result: RunResult) -> pd.DataFrame:
    """One row: the cluster's figures (the run's length as ``days``), GPU-hours by state and
    idle GPU-hours by reason."""
    import pandas as pd

    cluster = result.cluster
    tiered = {name for name in BY_TIER if name in type(cluster).model_fields}
    row = cluster.model_dump(mode="json", exclude={"gpu_hours", "idle_gpu_hours", "hours", *tiered})
    row = {"days": cluster.hours / HOURS_PER_DAY, **row}
    row.update({f"gpu_hours_{k}": v for k, v in cluster.gpu_hours.items()})
    row.update({f"idle_gpu_hours_{k}": v for k, v in cluster.idle_gpu_hours.items()})
    for name in sorted(tiered):
        mapping: dict[str, float] = getattr(cluster, name)
        row.update({BY_TIER[name] + tier: mapping[tier] for tier in TIER_NAMES})
    return pd.DataFrame([row])


def series_frame(series: BaseModel) -> pd.DataFrame:
    """A column-per-field series (the timeline, power, job series) with ``time_h`` as
    ``time_days``: one row per event or change."""
    import pandas as pd

    data: dict[str, Any] = series.model_dump()
    columns = {
        ("time_days" if k == "time_h" else k): (
            [t / HOURS_PER_DAY for t in v] if k == "time_h" else v
        )
        for k, v in data.items()
    }
    return pd.DataFrame(columns, columns=list(columns))


# ---------------------------------------------------------------------------- summaries
# What a notebook shows for a run: a few lines, not the timeline (a default run's full repr
# is megabytes).

SUMMARY_ROWS = 20
"""Jobs a summary lists (the scenario's named jobs first); the rest are counted."""
_SUMMARY_COLUMNS = ("job", "racks", "time to train d", "finish d", "goodput")


def _summary_rows(result: RunResult) -> tuple[list[tuple[str, ...]], int]:
    jobs = sorted(result.jobs, key=lambda j: j.background)  # named jobs, then a trace's
    rows: list[tuple[str, ...]] = [
        (
            j.name,
            f"{j.racks:,}",
            "—" if j.time_to_train_days is None else f"{j.time_to_train_days:.2f}",
            "—" if j.finish_days is None else f"{j.finish_days:.2f}",
            f"{j.goodput:.1%}",
        )
        for j in jobs[:SUMMARY_ROWS]
    ]
    return rows, max(len(jobs) - SUMMARY_ROWS, 0)


def _headline(result: RunResult) -> str:
    cluster = result.cluster
    end = (
        f"the last job finished on day {cluster.makespan_days:.2f}"
        if cluster.makespan_days is not None
        else "not every job finished"
    )
    return (
        f"{result.label}, colossus-sim {result.version}: {len(result.jobs)} jobs over "
        f"{cluster.hours / HOURS_PER_DAY:.1f} days, {cluster.failures:,} failures; {end}"
    )


def summary_text(result: RunResult) -> str:
    """A run in a few lines: what made it, its span, and each job's headline figures."""
    rows, more = _summary_rows(result)
    table = [_SUMMARY_COLUMNS, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(_SUMMARY_COLUMNS))]
    lines = [f"RunResult({_headline(result)})"]
    for row in table:
        cells = [
            row[0].ljust(widths[0]),
            *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)),
        ]
        lines.append("  " + "  ".join(cells))
    if more:
        lines.append(f"  … and {more} more jobs")
    lines.append("  (jobs_frame(), cluster_frame(), timeline_frame(): every figure)")
    return "\n".join(lines)


def summary_html(result: RunResult) -> str:
    """The same as an HTML table, for Jupyter."""
    from html import escape

    rows, more = _summary_rows(result)
    head = "".join(f"<th>{escape(c)}</th>" for c in _SUMMARY_COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    tail = f"<p>… and {more} more jobs</p>" if more else ""
    return (
        f"<div><p><b>{escape(_headline(result))}</b></p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{tail}"
        "<p><code>jobs_frame()</code>, <code>cluster_frame()</code>, "
        "<code>timeline_frame()</code>: every figure</p></div>"
    )
