"""``PerfConstants``: the step-time model's structural constants that belong to no one GPU.

Read from ``topologies/perf_model.yaml``; each is sourced or labelled an assumption there.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from colossus_sim.config.base import Sourced

NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class PerfConstants(Sourced):
    name: str
    activation_bytes: NonNegative
    weight_bytes: NonNegative
    main_grad_bytes: NonNegative
    optimizer_bytes_per_param: NonNegative
    optimizer_hbm_bytes_per_param: NonNegative
    elementwise_hbm_passes: NonNegative
    ep_dispatch_bytes: NonNegative
    ep_combine_bytes: NonNegative
    logits_bytes: NonNegative
