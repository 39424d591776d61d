"""The checks a scenario gets once its files are loaded: each job's workload and GPU type
against the cluster, rack counts against what the cluster has for jobs, that restarts are
timed, and that each job's checkpoint fits the tiers it goes to. Each failure is a located
``ScenarioError`` built by the caller's ``fail`` (blamed on the ``--set`` that wrote the field,
else on the file's line). Cost: O(jobs).
"""

from __future__ import annotations

import difflib
import graphlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from colossus_sim.config.checkpoint import CheckpointMode, CheckpointTarget
from colossus_sim.config.cluster import ClusterSpec
from colossus_sim.config.hardware import GpuSpec
from colossus_sim.config.load import gpu_names, job_names, load_gpu, load_job
from colossus_sim.config.phases import SEPARATOR as PHASE_SEPARATOR
from colossus_sim.config.scenario import RecoveryMode, Scenario, ScenarioJob, TraceSpec
from colossus_sim.config.workload import JobSpec
from colossus_sim.errors import Issue, ScenarioError
from colossus_sim.perf import checkpoint_tiers as tiers
from colossus_sim.perf.model_size import model_size
from colossus_sim.traces import read_trace
from colossus_sim.units import BYTES_PER_GB, BYTES_PER_TB

Fail = Callable[..., ScenarioError]
"""``fail(field, message, got=, expected=, suggestion=)`` → the error to raise."""


@dataclass(frozen=True)
class ResolvedJob:
    name: str
    setup: ScenarioJob
    """What the scenario (or its trace) asks of the job."""
    spec: JobSpec
    gpu: GpuSpec
    background: bool = False
    """Read from the scenario's job trace."""


def resolve_job(name: str, job: ScenarioJob, cluster: ClusterSpec, fail: Fail) -> ResolvedJob:
    """The workload and GPU type a scenario job names, checked against the cluster."""
    workload = job.workload or name
    try:
        spec = load_job(workload)
    except ScenarioError as exc:
        field = f"jobs.{name}.workload" if job.workload else f"jobs.{name}"
        raise fail(
            field,
            "unknown workload",
            got=repr(workload),
            expected="one of " + ", ".join(job_names()),
            suggestion=exc.suggestion,
        ) from None
    gpu_name = job.gpu or spec.default_gpu
    try:
        gpu = load_gpu(gpu_name)
    except ScenarioError as exc:
        raise fail(
            f"jobs.{name}.gpu",
            "unknown GPU type",
            got=repr(gpu_name),
            expected="one of " + ", ".join(gpu_names()),
            suggestion=exc.suggestion,
        ) from None
    if gpu.name not in cluster.rack_mix:
        raise fail(
            f"jobs.{name}.gpu",
            f"{cluster.title} has no {gpu.name} racks",
            expected="one of " + ", ".join(cluster.rack_mix),
        )
    if job.max_racks is not None and job.max_racks < job.racks:
        raise fail(f"jobs.{name}.max_racks", "must be at least racks", got=str(job.max_racks))
    if (
        job.recovery is RecoveryMode.HOT_SPARE
        and spec.active_gpus_per_rack >= cluster.gpus_per_rack
    ):
        raise fail(
            f"jobs.{name}.recovery",
            f"hot_spare needs spare GPUs in each rack, and {workload} trains on all "
            f"{cluster.gpus_per_rack} of a rack's GPUs",
            got="hot_spare",
            expected="restart, in_memory or drop_replica",
        )
    if job.min_racks is not None and job.min_racks > job.racks:
        raise fail(
            f"jobs.{name}.min_racks",
            "must be at most racks",
            got=f"{job.min_racks:,}",
            expected=f"at most {job.racks:,}",
        )
    return ResolvedJob(name=name, setup=job, spec=spec, gpu=gpu)


def check_after(scenario: Scenario, fail: Fail) -> None:
    """Every job named in an ``after:`` exists (a phase by its full name, ``grok5_10t/rl``),
    and no job waits (through others) for itself; a cycle is reported at the ``after:`` of a
    job the file wrote, not at a phase's implicit one."""
    names = list(scenario.jobs)
    for name, job in scenario.jobs.items():
        for other in job.after:
            if other not in scenario.jobs:
                close = difflib.get_close_matches(other, names, n=1, cutoff=0.5)
                raise fail(
                    f"jobs.{name}.after",
                    "no such job in the scenario",
                    got=repr(other),
                    expected="one of " + ", ".join(names),
                    suggestion=close[0] if close else None,
                )
    cycle = _after_cycle({n: list(j.after) for n, j in scenario.jobs.items()})
    if cycle:
        # Start at a job the file wrote: a cycle through phases has one, whose after: closes it.
        first = next((i for i, n in enumerate(cycle) if PHASE_SEPARATOR not in n), 0)
        cycle = cycle[first:] + cycle[:first]
        raise fail(
            f"jobs.{cycle[0]}.after",
            "jobs wait for each other in a cycle, so none of them would ever start",
            got=" → ".join([*cycle, cycle[0]]),
        )


