"""A job's plan and step time on a number of racks, at a fabric share, and its checkpoint
cadence: the glue between the simulation and the physics in ``perf/``, with its caches.

Re-planning keeps a job's model-parallel layout and re-plans data parallelism, searching
afresh only when that no longer fits; a step at a reduced NIC share re-times the same plan.
Both are cached by (workload, GPU type, racks, plan, share), shared by the jobs of one
workload, so an event that changes nothing a job's step depends on costs a dict lookup; a new
size costs one planner search (tens of ms), a size nothing fits on is remembered as such.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from colossus_sim.config.reliability import FailureDomain
from colossus_sim.config.scenario import CheckpointMode, RecoveryMode, SnapshotPeer
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

PlanKey = tuple[str, str, int, int, str]
"""A planner search: workload, GPU type, active GPUs per rack, racks, fixed plan fields."""


class Planner:
    """Plans and re-times the jobs of one run (caches live as long as the run)."""

    def __init__(self, resolved: ResolvedScenario, site_gpus: int, gpus_per_rack: int) -> None:
        self.resolved = resolved
        self.site_gpus = site_gpus
        self.gpus_per_rack = gpus_per_rack
        self.plan_cache: dict[PlanKey, StepBreakdown | None] = {}
        """Searches by size and fixed fields, and those nothing fits (None: not searched
        again)."""
        self.step_cache: dict[tuple[str, str, int, int, str, float], StepBreakdown] = {}
        self.rack_loss_rate_per_gpu_hour = rel.domain_rate_per_gpu_hour(
            resolved.effective.failure_rate_per_gpu_hour,
            {name: (c.count, c.domain) for name, c in resolved.reliability.causes.items()},
            FailureDomain.RACK,
        )
        """Failures that take a whole rack, per GPU-hour (they take an in-rack snapshot copy)."""

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
        at = (job.spec.name, job.gpu.name, job.active_gpus, racks)
        result: StepBreakdown | None = None
        for attempt in (fixed, base):
            result = self._search(job, racks, (*at, attempt.model_dump_json()), attempt)
            if result is not None:
                break
        return result

    def _search(
        self, job: JobRun, racks: int, key: PlanKey, fields: PlanFields
    ) -> StepBreakdown | None:
        """The planner's best plan with ``fields`` fixed, or None when none fits; each search
        is made once a run (a kept layout that no longer fits falls back to the search the
        job's first size made)."""
        if key not in self.plan_cache:
            try:
                self.plan_cache[key] = plan_job(self.setup(job, racks), fields).best
            except ScenarioError:
                self.plan_cache[key] = None
        return self.plan_cache[key]

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

    def checkpoint_cadence(
        self, job: JobRun, racks: int, served: Callable[[float], float]
    ) -> Cadence:
        """``job``'s checkpoint blocking, durability lag and interval on ``racks`` racks.

        ``restart`` (and the other modes that reload from storage): the job asks the shared
        storage for its checkpoint's bytes over the interval it would choose if writing were
        free (``checkpoint.interval_minutes``, or Young–Daly's for its failure rate) and is
        ``served`` a write bandwidth for it (``sim/checkpoint_storage.py``); the interval is
        then at least the write (one checkpoint in flight at a time). ``in_memory``: see
        ``_in_memory_cadence``."""
        assert job.step is not None
        if job.setup.recovery is RecoveryMode.IN_MEMORY:
            return self._in_memory_cadence(job, racks, served)
        pool = self.storage_bytes_per_s()
        wanted_s = self._interval_s(job, racks, self._storage_checkpoint(job, racks, pool))
        demand = self._state_bytes(job) / wanted_s
        bandwidth = served(demand)
        cost = self._storage_checkpoint(job, racks, bandwidth)
        write_s = cost.durable_after_s or cost.blocking_s  # async: in the background; sync: blocked
        return Cadence(
            cost.blocking_s,
            cost.durable_after_s,
            max(self._interval_s(job, racks, cost), cost.durable_after_s),
            storage_bytes=cost.bytes_total,
            storage_share=bandwidth / pool,
            storage_write_s=write_s,
            storage_demand_bytes_per_s=demand,
            stop_s=cost.blocking_s + cost.durable_after_s,
        )

    def _in_memory_cadence(
        self, job: JobRun, racks: int, served: Callable[[float], float]
    ) -> Cadence:
        """Every ``snapshot_interval_steps`` steps each GPU copies its shard to host memory
        (blocking) and on to its peer (durable when there: over its NIC to another rack, or
        over NVLink to another tray of its rack). Every k-th snapshot also goes on from host
        memory to the shared storage, without blocking: as often as Young–Daly's interval for
        the failures that take a snapshot's copies says (whole-rack failures when the peer is
        in the rack; none otherwise, so every ``checkpoint.max_interval_minutes``), and at
        least the write apart."""
        assert job.step is not None
        recovery = self.resolved.scenario.recovery
        assert recovery is not None  # checked when the scenario loads
        ckpt = self.resolved.scenario.checkpoint
        state_bytes = self._state_bytes(job)
        shard_bytes = state_bytes / (racks * job.active_gpus)
        in_rack = recovery.snapshot_peer is SnapshotPeer.SAME_RACK
        period_s = recovery.snapshot_interval_steps * job.step.step_s
        blocking_s = shard_bytes / rel.host_copy_bytes_per_s(ckpt.host_copy_gb_per_s)
        copy_bytes_per_s = self._nvlink_bytes_per_s(job) if in_rack else self._nic_bytes_per_s(job)
        rate = self.rack_loss_rate_per_gpu_hour if in_rack else 0.0
        mtbf_s = rel.job_mtbf_s(rate, racks * self.gpus_per_rack)

        def storage_interval_s(write_s: float) -> float:
            fixed_s = self._fixed_interval_s(job)
            if fixed_s is not None:
                return max(fixed_s, write_s)
            return rel.young_daly_interval_s(
                0.0,  # written on from host memory: training does not wait for it
                mtbf_s,
                min_s=max(write_s, period_s),
                max_s=ckpt.max_interval_minutes * SECONDS_PER_MINUTE,
            )

        pool = self.storage_bytes_per_s()
        demand = state_bytes / storage_interval_s(state_bytes / pool)
        bandwidth = served(demand)
        write_s = state_bytes / bandwidth
        every = max(1, math.ceil(storage_interval_s(write_s) / (period_s + blocking_s)))
        return Cadence(
            blocking_s=blocking_s,
            durable_s=shard_bytes / copy_bytes_per_s,
            interval_s=period_s,
            storage_bytes=state_bytes,
            storage_share=bandwidth / pool,
            storage_write_s=write_s,
            storage_demand_bytes_per_s=demand,
            storage_every=every,
            stop_s=blocking_s + write_s,  # to storage: the peers' memory goes with the racks
        )

    def _fixed_interval_s(self, job: JobRun) -> float | None:
        """The scenario's fixed checkpoint interval for ``job`` (``interval_minutes``, or
        ``interval_steps`` of its step now), or None under Young–Daly's."""
        ckpt = self.resolved.scenario.checkpoint
        if ckpt.interval_minutes is not None:
            return ckpt.interval_minutes * SECONDS_PER_MINUTE
        if ckpt.interval_steps is not None and job.step is not None:
            return ckpt.interval_steps * job.step.step_s
        return None

    def _interval_s(self, job: JobRun, racks: int, cost: rel.CheckpointCost) -> float:
        """The scenario's fixed interval, or Young–Daly's for ``job``'s failure rate on
        ``racks`` racks and a checkpoint costing ``cost`` (at least a step and the write)."""
        assert job.step is not None
        ckpt = self.resolved.scenario.checkpoint
        fixed_s = self._fixed_interval_s(job)
        if fixed_s is not None:
            return fixed_s
        gpus = racks * self.gpus_per_rack
        mtbf = rel.job_mtbf_s(self.resolved.effective.failure_rate_per_gpu_hour, gpus)
        return rel.young_daly_interval_s(
            cost.blocking_s,
            mtbf,
            min_s=max(cost.durable_after_s, job.step.step_s),
            max_s=ckpt.max_interval_minutes * SECONDS_PER_MINUTE,
        )

    def _storage_checkpoint(
        self, job: JobRun, racks: int, bytes_per_s: float
    ) -> rel.CheckpointCost:
        ckpt = self.resolved.scenario.checkpoint
        return rel.checkpoint_cost(
            params=job.params,
            bytes_per_param=ckpt.bytes_per_param,
            gpus=racks * job.active_gpus,
            storage_bytes_per_s=bytes_per_s,
            host_copy_bytes_per_s=rel.host_copy_bytes_per_s(ckpt.host_copy_gb_per_s),
            asynchronous=ckpt.mode is CheckpointMode.ASYNC,
        )

    def storage_bytes_per_s(self) -> float:
        """The shared checkpoint storage's bandwidth (all jobs share it:
        ``sim/checkpoint_storage.py``)."""
        return rel.storage_bytes_per_s(self.resolved.scenario.checkpoint.storage_tb_per_s)

    def check_interval(self, job: JobRun, racks: int) -> None:
        """Refuse a fixed checkpoint interval shorter than ``job``'s asynchronous write on
        ``racks`` racks with the whole storage to itself (a checkpoint would always start
        before the last one is durable)."""
        minutes = self.resolved.scenario.checkpoint.interval_minutes
        if minutes is None or job.setup.recovery is RecoveryMode.IN_MEMORY:
            return
        write_s = self._storage_checkpoint(job, racks, self.storage_bytes_per_s()).durable_after_s
        if minutes * SECONDS_PER_MINUTE < write_s:
            raise self.resolved.error_at(
                "checkpoint.interval_minutes",
                f"shorter than the {write_s:,.0f} s {job.name} needs to write a checkpoint with "
                "all of the storage's bandwidth (one would start before the last is durable)",
                got=f"{minutes:g} min",
                expected=f"at least {write_s / SECONDS_PER_MINUTE:.2f} min, or faster storage",
            )

    def restart(
        self, job: JobRun, racks: int, *, detected: bool, read_bytes_per_s: float
    ) -> rel.RestartAnatomy | None:
        """What restarting ``job`` on ``racks`` racks takes, part by part (None when the
        scenario times every restart with ``checkpoint.restart_minutes``). ``detected``: the
        restart follows a failure that had to be noticed first (not a planned resize);
        ``read_bytes_per_s``: what the shared storage serves its checkpoint read at."""
        recovery = self.resolved.scenario.recovery
        if self.resolved.effective.restart_s is not None or recovery is None:
            return None
        assert job.step is not None
        training_gpus = racks * job.active_gpus
        state_bytes = self._state_bytes(job)
        if job.setup.recovery is RecoveryMode.IN_MEMORY and not job.from_storage:
            # each GPU reads its shard back from its peer
            load_bytes = state_bytes / training_gpus
            load_bytes_per_s = (
                self._nvlink_bytes_per_s(job)
                if recovery.snapshot_peer is SnapshotPeer.SAME_RACK
                else self._nic_bytes_per_s(job)
            )
        else:  # every rank reads the checkpoint from the shared storage
            load_bytes, load_bytes_per_s = state_bytes, read_bytes_per_s
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

    def restart_s(
        self, job: JobRun, racks: int, *, detected: bool, read_bytes_per_s: float
    ) -> float:
        override = self.resolved.effective.restart_s
        if override is not None:
            return override
        anatomy = self.restart(job, racks, detected=detected, read_bytes_per_s=read_bytes_per_s)
        assert anatomy is not None  # the scenario has recovery: when it has no override
        return anatomy.total_s

    def restart_summary(
        self, job: JobRun, racks: int, read_bytes_per_s: float
    ) -> tuple[float, dict[str, float]]:
        """What a restart after a failure takes ``job`` on ``racks`` racks reading its
        checkpoint at ``read_bytes_per_s``, and its parts (none under the scenario's override;
        zero for a job that never ran)."""
        if job.step is None or racks == 0:
            return 0.0, {}
        anatomy = self.restart(job, racks, detected=True, read_bytes_per_s=read_bytes_per_s)
        if anatomy is None:
            return self.restart_s(job, racks, detected=True, read_bytes_per_s=read_bytes_per_s), {}
        return anatomy.total_s, anatomy.breakdown_s()

    def _state_bytes(self, job: JobRun) -> float:
        """What ``job``'s checkpoint holds: its parameters × the scenario's bytes per one."""
        return job.params * self.resolved.scenario.checkpoint.bytes_per_param

    @staticmethod
    def _nvlink_bytes_per_s(job: JobRun) -> float:
        gpu = job.gpu
        return gpu.nvlink_gb_per_s * gpu.nvlink_bus_efficiency * BYTES_PER_GB

    @staticmethod
    def _nic_bytes_per_s(job: JobRun) -> float:
        gpu = job.gpu
        return gpu.nic_gbit_per_s * gpu.nic_bus_efficiency * BITS_TO_BYTES_PER_GBIT
