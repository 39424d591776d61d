"""Training FLOPs per token: model FLOPs (what MFU counts) apart from hardware FLOPs (recompute).

Notes
-----
Forward FLOPs per token and layer are ``2·N_layer`` for the weight matmuls plus the attention
scores: ``QKᵀ`` and ``AV`` cost ``2·S·(w_q + w_out)`` with a full score matrix (the query/key
and value widths over all heads; ``4·S·d_attn`` when both are ``d_attn = heads·head_dim``, as
without latent attention), half that when a causal kernel skips the masked half. A
multi-token prediction module adds its projection, one layer and the output head again. The
output head adds ``2·vocab·d``. Training costs forward + backward = 3× forward, so

    model FLOPs/token = 6·N_active + 6·L·S·d_attn       (causal, the usual LLM convention)
                      = 6·N_active + 12·L·S·d_attn      (bidirectional DiT, or a full count)

where ``N_active`` excludes the input embedding (a lookup, not a matmul) and counts the output
head's ``vocab·d`` even when it is tied to the input embedding: the logits GEMM runs with the
shared matrix, so its FLOPs (and its time) do not depend on the tying. Hardware FLOPs add
what recomputation repeats: one more forward of the layers for ``full`` (not of the output
head), the attention-score forward for ``selective``. For a GPT layer (``12·h²`` parameters,
plain 4h FFN) with full recompute and full-count attention this is exactly Narayanan et
al.'s ``96·l·h²·(1 + s/6h + V/16lh)`` per token. A DiT's cross-attention projects its
``text_tokens`` keys/values once per sample, so they cost ``text_tokens/S`` of a per-token
projection.

References
----------
Kaplan et al. 2020 (6·N); Narayanan et al., SC'21, arXiv 2104.04473, eq. (3) (full-count
attention and recompute); Korthikanti et al., arXiv 2205.05198 §5 (selective recompute,
HFU/MFU); Chowdhery et al. (PaLM) appendix B (MFU with attention FLOPs).
"""

from __future__ import annotations

from enum import StrEnum

from colossus_sim.config.workload import DiTArch, Recompute
from colossus_sim.perf.model_size import ArchT, attention_params, model_size

FLOPS_PER_MAC = 2.0
TRAIN_PASSES = 3.0  # forward + backward (backward ≈ 2× forward)


class AttentionCount(StrEnum):
    CAUSAL = "causal"
    FULL = "full"


def matmul_flops_per_token_fwd(arch: ArchT, seq_len: int) -> float:
    """Forward weight-matmul FLOPs per token, all layers plus the output head."""
    size = model_size(arch)
    per_layer = size.matmul_active_per_layer
    if isinstance(arch, DiTArch) and arch.cross_attention:
        kv = 2.0 * arch.d_model * arch.kv_heads_resolved * arch.head_dim_resolved
        per_layer = per_layer - kv + kv * arch.text_tokens / seq_len
    head = float(arch.vocab * arch.d_model)  # the logits GEMM runs whether or not it is tied
    return FLOPS_PER_MAC * (size.layers * per_layer + head + size.extra) + (
        mtp_matmul_flops_per_token_fwd(arch)
    )


def head_flops_per_token_fwd(arch: ArchT) -> float:
    """Forward FLOPs of the output head (logits) per token."""
    return FLOPS_PER_MAC * arch.vocab * arch.d_model


def mtp_matmul_flops_per_token_fwd(arch: ArchT) -> float:
    """Forward weight-matmul FLOPs per token of the multi-token prediction modules: each its
    projection and layer, and the shared output head once more."""
    size = model_size(arch)
    return FLOPS_PER_MAC * size.mtp_modules * (size.mtp_active + arch.vocab * arch.d_model)


def _self_attention_flops_per_layer(arch: ArchT, seq_len: int, count: AttentionCount) -> float:
    """``QKᵀ`` over the query/key width and ``AV`` over the value width, per token and layer."""
    self_attn = FLOPS_PER_MAC * seq_len * arch.widths.score_dims
    if count is AttentionCount.CAUSAL and arch.causal:
        self_attn *= 0.5
    return self_attn


def mtp_attention_flops_per_token_fwd(arch: ArchT, seq_len: int, count: AttentionCount) -> float:
    """Forward attention-score FLOPs per token of the multi-token prediction modules."""
    return arch.mtp_layers * _self_attention_flops_per_layer(arch, seq_len, count)


def attention_flops_per_token_fwd(arch: ArchT, seq_len: int, count: AttentionCount) -> float:
    """Forward attention-score FLOPs (QKᵀ and AV) per token, all layers and MTP modules."""
    self_attn = _self_attention_flops_per_layer(arch, seq_len, count)
    cross = 0.0
    if isinstance(arch, DiTArch) and arch.cross_attention:
        cross = 4.0 * arch.text_tokens * arch.heads * arch.head_dim_resolved
    return arch.layers * (self_attn + cross) + mtp_attention_flops_per_token_fwd(
        arch, seq_len, count
    )


def model_flops_per_token(
    arch: ArchT, seq_len: int, count: AttentionCount = AttentionCount.CAUSAL
) -> float:
    """FLOPs per trained token that MFU counts: 3 × (matmuls + attention scores) forward."""
    return TRAIN_PASSES * (
        matmul_flops_per_token_fwd(arch, seq_len)
        + attention_flops_per_token_fwd(arch, seq_len, count)
    )


def recompute_flops_per_token(
    arch: ArchT, seq_len: int, recompute: Recompute, count: AttentionCount
) -> float:
    """Extra forward FLOPs per token that activation recomputation repeats.

    Full recompute re-runs every transformer layer's forward (not the output head, whose
    logits are consumed by the loss at once, nor the MTP modules); selective re-runs only the
    layers' attention scores.
    """
    layers_attention = attention_flops_per_token_fwd(
        arch, seq_len, count
    ) - mtp_attention_flops_per_token_fwd(arch, seq_len, count)
    if recompute is Recompute.FULL:
        return (
            matmul_flops_per_token_fwd(arch, seq_len)
            - head_flops_per_token_fwd(arch)
            - mtp_matmul_flops_per_token_fwd(arch)
            + layers_attention
        )
    if recompute is Recompute.SELECTIVE:
        return layers_attention
    return 0.0


def hardware_flops_per_token(
    arch: ArchT, seq_len: int, recompute: Recompute, count: AttentionCount
) -> float:
    """FLOPs the GPUs execute per token: model FLOPs plus recomputation."""
    return model_flops_per_token(arch, seq_len, count) + recompute_flops_per_token(
        arch, seq_len, recompute, count
    )


def six_n(arch: ArchT) -> float:
    """The ``6·N`` rule with N = active parameters excluding the input embedding."""
    size = model_size(arch)
    return 6.0 * (size.active - size.embedding_in)


__all__ = [
    "AttentionCount",
    "attention_flops_per_token_fwd",
    "attention_params",
    "hardware_flops_per_token",
    "head_flops_per_token_fwd",
    "matmul_flops_per_token_fwd",
    "model_flops_per_token",
    "mtp_attention_flops_per_token_fwd",
    "mtp_matmul_flops_per_token_fwd",
    "recompute_flops_per_token",
    "six_n",
]
