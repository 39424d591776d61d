"""A job's plan and step time on a number of racks, at a fabric share, and its checkpoint
cadence: the glue between the simulation and the physics in ``perf/``, with its caches.

Re-planning keeps a job's model-parallel layout and re-plans data parallelism, searching
afresh only when that no longer fits; a step at a reduced NIC share re-times the same plan.
Both are cached by (workload, GPU type, racks, plan, share), shared by the jobs of one
workload, so an event that changes nothing a job's step depends on costs a dict lookup; a new
size costs one planner search (tens of ms), a size nothing fits on is remembered as such.
"""

from __future__ import annotations

from colossus_sim.config.scenario import CheckpointMode, RecoveryMode
from colossus_sim.config.workload import PlanFields
from colossus_sim.errors import ScenarioError
from colossus_sim.perf import reliability as rel
from colossus_sim.perf.gemm import check_gemm_shapes
from colossus_sim.perf.plan_grid import RunSetup, job_setup
from colossus_sim.perf.planner import plan_job
from colossus_sim.perf.step_time import StepBreakdown, step_breakdown
from colossus_sim.scenario import ResolvedScenario
from colossus_sim.sim.jobs import Cadence, JobRun, fixed_work_tokens
from colossus_sim.units import BITS_PER_BYTE, BYTES_PER_GB, SECONDS_PER_MINUTE

BITS_TO_BYTES_PER_GBIT = BYTES_PER_GB / BITS_PER_BYTE
"""Bytes per second in one Gbit/s."""


