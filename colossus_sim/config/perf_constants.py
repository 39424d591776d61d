"""``PerfConstants``: the step-time model's structural constants that belong to no one GPU.

Read from ``topologies/perf_model.yaml``; each is sourced or labelled an assumption there.
Two of them are fitted and are not per GPU type:

* ``fp8_matmul_efficiency_ratio``: the fraction of its (doubled) peak an FP8 GEMM reaches,
  relative to a BF16 GEMM on the same GPU, fitted on the GPU that has published runs in both
  formats, over its FP8 runs named in ``fp8_calibration_cases`` (the value whose worst
  relative error over them is smallest);
* ``moe_dispatch_flops_per_routed_element``: the effective cost, in GEMM-equivalent FLOPs at
  the GPU type's calibrated rate, per routed element (one of a token's ``top_k`` copies, one
  hidden-dimension element) and per forward-pass equivalent, of an MoE layer's token path
  outside the GEMMs (router, permutation and
  unpermutation, expert-input quantisation, dispatcher bookkeeping), fitted on one published
  MoE run (``moe_dispatch_calibration_case``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from colossus_sim.config.base import Sourced

NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class PerfConstants(Sourced):
    name: str
    activation_bytes: NonNegative
    fp8_gemm_input_bytes: NonNegative
    fp8_cast_bytes_per_element: NonNegative
    fp8_delayed_cast_bytes_per_element: NonNegative
    weight_bytes: NonNegative
    fp8_weight_bytes: NonNegative
    main_grad_bytes: NonNegative
    optimizer_bytes_per_param: NonNegative
    optimizer_hbm_bytes_per_param: NonNegative
    elementwise_hbm_passes: NonNegative
    unfused_attention_fwd_bytes_per_score: NonNegative
    unfused_attention_bwd_bytes_per_score: NonNegative
    ep_dispatch_bytes: NonNegative
    ep_combine_bytes: NonNegative
    logits_bytes: NonNegative
    unfused_cross_entropy_bytes_per_logit: NonNegative
    fp8_matmul_efficiency_ratio: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
    fp8_calibration_cases: Annotated[list[str], Field(min_length=1)]
    moe_dispatch_flops_per_routed_element: NonNegative
    moe_dispatch_calibration_case: str
