"""``Scenario``: jobs on the cluster, scheduler, failures, checkpoints (``scenarios/*.yaml``;
the ``checkpoint:`` section is ``config/checkpoint.py``).

A job's ``phases`` become jobs of their own as the last step of validating a ``Scenario``
(``config/phases.py`` says how and why there).
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Annotated, Self

from pydantic import Field, field_validator, model_validator

from colossus_sim.config.base import NonNegativeFloat, PositiveFloat, Sourced, StrictModel
from colossus_sim.config.checkpoint import CheckpointSpec, CheckpointTarget
from colossus_sim.config.phases import Phase, check_phase_names, expand_phases
from colossus_sim.errors import FieldValueError


class RecoveryPolicy(StrEnum):
    """What a job does when it loses a rack it cannot run without.

    ``spare_or_shrink``: take a rack from the spare pool, else drop data-parallel replicas;
    ``spare_or_wait``: take a spare, else wait for the repair; ``shrink``; ``wait``.
    """

    SPARE_OR_SHRINK = "spare_or_shrink"
    SPARE_OR_WAIT = "spare_or_wait"
    SHRINK = "shrink"
    WAIT = "wait"


class RecoveryMode(StrEnum):
    """How a job recovers from an interruption (``docs/reliability.md``).

    ``restart``: every rank restarts from the last checkpoint durable in shared storage.
    ``in_memory``: every few steps each rank copies its shard to a peer's host memory; a
    restart reloads it from there, so lost work is bounded by the snapshot interval and the
    load does not touch shared storage.
    ``hot_spare``: a failed GPU's place is taken by a healthy spare GPU in its rack, so the
    restart skips rescheduling (otherwise as ``restart``).
    ``drop_replica``: the data-parallel replica holding the failed GPU leaves and the others
    go on after a pause to notice it (no global restart, only the step in flight lost); the
    replica rejoins once the rack's spare GPU has started and copied the state from a peer.
    A failure that takes the rack (no healthy spare left) restarts the job as ``restart``.
    """

    RESTART = "restart"
    IN_MEMORY = "in_memory"
    HOT_SPARE = "hot_spare"
    DROP_REPLICA = "drop_replica"


class PlacementPolicy(StrEnum):
    """How racks are chosen: ``pack`` fills pods in order, ``spread`` deals racks across pods,
    ``priority`` packs and lets a higher-priority job take racks from a lower one on shortage,
    ``topology-aware`` puts each job into the pods it fills best, biggest job first."""

    PACK = "pack"
    SPREAD = "spread"
    PRIORITY = "priority"
    TOPOLOGY_AWARE = "topology-aware"


class ScenarioJob(StrictModel):
    """One job in a scenario: which workload, on how many racks of which GPU type, when it
    joins the queue, how much work it is, and the phases that follow it."""

    workload: str | None = None
    racks: Annotated[int, Field(ge=1)]
    gpu: str | None = None
    priority: int = 0
    on_rack_loss: RecoveryPolicy = RecoveryPolicy.SPARE_OR_SHRINK
    max_racks: Annotated[int, Field(ge=1)] | None = None
    """Racks the job may grow to when others free theirs (default: no growth)."""
    min_racks: Annotated[int, Field(ge=1)] | None = None
    """The fewest racks ``malleable`` admission starts it on (default: any number its model
    runs on); ``gang`` admission starts it on ``racks``."""
    recovery: RecoveryMode = RecoveryMode.RESTART
    checkpoint_to: CheckpointTarget = CheckpointTarget.SHARED_STORAGE
    """The tier its regular checkpoints go to (``local_nvme`` needs ``checkpoint.local_nvme``
    and a mode that checkpoints to storage, not ``in_memory``)."""
    submit_days: NonNegativeFloat = 0.0
    """When the job joins the queue, in days from the start of the run."""
    after: dict[str, NonNegativeFloat] = Field(default_factory=dict)
    """Jobs it waits for: it joins the queue once each has finished, plus that entry's lag in
    days (and not before ``submit_days``). A list of names means no lag."""
    days: PositiveFloat | None = None
    """Fixed-length work, for what the step model does not time (RL rollouts, evaluation, a
    trace's jobs): as much work as ``days`` of running on ``racks`` with nothing failing. The
    workload still sets the model (checkpoint size, restart, power). Default: the workload's
    token budget."""
    tokens: PositiveFloat | None = None
    """A token budget of its own (e.g. an SFT phase on the pretrained model's workload),
    instead of the workload's."""
    phases: dict[str, Phase] = Field(default_factory=dict)
    """Work that follows the job's own, in order (post-training after pretraining): phase
    ``sft`` runs as the job ``<name>/sft`` (``config/phases.py``)."""

    @field_validator("phases")
    @classmethod
    def _phase_names(cls, value: dict[str, Phase]) -> dict[str, Phase]:
        return check_phase_names(value)

    @field_validator("after", mode="before")
    @classmethod
    def _names_mean_no_lag(cls, value: object) -> object:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return dict.fromkeys(value, 0.0)
        return value

    @model_validator(mode="after")
    def _one_kind_of_work(self) -> Self:
        if self.days is not None and self.tokens is not None:
            raise ValueError("give days (fixed-length work) or tokens, not both")
        return self


class Admission(StrEnum):
    """How much of what it asked for a queued job needs to start: ``gang`` all its racks;
    ``malleable`` at least its ``min_racks``, growing toward ``racks`` as racks free up (each
    resize a restart from a checkpoint)."""

    GANG = "gang"
    MALLEABLE = "malleable"


class QueueOrder(StrEnum):
    """The order queued jobs are considered in: ``priority`` (highest first, then submit time)
    or ``fifo`` (submit time)."""

    PRIORITY = "priority"
    FIFO = "fifo"


class Backfill(StrEnum):
    """Whether a job behind the queue's head may start first. ``none``: never (strict order).
    ``easy``: the head gets a reservation at the earliest time enough racks free up (from the
    running jobs' projected finishes); a later job may start if it does not delay it.
    ``conservative``: every queued job gets a reservation, in order; a job starts now only if
    its own reservation is now."""

    NONE = "none"
    EASY = "easy"
    CONSERVATIVE = "conservative"


class Preemption(StrEnum):
    """Whether a queued job may take racks from running ones: ``none``, or ``priority`` (a
    higher-priority queued job shrinks lower-priority malleable jobs, then checkpoint-stops
    and requeues lower-priority jobs, until it can start)."""

    NONE = "none"
    PRIORITY = "priority"


class SchedulerSpec(StrictModel):
    """Placement (``policy``), admission, the queue's order, backfill and preemption, and spare
    racks."""

    policy: PlacementPolicy = PlacementPolicy.PACK
    admission: Admission = Admission.GANG
    queue: QueueOrder = QueueOrder.PRIORITY
    backfill: Backfill = Backfill.EASY
    preemption: Preemption = Preemption.NONE
    spare_racks: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    """Healthy racks held back per GPU type to replace failed ones."""


class LemonSpec(StrictModel):
    """Lemon trays: a few compute trays that fail far more often than the rest until they are
    found and replaced (``sim/lemons.py``). ``tray_fraction``: the share of the site's trays
    that are lemons; ``failure_share``: the share of all failures they cause while none is
    found (the failure model's rate is the total: the other trays share the rest);
    ``found_after_failures``: the failures of one tray after which it is found and replaced
    by a sound one at its next repair (0: never found)."""

    tray_fraction: Annotated[float, Field(gt=0, le=0.5, allow_inf_nan=False)]
    failure_share: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)]
    found_after_failures: Annotated[int, Field(ge=0, le=1000)] = 0