class Planner:
    """Plans and re-times the jobs of one run (caches live as long as the run)."""

    def __init__(self, resolved: ResolvedScenario, site_gpus: int, gpus_per_rack: int) -> None:
        self.resolved = resolved
        self.site_gpus = site_gpus
        self.gpus_per_rack = gpus_per_rack
        self.plan_cache: dict[tuple[str, str, int, int, str], StepBreakdown | None] = {}
        """Plans by size, and sizes nothing fits on (None: not searched again)."""
        self.step_cache: dict[tuple[str, str, int, int, str, float], StepBreakdown] = {}

    def setup(self, job: JobRun, racks: int, scale_out_frac: float = 1.0) -> RunSetup:
        return job_setup(
            arch=job.spec.arch,
            training=job.spec.training,
            software=job.spec.software,
            gpu=job.gpu,
            consts=self.resolved.consts,
            racks=racks,
            active_gpus_per_rack=job.active_gpus,
            scale_out_frac=scale_out_frac,
        )

    def plan(self, job: JobRun, racks: int) -> StepBreakdown | None:
        """Step breakdown of ``job`` on ``racks`` racks: keep the model-parallel layout and
        re-plan data parallelism; search afresh if that no longer fits. None if nothing does.
        Fields its workload fixes (``plan:``) hold throughout."""
        base = job.spec.plan
        fixed = base
        if job.step is not None:
            kept = job.step.plan.model_dump(exclude={"dp"})
            fixed = PlanFields(**(kept | base.model_dump(exclude_none=True)))
        key = (job.spec.name, job.gpu.name, job.active_gpus, racks, fixed.model_dump_json())
        if key in self.plan_cache:
            return self.plan_cache[key]
        setup = self.setup(job, racks)
        result: StepBreakdown | None = None
        for attempt in (fixed, base):
            try:
                result = plan_job(setup, attempt).best
                break
            except ScenarioError:
                continue
        self.plan_cache[key] = result
        return result

    def check_fits(self, job: JobRun) -> None:
        """Refuse, before the run, a job whose model runs on no plan on the racks it asks
        for (it could never start); give a fixed-length job (``days:``) its token budget: that
        many days of compute on those racks."""
        try:
            check_gemm_shapes(job.spec.arch, job.gpu, job.spec.training.precision)
        except ScenarioError as exc:
            issue = exc.issues[0]
            raise self.resolved.error_at(
                f"jobs.{job.name}",
                f"workload {job.spec.name}: {issue.field}: {issue.message}",
                got=issue.got,
                expected=issue.expected,
            ) from None
        step = self.plan(job, job.want_racks)
        if step is None:
            raise self.resolved.error_at(
                f"jobs.{job.name}.racks",
                "no plan of the model fits on these racks (too little memory: it could never "
                "start)",
                got=f"{job.want_racks:,}",
                expected="more racks",
            )
        if job.setup.recovery is RecoveryMode.DROP_REPLICA and step.plan.dp < 2:
            raise self.resolved.error_at(
                f"jobs.{job.name}.recovery",
                "drop_replica needs at least two data-parallel replicas, and this job's plan "
                "on its racks has one",
                got="drop_replica",
                expected="restart, in_memory or hot_spare, or more racks",
            )
        if job.setup.days is not None:
            job.budget_tokens = fixed_work_tokens(job.setup.days, step)

    def step_at(self, job: JobRun, racks: int, step: StepBreakdown, frac: float) -> StepBreakdown:
        """``step``'s plan on ``racks`` racks with the NICs at ``frac`` of full bandwidth."""
        return step_breakdown(self.setup(job, racks, frac), step.plan)

    def at_share(self, job: JobRun, frac: float) -> StepBreakdown:
        """``job``'s plan on its racks with its NICs at ``frac`` of full bandwidth."""
        assert job.flat_step is not None
        if frac == 1.0:
            return job.flat_step
        plan = job.flat_step.plan
        racks = job.flat_step.gpus // job.active_gpus
        key = (job.spec.name, job.gpu.name, job.active_gpus, racks, plan.model_dump_json(), frac)
        step = self.step_cache.get(key)
        if step is None:
            step = self.step_at(job, racks, job.flat_step, frac)
            self.step_cache[key] = step
        return step

    def checkpoint_cadence(self, job: JobRun, racks: int) -> Cadence:
        """``job``'s checkpoint blocking, durability lag and interval on ``racks`` racks.

        ``restart``: its share of the site's storage bandwidth is its share of the site's
        GPUs, and the interval is Young–Daly's for its failure rate (``perf/reliability.py``).
        ``in_memory``: every ``snapshot_interval_steps`` steps each GPU copies its shard to
        host memory (blocking) and on to a peer over its NIC (durable when there)."""
        assert job.step is not None
        ckpt = self.resolved.scenario.checkpoint
        gpus = racks * self.gpus_per_rack
        training_gpus = racks * job.active_gpus
        if job.setup.recovery is RecoveryMode.IN_MEMORY:
            recovery = self.resolved.scenario.recovery
            assert recovery is not None  # checked when the scenario loads
            shard_bytes = self._state_bytes(job) / training_gpus
            return Cadence(
                blocking_s=shard_bytes / rel.host_copy_bytes_per_s(ckpt.host_copy_gb_per_s),
                durable_s=shard_bytes / self._nic_bytes_per_s(job),
                interval_s=recovery.snapshot_interval_steps * job.step.step_s,
            )
        cost = self._storage_checkpoint(job, racks)
        mtbf = rel.job_mtbf_s(self.resolved.effective.failure_rate_per_gpu_hour, gpus)
        if ckpt.interval_minutes is not None:
            interval_s = ckpt.interval_minutes * SECONDS_PER_MINUTE
        else:
            interval_s = rel.young_daly_interval_s(
                cost.blocking_s,
                mtbf,
                min_s=max(cost.durable_after_s, job.step.step_s),
                max_s=ckpt.max_interval_minutes * SECONDS_PER_MINUTE,
            )
        write_s = cost.durable_after_s or cost.blocking_s  # async: in the background; sync: blocked
        return Cadence(
            cost.blocking_s,
            cost.durable_after_s,
            interval_s,
            storage_bytes=cost.bytes_total,
            storage_share=gpus / self.site_gpus,
            storage_write_s=write_s,
        )

    def _storage_checkpoint(self, job: JobRun, racks: int) -> rel.CheckpointCost:
        ckpt = self.resolved.scenario.checkpoint
        return rel.checkpoint_cost(
            params=job.params,
            bytes_per_param=ckpt.bytes_per_param,
            gpus=racks * job.active_gpus,
            storage_bytes_per_s=self._storage_share_bytes_per_s(racks * self.gpus_per_rack),
            host_copy_bytes_per_s=rel.host_copy_bytes_per_s(ckpt.host_copy_gb_per_s),
            asynchronous=ckpt.mode is CheckpointMode.ASYNC,
        )

    def check_interval(self, job: JobRun, racks: int) -> None:
        """Refuse a fixed checkpoint interval shorter than ``job``'s asynchronous write on
        ``racks`` racks (a checkpoint would start before the last one is durable)."""
        minutes = self.resolved.scenario.checkpoint.interval_minutes
        if minutes is None or job.setup.recovery is RecoveryMode.IN_MEMORY:
            return
        write_s = self._storage_checkpoint(job, racks).durable_after_s
        if minutes * SECONDS_PER_MINUTE < write_s:
            raise self.resolved.error_at(
                "checkpoint.interval_minutes",
                f"shorter than the {write_s:,.0f} s {job.name} needs to write a checkpoint at its "
                "share of the storage bandwidth (one would start before the last is durable)",
                got=f"{minutes:g} min",
                expected=f"at least {write_s / SECONDS_PER_MINUTE:.2f} min, or faster storage",
            )

    def restart(self, job: JobRun, racks: int, *, detected: bool) -> rel.RestartAnatomy | None:
        """What restarting ``job`` on ``racks`` racks takes, part by part (None when the
        scenario times every restart with ``checkpoint.restart_minutes``). ``detected``: the
        restart follows a failure that had to be noticed first (not a planned resize)."""
        recovery = self.resolved.scenario.recovery
        if self.resolved.effective.restart_s is not None or recovery is None:
            return None
        assert job.step is not None
        training_gpus = racks * job.active_gpus
        state_bytes = self._state_bytes(job)
        if job.setup.recovery is RecoveryMode.IN_MEMORY:  # each GPU reads its shard from a peer
            load_bytes, load_bytes_per_s = state_bytes / training_gpus, self._nic_bytes_per_s(job)
        else:  # every rank reads the checkpoint from shared storage, at the job's share
            load_bytes = state_bytes
            load_bytes_per_s = self._storage_share_bytes_per_s(racks * self.gpus_per_rack)
        in_rack = job.setup.recovery is RecoveryMode.HOT_SPARE  # the rack's spare steps in
        return rel.restart_anatomy(
            gpus=training_gpus,
            detection_s=recovery.detection_s if detected else 0.0,
            reschedule_s=recovery.reschedule_s if detected and not in_rack else 0.0,
            process_start_s=recovery.process_start_s,
            comm_init_s_per_1k_gpus=recovery.comm_init_s_per_1k_gpus,
            load_bytes=load_bytes,
            load_bytes_per_s=load_bytes_per_s,
            warmup_steps=recovery.warmup_steps,
            step_s=job.step.step_s,
        )

    def replica_drop_s(self, job: JobRun) -> tuple[float, float]:
        """(pause, rejoin) of a ``drop_replica`` failure: the other replicas stop for the time
        it takes to notice it (``recovery.detection_s``); the replica rejoins after its
        processes and communicators start (for its GPUs) and each GPU copies its shard of the
        state from a peer replica over its NIC."""
        recovery = self.resolved.scenario.recovery
        assert recovery is not None and job.step is not None  # checked when the scenario loads
        replica_gpus = job.step.gpus_used // job.step.plan.dp
        startup_s = recovery.process_start_s + recovery.comm_init_s_per_1k_gpus * (
            replica_gpus / 1000.0
        )
        copy_s = self._state_bytes(job) / replica_gpus / self._nic_bytes_per_s(job)
        return recovery.detection_s, startup_s + copy_s

    def restart_s(self, job: JobRun, racks: int, *, detected: bool) -> float:
        override = self.resolved.effective.restart_s
        if override is not None:
            return override
        anatomy = self.restart(job, racks, detected=detected)
        assert anatomy is not None  # the scenario has recovery: when it has no override
        return anatomy.total_s

    def restart_summary(self, job: JobRun, racks: int) -> tuple[float, dict[str, float]]:
        """What a restart after a failure takes ``job`` on ``racks`` racks, and its parts
        (none under the scenario's override; zero for a job that never ran)."""
        if job.step is None or racks == 0:
            return 0.0, {}
        anatomy = self.restart(job, racks, detected=True)
        if anatomy is None:
            return self.restart_s(job, racks, detected=True), {}
        return anatomy.total_s, anatomy.breakdown_s()

    def _state_bytes(self, job: JobRun) -> float:
        """What ``job``'s checkpoint holds: its parameters × the scenario's bytes per one."""
        return job.params * self.resolved.scenario.checkpoint.bytes_per_param

    def _storage_share_bytes_per_s(self, gpus: int) -> float:
        """The job's share of the site's checkpoint storage: its share of the site's GPUs."""
        share = gpus / self.site_gpus
        tb_per_s = self.resolved.scenario.checkpoint.storage_tb_per_s
        return rel.storage_bytes_per_s(tb_per_s) * share

    @staticmethod
    def _nic_bytes_per_s(job: JobRun) -> float:
        gpu = job.gpu
        return gpu.nic_gbit_per_s * gpu.nic_bus_efficiency * BITS_TO_BYTES_PER_GBIT
