"""Checkpoint tiers as pure arithmetic: what one GPU's shard of a checkpoint is, what each tier
must hold for it, and how fast a shard moves to and from a tier.

Notes
-----
A job on ``G`` training GPUs checkpoints ``S = params × bytes_per_param`` bytes; each GPU holds
a shard ``s = S / G`` (its ZeRO/FSDP share of the weights and optimizer state).

- **Host memory** (the Grace CPUs' LPDDR5X beside each GPU, ``host_memory_gb``). An
  asynchronous checkpoint is staged there: ``s``. An ``in_memory`` job keeps its own
  snapshot and the copy of a peer's: ``2·s``.
- **Local NVMe** (each compute tray's data drives, ``tb_per_tray``, shared by its
  ``tray_gpus`` GPUs). A tray keeps its GPUs' shards of the last durable checkpoint while the
  next is written over the other half: ``2 · tray_gpus · s`` (the lost-work model counts the
  last durable checkpoint as readable during the next write). Its GPUs share the drives'
  sequential bandwidth: each writes at ``write / tray_gpus``, reads at ``read / tray_gpus``.
- **Shared storage** (``checkpoint.storage_tb_per_s``, ``perf/checkpoint_storage.py``): the
  whole ``S``, at the job's share of the pool; not bounded here.

A tier behind the fast one takes every k-th checkpoint, ``k = ⌈τ_storage / (τ + δ)⌉`` (at least
one): the first that comes once the interval the storage asks for has passed.

Cost: O(1) per call.

References
----------
NVIDIA, DGX GB200 User Guide, "Storage" (local E1.S NVMe as a cache, "temporary, faster
checkpointing before being flushed to shared storage"); NVIDIA, GB300 NVL72 Enterprise Reference
Architecture (4 E1.S data drives per compute tray); Wang et al., Gemini, SOSP 2023 (in-memory
checkpoints and their copies on peers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from colossus_sim.config.hardware import GpuSpec
from colossus_sim.units import BITS_PER_BYTE, BYTES_PER_GB, BYTES_PER_TB

IN_MEMORY_COPIES = 2
"""Shards an ``in_memory`` job's GPU keeps in its host memory: its own snapshot and a peer's."""
NVME_SLOTS = 2
"""Checkpoints a tray's drives keep: the last durable one and the one being written."""


def shard_bytes(state_bytes: float, gpus: int) -> float:
    """One GPU's part of a checkpoint of ``state_bytes`` sharded over ``gpus`` GPUs."""
    return state_bytes / gpus


@dataclass(frozen=True)
class NvmeShare:
    """One GPU's part of its compute tray's drives: bytes it may fill, bytes/s it writes and
    reads at while the tray's other GPUs do the same."""

    capacity_bytes: float
    write_bytes_per_s: float
    read_bytes_per_s: float


def nvme_share(
    tb_per_tray: float,
    write_gb_per_s_per_tray: float,
    read_gb_per_s_per_tray: float,
    tray_gpus: int,
) -> NvmeShare:
    """A tray's drives (capacity, striped sequential bandwidth) divided by its ``tray_gpus``."""
    return NvmeShare(
        capacity_bytes=tb_per_tray * BYTES_PER_TB / tray_gpus,
        write_bytes_per_s=write_gb_per_s_per_tray * BYTES_PER_GB / tray_gpus,
        read_bytes_per_s=read_gb_per_s_per_tray * BYTES_PER_GB / tray_gpus,
    )


def host_memory_needed_bytes(shard: float, *, in_memory: bool) -> float:
    """Host memory a GPU's checkpoint needs: its staged shard, or an ``in_memory`` job's own
    snapshot and its peer's copy."""
    return shard * (IN_MEMORY_COPIES if in_memory else 1)


def nvme_needed_bytes(shard: float) -> float:
    """What a GPU's share of its tray's drives must hold: ``NVME_SLOTS`` of its shard."""
    return shard * NVME_SLOTS


def storage_every(storage_interval_s: float, period_s: float) -> int:
    """Every how many checkpoints of a ``period_s`` cycle one goes on to the tier behind,
    for that tier's ``storage_interval_s`` (at least every one)."""
    return max(1, math.ceil(storage_interval_s / period_s))


def nvlink_bytes_per_s(gpu: GpuSpec) -> float:
    """What a GPU moves to another in its NVLink domain, per direction, at bus efficiency."""
    return gpu.nvlink_gb_per_s * gpu.nvlink_bus_efficiency * BYTES_PER_GB


def nic_bytes_per_s(gpu: GpuSpec) -> float:
    """What a GPU moves over its scale-out NIC, at bus efficiency."""
    return gpu.nic_gbit_per_s * gpu.nic_bus_efficiency * (BYTES_PER_GB / BITS_PER_BYTE)
