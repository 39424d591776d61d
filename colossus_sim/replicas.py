"""A scenario over many seeds, and two runs side by side: the spread and the difference.

Owns ``Band`` (P10/P50/P90 of a figure over replicas, linear interpolation), ``JobBand`` and
``ReplicaSummary`` (each job's time-to-train, finish-day, wait and goodput bands),
``replica_summary`` (those bands from a sweep table) and ``compare`` (two runs' job figures:
a, b, b − a, relative).
Running the seeds is the sweep's (``api.replicas``, ``sweep.py``). Cost: pandas and numpy
work on tables of a few rows per job and seed, milliseconds.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    import pandas as pd

    from colossus_sim.results import RunResult


class Band(BaseModel):
    """The 10th, 50th and 90th percentiles of a figure over replicas (linear interpolation;
    None when no replica has the figure, e.g. a job that never started)."""

    model_config = ConfigDict(frozen=True)

    p10: float | None
    p50: float | None
    p90: float | None

    @property
    def width(self) -> float | None:
        """P90 − P10."""
        return None if self.p10 is None or self.p90 is None else self.p90 - self.p10

    @classmethod
    def of(cls, values: Sequence[float | None]) -> Band:
        import numpy as np

        have = [float(v) for v in values if v is not None and v == v]  # drop None and NaN
        if not have:
            return cls(p10=None, p50=None, p90=None)
        p10, p50, p90 = (float(x) for x in np.percentile(have, [10, 50, 90]))
        return cls(p10=p10, p50=p50, p90=p90)


class JobBand(BaseModel):
    """One job over the replicas: its time-to-train, finish-day, wait and goodput bands."""

    model_config = ConfigDict(frozen=True)

    job: str
    runs: int
    finished: int
    """Replicas in which it finished its token budget within the horizon (the others'
    time-to-train is projected at their average rate)."""
    time_to_train_days: Band
    """Days from its start (projected where it did not finish)."""
    finish_days: Band
    """Day it finished (projected alike): where its wait and its training both show."""
    wait_days: Band
    """Days it queued before it started (replicas in which it never started have none)."""
    goodput: Band


_BANDS = ("time_to_train_days", "finish_days", "wait_days", "goodput")
"""``JobBand``'s bands, in the order of ``ReplicaSummary.frame``'s columns."""


class ReplicaSummary(BaseModel):
    """A scenario run with ``len(seeds)`` seeds: each job's P10/P50/P90 band."""

    model_config = ConfigDict(frozen=True)

    scenario: str
    seeds: list[int]
    jobs: list[JobBand]

    def frame(self) -> pd.DataFrame:
        """One row per job: ``runs``, ``finished``, then P10/P50/P90 columns of each band
        (``time_to_train_days_p10`` … ``finish_days_*``, ``wait_days_*`` … ``goodput_p90``)."""
        import pandas as pd

        rows = []
        for j in self.jobs:
            row: dict[str, Any] = {"job": j.job, "runs": j.runs, "finished": j.finished}
            for figure in _BANDS:
                band: Band = getattr(j, figure)
                row.update({f"{figure}_{p}": getattr(band, p) for p in ("p10", "p50", "p90")})
            rows.append(row)
        return pd.DataFrame(rows)


def replica_summary(frame: pd.DataFrame, name: str = "") -> ReplicaSummary:
    """Each job's P10/P50/P90 over the seeds of a sweep table (one grid point)."""
    jobs = []
    for job, rows in frame.groupby("job", sort=False):
        jobs.append(
            JobBand(
                job=str(job),
                runs=len(rows),
                finished=int(rows["finished"].sum()),
                time_to_train_days=Band.of(rows["time_to_train_days"].tolist()),
                finish_days=Band.of(rows["finish_days"].tolist()),
                wait_days=Band.of(rows["wait_days"].tolist()),
                goodput=Band.of(rows["goodput"].tolist()),
            )
        )
    seeds = [int(s) for s in dict.fromkeys(frame["seed"].tolist())]
    return ReplicaSummary(scenario=name, seeds=seeds, jobs=jobs)


def _undefined(metric: str, row: Mapping[Hashable, Any] | None) -> bool:
    """A job that never started has no goodput (its 0 is no share of anything)."""
    if metric != "goodput" or row is None:
        return False
    start = row.get("start_days")
    return start is None or start != start  # None, or NaN in the frame


def compare(a: RunResult, b: RunResult) -> pd.DataFrame:
    """Two runs side by side, one row per job and figure: ``job``, ``metric``, ``a``, ``b``,
    ``delta`` (b − a) and ``rel`` (delta ÷ |a|; NaN where a is 0 or missing; goodput is
    missing on a side where the job never started). Figures are
    the numeric columns of ``jobs_frame()`` (not flags or names), in its column order; jobs in
    a's order, then b's extra ones; ``attrs["a"]``/``attrs["b"]`` say which what-if each side
    is (``RunResult.label``). ``finish_days`` is the day a job finishes: a job that
    queues longer in b shows it there, not in ``time_to_train_days`` (counted from its
    start)."""
    import math

    import pandas as pd

    frames = {"a": a.jobs_frame(), "b": b.jobs_frame()}
    numeric: dict[str, None] = {}
    for frame in frames.values():
        for column in frame.columns:
            dtype = frame[column].dtype
            if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
                numeric.setdefault(str(column), None)
    by_job = {side: {str(r["job"]): r for r in f.to_dict("records")} for side, f in frames.items()}
    jobs = list(dict.fromkeys([*by_job["a"], *by_job["b"]]))
    rows = []
    nan = math.nan
    for job in jobs:
        for metric in numeric:
            va = by_job["a"].get(job, {}).get(metric)
            vb = by_job["b"].get(job, {}).get(metric)
            fa = nan if va is None or _undefined(metric, by_job["a"].get(job)) else float(va)
            fb = nan if vb is None or _undefined(metric, by_job["b"].get(job)) else float(vb)
            delta = fb - fa
            rel = delta / abs(fa) if fa == fa and fa != 0 else nan
            rows.append(
                {"job": job, "metric": metric, "a": fa, "b": fb, "delta": delta, "rel": rel}
            )
    frame = pd.DataFrame(rows, columns=["job", "metric", "a", "b", "delta", "rel"])
    frame.attrs.update(a=a.label, b=b.label)  # which what-if each side is
    return frame
