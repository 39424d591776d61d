"""The site's shared checkpoint storage during a run: the bandwidth a job's checkpoint writes
and restart reads get from the one pool all jobs share (``perf/storage.py`` says how it is
divided), and the highest rate the pool was asked to serve.

The jobs sharing the pool are the running ones that checkpoint to storage, each asking for
its checkpoint's bytes over the interval it would choose if writing were free (set when it
last started running: a job's cadence holds until its next start, so the others it shares
with are those running then). A restart's read competes with them as a job that wants all it
can get; a restarting job is not counted against the writers (its read is minutes of a
restart that is mostly detection and start-up). ``in_memory`` jobs write to peers, not here.
Cost: O(running jobs × log) per job start or restart; no event of its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from colossus_sim.kinds import JobStatus
from colossus_sim.perf.storage import burst_bytes_per_s, fair_shares
from colossus_sim.sim.jobs import JobRun


class SharedStorage:
    """One run's checkpoint storage: ``capacity_bytes_per_s`` shared by the jobs."""

    def __init__(self, capacity_bytes_per_s: float, gpus_of: Callable[[JobRun], int]) -> None:
        self.capacity_bytes_per_s = capacity_bytes_per_s
        self.gpus_of = gpus_of
        """A job's weight in the pool: the GPUs it trains on (one shard stream each)."""
        self.peak_bytes_per_s = 0.0
        """The most the running jobs' shares of the pool added up to at any start."""

    def write_bytes_per_s(
        self, job: JobRun, demand_bytes_per_s: float, jobs: Iterable[JobRun]
    ) -> float:
        """What ``job``'s checkpoint writes are served at, starting to run now beside the
        other running ``jobs``, when it asks for ``demand_bytes_per_s`` on average."""
        return self._served(job, demand_bytes_per_s, jobs, record=True)

    def read_bytes_per_s(self, job: JobRun, jobs: Iterable[JobRun], gpus: int = 0) -> float:
        """What ``job``'s restart reads its checkpoint at, beside the running ``jobs``, on the
        GPUs it holds (or ``gpus``, for a job that holds none now)."""
        return self._served(job, math.inf, jobs, record=False, gpus=gpus)

    def _served(
        self,
        job: JobRun,
        demand_bytes_per_s: float,
        jobs: Iterable[JobRun],
        *,
        record: bool,
        gpus: int = 0,
    ) -> float:
        writers = [
            other
            for other in jobs
            if other is not job
            and other.status is JobStatus.RUNNING
            and other.cadence is not None
            and other.cadence.storage_demand_bytes_per_s > 0
        ]
        weights = [float(self.gpus_of(other)) for other in writers]
        demands = [other.cadence.storage_demand_bytes_per_s for other in writers if other.cadence]
        weights.append(float(self.gpus_of(job) or gpus))
        demands.append(demand_bytes_per_s)
        shares = fair_shares(self.capacity_bytes_per_s, weights, demands)
        if record:
            self.peak_bytes_per_s = max(self.peak_bytes_per_s, math.fsum(shares))
        return burst_bytes_per_s(
            self.capacity_bytes_per_s, weights, demands, shares, len(shares) - 1
        )
