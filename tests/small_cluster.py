"""A small cluster and scenario written to a temporary folder, for engine and power tests."""

from __future__ import annotations

from pathlib import Path

SMALL_CLUSTER = """\
name: small
title: A small test cluster
racks: 100
gpus_per_rack: 72
rack_mix: {gb200: 60, gb300: 40}
racks_per_pod: 16
power: {facility_cap_mw: 20, pue: 1.1, network_w_per_gpu: 60}
fabric: {planes: 72, switch_ports: 64, port_gbps: 800, leaf_oversubscription: 1,
         core_oversubscription: 2}
provenance:
  racks: {assumption: test}
  gpus_per_rack: {assumption: test}
  rack_mix: {assumption: test}
  racks_per_pod: {assumption: test}
  power: {assumption: test}
  fabric: {assumption: test}
"""


def small_scenario(tmp_path: Path, **fields: str) -> Path:
    cluster = tmp_path / "small.yaml"
    cluster.write_text(SMALL_CLUSTER)
    values = {
        "seed": "1",
        "horizon_days": "6",
        "policy": "pack",
        "rate": "300",
        "spares": "{gb200: 3, gb300: 2}",
        "mode": "async",
        "a_racks": "24",
        "b_racks": "24",
        "c_racks": "30",
        "a_policy": "spare_or_shrink",
    } | fields
    text = f"""\
name: small
title: small
cluster: {cluster}
seed: {values["seed"]}
horizon_days: {values["horizon_days"]}
jobs:
  a: {{workload: grok44_1t_a, racks: {values["a_racks"]}, priority: 2,
       on_rack_loss: {values["a_policy"]}}}
  b: {{workload: grok44_1t_b, racks: {values["b_racks"]}, priority: 1, on_rack_loss: spare_or_wait}}
  c: {{workload: grok45_15t_a, racks: {values["c_racks"]}, priority: 3}}
scheduler: {{policy: {values["policy"]}, spare_racks: {values["spares"]}}}
failures: {{enabled: true, rate_multiplier: {values["rate"]}}}
checkpoint: {{mode: {values["mode"]}, storage_tb_per_s: 1, host_copy_gb_per_s: 200,
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
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return path
