"""The fixed cost of ``colossus-sim run`` around the simulation loop: imports and planning.

Each figure is measured in fresh processes and reported as the minimum (and median) over
``--repeat`` of them, in CPU seconds (``time.process_time``): the machine is shared, and the
minimum of CPU time is the least noisy estimate of what the work itself costs. The children
cache bytecode in a temporary folder (``PYTHONPYCACHEPREFIX``), warmed first, as an installed
package has it; imports are also measured compiling the package's sources every time (what a
checkout run with ``PYTHONDONTWRITEBYTECODE=1`` and no ``__pycache__`` pays).

* imports: what ``colossus-sim run`` loads before its command runs (``colossus_sim.cli.app``:
  typer, rich, the api and what it imports), then what running the command adds before the
  simulation starts (the engine, ``colossus_sim.sim``);
* the libraries alone (numpy, pydantic, simpy, typer, rich, the YAML readers): the part of the
  imports no change to the project's own code removes; and reading and resolving the default
  scenario's files (``api.load_scenario``);
* planning: the default scenario's plans (``Planner.plan`` and ``check_fits``, including
  every re-plan during the run), the number of planner searches they made and of plan
  look-ups they answered;
* the whole ``cli.py run`` (default scenario, seed 42) for scale: its CPU seconds.

Targets (the project's performance contract): ``colossus-sim run`` under 1.5 s end to end on
2 cores. Prints figures; asserts nothing.
Run: python benchmarks/startup.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

IMPORTS = r"""
import json, sys, time
start = time.process_time()
import colossus_sim.cli.app
cli = time.process_time()
import colossus_sim.sim
print(json.dumps({"cli_s": cli - start, "engine_s": time.process_time() - cli,
                  "pandas": "pandas" in sys.modules, "networkx": "networkx" in sys.modules,
                  "matplotlib": "matplotlib" in sys.modules, "pyarrow": "pyarrow" in sys.modules,
                  "dask": "dask" in sys.modules}))
"""

LIBRARIES = r"""
import json, time
start = time.process_time()
import numpy, pydantic, simpy, typer, rich.console, rich.table, yaml, ruamel.yaml
libraries = time.process_time()
from colossus_sim import api
imported = time.process_time()
api.load_scenario("colossus2")
print(json.dumps({"libraries_s": libraries - start, "load_s": time.process_time() - imported}))
"""

PLANNING = r"""
import json, time
from colossus_sim import api
from colossus_sim.sim import planning

spent = {"s": 0.0, "searches": 0, "lookups": 0, "depth": 0}

def timed(method):
    def wrapper(*args, **kwargs):
        outer = spent["depth"] == 0
        spent["depth"] += 1
        start = time.process_time()
        try:
            return method(*args, **kwargs)
        finally:
            spent["depth"] -= 1
            if outer:
                spent["s"] += time.process_time() - start
    return wrapper

def counted(search):
    def wrapper(*args, **kwargs):
        spent["searches"] += 1
        return search(*args, **kwargs)
    return wrapper

plan = planning.Planner.plan
def looked_up(self, *args, **kwargs):
    spent["lookups"] += 1
    return plan(self, *args, **kwargs)

planning.Planner.plan = timed(looked_up)
planning.Planner.check_fits = timed(planning.Planner.check_fits)
planning.plan_job = counted(planning.plan_job)
result = api.simulate()
print(json.dumps({"planning_s": spent["s"], "searches": spent["searches"],
                  "lookups": spent["lookups"], "jobs": len(result.jobs)}))
"""


def environment(pycache: str | None) -> dict[str, str]:
    """This environment with bytecode cached under ``pycache``, or (None) never written: the
    package's sources are compiled on every import (installed libraries keep their caches)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPYCACHEPREFIX"}
    if pycache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def child(code: str, env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT, env=env
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run_cpu_s(env: dict[str, str]) -> float:
    """CPU seconds (user + system) of one ``python cli.py run`` and its children."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    command = [sys.executable, "cli.py", "run"]
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def spread(values: list[float]) -> str:
    return f"{min(values):6.3f} s (median {statistics.median(values):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5, help="fresh processes per figure")
    parser.add_argument("--no-run", action="store_true", help="skip the whole cli.py run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as warm:
        env = environment(warm)
        child(IMPORTS, env)  # writes the bytecode cache
        imports = [child(IMPORTS, env) for _ in range(args.repeat)]
        compiling = [child(IMPORTS, environment(None)) for _ in range(args.repeat)]
        libraries = [child(LIBRARIES, env) for _ in range(args.repeat)]
        plans = [child(PLANNING, env) for _ in range(max(1, args.repeat // 2))]
        runs = [] if args.no_run else [run_cpu_s(env) for _ in range(max(1, args.repeat // 2))]
    cli_s = spread([i["cli_s"] for i in imports])
    engine_s = spread([i["engine_s"] for i in imports])
    print(f"import colossus_sim.cli.app (typer, rich, the api): {cli_s}")
    print(f"  + the engine, when run starts (colossus_sim.sim):  {engine_s}")
    compiled_s = spread([i["cli_s"] for i in compiling])
    print(f"  the same, compiling the package's sources:         {compiled_s}")
    loaded = [
        name for name in ("pandas", "networkx", "matplotlib", "pyarrow", "dask") if imports[0][name]
    ]
    print(f"  heavy libraries loaded by the run path's imports: {', '.join(loaded) or 'none'}")
    print(
        f"  of which the libraries alone (numpy, pydantic, ...): "
        f"{spread([i['libraries_s'] for i in libraries])}"
    )
    print(
        f"reading and resolving the default scenario:          "
        f"{spread([i['load_s'] for i in libraries])}"
    )
    first = plans[0]
    print(
        f"planning, default scenario ({first['jobs']:.0f} jobs):          "
        f"{spread([p['planning_s'] for p in plans])}"
    )
    print(f"  planner searches: {first['searches']:.0f} (plan look-ups: {first['lookups']:.0f})")
    if runs:
        print(f"cli.py run, whole process (CPU):                     {spread(runs)}")
    print("target: colossus-sim run under 1.5 s end to end on 2 cores")


if __name__ == "__main__":
    main()
