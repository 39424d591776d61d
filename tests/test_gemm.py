"""GEMM and attention efficiency by shape: quantization facts, the memory floor, invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from colossus_sim.config.hardware import Precision
from colossus_sim.config.load import load_gpu, load_validation_cases
from colossus_sim.config.workload import DenseArch
from colossus_sim.errors import ScenarioError
from colossus_sim.perf.gemm import (
    FLASH_QUERY_BLOCK,
    GemmMachine,
    GemmShape,
    attention_efficiency,
    check_gemm_shapes,
    gemm_time_s,
    ideal_time_s,
    shape_efficiency,
    training_gemms,
)

GB200 = load_gpu("gb200")
# FP8 inputs, BF16 outputs, at GB200's FP8 peak (the ceiling's value does not matter here).
MACHINE = GemmMachine.of(GB200, 5e15, in_bytes=1.0, out_bytes=2.0)
TILE_M, TILE_N, SMS = GB200.gemm_tile.m, GB200.gemm_tile.n, GB200.sm_count


def _t(m: float, n: float, k: float) -> float:
    return float(gemm_time_s(GemmShape(m=m, n=n, k=k), MACHINE))


# 148 SMs = 37 × 4: 37 tiles along M and 4 along N make one full wave on GB200; K long enough
# that the GEMM is compute-bound (checked by the first test).
ROWS, COLS, K_LONG = 37 * TILE_M, 4 * TILE_N, 16384


def test_whole_waves_of_whole_tiles_run_at_the_ceiling() -> None:
    assert SMS == 148
    shape = GemmShape(m=float(ROWS), n=float(COLS), k=float(K_LONG))
    assert float(gemm_time_s(shape, MACHINE)) == pytest.approx(float(ideal_time_s(shape, MACHINE)))


def test_one_row_past_a_full_wave_costs_a_whole_wave() -> None:
    # Wave quantization (NVIDIA matmul guide §3.2): row ROWS+1 needs a 38th row of tiles,
    # 152 tiles on 148 SMs, so a second wave.
    full = _t(ROWS, COLS, K_LONG)
    assert _t(ROWS + 1, COLS, K_LONG) == pytest.approx(2.0 * full)


def test_a_partial_tile_costs_a_whole_tile() -> None:
    # Tile quantization (§3.1): half a tile of rows fewer takes as long.
    assert _t(ROWS - TILE_M // 2, COLS, K_LONG) == pytest.approx(_t(ROWS, COLS, K_LONG))


def test_a_skinny_gemm_is_bound_by_hbm() -> None:
    # M = 1 (a GEMV): 2·N·K FLOPs on N·K weight bytes, far below the FLOPs-per-byte ridge;
    # its 32 tiles split K over the idle SMs, so compute is no longer the limit.
    m, n, k = 1.0, 8192.0, 8192.0
    moved = (m * k + k * n) * 1.0 + m * n * 2.0
    assert _t(m, n, k) == pytest.approx(moved / (GB200.hbm_tb_per_s * 1e12))


@settings(max_examples=200, deadline=None)
@given(
    m=st.integers(1, 1 << 17),
    n=st.integers(1, 1 << 16),
    k=st.integers(1, 1 << 16),
)
def test_efficiency_never_exceeds_the_ceiling_and_time_grows_with_each_dimension(
    m: int, n: int, k: int
) -> None:
    shape = GemmShape(m=float(m), n=float(n), k=float(k))
    assert float(shape_efficiency([shape], MACHINE)) <= 1.0 + 1e-12
    t = _t(m, n, k)
    assert _t(m + 1, n, k) >= t and _t(m, n + 1, k) >= t and _t(m, n, k + 1) >= t


def test_narrow_tensor_parallel_gemms_are_less_efficient_than_wide_ones() -> None:
    # Llama 3 8B's layer split 8 ways has 1/8 the columns per GPU: more of its time is in
    # partial waves and under the memory floor.
    def layer(tp: float) -> list[GemmShape]:
        t = np.array([8192.0])
        return [
            GemmShape(m=t, n=6144.0 / tp, k=4096.0),
            GemmShape(m=t, n=4096.0, k=4096.0 / tp),
            GemmShape(m=t, n=28672.0 / tp, k=4096.0),
            GemmShape(m=t, n=4096.0, k=14336.0 / tp),
        ]

    assert float(shape_efficiency(layer(8.0), MACHINE)[0]) < float(
        shape_efficiency(layer(1.0), MACHINE)[0]
    )


@settings(max_examples=40, deadline=None)
@given(
    tokens=st.lists(st.floats(1.0, 1e6), min_size=1, max_size=6),
    tp=st.sampled_from([1.0, 2.0, 4.0, 8.0]),
    groups=st.floats(0.05, 64.0),
)
def test_a_layers_gemms_timed_together_are_each_timed_alone(
    tokens: list[float], tp: float, groups: float
) -> None:
    """``shape_efficiency`` times a layer's GEMMs as one stacked array: Σ ideal / Σ actual
    over each GEMM and its two backward GEMMs, timed one at a time and added in order, to
    the bit (scalar and array dimensions mixed, as ``layer_gemms`` gives them)."""
    t = np.asarray(tokens)
    layer = [
        GemmShape(m=t, n=6144.0 / tp, k=4096.0),
        GemmShape(m=t * groups / 8.0, n=2048.0, k=7168.0, groups=groups),
        GemmShape(m=t, n=4096.0, k=14336.0 / tp),
    ]
    ideal = actual = 0.0
    for fwd in layer:
        for gemm in training_gemms(fwd):
            ideal = ideal + ideal_time_s(gemm, MACHINE)
            actual = actual + gemm_time_s(gemm, MACHINE)
    assert shape_efficiency(layer, MACHINE).tolist() == (ideal / actual).tolist()


def test_causal_attention_pays_for_the_diagonal_blocks() -> None:
    # n query blocks walk n(n+1)/2 key blocks where the causal count is n²/2; with the
    # query tiles filling whole waves that is the only loss.
    arch = DenseArch(kind="dense", layers=1, d_model=SMS * 128, heads=SMS, ffn_dim=1)
    seq = 16 * FLASH_QUERY_BLOCK
    eff = attention_efficiency(arch, np.array([seq]), np.array([1.0]), np.array([1.0]), GB200)
    assert float(eff[0]) == pytest.approx(16.0 / 17.0)


def test_a_format_without_tensor_cores_is_refused_at_the_precision_field() -> None:
    arch = DenseArch(kind="dense", layers=1, d_model=4096, heads=32, ffn_dim=14336)
    with pytest.raises(ScenarioError) as caught:
        check_gemm_shapes(arch, load_gpu("a100"), Precision.FP8)  # Ampere has no FP8
    assert caught.value.issues[0].field == "training.precision"


def test_an_unaligned_dimension_is_refused_where_it_is_and_every_published_shape_passes() -> None:
    # 16 bytes = 16 FP8 elements: an FFN of 14,344 (= 14,336 + 8) is not a whole number of them.
    arch = DenseArch(kind="dense", layers=1, d_model=4096, heads=32, ffn_dim=14344)
    check_gemm_shapes(arch, GB200, Precision.BF16)  # 8 BF16 elements divide it
    with pytest.raises(ScenarioError) as caught:
        check_gemm_shapes(arch, GB200, Precision.FP8)
    assert caught.value.issues[0].field == "arch.ffn_dim"
    for case in load_validation_cases():
        check_gemm_shapes(case.arch, load_gpu(case.hardware), case.training.precision)
