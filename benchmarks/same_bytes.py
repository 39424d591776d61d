"""Does a change leave every output byte-identical? Runs the default and every library scenario
through the command line of this checkout and of a git revision, and compares the bytes.

For each scenario in ``scenarios/`` it runs ``cli.py run NAME --json --out DIR`` (the JSON
summary on stdout, ``result.json`` and the five Parquet files) and ``cli.py run NAME`` (the
text report) in both trees, in fresh processes, and prints one line per scenario: ``same`` or
which outputs differ. The revision is checked out into a temporary git worktree and run with
the same Python, so both sides use the same installed libraries. Exit 1 if anything differs.

Run: python benchmarks/same_bytes.py [REVISION]   (default: HEAD, i.e. the last commit)
Cost: ~4 runs per scenario, ~2 s each: about a minute for the library on 2 cores.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def outputs(tree: Path, scenario: str, scratch: Path) -> dict[str, bytes]:
    """Every byte a user sees from ``run`` of ``scenario`` in ``tree``'s code and data."""
    env = {**os.environ, "PYTHONPATH": str(tree), "COLUMNS": "200"}
    out_dir = scratch / scenario
    as_json = subprocess.run(
        [sys.executable, str(tree / "cli.py"), "run", scenario, "--json", "--out", str(out_dir)],
        check=True,
        capture_output=True,
        env=env,
        cwd=scratch,
    )
    as_text = subprocess.run(
        [sys.executable, str(tree / "cli.py"), "run", scenario],
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
    scenarios = sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))
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
    print(f"{len(scenarios)} scenarios against {revision}: {differ} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
