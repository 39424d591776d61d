"""The failure process: one thinned cluster-wide Poisson process, and what a failure breaks.

Candidate failures arrive at the rate of a fully healthy cluster (rate per GPU-hour × GPUs);
each lands on a uniformly drawn GPU slot of a uniformly drawn rack and is dropped (thinned)
when that slot is already broken, so accepted failures follow the healthy GPUs. Its cause is
drawn in proportion to the failure model's counts, its repair time exponentially around the
cause's mean. Draws come in batches from the run's random stream (same stream, same order as
one at a time), so a failure costs O(1). A run that would need more failures than
``failure_limit`` allows for its site and horizon (``MAX_FAILURES`` per Colossus-2-sized site
and 180 days, never fewer) — or ten times as many candidates — is refused as bad input rather
than left to grind: the default scenario has ~20k failures in ~75 days.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from colossus_sim.cluster import ClusterState
from colossus_sim.config.reliability import FailureDomain
from colossus_sim.scenario import ResolvedScenario
from colossus_sim.sim.lemons import LemonCandidate, LemonTrays
from colossus_sim.units import SECONDS_PER_DAY, SECONDS_PER_HOUR

MAX_FAILURES = 100_000
"""Failures allowed a run of ``REFERENCE_GPUS`` GPUs over ``REFERENCE_DAYS`` days (about twice
the default's count at Llama 3's rate, so ``failures.rate_multiplier=2`` runs)."""
REFERENCE_GPUS = 550_000
REFERENCE_DAYS = 180.0


def failure_limit(gpus: int, horizon_days: float) -> int:
    """Failures a run may need before it is refused: ``MAX_FAILURES`` scaled with the site's
    GPUs and the horizon, never below ``MAX_FAILURES`` (a 4× site may run what 1× may)."""
    scale = max(gpus / REFERENCE_GPUS, 1.0) * max(horizon_days / REFERENCE_DAYS, 1.0)
    return int(MAX_FAILURES * scale)


BATCH = 4096


Candidate = tuple[float, int, int, int, float, int]
"""A candidate failure: (``gap_s`` after the previous one, rack, GPU slot, cause index,
repair hours, lemon tray or -1); a plain tuple, since one is made per draw."""


class Failure(NamedTuple):
    """An accepted failure: where, why, what it breaks and for how long."""

    rack: int
    cause: str
    domain: FailureDomain
    lost_gpus: int
    repair_h: float
    slot: int
    """The GPU it struck, of the rack's healthy ones (the first a job's active GPUs)."""


class FailureProcess:
    """The candidates of one run, and the decision of what an accepted one breaks."""

    def __init__(self, resolved: ResolvedScenario, rng: np.random.Generator, seed: int) -> None:
        self.resolved = resolved
        self.rng = rng
        causes = list(resolved.reliability.causes.items())
        counts = np.array([c.count for _, c in causes], dtype=np.float64)
        self.cause_names = [name for name, _ in causes]
        self.cause_p = counts / counts.sum() if counts.sum() > 0 else counts
        self.cause_domain = [c.domain for _, c in causes]
        tray = resolved.reliability.tray_gpus
        lost = {FailureDomain.GPU: 1, FailureDomain.TRAY: tray, FailureDomain.RACK: -1}
        self.cause_lost = [lost.get(c.domain, 0) for _, c in causes]
        """GPUs each cause takes out (-1: all the rack's healthy ones; 0: none)."""
        self.accepted = 0
        self.draws = 0
        site = resolved.cluster
        self.limit = failure_limit(
            site.racks * site.gpus_per_rack, resolved.effective.horizon_s / SECONDS_PER_DAY
        )
        spec = resolved.scenario.failures.lemons
        rate_per_s = (
            resolved.effective.failure_rate_per_gpu_hour
            * site.racks
            * site.gpus_per_rack
            / SECONDS_PER_HOUR
        )
        self.lemons = (
            None
            if spec is None
            else LemonTrays(
                spec,
                racks=site.racks,
                trays_per_rack=site.gpus_per_rack // tray,
                site_rate_per_s=rate_per_s,
                seed=seed,
            )
        )
        self.base_share = 1.0 - spec.failure_share if spec is not None else 1.0
        """The share of the failure rate that falls on every GPU alike (the rest on lemons)."""

    def candidates(self, cluster: ClusterState) -> Iterator[Candidate]:
        """Candidate failures in time order (the lemons' merged in); none when the rate is
        zero."""
        base = self._candidates(cluster)
        if self.lemons is None:
            return base
        hardware = [
            i
            for i, d in enumerate(self.cause_domain)
            if d in (FailureDomain.GPU, FailureDomain.TRAY)
        ]
        lemon = self.lemons.candidates(
            cluster.gpus_per_rack,
            np.asarray(hardware, dtype=np.int64),
            self.cause_p[hardware],
            np.asarray(self.resolved.effective.cause_repair_hours, dtype=np.float64),
        )
        return _merged(base, lemon, self.lemons.rack_of)

    def _candidates(self, cluster: ClusterState) -> Iterator[Candidate]:
        """The failures that strike every GPU alike, in time order."""
        gpus_total = cluster.racks * cluster.gpus_per_rack
        rate_per_gpu_hour = self.resolved.effective.failure_rate_per_gpu_hour * self.base_share
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
            # one conversion a batch (the same Python floats and ints as one at a time)
            yield from zip(
                gaps.tolist(),
                racks.tolist(),
                slots.tolist(),
                causes.tolist(),
                repairs.tolist(),
                itertools.repeat(-1, BATCH),
                strict=True,
            )

    def accept(self, candidate: Candidate, cluster: ClusterState) -> Failure | None:
        """The failure ``candidate`` is, or None when its GPU is already broken (thinning)."""
        _, rack, slot, cause, repair_h, lemon = candidate
        if lemon >= 0 and self.lemons is not None and not self.lemons.still_lemon(lemon):
            return None  # that tray was found and replaced
        healthy = int(cluster.healthy[rack])
        if slot >= healthy:
            return None
        self.accepted += 1
        lost = self.cause_lost[cause]
        name = self.cause_names[cause]
        if lemon >= 0 and self.lemons is not None:
            name += " (lemon tray, found)" if self.lemons.failed(lemon) else " (lemon tray)"
        return Failure(
            rack=rack,
            cause=name,
            domain=self.cause_domain[cause],
            lost_gpus=healthy if lost < 0 else min(lost, healthy),
            repair_h=repair_h,
            slot=slot,
        )

    def _check_bound(self) -> None:
        if self.accepted > self.limit or self.draws > 10 * self.limit:
            raise self.resolved.error_at(
                "failures.rate_multiplier",
                f"more than {self.limit:,} failures before the jobs finish or the horizon "
                f"ends: too many events to simulate ({MAX_FAILURES:,} per "
                f"{REFERENCE_GPUS:,} GPUs and {REFERENCE_DAYS:g} days)",
                got=f"{self.resolved.scenario.failures.rate_multiplier:g}",
                expected="a lower rate_multiplier or a shorter horizon_days",
            )


def _merged(
    base: Iterator[Candidate], lemons: Iterator[LemonCandidate], rack_of: np.ndarray
) -> Iterator[Candidate]:
    """The base candidates (gaps) and the lemons' (absolute times) as one stream of gaps."""
    last_s = base_s = 0.0
    b = next(base, None)
    if b is not None:
        base_s = b[0]
    lemon = next(lemons, None)
    while b is not None or lemon is not None:
        if lemon is None or (b is not None and base_s <= lemon[0]):
            assert b is not None
            yield (base_s - last_s, b[1], b[2], b[3], b[4], -1)
            last_s = base_s
            b = next(base, None)
            if b is not None:
                base_s += b[0]
        else:
            at_s, tray, slot, cause, repair_h = lemon
            yield (at_s - last_s, int(rack_of[tray]), slot, cause, repair_h, tray)
            last_s = at_s
            lemon = next(lemons, None)


SPARE_PART_DOMAINS = frozenset({FailureDomain.GPU, FailureDomain.TRAY})
"""Failures that strike one GPU slot of a rack: on an idle hot spare's slot (or a spare
tray's) they interrupt no job."""


def interrupts(failure: Failure, active_gpus: int) -> bool:
    """Does ``failure`` interrupt the job training on ``active_gpus`` of its rack? Not when it
    struck one of the rack's idle hot-spare GPUs (or a spare tray): that is a repair only.
    The rack's healthy GPUs are numbered actives first, so a slot past them is a spare's."""
    spare_part = failure.domain in SPARE_PART_DOMAINS
    return not (spare_part and failure.slot >= active_gpus)
