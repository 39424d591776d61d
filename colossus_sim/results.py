"""Typed results of a run, their tidy DataFrames, and the bytes of their JSON and Parquet files.

``RunResult`` holds one ``JobResult`` per job, a ``ClusterResult`` and the event-stamped
timeline. ``run_files`` gives a run's result folder as name → bytes (``outputs`` publishes it
as a unit). Same scenario and seed give byte-identical files (sorted keys, no timestamps,
deterministic row order).
"""

from __future__ import annotations

import json
import math
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from colossus_sim import frames
from colossus_sim.config.workload import ParallelPlan
from colossus_sim.fabric import JobFabric
from colossus_sim.grid_results import GridResult, PowerSeries

if TYPE_CHECKING:
    import pandas as pd


class GpuState(StrEnum):
    """What a GPU is doing at an instant: a job's state while the job holds its rack, else the
    cluster's. Each rack's GPUs are in exactly one state at every instant."""

    PRODUCTIVE = "productive"
    CHECKPOINT = "checkpoint"
    REWORK = "rework"
    RESTART = "restart"
    STALLED = "stalled"
    IDLE = "idle"
    SPARE = "spare"
    REPAIR = "repair"

    __hash__ = str.__hash__  # hashed as its word, in C: the ledger keys dicts by it per event


JOB_GPU_STATES = tuple(GpuState)[:5]
"""The states of a rack a job holds."""
CLUSTER_GPU_STATES = tuple(GpuState)[5:]
"""The states of a rack no job holds."""
JOB_STATES = tuple(state.value for state in JOB_GPU_STATES)
"""Their names (keys of ``JobResult.gpu_hours``)."""
CLUSTER_STATES = tuple(state.value for state in CLUSTER_GPU_STATES)


class IdleReason(StrEnum):
    """Why healthy racks no job holds (and not spares) are idle."""

    NO_QUEUED_JOB = "no_queued_job"
    QUEUED_FOR_OTHER_GPU = "queued_for_other_gpu"
    """Only jobs of another GPU type are queued."""
    QUEUED_JOB_DOES_NOT_FIT = "queued_job_does_not_fit"
    """A job of this type is queued, but these racks are too few for it (or held for its
    reservation)."""

    __hash__ = str.__hash__


class Timeline(BaseModel):
    """The event-stamped timeline, one column per field (row ``i`` is one event): compact in
    JSON and built in one validation instead of one per event."""

    model_config = ConfigDict(frozen=True)

    time_h: list[float]
    kind: list[str]
    job: list[str]
    rack: list[int]
    detail: list[str]

    def __len__(self) -> int:
        return len(self.time_h)


class JobSeries(BaseModel):
    """Each job's state over time, one column per field: a row whenever a job's status, racks
    or step time changes, valid until that job's next row (piecewise constant)."""

    model_config = ConfigDict(frozen=True)

    time_h: list[float]
    job: list[str]
    status: list[str]
    racks: list[int]
    step_s: list[float]
    """Seconds per step at the job's current clock and bandwidth (0 when it is not running)."""
    fabric_bw_frac: list[float]
    """Share of its NICs' bandwidth the fabric gives it (``fabric/``)."""

    def __len__(self) -> int:
        return len(self.time_h)


