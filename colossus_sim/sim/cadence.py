"""How a job checkpoints, as a policy: the tier its checkpoints go to, how often (the
scenario's interval policy: fixed, Young–Daly or optimal), what each blocks and how soon it is
durable, every how many one goes on to the shared storage, which failures take a tier's copy,
and where a restart loads its state from. It reads the job and the scenario and returns a
``Cadence`` or a (bytes, bytes/s) load; the lifecycle applies them.

Tiers (``perf/checkpoint_tiers.py``, ``docs/reliability.md``): a job checkpoints to the shared
storage (each checkpoint), to its trays' local NVMe (``checkpoint_to: local_nvme``) or, in
``in_memory`` mode, to a peer's host memory; a tiered job's every k-th checkpoint goes on to the
shared storage as often as the failures that take its copy call for (Young–Daly's interval
for a write that does not block: as often as the storage allows while those failures happen,
``max_interval_minutes`` when none do). Cost: O(1) per call plus what ``served`` costs.
"""

from __future__ import annotations

from collections.abc import Callable

from colossus_sim.config.checkpoint import CheckpointMode, CheckpointTarget, IntervalPolicy
from colossus_sim.config.reliability import FailureDomain
from colossus_sim.config.scenario import RecoveryMode, SnapshotPeer
from colossus_sim.kinds import CheckpointTier
from colossus_sim.perf import checkpoint_tiers as tiers
from colossus_sim.perf import reliability as rel
from colossus_sim.perf.step_time import StepBreakdown
from colossus_sim.scenario import ResolvedScenario
from colossus_sim.sim.failures import SPARE_PART_DOMAINS
from colossus_sim.sim.jobs import Cadence, JobRun
from colossus_sim.units import SECONDS_PER_MINUTE

ALL_DOMAINS = tuple(FailureDomain)
"""Every failure domain, in a fixed order (the rates are summed in it)."""

Served = Callable[[float], float]
"""The write bandwidth the shared storage serves a job that asks for these bytes/s on average."""


def tier_of(job: JobRun) -> CheckpointTier:
    """The tier ``job``'s regular checkpoints are durable in."""
    if job.setup.recovery is RecoveryMode.IN_MEMORY:
        return CheckpointTier.HOST_MEMORY
    if job.setup.checkpoint_to is CheckpointTarget.LOCAL_NVME:
        return CheckpointTier.LOCAL_NVME
    return CheckpointTier.SHARED_STORAGE


def copy_domains(job: JobRun, snapshot_peer: SnapshotPeer | None) -> frozenset[FailureDomain]:
    """The failures that take every copy of ``job``'s last fast-tier checkpoint, so that it
    restarts from shared storage: for an ``in_memory`` job with its peer in the rack, a whole
    rack; for a ``local_nvme`` job, its tray or its rack (a GPU failure leaves the tray's host
    and drives up)."""
    tier = tier_of(job)
    if tier is CheckpointTier.HOST_MEMORY and snapshot_peer is SnapshotPeer.SAME_RACK:
        return _RACK
    if tier is CheckpointTier.LOCAL_NVME:
        return _TRAY_OR_RACK
    return _NO_DOMAIN


# copy_domains' answers, made once (a frozenset keeps its hash: they key mtbf_s's memo)
_RACK = frozenset({FailureDomain.RACK})
_TRAY_OR_RACK = frozenset({FailureDomain.TRAY, FailureDomain.RACK})
_NO_DOMAIN: frozenset[FailureDomain] = frozenset()


