"""The simulation's vocabulary as enums: a job's status, the kinds of timeline events, why a
job restarts and the tiers a checkpoint is durable in. Compared as enums everywhere — by the
simulation that writes them and by the figures and reports that read them back from results;
their values are the words the timeline and job series hold. A leaf module: it imports
nothing of the project."""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    """``held``: not yet in the queue (before its submit time, or waiting for the jobs it
    comes after); ``pending``: queued for racks."""

    HELD = "held"
    PENDING = "pending"
    RUNNING = "running"
    RESTARTING = "restarting"
    STALLED = "stalled"
    STOPPING = "stopping"
    """Writing a checkpoint before it gives its racks to a higher-priority job."""
    FINISHED = "finished"

    __hash__ = str.__hash__  # hashed as its word (in C, not Enum's Python-level hash)


ACTIVE = (JobStatus.RUNNING, JobStatus.RESTARTING)
"""Statuses in which a job holds racks and is trying to train."""


class EventKind(StrEnum):
    """A row of the timeline."""

    SUBMIT = "submit"
    START = "start"
    FINISH = "finish"
    RESTART = "restart"
    GROW = "grow"
    FAILURE = "failure"
    SWAP = "swap"
    SHRINK = "shrink"
    STALL = "stall"
    PREEMPT = "preempt"
    STOP = "stop"
    REQUEUE = "requeue"
    STRAGGLER = "straggler"
    DROP_REPLICA = "drop replica"
    REJOIN = "rejoin"
    REPAIR = "repair"
    FABRIC = "fabric"
    FABRIC_FAULT = "fabric_fault"
    FABRIC_REPAIR = "fabric_repair"

    __hash__ = str.__hash__


class RestartCause(StrEnum):
    """Why a job restarts from its last checkpoint (a failure's detail is its cause's name)."""

    FAILURE = "failure"
    GROW = "grow"
    SPARE_SWAP = "spare swap"
    SHRINK = "shrink"
    PREEMPTED = "preempted"
    RACK_FROM_LOWER_PRIORITY = "rack from lower priority"
    REPAIRED = "repaired"
    YIELDED = "yielded racks"
    """It shrank to give racks to a higher-priority queued job."""
    RESUMED = "resumed"
    """It starts again after a higher-priority job stopped it."""
    STRAGGLER_DRAINED = "straggler drained"
    """A slow tray was found: the job restarts without it (nothing failed)."""

    __hash__ = str.__hash__

    @property
    def detected(self) -> bool:
        """The restart follows a failure that had to be noticed first (its job pays the
        detection and rescheduling parts of a restart); a resize or a repair does not."""
        return self in _DETECTED


_DETECTED = frozenset(
    (
        RestartCause.FAILURE,
        RestartCause.SPARE_SWAP,
        RestartCause.SHRINK,
        RestartCause.RACK_FROM_LOWER_PRIORITY,
    )
)


class CheckpointTier(StrEnum):
    """Where a checkpoint is durable: ``host_memory`` (an ``in_memory`` job's snapshot and its
    copy in a peer's host memory), ``local_nvme`` (each compute tray's data drives) or
    ``shared_storage`` (the site's storage system)."""

    HOST_MEMORY = "host_memory"
    LOCAL_NVME = "local_nvme"
    SHARED_STORAGE = "shared_storage"

    __hash__ = str.__hash__
