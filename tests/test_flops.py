"""FLOP counts: 6·N for dense models, Narayanan et al.'s formula, recompute in hardware FLOPs."""

from __future__ import annotations

import pytest

from colossus_sim.config.workload import DenseArch, Recompute
from colossus_sim.perf.flops import (
    AttentionCount,
    attention_flops_per_token_fwd,
    hardware_flops_per_token,
    model_flops_per_token,
    six_n,
)
from colossus_sim.perf.model_size import model_size

GPT3 = DenseArch(
    kind="dense",
    layers=96,
    d_model=12288,
    heads=96,
    ffn_dim=4 * 12288,
    vocab=51200,
    gated_ffn=False,
)


def test_dense_model_flops_are_six_n_plus_attention() -> None:
    seq = 2048
    attention = 3 * attention_flops_per_token_fwd(GPT3, seq, AttentionCount.CAUSAL)
    assert model_flops_per_token(GPT3, seq) - attention == pytest.approx(six_n(GPT3), rel=1e-12)
    size = model_size(GPT3)
    assert six_n(GPT3) == pytest.approx(6 * (size.total - size.embedding_in), rel=1e-12)
    assert size.total == pytest.approx(175e9, rel=0.01)  # GPT-3 175B


def test_hardware_flops_with_full_recompute_match_narayanan_equation_3() -> None:
    # Narayanan et al. SC'21 eq. (3): 96·B·s·l·h²·(1 + s/6h + V/16lh) per iteration.
    layers, h, s, v = 96, 12288, 2048, 51200
    expected_per_token = 96 * layers * h**2 * (1 + s / (6 * h) + v / (16 * layers * h))
    got = hardware_flops_per_token(GPT3, s, Recompute.FULL, AttentionCount.FULL)
    assert got == pytest.approx(expected_per_token, rel=1e-12)


def test_recompute_changes_hardware_not_model_flops() -> None:
    seq = 2048
    model = model_flops_per_token(GPT3, seq)
    none = hardware_flops_per_token(GPT3, seq, Recompute.NONE, AttentionCount.CAUSAL)
    selective = hardware_flops_per_token(GPT3, seq, Recompute.SELECTIVE, AttentionCount.CAUSAL)
    full = hardware_flops_per_token(GPT3, seq, Recompute.FULL, AttentionCount.CAUSAL)
    assert none == model < selective < full
    # Korthikanti et al. §5: full recompute costs about one extra forward, ~1/3 more.
    assert full / model == pytest.approx(4 / 3, rel=0.01)


def test_causal_attention_counts_half_the_scores() -> None:
    full = attention_flops_per_token_fwd(GPT3, 2048, AttentionCount.FULL)
    causal = attention_flops_per_token_fwd(GPT3, 2048, AttentionCount.CAUSAL)
    assert causal == pytest.approx(full / 2)
    assert full == pytest.approx(96 * 4 * 2048 * 12288)


def test_tied_embeddings_share_parameters_not_the_logits_gemm() -> None:
    # Megatron's GPT ties the output head to the input embedding, and Narayanan et al.'s
    # eq. (3) still counts the logits GEMM (the V/16lh term): tying saves parameters only.
    tied = GPT3.model_copy(update={"tied_embeddings": True})
    layers, h, s, v = 96, 12288, 2048, 51200
    expected_per_token = 96 * layers * h**2 * (1 + s / (6 * h) + v / (16 * layers * h))
    got = hardware_flops_per_token(tied, s, Recompute.FULL, AttentionCount.FULL)
    assert got == pytest.approx(expected_per_token, rel=1e-12)
    assert model_flops_per_token(tied, s) == model_flops_per_token(GPT3, s)
    assert model_size(GPT3).total - model_size(tied).total == pytest.approx(v * h)
