"""The Python surface a notebook or the CLI uses: scenarios and runs, one job's step time,
the seven-job plan table, the fidelity table. Everything returns typed results; bad input
raises ``ScenarioError``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from colossus_sim import scenario as scenario_module
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
from colossus_sim.errors import Issue, ScenarioError
from colossus_sim.perf.fidelity import FidelityRow, fidelity_table
from colossus_sim.perf.plan_grid import job_setup
from colossus_sim.perf.planner import plan_job
from colossus_sim.perf.step_time import StepBreakdown
from colossus_sim.results import RunResult
from colossus_sim.scenario import ResolvedScenario
from colossus_sim.units import SECONDS_PER_DAY

if TYPE_CHECKING:
    import networkx as nx
    import pandas as pd
    from distributed import Client

    from colossus_sim.fabric import FabricSummary

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


def load_scenario(
    path: str | Path | None = None, overrides: list[str] | None = None
) -> ResolvedScenario:
    """Read, override (``["jobs.grok5_10t.racks=+20%", ...]``) and validate a scenario."""
    return scenario_module.load_scenario(path, overrides)


def simulate(
    scenario: ResolvedScenario | str | Path | None = None,
    overrides: list[str] | None = None,
    seed: int | None = None,
) -> RunResult:
    """Run a scenario (default: Colossus 2's) to the end of its jobs or its horizon."""
    from colossus_sim.sim import Simulation

    if not isinstance(scenario, ResolvedScenario):
        scenario = load_scenario(scenario, overrides)
    elif overrides:
        raise ValueError("pass overrides with a path, not with an already loaded scenario")
    return Simulation(scenario, seed=seed).run()


def fabric(
    scenario: ResolvedScenario | str | Path | None = None, overrides: list[str] | None = None
) -> tuple[FabricSummary, nx.Graph]:
    """The scenario's scale-out fabric (its topology with the scenario's overrides): the
    summary ``colossus-sim fabric`` prints and the networkx graph."""
    from colossus_sim import fabric as fabric_module

    if not isinstance(scenario, ResolvedScenario):
        scenario = load_scenario(scenario, overrides)
    cluster = scenario.cluster
    layout = fabric_module.site_layout(cluster, scenario.scenario.fabric)
    graph = fabric_module.build_graph(layout)
    return fabric_module.summarize(cluster, layout, graph), graph


def graphml_bytes(graph: nx.Graph) -> bytes:
    """A fabric graph as GraphML, for Gephi/yEd or ``networkx.read_graphml``."""
    from colossus_sim import fabric as fabric_module

    return fabric_module.graphml_bytes(graph)


def fidelity() -> list[FidelityRow]:
    """The published cases against the model (see ``perf/fidelity.py``)."""
    return fidelity_table()


def fidelity_frame(rows: list[FidelityRow]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame([r.model_dump(mode="json") for r in rows])


# ---------------------------------------------------------------------------- sweeps
# Many points, each run once and stored once (``sweep.py``); a scenario over seeds; two runs
# side by side.


def sweep(
    scenario: ResolvedScenario | str | Path | None = None,
    grid: Mapping[str, Sequence[Any]] | None = None,
    *,
    overrides: list[str] | None = None,
    seeds: Sequence[int] | None = None,
    replicas: int | None = None,
    store: str | Path | None = None,
    client: Client | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Run every point of ``grid`` (``{"jobs.grok5_10t.racks": [3400, "+20%"], ...}``, the
    paths of ``--set``) × seeds and return one row per point and job: ``point``, one column per
    grid path (named by the path), ``seed``, then the columns of ``RunResult.jobs_frame()``.

    Points are the cartesian product of the grid's values in order (last path fastest), seeds
    innermost. ``seeds`` lists them; ``replicas=N`` runs seeds ``s + 0 … s + N−1`` from each
    point's own seed ``s``; neither runs each point once with its seed. ``overrides`` apply to
    every point. Each point is stored once in ``store`` (default: a temporary folder) under a
    key of its resolved scenario, seed and version: a re-run computes only missing points.
    Runs on a local process pool (``workers``, default ``os.cpu_count()``) or on dask (a
    ``client`` or a ``scheduler`` address). Bad input anywhere in the grid raises a located
    ``ScenarioError`` before anything runs.
    """
    from colossus_sim import sweep as sweep_module

    return sweep_module.run(
        scenario,
        grid,
        overrides=overrides,
        seeds=seeds,
        replicas=replicas,
        store=store,
        client=client,
        scheduler=scheduler,
        workers=workers,
        progress=progress,
    ).frame


class Band(BaseModel):
    """The 10th, 50th and 90th percentiles of a figure over replicas (linear interpolation;
    None when no replica has the figure, e.g. a job that never started)."""

    model_config = ConfigDict(frozen=True)

    p10: float | None
    p50: float | None
    p90: float | None

    @property
    def width(self) -> float | None:
        """P90 − P10."""
        return None if self.p10 is None or self.p90 is None else self.p90 - self.p10

    @classmethod
    def of(cls, values: Sequence[float | None]) -> Band:
        import numpy as np

        have = [float(v) for v in values if v is not None and v == v]  # drop None and NaN
        if not have:
            return cls(p10=None, p50=None, p90=None)
        p10, p50, p90 = (float(x) for x in np.percentile(have, [10, 50, 90]))
        return cls(p10=p10, p50=p50, p90=p90)


class JobBand(BaseModel):
    """One job over the replicas: its time-to-train and goodput bands."""

    model_config = ConfigDict(frozen=True)

    job: str
    runs: int
    finished: int
    """Replicas in which it finished its token budget within the horizon (the others'
    time-to-train is projected at their average rate)."""
    time_to_train_days: Band
    goodput: Band


class ReplicaSummary(BaseModel):
    """A scenario run with ``len(seeds)`` seeds: each job's P10/P50/P90 band."""

    model_config = ConfigDict(frozen=True)

    scenario: str
    seeds: list[int]
    jobs: list[JobBand]

    def frame(self) -> pd.DataFrame:
        """One row per job: ``runs``, ``finished``, ``time_to_train_days_p10`` … ``goodput_p90``."""
        import pandas as pd

        rows = []
        for j in self.jobs:
            row: dict[str, Any] = {"job": j.job, "runs": j.runs, "finished": j.finished}
            for figure in ("time_to_train_days", "goodput"):
                band: Band = getattr(j, figure)
                row.update({f"{figure}_{p}": getattr(band, p) for p in ("p10", "p50", "p90")})
            rows.append(row)
        return pd.DataFrame(rows)


def replicas(
    scenario: ResolvedScenario | str | Path | None = None,
    n: int = 8,
    *,
    overrides: list[str] | None = None,
    seed: int | None = None,
    store: str | Path | None = None,
    client: Client | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> ReplicaSummary:
    """Run a scenario with ``n`` seeds and summarise each job's spread. Replica ``i`` runs
    with seed ``base + i`` (``i`` = 0 … n−1), ``base`` being ``seed`` if given, else the
    scenario's own seed — so replica 0 is the run ``simulate`` gives. Same machinery, store and
    executors as ``sweep``."""
    from colossus_sim import sweep as sweep_module

    base = list(overrides or [])
    if seed is not None:
        base.append(f"seed={seed}")
    result = sweep_module.run(
        scenario,
        None,
        overrides=base,
        replicas=n,
        store=store,
        client=client,
        scheduler=scheduler,
        workers=workers,
        progress=progress,
    )
    return replica_summary(result.frame, name=result.scenario)


def replica_summary(frame: pd.DataFrame, name: str = "") -> ReplicaSummary:
    """Each job's P10/P50/P90 over the seeds of a sweep table (one grid point)."""
    jobs = []
    for job, rows in frame.groupby("name", sort=False):
        jobs.append(
            JobBand(
                job=str(job),
                runs=len(rows),
                finished=int(rows["finished"].sum()),
                time_to_train_days=Band.of(rows["time_to_train_days"].tolist()),
                goodput=Band.of(rows["goodput"].tolist()),
            )
        )
    seeds = [int(s) for s in dict.fromkeys(frame["seed"].tolist())]
    return ReplicaSummary(scenario=name, seeds=seeds, jobs=jobs)


def compare(a: RunResult, b: RunResult) -> pd.DataFrame:
    """Two runs side by side, one row per job and figure: ``job``, ``metric``, ``a``, ``b``,
    ``delta`` (b − a) and ``rel`` (delta ÷ |a|; NaN where a is 0 or missing). Figures are
    the numeric columns of ``jobs_frame()`` (not flags or names); jobs in a's order, then
    b's extra ones."""
    import math

    import pandas as pd

    frames = {"a": a.jobs_frame(), "b": b.jobs_frame()}
    numeric: dict[str, None] = {}
    for frame in frames.values():
        for column in frame.columns:
            dtype = frame[column].dtype
            if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
                numeric.setdefault(str(column), None)
    by_job = {side: {str(r["name"]): r for r in f.to_dict("records")} for side, f in frames.items()}
    jobs = list(dict.fromkeys([*by_job["a"], *by_job["b"]]))
    rows = []
    nan = math.nan
    for job in jobs:
        for metric in numeric:
            va = by_job["a"].get(job, {}).get(metric)
            vb = by_job["b"].get(job, {}).get(metric)
            fa = nan if va is None else float(va)
            fb = nan if vb is None else float(vb)
            delta = fb - fa
            rel = delta / abs(fa) if fa == fa and fa != 0 else nan
            rows.append(
                {"job": job, "metric": metric, "a": fa, "b": fb, "delta": delta, "rel": rel}
            )
    return pd.DataFrame(rows, columns=["job", "metric", "a", "b", "delta", "rel"])


__all__ = [
    "Band",
    "Issue",
    "JobBand",
    "JobStep",
    "ReplicaSummary",
    "ResolvedScenario",
    "RunResult",
    "ScenarioError",
    "compare",
    "default_jobs",
    "fabric",
    "fidelity",
    "fidelity_frame",
    "graphml_bytes",
    "job_step",
    "jobs_frame",
    "load_scenario",
    "parse_plan_option",
    "replica_summary",
    "replicas",
    "simulate",
    "sweep",
]


# ---------------------------------------------------------------------------- plots
# Memo figures of a run and of a sweep table (``plots.py``). matplotlib is imported on the
# first call, so importing the API stays cheap.

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def plot_allocation(result: RunResult, path: str | Path | None = None) -> Figure:
    """Racks per job over time and the cluster's utilisation (``plots.plot_allocation``)."""
    from colossus_sim import plots

    return plots.plot_allocation(result, path)


def plot_power(result: RunResult, path: str | Path | None = None) -> Figure:
    """Site facility and IT power against the cap (``plots.plot_power``)."""
    from colossus_sim import plots

    return plots.plot_power(result, path)


def plot_gantt(result: RunResult, path: str | Path | None = None) -> Figure:
    """Jobs by status over time, with their failures (``plots.plot_gantt``)."""
    from colossus_sim import plots

    return plots.plot_gantt(result, path)


def plot_sweep(
    frame: pd.DataFrame,
    x: str,
    y: str = "time_to_train_days",
    path: str | Path | None = None,
    hue: str = "job",
) -> Figure:
    """A sweep table's response curve, ``y`` against grid path ``x`` (``plots.plot_sweep``)."""
    from colossus_sim import plots

    return plots.plot_sweep(frame, x, y, path, hue)


__all__ += ["plot_allocation", "plot_gantt", "plot_power", "plot_sweep"]
