"""Valid-but-odd what-ifs: real library scenarios with extreme but allowed knobs, each run
checked against the invariants a result must keep.

Each case is a library scenario, a short horizon, a random seed and one to four ``--set``
overrides drawn from a table of knobs at the edges of what the schema allows (failure rates,
repair times, the power cap near its floor, fabric tapers, storage bandwidth, checkpoint
intervals, queue policies, recovery modes, rack counts). A case passes when it is refused as
bad input (``ScenarioError``: exit 2 on the command line) or when its result keeps every
invariant: the facility draw never above the cap, every figure finite (strict JSON), GPU-hours
by state adding up to racks × GPUs × hours, goodput in [0, 1], and the run under 60 s.
Anything else — another exception, a broken invariant — is printed and counted.
Run: python benchmarks/fuzz_knobs.py [COUNT] [--seed N] [--workers W]   (COUNT default 1000)
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
import traceback
from collections import Counter
from concurrent.futures import ProcessPoolExecutor

SCENARIOS = (
    "colossus2",
    "drop_replica",
    "early_finish_regrow",
    "facility_cap_800mw",
    "failures_2x",
    "gb300_only",
    "grok5_10t_racks_plus20",
    "in_memory",
    "spread",
    "topology_aware",
)
JOBS = ("imagine_v2", "grok44_1t_a", "grok45_15t_b", "grok5_6t", "grok5_10t")


def knob(rng: random.Random) -> str:
    """One override at an edge of what the schema allows."""
    job = rng.choice(JOBS)
    choices = [
        f"failures.rate_multiplier={rng.choice([0, 0.01, 1, 5, 20, 50])}",
        f"failures.repair_multiplier={rng.choice([0.001, 0.1, 10, 1000])}",
        f"failures.enabled={rng.choice(['true', 'false'])}",
        f"power.facility_cap_mw={rng.uniform(540, 620):.3f}",
        f"power.facility_cap_mw={rng.choice([300, 800, 5000])}",
        f"power.policy={rng.choice(['uniform', 'priority'])}",
        f"fabric.leaf_oversubscription={rng.uniform(1, 64):.2f}",
        f"fabric.core_oversubscription={rng.uniform(1, 64):.2f}",
        f"fabric.enabled={rng.choice(['true', 'false'])}",
        f"checkpoint.storage_tb_per_s={rng.choice([0.01, 0.5, 2, 100])}",
        f"checkpoint.interval_minutes={rng.choice([0.5, 5, 600])}",
        f"checkpoint.mode={rng.choice(['sync', 'async'])}",
        f"checkpoint.max_interval_minutes={rng.choice([1, 10000])}",
        f"scheduler.admission={rng.choice(['gang', 'malleable'])}",
        f"scheduler.queue={rng.choice(['priority', 'fifo'])}",
        f"scheduler.backfill={rng.choice(['none', 'easy', 'conservative'])}",
        f"scheduler.preemption={rng.choice(['none', 'priority'])}",
        f"scheduler.policy={rng.choice(['pack', 'spread', 'priority', 'topology-aware'])}",
        f"jobs.{job}.recovery={rng.choice(['restart', 'in_memory', 'hot_spare', 'drop_replica'])}",
        f"jobs.{job}.racks={rng.choice(['+50%', '-50%', '-90%', '1'])}",
        f"jobs.{job}.submit_days={rng.choice([0, 0.3, 2])}",
        f"jobs.{job}.on_rack_loss="
        + rng.choice(["spare_or_shrink", "spare_or_wait", "shrink", "wait"]),
        f"recovery.detection_s={rng.choice([0, 3600])}",
        f"recovery.comm_init_s_per_1k_gpus={rng.choice([0, 100])}",
    ]
    return rng.choice(choices)


def case(seed: int) -> tuple[str, list[str]]:
    rng = random.Random(seed)
    overrides = [f"horizon_days={rng.choice([0.3, 1, 3])}", f"seed={rng.randrange(2**31)}"]
    overrides += [knob(rng) for _ in range(rng.randint(1, 4))]
    return rng.choice(SCENARIOS), overrides


def check(seed: int) -> tuple[str, str, float]:
    """(verdict, detail, seconds): verdict ``ran``, ``refused`` or ``bug``."""
    from colossus_sim import api

    scenario, overrides = case(seed)
    began = time.perf_counter()
    try:
        result = api.simulate(scenario, overrides)
    except api.ScenarioError:
        return "refused", "", time.perf_counter() - began
    except Exception:  # what this benchmark looks for
        return "bug", f"{scenario} {overrides}\n{traceback.format_exc()}", 0.0
    took = time.perf_counter() - began
    problems = []
    c = result.cluster
    if c.peak_facility_mw > c.power_cap_mw * (1 + 1e-9):
        problems.append(f"peak {c.peak_facility_mw:.6f} MW over the {c.power_cap_mw:.6f} MW cap")
    try:
        json.loads(api.json_text(result.model_dump(mode="json")))
    except ValueError as exc:
        problems.append(f"not strict JSON: {exc}")
    if not math.isclose(sum(c.gpu_hours.values()), c.gpus * c.hours, rel_tol=1e-9):
        problems.append("GPU-hours by state do not add up")
    bad = [j.name for j in result.jobs if not 0.0 <= j.goodput <= 1.0]
    if bad:
        problems.append(f"goodput outside [0, 1]: {bad}")
    if took > 60:
        problems.append(f"took {took:.0f} s")
    if problems:
        return "bug", f"{scenario} {overrides}: {'; '.join(problems)}", took
    return "ran", "", took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    options = parser.parse_args()
    seeds = [options.seed * 1_000_003 + i for i in range(options.count)]
    start = time.perf_counter()
    verdicts: Counter[str] = Counter()
    bugs: list[str] = []
    slowest = 0.0
    with ProcessPoolExecutor(max_workers=options.workers) as pool:
        for verdict, detail, took in pool.map(check, seeds, chunksize=4):
            verdicts[verdict] += 1
            slowest = max(slowest, took)
            if verdict == "bug":
                bugs.append(detail)
    wall = time.perf_counter() - start
    print(f"what-ifs tried: {options.count} in {wall:.0f} s on {options.workers} workers")
    print(", ".join(f"{k}: {v}" for k, v in sorted(verdicts.items())))
    print(f"slowest run: {slowest:.1f} s")
    for detail in bugs[:5]:
        print("---", detail.rstrip()[-2000:])
    return 1 if bugs else 0


if __name__ == "__main__":
    sys.exit(main())
