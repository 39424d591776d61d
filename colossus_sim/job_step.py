"""One job on some racks, before any run: its parallel plan, step time and HBM use.

Owns ``job_step`` (the planner's best plan for a job on a number of racks of a GPU type, with
its step-time breakdown), the ``--plan`` option's parsing, the checks that reject fixed plan
fields a model cannot divide, ``default_jobs`` (the seven-job table ``colossus-sim plan``
prints) and its data frame. Bad input raises a located ``ScenarioError``. Cost: one plan
search per call, ~10–100 ms a job (the candidate grid of tp·pp·dp·ep·cp·vp, microbatch and
recompute); no simulation.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, ValidationError

from colossus_sim.config.hardware import GpuSpec
from colossus_sim.config.load import (
    gpu_names,
    job_names,
    load_cluster,
    load_gpu,
    load_job_with_document,
    load_perf_constants,
)
from colossus_sim.config.workload import JobSpec, MoEArch, PlanFields
from colossus_sim.config.yamlio import YamlDocument
from colossus_sim.errors import ScenarioError
from colossus_sim.perf.gemm import check_gemm_shapes
from colossus_sim.perf.plan_grid import job_setup
from colossus_sim.perf.planner import plan_job
from colossus_sim.perf.step_time import StepBreakdown
from colossus_sim.units import SECONDS_PER_DAY

if TYPE_CHECKING:
    import pandas as pd

PLAN_OPTION = "--plan"
RACKS_OPTION = "--racks"


class JobStep(BaseModel):
    """One job on a number of racks of one GPU type: the chosen plan and its step time."""

    model_config = ConfigDict(frozen=True)

    job: str
    title: str
    gpu: str
    racks: int
    step: StepBreakdown
    total_params: float
    active_params: float
    planned_days: float
    """Days to train the token budget at this step time with no failures (engine adds those)."""
    candidates: int
    fitting: int


def parse_plan_option(text: str) -> PlanFields:
    """``auto`` or ``tp=8,pp=16,recompute=full`` → the fixed part of a plan."""
    text = text.strip()
    if text in {"", "auto"}:
        return PlanFields()
    values: dict[str, str] = {}
    allowed = sorted(PlanFields.model_fields)
    for item in text.split(","):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ScenarioError.at(
                PLAN_OPTION,
                "expected key=value pairs separated by commas",
                got=repr(item),
                expected="e.g. tp=8,pp=16 or auto",
            )
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.5)
            raise ScenarioError.at(
                f"{PLAN_OPTION} {key}",
                "unknown plan field",
                expected="one of " + ", ".join(allowed),
                suggestion=close[0] if close else None,
            )
        values[key] = value.strip()
    try:
        return PlanFields.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0])
        raise ScenarioError.at(
            f"{PLAN_OPTION} {key}",
            err["msg"][0].lower() + err["msg"][1:],
            got=repr(values.get(key)),
        ) from None


def _check_fixed_plan(job: JobSpec, fixed: PlanFields, domain_gpus: int, prefix: str) -> None:
    """Reject fixed plan fields that cannot divide this model or fit its NVLink domain."""
    arch = job.arch
    kv = arch.kv_heads_resolved
    if fixed.tp is not None:
        if arch.heads % fixed.tp or kv % fixed.tp:
            raise ScenarioError.at(
                f"{prefix}tp",
                f"tensor parallelism must divide the attention heads ({arch.heads}) and "
                f"key/value heads ({kv})",
                got=str(fixed.tp),
                expected="a common divisor, e.g. "
                + ", ".join(
                    str(t) for t in range(1, kv + 1) if kv % t == 0 and arch.heads % t == 0
                ),
            )
        if fixed.tp > domain_gpus:
            raise ScenarioError.at(
                f"{prefix}tp",
                f"tensor parallelism must stay inside the {domain_gpus}-GPU NVLink domain",
                got=str(fixed.tp),
                expected=f"at most {domain_gpus}",
            )
    if fixed.pp is not None and fixed.pp > arch.layers:
        raise ScenarioError.at(
            f"{prefix}pp", f"more pipeline stages than layers ({arch.layers})", got=str(fixed.pp)
        )
    if fixed.ep is not None:
        experts = arch.experts if isinstance(arch, MoEArch) else 1
        if experts % fixed.ep:
            raise ScenarioError.at(
                f"{prefix}ep",
                f"expert parallelism must divide the experts ({experts})",
                got=str(fixed.ep),
            )
    if fixed.cp is not None and job.training.seq_len % fixed.cp:
        raise ScenarioError.at(
            f"{prefix}cp",
            f"context parallelism must divide the sequence ({job.training.seq_len})",
            got=str(fixed.cp),
        )


def _gpu_for(job: JobSpec, gpu: str | None, doc: YamlDocument) -> GpuSpec:
    name = gpu or job.default_gpu
    try:
        return load_gpu(name)
    except ScenarioError as exc:
        # Blame the workload file's default_gpu line, or the --gpu option (not in any file).
        raise ScenarioError.at(
            "default_gpu" if gpu is None else "--gpu",
            "unknown GPU type",
            got=repr(name),
            expected="one of " + ", ".join(gpu_names()),
            suggestion=exc.suggestion,
        ).with_location(doc.locate) from None


def job_step(
    workload: str, racks: int | None = None, gpu: str | None = None, plan: str | PlanFields = "auto"
) -> JobStep:
    """Plan one job on ``racks`` racks (default: its file's) and return its step breakdown."""
    job, doc = load_job_with_document(workload)
    gpu_spec = _gpu_for(job, gpu, doc)
    cluster = load_cluster()
    n_racks = racks if racks is not None else job.default_racks
    have = cluster.rack_mix.get(gpu_spec.name, 0)
    if n_racks < 1 or n_racks > have:
        issue = ScenarioError.at(
            RACKS_OPTION if racks is not None else "default_racks",
            f"{cluster.title} has {have:,} {gpu_spec.name} racks",
            got=f"{n_racks:,}",
            expected=f"1 to {have:,}",
        )
        raise issue if racks is not None else issue.with_location(doc.locate)
    try:
        check_gemm_shapes(job.arch, gpu_spec, job.training.precision)
    except ScenarioError as exc:
        raise exc.with_location(doc.locate) from None
    domain = min(gpu_spec.nvlink_domain_gpus, job.active_gpus_per_rack)
    if isinstance(plan, str):
        fixed, prefix, locate = parse_plan_option(plan), f"{PLAN_OPTION} ", None
        if fixed == PlanFields():
            fixed, prefix, locate = job.plan, "plan.", doc.locate
    else:
        fixed, prefix, locate = plan, "plan.", None
    try:
        _check_fixed_plan(job, fixed, domain, prefix)
        setup = job_setup(
            arch=job.arch,
            training=job.training,
            software=job.software,
            gpu=gpu_spec,
            consts=load_perf_constants(),
            racks=n_racks,
            active_gpus_per_rack=job.active_gpus_per_rack,
        )
        search = plan_job(
            setup, fixed, field=RACKS_OPTION if racks is not None else "default_racks"
        )
    except ScenarioError as exc:
        raise exc.with_location(locate) if locate else exc from None
    step = search.best
    tokens = job.training.tokens or 0.0
    return JobStep(
        job=job.name,
        title=job.title,
        gpu=gpu_spec.name,
        racks=n_racks,
        step=step,
        total_params=setup.size.total,
        active_params=setup.size.active,
        planned_days=tokens / step.tokens_per_s / SECONDS_PER_DAY,
        candidates=search.candidates,
        fitting=search.fitting,
    )


def default_jobs() -> list[JobStep]:
    """Every job in ``workloads/`` on its default racks and GPU type."""
    return [job_step(name) for name in job_names()]


def jobs_frame(steps: list[JobStep]) -> pd.DataFrame:
    """One row per job, units in the column names."""
    import pandas as pd

    rows = []
    for s in steps:
        rows.append(
            {
                "job": s.job,
                "gpu": s.gpu,
                "racks": s.racks,
                "gpus": s.step.gpus,
                "total_params_b": s.total_params / 1e9,
                "active_params_b": s.active_params / 1e9,
                **{k: getattr(s.step.plan, k) for k in ("tp", "pp", "dp", "ep", "cp", "vp")},
                "microbatch": s.step.plan.microbatch,
                "recompute": s.step.plan.recompute.value,
                "step_s": s.step.step_s,
                "mfu": s.step.mfu,
                "tokens_per_s": s.step.tokens_per_s,
                "hbm_used_gb": s.step.hbm_used_gb,
                "planned_days": s.planned_days,
            }
        )
    return pd.DataFrame(rows)
