"""Checkpoint tiers: local NVMe between host memory and the shared storage (checkpoints as
often as the interval policy says, every k-th on to the storage, restarts from the drives
unless a failure took the tray), results by tier, and the tier sizes a checkpoint must fit
(refused at the line, before anything runs)."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest
from alone_job import RECOVERY, alone, only_job

from colossus_sim import api
from colossus_sim.errors import ScenarioError
from colossus_sim.perf import checkpoint_tiers as tiers
from colossus_sim.perf import reliability as rel

NVME = "local_nvme: {tb_per_tray: 15.36, write_gb_per_s_per_tray: 14, read_gb_per_s_per_tray: 26}"
TRAY_GPUS = 4  # topologies/reliability.yaml


def nvme_job(tmp_path: Path, storage_tb_per_s: float, **kwargs: str) -> Path:
    """The test job checkpointing to its trays' drives (asynchronously), restarts timed part
    by part, beside a shared storage of ``storage_tb_per_s``."""
    checkpoint = (
        f"mode: async, storage_tb_per_s: {storage_tb_per_s}, max_interval_minutes: 60, {NVME}"
    )
    fields = {"job": "checkpoint_to: local_nvme", "extra": f"recovery: {RECOVERY}"} | kwargs
    return alone(tmp_path, checkpoint=checkpoint, **fields)


def test_local_nvme_takes_every_checkpoint_and_the_storage_every_kth(tmp_path: Path) -> None:
    """At 0.1 TB/s the 20.6 TB state takes 206 s to reach the storage, seven of the job's
    30 s steps. To its trays' drives each GPU writes its 10.7 GB shard in 3.1 s at a quarter
    of a tray's 14 GB/s, so the policy (Young–Daly: 9.5 s for a 54 ms host copy) is held at a
    step; every ⌈206 / 29.6⌉ = 7th checkpoint goes on to the storage. Each tier's checkpoint
    is the whole state; a restart reads the shard back at a quarter of 26 GB/s. Against the
    same job checkpointing only to the storage (every 206 s), it loses less work per failure
    and keeps more of its GPU-time."""
    path = nvme_job(tmp_path, 0.1)
    job = only_job(api.simulate(path))
    storage = only_job(api.simulate(path, ["jobs.grok45_15t_a.checkpoint_to=shared_storage"]))
    state_tb = storage.checkpoint_tb_written / storage.checkpoints
    active = api.load_scenario(path).jobs[0].spec.active_gpus_per_rack
    shard = tiers.shard_bytes(state_tb * 1e12, job.racks * active)
    to_nvme_s = shard / (14e9 / TRAY_GPUS)
    interval_s = job.checkpoint_interval_min * 60.0
    mtbf_s = rel.job_mtbf_s(api.load_scenario(path).effective.failure_rate_per_gpu_hour, job.gpus)
    assert interval_s == pytest.approx(
        rel.young_daly_interval_s(
            job.checkpoint_blocking_s, mtbf_s, min_s=max(to_nvme_s, job.step_s), max_s=3600.0
        ),
        rel=1e-3,  # (the step it last ran at: a shrink moves it by a fraction)
    )
    every = math.ceil(state_tb / 0.1 / (interval_s + job.checkpoint_blocking_s))
    counts, means = job.checkpoints_by_tier, job.checkpoint_mean_interval_min_by_tier
    assert counts["host_memory"] == 0 and counts["local_nvme"] == job.checkpoints
    assert means["shared_storage"] / means["local_nvme"] == pytest.approx(every, rel=1e-3)
    # (a restart from the storage starts the count of checkpoints since the last there again)
    assert (
        0.9 * counts["local_nvme"] / every
        < counts["shared_storage"]
        <= counts["local_nvme"] / every
    )
    written = job.checkpoint_tb_by_tier
    assert written["local_nvme"] / counts["local_nvme"] == pytest.approx(state_tb)
    assert written["shared_storage"] == pytest.approx(job.checkpoint_tb_written)
    assert written["shared_storage"] / counts["shared_storage"] == pytest.approx(state_tb)
    assert job.restart_breakdown_s["load_s"] == pytest.approx(shard / (26e9 / TRAY_GPUS))
    rework_s = job.gpu_hours["rework"] * 3600.0 / job.gpus / job.failures
    assert rework_s < storage.gpu_hours["rework"] * 3600.0 / storage.gpus / storage.failures / 2
    assert job.goodput > storage.goodput + 0.1


def test_a_failure_that_takes_the_tray_falls_back_to_the_storage(tmp_path: Path) -> None:
    """A GPU, network or software failure leaves the tray's host and drives up: the restart
    reads the shard from them. A tray or rack failure takes the drives' copy: that restart
    reads the last checkpoint in the shared storage (the timeline's ``from storage``), as a
    failure during such a restart does again."""
    result = api.simulate(nvme_job(tmp_path, 1.0))
    rows = list(zip(result.timeline.kind, result.timeline.job, result.timeline.detail, strict=True))
    causes = Counter(d for k, j, d in rows if k == "failure" and j)
    restarts = [d for k, _, d in rows if k == "restart"]
    from_storage = [d for d in restarts if d.endswith("from storage")]
    taken = causes["compute_tray"] + causes["rack_power"]
    assert taken and causes["gpu"]
    assert taken <= len(from_storage) < taken + causes["gpu"] / 10
    assert len(from_storage) < len(restarts) / 4


def test_the_site_sums_checkpoints_by_tier(tmp_path: Path) -> None:
    """The site's counts and bytes by tier are its jobs' sums (petabytes); its shared-storage
    bytes are what ``storage_pb_written`` says."""
    result = api.simulate(nvme_job(tmp_path, 0.1))
    job, site = only_job(result), result.cluster
    assert site.checkpoints_by_tier == job.checkpoints_by_tier
    for tier, tb in job.checkpoint_tb_by_tier.items():
        assert site.checkpoint_pb_by_tier[tier] == pytest.approx(tb / 1000.0)
    assert site.checkpoint_pb_by_tier["shared_storage"] == pytest.approx(site.storage_pb_written)
    frame = result.cluster_frame()
    assert frame["checkpoints_local_nvme"].iloc[0] == job.checkpoints_by_tier["local_nvme"]
    assert result.jobs_frame()["checkpoint_tb_shared_storage"].iloc[0] == pytest.approx(
        job.checkpoint_tb_written
    )


# ---------------------------------------------------------------------------- bad input


def refused(path: Path, overrides: list[str] | None = None, *, run: bool = False) -> str:
    """The field a scenario is refused at, checking that the error is located in its file."""
    with pytest.raises(ScenarioError) as caught:
        api.simulate(path, overrides) if run else api.load_scenario(path, overrides)
    (issue,) = caught.value.issues
    assert issue.line is not None and issue.file is not None, issue
    return f"{issue.field}: {issue.message}"


def test_an_in_memory_snapshot_must_fit_in_host_memory(tmp_path: Path) -> None:
    """On 2 racks (128 GPUs) each GPU's shard of the 20.6 TB state is 161 GB: staged for an
    asynchronous write it fits the 236 GB beside a GB300 GPU; kept twice by an ``in_memory``
    job (its snapshot and its peer's copy) it does not. On one rack, at 11 bytes a parameter,
    even the staged 253 GB shard does not (its 273 GB of usable HBM would hold it); at 14
    (322 GB) the state does not fit the GPUs at all, which the plan's check says instead."""
    checkpoint = "mode: async, storage_tb_per_s: 10, max_interval_minutes: 60"
    extra = f"recovery: {RECOVERY}"
    api.load_scenario(alone(tmp_path, racks=2, checkpoint=checkpoint, extra=extra))
    path = alone(tmp_path, racks=2, checkpoint=checkpoint, extra=extra, recovery="in_memory")
    assert refused(path).startswith("jobs.grok45_15t_a.recovery: each GPU's checkpoint shard")
    path = alone(tmp_path, racks=1, checkpoint=checkpoint, extra=extra)
    assert refused(path, run=True).startswith("jobs.grok45_15t_a.racks: no plan of the model")
    path.write_text(path.read_text().replace("bytes_per_param: 14", "bytes_per_param: 11"))
    assert "236 GB of host memory" in refused(path)
    assert refused(path).startswith("jobs.grok45_15t_a.racks: each GPU's checkpoint shard")


def test_local_nvme_needs_drives_that_hold_two_checkpoints(tmp_path: Path) -> None:
    """A tray's drives hold two of its four GPUs' 10.7 GB shards (the last durable checkpoint
    and the next): 86 GB, more than 0.05 TB."""
    path = nvme_job(tmp_path, 1.0)
    path.write_text(path.read_text().replace("tb_per_tray: 15.36", "tb_per_tray: 0.05"))
    assert refused(path).startswith("checkpoint.local_nvme.tb_per_tray: a tray's drives cannot")


def test_local_nvme_needs_drives_and_a_job_that_checkpoints(tmp_path: Path) -> None:
    """``checkpoint_to: local_nvme`` without a ``checkpoint.local_nvme`` section, or on an
    ``in_memory`` job (its snapshots go to peers), is refused at the job's field."""
    checkpoint = "mode: async, storage_tb_per_s: 10, max_interval_minutes: 60, restart_minutes: 5"
    path = alone(tmp_path, checkpoint=checkpoint, job="checkpoint_to: local_nvme")
    assert refused(path).startswith("jobs.grok45_15t_a.checkpoint_to: local_nvme needs")
    path = nvme_job(tmp_path, 1.0, recovery="in_memory")
    assert refused(path).startswith("jobs.grok45_15t_a.checkpoint_to: an in_memory job")


@pytest.mark.parametrize(
    ("interval", "recovery", "job", "tier"),
    [
        # 1 step (~30 s) against the 20.6 TB state's 206 s to a 0.1 TB/s storage
        ("interval_steps: 1", "restart", "", "shared storage"),
        # an in_memory job's fixed interval times its storage writes: 6 s against 206 s
        ("interval_minutes: 0.1", "in_memory", "", "shared storage"),
        # a local_nvme job's times its checkpoints to the drives: 0.6 s against 3.1 s
        ("interval_minutes: 0.01", "restart", "checkpoint_to: local_nvme", "local nvme"),
    ],
)
def test_a_fixed_interval_shorter_than_its_write_is_refused(
    tmp_path: Path, interval: str, recovery: str, job: str, tier: str
) -> None:
    """Before the run starts, at the interval's line, naming the tier written to."""
    path = nvme_job(tmp_path, 0.1, recovery=recovery, job=job)
    text = path.read_text().replace(
        "max_interval_minutes: 60", f"max_interval_minutes: 60, {interval}"
    )
    path.write_text(text)
    message = refused(path, run=True)
    assert message.startswith(f"checkpoint.{interval.split(':')[0]}: shorter than")
    assert f"to its {tier}" in message
