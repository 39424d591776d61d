"""How much more than its share the busiest expert-parallel rank routes to its experts.

Notes
-----
A router does not send every expert the same number of tokens: within one microbatch's
dispatch the tokens per expert vary around their mean ``T·k/E`` with a coefficient of
variation ``v`` (the architecture's ``expert_load_cv``; 0 for the force-balanced benchmarks
of the published MoE cases). Each of the ``ep`` ranks of an expert group holds ``E/ep``
experts, so, taking the experts' loads as independent, a rank's load varies with
coefficient ``v·√(ep/E)``; every rank waits for the busiest at the combine, whose expected
load over the mean is

    imbalance = 1 + v · √(ep/E) · z(ep),    z(n) = Φ⁻¹((n − 0.375)/(n + 0.25))

``z(n)`` being Blom's approximation of the expected maximum of ``n`` standard normal draws
(0 for ``n = 1``: with every expert on one GPU nothing waits). The busiest rank's expert
GEMMs and its all-to-all traffic take ``imbalance`` times the balanced ones
(``gemm.layer_gemms``, ``step_time.py``); the token path outside the GEMMs
(``moe_dispatch_s``, fitted on force-balanced runs) is charged balanced.

Cost: one inverse normal per expert-parallel size up to the largest of a plan grid.

References
----------
G. Blom, "Statistical Estimates and Transformed Beta-Variables", 1958 (the plotting
position behind ``z``); Qi, Liu & Zhao, "FEPLB", arXiv 2604.19654 (the imbalance measured on
a production MoE, from which ``expert_load_cv`` is derived, ``docs/sources.md#feplb``).
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from colossus_sim.config.workload import MoEArch
from colossus_sim.perf.model_size import ArchT
from colossus_sim.perf.plan_grid import FloatArray, IntArray

BLOM_ALPHA = 0.375
"""Blom's plotting-position constant: the expected ``i``-th of ``n`` ordered normal draws is
near ``Φ⁻¹((i − α)/(n − 2α + 1))``."""


def expected_max_standard_normal(n: IntArray | FloatArray) -> FloatArray:
    """Blom's approximation of the expected largest of ``n`` standard normal draws (``n`` whole
    and ≥ 1; evaluated once per distinct count through a table, not once per element)."""
    counts = np.rint(np.asarray(n, dtype=np.float64)).astype(np.int64)
    normal = NormalDist()
    table = np.array(
        [0.0]
        + [
            normal.inv_cdf((k - BLOM_ALPHA) / (k - 2.0 * BLOM_ALPHA + 1.0))
            for k in range(1, int(counts.max(initial=1)) + 1)
        ]
    )
    return np.asarray(table[counts], dtype=np.float64)


def rank_load_imbalance(arch: ArchT, ep: IntArray | FloatArray) -> FloatArray:
    """The busiest expert-parallel rank's routed tokens over the mean rank's, for each ``ep``
    (1 for a model without routed experts or with balanced routing)."""
    ep_ = np.asarray(ep, dtype=np.float64)
    if not isinstance(arch, MoEArch) or arch.expert_load_cv == 0.0:
        return np.ones_like(ep_)
    spread = arch.expert_load_cv * np.sqrt(ep_ / arch.experts)
    return np.asarray(1.0 + spread * expected_max_standard_normal(ep), dtype=np.float64)
