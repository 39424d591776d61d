"""Fidelity: the step-time model against published training runs, and its one calibration.

For every case in ``workloads/validation/`` the model predicts the figure the source
reported (step time, TFLOP/s per GPU counted the source's way, MFU or tokens/s per GPU) under
the published plan. ``calibrations`` re-fits, by bisection, each GPU type's
``matmul_efficiency`` on the cases its hardware file names (one case: reproduced exactly;
several: the smallest worst error over them), and the two global constants on the cases
``perf_model.yaml`` names (the FP8 ratio, and the MoE token-path cost
``moe_dispatch_flops_per_routed_element``); the data files store the results and the test
suite checks that they still reproduce their cases.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence

from pydantic import BaseModel, ConfigDict

from colossus_sim.config.hardware import GpuSpec, Precision
from colossus_sim.config.load import (
    gpu_names,
    load_gpu,
    load_perf_constants,
    load_validation_cases,
)
from colossus_sim.config.perf_constants import PerfConstants
from colossus_sim.config.workload import CaseRole, Metric, ValidationCase
from colossus_sim.errors import ScenarioError
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
    mfu: float
    """Model FLOPs (causal attention, no recompute) per second over the format's dense peak."""
    hbm_used_gb: float
    hbm_capacity_gb: float
    source: str
    note: str = ""
    """A tracked case's gap, or an inconsistent case's showing of its inconsistency."""


def case_setup(
    case: ValidationCase, gpu: GpuSpec | None = None, consts: PerfConstants | None = None
) -> RunSetup:
    gpu = gpu or load_gpu(case.hardware)
    return RunSetup(
        arch=case.arch,
        training=case.training,
        software=case.software,
        gpu=gpu,
        consts=consts or load_perf_constants(),
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
    peak = load_gpu(case.hardware).peak_tflops(case.training.precision)
    return flops_per_gpu_s / (peak * FLOPS_PER_TFLOPS)


def case_breakdown(
    case: ValidationCase, gpu: GpuSpec | None = None, consts: PerfConstants | None = None
) -> StepBreakdown:
    """The model's step for ``case``: its published plan, unpublished details planned.

    Unpublished details are filled with the fastest choice that fits HBM. The run did happen,
    so where our memory model says nothing fits, the fastest choice is taken anyway; the
    table shows the HBM figure so the disagreement stays visible.
    """
    setup = case_setup(case, gpu, consts)
    try:
        return plan_job(setup, case.plan).best
    except ScenarioError:
        return plan_job(setup, case.plan, require_fit=False).best


def evaluate_case(
    case: ValidationCase, gpu: GpuSpec | None = None, consts: PerfConstants | None = None
) -> FidelityRow:
    breakdown = case_breakdown(case, gpu, consts)
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
        mfu=breakdown.mfu,
        hbm_used_gb=breakdown.hbm_used_gb,
        hbm_capacity_gb=breakdown.hbm_capacity_gb,
        source=case.source,
        note=case.inconsistency or case.gap,
    )


def fidelity_table(cases: Sequence[ValidationCase] | None = None) -> list[FidelityRow]:
    """Every published case, calibration cases first, then by hardware and name."""
    rows = [evaluate_case(c) for c in (cases if cases is not None else load_validation_cases())]
    order = {
        CaseRole.CALIBRATION: 0,
        CaseRole.VALIDATION: 1,
        CaseRole.TRACKED: 2,
        CaseRole.INCONSISTENT: 3,
    }
    return sorted(rows, key=lambda r: (order[r.role], r.hardware, r.case))


def median_abs_error_pct(rows: Sequence[FidelityRow], role: CaseRole | None = None) -> float:
    chosen = [abs(r.error_pct) for r in rows if role is None or r.role is role]
    return statistics.median(chosen) if chosen else 0.0


def max_abs_error_pct(rows: Sequence[FidelityRow], role: CaseRole | None = None) -> float:
    chosen = [abs(r.error_pct) for r in rows if role is None or r.role is role]
    return max(chosen, default=0.0)