class StragglerSpec(StrictModel):
    """Trays that turn slow without failing (``sim/stragglers.py``): they start at
    ``onsets_per_million_gpu_hours``, slow the job training on them to ``1 + slowdown`` times
    its step, and are each found and drained ``found_after_minutes`` after they start."""

    onsets_per_million_gpu_hours: Annotated[float, Field(ge=0, le=1e5, allow_inf_nan=False)]
    slowdown: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)]
    found_after_minutes: Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)]


class FailureSpec(StrictModel):
    enabled: bool = True
    model: str = "reliability"
    rate_multiplier: Annotated[float, Field(ge=0, le=10_000, allow_inf_nan=False)] = 1.0
    """At most 10,000× Llama 3's rate (the engine also refuses a run
    with more than 100k failures)."""
    repair_multiplier: Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)] = 1.0
    lemons: LemonSpec | None = None
    """Lemon trays (none unless set): some failures concentrate on a few trays."""
    stragglers: StragglerSpec | None = None
    """Slow trays (none unless set): each slows its job until it is found and drained; off,
    like the failures, with ``enabled: false`` (``rate_multiplier: 0`` keeps them alone)."""


class SnapshotPeer(StrEnum):
    """Where an ``in_memory`` job's GPU keeps the copy of its snapshot: ``other_rack`` (over
    its NIC: slower, and no single failure takes both copies) or ``same_rack`` (over NVLink to
    another tray of its rack: faster, but a failure that takes the whole rack takes both, and
    the job falls back to its last checkpoint in shared storage)."""

    OTHER_RACK = "other_rack"
    SAME_RACK = "same_rack"


