"""Lemon trays: the few compute trays that fail far more often than the rest, until they are
found and replaced (``failures.lemons``).

Notes
-----
Meta found 40 "lemon" nodes on RSC-1 (about 2% of its 2,000 eight-GPU nodes) and removing them
cut the failure rate of large jobs from 14% to 4% (Kokolis et al., HPCA 2025,
``docs/sources.md#kokolis-rsc-reliability``): a small share of the hardware causes most of the
interruptions. The model keeps the failure model's rate as the site's total while no lemon is
found: a share ``s`` of it falls on ``L`` lemon trays (chosen at random, one random stream of
their own), the rest ``1 − s`` on every GPU alike (``failures.py``). The lemon failures are a
second Poisson stream of rate ``s·λ·N`` that lands on a uniformly drawn lemon tray, with a
hardware cause (a GPU or tray domain, in the model's proportions); a candidate on a tray
already found is dropped (thinning, in the stream itself, so it costs no event), so the lemon
rate falls as trays are found. A lemon is
found at its ``found_after_failures``-th failure and its repair replaces it by a sound tray.
Slots within a rack are not located (``failures.py``): a lemon failure strikes a uniformly
drawn GPU slot of its rack, as any other. Cost: O(1) per candidate; draws in batches.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from colossus_sim.config.scenario import LemonSpec

BATCH = 1024

LEMON_STREAM = 0x1E30
"""Mixed into the seed for the lemons' own random stream (the base failures' stream is the
same with lemons or without)."""

LemonCandidate = tuple[float, int, int, int, float]
"""A lemon candidate: (absolute time s, lemon tray, GPU slot, cause index, repair hours)."""


class LemonTrays:
    """The lemon trays of one run: where each is, its failures so far, whether it was found."""

    def __init__(
        self,
        spec: LemonSpec,
        *,
        racks: int,
        trays_per_rack: int,
        site_rate_per_s: float,
        seed: int,
    ) -> None:
        self.rng = np.random.default_rng([seed, LEMON_STREAM])
        self.count = max(1, round(spec.tray_fraction * racks * trays_per_rack))
        self.rack_of = self.rng.integers(racks, size=self.count)
        """The rack of each lemon tray (trays are alike, so racks are drawn uniformly)."""
        self.failures = np.zeros(self.count, dtype=np.int64)
        self.found = np.zeros(self.count, dtype=bool)
        self.found_after = spec.found_after_failures
        self.rate_per_s = spec.failure_share * site_rate_per_s
        self.accepted = 0

    @property
    def found_count(self) -> int:
        return int(self.found.sum())

    def candidates(
        self, gpus_per_rack: int, causes: np.ndarray, cause_p: np.ndarray, repair_h: np.ndarray
    ) -> Iterator[LemonCandidate]:
        """The lemon stream in time order: each candidate's tray, slot, cause (one of
        ``causes`` drawn with ``cause_p``) and repair hours (exponential about the cause's
        mean ``repair_h``)."""
        if self.rate_per_s <= 0 or len(causes) == 0:
            return
        cumulative = np.cumsum(cause_p / cause_p.sum())
        now_s = 0.0
        while True:
            gaps = self.rng.exponential(1.0 / self.rate_per_s, BATCH)
            trays = self.rng.integers(self.count, size=BATCH)
            slots = self.rng.integers(gpus_per_rack, size=BATCH)
            picks = np.minimum(
                np.searchsorted(cumulative, self.rng.random(BATCH), side="right"),
                len(cumulative) - 1,
            )
            chosen = causes[picks]
            repairs = self.rng.exponential(1.0, BATCH) * repair_h[chosen]
            times = now_s + np.cumsum(gaps)
            now_s = float(times[-1])
            if self.found.all():
                return  # every lemon was found: the stream is spent
            for i in range(BATCH):
                if self.found[trays[i]]:
                    continue  # thinned here, not as an event: that tray was replaced
                yield (
                    float(times[i]),
                    int(trays[i]),
                    int(slots[i]),
                    int(chosen[i]),
                    float(repairs[i]),
                )

    def still_lemon(self, tray: int) -> bool:
        """Is ``tray`` not yet found (a candidate on a found tray is dropped)?"""
        return not bool(self.found[tray])

    def failed(self, tray: int) -> bool:
        """``tray`` failed (an accepted failure): count it; True when this failure finds it
        (its repair replaces it by a sound tray)."""
        self.accepted += 1
        self.failures[tray] += 1
        if self.found_after and self.failures[tray] >= self.found_after:
            self.found[tray] = True
            return True
        return False
