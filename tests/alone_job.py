"""One job (grok45_15t_a) alone on the small test cluster's GB300 racks, with spares for its
rack failures and failures at a multiple of Llama 3's rate: the recovery and checkpoint tests'
scenario (a run of 20 days holds ~2,000 failures)."""

from __future__ import annotations

from pathlib import Path

from small_cluster import SMALL_CLUSTER

from colossus_sim.results import JobResult, RunResult

RECOVERY = (
    "{detection_s: 30, reschedule_s: 60, process_start_s: 60, comm_init_s_per_1k_gpus: 2.5, "
    "warmup_steps: 2, snapshot_interval_steps: 10}"
)


def alone(
    tmp_path: Path,
    *,
    racks: int = 30,
    rate: float = 100.0,
    horizon_days: float = 20,
    checkpoint: str = (
        "mode: sync, storage_tb_per_s: 10, max_interval_minutes: 60, restart_minutes: 5"
    ),
    recovery: str = "restart",
    extra: str = "",
    job: str = "",
) -> Path:
    """grok45_15t_a alone on the small test cluster's GB300 racks, with spares for its rack
    failures; failures at ``rate`` × Llama 3's, so a run holds ~2,000 of them. ``job``: more
    of the job's fields (``checkpoint_to: local_nvme``)."""
    cluster = tmp_path / "small.yaml"
    cluster.write_text(SMALL_CLUSTER)
    path = tmp_path / "alone.yaml"
    path.write_text(
        f"""\
name: alone
title: one job
cluster: {cluster}
horizon_days: {horizon_days}
seed: 5
jobs:
  grok45_15t_a: {{racks: {racks}, recovery: {recovery}{", " + job if job else ""}}}
scheduler: {{policy: pack, spare_racks: {{gb200: 0, gb300: {40 - racks}}}}}
failures: {{rate_multiplier: {rate}}}
checkpoint: {{bytes_per_param: 14, host_copy_gb_per_s: 200, {checkpoint}}}
{extra}
provenance:
  cluster: {{assumption: test}}
  horizon_days: {{assumption: test}}
  seed: {{assumption: test}}
  jobs: {{assumption: test}}
  scheduler: {{assumption: test}}
  failures: {{assumption: test}}
  checkpoint: {{assumption: test}}
{"  recovery: {assumption: test}" if extra else ""}
"""
    )
    return path


def only_job(result: RunResult) -> JobResult:
    (job,) = result.jobs
    return job
