"""Parameter counts derived from architectures match published totals."""

from __future__ import annotations

import pytest

from colossus_sim.config.load import load_job, load_validation_cases
from colossus_sim.config.workload import MoEArch
from colossus_sim.perf.model_size import model_size


def _case(name: str):  # type: ignore[no-untyped-def]
    return next(c for c in load_validation_cases() if c.name == name)


def test_llama3_405b_counts_405_billion_parameters() -> None:
    size = model_size(_case("llama3-405b-8k").arch)
    # Meta names it 405B; the per-layer formulas give 405.85B (norm weights ignored, <0.1%).
    assert size.total == pytest.approx(405.8e9, rel=2e-3)
    assert size.active == size.total  # dense: every parameter is active


def test_grok1_recount_matches_published_314b() -> None:
    # Grok-1 (xai-org/grok-1 run.py): 64 layers, d 6144, 48 q / 8 kv heads of 128, 8 experts
    # top-2 with gated FFN 32768, vocab 131072 tied. xAI states 314B; the recount is 315.7B.
    grok1 = MoEArch(
        kind="moe",
        layers=64,
        d_model=6144,
        heads=48,
        kv_heads=8,
        head_dim=128,
        vocab=131072,
        tied_embeddings=True,
        experts=8,
        top_k=2,
        expert_ffn_dim=32768,
    )
    assert model_size(grok1).total == pytest.approx(314e9, rel=0.01)


@pytest.mark.parametrize(
    ("job", "total", "active"),
    [
        # the workload assumptions: 1.013T/167B, 1.470T/252B, 5.968T/894B, 10.077T/1,509B
        ("grok44_1t_a", 1.013e12, 167e9),
        ("grok45_15t_a", 1.470e12, 252e9),
        ("grok5_6t", 5.968e12, 894e9),
        ("grok5_10t", 10.077e12, 1509e9),
    ],
)
def test_colossus_jobs_have_their_stated_sizes(job: str, total: float, active: float) -> None:
    size = model_size(load_job(job).arch)
    # 1% covers the routers (L·d·E) that the reference's hand arithmetic leaves out.
    assert size.total == pytest.approx(total, rel=0.01)
    assert size.active == pytest.approx(active, rel=0.01)


def test_ab_variants_differ_in_active_parameters_not_total() -> None:
    a, b = model_size(load_job("grok44_1t_a").arch), model_size(load_job("grok44_1t_b").arch)
    assert b.total == pytest.approx(a.total, rel=0.01)
    assert b.active < 0.6 * a.active  # fine-grained experts: the planner sees a lighter model
