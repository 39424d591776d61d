"""A scenario job's phases (``jobs.<job>.phases``), and how they become jobs of their own.

A job may go on, after its own work, through phases run in order: the job itself is the
first phase (its workload's budget, or its ``days`` or ``tokens``); each later phase is a
training phase (``tokens`` on the job's workload, timed by the step model) or a fixed-length
one (``days``, for work the step model does not time, such as RL rollouts), on racks and a GPU
type of its own, and joins the queue ``lag_days`` after the phase before it finishes.

**Where the expansion happens, and why.** As the last step of validating a ``Scenario``
(``expand_phases``, called by its model validator): phase ``sft`` of job ``grok45_15t_a``
becomes a job named ``grok45_15t_a/sft`` that comes ``after`` the phase before it, with that
phase's lag. Before that step the file is validated as written: each phase against ``Phase``,
so a bad value is located at the phase's own line, and the provenance rule is checked on the
keys the file wrote (``jobs.<job>.phases.<phase>``). After it, a validated ``Scenario`` holds
only jobs the existing mechanism runs, so the scheduler, the ``after:`` checks (a phase is
named by its full name, ``after: [grok5_10t/rl]``), figure paths
(``jobs.grok45_15t_a/sft.finish_days``), results and every other reader of ``scenario.jobs``
see one set of names, and none of them has to know about phases or can forget to expand them.
Expanding the raw data before validation would locate a phase's errors at a job the file does
not have and check provenance on keys it did not write; expanding in the loader after
validation would leave a ``Scenario`` validated anywhere else with phases nothing runs.

The phases' jobs come after all the written jobs, job by job and phase by phase, so adding
phases leaves the written jobs' order (the engine's order for ties and sums) as it was.

Checks made once the files are loaded (an unknown GPU type, more racks than the cluster has)
name an expanded job's field; ``written_field`` turns it back into the phase's
(``jobs.grok45_15t_a/sft.racks`` → ``jobs.grok45_15t_a.phases.sft.racks``), so the error is
located at the phase's line, or blamed on the ``--set`` that wrote the field.

``/`` joins a job's name to its phase's, so a job's own name may not contain it, and a phase's
name may contain neither it nor ``.`` (which separates the parts of a field path). Cost:
O(jobs + phases).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import Field, model_validator

from colossus_sim.config.base import NonNegativeFloat, PositiveFloat, StrictModel
from colossus_sim.errors import FieldValueError

if TYPE_CHECKING:
    from colossus_sim.config.scenario import ScenarioJob

SEPARATOR = "/"
"""Between a job's name and its phase's: ``grok45_15t_a/sft``."""

#: Fields of an expanded job a phase cannot set: they are its job's.
_INHERITED = frozenset({"workload", "on_rack_loss", "recovery", "checkpoint_to"})


class Phase(StrictModel):
    """A phase after a job's own work: how much work, on what, and when it joins the queue."""

    tokens: PositiveFloat | None = None
    """A training phase: this many tokens on the job's workload, timed by the step model."""
    days: PositiveFloat | None = None
    """A fixed-length phase: as much work as ``days`` of running on its racks with nothing
    failing (what the step model does not time: RL rollouts, evaluation)."""
    racks: Annotated[int, Field(ge=1)] | None = None
    """Default: the job's."""
    gpu: str | None = None
    """Default: the job's."""
    min_racks: Annotated[int, Field(ge=1)] | None = None
    """As a job's; not the job's own (it bounds this phase's racks): default none."""
    max_racks: Annotated[int, Field(ge=1)] | None = None
    """As a job's; not the job's own: default no growth."""
    lag_days: NonNegativeFloat = 0.0
    """Days after the phase before it finishes that it joins the queue."""
    priority: int | None = None
    """Default: the job's."""

    @model_validator(mode="after")
    def _one_kind_of_work(self) -> Self:
        if self.days is None and self.tokens is None:
            raise ValueError(
                "a phase needs its work: tokens (a training budget on the job's workload) "
                "or days (fixed-length work)"
            )
        if self.days is not None and self.tokens is not None:
            raise ValueError("give days (fixed-length work) or tokens, not both")
        return self


def check_phase_names(phases: dict[str, Phase]) -> dict[str, Phase]:
    """A phase's name is part of its job's name and of field paths: no ``/`` or ``.``."""
    for name in phases:
        if not name or SEPARATOR in name or "." in name:
            raise ValueError(
                f"a phase's name is part of its job's name (<job>{SEPARATOR}<phase>) and of "
                f"field paths, so it may not be empty or contain '{SEPARATOR}' or '.' "
                f"(got {name!r})"
            )
    return phases


def expand_phases(jobs: Mapping[str, ScenarioJob]) -> dict[str, ScenarioJob]:
    """The written jobs, then each one's phases as jobs of their own (in order)."""
    for name in jobs:
        if SEPARATOR in name:
            raise FieldValueError(
                f"jobs.{name}",
                f"'{SEPARATOR}' joins a job's name to its phase's (<job>{SEPARATOR}<phase>), "
                "so a job's own name may not contain it",
            )
    expanded = dict(jobs)
    for name, job in jobs.items():
        previous = name
        for phase_name, phase in job.phases.items():
            full = f"{name}{SEPARATOR}{phase_name}"
            expanded[full] = type(job)(
                workload=job.workload or name,
                racks=phase.racks or job.racks,
                gpu=job.gpu if phase.gpu is None else phase.gpu,
                priority=job.priority if phase.priority is None else phase.priority,
                on_rack_loss=job.on_rack_loss,
                recovery=job.recovery,
                checkpoint_to=job.checkpoint_to,
                min_racks=phase.min_racks,
                max_racks=phase.max_racks,
                after={previous: phase.lag_days},
                days=phase.days,
                tokens=phase.tokens,
            )
            previous = full
    return expanded


def written_field(jobs: Mapping[str, ScenarioJob], field: str) -> str:
    """The field a file or ``--set`` writes behind ``field``: a phase's job's field is the
    phase's (``jobs.a/rl.racks`` → ``jobs.a.phases.rl.racks``, even when the phase leaves it
    to the job, so the error points at the phase), its place in the chain (``after``) is the
    phase itself, and what a phase cannot set is its job's (``jobs.a/rl.recovery`` →
    ``jobs.a.recovery``). Any other field is its own."""
    parts = field.split(".", 2)
    if len(parts) < 2 or parts[0] != "jobs" or SEPARATOR not in parts[1]:
        return field
    job, _, phase = parts[1].partition(SEPARATOR)
    owner = jobs.get(job)
    if owner is None or phase not in owner.phases:
        return field
    rest = parts[2] if len(parts) == 3 else ""
    key = rest.split(".", 1)[0]
    if key in _INHERITED:
        return f"jobs.{job}.{rest}"
    if not rest or key == "after":
        return f"jobs.{job}.phases.{phase}"
    return f"jobs.{job}.phases.{phase}.{rest}"


__all__ = ["SEPARATOR", "Phase", "check_phase_names", "expand_phases", "written_field"]
