"""MoE load imbalance: the busiest expert-parallel rank and what it costs the step."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from colossus_sim.config.load import load_job, load_validation_cases
from colossus_sim.config.workload import MoEArch
from colossus_sim.perf.fidelity import case_breakdown, case_setup
from colossus_sim.perf.gemm import layer_gemms
from colossus_sim.perf.moe_imbalance import expected_max_standard_normal, rank_load_imbalance
from colossus_sim.perf.plan_grid import PlanGrid
from colossus_sim.perf.step_time import step_arrays


def _moe(job: str = "grok5_10t") -> MoEArch:
    arch = load_job(job).arch
    assert isinstance(arch, MoEArch)
    return arch


def test_blom_is_close_to_the_exact_expected_maximum_of_a_few_normals() -> None:
    # E[max of 2] = 1/√π and E[max of 3] = 3/(2√π) exactly; Blom's plotting position is
    # within 0.03 of them (its known error for small n), and 0 for a single draw.
    z = expected_max_standard_normal(np.array([1, 2, 3]))
    assert z[0] == pytest.approx(0.0, abs=1e-12)
    assert z[1] == pytest.approx(1.0 / math.sqrt(math.pi), abs=0.03)
    assert z[2] == pytest.approx(3.0 / (2.0 * math.sqrt(math.pi)), abs=0.03)


@pytest.mark.parametrize("n", [8, 64])
def test_blom_matches_sampled_maxima(n: int) -> None:
    # 20,000 seeded samples of the maximum of n standard normals: the sample mean's standard
    # error is ~0.4/√20000 ≈ 0.003, Blom's bias at these n under 0.02.
    draws = np.random.default_rng(7).standard_normal((20_000, n)).max(axis=1)
    assert expected_max_standard_normal(np.array([n]))[0] == pytest.approx(draws.mean(), abs=0.03)


def test_every_expert_on_one_gpu_or_balanced_routing_waits_for_nobody() -> None:
    arch = _moe()
    assert rank_load_imbalance(arch, np.array([1]))[0] == 1.0
    balanced = arch.model_copy(update={"expert_load_cv": 0.0})
    assert np.all(rank_load_imbalance(balanced, np.array([1, 8, 64])) == 1.0)


def test_more_ranks_with_fewer_experts_each_wait_longer() -> None:
    imbalance = rank_load_imbalance(_moe(), np.array([1, 2, 4, 8, 16, 32, 64]))
    assert np.all(np.diff(imbalance) > 0)


def test_the_stored_load_spread_reproduces_the_published_measurement() -> None:
    # FEPLB (docs/sources.md#feplb): 128 experts on 8 ranks leave the GPUs waiting 18.6% of a
    # MoE layer for the busiest, i.e. 1 − mean/max = 0.186. The workloads' spread is derived
    # from it (3 decimals stored: ±0.001 on the share).
    glm_like = _moe().model_copy(update={"experts": 128})
    busiest = rank_load_imbalance(glm_like, np.array([8]))[0]
    assert 1.0 - 1.0 / busiest == pytest.approx(0.186, abs=1e-3)


def test_the_busiest_rank_runs_its_share_times_the_imbalance_through_its_experts() -> None:
    arch = _moe()
    tokens, tp, ep = np.array([8192.0]), np.array([4.0]), np.array([8.0])
    imbalance = rank_load_imbalance(arch, ep)
    balanced = layer_gemms(arch, tokens, tp, ep)
    busiest = layer_gemms(arch, tokens, tp, ep, imbalance)
    experts = [i for i, g in enumerate(balanced) if np.any(np.asarray(g.groups) > 1)]
    assert experts  # the grouped expert GEMMs
    for i, (b, s) in enumerate(zip(balanced, busiest, strict=True)):
        ratio = imbalance if i in experts else 1.0
        assert np.asarray(s.m) == pytest.approx(np.asarray(b.m) * ratio)


def test_uneven_routing_slows_an_expert_parallel_step() -> None:
    case = next(c for c in load_validation_cases() if c.name == "mbridge-qwen3-235b-a22b-gb200")
    setup = case_setup(case)
    grid = PlanGrid.of(case_breakdown(case).plan)
    uneven = replace(setup, arch=setup.arch.model_copy(update={"expert_load_cv": 0.637}))
    even, slow = step_arrays(setup, grid), step_arrays(uneven, grid)
    assert slow.compute_s[0] > even.compute_s[0]
    assert slow.ep_comm_s[0] > even.ep_comm_s[0]
    # Attention and the token path outside the GEMMs are not the busiest rank's business.
    assert slow.moe_dispatch_s[0] == even.moe_dispatch_s[0]
