"""One microbatch's compute on the busiest device of every candidate plan: the weight GEMMs,
attention, the HBM-bound kernels and the MoE token path (``step_time.py``'s Notes give each
formula), and the lower bound on the step they imply.

The step is ``m·t_mb`` plus the bubble ``(pp−1)/vp·t_mb`` plus terms that are never negative
(pipeline sends, the data-parallel sync beyond what it overlaps, the optimizer update), and a
microbatch ``t_mb = t_c + exposed communication`` takes at least its compute ``t_c``. So
``(m + (pp−1)/vp)·t_c`` bounds the step from below: the planner evaluates memory and
communication only for plans whose bound can still beat the best plan found (a few per cent of
the grid). Cost: about a third of the step-time model's array work, over the whole grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from colossus_sim.config.hardware import Precision
from colossus_sim.config.workload import Fp8Scaling, Recompute
from colossus_sim.perf.flops import (
    AttentionCount,
    attention_flops_per_token_fwd,
    head_flops_per_token_fwd,
    matmul_flops_per_token_fwd,
    mtp_attention_flops_per_token_fwd,
    mtp_matmul_flops_per_token_fwd,
)
from colossus_sim.perf.gemm import ShapeEfficiency, shape_efficiencies
from colossus_sim.perf.memory import block_recompute_share, full_activation_bytes_per_token_layer
from colossus_sim.perf.plan_grid import RECOMPUTE_ORDER, FloatArray, PlanGrid, RunSetup
from colossus_sim.units import FLOPS_PER_TFLOPS


@dataclass(frozen=True)
class MicrobatchCompute:
    """Per plan: seconds of one microbatch's compute on the busiest device by kind, the share
    of its layers whose forward runs again in backward, and the microbatches per step."""

    gemm_s: FloatArray
    attention_s: FloatArray
    elementwise_s: FloatArray
    moe_dispatch_s: FloatArray
    recompute_share: FloatArray
    microbatches: FloatArray

    @property
    def total_s(self) -> FloatArray:
        """``t_c``: the compute a microbatch's communication can hide behind."""
        return self.gemm_s + self.attention_s + self.elementwise_s + self.moe_dispatch_s

    def step_lower_bound_s(self, grid: PlanGrid) -> FloatArray:
        """``(m + (pp−1)/vp)·t_c`` seconds: no plan's step is shorter (module docstring)."""
        bubbles = (grid.pp - 1.0) / grid.vp
        return np.asarray((self.microbatches + bubbles) * self.total_s, dtype=np.float64)


def _rc(grid: PlanGrid, mode: Recompute) -> npt.NDArray[np.bool_]:
    return np.asarray(grid.rc == RECOMPUTE_ORDER.index(mode))


@dataclass(frozen=True)
class _Shared:
    """The arrays every compute term reads."""

    tp: FloatArray
    full: FloatArray
    scores_again: FloatArray
    lam: FloatArray
    tokens_mb: FloatArray
    shape: ShapeEfficiency


def gemm_rate_flops_per_s(setup: RunSetup) -> float:
    """The GEMM ceiling: the precision's peak at the GPU type's calibrated efficiency (times
    ``fp8_matmul_efficiency_ratio`` in FP8/FP4 training)."""
    training, gpu, consts = setup.training, setup.gpu, setup.consts
    eta = gpu.matmul_efficiency
    eta_gemm = eta * (
        consts.fp8_matmul_efficiency_ratio if training.precision is not Precision.BF16 else 1.0
    )
    return gpu.peak_tflops(training.precision) * FLOPS_PER_TFLOPS * eta_gemm


def plan_shapes(setup: RunSetup, grid: PlanGrid) -> ShapeEfficiency:
    """The shape efficiencies of every plan in ``grid`` (``gemm.shape_efficiencies``)."""
    return shape_efficiencies(setup, grid, gemm_rate_flops_per_s(setup))


def microbatch_compute(
    setup: RunSetup, grid: PlanGrid, shape: ShapeEfficiency | None = None
) -> MicrobatchCompute:
    """The compute parts of ``step_time.step_arrays`` for every plan in ``grid``; ``shape``
    is ``plan_shapes(setup, grid)`` when the caller has it already."""
    training, gpu = setup.training, setup.gpu
    peak_gemm = gemm_rate_flops_per_s(setup)
    peak_attn = gpu.peak_tflops(Precision.BF16) * FLOPS_PER_TFLOPS * gpu.matmul_efficiency
    cp = grid.cp.astype(np.float64)
    # Share of the layers whose forward runs again in backward: all with full recompute, else
    # the software's ``full_recompute_layers`` of each chunk (Megatron's block method).
    block = block_recompute_share(setup, grid)
    full = np.where(_rc(grid, Recompute.FULL), 1.0, block)
    shared = _Shared(
        tp=grid.tp.astype(np.float64),
        full=full,
        scores_again=np.where(_rc(grid, Recompute.SELECTIVE), 1.0, full),
        lam=grid.layers_per_device(setup.arch.layers).astype(np.float64),
        tokens_mb=grid.mb * training.seq_len / cp,  # tokens of one microbatch on one CP rank
        shape=shape_efficiencies(setup, grid, peak_gemm) if shape is None else shape,
    )
    t_gemm, t_attn = _matmul_s(setup, shared, peak_gemm, peak_attn)
    return MicrobatchCompute(
        gemm_s=np.asarray(t_gemm, dtype=np.float64),
        attention_s=np.asarray(t_attn, dtype=np.float64),
        elementwise_s=np.asarray(_elementwise_s(setup, grid, shared), dtype=np.float64),
        moe_dispatch_s=np.asarray(_moe_dispatch_s(setup, shared, peak_attn), dtype=np.float64),
        recompute_share=np.asarray(full, dtype=np.float64),
        microbatches=grid.microbatches(training.global_batch).astype(np.float64),
    )