class JobResult(BaseModel):
    """One job over the run. GPU-hours count every GPU of the racks it held."""

    model_config = ConfigDict(frozen=True)

    name: str
    background: bool
    """A job of the scenario's trace (``trace:``), not one of its named jobs."""
    workload: str
    gpu: str
    racks: int
    """The racks it first ran on (the racks it asked for, if it never ran)."""
    gpus: int
    plan: ParallelPlan
    step_s: float
    breakdown_s: dict[str, float]
    """The step's parts at full clock where it was first placed (``perf/step_time.py``)."""
    step_s_full_bw: float
    """Its step with every NIC at full bandwidth: ``step_s`` less the fabric's cost."""
    fabric_cost_s: dict[str, float]
    """Step parts the fabric's bandwidth share lengthened, and by how many seconds."""
    fabric: JobFabric | None
    """Where its racks were when it first ran and the bandwidth share that gave it (None
    when the fabric is off or it never ran)."""
    fabric_min_bw_frac: float
    """Lowest bandwidth share it ran at (placement changes and switch faults)."""
    mfu: float
    """Model FLOPs utilisation of the GPUs it trains on (``active_gpus_per_rack`` a rack)."""
    mfu_physical: float
    """The same over every GPU of its racks, hot spares included: what the hardware bought
    delivers."""
    tokens_per_step: int
    tokens: float
    tokens_budget: float
    tokens_per_day: float
    goodput: float
    """Productive GPU-time ÷ GPU-time of the racks it held."""
    failures: int
    restarts: int
    recovery: str
    """How it recovers (``RecoveryMode``): ``restart`` (from shared storage), ``in_memory``
    (from a peer), ``hot_spare`` (no rescheduling) or ``drop_replica``."""
    replica_drops: int
    """Failures after which a data-parallel replica left and the rest went on
    (``drop_replica``), instead of a restart."""
    restart_s: float
    """What a restart after a failure takes it on the racks it held last (the scenario's
    ``checkpoint.restart_minutes`` when that times every restart)."""
    restart_breakdown_s: dict[str, float]
    """``restart_s`` by part (``perf.reliability.RestartAnatomy``; empty under the override)."""
    checkpoints: int
    checkpoint_interval_min: float
    checkpoint_blocking_s: float
    """Training time each checkpoint (or in-memory snapshot) blocks."""
    checkpoint_tb_written: float
    """What its checkpoints wrote to shared storage (an ``in_memory`` job's go to peers)."""
    storage_write_frac: float
    """Share of its running time its share of the storage bandwidth spends writing, in its
    last running stretch: 1.0 means saturated (it checkpoints as often as it can write)."""
    checkpoints_by_tier: dict[str, int]
    """Checkpoints durable in each tier over the run (``CheckpointTier``: ``host_memory``
    snapshots of an ``in_memory`` job, ``local_nvme``, ``shared_storage``; 0 where none)."""
    checkpoint_tb_by_tier: dict[str, float]
    """What its checkpoints wrote to each tier (an ``in_memory`` snapshot counts the state
    once: each GPU's shard to its peer)."""
    checkpoint_mean_interval_min_by_tier: dict[str, float]
    """Mean compute between its checkpoints in each tier over the run (null where none)."""
    replans: int
    resizes: int
    """Times its racks changed after it started (a grow, a shrink, racks taken by a
    higher-priority job), each a restart from a checkpoint."""
    preemptions: int
    """Times it gave racks to a higher-priority queued job (``scheduler.preemption``): it
    shrank, or stopped at a checkpoint and queued again."""
    stragglers: int = 0
    """Slow trays that struck it (``failures.stragglers``)."""
    straggler_hours: float = 0.0
    """Hours it had a slow tray among its racks, not yet found (it ran slowed meanwhile)."""
    gpu_hours: dict[str, float]
    submit_days: float | None
    """Day it joined the queue (None: it never did — the jobs it comes after did not finish)."""
    start_days: float | None
    wait_days: float | None
    """Days it queued before it started (None: it never started)."""
    finish_days: float | None
    """Day it finished (projected at its average rate if the horizon ended first)."""
    finished: bool
    time_to_train_days: float | None
    """Days from start to the end of its token budget (projected at its average rate if the
    horizon ended first; ``finished`` says which): ``finish_days − start_days``."""
    energy_mwh: float
    """Facility energy of its racks (IT × PUE), including idle and restart time."""
    mean_power_mw: float
    peak_power_mw: float
    mwh_per_trillion_tokens: float
    throttled_hours: float
    """Hours it ran below full clock because of the facility cap."""
    min_clock: float
    step_s_at_min_clock: float
    """Its step at the lowest clock the cap forced: only the compute-bound part stretches."""
    power_swing_mw: float
    """Facility MW between its communication and compute phases at full clock (synchronous)."""


class ClusterResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    racks: int
    gpus: int
    hours: float
    allocated_frac: float
    productive_frac: float
    gpu_hours: dict[str, float]
    failures: int
    spare_gpu_failures: int
    """Failures of a job's idle hot-spare GPUs or trays: repaired, no interruption."""
    repairs: int
    events: int
    makespan_days: float | None
    """Day the last job finished (None: not every job finished within the horizon)."""
    idle_gpu_hours: dict[str, float]
    """``gpu_hours["idle"]`` by why the racks were idle (``IdleReason``)."""
    fabric_faults: int
    lemon_trays: int = 0
    """Compute trays that fail far more often than the rest (``failures.lemons``; 0: none)."""
    lemon_failures: int = 0
    """Failures of lemon trays (counted in ``failures`` too)."""
    lemons_found: int = 0
    """Lemon trays found and replaced by sound ones during the run."""
    stragglers: int = 0
    """Slow trays that started during the run (``failures.stragglers``), on a job's racks or
    not."""
    storage_busy_frac: float
    """Share of the run the site's checkpoint storage spent writing: the bytes written over
    what its bandwidth could have written in the run (1.0: it never rests)."""
    storage_pb_written: float
    storage_peak_tb_per_s: float = 0.0
    """The most the running jobs' shares of the shared checkpoint storage added up to (its
    bandwidth when some job writes without pause)."""
    checkpoints_by_tier: dict[str, int]
    """Every job's checkpoints durable in each tier (``JobResult.checkpoints_by_tier``)."""
    checkpoint_pb_by_tier: dict[str, float]
    checkpoint_mean_interval_min_by_tier: dict[str, float]
    """Mean compute between a checkpoint in each tier and the job's last before it, over all
    jobs' checkpoints there (null where none)."""
    power_cap_mw: float
    peak_it_mw: float
    peak_facility_mw: float
    mean_facility_mw: float
    energy_mwh: float
    power_swing_mw: float
    """Largest simultaneous compute/communication swing of all running jobs (facility MW)."""
    grid: GridResult


