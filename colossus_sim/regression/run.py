"""Running the checks: find the scenario files, load them all (every bad input is reported
before anything runs), run those with ``expect:`` (in a process pool when there is more than
one; results keep the input order) and compare each figure with its expectation.

Cost: one full simulation per scenario with expectations, spread over ``workers`` processes
(default: up to 2; ``procs.open_pool``: the workers die with this process, and Ctrl-C or
SIGTERM terminates them); the comparison itself is a dict walk per figure.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from colossus_sim import paths, procs
from colossus_sim.config.load import _display
from colossus_sim.config.scenario import Scenario
from colossus_sim.errors import Issue, ScenarioError
from colossus_sim.figures import figure_value, parse_figure
from colossus_sim.output_checks import rewrite_problem
from colossus_sim.regression.outcome import CheckReport, FigureCheck, ScenarioRun
from colossus_sim.regression.update import update_expectations
from colossus_sim.scenario import load_scenario
from colossus_sim.sim import Simulation


def scenarios_folder() -> Path:
    return paths.data_root() / "scenarios"


def scenario_files(targets: Sequence[Path]) -> list[Path]:
    """The YAML files named, and those directly in the folders named (sorted), once each."""
    files: list[Path] = []
    issues = []
    for target in targets:
        if target.is_dir():
            found = sorted(p for p in target.iterdir() if p.suffix in {".yaml", ".yml"})
            if not found:
                issues.append(
                    Issue(message="no scenario files (*.yaml) in this folder", file=str(target))
                )
            files.extend(found)
        elif target.is_file():
            files.append(target)
        else:
            issues.append(Issue(message="no such file or folder", file=str(target)))
    if issues:
        raise ScenarioError(issues)
    unique: dict[Path, Path] = {}
    for file in files:
        unique.setdefault(file.resolve(), file)
    return list(unique.values())


_Outcome = tuple[dict[str, Any] | None, list[Issue], float]


def _run_one(path: str) -> _Outcome:
    """Run one scenario file (in a worker process): its summary, or the issues it raised."""
    start = time.perf_counter()
    try:
        summary = Simulation(load_scenario(path)).run().summary()
    except ScenarioError as exc:  # the exception does not pickle; its issues do
        return None, exc.issues, time.perf_counter() - start
    return summary, [], time.perf_counter() - start


def _run_all(files: list[Path], workers: int) -> list[_Outcome]:
    names = [str(f) for f in files]
    if workers <= 1 or len(names) <= 1:
        return [_run_one(n) for n in names]
    with contextlib.ExitStack() as stack:  # an exception (Ctrl-C, SIGTERM) ends the workers
        pool = procs.open_pool(min(workers, len(names)), stack)
        return list(pool.map(_run_one, names))


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def check(
    targets: Sequence[Path] | None = None, workers: int | None = None, update: bool = False
) -> CheckReport:
    """Load every scenario, run those with ``expect:``, compare; ``update`` rewrites moves
    (a file it could not rewrite — read-only, or its folder — is bad input before any run)."""
    start = time.perf_counter()
    workers = default_workers() if workers is None else max(1, workers)
    files = scenario_files(targets or [scenarios_folder()])
    issues: list[Issue] = []
    todo: list[tuple[Path, Scenario]] = []
    skipped: list[str] = []
    for file in files:
        try:
            scenario = load_scenario(file).scenario
        except ScenarioError as exc:
            issues.extend(exc.issues)
            continue
        if scenario.expect:
            todo.append((file, scenario))
            problem = rewrite_problem(file) if update else None
            if problem is not None:
                issues.append(
                    Issue(message=f"--update cannot rewrite it: {problem}", file=_display(file))
                )
        else:
            skipped.append(_display(file))
    if issues:
        raise ScenarioError(issues)
    outcomes = _run_all([file for file, _ in todo], workers)
    runs: list[ScenarioRun] = []
    for (file, scenario), (summary, run_issues, seconds) in zip(todo, outcomes, strict=True):
        issues.extend(run_issues)
        if summary is None:
            continue
        checks = []
        for path, expectation in scenario.expect.items():
            figure = parse_figure(path, scenario.jobs)
            try:
                got = figure_value(summary, figure)
            except (KeyError, StopIteration):
                issues.append(
                    Issue(
                        message="this run's results have no such figure",
                        field=f"expect.{path}",
                        file=_display(file),
                    )
                )
                continue
            checks.append(FigureCheck(figure=figure, expect=expectation, got=got))
        runs.append(ScenarioRun(path=file, name=_display(file), seconds=seconds, checks=checks))
    if issues:
        raise ScenarioError(issues)
    moves = update_expectations(runs) if update else []
    return CheckReport(
        runs=runs,
        skipped=skipped,
        wall_s=time.perf_counter() - start,
        workers=min(workers, max(len(todo), 1)),
        moves=moves,
    )
