"""Several what-ifs simulated at the same time: the first in this process (its progress
reported), the others in worker processes, each the run ``api.simulate`` would make.

``compare`` is two runs of ~4–5 s each; one after the other they take twice as long as the
machine needs. A run is a pure function of its scenario and seed, so where it runs changes
nothing in it: the results are the ones a sequential loop gives, in the order asked. Workers
come from ``procs.open_pool`` (they ignore Ctrl-C, die with this process, and are terminated
when it is interrupted). Cost: a pool start (~10–50 ms where processes fork, more where they
are spawned) and pickling each result back (3.5 MB for the default run, ~50 ms); one run at
a time when there is one core or ``workers`` is 1.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

from colossus_sim import procs
from colossus_sim.results import RunResult
from colossus_sim.run_progress import Reporter
from colossus_sim.scenario import ResolvedScenario


def simulate_each(
    scenarios: Sequence[ResolvedScenario | str | Path | None],
    seed: int | None = None,
    workers: int | None = None,
    progress: Reporter | None = None,
) -> list[RunResult]:
    """Each scenario's run with ``seed`` (None: its own), in order, on up to ``workers``
    processes at once (default: one per CPU). A scenario is loaded or named as for
    ``api.simulate``, all of them before any runs (bad input raises first). ``progress``
    follows the first run, which stays in this process; the others run in workers, or here
    after it when there is no second worker."""
    from colossus_sim import api

    if seed is not None:
        api.check_seed(seed, "seed")
    loaded = [s if isinstance(s, ResolvedScenario) else api.load_scenario(s) for s in scenarios]
    if not loaded:
        return []
    workers = (os.cpu_count() or 1) if workers is None else workers
    rest = loaded[1:]
    with contextlib.ExitStack() as stack:
        futures = []
        if workers > 1 and rest:
            pool = procs.open_pool(min(workers - 1, len(rest)), stack)
            futures = [pool.submit(_simulate, s, seed) for s in rest]
        first = api.simulate(loaded[0], seed=seed, progress=progress)
        others = [f.result() for f in futures] or [_simulate(s, seed) for s in rest]
    return [first, *others]


def _simulate(scenario: ResolvedScenario, seed: int | None) -> RunResult:
    """One run in a worker (a top-level function, so a pool can send it by name)."""
    from colossus_sim import api

    return api.simulate(scenario, seed=seed)
