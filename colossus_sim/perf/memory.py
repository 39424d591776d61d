"""HBM bytes per GPU: weights, gradients, optimizer state and activations, for candidate plans.

Notes
-----
Model state per GPU (``P_ne``: non-expert parameters a device holds = its layers'
non-expert parameters / tp plus its embedding share; ``P_e``: its routed-expert parameters
= its layers' experts / ep; ``D = dp·cp`` and ``D_e = tp·cp·dp/ep`` the data-parallel widths):

* weights ``w·(P_ne + P_e)``, divided by ``D`` / ``D_e`` under ZeRO-3;
* gradients ``g·(…)``, divided likewise under ZeRO-2 and 3;
* optimizer ``o·(…)``, divided likewise under ZeRO-1, 2 and 3 (``w, g, o`` bytes/param
  from ``topologies/perf_model.yaml``).

Activations follow Korthikanti et al.'s accounting of the tensors a layer keeps for its
backward pass, generalised to grouped-query and latent attention, gated FFNs and routed
experts: per token and layer, ``4h`` elements outside tensor-parallel regions (two norm
inputs, the attention and MLP inputs; split by tp only with sequence parallelism; with latent
attention also the query and key/value latents, counted with them), the widths of Q, K, V and
the attention output (``2·hq + 2·hkv`` for grouped-query attention), the FFN intermediates
(``3F`` gated, ``2F`` plain; for MoE ``top_k·(h + 3F_e)`` plus the shared MLP), and without
flash attention ``5·heads·S`` bytes of scores, softmax and dropout mask (removed by selective
recompute). In FP8 training a tensor kept only as a GEMM input is kept as its 1-byte FP8 cast
(Transformer Engine). Full recompute keeps only each layer's input (``h`` elements). The first
pipeline stage holds the activations of the chunk forwards 1F1B runs before its first
backward (``layer_microbatches_in_flight``). The last stage also materialises the logits.

References
----------
Korthikanti et al., "Reducing Activation Recomputation in Large Transformer Models",
arXiv 2205.05198, §4 (eqs. 1-5); Rajbhandari et al., "ZeRO", SC'20, §5 (stage sharding).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from colossus_sim.config.hardware import Precision
from colossus_sim.config.workload import DiTArch, MoEArch
from colossus_sim.perf.model_size import ArchT
from colossus_sim.perf.plan_grid import (
    FloatArray,
    PlanGrid,
    RunSetup,
    device_params,
    first_stage_layers,
)

_RC_NONE, _RC_SELECTIVE, _RC_FULL = 0, 1, 2


@dataclass(frozen=True)
class ActivationShape:
    """Bytes kept per token and layer (no recompute), by how tensor parallelism splits them."""

    outside_tp_bytes: float
    inside_tp_bytes: float
    scores_bytes: float
    layer_input_bytes: float


def activation_shape(
    arch: ArchT, seq_len: int, flash_attention: bool, elem_bytes: float, gemm_input_bytes: float
) -> ActivationShape:
    """Per-token, per-layer activation bytes of ``arch`` (mean over its layer types).

    Tensors saved only as the input of a later GEMM's weight gradient (the QKV, output
    projection, FFN and expert inputs) take ``gemm_input_bytes`` (1 in FP8 training, where
    the FP8 cast is what is saved); the rest take ``elem_bytes``.
    """
    h = arch.d_model
    w = arch.widths
    hq = arch.heads * arch.head_dim_resolved
    e, g = elem_bytes, gemm_input_bytes

    def ffn(width: int) -> float:  # intermediates kept for backward: FC1 output(s), FC2 input
        return (2.0 * width * e + width * g) if arch.gated_ffn else (width * e + width * g)

    outside = 2.0 * h * e + 2.0 * h * g  # two norm inputs; attention and MLP GEMM inputs
    outside += w.latent * (e + g)  # MLA latents: their norms' inputs, the up-projections' inputs
    inside = (w.q + w.k + w.v) * e + w.out * g  # Q, K, V for attention; output-proj. input
    if isinstance(arch, MoEArch):
        moe = arch.top_k * (h * g + ffn(arch.expert_ffn_dim))
        moe += ffn(arch.shared_ffn_dim) if arch.shared_ffn_dim else 0.0
        dense = ffn(arch.dense_ffn_dim) if arch.dense_layers else 0.0
        inside += (arch.moe_layers * moe + arch.dense_layers * dense) / arch.layers
    else:
        inside += ffn(arch.ffn_dim)
    if isinstance(arch, DiTArch) and arch.cross_attention:
        outside += h * g
        inside += hq * e + hq * g
    scores = 0.0 if flash_attention else 5.0 * arch.heads * seq_len * (e / 2.0)
    return ActivationShape(
        outside_tp_bytes=outside,
        inside_tp_bytes=inside,
        scores_bytes=scores,
        layer_input_bytes=h * e,
    )


def _shape(setup: RunSetup) -> ActivationShape:
    consts = setup.consts
    fp8 = setup.training.precision is not Precision.BF16
    return activation_shape(
        setup.arch,
        setup.training.seq_len,
        setup.software.flash_attention,
        consts.activation_bytes,
        consts.fp8_gemm_input_bytes if fp8 else consts.activation_bytes,
    )


@dataclass(frozen=True)
class MemoryArrays:
    """Bytes per GPU for each candidate plan, by part (the busiest pipeline stage)."""

    weights: FloatArray
    grads: FloatArray
    optimizer: FloatArray
    activations: FloatArray
    logits: FloatArray

    @property
    def total(self) -> FloatArray:
        return self.weights + self.grads + self.optimizer + self.activations + self.logits


def block_recompute_share(setup: RunSetup, grid: PlanGrid) -> FloatArray:
    """Share of a device's layers recomputed in full by ``full_recompute_layers`` (the first
    that many layers of each pipeline chunk, Megatron-Core's block method); 0 without it."""
    wanted = float(setup.software.full_recompute_layers)
    if not wanted:
        return np.zeros(len(grid), dtype=np.float64)
    per_chunk = (grid.layers_per_device(setup.size.layers) / grid.vp).astype(np.float64)
    return np.asarray(np.minimum(wanted, per_chunk) / per_chunk, dtype=np.float64)


