"""The site's shared checkpoint storage during a run: the bandwidth a job's checkpoint writes
and restart reads get from the one pool all jobs share (``perf/checkpoint_storage.py`` says
how it is divided), and the highest rate the pool was asked to serve.

The jobs sharing the pool are the running ones that checkpoint to storage, each asking for
its checkpoint's bytes over the interval it would choose if writing were free (set when it
last started running: a job's cadence holds until its next start, so the others it shares
with are those running then). A restart's read competes with them as a job that wants all it
can get; a restarting job is not counted against the writers (its read is minutes of a
restart that is mostly detection and start-up). A tiered job (``in_memory``, ``local_nvme``)
asks for its every k-th checkpoint's bytes, the ones that go on to the storage.
Cost: O(running jobs) per job start or restart (O(n log n) the first time a set of writers
is seen; remembered after); the re-division after a start or finish asks every running writer
and is one division of the pool for them all (O(n log n), and O(n²) additions in C); no
event of its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from colossus_sim.kinds import JobStatus
from colossus_sim.perf.checkpoint_storage import (
    burst_bytes_per_s,
    fair_shares,
    never_rests,
    served_bytes_per_s,
)
from colossus_sim.sim.jobs import Cadence, JobRun

SERVED_CACHE_SIZE = 1 << 16
"""Answers remembered at most (a long stream's writers take many more states than that)."""
DIVISIONS_KEPT = 256
"""Divisions of the pool remembered at most (each holds every writer's answer)."""

Writers = dict[int, tuple[float, float]]
"""Writers by job index: (GPUs, demand bytes/s)."""


class SharedStorage:
    """One run's checkpoint storage: ``capacity_bytes_per_s`` shared by the jobs writing to
    it (the lifecycle says when a job starts and stops running)."""

    def __init__(self, capacity_bytes_per_s: float) -> None:
        self.capacity_bytes_per_s = capacity_bytes_per_s
        self.writers: dict[int, tuple[float, float]] = {}
        """The running jobs that checkpoint here, by index: (GPUs they train on — their weight
        in the pool, one shard stream each —, bytes/s they ask for on average)."""
        self.peak_bytes_per_s = 0.0
        """The most the running jobs' shares of the pool added up to at any start."""
        self._served_cache: dict[
            tuple[tuple[tuple[int, tuple[float, float]], ...], int, int, float],
            tuple[float, float],
        ] = {}
        """What ``_serve`` gave a read or an odd request beside the same writers, keyed by the
        writers as they stand (a tuple made at C speed), the job, its GPUs and its demand;
        emptied when it grows past ``SERVED_CACHE_SIZE``."""
        self.signature = 0
        """The writers as a set: the XOR of each one's hash (order does not enter)."""
        self._divisions: dict[int, tuple[Writers, dict[int, tuple[float, float]]]] = {}
        """By signature: the writers a division was made for and every writer's answer in it
        (``_divide``); at most ``DIVISIONS_KEPT``."""

    def running(self, job: JobRun, gpus: int, demand_bytes_per_s: float) -> None:
        """``job`` runs on ``gpus`` GPUs, asking for ``demand_bytes_per_s`` (0: not here)."""
        if demand_bytes_per_s > 0:
            entry = (float(gpus), demand_bytes_per_s)
            old = self.writers.get(job.index)
            if old != entry:
                if old is not None:
                    self.signature ^= hash((job.index, old))
                self.writers[job.index] = entry
                self.signature ^= hash((job.index, entry))

    def stopped(self, job: JobRun) -> None:
        """``job`` stopped running (for a restart, a resize, a preemption or its end)."""
        old = self.writers.pop(job.index, None)
        if old is not None:
            self.signature ^= hash((job.index, old))

    def write_bytes_per_s(self, job: JobRun, gpus: int, demand_bytes_per_s: float) -> float:
        """What ``job``'s checkpoint writes are served at, running on ``gpus`` GPUs beside the
        other writers, when it asks for ``demand_bytes_per_s`` on average."""
        return self._served(job, gpus, demand_bytes_per_s, record=True)

    def read_bytes_per_s(self, job: JobRun, gpus: int) -> float:
        """What ``job``'s restart on ``gpus`` GPUs reads its checkpoint at, beside the
        writers."""
        return self._served(job, gpus, math.inf, record=False)

    def _served(self, job: JobRun, gpus: int, demand_bytes_per_s: float, *, record: bool) -> float:
        entry = (float(gpus), demand_bytes_per_s)
        current = self.writers.get(job.index)
        members: Writers | None = None
        if current == entry:  # it asks as it writes now
            signature, members = self.signature, self.writers
        elif current is None and demand_bytes_per_s != math.inf:  # as it will write
            signature = self.signature ^ hash((job.index, entry))
            members = {**self.writers, job.index: entry}
        if members is not None:
            served, total = self._division(signature, members)[job.index]
        else:  # a restart's read (all it can get), beside the writers
            served, total = self._one(job.index, gpus, demand_bytes_per_s)
        if record:
            self.peak_bytes_per_s = max(self.peak_bytes_per_s, total)
        return served

    def _one(self, index: int, gpus: int, demand_bytes_per_s: float) -> tuple[float, float]:
        key = (tuple(self.writers.items()), index, gpus, demand_bytes_per_s)
        known = self._served_cache.get(key)
        if known is None:
            others = tuple(item for item in key[0] if item[0] != index)
            known = self._serve(others, float(gpus), demand_bytes_per_s)
            if len(self._served_cache) >= SERVED_CACHE_SIZE:
                self._served_cache.clear()
            self._served_cache[key] = known
        return known

    def _division(self, signature: int, members: Writers) -> dict[int, tuple[float, float]]:
        """Every writer's answer when ``members`` write (``signature``: their set's)."""
        found = self._divisions.get(signature)
        if found is not None and found[0] == members:
            return found[1]
        divided = self._divide(members)
        if len(self._divisions) >= DIVISIONS_KEPT:
            self._divisions.clear()
        self._divisions[signature] = (dict(members), divided)
        return divided

    def _serve(
        self, others: tuple[tuple[int, tuple[float, float]], ...], gpus: float, demand: float
    ) -> tuple[float, float]:
        """(What a job of ``gpus`` asking ``demand`` is served at beside ``others``, the sum
        of everyone's shares)."""
        weights = [weight for _, (weight, _) in others] + [gpus]
        demands = [wanted for _, (_, wanted) in others] + [demand]
        shares = fair_shares(self.capacity_bytes_per_s, weights, demands)
        total = math.fsum(shares)
        if never_rests(shares[-1], demand):
            return shares[-1], total  # it never rests: its writes are served at its share
        last = len(shares) - 1
        return burst_bytes_per_s(self.capacity_bytes_per_s, weights, demands, shares, last), total

    def _divide(self, members: Writers) -> dict[int, tuple[float, float]]:
        """``_serve``'s answer for each writer, from one ``fair_shares`` of them all (the
        shares depend on the set, not the order) and ``served_bytes_per_s``."""
        capacity = self.capacity_bytes_per_s
        items = list(members.items())
        weights = [weight for _, (weight, _) in items]
        demands = [wanted for _, (_, wanted) in items]
        shares = fair_shares(capacity, weights, demands)
        total = math.fsum(shares)
        served = served_bytes_per_s(capacity, weights, demands, shares)
        return {index: (rate, total) for (index, _), rate in zip(items, served, strict=True)}

    @staticmethod
    def reshares(
        jobs: Iterable[JobRun],
        started: JobRun | None,
        cadence_now: Callable[[JobRun], Cadence],
        now_s: float,
    ) -> list[tuple[JobRun, float]]:
        """After ``started`` started (or a job finished): the running ``jobs`` other than it
        that write here and whose cadence would change now, each with the end of its current
        checkpoint cycle, when it takes its new part. Restarts do not re-divide the storage:
        a restarting job's part waits for the others' next start."""
        due = []
        for job in jobs:
            cadence = job.cadence
            if job is started or job.status is not JobStatus.RUNNING or cadence is None:
                continue
            if cadence.storage_demand_bytes_per_s and cadence_now(job) != cadence:
                cycle_s = job.interval_s + job.blocking_s
                cycles = math.floor((now_s - job.since_s) / cycle_s) + 1
                due.append((job, job.since_s + cycles * cycle_s))
        return due
