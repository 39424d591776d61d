"""Arrivals: when each job joins the queue — at its ``submit_days``, or once the jobs it comes
``after`` have all finished (plus each one's lag), whichever is later. Returns (job, time)
decisions; the engine queues the job then. Cost: O(jobs) once, O(dependants) per finish.
"""

from __future__ import annotations

from collections.abc import Sequence

from colossus_sim.sim.jobs import JobRun
from colossus_sim.units import SECONDS_PER_DAY


class Arrivals:
    """Who waits for whom in one run."""

    def __init__(self, jobs: Sequence[JobRun]) -> None:
        self.by_name = {job.name: job for job in jobs}
        self.jobs = jobs
        self.dependants: dict[str, list[JobRun]] = {}
        for job in jobs:
            for other in job.setup.after:
                self.dependants.setdefault(other, []).append(job)

    def initial(self) -> list[tuple[JobRun, float]]:
        """Jobs that wait for no other job, and when each joins the queue."""
        return [(j, j.setup.submit_days * SECONDS_PER_DAY) for j in self.jobs if j.waits_for == 0]

    def after_finish(self, done: JobRun) -> list[tuple[JobRun, float]]:
        """Jobs ``done`` finishing releases (their last predecessor), and when each joins."""
        ready = []
        for job in self.dependants.get(done.name, []):
            job.waits_for -= 1
            if job.waits_for:
                continue
            after_s = max(
                (self.by_name[name].finish_s or 0.0) + lag * SECONDS_PER_DAY
                for name, lag in job.setup.after.items()
            )
            ready.append((job, max(after_s, job.setup.submit_days * SECONDS_PER_DAY)))
        return ready
