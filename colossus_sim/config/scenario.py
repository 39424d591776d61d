"""``Scenario``: jobs on the cluster, scheduler, failures, checkpoints (``scenarios/*.yaml``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from colossus_sim.config.base import Sourced, StrictModel

PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class RecoveryPolicy(StrEnum):
    """What a job does when it loses a rack it cannot run without.

    ``spare_or_shrink``: take a rack from the spare pool, else drop data-parallel replicas;
    ``spare_or_wait``: take a spare, else wait for the repair; ``shrink``; ``wait``.
    """

    SPARE_OR_SHRINK = "spare_or_shrink"
    SPARE_OR_WAIT = "spare_or_wait"
    SHRINK = "shrink"
    WAIT = "wait"


class PlacementPolicy(StrEnum):
    """How racks are chosen: ``pack`` fills pods in order, ``spread`` deals racks across pods,
    ``priority`` packs and lets a higher-priority job take racks from a lower one on shortage."""

    PACK = "pack"
    SPREAD = "spread"
    PRIORITY = "priority"


class ScenarioJob(StrictModel):
    """One job in a scenario: which workload, on how many racks of which GPU type."""

    workload: str | None = None
    racks: Annotated[int, Field(ge=1)]
    gpu: str | None = None
    priority: int = 0
    on_rack_loss: RecoveryPolicy = RecoveryPolicy.SPARE_OR_SHRINK
    max_racks: Annotated[int, Field(ge=1)] | None = None
    """Racks the job may grow to when others free theirs (default: no growth)."""


class SchedulerSpec(StrictModel):
    policy: PlacementPolicy = PlacementPolicy.PACK
    spare_racks: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    """Healthy racks held back per GPU type to replace failed ones."""


class FailureSpec(StrictModel):
    enabled: bool = True
    model: str = "reliability"
    rate_multiplier: NonNegativeFloat = 1.0
    repair_multiplier: PositiveFloat = 1.0


class CheckpointSpec(StrictModel):
    """Checkpoint size, where it goes and how fast, and what a restart costs.

    ``sync``: training blocks while the state is written to storage. ``async``: training blocks
    only while each GPU copies its shard to host memory; the write to storage proceeds in the
    background and a checkpoint counts once it is durable.
    """

    mode: Literal["sync", "async"] = "async"
    bytes_per_param: PositiveFloat = 14.0
    storage_tb_per_s: PositiveFloat
    host_copy_gb_per_s: PositiveFloat
    max_interval_minutes: PositiveFloat
    restart_minutes: NonNegativeFloat


class Scenario(Sourced):
    """A what-if: the cluster, the jobs and their racks, the policies, failures, seed, horizon."""

    name: str
    title: str
    cluster: str = "colossus2"
    seed: int = 0
    horizon_days: PositiveFloat
    jobs: dict[str, ScenarioJob]
    scheduler: SchedulerSpec = SchedulerSpec()
    failures: FailureSpec = FailureSpec()
    checkpoint: CheckpointSpec
