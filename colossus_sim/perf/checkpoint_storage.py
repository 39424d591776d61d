"""The site's shared checkpoint storage as one pool of bandwidth: who gets how much of it.

Notes
-----
Every running job that checkpoints to shared storage asks for ``d = B / τ*`` bytes per second
on average (its checkpoint's bytes over the interval it would choose if writing were free:
Young–Daly's, or the scenario's fixed one). A job restarting from storage asks for all it can
get while it reads. The pool's ``C`` bytes/s is shared by **weighted max-min fairness**, the
weight of a job being its GPUs: storage servers serve client streams alike, and a job writes
(or reads) one shard stream per GPU, so among jobs that all want more than the pool holds each
gets ``C · G_j / ΣG``, and a job asking for less than that gets what it asks and leaves the
rest to the others (water-filling: Bertsekas & Gallager, *Data Networks*, §6.5.2).

A job whose demand exceeds its share writes without pause: its checkpoint takes ``B / share``
and its next one starts when that one is durable. A job whose demand fits writes in bursts.
During a burst the jobs that never rest are there and take their weighted part of what is
left; the other bursty jobs are there on average: the burst is served at
``(C − Σ_bursty others' shares) · w_j / (w_j + Σ_never-resting w)``. With no job that never
rests this is the mean field of processor sharing, in which a request of size ``x`` meets the
others' load ``ρ`` and takes ``x / (C·(1 − ρ))`` (Kleinrock, *Queueing Systems* vol. 2,
§4.4).

Cost: O(n log n) in the jobs sharing the pool (O(n²) additions, in C, when some demands fit
and others do not).
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def fair_shares(capacity: float, weights: Sequence[float], demands: Sequence[float]) -> list[float]:
    """Weighted max-min fair shares of ``capacity`` for jobs with these ``weights`` (> 0) and
    ``demands`` (≥ 0, ``math.inf`` for "all it can get"): no job gets more than it asks, and
    every job that gets less has the largest share per weight of any. The shares depend on
    the jobs, not on their order: what is left and the weight still to serve are exact sums
    (``math.fsum``) of the satisfied demands and the others' weights, so one division serves
    every job of the same set (``sim/checkpoint_storage.py``)."""
    weight_total = math.fsum(weights)
    if weight_total <= 0:
        return [0.0] * len(weights)
    per_weight = capacity / weight_total
    if all(d >= per_weight * w for w, d in zip(weights, demands, strict=True)):
        return [per_weight * w for w in weights]  # all want more than their part: the common case
    shares = [0.0] * len(weights)
    # Jobs in order of demand per weight: each, in turn, is either satisfied or bounded.
    order = sorted(range(len(weights)), key=lambda i: demands[i] / weights[i])
    sorted_w = [weights[i] for i in order]
    sorted_d = [demands[i] for i in order]
    for rank, i in enumerate(order):
        weight_left = math.fsum(sorted_w[rank:])  # exact sums of slices: set, not order
        left = capacity - math.fsum(sorted_d[:rank])
        per_weight = left / weight_left if weight_left > 0 else 0.0
        if demands[i] <= per_weight * weights[i]:
            shares[i] = demands[i]
            continue
        for j in order[rank:]:  # the rest all want more than the level: they share it
            shares[j] = per_weight * weights[j]
        break
    return shares


def burst_bytes_per_s(
    capacity: float,
    weights: Sequence[float],
    demands: Sequence[float],
    shares: Sequence[float],
    job: int,
) -> float:
    """What a write of job ``job`` is served at while it lasts, given everyone's fair
    ``shares``: the jobs that never rest (demand above share) are always there and take their
    weighted part; the others are there on average (processor sharing's mean field), so the
    job gets ``(C − Σ_{others resting} share) · w_j / (w_j + Σ_{others never resting} w)``.
    For a job that never rests this is its share. Exact sums: the answer does not depend on
    the others' order."""
    never_resting_w, busy_others = [], []
    for i, (share, demand) in enumerate(zip(shares, demands, strict=True)):
        if i == job:
            continue
        if never_rests(share, demand):
            never_resting_w.append(weights[i])  # always claims its weighted part
        else:
            busy_others.append(share)
    left = capacity - math.fsum(busy_others)
    resting_w = math.fsum(never_resting_w)
    return max(left * weights[job] / (weights[job] + resting_w), shares[job])


def never_rests(share: float, demand: float) -> bool:
    """A job asking ``demand`` beyond its ``share`` writes without pause."""
    return demand > share * (1.0 + 1e-12)


def served_bytes_per_s(
    capacity: float, weights: Sequence[float], demands: Sequence[float], shares: Sequence[float]
) -> list[float]:
    """What each job's writes are served at: its share if it never rests, else its burst
    (``burst_bytes_per_s`` for every job at once: the others' sums are the sums of all less
    its own, ``math.fsum`` — the same correctly rounded values)."""
    resting = [never_rests(share, d) for share, d in zip(shares, demands, strict=True)]
    busy = [share for share, nr in zip(shares, resting, strict=True) if not nr]
    resting_w = math.fsum(w for w, nr in zip(weights, resting, strict=True) if nr)
    served = []
    for w, share, nr in zip(weights, shares, resting, strict=True):
        if nr:
            served.append(share)
            continue
        left = capacity - math.fsum([*busy, -share])
        served.append(max(left * w / (w + resting_w), share))
    return served
