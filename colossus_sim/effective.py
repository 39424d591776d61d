"""The effective what-if values of a run, resolved once with its scenario.

A scenario states some values directly and others relative to its files: the facility cap
falls back to the cluster's, the failure rate is the failure model's times a multiplier (or
zero with failures off), repair times scale, and an idle rack's draw follows from its GPU type.
``effective_values`` works each out once, when the scenario is loaded, so the simulation reads
one number per question and no lower module resolves a what-if by itself. Cost: one GPU spec
load per rack type (cached), O(causes).
"""

from __future__ import annotations

from dataclasses import dataclass

from colossus_sim.config.cluster import ClusterSpec
from colossus_sim.config.hardware import GpuSpec
from colossus_sim.config.load import load_gpu
from colossus_sim.config.reliability import ReliabilitySpec
from colossus_sim.config.scenario import Scenario
from colossus_sim.units import SECONDS_PER_DAY, SECONDS_PER_MINUTE


@dataclass(frozen=True)
class EffectiveValues:
    """What a run uses, after the scenario's what-ifs are applied to the files it names."""

    horizon_s: float
    restart_s: float | None
    """``checkpoint.restart_minutes`` in seconds: every restart of every job, when set (else
    each restart is timed part by part, ``perf.reliability.restart_anatomy``)."""
    failure_rate_per_gpu_hour: float
    """The failure model's rate × ``failures.rate_multiplier``; 0 with failures off."""
    cause_repair_hours: tuple[float, ...]
    """Mean repair hours of each cause (the model's order) × ``failures.repair_multiplier``."""
    facility_cap_mw: float
    cap_from_scenario: bool
    """True when the scenario sets the cap, False when it is the cluster's own."""
    rack_gpus: dict[str, GpuSpec]
    """Each rack type's GPU, in the cluster's rack-mix order."""
    rack_idle_w: dict[str, float]
    """IT watts of one rack of each type no job trains on: GPUs at idle, their hosts at their
    idle share (``host_idle_frac``) and the fabric."""
    floor_w: dict[str, float]
    """The power-smoothing floor of a training GPU of each rack type (0 without smoothing)."""


def effective_values(
    scenario: Scenario, cluster: ClusterSpec, reliability: ReliabilitySpec
) -> EffectiveValues:
    failures = scenario.failures
    rate = reliability.rate_per_gpu_hour * failures.rate_multiplier if failures.enabled else 0.0
    rack_gpus = {name: load_gpu(name) for name in cluster.rack_mix}
    network_w = cluster.power.network_w_per_gpu
    smoothing = scenario.power.smoothing
    return EffectiveValues(
        horizon_s=scenario.horizon_days * SECONDS_PER_DAY,
        restart_s=(
            None
            if scenario.checkpoint.restart_minutes is None
            else scenario.checkpoint.restart_minutes * SECONDS_PER_MINUTE
        ),
        failure_rate_per_gpu_hour=rate,
        cause_repair_hours=tuple(
            c.repair_hours * failures.repair_multiplier for c in reliability.causes.values()
        ),
        facility_cap_mw=scenario.power.facility_cap_mw or cluster.power.facility_cap_mw,
        cap_from_scenario=scenario.power.facility_cap_mw is not None,
        rack_gpus=rack_gpus,
        rack_idle_w={
            name: cluster.gpus_per_rack * (g.power.idle_w + g.power.host_idle_w_per_gpu + network_w)
            for name, g in rack_gpus.items()
        },
        floor_w={
            name: g.tdp_w * (smoothing.floor_frac_of_tdp if smoothing else 0.0)
            for name, g in rack_gpus.items()
        },
    )
