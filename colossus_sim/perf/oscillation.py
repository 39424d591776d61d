"""The site's in-step oscillation: each job's compute/communication pulse train and how the
jobs' trains add up, as components of frequency and amplitude.

Notes
-----
Within a step a job's GPUs compute (high draw ``P_hi``) for ``d·T`` and wait on communication
or a pipeline bubble (``P_lo``) for the rest of its step period ``T``; all its GPUs move
together, so the job's IT draw is a pulse train of height ``A = GPUs·(P_hi − P_lo)`` and duty
``d``. Its Fourier series has a component at each harmonic ``n/T`` of complex amplitude

    c_n = A·(1 − e^{−2πi·n·d}) / (πi·n),     |c_n| = (2A/(πn))·|sin(πnd)|

(the peak amplitude of that sinusoid). The exposed waits are taken as one block per step
(the data-parallel sync and the bubble gather at the step's ends; per-layer waits of
milliseconds lie above the grid's band and average out), which puts the most power in the
fundamental — a bound, not a measured waveform.

Jobs at one frequency add by how their phases relate: trains that started together with the
same period (a *lock-step* group: the same resume instant) add coherently, ``|Σ c_n|``;
independent groups have random relative phase, so their sum's expected power is the sum of
their powers, ``√(Σ |group|²)`` (the quadrature sum). Different frequencies stay separate
components. PUE is not applied: cooling does not follow a sub-second swing. Cost:
O(trains × harmonics).

References
----------
Choukse et al., arXiv 2508.14318 (compute vs communication phases; the swing's frequency
content against grid limits in the 0.1-20 Hz band).
"""

from __future__ import annotations

import cmath
import math
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

HARMONICS = 5
"""Harmonics of each job's step frequency kept (a 1-s step's 5th is at 5 Hz)."""
FREQUENCY_DIGITS = 9
"""Frequencies equal to this many decimals (Hz) are one component."""


@dataclass(frozen=True)
class PulseTrain:
    """One job's in-step draw: its period, the share of it at the high draw, the swing between
    its phases (W, all its GPUs) and its lock-step group (trains of one group are in phase)."""

    name: str
    period_s: float
    high_frac: float
    swing_w: float
    group: Hashable


@dataclass(frozen=True)
class Component:
    """A sinusoid of the site's draw: frequency, peak amplitude (W), the jobs in it."""

    frequency_hz: float
    amplitude_w: float
    jobs: tuple[str, ...]


def harmonic(train: PulseTrain, n: int) -> complex:
    """The complex amplitude of harmonic ``n`` of ``train`` (its modulus is the peak
    amplitude; trains with the same start share the phase reference)."""
    angle = 2 * math.pi * n * train.high_frac
    return complex(train.swing_w * (1 - cmath.exp(-1j * angle)) / (1j * math.pi * n))


def components(trains: Sequence[PulseTrain], harmonics: int = HARMONICS) -> list[Component]:
    """The site's oscillation components, strongest first: coherent within a lock-step group,
    the quadrature sum across groups, per frequency."""
    by_frequency: dict[float, dict[Hashable, complex]] = defaultdict(dict)
    names: dict[float, list[str]] = defaultdict(list)
    for train in trains:
        if train.swing_w <= 0 or train.period_s <= 0 or not 0 < train.high_frac < 1:
            continue  # no swing, or no low phase to swing to
        for n in range(1, harmonics + 1):
            f = round(n / train.period_s, FREQUENCY_DIGITS)
            groups = by_frequency[f]
            groups[train.group] = groups.get(train.group, 0j) + harmonic(train, n)
            names[f].append(train.name)
    found = [
        Component(
            frequency_hz=f,
            amplitude_w=math.sqrt(sum(abs(c) ** 2 for c in groups.values())),
            jobs=tuple(sorted(set(names[f]))),
        )
        for f, groups in by_frequency.items()
    ]
    return sorted(found, key=lambda c: (-c.amplitude_w, c.frequency_hz))
