"""GEMM and attention-kernel efficiency by shape: tile and wave quantization, a memory floor.

Notes
-----
A GEMM ``C[M×N] = A[M×K]·B[K×N]`` runs as ``⌈M/b_m⌉·⌈N/b_n⌉`` output tiles of ``b_m×b_n``
(the GPU file's ``gemm_tile``), each SM computing one tile at a time; the tiles run in
``⌈tiles/SMs⌉`` waves and every wave costs a whole tile's ``2·b_m·b_n·K`` FLOPs at the SM's
share of the ceiling rate (tile quantization pads the edges, wave quantization the last
wave). A GEMM of fewer tiles than SMs splits its K loop ``σ = ⌊SMs/tiles⌋`` ways (split-K).
A skinny GEMM cannot run faster than its operands stream through HBM:

    t = max( ⌈σ·tiles/SMs⌉ · 2·b_m·b_n·K/σ / (R/SMs),  ((M·K + K·N)·in + M·N·out) / HBM_bw )

with ``R`` the ceiling rate (peak × the GPU type's calibrated efficiency, which is what a
full-wave, compute-bound GEMM reaches). A training step runs each linear layer's forward
``(M, N, K)``, its input-gradient GEMM ``(M, K, N)`` and its weight-gradient GEMM
``(K, N, M)``. The *shape efficiency* of a set of GEMMs is ``Σ 2MNK/R / Σ t`` (≤ 1): the
step-time model divides its FLOPs by ``R × shape efficiency``.

A causal flash-attention kernel tiles the queries of each (microbatch, head) into blocks of
128 and walks the key blocks up to the diagonal: ``n(n+1)/2`` block pairs where the causal
FLOP count assumes ``n²/2`` (``n = ⌈S_local/128⌉``), and the ``mb·heads/tp·n`` query tiles
run in waves over the SMs. The same GEMM shapes give the elements FP8 training casts (each
GEMM's inputs forward, its output gradient backward), and ``check_gemm_shapes`` refuses, as
located bad input, a format or dimension these tensor-core kernels cannot take.

Cost: the shapes depend on a plan's (tp, cp, microbatch, ep) only, so each distinct layout
(a few hundred in a grid of ~10⁵ plans) is timed once — a handful of numpy operations per
GEMM, about 25 GEMMs per layer — and the results are indexed back to the plans.

References
----------
NVIDIA, "Matrix Multiplication Background User's Guide" (tile and wave quantization, typical
cuBLAS tile sizes); Osama et al., "Stream-K", PPoPP'23, arXiv 2301.03598 (split-K for GEMMs
of few tiles); Dao, "FlashAttention-2", arXiv 2307.08691 §3 (block tiling of queries
and keys; causal blocks above the diagonal skipped).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from colossus_sim.config.hardware import GpuSpec, Precision
from colossus_sim.config.workload import MoEArch
from colossus_sim.errors import ScenarioError
from colossus_sim.perf.model_size import ArchT
from colossus_sim.perf.moe_imbalance import rank_load_imbalance
from colossus_sim.perf.plan_grid import FloatArray, IntArray, PlanGrid, RunSetup

Dim = FloatArray | float

PRECISION_BYTES = {Precision.BF16: 2.0, Precision.FP8: 1.0, Precision.FP4: 0.5}
"""Bytes per GEMM operand element in each training format."""

FLASH_QUERY_BLOCK = 128.0
"""Query rows per flash-attention thread block at head dimension 128 (FlashAttention-2 §3.3
uses 128×64 or 128×128 blocks; FlashAttention-3 and cuDNN keep 128 query rows)."""


@dataclass(frozen=True)
class GemmShape:
    """A (grouped) GEMM: ``groups`` independent ``m×n×k`` products run in one launch."""

    m: Dim
    n: Dim
    k: Dim
    groups: Dim = 1.0


@dataclass(frozen=True)
class GemmMachine:
    """What times a GEMM on one GPU: its SMs, tile, ceiling rate and HBM bandwidth."""

    sms: int
    tile_m: int
    tile_n: int
    rate_flops_per_s: float
    hbm_bytes_per_s: float
    in_bytes: float
    out_bytes: float

    @classmethod
    def of(
        cls, gpu: GpuSpec, rate_flops_per_s: float, in_bytes: float, out_bytes: float
    ) -> GemmMachine:
        return cls(
            sms=gpu.sm_count,
            tile_m=gpu.gemm_tile.m,
            tile_n=gpu.gemm_tile.n,
            rate_flops_per_s=rate_flops_per_s,
            hbm_bytes_per_s=gpu.hbm_tb_per_s * 1e12,
            in_bytes=in_bytes,
            out_bytes=out_bytes,
        )


def gemm_time_s(shape: GemmShape, machine: GemmMachine) -> FloatArray:
    """Seconds for one (grouped) GEMM: quantized compute or the HBM floor, whichever is longer."""
    m, n, k, g = (
        np.asarray(x, dtype=np.float64) for x in (shape.m, shape.n, shape.k, shape.groups)
    )
    tiles = g * np.ceil(m / machine.tile_m) * np.ceil(n / machine.tile_n)
    splits = np.maximum(np.floor(machine.sms / tiles), 1.0)  # split-K when tiles < SMs
    waves = np.ceil(tiles * splits / machine.sms)
    tile_flops = 2.0 * machine.tile_m * machine.tile_n * k / splits
    compute = waves * tile_flops * machine.sms / machine.rate_flops_per_s
    moved = g * ((m * k + k * n) * machine.in_bytes + m * n * machine.out_bytes)
    return np.asarray(np.maximum(compute, moved / machine.hbm_bytes_per_s), dtype=np.float64)


def ideal_time_s(shape: GemmShape, machine: GemmMachine) -> FloatArray:
    """Seconds at the ceiling rate with no quantization and no memory floor."""
    flops = 2.0 * np.asarray(shape.groups) * shape.m * shape.n * shape.k
    return np.asarray(flops / machine.rate_flops_per_s, dtype=np.float64)


def training_gemms(fwd: GemmShape) -> tuple[GemmShape, GemmShape, GemmShape]:
    """A linear layer's forward, input-gradient and weight-gradient GEMMs."""
    return (
        fwd,
        GemmShape(m=fwd.m, n=fwd.k, k=fwd.n, groups=fwd.groups),
        GemmShape(m=fwd.k, n=fwd.n, k=fwd.m, groups=fwd.groups),
    )


