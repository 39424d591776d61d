"""When a running job's token budget runs out, with one pending event per job, not one per
change of its rate.

Every failure, restart, clock or bandwidth change re-times a job's finish; scheduling a
finish event each time left ~9k stale events in the default run. A failure or a restart only
ever moves a finish later, so a job keeps one check pending, at the earliest finish yet: when
it comes, the job finishes if that finish is still the one due (set at the job's current
``version``), else the check moves on to the finish due now. A finish that moves earlier (a
higher clock) gets its own check. The finish runs at the time it was due, exactly.
Cost: O(1) per re-timing; a check per time a job's due finish had moved on when it came.
"""

from __future__ import annotations

from collections.abc import Callable

from colossus_sim.sim.inline import Clock
from colossus_sim.sim.jobs import JobRun


class FinishChecks:
    """The pending finish checks of one run's jobs; ``finish`` applies a finish."""

    def __init__(self, clock: Clock, finish: Callable[[JobRun], None]) -> None:
        self.clock = clock
        self.finish = finish

    def due(self, job: JobRun, at_s: float) -> None:
        """``job`` (at its current version) runs out of tokens at ``at_s``."""
        job.finish_due_s = at_s
        job.finish_version = job.version
        if job.finish_watch_s is None or job.finish_watch_s > at_s:
            self._watch(job, at_s)

    def _watch(self, job: JobRun, at_s: float) -> None:
        job.finish_watch_s = at_s
        self.clock.call_at(at_s, lambda _ev: self._check(job, at_s))

    def _check(self, job: JobRun, at_s: float) -> None:
        current = job.finish_version == job.version
        if current and job.finish_due_s == at_s:
            self.finish(job)
            return
        if job.finish_watch_s != at_s:
            return  # an earlier check was set after this one: it looks after the job
        job.finish_watch_s = None
        if current and job.finish_due_s > at_s:
            self._watch(job, job.finish_due_s)
