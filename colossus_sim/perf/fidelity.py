"""Fidelity: the step-time model against published training runs, and its one calibration.

For every case in ``workloads/validation/`` the model predicts the figure the source
reported (step time, TFLOP/s per GPU counted the source's way, MFU or tokens/s per GPU) under
the published plan. ``fit_matmul_efficiency`` solves, by bisection, for the GPU type's
``matmul_efficiency`` that reproduces the case marked ``role: calibration`` for that GPU
type; the hardware file stores the result and the test suite checks it still holds.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from colossus_sim.config.hardware import GpuSpec
from colossus_sim.config.load import load_gpu, load_perf_constants, load_validation_cases
from colossus_sim.config.workload import CaseRole, Metric, ValidationCase
from colossus_sim.perf.flops import AttentionCount, model_flops_per_token, recompute_flops_per_token
from colossus_sim.perf.plan_grid import RunSetup
from colossus_sim.perf.planner import plan_job
from colossus_sim.perf.step_time import StepBreakdown
from colossus_sim.units import FLOPS_PER_TFLOPS


class FidelityRow(BaseModel):
    """One published case: what was measured, what the model predicts, the signed error."""

    model_config = ConfigDict(frozen=True)

    case: str
    role: CaseRole
    hardware: str
    gpus: int
    metric: Metric
    measured: float
    predicted: float
    error_pct: float
    step_s: float
    source: str


def case_setup(case: ValidationCase, gpu: GpuSpec | None = None) -> RunSetup:
    gpu = gpu or load_gpu(case.hardware)
    return RunSetup(
        arch=case.arch,
        training=case.training,
        software=case.software,
        gpu=gpu,
        consts=load_perf_constants(),
        gpus=case.gpus,
        domain_gpus=gpu.nvlink_domain_gpus,
    )


def predicted_metric(case: ValidationCase, breakdown: StepBreakdown) -> float:
    """The figure ``case`` reports, as the model predicts it, counted the source's way."""
    metric = case.measured.metric
    if metric is Metric.STEP_S:
        return breakdown.step_s
    if metric is Metric.TOKENS_PER_S_PER_GPU:
        return breakdown.tokens_per_s_per_gpu
    convention = case.measured.flop_convention
    count = AttentionCount(convention.attention)
    seq = case.training.seq_len
    per_token = model_flops_per_token(case.arch, seq, count)
    if convention.counts_recompute:
        per_token += recompute_flops_per_token(case.arch, seq, breakdown.plan.recompute, count)
    flops_per_gpu_s = per_token * breakdown.tokens_per_step / breakdown.step_s / case.gpus
    if metric is Metric.TFLOPS_PER_GPU:
        return flops_per_gpu_s / FLOPS_PER_TFLOPS
    gpu = load_gpu(case.hardware)
    return flops_per_gpu_s / (gpu.peak_tflops(case.training.precision) * FLOPS_PER_TFLOPS)


def case_breakdown(case: ValidationCase, gpu: GpuSpec | None = None) -> StepBreakdown:
    """The model's step for ``case``: its published plan, unpublished details planned."""
    return plan_job(case_setup(case, gpu), case.plan).best


def evaluate_case(case: ValidationCase, gpu: GpuSpec | None = None) -> FidelityRow:
    breakdown = case_breakdown(case, gpu)
    predicted = predicted_metric(case, breakdown)
    measured = case.measured.value
    return FidelityRow(
        case=case.name,
        role=case.role,
        hardware=case.hardware,
        gpus=case.gpus,
        metric=case.measured.metric,
        measured=measured,
        predicted=predicted,
        error_pct=100.0 * (predicted - measured) / measured,
        step_s=breakdown.step_s,
        source=case.source,
    )


def fidelity_table(cases: Sequence[ValidationCase] | None = None) -> list[FidelityRow]:
    """Every published case, calibration cases first, then by hardware and name."""
    rows = [evaluate_case(c) for c in (cases if cases is not None else load_validation_cases())]
    order = {CaseRole.CALIBRATION: 0, CaseRole.VALIDATION: 1}
    return sorted(rows, key=lambda r: (order[r.role], r.hardware, r.case))


def median_abs_error_pct(rows: Sequence[FidelityRow], role: CaseRole | None = None) -> float:
    chosen = [abs(r.error_pct) for r in rows if role is None or r.role is role]
    return statistics.median(chosen) if chosen else 0.0


def fit_matmul_efficiency(case: ValidationCase, *, tolerance: float = 1e-6) -> float:
    """The ``matmul_efficiency`` of ``case``'s GPU type that makes the model hit its figure.

    Throughput rises monotonically with the efficiency, so bisection on (0, 1] converges.
    """
    base = load_gpu(case.hardware)
    lower_is_faster = case.measured.metric is Metric.STEP_S

    def error(eta: float) -> float:
        row = evaluate_case(case, base.model_copy(update={"matmul_efficiency": eta}))
        gap = row.predicted - row.measured
        return -gap if lower_is_faster else gap  # > 0 when the model is too fast

    lo, hi = 0.01, 1.0
    if error(hi) < 0:
        raise ValueError(
            f"{case.name}: even 100% matmul efficiency cannot reach the measured figure"
        )
    while hi - lo > tolerance:
        mid = 0.5 * (lo + hi)
        if error(mid) > 0:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def calibration_cases() -> dict[str, ValidationCase]:
    """The calibration case of each GPU type, keyed by hardware name."""
    found: dict[str, ValidationCase] = {}
    for case in load_validation_cases():
        if case.role is CaseRole.CALIBRATION:
            if case.hardware in found:
                raise ValueError(
                    f"two calibration cases for {case.hardware}: "
                    f"{found[case.hardware].name} and {case.name}"
                )
            found[case.hardware] = case
    return found
