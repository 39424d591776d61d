"""Step time of one training job under a parallel plan, as a sum of named parts.

Notes
-----
Per pipeline stage and microbatch (``T = mb·S/cp`` tokens, ``λ`` layers on the busiest
device), the GPU spends (``compute.py`` evaluates these four terms)

* ``t_gemm = F_mm·T·λ/L / (tp · peak_prec · η · r · s_body)`` on weight matmuls (``η`` = the
  GPU type's one calibrated ceiling ``matmul_efficiency`` for BF16; ``r`` = 1 for BF16, the
  global ``fp8_matmul_efficiency_ratio`` for FP8/FP4; ``s_body`` ≤ 1 the shape efficiency of
  the layer's GEMMs on this plan — tile and wave quantization, memory floor: ``gemm.py``),
  plus the output head on the last stage at its own shape efficiency;
* ``t_attn = F_att·T·λ/L / (tp · peak_bf16 · η · s_attn)`` on attention scores (flash attention
  runs in BF16 even in FP8 training; causal kernels skip half the scores; ``s_attn`` charges
  the diagonal blocks and the last wave of query tiles), plus, with flash attention, the
  softmax's exponentials on the special-function units — one per score forward, one when the
  backward recomputes the probabilities, one more when recompute repeats the forward — at
  the GPU file's ``exp_tera_per_s``: added where the kernel waits for them between its two
  matmuls (Blackwell, Ampere), the larger of the two where it overlaps them (Hopper);
* ``t_elem = (passes · A + U + Q)·T·λ / HBM_bw`` on HBM-bound kernels (norms, activations,
  residuals), ``A`` the activation bytes per token and layer (``memory.py``); without flash
  attention ``U`` adds the unfused softmax path's traffic over the ``heads·S`` scores of
  each token (bytes per score forward, again when recomputed, and backward); in FP8/FP4
  training ``Q`` the quantisation of every GEMM input (forward, again when recomputed) and
  every output gradient (backward), ``fp8_cast_bytes_per_element`` each under current
  scaling, ``fp8_delayed_cast_bytes_per_element`` under delayed scaling (no amax pass); with
  ``unfused_fp32_cross_entropy`` the loss's kernels stream ``unfused_cross_entropy_bytes_per_logit``
  for each of the ``V/tp`` logits of a token, on the last stage like the output head.

* ``t_moe = β · k·h · (T/tp) · (3 + full) · λ_moe / (peak_bf16 · η)`` on an MoE layer's
  token path outside the GEMMs (router, permutation and unpermutation, expert-input
  quantisation, dispatcher bookkeeping): ``k·h`` elements per routed token, ``T/tp`` tokens
  routed by each GPU (each tensor-parallel rank routes its sequence-parallel shard; experts
  are not tensor-parallel), forward + backward (2×) + recomputed forward, ``λ_moe`` the MoE
  layers among the ``λ``; ``β`` is the one fitted ``moe_dispatch_flops_per_routed_element``
  (its cost per routed element and forward pass in GEMM-equivalent FLOPs, so at the GPU
  type's calibrated rate, not its HBM bandwidth: ``perf_model.yaml`` says why). Zero for a
  dense model.

Here ``full`` is the share of the device's layers that run their forward again in backward:
1 with full recompute, else the software's ``full_recompute_layers`` over the layers of a
pipeline chunk (Megatron's block method); it adds to every pass count below that recompute
repeats (GEMMs, element-wise traffic, TP pairs, EP exchanges; attention scores also with
selective recompute).

``t_c = t_gemm + t_attn + t_elem + t_moe``. Communication per microbatch: tensor-parallel
all-gather/reduce-scatter pairs (2 per layer forward, 2 backward, 2 more with full
recompute; overlapped with ``t_gemm`` when ``tp_overlap``), context-parallel ring passes of
K/V (with ``t_attn`` when ``cp_overlap``) and expert all-to-all dispatch+combine (with
``t_c`` when ``ep_overlap``). An overlapped collective of ``c`` seconds beside compute ``W``
exposes ``max(c − W, s·c)``, ``s`` the share of SMs its kernels hold, and the overlapped
ones share the NVLink port (``overlap.py``); one not overlapped exposes all of ``c``.
``t_mb = t_c + exposed comm``. Then

    step = m·t_mb  +  (pp−1)/vp · t_mb      (interleaved 1F1B bubble)
         + 2·(pp−1)·t_p2p                   (pipeline fill and drain sends)
         + max(t'_dp − t_c, s·t'_dp)        (gradient sync beyond the bubble and the last
                                             backward, t'_dp = max(t_dp − bubble, 0); all
                                             of it without dp_overlap)
         [ZeRO-3: m·max(t_z3 − t_c, s·t_z3) instead, t_z3 = parameter all-gathers for
          forward and backward and the gradient reduce-scatter of every microbatch]
         + t_opt                            (the HBM-bound optimizer update; both in
                                             data_parallel.py)

References
----------
Narayanan et al., SC'21, arXiv 2104.04473 §2.2 (interleaved bubble (p−1)/(v·m)) and §3
(communication volumes); Korthikanti et al., arXiv 2205.05198 (sequence parallelism);
Rajbhandari et al., ZeRO (data-parallel volumes); Liu et al., Ring Attention (CP); Megatron-Core
``megatron/core/transformer/moe/token_dispatcher.py`` (each rank routes its ``S/TP·B`` local
tokens; the MoE token path ``t_moe`` is fitted on ``perf_model.yaml``'s named case); the
SM and NVLink costs of overlap: ``overlap.py``'s references.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict

from colossus_sim.config.hardware import Precision
from colossus_sim.config.workload import ParallelPlan
from colossus_sim.perf import collectives as coll
from colossus_sim.perf.compute import microbatch_compute
from colossus_sim.perf.data_parallel import data_parallel_s
from colossus_sim.perf.flops import model_flops_per_token
from colossus_sim.perf.gemm import ShapeEfficiency
from colossus_sim.perf.memory import MemoryArrays, memory_per_gpu
from colossus_sim.perf.moe_imbalance import rank_load_imbalance
from colossus_sim.perf.overlap import exposed_s, shared_nvlink_exposed_s, sm_share
from colossus_sim.perf.plan_grid import FloatArray, PlanGrid, RunSetup
from colossus_sim.units import BYTES_PER_GB, FLOPS_PER_TFLOPS

PART_NAMES = (
    "compute_s",
    "memory_bound_s",
    "moe_dispatch_s",
    "tp_comm_s",
    "cp_comm_s",
    "ep_comm_s",
    "pp_bubble_s",
    "pp_p2p_s",
    "dp_sync_s",
    "optimizer_s",
)


@dataclass(frozen=True)
class StepArrays:
    """Seconds per step by part, for each plan of a grid (see ``PART_NAMES``)."""

    compute_s: FloatArray
    memory_bound_s: FloatArray
    moe_dispatch_s: FloatArray
    tp_comm_s: FloatArray
    cp_comm_s: FloatArray
    ep_comm_s: FloatArray
    pp_bubble_s: FloatArray
    pp_p2p_s: FloatArray
    dp_sync_s: FloatArray
    optimizer_s: FloatArray

    @property
    def step_s(self) -> FloatArray:
        total = np.zeros_like(self.compute_s)
        for name in PART_NAMES:
            total = total + getattr(self, name)
        return total


def step_arrays(
    setup: RunSetup, grid: PlanGrid, shape: ShapeEfficiency | None = None
) -> StepArrays:
    """Evaluate the step-time model for every plan in ``grid`` at once (``shape``: the plans'
    shape efficiencies, when the caller has them already)."""
    arch, training, sw, gpu, consts = (
        setup.arch,
        setup.training,
        setup.software,
        setup.gpu,
        setup.consts,
    )
    links = setup.links
    compute = microbatch_compute(setup, grid, shape)  # t_gemm, t_attn, t_elem, t_moe
    t_gemm, t_attn = compute.gemm_s, compute.attention_s
    t_elem, t_moe = compute.elementwise_s, compute.moe_dispatch_s
    full, m = compute.recompute_share, compute.microbatches
    tp = grid.tp.astype(np.float64)
    cp = grid.cp.astype(np.float64)
    pp = grid.pp.astype(np.float64)
    vp = grid.vp.astype(np.float64)
    lam = grid.layers_per_device(arch.layers).astype(np.float64)
    tokens_mb = grid.mb * training.seq_len / cp  # tokens of one microbatch on one CP rank
    moe_frac = getattr(arch, "moe_layers", 0) / arch.layers
    top_k = float(getattr(arch, "top_k", 0))
    tokens_rank = tokens_mb / tp  # with sequence parallelism each TP rank routes its shard
    t_c = compute.total_s

    # --- tensor parallel: AG+RS pairs (or all-reduces) around attention and MLP ----------
    blocks = 2.0 + (1.0 if getattr(arch, "cross_attention", False) else 0.0)
    pairs_per_layer = blocks * (2.0 + full)
    tp_buffer = tokens_mb * arch.d_model * consts.activation_bytes
    tp_one = coll.ring_all_reduce_s(tp_buffer, tp, links.nvlink_bytes_per_s, links.nvlink_latency_s)
    tp_total = tp_one * pairs_per_layer * lam

    # --- context parallel: ring passes of K/V (fwd) and K/V + their grads (bwd) ----------
    kv_chunk = tokens_mb * (arch.widths.k + arch.widths.v) * consts.activation_bytes / tp
    cp_in_domain = grid.tp * grid.cp <= setup.domain_gpus
    cp_bw, cp_lat = coll.tier(cp_in_domain, links)
    cp_total = 3.0 * np.maximum(cp - 1.0, 0.0) * coll.p2p_s(kv_chunk, cp_bw, cp_lat) * lam
    cp_total = np.where(grid.cp > 1, cp_total, 0.0)

    # --- expert parallel: dispatch + combine all-to-all, forward and backward ------------
    dispatch_bytes = (
        consts.ep_dispatch_bytes
        if training.precision != Precision.BF16
        else (consts.activation_bytes)
    )
    a2a_bytes = tokens_rank * top_k * arch.d_model
    ep_in_domain = np.minimum(grid.ep, setup.domain_gpus)
    a2a_bytes = a2a_bytes * rank_load_imbalance(arch, grid.ep)  # the busiest rank receives most
    ep_bytes = a2a_bytes * (dispatch_bytes + consts.ep_combine_bytes)
    ep_one = coll.all_to_all_s(a2a_bytes * dispatch_bytes, grid.ep, ep_in_domain, links) + (
        coll.all_to_all_s(a2a_bytes * consts.ep_combine_bytes, grid.ep, ep_in_domain, links)
    )
    ep_passes = (2.0 + full) * moe_frac * lam
    ep_total = ep_one * ep_passes
    ep_nvlink = coll.all_to_all_nvlink_s(ep_bytes, grid.ep, ep_in_domain, links) * ep_passes

    # --- overlap: the SMs overlapped collectives hold, the NVLink they share (overlap.py) ----
    comm_share = sm_share(gpu.collective_sms, gpu.sm_count)
    totals = (tp_total, cp_total, ep_total)
    windows = (t_gemm, t_attn, t_c)
    shares = (sm_share(gpu.tp_overlap_sms, gpu.sm_count), comm_share, comm_share)
    on_nvlink = (tp_total, np.where(cp_in_domain, cp_total, 0.0), ep_nvlink)
    overlaps = (sw.tp_overlap, sw.cp_overlap, sw.ep_overlap)
    none = np.zeros_like(t_c)
    hidden = [
        exposed_s(c, w, share) if on else none
        for c, w, share, on in zip(totals, windows, shares, overlaps, strict=True)
    ]
    if sum(overlaps) > 1:  # one overlapped collective alone never waits for the port
        nvlink = [n if on else none for n, on in zip(on_nvlink, overlaps, strict=True)]
        hidden = shared_nvlink_exposed_s(nvlink, hidden, t_c)
    tp_exposed, cp_exposed, ep_exposed = (
        h if on else c for h, on, c in zip(hidden, overlaps, totals, strict=True)
    )

    t_mb = t_c + tp_exposed + cp_exposed + ep_exposed

    # --- pipeline --------------------------------------------------------------------------
    bubble = (pp - 1.0) / vp * t_mb
    stage_gpus = grid.tp * grid.cp * grid.dp
    pp_bw, pp_lat = coll.tier(stage_gpus < setup.domain_gpus, links)
    p2p_buffer = tokens_mb * arch.d_model * consts.activation_bytes / tp
    p2p = 2.0 * (pp - 1.0) * coll.p2p_s(p2p_buffer, pp_bw, pp_lat)

    # --- data parallel and the optimizer (data_parallel.py) --------------------------------
    dp_exposed, t_opt = data_parallel_s(setup, grid, t_c, bubble, m)

    return StepArrays(
        compute_s=m * (t_gemm + t_attn),
        memory_bound_s=m * t_elem,
        moe_dispatch_s=m * t_moe,
        tp_comm_s=m * tp_exposed,
        cp_comm_s=m * cp_exposed,
        ep_comm_s=m * ep_exposed,
        pp_bubble_s=np.asarray(bubble, dtype=np.float64),
        pp_p2p_s=np.asarray(p2p, dtype=np.float64),
        dp_sync_s=np.asarray(dp_exposed, dtype=np.float64),
        optimizer_s=np.asarray(t_opt, dtype=np.float64),
    )


class StepBreakdown(BaseModel):
    """One plan's step time by part, throughput and memory; units in every name."""

    model_config = ConfigDict(frozen=True)

    plan: ParallelPlan
    gpus: int
    """GPUs allocated to the job; MFU and per-GPU rates divide by these."""
    gpus_used: int
    """GPUs the plan's tp·cp·pp·dp grid occupies (the rest are idle or spare)."""
    step_s: float
    breakdown_s: dict[str, float]
    tokens_per_step: int
    tokens_per_s: float
    tokens_per_s_per_gpu: float
    model_flops_per_token: float
    model_tflops_per_gpu: float
    mfu: float
    hbm_used_gb: float
    hbm_capacity_gb: float
    hbm_breakdown_gb: dict[str, float]

    @property
    def fits(self) -> bool:
        return self.hbm_used_gb <= self.hbm_capacity_gb


