"""``ReliabilitySpec``: failure causes, domains, repair times (``topologies/reliability.yaml``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from colossus_sim.config.base import Sourced, StrictModel


class FailureDomain(StrEnum):
    """What one failure takes out: a GPU, a compute tray, a whole rack, one scale-out switch
    (the rack stays healthy; the fabric loses the switch until it is repaired), or nothing
    (software). Every failure interrupts the job owning the rack it lands on."""

    GPU = "gpu"
    TRAY = "tray"
    RACK = "rack"
    SWITCH = "switch"
    SOFTWARE = "software"


class FailureCause(StrictModel):
    count: Annotated[int, Field(ge=0)]
    domain: FailureDomain
    repair_hours: Annotated[float, Field(ge=0, allow_inf_nan=False)]


class ReliabilitySpec(Sourced):
    """Observed interruption counts by cause over ``observed_gpu_hours`` (rates per GPU-hour)."""

    name: str
    observed_gpu_hours: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    tray_gpus: Annotated[int, Field(ge=1)]
    causes: dict[str, FailureCause]

    @property
    def rate_per_gpu_hour(self) -> float:
        return sum(c.count for c in self.causes.values()) / self.observed_gpu_hours
