"""``ClusterSpec``: the site, read from ``topologies/colossus2.yaml`` (racks, GPU mix, power,
scale-out fabric)."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, model_validator

from colossus_sim.config.base import Sourced, StrictModel
from colossus_sim.errors import FieldValueError


class PowerBudget(StrictModel):
    """The site's power: the facility cap, cooling/conversion overhead (PUE), the fabric, and how
    long the overhead takes to follow a step of IT load (``cooling_ramp_s``; default 60 s, the
    assumption argued in ``topologies/colossus2.yaml``)."""

    facility_cap_mw: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    pue: Annotated[float, Field(ge=1, allow_inf_nan=False)]
    network_w_per_gpu: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    cooling_ramp_s: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 60.0


class FabricSpec(StrictModel):
    """The scale-out network: a rail-optimised three-tier Clos, one plane per NIC of a rack.

    Every rack has one NIC per GPU; NIC ``i`` of every rack joins plane ``i``, so a plane is a
    Clos over the racks. Leaves serve ``racks_per_leaf`` racks (a *leaf block*), spines join
    the leaves of a pod (``racks_per_pod`` racks), core switches join the pods. Oversubscription
    is downlink ÷ uplink bandwidth at the leaf (leaf → spine) and at the spine (spine → core).
    Switch faults are the ``switch`` failure domain of ``topologies/reliability.yaml``.
    """

    planes: Annotated[int, Field(ge=1, le=1024)]
    switch_ports: Annotated[int, Field(ge=2, le=4096)]
    port_gbps: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    leaf_oversubscription: Annotated[float, Field(ge=1, le=64, allow_inf_nan=False)]
    core_oversubscription: Annotated[float, Field(ge=1, le=64, allow_inf_nan=False)]

    @property
    def racks_per_leaf(self) -> int:
        """Leaf downlinks: the share of ports facing racks at the leaf's oversubscription."""
        o = self.leaf_oversubscription
        return max(int(self.switch_ports * o / (1 + o)), 1)


class ClusterSpec(Sourced):
    """Rack count, GPUs per rack, how many racks of each GPU type, pods and the power budget."""

    name: str
    title: str
    racks: Annotated[int, Field(ge=1)]
    gpus_per_rack: Annotated[int, Field(ge=1)]
    rack_mix: dict[str, Annotated[int, Field(ge=0)]]
    racks_per_pod: Annotated[int, Field(ge=1)]
    power: PowerBudget
    fabric: FabricSpec

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