def held_error_pct(rows: Sequence[FidelityRow], *, worst: bool = False) -> float:
    """The median (or the largest) |error| over the held-out (validation) cases."""
    return (max_abs_error_pct if worst else median_abs_error_pct)(rows, CaseRole.VALIDATION)


def _bisect(error: Callable[[float], float], lo: float, hi: float, tolerance: float) -> float:
    """Root of an increasing ``error`` on [lo, hi] (error > 0 means the model is too fast)."""
    if error(hi) < 0:
        raise ValueError("even the upper bound cannot reach the measured figure")
    while hi - lo > tolerance:
        mid = 0.5 * (lo + hi)
        if error(mid) > 0:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def _speed_gap(case: ValidationCase, gpu: GpuSpec, consts: PerfConstants) -> float:
    """Relative amount by which the model is faster than the measurement (> 0: too fast)."""
    row = evaluate_case(case, gpu, consts)
    gap = (row.predicted - row.measured) / row.measured
    return -gap if case.measured.metric is Metric.STEP_S else gap


def _minimax(
    gaps: Callable[[float], Sequence[float]], lo: float, hi: float, tolerance: float
) -> float:
    """The value on [lo, hi] where the largest and smallest of increasing ``gaps`` are equal
    and opposite: one case's root, or over several the value whose worst relative error is
    smallest (each gap rises with the value, so their max + min does too)."""

    def spread(x: float) -> float:
        each = gaps(x)
        return max(each) + min(each)

    return _bisect(spread, lo, hi, tolerance)


def fit_matmul_efficiency(
    cases: Sequence[ValidationCase],
    consts: PerfConstants | None = None,
    *,
    tolerance: float = 1e-6,
) -> float:
    """The ``matmul_efficiency`` of the GPU type of ``cases`` that makes the model hit their
    figures: exactly for one case, with the smallest worst error for several.

    Throughput rises monotonically with the efficiency, so bisection on (0, 1] converges.
    """
    base, consts = load_gpu(cases[0].hardware), consts or load_perf_constants()
    return _minimax(
        lambda eta: [
            _speed_gap(c, base.model_copy(update={"matmul_efficiency": eta}), consts) for c in cases
        ],
        0.01,
        1.0,
        tolerance,
    )


def fit_fp8_ratio(
    cases: Sequence[ValidationCase], gpu: GpuSpec | None = None, *, tolerance: float = 1e-6
) -> float:
    """The ``fp8_matmul_efficiency_ratio`` that makes the model hit FP8 ``cases``' figures
    (the smallest worst error over several), given their GPU's BF16 efficiency (``gpu``,
    default: as stored)."""
    base_consts = load_perf_constants()
    gpu = gpu or load_gpu(cases[0].hardware)
    return _minimax(
        lambda r: [
            _speed_gap(c, gpu, base_consts.model_copy(update={"fp8_matmul_efficiency_ratio": r}))
            for c in cases
        ],
        0.01,
        1.0,
        tolerance,
    )


def fit_moe_dispatch(
    case: ValidationCase,
    gpu: GpuSpec | None = None,
    consts: PerfConstants | None = None,
    *,
    tolerance: float = 1e-3,
) -> float:
    """The ``moe_dispatch_flops_per_routed_element`` that makes the model hit an MoE ``case``'s
    figure, given that GPU's efficiency and the FP8 ratio (``gpu``, ``consts``: as stored).

    Throughput falls monotonically as the cost rises, so bisection on [0, 10⁶] FLOPs converges.
    """
    gpu = gpu or load_gpu(case.hardware)
    base_consts = consts or load_perf_constants()
    return _bisect(
        lambda beta: (
            -_speed_gap(
                case,
                gpu,
                base_consts.model_copy(update={"moe_dispatch_flops_per_routed_element": beta}),
            )
        ),
        0.0,
        1e6,
        tolerance,
    )