class CheckpointPolicy:
    """The checkpoint cadences and restart loads of one run's jobs."""

    def __init__(self, resolved: ResolvedScenario, gpus_per_rack: int) -> None:
        self.resolved = resolved
        self.gpus_per_rack = gpus_per_rack
        self.ckpt = resolved.scenario.checkpoint
        causes = {name: (c.count, c.domain) for name, c in resolved.reliability.causes.items()}
        rate = resolved.effective.failure_rate_per_gpu_hour
        self.rate_by_domain = {
            d: rel.domain_rate_per_gpu_hour(rate, causes, d) for d in FailureDomain
        }
        """Failures per GPU-hour that take out each domain."""
        nvme = self.ckpt.local_nvme
        self.nvme = (
            None
            if nvme is None
            else tiers.nvme_share(
                nvme.tb_per_tray,
                nvme.write_gb_per_s_per_tray,
                nvme.read_gb_per_s_per_tray,
                resolved.reliability.tray_gpus,
            )
        )
        """One GPU's part of its tray's drives (None: the scenario has no local NVMe tier)."""
        self._memo: dict[
            tuple[int, int], tuple[StepBreakdown | None, float, dict[float, Cadence]]
        ] = {}
        """By (job, racks): the step it was worked out for, the bytes/s the job asked of the
        storage, and its cadence by the bandwidth it was served."""
        self._mtbf_memo: dict[tuple[int, int, frozenset[FailureDomain] | None], float] = {}
        """``mtbf_s`` by (job, racks, domains): it follows from them alone."""

    def storage_bytes_per_s(self) -> float:
        """The shared checkpoint storage's bandwidth (``sim/checkpoint_storage.py`` shares it)."""
        return rel.storage_bytes_per_s(self.ckpt.storage_tb_per_s)

    def state_bytes(self, job: JobRun) -> float:
        """What ``job``'s checkpoint holds: its parameters × the scenario's bytes per one."""
        return job.params * self.ckpt.bytes_per_param

    def cadence(self, job: JobRun, racks: int, served: Served) -> Cadence:
        """``_cadence``, remembered: what a job asks of the storage follows from its step and
        racks alone, and its cadence from those and the bandwidth it is served, so a job that
        restarts again and again beside the same writers is not worked out again each time
        (``served`` is still asked, as it records the storage's peak)."""
        entry = self._memo.get((job.index, racks))
        if entry is not None and entry[0] is job.step:
            found = entry[2].get(served(entry[1]))
            if found is not None:
                return found
        asked: list[tuple[float, float]] = []

        def recording(demand: float) -> float:
            bandwidth = served(demand)
            asked.append((demand, bandwidth))
            return bandwidth

        made = self._cadence(job, racks, recording)
        demand, bandwidth = asked[0]
        if entry is None or entry[0] is not job.step:
            entry = (job.step, demand, {})
            self._memo[(job.index, racks)] = entry
        entry[2][bandwidth] = made
        return made

    def _cadence(self, job: JobRun, racks: int, served: Served) -> Cadence:
        """``job``'s checkpoint blocking, durability lag and interval on ``racks`` racks.

        To the shared storage: the job asks for its checkpoint's bytes over the interval it
        would choose if writing took the whole storage (its policy's, for its failure rate) and
        is ``served`` a write bandwidth for it (``sim/checkpoint_storage.py``); the interval is
        then at least the write (one checkpoint in flight at a time). Tiered jobs:
        ``_tiered``."""
        tier = tier_of(job)
        if tier is not CheckpointTier.SHARED_STORAGE:
            return self._tiered(job, racks, served, tier)
        pool = self.storage_bytes_per_s()
        at_pool = self._storage_cost(job, racks, pool)
        wanted_s = self._interval_s(job, racks, at_pool.blocking_s, at_pool.durable_after_s)
        demand = self.state_bytes(job) / wanted_s
        bandwidth = served(demand)
        cost = self._storage_cost(job, racks, bandwidth)
        write_s = cost.durable_after_s or cost.blocking_s  # async: in the background; sync: blocked
        interval_s = self._interval_s(job, racks, cost.blocking_s, cost.durable_after_s)
        return Cadence(
            cost.blocking_s,
            cost.durable_after_s,
            max(interval_s, cost.durable_after_s),
            storage_bytes=cost.bytes_total,
            storage_share=bandwidth / pool,
            storage_write_s=write_s,
            storage_demand_bytes_per_s=demand,
            stop_s=cost.blocking_s + cost.durable_after_s,
        )

    def _tiered(self, job: JobRun, racks: int, served: Served, tier: CheckpointTier) -> Cadence:
        """A fast tier every ``interval_s``, every k-th checkpoint on to the shared storage.

        ``in_memory`` (host memory): every ``snapshot_interval_steps`` steps each GPU copies
        its shard to host memory (blocking) and on to its peer (durable when there: over its
        NIC to another rack, or over NVLink to another tray of its rack); a fixed interval
        is its storage writes'. ``local_nvme``: each GPU writes its shard to its tray's drives
        (blocking only for the copy to host memory when asynchronous) as often as the interval
        policy says for all its failures. The storage write goes on from host memory without
        blocking, at least the write apart."""
        assert job.step is not None
        state_bytes = self.state_bytes(job)
        shard = tiers.shard_bytes(state_bytes, racks * job.active_gpus)
        to_host_s = shard / rel.host_copy_bytes_per_s(self.ckpt.host_copy_gb_per_s)
        if tier is CheckpointTier.HOST_MEMORY:
            recovery = self.resolved.scenario.recovery
            assert recovery is not None  # checked when the scenario loads
            in_rack = recovery.snapshot_peer is SnapshotPeer.SAME_RACK
            link = tiers.nvlink_bytes_per_s(job.gpu) if in_rack else tiers.nic_bytes_per_s(job.gpu)
            blocking_s, durable_s = to_host_s, shard / link
            interval_s = recovery.snapshot_interval_steps * job.step.step_s
            fixed_storage_s = self.fixed_interval_s(job)
        else:
            assert self.nvme is not None  # checked when the scenario loads
            nvme_s = shard / self.nvme.write_bytes_per_s
            synchronous = self.ckpt.mode is CheckpointMode.SYNC
            blocking_s, durable_s = (nvme_s, 0.0) if synchronous else (to_host_s, nvme_s)
            # at least the write: a fixed interval checked on more racks, or a shrink
            interval_s = max(self._interval_s(job, racks, blocking_s, durable_s), durable_s)
            fixed_storage_s = None
        mtbf_s = self.mtbf_s(job, racks, copy_domains(job, self._peer()))

        def storage_interval_s(write_s: float) -> float:
            if fixed_storage_s is not None:
                return max(fixed_storage_s, write_s)
            return self._chosen(0.0, mtbf_s, min_s=max(write_s, interval_s))

        pool = self.storage_bytes_per_s()
        demand = state_bytes / storage_interval_s(state_bytes / pool)
        bandwidth = served(demand)
        write_s = state_bytes / bandwidth
        return Cadence(
            blocking_s=blocking_s,
            durable_s=durable_s,
            interval_s=interval_s,
            storage_bytes=state_bytes,
            storage_share=bandwidth / pool,
            storage_write_s=write_s,
            storage_demand_bytes_per_s=demand,
            storage_every=tiers.storage_every(storage_interval_s(write_s), interval_s + blocking_s),
            tier=tier,
            # a checkpoint-stop goes to storage: the host memory and drives go with the racks
            stop_s=to_host_s + write_s,
        )

    def _peer(self) -> SnapshotPeer | None:
        recovery = self.resolved.scenario.recovery
        return None if recovery is None else recovery.snapshot_peer

    def fixed_interval_s(self, job: JobRun, step: StepBreakdown | None = None) -> float | None:
        """The scenario's fixed checkpoint interval for ``job`` (``interval_minutes``, or
        ``interval_steps`` of ``step``, default its step now), or None under another policy."""
        step = step or job.step
        if self.ckpt.interval_minutes is not None:
            return self.ckpt.interval_minutes * SECONDS_PER_MINUTE
        if self.ckpt.interval_steps is not None and step is not None:
            return self.ckpt.interval_steps * step.step_s
        return None

    def fixed_write_s(self, job: JobRun, racks: int) -> tuple[float, CheckpointTier]:
        """What a fixed interval must leave ``job`` time to write on ``racks`` racks, with all
        of the tier's bandwidth, and to which tier: its checkpoint to its trays' drives
        (``local_nvme``) or to the shared storage (an ``in_memory`` job's fixed interval times
        its storage writes); 0 when a synchronous write blocks training until it is done."""
        tier = tier_of(job)
        synchronous = self.ckpt.mode is CheckpointMode.SYNC
        if tier is CheckpointTier.LOCAL_NVME:
            assert self.nvme is not None
            shard = tiers.shard_bytes(self.state_bytes(job), racks * job.active_gpus)
            return (0.0 if synchronous else shard / self.nvme.write_bytes_per_s), tier
        if tier is CheckpointTier.HOST_MEMORY:
            return self.state_bytes(job) / self.storage_bytes_per_s(), CheckpointTier.SHARED_STORAGE
        return self._storage_cost(job, racks, self.storage_bytes_per_s()).durable_after_s, tier

    def _interval_s(self, job: JobRun, racks: int, blocking_s: float, durable_s: float) -> float:
        """The scenario's fixed interval, or its policy's for ``job``'s failure rate on
        ``racks`` racks and a checkpoint blocking ``blocking_s``, durable ``durable_s`` later
        (at least that and a step)."""
        assert job.step is not None
        fixed_s = self.fixed_interval_s(job)
        if fixed_s is not None:
            return fixed_s
        mtbf_s = self.mtbf_s(job, racks, None)
        return self._chosen(blocking_s, mtbf_s, min_s=max(durable_s, job.step.step_s))

    def mtbf_s(self, job: JobRun, racks: int, domains: frozenset[FailureDomain] | None) -> float:
        """Mean time between the failures of ``domains`` (None: of every domain) that
        interrupt ``job`` on ``racks`` racks: one that strikes a GPU or tray slot only on the
        job's active GPUs (on an idle hot spare's it is a repair, ``failures.interrupts``), any
        other on any of them. Remembered by job, racks and ``domains`` (a cadence asks it
        twice each time)."""
        key = (job.index, racks, domains)
        known = self._mtbf_memo.get(key)
        if known is None:
            per_rack = sum(
                self.rate_by_domain[d]
                * (job.active_gpus if d in SPARE_PART_DOMAINS else self.gpus_per_rack)
                for d in (ALL_DOMAINS if domains is None else domains)
            )
            known = self._mtbf_memo[key] = rel.job_mtbf_s(per_rack, racks)
        return known

    def _chosen(self, blocking_s: float, mtbf_s: float, *, min_s: float) -> float:
        """The interval the policy chooses (``optimal``, else Young–Daly's), up to the
        scenario's ``max_interval_minutes``."""
        choose = (
            rel.optimal_interval_s
            if self.ckpt.policy is IntervalPolicy.OPTIMAL
            else rel.young_daly_interval_s
        )
        max_s = self.ckpt.max_interval_minutes * SECONDS_PER_MINUTE
        return choose(blocking_s, mtbf_s, min_s=min_s, max_s=max_s)

    def _storage_cost(self, job: JobRun, racks: int, bytes_per_s: float) -> rel.CheckpointCost:
        return rel.checkpoint_cost(
            params=job.params,
            bytes_per_param=self.ckpt.bytes_per_param,
            gpus=racks * job.active_gpus,
            storage_bytes_per_s=bytes_per_s,
            host_copy_bytes_per_s=rel.host_copy_bytes_per_s(self.ckpt.host_copy_gb_per_s),
            asynchronous=self.ckpt.mode is CheckpointMode.ASYNC,
        )

    def load(self, job: JobRun, racks: int, read_bytes_per_s: float) -> tuple[float, float]:
        """What a restart of ``job`` on ``racks`` racks loads, and at what bytes/s: each GPU's
        shard from its peer (``in_memory``) or its tray's drives (``local_nvme``) unless a
        failure took that copy; else the whole checkpoint from the shared storage, read at
        ``read_bytes_per_s``."""
        tier = tier_of(job)
        if job.from_storage or tier is CheckpointTier.SHARED_STORAGE:
            return self.state_bytes(job), read_bytes_per_s
        shard = tiers.shard_bytes(self.state_bytes(job), racks * job.active_gpus)
        if tier is CheckpointTier.LOCAL_NVME:
            assert self.nvme is not None
            return shard, self.nvme.read_bytes_per_s
        if self._peer() is SnapshotPeer.SAME_RACK:
            return shard, tiers.nvlink_bytes_per_s(job.gpu)
        return shard, tiers.nic_bytes_per_s(job.gpu)
