"""Step time: parts add up, physical bounds and directions, the planner's guarantees."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from colossus_sim import api
from colossus_sim.config.hardware import Precision
from colossus_sim.config.load import (
    job_names,
    load_gpu,
    load_job,
    load_perf_constants,
    load_validation_cases,
)
from colossus_sim.config.workload import (
    Fp8Scaling,
    MoEArch,
    ParallelPlan,
    PlanFields,
    Recompute,
)
from colossus_sim.errors import ScenarioError
from colossus_sim.perf.fidelity import case_setup
from colossus_sim.perf.memory import memory_per_gpu
from colossus_sim.perf.plan_grid import PlanGrid, RunSetup
from colossus_sim.perf.planner import candidate_grid
from colossus_sim.perf.step_time import PART_NAMES, step_arrays


def _setup(job: str, racks: int, gpu_name: str | None = None) -> RunSetup:
    """``job``'s workload on ``racks`` racks of its default GPU (or ``gpu_name``)."""
    spec = load_job(job)
    gpu = load_gpu(gpu_name or spec.default_gpu)
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


@settings(max_examples=25, deadline=None)
@given(
    job=st.sampled_from(["grok44_1t_a", "imagine_v2"]),
    racks=st.integers(1, 40),
    tp=st.sampled_from([None, 1, 3, 8]),
    pp=st.sampled_from([None, 2, 5]),
    dp=st.sampled_from([None, 4]),
)
def test_the_candidate_grid_is_the_filtered_full_product_in_order(
    job: str, racks: int, tp: int | None, pp: int | None, dp: int | None
) -> None:
    """Every valid combination, and only those, in row-major order of the search axes: the
    staged construction drops rows early but must not change the set or the tie order."""
    setup = _setup(job, racks)
    fixed = PlanFields(tp=tp, pp=pp, dp=dp)
    grid = candidate_grid(setup, fixed)
    arch, training = setup.arch, setup.training
    experts = arch.experts if isinstance(arch, MoEArch) else 1
    full = candidate_grid(setup, PlanFields())  # the free axes, read back from the grid
    axes = {
        "tp": [tp] if tp else sorted(set(full.tp.tolist())),
        "cp": sorted(set(full.cp.tolist())),
        "pp": [pp] if pp else sorted(set(full.pp.tolist())),
        "ep": sorted(set(full.ep.tolist())),
        "vp": sorted(set(full.vp.tolist())),
        "mb": sorted(set(full.mb.tolist())),
        "rc": sorted(set(full.rc.tolist())),
    }
    want = []
    for t, c, p, e, v, m, r in itertools.product(*axes.values()):
        d = setup.gpus // (t * c * p)
        micro = -(-training.global_batch // max(d * m, 1))
        if (
            arch.heads % t == 0
            and arch.kv_heads_resolved % t == 0
            and t <= setup.domain_gpus
            and training.seq_len % c == 0
            and p <= arch.layers
            and experts % e == 0
            and d >= 1
            and (dp is None or d == dp)
            and d * m <= training.global_batch
            and (t * c * d) % e == 0
            and (v == 1 or (p > 1 and micro >= p and p * v <= arch.layers))
        ):
            want.append((t, p, d, e, c, v, m, r))
    fields = ("tp", "pp", "dp", "ep", "cp", "vp", "mb", "rc")
    got = list(zip(*(getattr(grid, f).tolist() for f in fields), strict=True))
    assert got == want


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


# --- the MoE token-path term (moe_dispatch_s) --------------------------------------------


def _moe_setup(**training: int) -> tuple[RunSetup, ParallelPlan]:
    case = next(c for c in load_validation_cases() if c.name == "mbridge-qwen3-30b-a3b-gb200")
    setup = case_setup(case)
    if training:
        setup = replace(setup, training=setup.training.model_copy(update=training))
    plan = ParallelPlan(tp=1, pp=1, dp=8, ep=8, microbatch=4)
    return setup, plan


def _moe_dispatch_s(setup: RunSetup, plan: ParallelPlan) -> float:
    return float(step_arrays(setup, PlanGrid.of(plan)).moe_dispatch_s[0])


def test_moe_dispatch_vanishes_for_a_dense_model() -> None:
    setup = _setup("imagine_v2", 100)
    arrays = step_arrays(setup, candidate_grid(setup, PlanFields()))
    assert np.all(arrays.moe_dispatch_s == 0.0)
    dense_case = next(c for c in load_validation_cases() if c.name == "mbridge-llama3-8b-h100")
    grid = PlanGrid.of(ParallelPlan(tp=1, pp=1, dp=8))
    assert step_arrays(case_setup(dense_case), grid).moe_dispatch_s[0] == 0.0


def test_moe_dispatch_is_the_documented_formula() -> None:
    # β · k·h · (T/tp) · (3 + full) · λ_moe / (BF16 peak · η) per microbatch, times m.
    setup, plan = _moe_setup()
    arch, consts = setup.arch, setup.consts
    assert isinstance(arch, MoEArch)
    tokens = plan.microbatch * setup.training.seq_len
    m = setup.training.global_batch // (plan.dp * plan.microbatch)
    expected = (
        consts.moe_dispatch_flops_per_routed_element
        * arch.top_k
        * arch.d_model
        * tokens
        * 3.0
        * arch.layers
        / (setup.gpu.peak_tflops(Precision.BF16) * 1e12 * setup.gpu.matmul_efficiency)
        * m
    )
    assert _moe_dispatch_s(setup, plan) == pytest.approx(expected, rel=1e-12)
    full = plan.model_copy(update={"recompute": Recompute.FULL})
    assert _moe_dispatch_s(setup, full) == pytest.approx(expected * 4.0 / 3.0, rel=1e-12)


def test_moe_dispatch_scales_with_moe_layers_tokens_and_the_calibrated_rate() -> None:
    setup, plan = _moe_setup()
    base = _moe_dispatch_s(setup, plan)
    assert base > 0.0
    # Half the layers dense: half the MoE token path.
    assert isinstance(setup.arch, MoEArch)
    half_dense = setup.arch.model_copy(update={"dense_layers": 24, "dense_ffn_dim": 6144})
    assert _moe_dispatch_s(replace(setup, arch=half_dense), plan) == pytest.approx(base / 2)
    # Twice the tokens per data-parallel rank (batch), twice the cost per step.
    doubled, _ = _moe_setup(global_batch=2 * setup.training.global_batch)
    assert _moe_dispatch_s(doubled, plan) == pytest.approx(2 * base)
    # Tensor parallelism splits the routed tokens: each rank routes its sequence shard.
    tp2 = plan.model_copy(update={"tp": 2, "dp": 4})
    assert _moe_dispatch_s(setup, tp2) == pytest.approx(base)  # 2× microbatches, ½ tokens each
    # Half the calibrated rate, twice the time (HBM bandwidth does not enter); no cost when
    # the constant is zero.
    gpu = setup.gpu
    slow = replace(
        setup, gpu=gpu.model_copy(update={"matmul_efficiency": gpu.matmul_efficiency / 2})
    )
    assert _moe_dispatch_s(slow, plan) == pytest.approx(2 * base)
    wide = replace(setup, gpu=gpu.model_copy(update={"hbm_tb_per_s": 2 * gpu.hbm_tb_per_s}))
    assert _moe_dispatch_s(wide, plan) == pytest.approx(base)
    free = replace(
        setup,
        consts=setup.consts.model_copy(update={"moe_dispatch_flops_per_routed_element": 0.0}),
    )
    assert _moe_dispatch_s(free, plan) == 0.0


def test_block_recompute_costs_its_layers_forward_and_saves_their_activations() -> None:
    # Llama 3 8B on 8 H100 (TP 1, PP 1): recomputing the first 8 of 32 layers in full runs
    # their forward again (a quarter of one more forward of the GEMMs, which are 1/3 of the
    # three passes) and keeps only their input; all 32 is full recompute.
    case = next(c for c in load_validation_cases() if c.name == "mbridge-llama3-8b-h100")
    plan = PlanGrid.of(ParallelPlan(tp=1, pp=1, dp=8, microbatch=1))

    def with_layers(n: int) -> RunSetup:
        sw = case.software.model_copy(update={"full_recompute_layers": n})
        return replace(case_setup(case), software=sw)

    none, quarter, every = (with_layers(n) for n in (0, 8, 32))
    compute = [float(step_arrays(s, plan).compute_s[0]) for s in (none, quarter, every)]
    full = PlanGrid.of(ParallelPlan(tp=1, pp=1, dp=8, microbatch=1, recompute=Recompute.FULL))
    assert compute[2] == pytest.approx(float(step_arrays(none, full).compute_s[0]))
    assert compute[1] - compute[0] == pytest.approx(0.25 * (compute[2] - compute[0]), rel=0.02)
    acts = [float(memory_per_gpu(s, plan).activations[0]) for s in (none, quarter, every)]
    assert acts[0] > acts[1] > acts[2]
    assert acts[2] == pytest.approx(float(memory_per_gpu(none, full).activations[0]))


def test_softmax_exponentials_add_to_attention_where_the_kernel_waits_for_them() -> None:
    # Llama 3 8B, one GPU's step: an exponential per score forward and one in backward.
    # On GB200 (the matmul waits for the softmax: NVIDIA's Blackwell Ultra softmax blog) they
    # add to the attention time; on H100 (FlashAttention-3 overlaps them) they hide behind the
    # matmuls, which take longer.
    case = next(c for c in load_validation_cases() if c.name == "mbridge-llama3-8b-gb200")
    plan = PlanGrid.of(ParallelPlan(tp=1, pp=1, dp=8, microbatch=2))
    setup = case_setup(case)

    def compute_s(gpu_name: str, exp_tera_per_s: float) -> float:
        gpu = load_gpu(gpu_name).model_copy(update={"exp_tera_per_s": exp_tera_per_s})
        return float(step_arrays(replace(setup, gpu=gpu), plan).compute_s[0])

    base, double, unlimited = (compute_s("gb200", r) for r in (5.0, 10.0, 1e9))
    assert base - unlimited == pytest.approx(2.0 * (double - unlimited), rel=1e-6)
    assert base > double > unlimited
    h100 = load_gpu("h100")
    assert h100.attention_softmax_overlaps_mma
    assert compute_s("h100", h100.exp_tera_per_s) == pytest.approx(compute_s("h100", 1e9))
    no_flash = replace(setup, software=setup.software.model_copy(update={"flash_attention": False}))
    slow_exp = load_gpu("gb200").model_copy(update={"exp_tera_per_s": 0.01})
    assert step_arrays(replace(no_flash, gpu=slow_exp), plan).compute_s[0] == pytest.approx(
        step_arrays(no_flash, plan).compute_s[0]
    )


def test_fp8_training_pays_for_casting_every_gemm_input_and_output_gradient() -> None:
    # Llama 3 8B at TP 1, no recompute: per token and layer the forward casts the inputs of
    # QKV (h), the output projection (h), FC1 (h) and FC2 (F); the backward casts the output
    # gradients of QKV (h + 2·1,024), the projection (h), FC1 (2F) and FC2 (h).
    case = next(c for c in load_validation_cases() if c.name == "mbridge-llama3-8b-gb200")
    plan = PlanGrid.of(ParallelPlan(tp=1, pp=1, dp=8, microbatch=2))
    fp8 = case_setup(case)
    free = replace(fp8, consts=fp8.consts.model_copy(update={"fp8_cast_bytes_per_element": 0.0}))
    h, f = 4096, 14336
    elements = (3 * h + f) + (h + 2 * 1024 + h + 2 * f + h)
    tokens = 32 * 128 * 8192 / 8  # layers × tokens per GPU per step
    expected_s = fp8.consts.fp8_cast_bytes_per_element * elements * tokens / 8e12
    got = step_arrays(fp8, plan).memory_bound_s[0] - step_arrays(free, plan).memory_bound_s[0]
    assert float(got) == pytest.approx(expected_s, rel=1e-9)
    bf16 = replace(fp8, training=fp8.training.model_copy(update={"precision": Precision.BF16}))
    bf16_free = replace(bf16, consts=free.consts)
    assert (
        step_arrays(bf16, plan).memory_bound_s[0] == step_arrays(bf16_free, plan).memory_bound_s[0]
    )


def test_delayed_scaling_casts_with_one_read_instead_of_two() -> None:
    # The same FP8 run under delayed scaling: every cast streams the tensor once (no amax pass),
    # so the casts' HBM time is fp8_delayed_cast_bytes_per_element over fp8_cast_bytes_per_element
    # of current scaling's, and nothing else in the step changes.
    case = next(c for c in load_validation_cases() if c.name == "mbridge-llama3-8b-gb200")
    plan = PlanGrid.of(ParallelPlan(tp=1, pp=1, dp=8, microbatch=2))
    current = case_setup(case)
    delayed = replace(
        current,
        software=current.software.model_copy(update={"fp8_scaling": Fp8Scaling.DELAYED}),
    )

    def casts_s(setup: RunSetup) -> float:
        free = setup.consts.model_copy(
            update={"fp8_cast_bytes_per_element": 0.0, "fp8_delayed_cast_bytes_per_element": 0.0}
        )
        with_casts = step_arrays(setup, plan).memory_bound_s[0]
        return float(with_casts - step_arrays(replace(setup, consts=free), plan).memory_bound_s[0])

    consts = current.consts
    ratio = consts.fp8_delayed_cast_bytes_per_element / consts.fp8_cast_bytes_per_element
    assert ratio < 1.0
    assert casts_s(delayed) == pytest.approx(ratio * casts_s(current), rel=1e-9)
    assert step_arrays(delayed, plan).compute_s[0] == step_arrays(current, plan).compute_s[0]


def test_unfused_fp32_loss_streams_its_bytes_for_every_logit() -> None:
    # The 2021 Megatron-LM loss on GPT 1.7B (TP 1, one microbatch of 16 × 2,048 tokens per GPU
    # per step): unfused_cross_entropy_bytes_per_logit for each of the 51,200 logits of each
    # token, at A100's 2.039 TB/s; once per step (the loss is not recomputed).
    case = next(c for c in load_validation_cases() if c.name == "narayanan-1p7b-32")
    plan = PlanGrid.of(ParallelPlan(tp=1, pp=1, dp=32, microbatch=16, recompute=Recompute.FULL))
    setup = case_setup(case)
    unfused, fused = (
        replace(setup, software=setup.software.model_copy(update={"unfused_fp32_cross_entropy": u}))
        for u in (True, False)
    )
    expected_s = unfused.consts.unfused_cross_entropy_bytes_per_logit * 51200 * 16 * 2048 / 2.039e12
    got = step_arrays(unfused, plan).memory_bound_s[0] - step_arrays(fused, plan).memory_bound_s[0]
    assert float(got) == pytest.approx(expected_s, rel=1e-9)
