"""Fuzz the command line with many more mutated inputs than the test suite tries.

Each input is a real scenario or workload file mutated (keys dropped, retyped, renamed,
duplicated; extreme values; truncation, non-UTF-8 bytes) or the default scenario with random
``--set`` strings (see ``tests/fuzzing.py``), run in process through the CLI. Prints how many
were tried, the exit-code histogram and every crash (an exception, an exit code other than
0/2, or a traceback in the output), and exits 1 if there was any.
Run: python benchmarks/fuzz_offline.py [COUNT] [--seed N]   (COUNT default 2000)
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fuzzing import make_case, run_case  # noqa: E402


def _cli():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("colossus_sim_cli_fuzz", ROOT / "cli.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", type=int, default=5, help="crashes printed in full")
    options = parser.parse_args()
    cli = _cli()
    codes: Counter[int] = Counter()
    crashes: list[tuple[int, str, list[str], str]] = []
    slowest = (0.0, "")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for index in range(options.count):
            case_seed = options.seed * 1_000_003 + index
            case = make_case(random.Random(case_seed))
            began = time.perf_counter()
            code, problem = run_case(cli, case, Path(folder))
            took = time.perf_counter() - began
            if took > slowest[0]:
                slowest = (took, f"seed {case_seed}: {case.label} {case.args}")
            codes[code] += 1
            if problem is not None:
                crashes.append((case_seed, case.label, case.args, problem))
    wall = time.perf_counter() - start
    print(f"fuzzed inputs tried: {options.count} in {wall:.1f} s (seed {options.seed})")
    print("exit codes: " + ", ".join(f"{code}: {n}" for code, n in sorted(codes.items())))
    print(f"slowest input: {slowest[0]:.2f} s ({slowest[1]})")
    print(f"crashes (tracebacks or exit codes other than 0/2): {len(crashes)}")
    for case_seed, label, args, problem in crashes[: options.show]:
        print(f"--- case seed {case_seed}: {label} {args}")
        print(problem.rstrip()[-3000:])
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