def shape_efficiency(shapes: list[GemmShape], machine: GemmMachine) -> FloatArray:
    """``Σ ideal / Σ actual`` over the forward GEMMs ``shapes`` and their two backward GEMMs
    (timed together: one row per GEMM, added in order)."""
    gemms = stacked([gemm for fwd in shapes for gemm in training_gemms(fwd)])
    ideal = summed(ideal_time_s(gemms, machine))
    actual = summed(gemm_time_s(gemms, machine))
    return np.asarray(np.asarray(ideal) / np.asarray(actual), dtype=np.float64)


def stacked(shapes: list[GemmShape]) -> GemmShape:
    """The GEMMs ``shapes`` as one whose dimensions have a row per GEMM (scalars and arrays
    broadcast to the plans): ``gemm_time_s`` and ``ideal_time_s`` time them all in one pass
    of numpy operations instead of one pass per GEMM, each element as alone."""
    dims = [(g.m, g.n, g.k, g.groups) for g in shapes]
    width = np.broadcast_shapes(*(np.shape(d) for dim in dims for d in dim))
    rows = np.empty((4, len(shapes), *width), dtype=np.float64)
    for i, dim in enumerate(dims):
        for j, d in enumerate(dim):
            rows[j, i] = d
    return GemmShape(m=rows[0], n=rows[1], k=rows[2], groups=rows[3])


def summed(rows: FloatArray) -> FloatArray | float:
    """The rows of a stacked timing added first to last (a loop over the GEMMs' order)."""
    total: FloatArray | float = 0.0
    for row in rows:
        total = total + row
    return total


def layer_gemms(
    arch: ArchT, tokens: FloatArray, tp: FloatArray, ep: FloatArray, imbalance: Dim = 1.0
) -> list[GemmShape]:
    """Forward weight GEMMs of one transformer layer on the busiest GPU (``tokens`` rows each).

    Attention (QKV and output projections) and dense FFNs are split ``tp`` ways (columns of
    the first GEMM, rows of the second); routed experts are grouped GEMMs over the
    ``experts/ep`` local experts, each taking ``(tokens/tp)·top_k·ep/experts`` rows when
    routing is balanced (each of the ``ep`` ranks of the expert group routes its
    ``tokens/tp`` shard ``top_k`` times, as ``step_time.py``'s dispatch does), ``imbalance``
    times that on the busiest rank (``moe_imbalance.py``). MoE layers and dense layers are
    weighted by their share of the layers.
    """
    h = float(arch.d_model)
    up = 2.0 if arch.gated_ffn else 1.0
    shapes = attention_gemms(arch, tokens, tp)

    def ffn(width: float, share: float) -> list[GemmShape]:
        return [
            GemmShape(m=tokens, n=up * width / tp, k=h, groups=share),
            GemmShape(m=tokens, n=h, k=width / tp, groups=share),
        ]

    if not isinstance(arch, MoEArch):
        return shapes + ffn(float(getattr(arch, "ffn_dim", 0)), 1.0)
    moe_share = arch.moe_layers / arch.layers
    per_expert = tokens / tp * arch.top_k * ep / arch.experts * imbalance
    local = moe_share * arch.experts / ep
    fe = float(arch.expert_ffn_dim)
    shapes += [
        GemmShape(m=per_expert, n=up * fe, k=h, groups=local),
        GemmShape(m=per_expert, n=h, k=fe, groups=local),
    ]
    if arch.shared_ffn_dim:
        shapes += ffn(float(arch.shared_ffn_dim), moe_share)
    if arch.dense_layers:
        shapes += ffn(float(arch.dense_ffn_dim), arch.dense_layers / arch.layers)
    return shapes


