"""The run's checkpoint and failure-source lines in the terminal: checkpoints by tier (how
many, how much, how often), the shared storage's load, and the lemon trays and stragglers
when the run has them. Text only; O(jobs log jobs)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from colossus_sim.api import RunResult

_TIER_WORDS = {
    "shared_storage": "to shared storage",
    "local_nvme": "to local NVMe",
    "host_memory": "snapshots in peers' host memory",
}


def recovery_lines(result: RunResult) -> list[str]:
    """One line for the checkpoints by tier and the storage; one for lemon trays (if any)."""
    c = result.cluster
    parts = []
    for tier, words in _TIER_WORDS.items():
        count = c.checkpoints_by_tier.get(tier, 0)
        if not count:
            continue
        every = c.checkpoint_mean_interval_min_by_tier.get(tier, math.nan)
        often = (
            f", {every:,.1f} min after the job's last on average" if math.isfinite(every) else ""
        )
        parts.append(f"{count:,} {words} ({c.checkpoint_pb_by_tier.get(tier, 0.0):,.1f} PB{often})")
    lines = []
    if parts:
        lines.append(
            f"checkpoints: {' · '.join(parts)} · the shared storage busy "
            f"{c.storage_busy_frac:.0%} of the run, at up to {c.storage_peak_tb_per_s:,.1f} TB/s"
        )
    if c.lemon_trays:
        lines.append(
            f"lemon trays: {c.lemon_trays:,} · {c.lemon_failures:,} of the {c.failures:,} "
            f"failures · {c.lemons_found:,} found and replaced"
        )
    if c.stragglers:
        hit = sorted((j for j in result.jobs if j.stragglers), key=lambda j: -j.straggler_hours)
        worst = ", ".join(
            f"{j.name} {j.stragglers:,} ({j.straggler_hours:,.0f} h slowed)" for j in hit[:3]
        )
        lines.append(
            f"stragglers: {c.stragglers:,} slow trays started · on jobs: {worst or 'none'}"
        )
    return lines
