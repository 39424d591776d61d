"""Attention and prediction-head variants of a decoder architecture: latent attention (MLA) and
multi-token prediction (MTP), and the attention widths every perf module reads.

``AttentionWidths`` is the one place the widths of Q, K, V and the attention output are
derived, so that grouped-query attention and multi-head latent attention reach FLOPs, memory,
GEMM shapes and context-parallel traffic through the same four numbers.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from colossus_sim.config.base import StrictModel

Width = Annotated[int, Field(ge=1, le=2**20)]


class LatentAttention(StrictModel):
    """Multi-head latent attention (DeepSeek-V2/V3): keys and values of every head are
    projected up from one ``kv_lora_rank`` latent per token, queries from a ``q_lora_rank``
    latent (0: a plain query projection). A query/key head has ``qk_nope_head_dim`` plus a
    ``qk_rope_head_dim`` rotary part (the key's shared by all heads); a value head has
    ``v_head_dim``."""

    kv_lora_rank: Width
    q_lora_rank: Annotated[int, Field(ge=0, le=2**20)] = 0
    qk_nope_head_dim: Width
    qk_rope_head_dim: Width
    v_head_dim: Width


class AttentionWidths(StrictModel):
    """Per-token widths (elements) of one layer's Q, K, V and attention output, all heads."""

    q: int
    k: int
    v: int
    out: int
    latent: int = 0
    """Elements of the MLA latents (query and key/value) a token carries; 0 without MLA."""

    @property
    def score_dims(self) -> int:
        """Multiply-adds per score and head pair: ``QKᵀ`` over q/heads, ``AV`` over out/heads."""
        return self.q + self.out


def attention_widths(
    heads: int, kv_heads: int, head_dim: int, mla: LatentAttention | None
) -> AttentionWidths:
    """The widths for grouped-query (``kv_heads`` K/V heads of ``head_dim``) or latent
    attention (every head has its own K and V, up-projected)."""
    if mla is None:
        return AttentionWidths(
            q=heads * head_dim, k=kv_heads * head_dim, v=kv_heads * head_dim, out=heads * head_dim
        )
    qk = mla.qk_nope_head_dim + mla.qk_rope_head_dim
    return AttentionWidths(
        q=heads * qk,
        k=heads * qk,
        v=heads * mla.v_head_dim,
        out=heads * mla.v_head_dim,
        latent=mla.q_lora_rank + mla.kv_lora_rank,
    )
