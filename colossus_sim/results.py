"""Typed results of a run, their tidy DataFrames, and atomic JSON/Parquet writers.

``RunResult`` holds one ``JobResult`` per job, a ``ClusterResult`` and the event-stamped
timeline. Every writer writes a temporary file beside its target and renames it into place,
so an interrupted run leaves the previous result intact. Same scenario and seed give
byte-identical files (sorted keys, no timestamps, deterministic row order).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from pydantic import BaseModel, ConfigDict

from colossus_sim.config.workload import ParallelPlan
from colossus_sim.units import SECONDS_PER_DAY

if TYPE_CHECKING:
    from colossus_sim.engine import Simulation

JOB_STATES = ("productive", "checkpoint", "rework", "restart", "stalled")
CLUSTER_STATES = ("idle", "spare", "repair")
SECONDS_PER_HOUR = 3600.0


class TimelineEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    time_h: float
    kind: str
    job: str
    rack: int
    detail: str


class JobResult(BaseModel):
    """One job over the run. GPU-hours count every GPU of the racks it held."""

    model_config = ConfigDict(frozen=True)

    name: str
    workload: str
    gpu: str
    racks: int
    gpus: int
    plan: ParallelPlan
    step_s: float
    mfu: float
    tokens_per_step: int
    tokens: float
    tokens_budget: float
    tokens_per_day: float
    goodput: float
    """Productive GPU-time ÷ GPU-time of the racks it held."""
    failures: int
    restarts: int
    checkpoints: int
    checkpoint_interval_min: float
    replans: int
    gpu_hours: dict[str, float]
    start_days: float | None
    finished: bool
    time_to_train_days: float | None
    """Days from start to the end of its token budget (projected at its average rate if the
    horizon ended first; ``finished`` says which)."""


class ClusterResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    racks: int
    gpus: int
    hours: float
    allocated_frac: float
    productive_frac: float
    gpu_hours: dict[str, float]
    failures: int
    repairs: int
    events: int


class RunResult(BaseModel):
    """Everything a run produced; ``jobs_frame``/``cluster_frame``/``timeline_frame`` for pandas."""

    model_config = ConfigDict(frozen=True)

    scenario: str
    seed: int
    jobs: list[JobResult]
    cluster: ClusterResult
    timeline: list[TimelineEvent]

    def summary(self) -> dict[str, Any]:
        """The ``run --json`` object: everything but the timeline."""
        return self.model_dump(mode="json", exclude={"timeline"})

    def jobs_frame(self) -> pd.DataFrame:
        rows = []
        for j in self.jobs:
            row = j.model_dump(mode="json", exclude={"plan", "gpu_hours"})
            row.update({f"plan_{k}": v for k, v in j.plan.model_dump(mode="json").items()})
            row.update({f"gpu_hours_{k}": v for k, v in j.gpu_hours.items()})
            rows.append(row)
        return pd.DataFrame(rows)

    def cluster_frame(self) -> pd.DataFrame:
        row = self.cluster.model_dump(mode="json", exclude={"gpu_hours"})
        row.update({f"gpu_hours_{k}": v for k, v in self.cluster.gpu_hours.items()})
        return pd.DataFrame([row])

    def timeline_frame(self) -> pd.DataFrame:
        columns = list(TimelineEvent.model_fields)
        return pd.DataFrame([e.model_dump() for e in self.timeline], columns=columns)


def build_results(sim: Simulation) -> RunResult:
    """Assemble the typed results from a finished simulation."""
    end_s = sim.env.now
    gpus_per_rack = sim.cluster.gpus_per_rack
    jobs = []
    for job in sim.jobs:
        held = sum(job.gpu_s.values())
        step = job.first_step
        if step is None:  # never started
            raise RuntimeError(f"{job.name} never started within the horizon")
        started = job.start_s if job.start_s is not None else 0.0
        if job.finish_s is not None:
            ttt_s: float | None = job.finish_s - started
        elif job.tokens > 0:
            ttt_s = (end_s - started) * job.budget_tokens / job.tokens
        else:
            ttt_s = None
        elapsed_days = max(((job.finish_s or end_s) - started) / SECONDS_PER_DAY, 1e-12)
        jobs.append(
            JobResult(
                name=job.name,
                workload=job.spec.name,
                gpu=job.gpu.name,
                racks=job.first_racks,
                gpus=job.first_racks * gpus_per_rack,
                plan=step.plan,
                step_s=step.step_s,
                mfu=step.mfu,
                tokens_per_step=step.tokens_per_step,
                tokens=job.tokens,
                tokens_budget=job.budget_tokens,
                tokens_per_day=job.tokens / elapsed_days,
                goodput=job.gpu_s["productive"] / held if held > 0 else 0.0,
                failures=job.failures,
                restarts=job.restarts,
                checkpoints=job.checkpoints,
                checkpoint_interval_min=job.interval_s / 60.0,
                replans=job.replans,
                gpu_hours={k: v / SECONDS_PER_HOUR for k, v in job.gpu_s.items()},
                start_days=started / SECONDS_PER_DAY,
                finished=job.finish_s is not None,
                time_to_train_days=None if ttt_s is None else ttt_s / SECONDS_PER_DAY,
            )
        )
    total_gpu_s = sim.cluster.racks * gpus_per_rack * end_s
    by_state = {k: 0.0 for k in (*JOB_STATES, *CLUSTER_STATES)}
    for job in sim.jobs:
        for k, v in job.gpu_s.items():
            by_state[k] += v
    for k, v in sim.cluster_gpu_s.items():
        by_state[k] += v
    allocated = sum(by_state[k] for k in JOB_STATES)
    cluster = ClusterResult(
        racks=sim.cluster.racks,
        gpus=sim.cluster.racks * gpus_per_rack,
        hours=end_s / SECONDS_PER_HOUR,
        allocated_frac=allocated / total_gpu_s if total_gpu_s else 0.0,
        productive_frac=by_state["productive"] / total_gpu_s if total_gpu_s else 0.0,
        gpu_hours={k: v / SECONDS_PER_HOUR for k, v in by_state.items()},
        failures=sim.failures,
        repairs=sim.repairs,
        events=len(sim.timeline),
    )
    return RunResult(
        scenario=sim.resolved.scenario.name,
        seed=sim.seed,
        jobs=jobs,
        cluster=cluster,
        timeline=[
            TimelineEvent(time_h=t, kind=kind, job=job, rack=rack, detail=detail)
            for t, kind, job, rack, detail in sim.timeline
        ],
    )


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def json_bytes(payload: Any) -> bytes:
    return (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode()


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    import pyarrow as pa  # imported here: only writers of Parquet pay for it
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return bytes(sink.getvalue().to_pybytes())


def write_run(result: RunResult, out_dir: Path) -> list[Path]:
    """``result.json`` (everything), and ``jobs``, ``cluster``, ``timeline`` as Parquet."""
    written = []
    target = out_dir / "result.json"
    write_atomic(target, json_bytes(result.model_dump(mode="json")))
    written.append(target)
    for name, frame in (
        ("jobs", result.jobs_frame()),
        ("cluster", result.cluster_frame()),
        ("timeline", result.timeline_frame()),
    ):
        target = out_dir / f"{name}.parquet"
        write_atomic(target, parquet_bytes(frame))
        written.append(target)
    return written
