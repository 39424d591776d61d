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
from colossus_sim.perf.memory import memory_per_gpu
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
    # weights not re-sharded (ZeRO-2). 126 layers over 16 stages: 8 layers on the busiest one.
    plan = ParallelPlan(tp=8, pp=16, dp=64, microbatch=1, recompute=Recompute.NONE)
    mem = memory_per_gpu(_setup(), PlanGrid.of(plan))
    layer = 2 * 16384 * 128 * 128 + 2 * 16384 * 8 * 128 + 3 * 16384 * 53248
    params = (8 * layer + 128256 * 16384) / 8  # its layers and one embedding matrix, / TP
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
