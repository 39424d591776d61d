"""One job alone on Colossus 2 for a few days: a scenario that runs in ~0.1–0.3 s, for sweeps."""

from __future__ import annotations

from pathlib import Path


def one_job_scenario(
    tmp_path: Path,
    job: str = "grok44_1t_a",
    racks: int = 400,
    horizon_days: float = 4,
    rate: float = 1.0,
    seed: int = 3,
) -> Path:
    path = tmp_path / f"{job}_alone.yaml"
    path.write_text(
        f"""\
name: {job}_alone
title: {job} alone on Colossus 2 for {horizon_days} days
cluster: colossus2
seed: {seed}
horizon_days: {horizon_days}
jobs:
  {job}: {{racks: {racks}, priority: 5}}
scheduler: {{policy: pack, spare_racks: {{gb200: 0, gb300: 111}}}}
failures: {{enabled: true, model: reliability, rate_multiplier: {rate}}}
checkpoint: {{mode: async, bytes_per_param: 14, storage_tb_per_s: 10, host_copy_gb_per_s: 200,
             max_interval_minutes: 60, restart_minutes: 5}}
provenance:
  cluster: {{assumption: test}}
  seed: {{assumption: test}}
  horizon_days: {{assumption: test}}
  jobs: {{assumption: test}}
  scheduler: {{assumption: test}}
  failures: {{assumption: test}}
  checkpoint: {{assumption: test}}
"""
    )
    return path
