"""α–β cost of collectives: ring, tree and hierarchical all-reduce, reduce-scatter, all-gather,
all-to-all and point-to-point, over NVLink inside an NVLink domain and NICs beyond it.

Every function takes scalars or numpy arrays (broadcast together) and returns seconds.

Notes
-----
With ``n`` ranks, per-rank buffer ``B`` bytes, per-rank bandwidth ``β`` (bytes/s, each
direction) and per-step latency ``α`` (s):

* ring reduce-scatter / all-gather: ``(n−1)·α + (n−1)/n · B/β``;
* ring all-reduce = reduce-scatter + all-gather: ``2(n−1)·α + 2(n−1)/n · B/β``;
* tree all-reduce (pipelined double binary tree): ``2·⌈log2 n⌉·α + 2·B/β``;
* hierarchical all-reduce over ``n/g`` domains of ``g`` ranks: reduce-scatter inside each
  domain (NVLink), all-reduce of ``B/g`` across domains (NIC), all-gather inside;
* all-to-all, ``g`` of the ``n`` ranks sharing a domain: each rank sends ``(g−1)/n·B`` over
  NVLink and ``(n−g)/n·B`` over its NIC, concurrently: ``(n−1)·α + max(…)``;
* point-to-point: ``α + B/β``.

References
----------
Thakur, Rabenseifner & Gropp, "Optimization of Collective Communication Operations in
MPICH", IJHPCA 2005 (ring and tree costs); NCCL's bus-bandwidth convention
(nccl-tests performance notes, docs/sources.md#nccl-tests-performance: all-reduce bus bw =
algorithm bw × 2(n−1)/n).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from colossus_sim.config.hardware import GpuSpec
from colossus_sim.units import BITS_PER_BYTE, BYTES_PER_GB, SECONDS_PER_US

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Links:
    """Achievable per-GPU bandwidth (bytes/s, each direction) and latency (s) of both tiers."""

    nvlink_bytes_per_s: float
    nic_bytes_per_s: float
    nvlink_latency_s: float
    nic_latency_s: float
    domain_gpus: int

    @classmethod
    def of(cls, gpu: GpuSpec, domain_gpus: int | None = None) -> Links:
        """Links of ``gpu``; ``domain_gpus`` may shrink the NVLink domain (spare GPUs held back)."""
        return cls(
            nvlink_bytes_per_s=gpu.nvlink_gb_per_s * BYTES_PER_GB * gpu.nvlink_bus_efficiency,
            nic_bytes_per_s=gpu.nic_gbit_per_s
            / BITS_PER_BYTE
            * BYTES_PER_GB
            * gpu.nic_bus_efficiency,
            nvlink_latency_s=gpu.nvlink_latency_us * SECONDS_PER_US,
            nic_latency_s=gpu.nic_latency_us * SECONDS_PER_US,
            domain_gpus=domain_gpus if domain_gpus is not None else gpu.nvlink_domain_gpus,
        )


def _f(x: ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def reduce_scatter_s(
    buffer_bytes: ArrayLike, n: ArrayLike, bw_bytes_per_s: ArrayLike, latency_s: ArrayLike
) -> FloatArray:
    """Ring reduce-scatter of a ``buffer_bytes`` buffer per rank over ``n`` ranks."""
    n_ = _f(n)
    steps = np.maximum(n_ - 1.0, 0.0)
    return steps * _f(latency_s) + steps / np.maximum(n_, 1.0) * _f(buffer_bytes) / _f(
        bw_bytes_per_s
    )


def all_gather_s(
    buffer_bytes: ArrayLike, n: ArrayLike, bw_bytes_per_s: ArrayLike, latency_s: ArrayLike
) -> FloatArray:
    """Ring all-gather producing a ``buffer_bytes`` buffer per rank; costs as reduce-scatter."""
    return reduce_scatter_s(buffer_bytes, n, bw_bytes_per_s, latency_s)


def ring_all_reduce_s(
    buffer_bytes: ArrayLike, n: ArrayLike, bw_bytes_per_s: ArrayLike, latency_s: ArrayLike
) -> FloatArray:
    """Ring all-reduce: a reduce-scatter then an all-gather; moves 2(n−1)/n of the buffer."""
    return 2.0 * reduce_scatter_s(buffer_bytes, n, bw_bytes_per_s, latency_s)


def tree_all_reduce_s(
    buffer_bytes: ArrayLike, n: ArrayLike, bw_bytes_per_s: ArrayLike, latency_s: ArrayLike
) -> FloatArray:
    """Pipelined (double binary) tree all-reduce: logarithmic latency, 2·B/β bandwidth term."""
    n_ = _f(n)
    depth = np.ceil(np.log2(np.maximum(n_, 1.0)))
    cost = 2.0 * depth * _f(latency_s) + 2.0 * _f(buffer_bytes) / _f(bw_bytes_per_s)
    return np.where(n_ > 1.0, cost, 0.0)


def hierarchical_all_reduce_s(
    buffer_bytes: ArrayLike, n: ArrayLike, ranks_per_domain: ArrayLike, links: Links
) -> FloatArray:
    """All-reduce over ``n`` ranks, ``ranks_per_domain`` of them in each NVLink domain.

    Reduce-scatter inside the domain over NVLink, ring all-reduce of the ``1/g`` shard across
    the ``n/g`` domains over the NICs, all-gather inside the domain.
    """
    n_ = _f(n)
    g = np.clip(_f(ranks_per_domain), 1.0, np.maximum(n_, 1.0))
    domains = np.maximum(n_ / g, 1.0)
    buf = _f(buffer_bytes)
    intra = reduce_scatter_s(buf, g, links.nvlink_bytes_per_s, links.nvlink_latency_s)
    inter = ring_all_reduce_s(buf / g, domains, links.nic_bytes_per_s, links.nic_latency_s)
    return 2.0 * intra + inter


def all_to_all_s(
    buffer_bytes: ArrayLike, n: ArrayLike, ranks_per_domain: ArrayLike, links: Links
) -> FloatArray:
    """All-to-all where each rank holds ``buffer_bytes`` spread evenly over ``n`` ranks."""
    n_ = _f(n)
    g = np.clip(_f(ranks_per_domain), 1.0, np.maximum(n_, 1.0))
    buf = _f(buffer_bytes)
    safe_n = np.maximum(n_, 1.0)
    intra_bytes = buf * (g - 1.0) / safe_n
    inter_bytes = buf * (n_ - g) / safe_n
    latency = np.where(n_ > g, links.nic_latency_s, links.nvlink_latency_s)
    cost = np.maximum(n_ - 1.0, 0.0) * latency + np.maximum(
        intra_bytes / links.nvlink_bytes_per_s, inter_bytes / links.nic_bytes_per_s
    )
    return np.where(n_ > 1.0, cost, 0.0)


def all_to_all_nvlink_s(
    buffer_bytes: ArrayLike, n: ArrayLike, ranks_per_domain: ArrayLike, links: Links
) -> FloatArray:
    """Seconds an all-to-all keeps a rank's NVLink busy: its ``(g−1)/n`` share of the buffer
    for the peers in its domain, at NVLink bandwidth (``all_to_all_s``'s NVLink leg)."""
    n_ = _f(n)
    g = np.clip(_f(ranks_per_domain), 1.0, np.maximum(n_, 1.0))
    intra = _f(buffer_bytes) * (g - 1.0) / np.maximum(n_, 1.0) / links.nvlink_bytes_per_s
    return np.asarray(np.where(n_ > 1.0, intra, 0.0), dtype=np.float64)


def p2p_s(buffer_bytes: ArrayLike, bw_bytes_per_s: ArrayLike, latency_s: ArrayLike) -> FloatArray:
    """One point-to-point send of ``buffer_bytes``."""
    return _f(latency_s) + _f(buffer_bytes) / _f(bw_bytes_per_s)


def tier(inside_domain: ArrayLike, links: Links) -> tuple[FloatArray, FloatArray]:
    """(bandwidth, latency) of NVLink where ``inside_domain`` holds, else of the NIC."""
    inside = np.asarray(inside_domain, dtype=bool)
    bw = np.where(inside, links.nvlink_bytes_per_s, links.nic_bytes_per_s)
    lat = np.where(inside, links.nvlink_latency_s, links.nic_latency_s)
    return bw.astype(np.float64), lat.astype(np.float64)
