"""HBM per GPU: model-state sharding under ZeRO, activations with recompute, a published figure."""

from __future__ import annotations

import pytest

from colossus_sim.config.load import load_gpu, load_perf_constants, load_validation_cases
from colossus_sim.config.workload import (
    DenseArch,
    ParallelPlan,
    Recompute,
    SoftwareSpec,
    TrainingSpec,
)
from colossus_sim.perf.fidelity import case_breakdown
from colossus_sim.perf.memory import (
    layer_microbatches_in_flight,
    memory_per_gpu,
    state_bytes_per_param,
)
from colossus_sim.perf.plan_grid import PlanGrid, RunSetup, device_params

LLAMA = next(c for c in load_validation_cases() if c.name == "llama3-405b-8k")


def _setup(arch=LLAMA.arch, software=LLAMA.software, gpus=8192, training=LLAMA.training):  # type: ignore[no-untyped-def]
    return RunSetup(
        arch=arch,
        training=training,
        software=software,
        gpu=load_gpu("h100"),
        consts=load_perf_constants(),
        gpus=gpus,
        domain_gpus=8,
    )


def test_llama3_405b_training_state_per_gpu_under_its_published_plan() -> None:
    # Table 4 plan: TP 8, PP 16, DP 64; §3.3.2: optimizer state and gradients sharded over DP,
    # weights not re-sharded (ZeRO-2). 126 layers and the embedding and loss over 16 stages of
    # 8 slots (§3.3.2: the first and last stages carry one layer fewer): the first stage holds
    # 7 layers and the embedding.
    plan = ParallelPlan(tp=8, pp=16, dp=64, microbatch=1, recompute=Recompute.NONE)
    mem = memory_per_gpu(_setup(), PlanGrid.of(plan))
    layer = 2 * 16384 * 128 * 128 + 2 * 16384 * 8 * 128 + 3 * 16384 * 53248
    params = (7 * layer + 128256 * 16384) / 8  # its layers and one embedding matrix, / TP
    assert float(mem.weights[0]) == pytest.approx(2 * params, rel=1e-9)  # BF16 weights
    assert float(mem.grads[0]) == pytest.approx(4 * params / 64, rel=1e-9)  # FP32 grads / DP
    assert float(mem.optimizer[0]) == pytest.approx(12 * params / 64, rel=1e-9)  # Adam / DP
    # The sharded state a checkpoint holds, 16 B/param / (TP·PP·DP), lies inside Llama 3's
    # published "1 MB to 4 GB per GPU" (§3.3.1).
    checkpoint = 16 * 405.8e9 / 8192
    assert 1e6 <= checkpoint <= 4e9


@pytest.mark.parametrize("zero", [0, 1, 2, 3])
def test_model_state_over_all_gpus_adds_up(zero: int) -> None:
    # A single stage (pp=1) holds the whole model: summed over GPUs, ZeRO-k state equals
    # replicated state / dp for the sharded parts and × dp for the rest, exactly.
    arch = DenseArch(kind="dense", layers=8, d_model=1024, heads=8, ffn_dim=4096, vocab=1000)
    software = SoftwareSpec(zero_stage=zero)
    training = TrainingSpec(seq_len=1024, global_batch=64, precision="bf16")
    setup = _setup(arch=arch, software=software, gpus=32, training=training)
    plan = ParallelPlan(tp=4, pp=1, dp=8)
    grid = PlanGrid.of(plan)
    mem = memory_per_gpu(setup, grid)
    total_params = setup.size.total
    nonexpert, _ = device_params(setup, grid)
    assert float(nonexpert[0]) * 4 == pytest.approx(total_params)
    opt_total = float(mem.optimizer[0]) * 32
    expected_copies = 4 if zero >= 1 else 32  # optimizer state: once per TP shard set, or per GPU
    assert opt_total == pytest.approx(12 * total_params * expected_copies / 4)


def test_recompute_trades_activation_memory_for_nothing_else() -> None:
    base = dict(tp=8, pp=16, dp=64, vp=2, microbatch=1)
    by_mode = {
        mode: memory_per_gpu(_setup(), PlanGrid.of(ParallelPlan(**base, recompute=mode)))
        for mode in Recompute
    }
    acts = {mode: float(m.activations[0]) for mode, m in by_mode.items()}
    assert acts[Recompute.FULL] < acts[Recompute.SELECTIVE] <= acts[Recompute.NONE]
    # Model state does not depend on recompute.
    assert len({float(m.weights[0] + m.grads[0] + m.optimizer[0]) for m in by_mode.values()}) == 1


