"""Wall time of a 64-point sweep of the default scenario on 2 workers vs 64 runs one by one.

Target (sweep issue): parallel efficiency ≥ 0.8 on 2 workers, where efficiency is
(64 × one run's time) ÷ (2 × the sweep's wall time). One run's time is measured through the
same machinery in this process (``--serial-runs`` points, one worker, no pool, after one
warm-up run; half before the sweep, half after), so per-point overheads (loading, keying,
Parquet) count on both sides; ``--all-serial`` runs all 64 one by one instead. The sweep's
wall time includes planning, starting the pool and writing the store.

Because other processes may share the machine, the script also measures the ceiling: a pure
CPU loop on 1 and on N processes (the fastest of 3 timings each), before and after. If two
processes of a CPU loop each take twice as long as one, the machine gives one core's worth to
two workers and no sweep can beat an efficiency of ~0.5 there; the last line reports the
sweep's efficiency relative to that ceiling too. Prints figures; asserts nothing.
Run: python benchmarks/sweep.py [--points 64] [--workers 2] [--serial-runs 4] [--all-serial]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

from colossus_sim import sweep


def burn(loops: int) -> float:
    """A pure CPU loop; its own wall time."""
    start = time.perf_counter()
    total = 0
    for i in range(loops):
        total += i
    return time.perf_counter() - start


def cpu_ceiling(workers: int, loops: int = 10_000_000, tries: int = 3) -> float:
    """How many processes' worth of CPU ``workers`` processes get (≈ workers when idle): the
    fastest of ``tries`` timings on each side, so a neighbour's burst counts less."""
    alone = min(burn(loops) for _ in range(tries))
    with ProcessPoolExecutor(workers) as pool:
        pool.submit(burn, 1000).result()  # workers started before timing
        together = float("inf")
        for _ in range(tries):
            start = time.perf_counter()
            list(pool.map(burn, [loops] * workers))
            together = min(together, time.perf_counter() - start)
    return workers * alone / together


def serial_per_run(runs: int) -> float:
    """Seconds per point of the default scenario, one by one in this process."""
    with tempfile.TemporaryDirectory() as store:
        start = time.perf_counter()
        sweep.run(None, None, replicas=runs, workers=1, store=store)
        return (time.perf_counter() - start) / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--points", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--serial-runs", type=int, default=4)
    parser.add_argument("--all-serial", action="store_true")
    args = parser.parse_args()

    # Serial time and the CPU ceiling are measured before and after the sweep (half the serial
    # runs each side), so a neighbour's load that comes or goes shows up as a difference.
    ceiling_before = cpu_ceiling(args.workers)
    serial_per_run(1)  # warm-up: imports and the planner's caches, paid once by a serial loop
    serial_n = args.points if args.all_serial else args.serial_runs
    before = serial_per_run(max(serial_n // 2, 1))

    with tempfile.TemporaryDirectory() as store:
        start = time.perf_counter()
        result = sweep.run(None, None, replicas=args.points, workers=args.workers, store=store)
        wall = time.perf_counter() - start

    after = serial_per_run(max(serial_n - serial_n // 2, 1))
    ceiling_after = cpu_ceiling(args.workers)
    per_run = (before + after) / 2
    serial_total = per_run * args.points
    ceiling = (ceiling_before + ceiling_after) / 2
    print(
        f"CPU ceiling: {args.workers} processes get {ceiling_before:.2f} (before) / "
        f"{ceiling_after:.2f} (after) processes' worth of CPU"
    )
    print(
        f"serial: {before:.2f} s (before) / {after:.2f} s (after) per run · {args.points} runs "
        f"{serial_total:.1f} s ({serial_n} runs measured, × {args.points / serial_n:g})"
    )
    efficiency = serial_total / (args.workers * wall)
    print(
        f"sweep: {result.computed} points on {args.workers} workers in {wall:.1f} s "
        f"(speed-up {serial_total / wall:.2f}×)"
    )
    print(
        f"parallel efficiency {efficiency:.2f} (target ≥ 0.8); relative to the CPU ceiling "
        f"{efficiency * args.workers / ceiling:.2f}"
    )


if __name__ == "__main__":
    main()
