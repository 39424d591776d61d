"""What overlapping communication with compute costs: the SMs the communication kernels
hold while they run, and the NVLink bandwidth overlapped collectives share.

Notes
-----
**SMs.** A communication kernel runs on the GPU's SMs: an NCCL collective holds one thread
block (one SM) per channel for as long as it runs, Transformer Engine's tensor-parallel
comm-GEMM overlap the few its recipe gives it. Compute running beside it keeps the other
``1 − s`` of the SMs, ``s = comm SMs / SMs``. A collective of ``c`` seconds overlapped with
compute that takes ``W`` seconds alone therefore ends the pair at

    T = max(c, W + s·c)

(while the collective runs the compute does ``(1 − s)·c`` of its work; the rest runs at
full speed after it), so the communication costs

    exposed = T − W = max(c − W, s·c)

— all of what does not fit behind the compute, and at least ``s·c`` when it all fits.
``s = 0`` is the free overlap the model assumed before; without overlap the collective's
whole ``c`` is exposed.

**NVLink.** The collectives of one microbatch that run inside the NVLink domain (tensor-,
context- and expert-parallel traffic) go through the same NVLink ports of each GPU. Each
collective's own time already assumes it has all of that bandwidth; when several of them are
overlapped with the same compute they run at the same time and share it, so the port is busy
for the sum of their NVLink times. That sum cannot fit in less than the microbatch's compute
plus what is already exposed; the rest, ``max(0, Σ nvlink_i − (t_c + Σ exposed_i))``, is
exposed too, charged to each collective in proportion to its NVLink time. A single overlapped
collective never pays it (its exposure already covers ``c − W``).

**Idle time.** A collective that may also run while the device idles in a pipeline bubble
(the data-parallel sync: Megatron reduces the gradients of each model chunk as its last
backward ends, through the pipeline's drain, and gathers the next step's parameters through
its fill) uses that time first, at no cost to compute; only the rest meets the SMs' cost.

Cost: a few numpy operations per part over the plan grid.

References
----------
NCCL ``src/transport/nvls.cc`` (channels, i.e. thread blocks, per NVLink-SHARP collective:
16 on Hopper, 24 in one Blackwell NVLink domain, 32 across domains) and DeepEP's 24 SMs on
GB200 (Megatron-LM, DeepSeek-V3 on GB200 NVL72), ``docs/sources.md#nccl-source``,
``#megatron-lm``; DeepSeek-V3 report §3.2.2 (20 of 132 SMs reserved for communication);
Megatron-Bridge ``training/comm_overlap.py`` (the SMs of each TP comm-GEMM overlap,
``#megatron-bridge-recipes``); Lee et al., arXiv 2507.03114 (compute overlapped with
communication slows by 18.9% on average on A100/H100, ``#lee-overlap``).
"""

from __future__ import annotations

import numpy as np

from colossus_sim.perf.plan_grid import FloatArray


def exposed_s(comm_s: FloatArray, window_s: FloatArray, sm_share: float) -> FloatArray:
    """Seconds a collective of ``comm_s`` overlapped with ``window_s`` of compute adds, its
    kernels holding ``sm_share`` of the SMs: ``max(c − W, s·c)``."""
    return np.asarray(np.maximum(comm_s - window_s, sm_share * comm_s), dtype=np.float64)


def exposed_after_idle_s(
    comm_s: FloatArray, idle_s: FloatArray, window_s: FloatArray, sm_share: float
) -> FloatArray:
    """Seconds a collective adds when it may also run through ``idle_s`` of the device's idle
    time (a pipeline bubble: no compute there to slow): it fills the idle time first, and the
    rest overlaps ``window_s`` of compute as in ``exposed_s``."""
    on_compute = np.maximum(comm_s - idle_s, 0.0)
    return exposed_s(on_compute, window_s, sm_share)


def sm_share(comm_sms: float, sm_count: int) -> float:
    """Share of a GPU's SMs a communication kernel holding ``comm_sms`` of them takes."""
    return comm_sms / sm_count


def shared_nvlink_exposed_s(
    nvlink_s: list[FloatArray], exposed: list[FloatArray], compute_s: FloatArray
) -> list[FloatArray]:
    """Each overlapped collective's exposed seconds once they share the NVLink port.

    ``nvlink_s[i]`` is collective ``i``'s time on NVLink alone (0 where it runs elsewhere),
    ``exposed[i]`` its exposure from ``exposed_s``, ``compute_s`` the compute they overlap.
    The port's busy time beyond ``compute_s + Σ exposed`` is added to each in proportion to
    its NVLink time; the returned list has ``exposed``'s order.
    """
    busy = sum(nvlink_s, np.zeros_like(compute_s))
    excess = np.maximum(busy - compute_s - sum(exposed, np.zeros_like(compute_s)), 0.0)
    share = np.divide(excess, busy, out=np.zeros_like(busy), where=busy > 0)
    pairs = zip(exposed, nvlink_s, strict=True)
    return [np.asarray(e + share * n, dtype=np.float64) for e, n in pairs]