def stored_activation_bytes_per_token_layer(setup: RunSetup, grid: PlanGrid) -> FloatArray:
    """Bytes one GPU keeps per token of its microbatch and per layer, given recompute (the
    mean over its layers when ``full_recompute_layers`` recomputes some of them in full)."""
    shape = _shape(setup)
    tp = grid.tp.astype(np.float64)
    seq_split = tp if setup.software.sequence_parallel else np.ones_like(tp)
    none = full_activation_bytes_per_token_layer(setup, grid)
    selective = none - shape.scores_bytes / tp
    full = shape.layer_input_bytes / seq_split
    by_mode = np.select([grid.rc == _RC_FULL, grid.rc == _RC_SELECTIVE], [full, selective], none)
    block = block_recompute_share(setup, grid)
    return np.asarray(block * full + (1.0 - block) * by_mode, dtype=np.float64)


def full_activation_bytes_per_token_layer(
    setup: RunSetup, grid: PlanGrid, *, with_scores: bool = True
) -> FloatArray:
    """Bytes a layer keeps per token with no recompute (also the HBM traffic basis).

    ``with_scores=False`` leaves out the unfused attention scores (their traffic is counted
    separately by the step-time model).
    """
    shape = _shape(setup)
    tp = grid.tp.astype(np.float64)
    seq_split = tp if setup.software.sequence_parallel else np.ones_like(tp)
    scores = shape.scores_bytes if with_scores else 0.0
    return shape.outside_tp_bytes / seq_split + (shape.inside_tp_bytes + scores) / tp


def state_bytes_per_param(setup: RunSetup) -> tuple[float, float]:
    """(weight, main-gradient) bytes per parameter under the run's recipe.

    Weights are BF16 (``weight_bytes``) or, with ``fp8_param_gather``, FP8
    (``fp8_weight_bytes``); main gradients FP32 (``main_grad_bytes``) or, without
    ``grad_reduce_in_fp32``, BF16 (``weight_bytes``).
    """
    consts, sw = setup.consts, setup.software
    weight = consts.fp8_weight_bytes if sw.fp8_param_gather else consts.weight_bytes
    grad = consts.main_grad_bytes if sw.grad_reduce_in_fp32 else consts.weight_bytes
    return weight, grad


