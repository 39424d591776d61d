"""Regression checks: scenarios state expected figures (``expect:``); ``check`` runs them.

A scenario file may carry an ``expect:`` block: figure path → ``{value, rel_tol, abs_tol}``.
A figure path addresses the run's summary (the ``run --json`` object), jobs by name:
``jobs.grok5_10t.time_to_train_days``, ``jobs.grok5_10t.gpu_hours.productive``,
``cluster.productive_frac``. Paths are checked against the result schema (the fields of
``JobResult`` and ``ClusterResult`` and the scenario's job names) when the scenario is loaded
(``colossus_sim.figures``), so a typo is bad input (exit 2, file:line, "did you mean"), never
a silent pass. Only numbers can be expected.

``check`` loads every scenario first (all bad input is reported before anything runs), runs
the ones with expectations (in a process pool where there is more than one; results keep the
input order), and compares. The engine is deterministic for a seed, so a figure moves only
when the model, the data or the scenario does; the tolerances say how much movement is
noise-like and accepted. ``update`` rewrites moved values in place: ruamel.yaml's round-trip
parser locates each ``value`` scalar and only that token of the text is replaced (a full
round-trip dump would re-space aligned flow mappings), then the file is written atomically.
"""

from __future__ import annotations

import math
import os
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from colossus_sim import paths
from colossus_sim.config.load import _display
from colossus_sim.config.scenario import Expectation, Scenario
from colossus_sim.errors import Issue, ScenarioError
from colossus_sim.figures import DICT_KEYS as DICT_KEYS  # re-exported: callers name them here
from colossus_sim.figures import ROOTS as ROOTS
from colossus_sim.figures import Figure, figure_value, parse_figure
from colossus_sim.figures import FigurePathError as FigurePathError
from colossus_sim.figures import expect_issues as expect_issues
from colossus_sim.figures import figure_paths as figure_paths
from colossus_sim.results import write_atomic

SIGNIFICANT_DIGITS = 6
"""Digits ``update`` writes: far finer than any sensible tolerance, short enough to read."""


def scenarios_folder() -> Path:
    return paths.data_root() / "scenarios"


# ---------------------------------------------------------------------------- running
@dataclass(frozen=True)
class FigureCheck:
    """One expected figure against what this run gave."""

    figure: Figure
    expect: Expectation
    got: float | None

    @property
    def holds(self) -> bool:
        return self.expect.holds(self.got)

    @property
    def delta(self) -> str:
        """The move from the expected value: relative when it can be, else absolute."""
        if self.got is None:
            return "no value"
        diff = self.got - self.expect.value
        if self.expect.value:
            rel = diff / abs(self.expect.value)
            return f"{rel:+.2%}" if abs(rel) >= 5e-5 else "0.00%"
        return f"{diff:+.3g}"

    @property
    def tolerance(self) -> str:
        parts = []
        if self.expect.rel_tol is not None:
            parts.append(f"±{self.expect.rel_tol * 100:.6g}%")
        if self.expect.abs_tol is not None:
            parts.append(f"±{self.expect.abs_tol:.6g}")
        return " or ".join(parts)


@dataclass(frozen=True)
class ScenarioRun:
    """One scenario's run and its checks, in the order of its ``expect:`` block."""

    path: Path
    name: str
    seconds: float
    checks: list[FigureCheck]


@dataclass(frozen=True)
class Move:
    """A value ``update`` rewrote."""

    scenario: str
    figure: str
    old: float
    new: float


@dataclass(frozen=True)
class CheckReport:
    runs: list[ScenarioRun]
    skipped: list[str]
    wall_s: float
    workers: int
    moves: list[Move]

    @property
    def checks(self) -> list[tuple[ScenarioRun, FigureCheck]]:
        return [(run, c) for run in self.runs for c in run.checks]

    @property
    def drifted(self) -> list[tuple[ScenarioRun, FigureCheck]]:
        return [(run, c) for run, c in self.checks if not c.holds]

    @property
    def exit_code(self) -> int:
        """0 when every figure holds or ``update`` rewrote it, 1 when any drift remains."""
        rewritten = {(m.scenario, m.figure) for m in self.moves}
        remaining = [c for run, c in self.drifted if (run.name, c.figure.path) not in rewritten]
        return 1 if remaining else 0


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
    from colossus_sim import api

    start = time.perf_counter()
    try:
        summary = api.simulate(path).summary()
    except ScenarioError as exc:  # the exception does not pickle; its issues do
        return None, exc.issues, time.perf_counter() - start
    return summary, [], time.perf_counter() - start


def _run_all(files: list[Path], workers: int) -> list[_Outcome]:
    names = [str(f) for f in files]
    if workers <= 1 or len(names) <= 1:
        return [_run_one(n) for n in names]
    with ProcessPoolExecutor(max_workers=min(workers, len(names))) as pool:
        return list(pool.map(_run_one, names))


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def check(
    targets: Sequence[Path] | None = None, workers: int | None = None, update: bool = False
) -> CheckReport:
    """Load every scenario, run those with ``expect:``, compare; ``update`` rewrites moves."""
    start = time.perf_counter()
    from colossus_sim.scenario import load_scenario

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


# ---------------------------------------------------------------------------- update
_NUMBER = re.compile(r"[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|[-+]?\.[0-9]+")


