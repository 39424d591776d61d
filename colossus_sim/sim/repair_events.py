"""When a GPU repair is an event and when it waits (``repairs.py``), and what a waiting one
does when it comes due: the lifecycle's repair bookkeeping.

A repair does more than count only when something may act on it: a stalled job holding the
rack may restart, or a job could take the rack once it is whole (a queued job of its type,
one below its racks or allowed to grow, or any job under priority preemption). Any other
repair waits in the pending heap and is applied at the start of the next event, at its own
time: a rack a running job holds regains its GPUs; a free rack does too and, when whole,
tops the spare pool back up as the hand-out would have (nobody else wants it). When that
changes — racks move, a job is queued, a job stalls or a stalled one restarts — the pending
repairs that would now act are handed back to become events.

Cost: O(1) per repair decision (O(live jobs of the type) for a free rack), O(log n) per
pending repair; a hand-back check is O(pending) and runs only after such a change.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from colossus_sim.cluster import FREE, ClusterState
from colossus_sim.kinds import EventKind, JobStatus
from colossus_sim.sim import admission
from colossus_sim.sim.inline import Clock
from colossus_sim.sim.jobs import JobRun
from colossus_sim.sim.ledger import Ledger
from colossus_sim.sim.repairs import PendingRepairs


class RepairEvents:
    """The lifecycle's repair bookkeeping (a base of ``Lifecycle``, which sets the state)."""

    env: Clock
    cluster: ClusterState
    ledger: Ledger
    jobs: list[JobRun]
    live: dict[int, JobRun]
    pending_repairs: PendingRepairs
    preempts: bool
    spare_target: dict[str, int]
    site_it_w: float
    repairs_seen: int
    recheck_repairs: bool
    """A job was queued, stalled or restarted from a stall: pending repairs may now act."""

    def _later(self, delay_s: float, action: Callable[[], None]) -> None:
        raise NotImplementedError

    def _repaired(self, rack: int, gpus: int) -> None:
        raise NotImplementedError

    def _apply_due_repairs(self) -> None:
        """The pending repairs due by now, each charged and recorded at its own time."""
        heap = self.pending_repairs.heap
        if heap and heap[0][0] <= self.env.now:
            for at_s, rack, gpus in self.pending_repairs.due(self.env.now):
                self.ledger.advance_cluster(at_s, self.site_it_w)
                if self._count_repair(rack, gpus, at_s) is None:
                    self._top_up_spares(rack)

    def _count_repair(self, rack: int, gpus: int, at_s: float | None = None) -> JobRun | None:
        """``rack`` regains ``gpus`` GPUs (now, or at ``at_s``); returns the job holding it."""
        self.ledger.repairs += 1
        self.cluster.change_health(rack, gpus)
        job = self._holder(rack)
        self.ledger.log(EventKind.REPAIR, job, rack, at_s=at_s)
        return job

    def _top_up_spares(self, rack: int) -> None:
        """A free ``rack`` no job wants is whole again: the spare pool takes it if short."""
        cluster = self.cluster
        if cluster.healthy[rack] != cluster.gpus_per_rack:
            return
        gpu = cluster.type_names[int(cluster.gpu_type[rack])]
        if cluster.counts_of(gpu)[0] == 0:
            return  # it went back to the spare pool it came from
        spares = admission.spare_top_up(cluster, gpu, self.spare_target.get(gpu, 0))
        if spares is not None:
            cluster.set_spare(spares)

    def _holder(self, rack: int) -> JobRun | None:
        owner = int(self.cluster.owner[rack])
        return self.jobs[owner] if owner != FREE else None

    def _repair_acts(
        self, rack: int, holder: JobRun | None, wanted: Callable[[int], bool] | None = None
    ) -> bool:
        """Whether a repair of ``rack``, held by ``holder`` (None: no job), does more than
        count: a stalled job may restart, a job may take the free rack (``_repaired``).
        ``wanted``: ``_wanted``, or a caller's remembering copy of it."""
        if holder is not None:
            return holder.status is JobStatus.STALLED
        return (wanted or self._wanted)(int(self.cluster.gpu_type[rack]))

    def _wanted(self, kind: int) -> bool:
        """Whether a job could take a free rack of GPU type ``kind`` now: any, under priority
        preemption; else one of the type queued, below its racks or allowed to grow."""
        if self.preempts:
            return True
        gpu = self.cluster.type_names[kind]
        owned = self.cluster.owned_count
        return admission.any_wants((j for j in self.live.values() if j.gpu.name == gpu), owned)

    def _repair_later(self, job: JobRun | None, rack: int, gpus: int, delay_s: float) -> None:
        """Repair ``gpus`` of ``rack`` (held by ``job``) in ``delay_s``: an event if it acts,
        else pending until the engine next acts."""
        if self._repair_acts(rack, job):
            self._later(delay_s, functools.partial(self._repaired, rack, gpus))
        else:
            self.pending_repairs.add(self.env.now + delay_s, rack, gpus)

    def _hand_back_repairs(self) -> None:
        """Pending repairs that would now act become events."""
        if not self.pending_repairs.heap:
            return
        changes = self.cluster.allocation_changes
        if changes == self.repairs_seen and not self.recheck_repairs:
            return
        self.repairs_seen, self.recheck_repairs = changes, False
        wanted = functools.cache(self._wanted)  # by GPU type, asked once per check
        for at_s, rack, gpus in self.pending_repairs.hand_back(
            lambda rack: self._repair_acts(rack, self._holder(rack), wanted)
        ):
            repaired = functools.partial(self._repaired, rack, gpus)
            self._later(at_s - self.env.now, repaired)