def layer_microbatches_in_flight(setup: RunSetup, grid: PlanGrid) -> FloatArray:
    """Layer-microbatches whose activations a first-stage device holds at its peak (1F1B).

    Interleaved 1F1B runs ``W = (pp−1)·2 + (vp−1)·pp + 1 = vp·pp + pp − 1`` chunk forwards on
    the first stage before its first backward (capped at the ``m·vp`` there are), in rounds of
    ``pp`` microbatches per chunk: its first chunk sees ``pp + min(pp−1, W − vp·pp)`` of them.
    With ``vp = 1`` that is ``min(pp, m)`` microbatches of all its layers. Uniform chunks of
    ``c`` layers give ``c·W`` (Narayanan et al.'s ``pp·(1 + (pp−1)/(pp·vp))`` microbatches of
    the device's layers); a first chunk one layer short (``embedding_in_pipeline_split``)
    gives one layer fewer for each of its microbatches. Offloaded layers
    (``activation_offload_layers``) keep nothing in HBM for any microbatch in flight.
    """
    pp, vp = grid.pp.astype(np.float64), grid.vp.astype(np.float64)
    m = np.maximum(grid.microbatches(setup.training.global_batch), 1).astype(np.float64)
    first = first_stage_layers(setup, grid)
    held = first.astype(np.float64)
    if setup.software.embedding_in_pipeline_split:
        short = np.asarray(grid.layers_per_device(setup.size.layers) != first, dtype=np.float64)
    else:
        short = np.zeros(len(grid), dtype=np.float64)
    chunk = (held + short) / vp  # layers per chunk, the first chunk's missing one put back
    window = np.where(vp > 1, np.minimum(vp * pp + pp - 1.0, m * vp), np.minimum(pp, m))
    first_chunk = np.where(vp > 1, pp + np.minimum(pp - 1.0, window - vp * pp), window)
    layer_mbs = chunk * window - short * first_chunk
    offloaded = setup.software.activation_offload_layers * window / vp
    return np.asarray(np.maximum(layer_mbs - offloaded, 0.0), dtype=np.float64)


def memory_per_gpu(setup: RunSetup, grid: PlanGrid) -> MemoryArrays:
    """HBM bytes per GPU on the busiest (first) stage for every plan in ``grid``."""
    size, consts, zero = setup.size, setup.consts, setup.software.zero_stage
    tp = grid.tp.astype(np.float64)
    nonexpert, expert = device_params(setup, grid, first_stage_layers(setup, grid))
    dense_dp = (grid.dp * grid.cp).astype(np.float64)
    expert_dp = grid.expert_dp().astype(np.float64)
    weight_b, grad_b = state_bytes_per_param(setup)

    def sharded(stage: int) -> FloatArray:
        if zero >= stage:
            return np.asarray(nonexpert / dense_dp + expert / expert_dp, dtype=np.float64)
        return np.asarray(nonexpert + expert, dtype=np.float64)

    weights = weight_b * sharded(3)
    if zero >= 3:  # gathered working copy of the next layer while this one computes
        weights = weights + 2.0 * weight_b * (
            size.nonexpert_per_layer / tp + size.expert_per_layer / grid.ep
        )
    grads = grad_b * sharded(2)
    optimizer = consts.optimizer_bytes_per_param * sharded(1)

    tokens_mb = (grid.mb * setup.training.seq_len / grid.cp).astype(np.float64)
    per_layer_mb = stored_activation_bytes_per_token_layer(setup, grid) * tokens_mb
    activations = per_layer_mb * layer_microbatches_in_flight(setup, grid)
    working = full_activation_bytes_per_token_layer(setup, grid) * tokens_mb
    recomputing = (grid.rc == _RC_FULL) | (block_recompute_share(setup, grid) > 0.0)
    activations = activations + np.where(recomputing, working, 0.0)
    logits = consts.logits_bytes * tokens_mb * setup.arch.vocab / tp
    return MemoryArrays(
        weights=np.asarray(weights, dtype=np.float64),
        grads=grads,
        optimizer=optimizer,
        activations=np.asarray(activations, dtype=np.float64),
        logits=np.asarray(logits, dtype=np.float64),
    )
