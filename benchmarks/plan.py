"""Planner wall time for each of the seven jobs at their default rack counts.

Target (issue: foundation): < 0.2 s per job on 2 cores. Prints figures; asserts nothing.
Run: python benchmarks/plan.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import time

from colossus_sim import api
from colossus_sim.config.load import job_names, load_job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per job (default 5)")
    args = parser.parse_args()
    for name in job_names():
        load_job(name)  # file parsing is cached; time the planning itself
    api.job_step(job_names()[0])  # warm numpy and imports
    print(
        f"{'job':14s} {'racks':>6s} {'candidates':>10s} {'fitting':>8s} "
        f"{'median s':>9s} {'max s':>7s}"
    )
    worst = 0.0
    for name in job_names():
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            result = api.job_step(name)
            times.append(time.perf_counter() - start)
        worst = max(worst, max(times))
        print(
            f"{name:14s} {result.racks:6d} {result.candidates:10d} {result.fitting:8d} "
            f"{statistics.median(times):9.4f} {max(times):7.4f}"
        )
    print(f"slowest job: {worst:.4f} s (target < 0.2 s)")


if __name__ == "__main__":
    main()
