"""Stragglers: trays that turn slow without failing (``failures.stragglers``).

Notes
-----
In synchronous training the slowest rank sets every step's pace, so one slow tray (a GPU
throttling on heat or power, a degraded NVLink or NIC, a host busy with something else) slows
its whole job until the job's monitoring finds it and the tray is drained (NVIDIA's
resiliency extension scores each rank's speed against the others' for this; Meta's and
ByteDance's operators report the same practice, without a published rate). A straggler starts
on a uniformly drawn rack at ``onsets_per_million_gpu_hours`` (a Poisson stream with its own
random stream, so the failures' are the same with stragglers or without); a job training on
that rack runs ``1 + slowdown`` times slower while it has at least one straggler, and each is
found ``found_after_minutes`` after it started, when the job restarts with that tray swapped
for a sound one (a planned restart: no failure to detect, no work lost; the rack keeps its
GPUs). A straggler on a rack no job trains on
is found by the site's health checks before a job takes it (not modelled further); one whose
job restarts for another reason is still there afterwards. A slowed job's draw is taken as
its usual draw. Cost: one event per onset and one per finding; O(1) each.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from colossus_sim.config.scenario import StragglerSpec
from colossus_sim.units import SECONDS_PER_HOUR, SECONDS_PER_MINUTE

STRAGGLER_STREAM = 0x5106
"""Mixed into the seed for the stragglers' own random stream."""

BATCH = 1024


class StragglerProcess:
    """When and where stragglers start, and how long each takes to find."""

    def __init__(self, spec: StragglerSpec, *, racks: int, gpus_per_rack: int, seed: int) -> None:
        self.rng = np.random.default_rng([seed, STRAGGLER_STREAM])
        self.racks = racks
        self.rate_per_s = (
            spec.onsets_per_million_gpu_hours / 1e6 * racks * gpus_per_rack / SECONDS_PER_HOUR
        )
        self.slow_factor = 1.0 + spec.slowdown
        self.found_after_s = spec.found_after_minutes * SECONDS_PER_MINUTE

    def onsets(self) -> Iterator[tuple[float, int]]:
        """(gap since the previous onset s, rack) in time order; none at a zero rate."""
        if self.rate_per_s <= 0:
            return
        while True:
            gaps = self.rng.exponential(1.0 / self.rate_per_s, BATCH)
            racks = self.rng.integers(self.racks, size=BATCH)
            for i in range(BATCH):
                yield float(gaps[i]), int(racks[i])
