"""Job traces as background work: a Standard Workload Format (SWF) or CSV file read into rigid
fixed-length jobs (``ScenarioJob``s with ``submit_days``, ``days`` and ``racks``).

SWF (Parallel Workloads Archive, version 2.2, docs/sources.md#pwa-swf): one job per line,
whitespace-separated numbers, ``-1`` for unknown, ``;`` starts a comment. Read: field 1 job
number, 2 submit time (s), 4 run time (s), 5 allocated processors (8, requested processors,
when 5 is unknown). CSV: a header naming ``submit_s``, ``run_s`` and ``gpus`` or ``racks``.

The rule from size to racks: ``gpus = processors × gpus_per_processor``, then
``racks = ⌈gpus ÷ the workload's active GPUs per rack⌉`` (at least one); times are scaled by
``time_scale`` and shifted by ``start_days``. A job with no run time or no size (cancelled
before it ran, ``-1``) is skipped and counted. Errors name the file and line. Cost: one pass
over the file.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from colossus_sim.config.scenario import ScenarioJob, TraceSpec
from colossus_sim.errors import Issue, ScenarioError
from colossus_sim.units import SECONDS_PER_DAY

SWF_MIN_FIELDS = 5
"""Job number, submit, wait, run time, allocated processors: the fields a job needs."""


@dataclass(frozen=True)
class TraceJob:
    """One job of a trace, as read: its number, submit and run seconds, and size in GPUs."""

    number: int
    line: int
    submit_s: float
    run_s: float
    gpus: float
    racks: int | None = None
    """A CSV's ``racks`` column, when it gives racks instead of GPUs."""


@dataclass(frozen=True)
class Trace:
    """A trace's jobs as scenario jobs (by name), and how many lines were skipped."""

    jobs: dict[str, ScenarioJob]
    lines: dict[str, int]
    """The line each job came from (for errors about a job)."""
    skipped: int


def read_trace(path: Path, spec: TraceSpec, active_gpus_per_rack: int) -> Trace:
    """The jobs of the trace at ``path`` as rigid fixed-length scenario jobs."""
    reader = _csv_jobs if path.suffix.lower() == ".csv" else _swf_jobs
    jobs: dict[str, ScenarioJob] = {}
    lines: dict[str, int] = {}
    skipped = 0
    for job in reader(path, spec.gpus_per_processor):
        if job.run_s <= 0 or (job.gpus <= 0 and not job.racks):
            skipped += 1
            continue
        if spec.max_jobs is not None and len(jobs) >= spec.max_jobs:
            break
        name = f"{spec.prefix}{job.number}"
        if name in jobs:
            raise _error(path, job.line, f"job number {job.number} appears twice")
        jobs[name] = ScenarioJob(
            workload=spec.workload,
            gpu=spec.gpu,
            racks=job.racks or max(math.ceil(job.gpus / active_gpus_per_rack - 1e-9), 1),
            priority=spec.priority,
            submit_days=spec.start_days + job.submit_s * spec.time_scale / SECONDS_PER_DAY,
            days=job.run_s * spec.time_scale / SECONDS_PER_DAY,
        )
        lines[name] = job.line
    return Trace(jobs=jobs, lines=lines, skipped=skipped)


def _swf_jobs(path: Path, gpus_per_processor: float) -> Iterator[TraceJob]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, raw in enumerate(handle, start=1):
            text = raw.strip()
            if not text or text.startswith(";"):
                continue
            fields = text.split()
            if len(fields) < SWF_MIN_FIELDS:
                raise _error(
                    path,
                    number,
                    f"an SWF job line needs at least {SWF_MIN_FIELDS} fields",
                    got=f"{len(fields)}",
                )
            values = [_number(path, number, i + 1, f) for i, f in enumerate(fields)]
            processors = values[4] if values[4] > 0 else (values[7] if len(values) > 7 else -1)
            yield TraceJob(
                number=int(values[0]),
                line=number,
                submit_s=values[1],
                run_s=values[3],
                gpus=processors * gpus_per_processor if processors > 0 else -1.0,
            )


def _csv_jobs(path: Path, gpus_per_processor: float) -> Iterator[TraceJob]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle)
        names = set(rows.fieldnames or [])
        if not {"submit_s", "run_s"} <= names or not names & {"gpus", "racks"}:
            raise _error(
                path,
                1,
                "a CSV trace's header names submit_s, run_s and gpus or racks",
                got=", ".join(sorted(names)) or "no header",
            )
        for index, row in enumerate(rows, start=1):
            line = rows.line_num
            values = {k: _number(path, line, k, v or "") for k, v in row.items() if k in names}
            racks = values.get("racks")
            if racks is not None and (racks != int(racks) or racks < 0):
                raise _error(path, line, "racks is not a whole number", got=repr(row["racks"]))
            yield TraceJob(
                number=index,
                line=line,
                submit_s=values["submit_s"],
                run_s=values["run_s"],
                gpus=values.get("gpus", 0.0) * gpus_per_processor,
                racks=None if racks is None else int(racks),
            )


def _number(path: Path, line: int, field: int | str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _error(path, line, f"field {field} is not a number", got=repr(text)) from None
    if not math.isfinite(value):
        raise _error(path, line, f"field {field} is not a finite number", got=repr(text))
    return value


def _error(path: Path, line: int, message: str, got: str | None = None) -> ScenarioError:
    return ScenarioError([Issue(message, "trace", file=str(path), line=line, got=got)])