def _matmul_s(
    setup: RunSetup, shared: _Shared, peak_gemm: float, peak_attn: float
) -> tuple[FloatArray, FloatArray]:
    """(weight GEMMs, attention with its softmax exponentials) of one microbatch."""
    arch, sw, gpu, seq = setup.arch, setup.software, setup.gpu, setup.training.seq_len
    layers, shape, tp = arch.layers, shared.shape, shared.tp
    lam, tokens_mb, scores_again = shared.lam, shared.tokens_mb, shared.scores_again
    executed = AttentionCount.CAUSAL if sw.flash_attention else AttentionCount.FULL
    head_fwd = head_flops_per_token_fwd(arch)
    mtp_mm_fwd = mtp_matmul_flops_per_token_fwd(arch)  # on the last stage, like the head
    mtp_attn_fwd = mtp_attention_flops_per_token_fwd(arch, seq, executed)
    body_mm_fwd = matmul_flops_per_token_fwd(arch, seq) - head_fwd - mtp_mm_fwd
    attn_fwd = attention_flops_per_token_fwd(arch, seq, executed) - mtp_attn_fwd
    mm_passes = 3.0 + shared.full  # forward, backward (2×), and the recomputed forward
    attn_passes = 3.0 + scores_again
    last_stage_mm = 3.0 * (head_fwd / shape.head + mtp_mm_fwd / shape.body)
    t_gemm = (
        (body_mm_fwd * shape.body_flops * lam / layers * mm_passes / shape.body + last_stage_mm)
        * tokens_mb
        / (tp * peak_gemm)
    )
    attn_flops = (attn_fwd * lam / layers * attn_passes + 3.0 * mtp_attn_fwd) * tokens_mb / tp
    t_attn = attn_flops / (peak_attn * shape.attention)
    if sw.flash_attention:  # one exponential per score forward, again in backward (and recompute)
        score_fwd_flops = 2.0 * arch.widths.score_dims / arch.heads  # forward FLOPs of one score
        score_passes = (attn_fwd * lam / layers * (2.0 + scores_again) + 2.0 * mtp_attn_fwd) / (
            score_fwd_flops
        )
        t_exp = score_passes * tokens_mb / tp / (gpu.exp_tera_per_s * 1e12 * shape.attention)
        overlapped = gpu.attention_softmax_overlaps_mma
        t_attn = np.maximum(t_attn, t_exp) if overlapped else t_attn + t_exp
    return t_gemm, t_attn


def _elementwise_s(setup: RunSetup, grid: PlanGrid, shared: _Shared) -> FloatArray:
    """The HBM-bound kernels of one microbatch (norms, activations, residuals, casts, loss)."""
    arch, sw, consts, seq = setup.arch, setup.software, setup.consts, setup.training.seq_len
    tp, full, scores_again = shared.tp, shared.full, shared.scores_again
    tokens_mb = shared.tokens_mb
    hbm_bytes_per_s = setup.gpu.hbm_tb_per_s * 1e12
    act_bytes = full_activation_bytes_per_token_layer(setup, grid, with_scores=False)
    passes = consts.elementwise_hbm_passes + full
    score_traffic: FloatArray | float = 0.0
    if not sw.flash_attention:  # unfused attention writes and re-reads a·S scores per token
        per_score = (
            consts.unfused_attention_fwd_bytes_per_score * (1.0 + scores_again)
            + consts.unfused_attention_bwd_bytes_per_score
        )
        score_traffic = per_score * arch.heads * seq / tp
    cast_traffic: FloatArray | float = 0.0
    if setup.training.precision is not Precision.BF16:  # FP8/FP4 casts of inputs and gradients
        delayed = sw.fp8_scaling is Fp8Scaling.DELAYED
        cast_bytes = (
            consts.fp8_delayed_cast_bytes_per_element
            if delayed
            else consts.fp8_cast_bytes_per_element
        )
        shape = shared.shape
        cast_traffic = cast_bytes * (shape.cast_fwd * (1.0 + full) + shape.cast_bwd)
    t_elem = (
        (passes * act_bytes + score_traffic + cast_traffic) * tokens_mb * shared.lam
    ) / hbm_bytes_per_s
    if sw.unfused_fp32_cross_entropy:  # the loss's separate FP32 kernels, on the last stage
        loss_bytes = consts.unfused_cross_entropy_bytes_per_logit * arch.vocab / tp
        t_elem = t_elem + loss_bytes * tokens_mb / hbm_bytes_per_s
    return np.asarray(t_elem, dtype=np.float64)


def _moe_dispatch_s(setup: RunSetup, shared: _Shared, peak_attn: float) -> FloatArray:
    """The MoE token path outside the GEMMs: per routed element, at the calibrated rate."""
    arch, consts = setup.arch, setup.consts
    moe_frac = getattr(arch, "moe_layers", 0) / arch.layers
    top_k = float(getattr(arch, "top_k", 0))
    tokens_rank = shared.tokens_mb / shared.tp  # each TP rank routes its sequence shard
    routed_elements = tokens_rank * top_k * arch.d_model
    return np.asarray(
        consts.moe_dispatch_flops_per_routed_element
        * routed_elements
        * (3.0 + shared.full)
        * moe_frac
        * shared.lam
        / peak_attn,
        dtype=np.float64,
    )
