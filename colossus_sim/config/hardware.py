"""``GpuSpec``: one accelerator and its NVLink domain (``topologies/hardware/*.yaml``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import Field, model_validator

from colossus_sim.config.base import Sourced, StrictModel
from colossus_sim.errors import FieldValueError

Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]


class Precision(StrEnum):
    """Number format of the training GEMMs."""

    BF16 = "bf16"
    FP8 = "fp8"
    FP4 = "fp4"


class PeakDenseTflops(StrictModel):
    """Dense (no 2:4 sparsity) tensor-core peak per GPU, in TFLOP/s, per number format."""

    bf16: Positive
    fp8: Positive | None = None
    fp4: Positive | None = None


class GemmTile(StrictModel):
    """The output tile one SM computes at a time in a large GEMM, in elements (rows × columns)."""

    m: Annotated[int, Field(ge=1, le=4096)]
    n: Annotated[int, Field(ge=1, le=4096)]


class GpuPower(StrictModel):
    """Watts of one GPU by phase, its DVFS curve, and the host power that comes with it.

    ``idle_w``: powered, nothing running. ``comm_phase_w``: waiting on communication or a
    pipeline bubble. Compute-bound at relative clock ``f``:
    ``idle_w + (compute_frac_of_tdp·tdp_w − idle_w)·f^dvfs_exponent`` — what a training GPU
    draws computing at full clock is a measured share of its TDP, not the TDP itself.
    ``host_overhead_w_per_gpu``: everything else in its server/rack (CPUs, NICs, NVLink
    switches, fans and pumps, conversion), per GPU, while the rack trains;
    ``host_idle_frac`` of it while no job trains on the rack.
    """

    idle_w: Positive
    comm_phase_w: Positive
    dvfs_exponent: Positive
    min_clock_frac: Fraction
    tdp_tolerance_frac: Fraction
    host_overhead_w_per_gpu: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    compute_frac_of_tdp: Fraction
    host_idle_frac: Fraction
    ramp_s: Positive
    """How long the GPU's draw takes to follow a change of load (a step's rise or fall)."""

    @property
    def host_idle_w_per_gpu(self) -> float:
        """Host watts per GPU of a rack no job trains on."""
        return self.host_overhead_w_per_gpu * self.host_idle_frac


class GpuSpec(Sourced):
    """An accelerator: compute peaks, HBM, links, power, and its one efficiency calibration.

    ``matmul_efficiency`` is the ceiling: the fraction of dense BF16 peak a full-wave,
    compute-bound GEMM reaches on this GPU type (``perf/gemm.py`` takes tile and wave
    quantization and the memory floor off it by shape). It is the step-time model's one fitted
    constant per GPU type, fitted on the published runs named in ``calibration_cases``
    (``perf/fidelity.py``, ``validate --calibrate``): on one run it reproduces that run; on
    several (a narrow and a wide model) it is the value that makes the largest relative
    error over them smallest. ``sm_count`` and ``gemm_tile`` are what
    the shape model quantizes on.
    """

    name: str
    title: str
    peak_dense_tflops: PeakDenseTflops
    hbm_gb: Positive
    hbm_reserved_gb: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    hbm_tb_per_s: Positive
    nvlink_gb_per_s: Positive
    nvlink_domain_gpus: Annotated[int, Field(ge=1)]
    nic_gbit_per_s: Positive
    host_memory_gb: Positive | None = None
    """CPU memory beside each GPU (its host's LPDDR5X or DDR ÷ the GPUs it serves): where
    checkpoints are staged and ``in_memory`` snapshots kept. None: not given for this type
    (nothing then checks that a checkpoint's shard fits in it)."""
    nvlink_bus_efficiency: Fraction
    nic_bus_efficiency: Fraction
    nvlink_latency_us: Positive
    nic_latency_us: Positive
    tdp_w: Positive
    power: GpuPower
    sm_count: Annotated[int, Field(ge=1, le=4096)]
    gemm_tile: GemmTile
    gemm_alignment_bytes: Positive
    exp_tera_per_s: Positive
    """Exponentials per second (10¹²) the special-function units compute: softmax's cost."""
    attention_softmax_overlaps_mma: bool
    """Whether fused attention kernels hide the softmax behind the tensor-core matmuls."""
    collective_sms: Annotated[int, Field(ge=0, le=4096)]
    """SMs an NCCL collective holds while it runs (one thread block per channel): what an
    overlapped data-, context- or expert-parallel collective takes from compute."""
    tp_overlap_sms: Annotated[float, Field(ge=0, le=4096, allow_inf_nan=False)]
    """Mean SMs Transformer Engine's tensor-parallel comm-GEMM overlap holds per collective."""
    matmul_efficiency: Fraction
    calibration_cases: Annotated[list[str], Field(min_length=1)]

    @model_validator(mode="after")
    def _reserve_below_capacity(self) -> Self:
        if self.hbm_reserved_gb >= self.hbm_gb:
            raise FieldValueError("hbm_reserved_gb", "must be smaller than hbm_gb")
        for name in ("collective_sms", "tp_overlap_sms"):
            if getattr(self, name) >= self.sm_count:
                raise FieldValueError(name, f"must be fewer than sm_count ({self.sm_count})")
        if not self.power.idle_w < self.power.comm_phase_w < self.full_compute_w:
            raise FieldValueError(
                "power", "needs idle_w < comm_phase_w < compute_frac_of_tdp × tdp_w"
            )
        return self

    @property
    def full_compute_w(self) -> float:
        """Watts of one training GPU computing at full clock (a share of its TDP)."""
        return self.tdp_w * self.power.compute_frac_of_tdp

    def peak_tflops(self, precision: Precision) -> float:
        """Dense peak for a number format; raises if this GPU has no such tensor cores."""
        value = getattr(self.peak_dense_tflops, precision.value)
        if value is None:
            raise ValueError(f"{self.name} has no {precision.value} tensor-core peak")
        return float(value)

    def supports(self, precision: Precision) -> bool:
        return getattr(self.peak_dense_tflops, precision.value) is not None
