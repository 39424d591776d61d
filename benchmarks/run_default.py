"""Wall time, event count and peak memory of the default scenario, and how cost scales.

Targets: the whole default run (its ~97 simulated days, ~25k failures) under 1.5 s end to
end (the scheduler, recovery and grid issues); from the engine issue, the default Colossus 2
scenario over 60 simulated days with failures on in < 2 s and < 500 MB on 2 cores, and the
same jobs on a 4× larger cluster with failures off costing < 1.5× the time (cost follows
events, not GPUs). Each case runs in a fresh process so start-up (imports, file parsing,
planning) is counted as a user would see it; what a failure costs is the 60-day run's time
with failures on less that with them off, per failure.
Run: python benchmarks/run_default.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
start = time.perf_counter()
from colossus_sim import api
result = api.simulate(sys.argv[1] if sys.argv[1] != "-" else None, overrides=sys.argv[2:])
wall = time.perf_counter() - start
print(json.dumps({"wall_s": wall, "events": result.cluster.events,
                  "failures": result.cluster.failures,
                  "sim_days": result.cluster.hours / 24,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(scenario: str, overrides: list[str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, scenario, *overrides],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def bigger_cluster(factor: int, folder: Path) -> Path:
    """A copy of Colossus 2 with ``factor``× the racks of each type (same jobs)."""
    from colossus_sim import paths

    text = (paths.topologies_dir() / "colossus2.yaml").read_text()
    text = text.replace("racks: 7639", f"racks: {7639 * factor}")
    text = text.replace("gb200: 1528", f"gb200: {1528 * factor}")
    text = text.replace("gb300: 6111", f"gb300: {6111 * factor}")
    text = text.replace("facility_cap_mw: 1100", f"facility_cap_mw: {1100 * factor}")
    path = folder / f"colossus2_x{factor}.yaml"
    path.write_text(text)
    return path


def main() -> None:
    rows = []
    sixty = ["horizon_days=60"]
    rows.append(("default, whole run, failures on", measure("-", [])))
    rows.append(("default, 60 days, failures on", measure("-", sixty)))
    rows.append(("default, failures off", measure("-", [*sixty, "failures.enabled=false"])))
    with tempfile.TemporaryDirectory() as tmp:
        big = bigger_cluster(4, Path(tmp))
        rows.append(
            (
                "4x cluster, failures off",
                measure("-", [*sixty, "failures.enabled=false", f"cluster={big}"]),
            )
        )
    print(
        f"{'case':32s} {'wall s':>7s} {'events':>7s} {'failures':>8s} {'sim days':>8s} "
        f"{'peak MB':>8s}"
    )
    for name, r in rows:
        print(
            f"{name:32s} {r['wall_s']:7.2f} {r['events']:7.0f} {r['failures']:8.0f} "
            f"{r['sim_days']:8.1f} {r['peak_rss_mb']:8.0f}"
        )
    on, off = rows[1][1], rows[2][1]
    per_failure_us = (on["wall_s"] - off["wall_s"]) / max(on["failures"], 1) * 1e6
    print(f"what a failure costs, 60 days on minus off: {per_failure_us:.0f} µs")
    ratio = rows[3][1]["wall_s"] / rows[2][1]["wall_s"]
    print(f"4x cluster / 1x cluster wall time, failures off: {ratio:.2f} (target < 1.5)")
    print("targets: the whole default run < 1.5 s (colossus-sim run, end to end, start-up")
    print("included: benchmarks/startup.py); 60 days < 2 s and < 500 MB")


if __name__ == "__main__":
    main()
