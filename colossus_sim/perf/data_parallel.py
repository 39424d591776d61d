"""The data-parallel side of a step: the gradient sync (or ZeRO-3's per-microbatch parameter
gathers) beyond the compute it overlaps, and the optimizer update.

Notes
-----
Each data-parallel group all-reduces its parameters' gradients hierarchically (NVLink inside
a domain, NICs across, ``collectives.hierarchical_all_reduce_s``): the dense parameters over
``dp·cp`` ranks, the routed experts over their ``tp·cp·dp/ep`` replicas. A reduce-scatter or
an all-gather is half an all-reduce's traffic, so ZeRO-1/2's gradient reduce-scatter
(``grad_b`` bytes per parameter) and parameter all-gather (``weight_b``) cost one all-reduce
at their mean size, once per step after the last backward; ZeRO-3 gathers the parameters for
forward and again for backward and reduce-scatters the gradients every microbatch
(``weight_b + grad_b/2`` per parameter). With ``dp_overlap`` the once-a-step sync runs through
the pipeline bubble, where the device idles (Megatron reduces each model chunk's gradients as
its last backward ends, during the drain, and gathers the next step's parameters during the
fill), and beside a microbatch's compute ``t_c`` at the SM cost of ``overlap.exposed_s``
(``overlap.exposed_after_idle_s``); ZeRO-3's per-microbatch traffic has only ``t_c``. Without
``dp_overlap`` all of it is exposed. The optimizer update streams
``optimizer_hbm_bytes_per_param`` per local parameter (ZeRO ≥ 1: the ``1/dp`` shard) through HBM.

References
----------
Rajbhandari et al., "ZeRO", SC'20 (data-parallel volumes per stage); Thakur et al. (ring
costs, via ``collectives.py``).
"""

from __future__ import annotations

import numpy as np

from colossus_sim.perf import collectives as coll
from colossus_sim.perf.memory import state_bytes_per_param
from colossus_sim.perf.overlap import exposed_after_idle_s, exposed_s, sm_share
from colossus_sim.perf.plan_grid import FloatArray, PlanGrid, RunSetup, device_params


def data_parallel_s(
    setup: RunSetup,
    grid: PlanGrid,
    compute_s: FloatArray,
    bubble_s: FloatArray,
    microbatches: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Seconds per step of (the data-parallel gradient sync beyond ``compute_s``, one
    microbatch's compute on a device, and ``bubble_s``, the step's pipeline bubble; the
    optimizer update), for every plan of ``grid``."""
    params = device_params(setup, grid)
    sync = _sync_s(setup, grid, params, (compute_s, bubble_s), microbatches)
    return sync, _optimizer_s(setup, grid, params)


def _sync_s(
    setup: RunSetup,
    grid: PlanGrid,
    params: tuple[FloatArray, FloatArray],
    windows: tuple[FloatArray, FloatArray],
    microbatches: FloatArray,
) -> FloatArray:
    """The gradient sync (ZeRO-3: the per-microbatch gathers and scatters) beyond the compute
    and idle time it overlaps (``windows``: one microbatch's compute, the step's bubble)."""
    links, sw = setup.links, setup.software
    compute_s, bubble_s = windows
    nonexpert_local, expert_local = params
    dense_dp = grid.dp * grid.cp
    expert_dp = grid.expert_dp()
    g_dense = np.minimum(dense_dp, np.maximum(setup.domain_gpus // grid.tp, 1))
    g_expert = np.minimum(expert_dp, np.maximum(setup.domain_gpus // grid.ep, 1))
    weight_b, grad_b = state_bytes_per_param(setup)
    share = sm_share(setup.gpu.collective_sms, setup.gpu.sm_count)

    def all_reduce_s(bytes_per_param: float) -> FloatArray:
        """Both data-parallel groups' hierarchical all-reduce of their parameters."""
        return coll.hierarchical_all_reduce_s(
            nonexpert_local * bytes_per_param, dense_dp, g_dense, links
        ) + coll.hierarchical_all_reduce_s(
            expert_local * bytes_per_param, expert_dp, g_expert, links
        )

    if sw.zero_stage >= 3:  # every microbatch: gather for forward and backward, scatter grads
        per_mb = all_reduce_s(weight_b + 0.5 * grad_b)
        exposed = exposed_s(per_mb, compute_s, share) if sw.dp_overlap else per_mb
        return np.asarray(microbatches * exposed, dtype=np.float64)
    total = all_reduce_s(0.5 * (weight_b + grad_b))  # once per step, after the last backward
    return exposed_after_idle_s(total, bubble_s, compute_s, share) if sw.dp_overlap else total


def _optimizer_s(
    setup: RunSetup, grid: PlanGrid, params: tuple[FloatArray, FloatArray]
) -> FloatArray:
    """Seconds of the HBM-bound optimizer update on the busiest device."""
    nonexpert_local, expert_local = params
    if setup.software.zero_stage >= 1:
        local = nonexpert_local / (grid.dp * grid.cp) + expert_local / grid.expert_dp()
    else:
        local = nonexpert_local + expert_local
    hbm_bytes_per_s = setup.gpu.hbm_tb_per_s * 1e12
    return np.asarray(
        local * setup.consts.optimizer_hbm_bytes_per_param / hbm_bytes_per_s, dtype=np.float64
    )