def attention_gemms(arch: ArchT, tokens: FloatArray, tp: FloatArray) -> list[GemmShape]:
    """Forward projection GEMMs of one layer's attention on one GPU: fused QKV and output
    (split ``tp`` ways by heads), or with latent attention the latents' down-projections
    (``d`` to ``q_lora`` and to ``kv_lora + rope``), their up-projections to the heads and the
    output."""
    h, w, mla = float(arch.d_model), arch.widths, arch.mla
    out = GemmShape(m=tokens, n=h, k=w.out / tp)
    if mla is None:
        return [GemmShape(m=tokens, n=(w.q + w.k + w.v) / tp, k=h), out]
    q_in = float(mla.q_lora_rank) if mla.q_lora_rank else h
    kv_up = arch.heads * (mla.qk_nope_head_dim + mla.v_head_dim)
    shapes = [
        GemmShape(m=tokens, n=float(mla.kv_lora_rank + mla.qk_rope_head_dim), k=h),
        GemmShape(m=tokens, n=kv_up / tp, k=float(mla.kv_lora_rank)),
        GemmShape(m=tokens, n=w.q / tp, k=q_in),
        out,
    ]
    if mla.q_lora_rank:
        shapes.append(GemmShape(m=tokens, n=float(mla.q_lora_rank), k=h))
    return shapes


def quantized_elements_per_token(
    shapes: list[GemmShape], tokens: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Elements per token and layer that FP8 training casts: (forward GEMM inputs, output
    gradients fed to the backward GEMMs), summed over a layer's GEMMs ``shapes`` on one GPU."""
    fwd: FloatArray | float = 0.0
    bwd: FloatArray | float = 0.0
    for gemm in shapes:
        rows_per_token = np.asarray(gemm.groups) * np.asarray(gemm.m) / tokens
        fwd = fwd + rows_per_token * gemm.k
        bwd = bwd + rows_per_token * gemm.n
    return np.asarray(fwd, dtype=np.float64), np.asarray(bwd, dtype=np.float64)


def head_gemm(arch: ArchT, tokens: FloatArray, tp: FloatArray) -> GemmShape:
    """The output head's forward GEMM (logits), vocabulary split ``tp`` ways."""
    return GemmShape(m=tokens, n=float(arch.vocab) / tp, k=float(arch.d_model))


def attention_efficiency(
    arch: ArchT, seq_local: FloatArray, mb: FloatArray, tp: FloatArray, gpu: GpuSpec
) -> FloatArray:
    """Flash attention's shape efficiency: causal diagonal blocks and waves of query tiles."""
    block = FLASH_QUERY_BLOCK
    n = np.ceil(seq_local / block)
    diagonal = n / (n + 1.0) if arch.causal else np.ones_like(n)
    tiles = mb * arch.heads / tp * n
    waves = np.ceil(tiles / gpu.sm_count)
    return np.asarray(diagonal * tiles / (waves * gpu.sm_count), dtype=np.float64)


@dataclass(frozen=True)
class ShapeEfficiency:
    """Per plan: the shape efficiency of a layer's GEMMs, of the output head, of attention,
    the elements per token and layer FP8 training casts (``quantized_elements_per_token``:
    forward inputs, output gradients), all on the busiest GPU of an expert group."""

    body: FloatArray
    head: FloatArray
    attention: FloatArray
    cast_fwd: FloatArray
    cast_bwd: FloatArray
    body_flops: FloatArray
    """The busiest GPU's layer GEMM FLOPs over the balanced ones (≥ 1: routed experts'
    ``imbalance``)."""

    def select(self, rows: npt.NDArray[np.bool_] | IntArray) -> ShapeEfficiency:
        """The efficiencies of the plans at ``rows``."""
        return ShapeEfficiency(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})