def _written(check: FigureCheck) -> str | None:
    """The text ``update`` writes for this figure's new value (None: nothing to write)."""
    got = check.got
    if got is None or not math.isfinite(got):
        return None
    if check.figure.integer:
        return str(int(got))
    text = repr(float(f"{got:.{SIGNIFICANT_DIGITS}g}"))  # 14702500.0, not 1.47025e+07
    mantissa, e, exponent = text.partition("e")
    if "." not in mantissa:  # YAML reads 1e-05 as a string, 1.0e-05 as a number
        text = f"{mantissa}.0e{exponent}" if e else f"{mantissa}.0"
    rounded = check.expect.model_copy(update={"value": float(text)})
    return text if rounded.holds(got) else repr(float(got))


def rewrite_values(text: str, new_values: dict[str, str], name: str) -> str:
    """``text`` with the ``value`` of each named expectation replaced, nothing else touched."""
    yaml = YAML(typ="rt")
    try:
        doc = yaml.load(text)
    except YAMLError as exc:
        raise ScenarioError([Issue(message=f"not valid YAML: {exc}", file=name)]) from None
    expect = doc.get("expect") if isinstance(doc, dict) else None
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
    edits: list[tuple[int, int, str]] = []
    for figure, new in new_values.items():
        node: Any = expect.get(figure) if isinstance(expect, dict) else None
        if not isinstance(node, dict) or "value" not in node:
            raise ScenarioError(
                [Issue(message="no value to update", field=f"expect.{figure}", file=name)]
            )
        lc: Any = getattr(node, "lc", None)  # ruamel's line/column record of the mapping
        line, col = lc.value("value")
        offset = starts[line] + col
        match = _NUMBER.match(text, offset)
        if match is None:
            raise ScenarioError(
                [
                    Issue(
                        message="update rewrites plain numbers only",
                        field=f"expect.{figure}.value",
                        file=name,
                        line=line + 1,
                        col=col + 1,
                    )
                ]
            )
        edits.append((match.start(), match.end(), new))
    for begin, end, new in sorted(edits, reverse=True):
        text = text[:begin] + new + text[end:]
    check = YAML(typ="rt").load(text)["expect"]
    for figure, new in new_values.items():
        if float(check[figure]["value"]) != float(new):  # pragma: no cover - a bug guard
            raise RuntimeError(f"{name}: rewriting expect.{figure} failed")
    return text


def update_expectations(runs: list[ScenarioRun]) -> list[Move]:
    """Rewrite every expected value this run moved, file by file, atomically."""
    moves: list[Move] = []
    for run in runs:
        new_values: dict[str, str] = {}
        for c in run.checks:
            written = _written(c)
            if written is not None and float(written) != c.expect.value:
                new_values[c.figure.path] = written
                moves.append(Move(run.name, c.figure.path, c.expect.value, float(written)))
        if new_values:
            text = run.path.read_text(encoding="utf-8")
            write_atomic(run.path, rewrite_values(text, new_values, run.name).encode("utf-8"))
    return moves


# ---------------------------------------------------------------------------- reports
def drift_table(report: CheckReport) -> Table:
    table = Table(title="colossus-sim check: expected figures vs this model")
    for name, justify in (
        ("scenario", "left"),
        ("figure", "left"),
        ("expected", "right"),
        ("got", "right"),
        ("tolerance", "right"),
        ("verdict", "left"),
    ):
        wrap = name == "scenario"  # a long path folds; the figures stay on one line
        table.add_column(
            name,
            justify=justify,  # type: ignore[arg-type]
            no_wrap=not wrap,
            overflow="fold" if wrap else "ellipsis",
        )
    for run, c in report.checks:
        got = "—" if c.got is None else f"{c.got:.6g} ({c.delta})"
        verdict = Text("ok", style="green") if c.holds else Text("DRIFT", style="bold red")
        table.add_row(
            Text(run.name),
            Text(c.figure.path),
            f"{c.expect.value:.6g}",
            got,
            c.tolerance,
            verdict,
        )
    return table


def summary_line(report: CheckReport) -> str:
    figures = len(report.checks)
    drifted = len(report.drifted)
    verdict = "all hold" if not drifted else f"{drifted} drifted"
    if report.moves:
        verdict += f"; {len(report.moves)} expected values rewritten"
    return (
        f"{figures} figures in {len(report.runs)} scenarios: {verdict} · "
        f"wall {report.wall_s:.1f} s on {report.workers} worker"
        f"{'s' if report.workers != 1 else ''}"
    )


def junit_xml(report: CheckReport) -> bytes:
    """JUnit XML: one testsuite per scenario, one testcase per figure, a failure per drift."""
    root = ET.Element(
        "testsuites",
        name="colossus-sim check",
        tests=str(len(report.checks)),
        failures=str(len(report.drifted)),
        errors="0",
        time=f"{report.wall_s:.3f}",
    )
    for run in report.runs:
        suite = ET.SubElement(
            root,
            "testsuite",
            name=run.name,
            tests=str(len(run.checks)),
            failures=str(sum(not c.holds for c in run.checks)),
            errors="0",
            skipped="0",
            time=f"{run.seconds:.3f}",
        )
        for c in run.checks:
            case = ET.SubElement(
                suite, "testcase", classname=run.name, name=c.figure.path, time="0"
            )
            if not c.holds:
                got = "no value" if c.got is None else f"{c.got:.6g} ({c.delta})"
                message = f"expected {c.expect.value:.6g} {c.tolerance}, got {got}"
                failure = ET.SubElement(case, "failure", message=message, type="drift")
                failure.text = f"{run.name}: expect.{c.figure.path}: {message}"
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"


def write_junit(report: CheckReport, path: Path) -> None:
    write_atomic(path, junit_xml(report))
