"""Step time: parts add up, physical bounds and directions, the planner's guarantees."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from colossus_sim import api
from colossus_sim.config.load import job_names, load_gpu, load_job, load_perf_constants
from colossus_sim.config.workload import PlanFields
from colossus_sim.errors import ScenarioError
from colossus_sim.perf.memory import memory_per_gpu
from colossus_sim.perf.plan_grid import PlanGrid, RunSetup
from colossus_sim.perf.planner import candidate_grid
from colossus_sim.perf.step_time import PART_NAMES, step_arrays


def _setup(job: str, racks: int) -> RunSetup:
    spec = load_job(job)
    gpu = load_gpu(spec.default_gpu)
    return RunSetup(
        arch=spec.arch,
        training=spec.training,
        software=spec.software,
        gpu=gpu,
        consts=load_perf_constants(),
        gpus=racks * spec.active_gpus_per_rack,
        domain_gpus=min(gpu.nvlink_domain_gpus, spec.active_gpus_per_rack),
    )


@pytest.mark.parametrize("job", job_names())
def test_every_job_plans_on_its_default_racks(job: str) -> None:
    result = api.job_step(job)
    step = result.step
    assert step.hbm_used_gb <= step.hbm_capacity_gb
    assert sum(step.breakdown_s.values()) == pytest.approx(step.step_s, rel=1e-12)
    assert step.gpus_used <= step.gpus
    # MFU can never exceed the fraction of peak the GEMMs themselves reach.
    assert 0 < step.mfu < load_gpu(result.gpu).matmul_efficiency


def test_parts_are_non_negative_for_every_candidate() -> None:
    setup = _setup("grok5_10t", 3400)
    grid = candidate_grid(setup, PlanFields())
    arrays = step_arrays(setup, grid)
    for name in PART_NAMES:
        assert np.all(getattr(arrays, name) >= 0), name
    assert np.all(np.isfinite(arrays.step_s))


def test_twenty_percent_more_racks_raise_the_10t_jobs_throughput() -> None:
    base = api.job_step("grok5_10t")
    more = api.job_step("grok5_10t", racks=int(base.racks * 1.2))
    assert more.step.tokens_per_s > 1.1 * base.step.tokens_per_s
    assert more.planned_days < base.planned_days


def test_a_10t_model_does_not_fit_on_one_rack_and_the_error_says_by_how_much() -> None:
    with pytest.raises(ScenarioError) as caught:
        api.job_step("grok5_10t", racks=1)
    message = str(caught.value)
    assert "does not fit" in message and "GB more than" in message
    # 10T parameters × 16 B of training state is 160 TB; 64 GPUs of 273 GB hold 17.5 TB.
    need = float(message.split("needs ")[1].split(" GB")[0].replace(",", ""))
    assert need * 64 > 16 * 10e12 / 1e9


@settings(max_examples=25, deadline=None)
@given(job=st.sampled_from(job_names()), racks=st.integers(8, 800))
def test_the_planner_never_returns_a_plan_that_does_not_fit(job: str, racks: int) -> None:
    try:
        result = api.job_step(job, racks=min(racks, 1400))
    except ScenarioError as exc:
        assert "does not fit" in str(exc) or "no parallel plan" in str(exc)
        return
    setup = _setup(job, result.racks)
    mem = memory_per_gpu(setup, PlanGrid.of(result.step.plan)).total[0]
    assert float(mem) <= setup.hbm_capacity_bytes
    assert result.step.plan.gpus <= setup.gpus


def test_a_fixed_plan_field_is_honoured() -> None:
    result = api.job_step("grok5_10t", plan="tp=8,recompute=full")
    assert result.step.plan.tp == 8
    assert result.step.plan.recompute.value == "full"