class RunResult(BaseModel):
    """Everything a run produced; ``jobs_frame``/``cluster_frame``/``timeline_frame`` for pandas."""

    model_config = ConfigDict(frozen=True)

    scenario: str
    seed: int
    what_if: list[str]
    """The ``--set`` overrides the run was made with, as given (empty: the file as written)."""
    version: str
    """The colossus-sim version that made it."""
    jobs: list[JobResult]
    cluster: ClusterResult
    timeline: Timeline
    power: PowerSeries
    job_series: JobSeries

    @property
    def label(self) -> str:
        """What made the run, for titles: its scenario, what-ifs and seed."""
        what_if = "".join(f" + {text}" for text in self.what_if)
        return f"{self.scenario}{what_if} (seed {self.seed})"

    def __repr__(self) -> str:
        """A few lines (``frames.summary_text``), not the timeline's megabytes."""
        return frames.summary_text(self)

    __str__ = __repr__

    def _repr_html_(self) -> str:
        return frames.summary_html(self)

    def _stamped(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with what made the run in its ``attrs`` (kept in its Parquet file)."""
        made_by = {"scenario": self.scenario, "what_if": list(self.what_if), "seed": self.seed}
        frame.attrs.update(made_by, version=self.version, label=self.label)
        return frame

    def summary(self) -> dict[str, Any]:
        """The ``run --json`` object: everything but the timeline and power samples."""
        return self.model_dump(mode="json", exclude={"timeline", "power", "job_series"})

    def jobs_frame(self) -> pd.DataFrame:
        """One row per job (``frames.jobs_frame``: ``job``, days, breakdowns as columns)."""
        return self._stamped(frames.jobs_frame(self))

    def cluster_frame(self) -> pd.DataFrame:
        """One row: the cluster's figures (``frames.cluster_frame``)."""
        return self._stamped(frames.cluster_frame(self))

    def timeline_frame(self) -> pd.DataFrame:
        """One row per event: ``time_days``, ``kind``, ``job``, ``rack``, ``detail``."""
        return self._stamped(frames.series_frame(self.timeline))

    def power_frame(self) -> pd.DataFrame:
        """Site power over time: one row per change, valid until the next row."""
        return self._stamped(frames.series_frame(self.power))

    def job_series_frame(self) -> pd.DataFrame:
        """Each job's status, racks and step time: one row per change, valid until that job's
        next row."""
        return self._stamped(frames.series_frame(self.job_series))


_NUMBERS = (int, float, bool, int | None, float | None)


def job_number_columns() -> list[str]:
    """The number columns ``RunResult.jobs_frame`` has (a sweep's table too), from the result
    schema alone: what a plot's y axis may be, known before anything runs."""
    columns = []
    for name, field in JobResult.model_fields.items():
        if name in frames.FLATTENED:
            columns += [
                f"{name}_{sub}"
                for sub, inner in frames.FLATTENED[name].model_fields.items()
                if inner.annotation in _NUMBERS
            ]
        elif name == "gpu_hours":
            columns += [f"gpu_hours_{state}" for state in JOB_STATES]
        elif field.annotation in _NUMBERS:
            columns.append(frames.RENAMED.get(name, name))
    return columns + frames.breakdown_columns()


def json_text(payload: Any) -> str:
    """Strict JSON (RFC 8259): a figure that is not a finite number (a job that never ran has
    no checkpoint interval) is ``null``, never ``Infinity`` or ``NaN``."""
    return json.dumps(_finite(payload), indent=2, sort_keys=True, allow_nan=False) + "\n"


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def json_bytes(payload: Any) -> bytes:
    return json_text(payload).encode()


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    import pyarrow as pa  # imported here: only writers of Parquet pay for it
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return bytes(sink.getvalue().to_pybytes())


RUN_FILES = (
    "result.json",
    "jobs.parquet",
    "cluster.parquet",
    "timeline.parquet",
    "power.parquet",
    "job_series.parquet",
)
"""The files of a run's result folder (``run --out``), in the order they are written."""


def run_files(result: RunResult) -> dict[str, bytes]:
    """``result.json`` (everything), and ``jobs``, ``cluster``, ``timeline``, ``power``,
    ``job_series`` as Parquet: name → bytes, the same bytes for the same scenario and seed."""
    files = {"result.json": json_bytes(result.model_dump(mode="json"))}
    for name, frame in (
        ("jobs", result.jobs_frame()),
        ("cluster", result.cluster_frame()),
        ("timeline", result.timeline_frame()),
        ("power", result.power_frame()),
        ("job_series", result.job_series_frame()),
    ):
        files[f"{name}.parquet"] = parquet_bytes(frame)
    return files
