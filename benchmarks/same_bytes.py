"""Does a change leave every output byte-identical? Runs the default and every library scenario
through the command line of this checkout and of a git revision, and compares the bytes.

For each scenario in ``scenarios/``, and three what-ifs of the default that between them take
every branch the library does not (preemption under ``priority``, shrink and stall, sync
checkpoints, the cap with ``power.policy=priority``, the fabric off), it runs ``cli.py run
NAME --json --out DIR`` (the JSON summary on stdout, ``result.json`` and the five Parquet
files) and ``cli.py run NAME`` (the text report) in both trees, in fresh processes, and prints
one line per case: ``same`` or which outputs differ. The revision is checked out into a
temporary git worktree and run with the same Python, so both sides use the same installed
libraries. Exit 1 if anything differs.

Run: python benchmarks/same_bytes.py [REVISION]   (default: HEAD, i.e. the last commit)
Cost: 4 runs per case, 1-4 s each: about four minutes on 2 cores.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WHAT_IFS = {
    "priority-preempts": [
        "scheduler.policy=priority",
        "failures.rate_multiplier=3",
        "scheduler.spare_racks.gb300=0",
        "horizon_days=15",
    ],
    "shrink-stall-sync": [
        "jobs.grok5_10t.on_rack_loss=shrink",
        "jobs.grok5_6t.on_rack_loss=wait",
        "scheduler.spare_racks.gb300=2",
        "checkpoint.mode=sync",
        "horizon_days=20",
    ],
    "cap-by-priority-no-fabric": [
        "power.facility_cap_mw=800",
        "power.policy=priority",
        "fabric.enabled=false",
        "horizon_days=20",
    ],
}


def outputs(tree: Path, case: str, scratch: Path) -> dict[str, bytes]:
    """Every byte a user sees from ``run`` of ``case`` in ``tree``'s code and data."""
    env = {**os.environ, "PYTHONPATH": str(tree), "COLUMNS": "200"}
    out_dir = scratch / case
    sets = [arg for path in WHAT_IFS.get(case, []) for arg in ("--set", path)]
    scenario = "colossus2" if case in WHAT_IFS else case
    as_json = subprocess.run(
        [
            sys.executable,
            str(tree / "cli.py"),
            "run",
            scenario,
            *sets,
            "--json",
            "--out",
            str(out_dir),
        ],
        check=True,
        capture_output=True,
        env=env,
        cwd=scratch,
    )
    as_text = subprocess.run(
        [sys.executable, str(tree / "cli.py"), "run", scenario, *sets],
        check=True,
        capture_output=True,
        env=env,
        cwd=scratch,
    )
    found = {"stdout --json": as_json.stdout, "stdout (text)": as_text.stdout}
    for path in sorted(out_dir.iterdir()):
        found[path.name] = path.read_bytes()
    return found


def main() -> int:
    revision = sys.argv[1] if len(sys.argv) > 1 else "HEAD"
    scenarios = sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml")) + list(WHAT_IFS)
    differ = 0
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), revision],
            check=True,
            capture_output=True,
        )
        try:
            for scenario in scenarios:
                (Path(tmp) / "a").mkdir(exist_ok=True)
                (Path(tmp) / "b").mkdir(exist_ok=True)
                before = outputs(base, scenario, Path(tmp) / "a")
                after = outputs(ROOT, scenario, Path(tmp) / "b")
                changed = [
                    k for k in sorted(before.keys() | after.keys()) if before.get(k) != after.get(k)
                ]
                differ += bool(changed)
                verdict = "same" if not changed else "DIFFERS: " + ", ".join(changed)
                print(f"{scenario:<26} {len(after)} outputs  {verdict}", flush=True)
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)],
                check=False,
                capture_output=True,
            )
    print(f"{len(scenarios)} runs against {revision}: {differ} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
