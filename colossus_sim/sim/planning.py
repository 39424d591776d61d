"""A job's plan and step time on a number of racks, at a fabric share, and its checkpoint
cadence: the glue between the simulation and the physics in ``perf/``, with its caches.

Re-planning keeps a job's model-parallel layout and re-plans data parallelism, searching
afresh only when that no longer fits; a step at a reduced NIC share re-times the same plan.
Both are cached by (job, racks, plan, share), so an event that changes nothing a job's step
depends on costs a dict lookup; a new size costs one planner search (tens of ms).
"""

from __future__ import annotations

from dataclasses import dataclass

from colossus_sim.config.scenario import CheckpointMode
from colossus_sim.config.workload import PlanFields
from colossus_sim.errors import ScenarioError
from colossus_sim.perf import reliability as rel
from colossus_sim.perf.plan_grid import RunSetup, job_setup
from colossus_sim.perf.planner import plan_job
from colossus_sim.perf.step_time import StepBreakdown, step_breakdown
from colossus_sim.scenario import ResolvedScenario
from colossus_sim.sim.jobs import JobRun
from colossus_sim.units import SECONDS_PER_MINUTE


@dataclass(frozen=True)
class Cadence:
    """How a running job checkpoints: it blocks ``blocking_s`` every ``interval_s``, and a
    checkpoint is durable ``durable_s`` after it starts."""

    blocking_s: float
    durable_s: float
    interval_s: float


class Planner:
    """Plans and re-times the jobs of one run (caches live as long as the run)."""

    def __init__(self, resolved: ResolvedScenario, site_gpus: int, gpus_per_rack: int) -> None:
        self.resolved = resolved
        self.site_gpus = site_gpus
        self.gpus_per_rack = gpus_per_rack
        self.plan_cache: dict[tuple[str, int, str], StepBreakdown] = {}
        self.step_cache: dict[tuple[str, int, str, float], StepBreakdown] = {}

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
        re-plan data parallelism; search afresh if that no longer fits. None if nothing does."""
        fixed = PlanFields()
        if job.step is not None:
            fixed = PlanFields(**job.step.plan.model_dump(exclude={"dp"}))
        key = (job.name, racks, fixed.model_dump_json())
        if key in self.plan_cache:
            return self.plan_cache[key]
        setup = self.setup(job, racks)
        result: StepBreakdown | None = None
        for attempt in (fixed, PlanFields()):
            try:
                result = plan_job(setup, attempt).best
                break
            except ScenarioError:
                continue
        if result is not None:
            self.plan_cache[key] = result
        return result

    def at_share(self, job: JobRun, frac: float) -> StepBreakdown:
        """``job``'s plan on its racks with its NICs at ``frac`` of full bandwidth."""
        assert job.flat_step is not None
        if frac == 1.0:
            return job.flat_step
        plan = job.flat_step.plan
        racks = job.flat_step.gpus // job.active_gpus
        key = (job.name, racks, plan.model_dump_json(), frac)
        step = self.step_cache.get(key)
        if step is None:
            step = step_breakdown(self.setup(job, racks, frac), plan)
            self.step_cache[key] = step
        return step

    def checkpoint_cadence(self, job: JobRun, racks: int) -> Cadence:
        """``job``'s checkpoint blocking, durability lag and interval on ``racks`` racks:
        its share of the site's storage bandwidth is its share of the site's GPUs, and the
        interval is Young–Daly's for its failure rate (``perf/reliability.py``)."""
        assert job.step is not None
        ckpt = self.resolved.scenario.checkpoint
        gpus = racks * self.gpus_per_rack
        share = gpus / self.site_gpus
        cost = rel.checkpoint_cost(
            params=job.params,
            bytes_per_param=ckpt.bytes_per_param,
            gpus=racks * job.active_gpus,
            storage_bytes_per_s=rel.storage_bytes_per_s(ckpt.storage_tb_per_s) * share,
            host_copy_bytes_per_s=rel.host_copy_bytes_per_s(ckpt.host_copy_gb_per_s),
            asynchronous=ckpt.mode is CheckpointMode.ASYNC,
        )
        mtbf = rel.job_mtbf_s(self.resolved.effective.failure_rate_per_gpu_hour, gpus)
        interval_s = rel.young_daly_interval_s(
            cost.blocking_s,
            mtbf,
            min_s=max(cost.durable_after_s, job.step.step_s),
            max_s=ckpt.max_interval_minutes * SECONDS_PER_MINUTE,
        )
        return Cadence(cost.blocking_s, cost.durable_after_s, interval_s)