def test_without_flash_attention_selective_recompute_drops_the_scores() -> None:
    software = SoftwareSpec(flash_attention=False)
    none = memory_per_gpu(
        _setup(software=software),
        PlanGrid.of(ParallelPlan(tp=8, pp=16, dp=64, recompute=Recompute.NONE)),
    ).activations[0]
    selective = memory_per_gpu(
        _setup(software=software),
        PlanGrid.of(ParallelPlan(tp=8, pp=16, dp=64, recompute=Recompute.SELECTIVE)),
    ).activations[0]
    # Korthikanti et al. eq. 2: the 5·a·s/h term is what selective recompute removes.
    scores_per_layer_mb = 5 * 128 * 8192 * 8192 / 8
    assert float(none - selective) == pytest.approx(scores_per_layer_mb * 8 * 16, rel=1e-9)


@pytest.mark.parametrize("case", load_validation_cases(), ids=lambda c: c.name)
def test_every_published_plan_fits_in_hbm(case) -> None:  # type: ignore[no-untyped-def]
    # The run happened: its published plan (unpublished details filled by the planner) must
    # fit in the GPU's usable HBM under the memory model and the recipe's settings.
    step = case_breakdown(case)
    assert step.hbm_used_gb <= step.hbm_capacity_gb, (step.plan, step.hbm_breakdown_gb)


@pytest.mark.parametrize(("pp", "vp", "m"), [(4, 1, 8), (16, 4, 384), (8, 3, 16), (2, 1, 1)])
def test_uniform_chunks_hold_narayanans_interleaved_in_flight_activations(
    pp: int, vp: int, m: int
) -> None:
    # Narayanan et al. §2.2.2 / Korthikanti et al. §4.2.3: the first stage holds its layers'
    # activations for min(pp, m) microbatches, ×(1 + (pp−1)/(pp·vp)) when interleaved.
    arch = DenseArch(kind="dense", layers=pp * vp * 3, d_model=1024, heads=8, ffn_dim=4096)
    training = TrainingSpec(seq_len=2048, global_batch=m, precision=LLAMA.training.precision)
    setup = _setup(arch=arch, software=SoftwareSpec(), training=training, gpus=pp)
    grid = PlanGrid.of(ParallelPlan(tp=1, pp=pp, dp=1, vp=vp, microbatch=1))
    expected = 3 * vp * min(pp, m) * (1 + (pp - 1) / (pp * vp) if vp > 1 else 1)
    assert float(layer_microbatches_in_flight(setup, grid)[0]) == pytest.approx(expected)


def test_in_flight_activations_never_exceed_the_microbatches_there_are() -> None:
    # pp 8, vp 3 and only 8 microbatches: all 24 chunk forwards run before the first
    # backward, fewer than the 31 the steady-state formula counts.
    arch = DenseArch(kind="dense", layers=72, d_model=1024, heads=8, ffn_dim=4096)
    training = TrainingSpec(seq_len=2048, global_batch=8, precision=LLAMA.training.precision)
    setup = _setup(arch=arch, software=SoftwareSpec(), training=training, gpus=8)
    grid = PlanGrid.of(ParallelPlan(tp=1, pp=8, dp=1, vp=3, microbatch=1))
    assert float(layer_microbatches_in_flight(setup, grid)[0]) == pytest.approx(3 * 8 * 3)


def test_a_short_first_chunk_and_offloaded_layers_hold_less() -> None:
    # With the embedding counted in the split, 126 layers fill 128 slots of 2 per chunk
    # (pp 16, vp 4): the first chunk has 1 layer, so each of the 2·16 − 1 microbatches its
    # first chunk holds keeps one layer fewer than uniform chunks would.
    grid = PlanGrid.of(ParallelPlan(tp=8, pp=16, dp=64, vp=4, microbatch=1))
    split = _setup()
    uniform = _setup(
        software=LLAMA.software.model_copy(update={"embedding_in_pipeline_split": False})
    )
    window = 4 * 16 + 16 - 1
    assert float(layer_microbatches_in_flight(uniform, grid)[0]) == pytest.approx(2 * window)
    assert float(layer_microbatches_in_flight(split, grid)[0]) == pytest.approx(
        2 * window - (2 * 16 - 1)
    )
    offload = _setup(software=LLAMA.software.model_copy(update={"activation_offload_layers": 1}))
    assert (
        layer_microbatches_in_flight(offload, grid)[0]
        < layer_microbatches_in_flight(split, grid)[0]
    )


def test_recipe_precisions_set_the_bytes_of_weights_and_gradients() -> None:
    fp8 = SoftwareSpec(fp8_param_gather=True, grad_reduce_in_fp32=False)
    assert state_bytes_per_param(_setup(software=SoftwareSpec())) == (2.0, 4.0)  # BF16, FP32
    assert state_bytes_per_param(_setup(software=fp8)) == (1.0, 2.0)  # FP8 weights, BF16 grads
