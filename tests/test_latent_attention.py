"""Multi-head latent attention and multi-token prediction: published sizes, FLOPs, bad input."""

from __future__ import annotations

from dataclasses import replace

import pytest

from colossus_sim.config.hardware import Precision
from colossus_sim.config.load import load_gpu, load_perf_constants
from colossus_sim.config.workload import (
    MoEArch,
    ParallelPlan,
    Recompute,
    SoftwareSpec,
    TrainingSpec,
)
from colossus_sim.errors import FieldValueError, ScenarioError
from colossus_sim.perf.flops import (
    AttentionCount,
    attention_flops_per_token_fwd,
    model_flops_per_token,
    mtp_matmul_flops_per_token_fwd,
    recompute_flops_per_token,
)
from colossus_sim.perf.gemm import check_gemm_shapes
from colossus_sim.perf.memory import memory_per_gpu
from colossus_sim.perf.model_size import model_size
from colossus_sim.perf.plan_grid import PlanGrid, RunSetup
from colossus_sim.perf.step_time import step_arrays

# DeepSeek-V3 (DeepSeek-V3 technical report §2 and §4.2; the repository's config): 61 layers,
# the first 3 dense (FFN 18,432), width 7,168, 128 heads of MLA (KV latent 512, query latent
# 1,536, 128 + 64 rotary query/key dims, 128 value dims), 256 routed experts of 2,048 top-8
# plus one shared expert, vocabulary 129,280, untied.
DSV3 = MoEArch.model_validate(
    {
        "kind": "moe",
        "layers": 61,
        "d_model": 7168,
        "heads": 128,
        "vocab": 129280,
        "experts": 256,
        "top_k": 8,
        "expert_ffn_dim": 2048,
        "shared_ffn_dim": 2048,
        "dense_layers": 3,
        "dense_ffn_dim": 18432,
        "mla": {
            "kv_lora_rank": 512,
            "q_lora_rank": 1536,
            "qk_nope_head_dim": 128,
            "qk_rope_head_dim": 64,
            "v_head_dim": 128,
        },
    }
)


def test_deepseek_v3_counts_671b_parameters_37b_active() -> None:
    # The report: 671B total parameters, 37B activated per token (§1, §4.2).
    size = model_size(DSV3)
    assert size.total == pytest.approx(671e9, rel=2e-3)
    assert size.active == pytest.approx(37e9, rel=0.02)  # norms ignored; "37B" is rounded


def test_an_mtp_module_adds_a_projection_one_moe_layer_and_the_shared_head() -> None:
    with_mtp = DSV3.model_copy(update={"mtp_layers": 1})
    d, one = 7168, model_size(DSV3)
    grown = model_size(with_mtp).total - one.total
    layer = one.nonexpert_per_layer + one.expert_per_layer  # mean layer, 58 of 61 are MoE
    assert 2 * d * d < grown < 2 * d * d + 1.1 * layer
    head = 2.0 * 129280 * d
    assert mtp_matmul_flops_per_token_fwd(with_mtp) > head
    # Full recompute repeats the layers, not the MTP module (nor the head).
    extra = recompute_flops_per_token(with_mtp, 4096, Recompute.FULL, AttentionCount.CAUSAL)
    assert extra == pytest.approx(
        recompute_flops_per_token(DSV3, 4096, Recompute.FULL, AttentionCount.CAUSAL)
    )
    assert model_flops_per_token(with_mtp, 4096) > model_flops_per_token(DSV3, 4096)


def test_latent_attention_scores_use_the_query_key_and_value_head_widths() -> None:
    # QKᵀ over 128 + 64 dims per head, AV over 128: 2·S·H·(192 + 128) per token and layer,
    # half of it causal.
    seq = 4096
    expected = 61 * 2.0 * seq * 128 * (192 + 128) / 2.0
    got = attention_flops_per_token_fwd(DSV3, seq, AttentionCount.CAUSAL)
    assert got == pytest.approx(expected)


def test_mla_fields_are_refused_where_they_cannot_apply() -> None:
    base = DSV3.model_dump()
    with pytest.raises(ValueError, match="kv_heads"):
        MoEArch.model_validate(base | {"kv_heads": 8})
    with pytest.raises(ValueError, match="vocab"):
        MoEArch.model_validate(base | {"vocab": 0, "mtp_layers": 1})
    bad_rank = DSV3.model_copy(
        update={"mla": DSV3.mla.model_copy(update={"kv_lora_rank": 500})}  # type: ignore[union-attr]
    )
    with pytest.raises(ScenarioError) as caught:  # 500 is not a multiple of 16 FP8 elements
        check_gemm_shapes(bad_rank, load_gpu("gb200"), Precision.FP8)
    assert caught.value.issues[0].field == "arch.mla.kv_lora_rank"
    assert issubclass(FieldValueError, ValueError)


def test_a_deepseek_v3_step_runs_its_mla_gemms_and_keeps_its_latents() -> None:
    gpu = load_gpu("gb200")
    setup = RunSetup(
        arch=DSV3,
        training=TrainingSpec(seq_len=4096, global_batch=4096, precision=Precision.FP8),
        software=SoftwareSpec(),
        gpu=gpu,
        consts=load_perf_constants(),
        gpus=256,
        domain_gpus=72,
    )
    grid = PlanGrid.of(ParallelPlan(tp=1, pp=8, dp=32, ep=32, vp=4, microbatch=1))
    step = step_arrays(setup, grid)
    assert float(step.step_s[0]) > 0.0
    no_q_latent = replace(
        setup,
        arch=DSV3.model_copy(
            update={"mla": DSV3.mla.model_copy(update={"q_lora_rank": 0})}  # type: ignore[union-attr]
        ),
    )
    # The query latent (1,536 per token) is kept for its up-projection's backward.
    kept = memory_per_gpu(setup, grid).activations[0]
    assert kept > memory_per_gpu(no_q_latent, grid).activations[0]
