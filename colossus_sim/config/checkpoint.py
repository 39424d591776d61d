"""``CheckpointSpec``: a scenario's checkpoints — their size, how often (``IntervalPolicy``),
the tiers they go to (the shared storage, and each compute tray's local NVMe drives:
``LocalNvmeSpec``) and what a restart costs (``scenarios/*.yaml``, ``checkpoint:``).

Which tier a job's regular checkpoints go to is the job's own (``jobs.<name>.checkpoint_to``,
``CheckpointTarget``); ``docs/reliability.md`` says how the tiers combine.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import Field, model_validator

from colossus_sim.config.base import NonNegativeFloat, PositiveFloat, StrictModel
from colossus_sim.errors import FieldValueError


class CheckpointMode(StrEnum):
    SYNC = "sync"
    ASYNC = "async"


class IntervalPolicy(StrEnum):
    """How a job chooses the compute between its checkpoints. ``fixed``: the scenario's
    ``interval_minutes`` or ``interval_steps``; ``young_daly``: ``√(2·δ·M)`` for its blocking
    ``δ`` and mean time between failures ``M`` (first order); ``optimal``: the interval that
    maximises the renewal ETTR with the write in flight (``perf.reliability
    .optimal_interval_s``: Young–Daly's limit when ``δ ≪ M``, shorter when a synchronous write
    is a good part of ``M``). Each is at least the checkpoint's write at the job's share of
    the storage (one in flight at a time), a step, and at most ``max_interval_minutes``."""

    FIXED = "fixed"
    YOUNG_DALY = "young_daly"
    OPTIMAL = "optimal"


class CheckpointTarget(StrEnum):
    """Where a job's regular checkpoints go: ``shared_storage`` (each one), or ``local_nvme``
    (its compute trays' drives, each GPU its shard; every k-th goes on to the shared storage,
    as often as the failures that take a tray say). A job that recovers ``in_memory`` keeps
    its snapshots in peers' host memory instead, and cannot use ``local_nvme``."""

    SHARED_STORAGE = "shared_storage"
    LOCAL_NVME = "local_nvme"


class LocalNvmeSpec(StrictModel):
    """The data drives of each compute tray as a checkpoint tier: their capacity and their
    sequential write and read bandwidth (striped over the drives), shared by the tray's
    GPUs."""

    tb_per_tray: PositiveFloat
    write_gb_per_s_per_tray: PositiveFloat
    read_gb_per_s_per_tray: PositiveFloat


class CheckpointSpec(StrictModel):
    """Checkpoint size, where it goes and how fast, how often, and what a restart costs.

    ``sync``: training blocks while the state is written to storage. ``async``: training blocks
    only while each GPU copies its shard to host memory; the write to storage proceeds in the
    background and a checkpoint counts once it is durable.
    """

    mode: CheckpointMode = CheckpointMode.ASYNC
    bytes_per_param: Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)] = 14.0
    storage_tb_per_s: PositiveFloat
    host_copy_gb_per_s: PositiveFloat
    max_interval_minutes: PositiveFloat
    interval_policy: IntervalPolicy | None = None
    """Default: ``fixed`` when ``interval_minutes`` or ``interval_steps`` is given, else
    ``young_daly`` (``policy``)."""
    interval_minutes: PositiveFloat | None = None
    """A fixed interval of compute between a job's checkpoints (to shared storage; to its
    local NVMe for a ``local_nvme`` job; an ``in_memory`` job's writes to storage), instead of
    one chosen for each job's failure rate; it must leave each checkpoint time to be
    written."""
    interval_steps: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    """A fixed interval in each job's own training steps (as trainers count it), instead of
    minutes; a checkpoint still waits for the last to be written."""
    restart_minutes: NonNegativeFloat | None = None
    """A total override: every restart takes this long, whatever ``recovery:`` says it is made
    of. Unset, a restart is timed part by part (``RecoverySpec``)."""
    local_nvme: LocalNvmeSpec | None = None
    """The compute trays' drives, for the jobs that checkpoint there (``checkpoint_to``)."""

    @property
    def policy(self) -> IntervalPolicy:
        """The interval policy in effect (``interval_policy``'s default resolved)."""
        if self.interval_policy is not None:
            return self.interval_policy
        fixed = self.interval_minutes is not None or self.interval_steps is not None
        return IntervalPolicy.FIXED if fixed else IntervalPolicy.YOUNG_DALY

    @model_validator(mode="after")
    def _one_fixed_interval(self) -> Self:
        if self.interval_minutes is not None and self.interval_steps is not None:
            raise FieldValueError(
                "interval_steps", "give interval_minutes or interval_steps, not both"
            )
        fixed = "interval_minutes" if self.interval_minutes is not None else "interval_steps"
        given = self.interval_minutes is not None or self.interval_steps is not None
        if self.interval_policy is IntervalPolicy.FIXED and not given:
            raise FieldValueError(
                "interval_policy", "fixed needs interval_minutes or interval_steps"
            )
        if self.interval_policy not in (None, IntervalPolicy.FIXED) and given:
            raise FieldValueError(
                fixed,
                f"a fixed interval, with interval_policy {self.interval_policy}: drop one "
                "(interval_policy: fixed, or none, keeps the fixed interval)",
            )
        return self