def _after_cycle(after: dict[str, list[str]]) -> list[str]:
    """A cycle of the ``after`` graph (the jobs on it, each waiting for the next), or [] when
    there is none. The standard library's topological sorter finds it without the cost of
    importing networkx (a fifth of a second) on every run."""
    sorter = graphlib.TopologicalSorter(after)
    try:
        sorter.prepare()
    except graphlib.CycleError as cycle:
        # Its nodes run each before the next; waiting runs the other way.
        waits: list[str] = cycle.args[1][:-1][::-1]
        order = list(after)  # begin at the job the file names first
        first = min(range(len(waits)), key=lambda i: order.index(waits[i]))
        return waits[first:] + waits[:first]
    return []


def check_recovery(scenario: Scenario, fail: Fail) -> None:
    """A restart must be timed: by ``checkpoint.restart_minutes`` or part by part by
    ``recovery:``, which an ``in_memory`` job needs in any case (its snapshot interval)."""
    if scenario.recovery is not None:
        return
    needs = {
        RecoveryMode.IN_MEMORY: "its snapshot interval",
        RecoveryMode.DROP_REPLICA: "the time to notice a failure and to start a replica",
    }
    timed = [(n, j.recovery) for n, j in scenario.jobs.items() if j.recovery in needs]
    if timed:
        name, mode = timed[0]
        raise fail(
            f"jobs.{name}.recovery",
            f"a {mode} job needs the scenario's recovery: section ({needs[mode]})",
            got=mode.value,
            expected="recovery: {detection_s, reschedule_s, process_start_s, "
            "comm_init_s_per_1k_gpus, warmup_steps, snapshot_interval_steps}",
        )
    if scenario.checkpoint.restart_minutes is None:
        raise fail(
            "checkpoint.restart_minutes",
            "a restart must be timed: set checkpoint.restart_minutes, or give the scenario a "
            "recovery: section that times it part by part",
            expected="a number of minutes, or a recovery: section",
        )


def check_checkpoint_tiers(
    scenario: Scenario, jobs: list[ResolvedJob], tray_gpus: int, fail: Fail
) -> None:
    """Each job's checkpoint fits the tiers it goes to, on the racks it asks for: its GPU's
    shard staged in host memory (an ``in_memory`` job's own snapshot and a peer's copy), and
    two of its shards in its share of its tray's drives (``perf/checkpoint_tiers.py``); and
    ``checkpoint_to: local_nvme`` has drives to go to and a mode that checkpoints to them. A
    shard larger than its GPU's HBM is left to the plan's check before the run (the model
    does not fit its racks at all: ``Planner.check_fits``)."""
    ckpt = scenario.checkpoint
    params: dict[str, float] = {}  # by workload: a trace's jobs share one
    for job in jobs:
        _check_target(job, ckpt.local_nvme is not None, fail)
        if job.spec.name not in params:
            params[job.spec.name] = model_size(job.spec.arch).total
        gpus = job.setup.racks * job.spec.active_gpus_per_rack
        shard = tiers.shard_bytes(params[job.spec.name] * ckpt.bytes_per_param, gpus)
        if shard > (job.gpu.hbm_gb - job.gpu.hbm_reserved_gb) * BYTES_PER_GB:
            continue  # its state does not fit its GPUs at all: the plan's check says so
        _check_host_memory(job, shard, gpus, ckpt.mode, fail)
        nvme = ckpt.local_nvme
        if job.setup.checkpoint_to is CheckpointTarget.LOCAL_NVME and nvme is not None:
            tray = tiers.nvme_share(
                nvme.tb_per_tray,
                nvme.write_gb_per_s_per_tray,
                nvme.read_gb_per_s_per_tray,
                tray_gpus,
            )
            needed_tb = tiers.nvme_needed_bytes(shard) * tray_gpus / BYTES_PER_TB
            if tiers.nvme_needed_bytes(shard) > tray.capacity_bytes:
                raise fail(
                    "checkpoint.local_nvme.tb_per_tray",
                    f"a tray's drives cannot hold {job.name}'s checkpoint: its {tray_gpus} "
                    "GPUs' shards twice (the last durable one and the one being written)",
                    got=f"{nvme.tb_per_tray:g} TB",
                    expected=f"at least {needed_tb:.3g} TB",
                )


def _check_target(job: ResolvedJob, has_nvme: bool, fail: Fail) -> None:
    """``checkpoint_to: local_nvme`` needs the scenario's drives and a job that checkpoints
    (an ``in_memory`` job snapshots to its peers instead)."""
    if job.setup.checkpoint_to is not CheckpointTarget.LOCAL_NVME:
        return
    if job.setup.recovery is RecoveryMode.IN_MEMORY:
        raise fail(
            f"jobs.{job.name}.checkpoint_to",
            "an in_memory job keeps its snapshots in peers' host memory, not on local NVMe",
            got="local_nvme",
            expected="shared_storage, or another recovery mode",
        )
    if not has_nvme:
        raise fail(
            f"jobs.{job.name}.checkpoint_to",
            "local_nvme needs the scenario's checkpoint.local_nvme (the trays' drives)",
            got="local_nvme",
            expected="a checkpoint.local_nvme section, or shared_storage",
        )