def _distinct_rows(cols: list[IntArray]) -> tuple[IntArray, list[FloatArray]]:
    """The distinct rows of small non-negative integer columns, and each row's index among
    them — by counting, not sorting (a sort of the whole grid costs more than the shapes)."""
    key = np.zeros_like(cols[0])
    values = []
    for col in cols:
        present = np.flatnonzero(np.bincount(col))
        lookup = np.zeros(int(present[-1]) + 1, dtype=np.int64)
        lookup[present] = np.arange(len(present))
        key = key * len(present) + lookup[col]
        values.append(present)
    rows = np.flatnonzero(np.bincount(key))
    index = np.zeros(int(rows[-1]) + 1, dtype=np.int64)
    index[rows] = np.arange(len(rows))
    out: list[FloatArray] = []
    for present in reversed(values):
        out.append(present[rows % len(present)].astype(np.float64))
        rows = rows // len(present)
    return index[key], out[::-1]


def shape_efficiencies(
    setup: RunSetup, grid: PlanGrid, gemm_rate_flops_per_s: float
) -> ShapeEfficiency:
    """The three shape efficiencies of every plan in ``grid`` at the GEMM ceiling rate.

    GEMM inputs are FP8 casts in FP8/FP4 training (``fp8_gemm_input_bytes``), BF16
    otherwise; outputs are BF16 (``activation_bytes``).
    """
    consts, arch = setup.consts, setup.arch
    low_precision = setup.training.precision is not Precision.BF16
    in_bytes = consts.fp8_gemm_input_bytes if low_precision else consts.activation_bytes
    machine = GemmMachine.of(setup.gpu, gemm_rate_flops_per_s, in_bytes, consts.activation_bytes)
    # The shapes depend on (tp, cp, mb, ep) only: evaluate each distinct layout once (a few
    # hundred among tens of thousands of candidates) and index the results back.
    back, (tp, cp, mb, ep) = _distinct_rows([grid.tp, grid.cp, grid.mb, grid.ep])
    tokens = mb * setup.training.seq_len / cp
    shapes = layer_gemms(arch, tokens, tp, ep, rank_load_imbalance(arch, ep))
    body = shape_efficiency(shapes, machine)
    balanced = sum(ideal_time_s(g, machine) for g in layer_gemms(arch, tokens, tp, ep))
    body_flops = sum(ideal_time_s(g, machine) for g in shapes) / np.asarray(balanced)
    head = shape_efficiency([head_gemm(arch, tokens, tp)], machine) if arch.vocab else body
    attention = attention_efficiency(arch, setup.training.seq_len / cp, mb, tp, setup.gpu)
    cast_fwd, cast_bwd = quantized_elements_per_token(shapes, tokens)
    return ShapeEfficiency(
        body=body[back],
        head=np.asarray(head)[back],
        attention=attention[back],
        cast_fwd=cast_fwd[back],
        cast_bwd=cast_bwd[back],
        body_flops=np.asarray(body_flops, dtype=np.float64)[back],
    )


def check_gemm_shapes(arch: ArchT, gpu: GpuSpec, precision: Precision) -> None:
    """Refuse, at the workload field, a GEMM this model cannot time on ``gpu``.

    The shape model times tensor-core GEMMs whose operands are in a format the GPU has a
    peak for and whose inner dimensions are whole multiples of its ``gemm_alignment_bytes``
    (16 bytes: 8 BF16, 16 FP8 or 32 FP4 elements); cuBLAS runs other shapes on slower paths
    that nothing here describes (the vocabulary is exempt: frameworks pad it).
    """
    if not gpu.supports(precision):
        raise ScenarioError.at(
            "training.precision",
            f"{gpu.name} has no {precision.value} tensor cores, so its GEMMs cannot be timed",
            got=precision.value,
            expected="one of " + ", ".join(p.value for p in Precision if gpu.supports(p)),
        )
    elements = int(gpu.gemm_alignment_bytes / PRECISION_BYTES[precision])
    mla = arch.mla.model_dump() if arch.mla is not None else {}
    dims = {f"arch.mla.{name}": value for name, value in mla.items() if value}
    dims |= {
        "arch.d_model": arch.d_model,
        "arch.head_dim": arch.head_dim_resolved,
        "arch.ffn_dim": getattr(arch, "ffn_dim", 0),
        "arch.expert_ffn_dim": getattr(arch, "expert_ffn_dim", 0),
        "arch.shared_ffn_dim": getattr(arch, "shared_ffn_dim", 0),
        "arch.dense_ffn_dim": getattr(arch, "dense_ffn_dim", 0),
    }
    for field, value in dims.items():
        if value % elements:
            raise ScenarioError.at(
                field,
                f"a GEMM dimension {gpu.name}'s tensor cores need in multiples of "
                f"{elements} {precision.value} elements ({gpu.gemm_alignment_bytes:g} bytes)",
                got=str(value),
                expected=f"a multiple of {elements}, e.g. {value - value % elements + elements}",
            )