class RecoverySpec(StrictModel):
    """What a restart is made of (``perf.reliability.restart_anatomy``): noticing the failure,
    getting healthy hardware, starting the processes, building the communicators (a cost per
    thousand GPUs), loading the state (from the tier the job recovers from; its bandwidth is
    the checkpoint's) and a few slower first steps. ``snapshot_interval_steps``: how often an
    ``in_memory`` job copies its state to a peer's host memory; ``snapshot_peer``: where that
    peer is (``SnapshotPeer``)."""

    detection_s: NonNegativeFloat
    reschedule_s: NonNegativeFloat
    process_start_s: NonNegativeFloat
    comm_init_s_per_1k_gpus: NonNegativeFloat
    warmup_steps: NonNegativeFloat
    snapshot_interval_steps: Annotated[int, Field(ge=1, le=1_000_000)]
    snapshot_peer: SnapshotPeer = SnapshotPeer.OTHER_RACK


class PowerPolicy(StrEnum):
    """How the power controller meets a facility cap: ``uniform`` lowers every running job's
    clock alike; ``priority`` lowers the lowest-priority jobs' clocks first."""

    UNIFORM = "uniform"
    PRIORITY = "priority"


class SmoothingSpec(StrictModel):
    """GPU power smoothing (what-if; the shape of Blackwell's NVML power-smoothing profile):
    while a job trains its GPUs burn power up to ``floor_frac_of_tdp`` of their TDP in any
    phase that draws less, and every change of a job's draw ramps at most
    ``ramp_limit_w_per_s`` per GPU, up or down. Defaults: no floor, no limit."""

    floor_frac_of_tdp: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.0
    ramp_limit_w_per_s: PositiveFloat | None = None


class StorageSpec(StrictModel):
    """On-site energy storage between the site and the grid (what-if): it takes up to
    ``power_mw`` of each step of the facility draw and hands it to the grid at
    ``grid_ramp_mw_per_s`` (default 1 MW/s, i.e. 60 MW a minute: an assumption for a few gas
    turbines following together; generation needs 1-90 minutes to follow a ramp, NVIDIA), while
    its state of charge stays within ``[0, energy_mwh]``. ``round_trip_efficiency`` (default
    0.85, an assumption for utility lithium-ion) prices what charging loses; ``initial_soc_frac``
    (default one half) is its charge at the start."""

    power_mw: PositiveFloat
    energy_mwh: PositiveFloat
    grid_ramp_mw_per_s: PositiveFloat = 1.0
    round_trip_efficiency: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 0.85
    initial_soc_frac: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.5
    recharge_mw: NonNegativeFloat = 0.0
    """How fast it moves its charge back toward ``initial_soc_frac`` between steps, drawing
    from (or giving to) the grid (0: it does not, and a full or empty store absorbs less); at
    most ``power_mw``, its converters' rating."""

    @model_validator(mode="after")
    def _recharge_within_rating(self) -> Self:
        if self.recharge_mw > self.power_mw:
            raise FieldValueError(
                "recharge_mw", f"above the storage's {self.power_mw:g} MW rating (power_mw)"
            )
        return self


class PowerSpec(StrictModel):
    """The scenario's facility cap (default: the topology's) and how it is met, and the grid
    mitigations (``docs/power.md``): GPU power smoothing, on-site storage, and restarts whose
    power rise is staggered over ``restart_stagger_s`` before training resumes."""

    facility_cap_mw: PositiveFloat | None = None
    policy: PowerPolicy = PowerPolicy.UNIFORM
    smoothing: SmoothingSpec | None = None
    storage: StorageSpec | None = None
    restart_stagger_s: NonNegativeFloat = 0.0