class Calibration(BaseModel):
    """A fitted constant: where it is stored, its stored value, and the value the data gives."""

    model_config = ConfigDict(frozen=True)

    constant: str
    cases: tuple[str, ...]
    stored: float
    fitted: float


def calibrations() -> list[Calibration]:
    """Re-fit every calibrated constant from its published cases, in dependency order.

    First each GPU type's ``matmul_efficiency`` whose cases are BF16, then the FP8 ratio
    (which needs its GPU's BF16 efficiency), then the GPU types calibrated on FP8 runs, and
    last the MoE token-path cost (which needs its GPU's efficiency and the FP8 ratio; the
    efficiencies are fitted on dense runs, which it does not touch).
    """
    cases = {c.name: c for c in load_validation_cases()}
    consts = load_perf_constants()
    gpus = [load_gpu(name) for name in gpu_names()]
    out: list[Calibration] = []
    fitted_eta: dict[str, float] = {}

    def fit_gpus(bf16: bool, fit_consts: PerfConstants) -> None:
        """Fit the efficiency of each GPU type whose calibration cases are (not) BF16."""
        for gpu in gpus:
            own = [cases[name] for name in gpu.calibration_cases]
            if (own[0].training.precision is Precision.BF16) == bf16:
                fitted_eta[gpu.name] = fit_matmul_efficiency(own, fit_consts)
                out.append(
                    Calibration(
                        constant=f"{gpu.name}.matmul_efficiency",
                        cases=tuple(gpu.calibration_cases),
                        stored=gpu.matmul_efficiency,
                        fitted=fitted_eta[gpu.name],
                    )
                )

    fit_gpus(True, consts)
    fp8_cases = [cases[name] for name in consts.fp8_calibration_cases]
    fp8_gpu = load_gpu(fp8_cases[0].hardware)
    if fp8_gpu.name not in fitted_eta:
        raise ValueError(
            f"{fp8_cases[0].name}: the FP8 ratio needs a BF16 calibration case for {fp8_gpu.name}"
        )
    ratio = fit_fp8_ratio(
        fp8_cases, fp8_gpu.model_copy(update={"matmul_efficiency": fitted_eta[fp8_gpu.name]})
    )
    out.append(
        Calibration(
            constant="perf_model.fp8_matmul_efficiency_ratio",
            cases=tuple(consts.fp8_calibration_cases),
            stored=consts.fp8_matmul_efficiency_ratio,
            fitted=ratio,
        )
    )
    fitted_consts = consts.model_copy(update={"fp8_matmul_efficiency_ratio": ratio})
    fit_gpus(False, fitted_consts)
    out.append(_moe_calibration(cases, fitted_consts, fitted_eta))
    return out


def _moe_calibration(
    cases: dict[str, ValidationCase], consts: PerfConstants, fitted_eta: dict[str, float]
) -> Calibration:
    """The MoE token-path cost re-fitted on its case, given its GPU's fitted efficiency and
    ``consts`` with the fitted FP8 ratio (the last step of ``calibrations``)."""
    moe_case = cases[consts.moe_dispatch_calibration_case]
    moe_gpu = load_gpu(moe_case.hardware)
    return Calibration(
        constant="perf_model.moe_dispatch_flops_per_routed_element",
        cases=(moe_case.name,),
        stored=consts.moe_dispatch_flops_per_routed_element,
        fitted=fit_moe_dispatch(
            moe_case,
            moe_gpu.model_copy(update={"matmul_efficiency": fitted_eta[moe_gpu.name]}),
            consts,
        ),
    )


def calibration_case_names() -> set[str]:
    """The cases the data files name as calibration cases (hardware files and perf_model)."""
    consts = load_perf_constants()
    names = {case for name in gpu_names() for case in load_gpu(name).calibration_cases}
    names.update(consts.fp8_calibration_cases)
    names.add(consts.moe_dispatch_calibration_case)
    return names
