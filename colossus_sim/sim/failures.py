"""The failure process: one thinned cluster-wide Poisson process, and what a failure breaks.

Candidate failures arrive at the rate of a fully healthy cluster (rate per GPU-hour × GPUs);
each lands on a uniformly drawn GPU slot of a uniformly drawn rack and is dropped (thinned)
when that slot is already broken, so accepted failures follow the healthy GPUs. Its cause is
drawn in proportion to the failure model's counts, its repair time exponentially around the
cause's mean. Draws come in batches from the run's random stream (same stream, same order as
one at a time), so a failure costs O(1). A run that would need more than ``MAX_FAILURES``
failures (or ``MAX_FAILURE_DRAWS`` candidates) is refused as bad input rather than left to
grind: the default scenario has ~10k failures in ~60 days.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from colossus_sim.cluster import ClusterState
from colossus_sim.config.reliability import FailureDomain
from colossus_sim.scenario import ResolvedScenario
from colossus_sim.units import SECONDS_PER_HOUR

MAX_FAILURES = 100_000
MAX_FAILURE_DRAWS = 1_000_000
BATCH = 4096


@dataclass(frozen=True)
class Candidate:
    """A candidate failure ``gap_s`` after the previous one."""

    gap_s: float
    rack: int
    slot: int
    cause: int
    repair_h: float


@dataclass(frozen=True)
class Failure:
    """An accepted failure: where, why, what it breaks and for how long."""

    rack: int
    cause: str
    domain: FailureDomain
    lost_gpus: int
    repair_h: float


class FailureProcess:
    """The candidates of one run, and the decision of what an accepted one breaks."""

    def __init__(self, resolved: ResolvedScenario, rng: np.random.Generator) -> None:
        self.resolved = resolved
        self.rng = rng
        causes = list(resolved.reliability.causes.items())
        counts = np.array([c.count for _, c in causes], dtype=np.float64)
        self.cause_names = [name for name, _ in causes]
        self.cause_p = counts / counts.sum() if counts.sum() > 0 else counts
        self.cause_domain = [c.domain for _, c in causes]
        self.tray_gpus = resolved.reliability.tray_gpus
        self.accepted = 0
        self.draws = 0

    def candidates(self, cluster: ClusterState) -> Iterator[Candidate]:
        """Candidate failures in time order; none when the rate is zero."""
        gpus_total = cluster.racks * cluster.gpus_per_rack
        rate_per_gpu_hour = self.resolved.effective.failure_rate_per_gpu_hour
        rate_per_s = rate_per_gpu_hour * gpus_total / SECONDS_PER_HOUR
        if rate_per_s <= 0:
            return
        cumulative = np.cumsum(self.cause_p)
        mean_repair_h = np.asarray(self.resolved.effective.cause_repair_hours, dtype=np.float64)
        while True:
            gaps = self.rng.exponential(1.0 / rate_per_s, BATCH)
            racks = self.rng.integers(cluster.racks, size=BATCH)
            slots = self.rng.integers(cluster.gpus_per_rack, size=BATCH)
            causes = np.minimum(
                np.searchsorted(cumulative, self.rng.random(BATCH), side="right"),
                len(cumulative) - 1,
            )
            repairs = self.rng.exponential(1.0, BATCH) * mean_repair_h[causes]
            self.draws += BATCH
            self._check_bound()
            for i in range(BATCH):
                yield Candidate(
                    float(gaps[i]), int(racks[i]), int(slots[i]), int(causes[i]), float(repairs[i])
                )

    def accept(self, candidate: Candidate, cluster: ClusterState) -> Failure | None:
        """The failure ``candidate`` is, or None when its GPU is already broken (thinning)."""
        healthy = int(cluster.healthy[candidate.rack])
        if candidate.slot >= healthy:
            return None
        self.accepted += 1
        domain = self.cause_domain[candidate.cause]
        lost = {
            FailureDomain.GPU: 1,
            FailureDomain.TRAY: self.tray_gpus,
            FailureDomain.RACK: healthy,
            FailureDomain.SWITCH: 0,
            FailureDomain.SOFTWARE: 0,
        }[domain]
        return Failure(
            rack=candidate.rack,
            cause=self.cause_names[candidate.cause],
            domain=domain,
            lost_gpus=min(lost, healthy),
            repair_h=candidate.repair_h,
        )

    def _check_bound(self) -> None:
        if self.accepted > MAX_FAILURES or self.draws > MAX_FAILURE_DRAWS:
            raise self.resolved.error_at(
                "failures.rate_multiplier",
                f"more than {MAX_FAILURES:,} failures before the jobs finish or the horizon "
                "ends: too many events to simulate",
                got=f"{self.resolved.scenario.failures.rate_multiplier:g}",
                expected="a lower rate_multiplier or a shorter horizon_days",
            )
