"""A job's plan and step time on a number of racks, at a fabric share, and its restart (its
checkpoint cadence is ``sim/cadence.py``'s): the glue between the simulation and the physics in
``perf/``, with its caches.

Re-planning keeps a job's model-parallel layout and re-plans data parallelism, searching
afresh only when that no longer fits; a step at a reduced NIC share re-times the same plan.
Both are cached by (workload, GPU type, racks, plan, share), shared by the jobs of one
workload, so an event that changes nothing a job's step depends on costs a dict lookup; a new
size costs one planner search (10–25 ms), a size nothing fits on is remembered as such, and a
search whose answer a wider search on that size already found (a job back on its racks with
its kept layout) is not made.
"""

from __future__ import annotations

from colossus_sim.config.scenario import RecoveryMode
from colossus_sim.config.workload import ParallelPlan, PlanFields
from colossus_sim.errors import ScenarioError
from colossus_sim.perf import checkpoint_tiers as tiers
from colossus_sim.perf import reliability as rel
from colossus_sim.perf.gemm import check_gemm_shapes
from colossus_sim.perf.plan_grid import RunSetup, job_setup
from colossus_sim.perf.planner import plan_job
from colossus_sim.perf.step_time import StepBreakdown, step_breakdown
from colossus_sim.scenario import ResolvedScenario
from colossus_sim.sim.cadence import CheckpointPolicy, Served
from colossus_sim.sim.jobs import Cadence, JobRun, fixed_work_tokens

PlanKey = tuple[str, str, int, int, str]
"""A planner search: workload, GPU type, active GPUs per rack, racks, fixed plan fields."""
PlanSize = tuple[str, str, int, int]
"""Where a search runs: workload, GPU type, active GPUs per rack, racks."""


class Planner:
    """Plans and re-times the jobs of one run (caches live as long as the run)."""

    def __init__(self, resolved: ResolvedScenario, site_gpus: int, gpus_per_rack: int) -> None:
        self.resolved = resolved
        self.site_gpus = site_gpus
        self.gpus_per_rack = gpus_per_rack
        self.plan_cache: dict[PlanKey, StepBreakdown | None] = {}
        """Searches by size and fixed fields, and those nothing fits (None: not searched
        again)."""
        self.found: dict[PlanSize, list[tuple[dict[str, object], StepBreakdown]]] = {}
        """The plans each size's searches found, with the fields each fixed (``_known``)."""
        self.step_cache: dict[tuple[str, str, int, int, ParallelPlan, float], StepBreakdown] = {}
        self.checkpoints = CheckpointPolicy(resolved, gpus_per_rack)
        """How each job checkpoints and where its restarts load from (``sim/cadence.py``)."""
        self.restart_cache: dict[
            tuple[int, int, bool, float, bool], tuple[StepBreakdown | None, float]
        ] = {}
        """A job's restart time by (job, racks, detected, read bytes/s, from storage), with
        the step it was worked out for (a job restarts thousands of times alike)."""

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
            at, given = key[:4], fields.model_dump(exclude_none=True)
            best = self._known(at, given)
            if best is None:
                try:
                    best = plan_job(self.setup(job, racks), fields).best
                    self.found.setdefault(at, []).append((given, best))
                except ScenarioError:
                    best = None
            self.plan_cache[key] = best
        return self.plan_cache[key]

    def _known(self, at: PlanSize, given: dict[str, object]) -> StepBreakdown | None:
        """A plan a search on this size already found that a search fixing ``given`` would
        return: the earlier search fixed some of ``given`` (a wider grid) and its plan agrees
        with all of it. The fastest fitting plan of the wider grid, first among equals in its
        order, is a candidate of the narrower grid, which lists its candidates in the same
        order: so it is that grid's answer too (a job back on its racks with its kept
        layout, or the fields its workload fixes, costs a look-up, not a search)."""
        for wider, best in self.found.get(at, ()):
            plan = best.plan.model_dump()
            if all(given.get(name) == value for name, value in wider.items()) and all(
                plan[name] == value for name, value in given.items()
            ):
                return best
        return None

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
        """``step``'s plan on ``racks`` racks with the NICs at ``frac`` of full bandwidth (each
        once a run: a stream's many jobs of one workload and size share it)."""
        plan = step.plan
        key = (job.spec.name, job.gpu.name, job.active_gpus, racks, plan, frac)  # frozen: hashable
        found = self.step_cache.get(key)
        if found is None:
            found = step_breakdown(self.setup(job, racks, frac), plan)
            self.step_cache[key] = found
        return found

    def at_share(self, job: JobRun, frac: float) -> StepBreakdown:
        """``job``'s plan on its racks with its NICs at ``frac`` of full bandwidth."""
        assert job.flat_step is not None
        if frac == 1.0:
            return job.flat_step
        racks = job.flat_step.gpus // job.active_gpus
        return self.step_at(job, racks, job.flat_step, frac)

    def checkpoint_cadence(self, job: JobRun, racks: int, served: Served) -> Cadence:
        """How ``job`` checkpoints on ``racks`` racks, ``served`` its write bandwidth by the
        shared storage (``sim/cadence.py`` decides)."""
        return self.checkpoints.cadence(job, racks, served)

    def storage_bytes_per_s(self) -> float:
        """The shared checkpoint storage's bandwidth (all jobs share it:
        ``sim/checkpoint_storage.py``)."""
        return self.checkpoints.storage_bytes_per_s()

    def check_interval(self, job: JobRun, racks: int) -> None:
        """Refuse a fixed checkpoint interval shorter than the write of the checkpoint it
        times, for ``job`` on up to ``racks`` racks with the whole storage (or its trays'
        drives) to itself: one would always start before the last is durable."""
        ckpt = self.resolved.scenario.checkpoint
        step = None
        if ckpt.interval_steps is not None:  # the shortest step: on the most racks, if it fits
            step = self.plan(job, racks) or self.plan(job, job.want_racks)
        fixed_s = self.checkpoints.fixed_interval_s(job, step)
        if fixed_s is None:
            return
        write_s, tier = self.checkpoints.fixed_write_s(job, racks)
        if fixed_s >= write_s:
            return
        field = "interval_minutes" if ckpt.interval_minutes is not None else "interval_steps"
        raise self.resolved.error_at(
            f"checkpoint.{field}",
            f"shorter than the {write_s:,.2f} s {job.name} needs to write a checkpoint to its "
            f"{tier.value.replace('_', ' ')} with all of its bandwidth (one would start before "
            "the last is durable)",
            got=f"{fixed_s:,.2f} s",
            expected=f"at least {write_s:,.2f} s, or a faster tier",
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
        load_bytes, load_bytes_per_s = self.checkpoints.load(job, racks, read_bytes_per_s)
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
        state_bytes = self.checkpoints.state_bytes(job)
        copy_s = state_bytes / replica_gpus / tiers.nic_bytes_per_s(job.gpu)
        return recovery.detection_s, startup_s + copy_s

    def restart_s(
        self, job: JobRun, racks: int, *, detected: bool, read_bytes_per_s: float
    ) -> float:
        override = self.resolved.effective.restart_s
        if override is not None:
            return override
        key = (job.index, racks, detected, read_bytes_per_s, job.from_storage)
        found = self.restart_cache.get(key)
        if found is not None and found[0] is job.step:
            return found[1]
        anatomy = self.restart(job, racks, detected=detected, read_bytes_per_s=read_bytes_per_s)
        assert anatomy is not None  # the scenario has recovery: when it has no override
        self.restart_cache[key] = (job.step, anatomy.total_s)
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
