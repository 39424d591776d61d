"""Parameter counts derived from an architecture: total, active per token, and by part.

Notes
-----
Per layer (``d`` width, ``H`` heads, ``KV`` key/value heads, ``hd`` head width):

* attention: ``2·d·H·hd + 2·d·KV·hd`` (Q and output projections, K and V projections); with
  multi-head latent attention the latents' down- and up-projections (``attention_params``);
* FFN: ``3·d·F`` when gated (SwiGLU: gate, up, down), else ``2·d·F``;
* MoE layer: ``E`` experts of ``3·d·F_e``, a shared MLP of ``3·d·F_s``, a router ``d·E``;
* DiT cross-attention: another ``2·d·H·hd + 2·d·KV·hd`` per layer.

Embeddings: ``vocab·d`` in, ``vocab·d`` out unless tied. A multi-token prediction module adds a
``2d×d`` projection and one more layer like the last (it shares the embedding and head).
Active parameters per token count the ``top_k`` routed experts only. Norm weights (``O(d)``
per layer) are ignored.

References
----------
The same formulas reproduce Grok-1 (315.7B vs 314B stated), Grok-2 (269.5B) and Llama 3.1
405B (405.8B): ``docs/sources.md`` (``grok-1``, ``grok-2``, ``llama3-herd``) and the tests in
``tests/test_model_size.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from colossus_sim.config.workload import DenseArch, DiTArch, MoEArch

ArchT = DenseArch | MoEArch | DiTArch


@dataclass(frozen=True)
class ModelSize:
    """Parameter counts (plain numbers of parameters, not bytes) for one architecture."""

    layers: int
    attention_per_layer: float
    ffn_active_per_layer: float
    """Mean FFN parameters a token passes through per layer (dense FFN, shared + top-k experts)."""
    nonexpert_per_layer: float
    """Mean parameters per layer that every GPU of a tensor-parallel group shards (not experts)."""
    expert_per_layer: float
    """Mean routed-expert parameters per layer (all experts), sharded by expert parallelism."""
    one_expert: float
    embedding_in: float
    embedding_out: float
    extra: float
    mtp_modules: int = 0
    """Multi-token prediction modules after the last layer (on the last pipeline stage)."""
    mtp_nonexpert: float = 0.0
    """Per module: the ``2d×d`` projection and one layer's non-expert parameters."""
    mtp_expert: float = 0.0
    """Per module: that layer's routed experts (all of them)."""
    mtp_active: float = 0.0
    """Per module: the parameters a token passes through (projection, attention, top-k FFN)."""

    @property
    def total(self) -> float:
        return (
            self.layers * (self.nonexpert_per_layer + self.expert_per_layer)
            + self.embedding_in
            + self.embedding_out
            + self.extra
            + self.mtp_modules * (self.mtp_nonexpert + self.mtp_expert)
        )

    @property
    def active(self) -> float:
        """Parameters one token touches (the ``N`` of ``6·N`` training FLOPs)."""
        return (
            self.layers * (self.attention_per_layer + self.ffn_active_per_layer)
            + self.embedding_in
            + self.embedding_out
            + self.extra
            + self.mtp_modules * self.mtp_active
        )

    @property
    def matmul_active_per_layer(self) -> float:
        return self.attention_per_layer + self.ffn_active_per_layer


def attention_params(arch: ArchT) -> float:
    """Q, K, V and output projections; with MLA the down- and up-projections of the latents
    (``d·q_lora + q_lora·q``, or ``d·q`` without a query latent; ``d·(kv_lora + rope) +
    kv_lora·heads·(nope + v)``) and the output ``out·d``."""
    d, w = arch.d_model, arch.widths
    mla = arch.mla
    if mla is None:
        return float(d * (w.q + w.k + w.v) + w.out * d)
    q = d * mla.q_lora_rank + mla.q_lora_rank * w.q if mla.q_lora_rank else d * w.q
    kv_up = arch.heads * (mla.qk_nope_head_dim + mla.v_head_dim)
    kv = d * (mla.kv_lora_rank + mla.qk_rope_head_dim) + mla.kv_lora_rank * kv_up
    return float(q + kv + w.out * d)


def ffn_params(d_model: int, ffn_dim: int, gated: bool) -> float:
    return (3.0 if gated else 2.0) * d_model * ffn_dim


def model_size(arch: ArchT) -> ModelSize:
    """Count the parameters of ``arch`` by part."""
    attn = attention_params(arch)
    d = arch.d_model
    embedding_in = float(arch.vocab * d)
    embedding_out = 0.0 if arch.tied_embeddings else float(arch.vocab * d)
    if isinstance(arch, MoEArch):
        one_expert = ffn_params(d, arch.expert_ffn_dim, arch.gated_ffn)
        shared = ffn_params(d, arch.shared_ffn_dim, arch.gated_ffn) if arch.shared_ffn_dim else 0.0
        router = float(d * arch.experts)
        dense_ffn = ffn_params(d, arch.dense_ffn_dim, arch.gated_ffn) if arch.dense_layers else 0.0
        moe_frac = arch.moe_layers / arch.layers
        dense_frac = arch.dense_layers / arch.layers
        ffn_active = moe_frac * (shared + router + arch.top_k * one_expert) + dense_frac * dense_ffn
        nonexpert = attn + moe_frac * (shared + router) + dense_frac * dense_ffn
        expert = moe_frac * arch.experts * one_expert
        last_moe = arch.moe_layers > 0  # MTP repeats the last layer, an MoE layer if any
        return ModelSize(
            layers=arch.layers,
            attention_per_layer=attn,
            ffn_active_per_layer=ffn_active,
            nonexpert_per_layer=nonexpert,
            expert_per_layer=expert,
            one_expert=one_expert,
            embedding_in=embedding_in,
            embedding_out=embedding_out,
            extra=0.0,
            mtp_modules=arch.mtp_layers,
            mtp_nonexpert=2.0 * d * d + attn + ((shared + router) if last_moe else dense_ffn),
            mtp_expert=arch.experts * one_expert if last_moe else 0.0,
            mtp_active=2.0 * d * d
            + attn
            + ((shared + router + arch.top_k * one_expert) if last_moe else dense_ffn),
        )
    ffn = ffn_params(d, arch.ffn_dim, arch.gated_ffn)
    if isinstance(arch, DiTArch) and arch.cross_attention:
        attn += attention_params(arch)
    return ModelSize(
        layers=arch.layers,
        attention_per_layer=attn,
        ffn_active_per_layer=ffn,
        nonexpert_per_layer=attn + ffn,
        expert_per_layer=0.0,
        one_expert=0.0,
        embedding_in=embedding_in,
        embedding_out=embedding_out,
        extra=arch.extra_params if isinstance(arch, DiTArch) else 0.0,
        mtp_modules=arch.mtp_layers,
        mtp_nonexpert=2.0 * d * d + attn + ffn,
        mtp_active=2.0 * d * d + attn + ffn,
    )