class FabricScenarioSpec(StrictModel):
    """The scenario's view of the scale-out fabric: on or off (every job at its NIC's full
    bandwidth), the topology's oversubscription overridden, and whether a ``switch``-domain
    failure (``topologies/reliability.yaml``) also takes the switch's capacity out until it is
    repaired (``faults``) or only interrupts the job behind it."""

    enabled: bool = True
    leaf_oversubscription: Annotated[float, Field(ge=1, le=64, allow_inf_nan=False)] | None = None
    core_oversubscription: Annotated[float, Field(ge=1, le=64, allow_inf_nan=False)] | None = None
    faults: bool = True


class TraceSpec(StrictModel):
    """Background work from a job trace (``traces.py``): a Standard Workload Format (``.swf``)
    or CSV file whose jobs join the scenario as rigid fixed-length jobs of one workload and
    GPU type. ``file``: relative to the scenario's folder, or a name in ``workloads/traces/``.
    Sizes map to racks as ``⌈processors × gpus_per_processor ÷ active GPUs per rack⌉``."""

    file: str
    workload: str
    """The model the trace's jobs run (it sets their checkpoints, restarts and power)."""
    gpu: str | None = None
    gpus_per_processor: PositiveFloat = 1.0
    time_scale: PositiveFloat = 1.0
    """Multiplies submit and run times (e.g. to stretch a trace from a smaller machine)."""
    start_days: NonNegativeFloat = 0.0
    """The trace's time zero, in days from the start of the run."""
    max_jobs: Annotated[int, Field(ge=1)] | None = None
    priority: int = 0
    prefix: str = "trace-"
    """Names its jobs ``<prefix><job number>``."""


class Expectation(StrictModel):
    """An expected figure of a run (``expect:``): it holds when
    ``|got − value| ≤ max(rel_tol·|value|, abs_tol)``. A regression baseline, not a claim about
    the world, so it needs no provenance; ``colossus-sim check --update`` rewrites ``value``."""

    value: Annotated[float, Field(allow_inf_nan=False)]
    rel_tol: NonNegativeFloat | None = None
    abs_tol: NonNegativeFloat | None = None

    @model_validator(mode="after")
    def _has_tolerance(self) -> Self:
        if self.rel_tol is None and self.abs_tol is None:
            raise ValueError("give rel_tol, abs_tol or both")
        return self

    def holds(self, got: float | None) -> bool:
        if got is None or not math.isfinite(got):
            return False
        allowed = max((self.rel_tol or 0.0) * abs(self.value), self.abs_tol or 0.0)
        return abs(got - self.value) <= allowed


class Scenario(Sourced):
    """A what-if: the cluster, the jobs and their racks, the policies, failures, seed, horizon."""

    name: str
    title: str
    extends: str | None = None
    """A parent scenario this file's keys deep-merge over (merged by the loader, ``extends.py``)."""
    expect: dict[str, Expectation] = Field(default_factory=dict)
    """Figure path (``jobs.grok5_10t.goodput``) → expected value; this file's own, not inherited."""
    cluster: str = "colossus2"
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    horizon_days: PositiveFloat
    jobs: dict[str, ScenarioJob]
    """The jobs as written, then (once validated) each one's phases as jobs named
    ``<job>/<phase>`` (``config/phases.py``)."""
    trace: TraceSpec | None = None
    """Background jobs read from a job trace, after the scenario's own."""
    scheduler: SchedulerSpec = SchedulerSpec()
    failures: FailureSpec = FailureSpec()
    checkpoint: CheckpointSpec
    recovery: RecoverySpec | None = None
    """Required unless ``checkpoint.restart_minutes`` times every restart."""
    power: PowerSpec = PowerSpec()
    fabric: FabricScenarioSpec = FabricScenarioSpec()

    @model_validator(mode="after")
    def _phases_become_jobs(self) -> Self:
        """Each job's phases join ``jobs`` as jobs of their own (``config/phases.py``). This
        runs after ``Sourced``'s provenance check (a base class's validators run first), so
        provenance is checked on the file as written; ``jobs`` is set once, here, while the
        frozen model is still being validated."""
        expanded = expand_phases(self.jobs)
        if len(expanded) != len(self.jobs):
            object.__setattr__(self, "jobs", expanded)
        return self