def step_breakdown(setup: RunSetup, plan: ParallelPlan) -> StepBreakdown:
    """The full breakdown of one plan (a one-element grid through the same arrays)."""
    grid = PlanGrid.of(plan)
    return breakdown_at(
        setup, plan, (step_arrays(setup, grid), 0), (memory_per_gpu(setup, grid), 0)
    )


def breakdown_at(
    setup: RunSetup,
    plan: ParallelPlan,
    step: tuple[StepArrays, int],
    held: tuple[MemoryArrays, int],
) -> StepBreakdown:
    """The full breakdown of ``plan`` from a grid's arrays it is a row of: ``step`` its step
    parts and row, ``held`` its memory and row (the planner's search evaluated them: the
    same numbers ``step_breakdown`` computes again for a grid of one)."""
    arrays, i = step
    memory, j = held
    step_s = float(arrays.step_s[i])
    tokens = setup.training.tokens_per_step
    flops_per_token = model_flops_per_token(setup.arch, setup.training.seq_len)
    gpus = setup.gpus
    peak = setup.gpu.peak_tflops(setup.training.precision) * FLOPS_PER_TFLOPS
    achieved = flops_per_token * tokens / step_s / gpus
    return StepBreakdown(
        plan=plan,
        gpus=gpus,
        gpus_used=plan.gpus,
        step_s=step_s,
        breakdown_s={name: float(getattr(arrays, name)[i]) for name in PART_NAMES},
        tokens_per_step=tokens,
        tokens_per_s=tokens / step_s,
        tokens_per_s_per_gpu=tokens / step_s / gpus,
        model_flops_per_token=flops_per_token,
        model_tflops_per_gpu=achieved / FLOPS_PER_TFLOPS,
        mfu=achieved / peak,
        hbm_used_gb=float(memory.total[j]) / BYTES_PER_GB,
        hbm_capacity_gb=setup.hbm_capacity_bytes / BYTES_PER_GB,
        hbm_breakdown_gb={
            "weights": float(memory.weights[j]) / BYTES_PER_GB,
            "grads": float(memory.grads[j]) / BYTES_PER_GB,
            "optimizer": float(memory.optimizer[j]) / BYTES_PER_GB,
            "activations": float(memory.activations[j]) / BYTES_PER_GB,
            "logits": float(memory.logits[j]) / BYTES_PER_GB,
        },
    )
