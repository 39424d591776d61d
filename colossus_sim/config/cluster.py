"""``ClusterSpec``: the site, read from ``topologies/colossus2.yaml`` (racks, GPU mix, power)."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, model_validator

from colossus_sim.config.base import Sourced, StrictModel
from colossus_sim.errors import FieldValueError


class PowerBudget(StrictModel):
    """The site's power: the facility cap, cooling/conversion overhead (PUE), the fabric."""

    facility_cap_mw: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    pue: Annotated[float, Field(ge=1, allow_inf_nan=False)]
    network_w_per_gpu: Annotated[float, Field(ge=0, allow_inf_nan=False)]


class ClusterSpec(Sourced):
    """Rack count, GPUs per rack, how many racks of each GPU type, pods and the power budget."""

    name: str
    title: str
    racks: Annotated[int, Field(ge=1)]
    gpus_per_rack: Annotated[int, Field(ge=1)]
    rack_mix: dict[str, Annotated[int, Field(ge=0)]]
    racks_per_pod: Annotated[int, Field(ge=1)]
    power: PowerBudget

    @model_validator(mode="after")
    def _mix_adds_up(self) -> Self:
        total = sum(self.rack_mix.values())
        if total != self.racks:
            raise FieldValueError(
                "rack_mix", f"rack counts add up to {total}, but racks is {self.racks}"
            )
        return self

    @property
    def gpus(self) -> int:
        return self.racks * self.gpus_per_rack