def _check_host_memory(
    job: ResolvedJob, shard: float, gpus: int, mode: CheckpointMode, fail: Fail
) -> None:
    """The host memory beside each GPU holds what its checkpoint puts there: an asynchronous
    checkpoint's staged shard, an ``in_memory`` job's snapshot and its peer's copy."""
    in_memory = job.setup.recovery is RecoveryMode.IN_MEMORY
    host_gb = job.gpu.host_memory_gb
    if host_gb is None or not (in_memory or mode is CheckpointMode.ASYNC):
        return
    needed = tiers.host_memory_needed_bytes(shard, in_memory=in_memory)
    if needed <= host_gb * BYTES_PER_GB:
        return
    kept = ", kept twice: its own and a peer's" if in_memory else ""
    field = f"jobs.{job.name}.recovery" if in_memory else f"jobs.{job.name}.racks"
    whose = ""
    if job.background:  # a trace's job: blamed on the trace's model
        field, whose = "trace.workload", f"{job.name}: "
    raise fail(
        field,
        f"{whose}each GPU's checkpoint shard ({shard / BYTES_PER_GB:,.0f} GB on {gpus:,} "
        f"GPUs{kept}) does not fit in its {host_gb:g} GB of host memory",
        got=f"{needed / BYTES_PER_GB:,.0f} GB",
        expected=f"at most {host_gb:g} GB: more racks, or "
        + ("restart or hot_spare" if in_memory else "synchronous checkpoints"),
    )


def check_racks(
    scenario: Scenario, cluster: ClusterSpec, jobs: list[ResolvedJob], fail: Fail
) -> None:
    """Spares only of GPU types the cluster has, and no job asking for more racks than the
    cluster has for jobs of its type."""
    spare_racks = scenario.scheduler.spare_racks
    for gpu_name, spare in spare_racks.items():
        if gpu_name not in cluster.rack_mix:
            raise fail(
                f"scheduler.spare_racks.{gpu_name}",
                "no such GPU type on this cluster",
                expected="one of " + ", ".join(cluster.rack_mix),
            )
        if spare > cluster.rack_mix[gpu_name]:
            raise fail(
                f"scheduler.spare_racks.{gpu_name}",
                "more spares than racks",
                got=f"{spare:,}",
                expected=f"at most {cluster.rack_mix[gpu_name]:,}",
            )
    for resolved in jobs:
        job = resolved.setup
        gpu_name = resolved.gpu.name
        spares = spare_racks.get(gpu_name, 0)
        usable = cluster.rack_mix[gpu_name] - spares
        if job.racks > usable:
            raise fail(
                f"jobs.{resolved.name}.racks",
                f"more racks than {cluster.title} has for jobs: "
                f"{cluster.rack_mix[gpu_name]:,} {gpu_name} racks less {spares:,} spares",
                got=f"{job.racks:,}",
                expected=f"at most {usable:,}",
            )


def resolve_trace(
    spec: TraceSpec, path: Path, scenario: Scenario, cluster: ClusterSpec, fail: Fail
) -> list[ResolvedJob]:
    """The jobs of the scenario's trace, each checked against the racks its GPU type has for
    jobs (errors name the trace's file and line)."""

    def trace_fail(field: str, message: str, **detail: str | None) -> ScenarioError:
        return fail(field.replace("jobs.trace.", "trace."), message, **detail)

    probe = ScenarioJob(workload=spec.workload, gpu=spec.gpu, racks=1)
    model = resolve_job("trace", probe, cluster, trace_fail)
    trace = read_trace(path, spec, model.spec.active_gpus_per_rack)
    gpu = model.gpu.name
    usable = cluster.rack_mix[gpu] - scenario.scheduler.spare_racks.get(gpu, 0)
    for name, job in trace.jobs.items():
        file, line = str(path), trace.lines[name]
        if name in scenario.jobs:
            issue = Issue(f"{name} is also a job of the scenario", "trace", file=file, line=line)
            raise ScenarioError([issue])
        if job.racks > usable:
            issue = Issue(
                f"{name} needs more {gpu} racks than the cluster has for jobs",
                "trace",
                got=f"{job.racks:,} racks",
                expected=f"at most {usable:,} (set trace.gpus_per_processor)",
                file=file,
                line=line,
            )
            raise ScenarioError([issue])
    return [
        ResolvedJob(name=name, setup=job, spec=model.spec, gpu=model.gpu, background=True)
        for name, job in trace.jobs.items()
    ]
