"""Regression checks: scenarios state expected figures (``expect:``); ``check`` runs them.

A scenario file may carry an ``expect:`` block: figure path → ``{value, rel_tol, abs_tol}``.
A figure path addresses the run's summary (the ``run --json`` object), jobs by name:
``jobs.grok5_10t.time_to_train_days``, ``jobs.grok5_10t.gpu_hours.productive``,
``cluster.productive_frac``. Paths are checked against the result schema (the fields of
``JobResult`` and ``ClusterResult`` and the scenario's job names) when the scenario is loaded,
so a typo is bad input (exit 2, file:line, "did you mean"), never a silent pass. Only numbers
can be expected.

``check`` loads every scenario first (all bad input is reported before anything runs), runs
the ones with expectations (in a process pool where there is more than one; results keep the
input order), and compares. The engine is deterministic for a seed, so a figure moves only
when the model, the data or the scenario does; the tolerances say how much movement is
noise-like and accepted. ``update`` rewrites moved values in place: ruamel.yaml's round-trip
parser locates each ``value`` scalar and only that token of the text is replaced (a full
round-trip dump would re-space aligned flow mappings), then the file is written atomically.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import time
import types
import typing
import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from rich.table import Table
from rich.text import Text
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from colossus_sim import paths
from colossus_sim.config.load import _display
from colossus_sim.config.scenario import Expectation, Scenario
from colossus_sim.errors import Issue, LocateFn, ScenarioError
from colossus_sim.results import CLUSTER_STATES, JOB_STATES, ClusterResult, JobResult, write_atomic

#: The roots of a figure path and the result model each addresses.
ROOTS: dict[str, type[BaseModel]] = {"jobs": JobResult, "cluster": ClusterResult}

#: Keys of the result's dict-valued fields, where the schema knows them.
DICT_KEYS: dict[tuple[type[BaseModel], str], tuple[str, ...]] = {
    (JobResult, "gpu_hours"): JOB_STATES,
    (ClusterResult, "gpu_hours"): (*JOB_STATES, *CLUSTER_STATES),
}

SIGNIFICANT_DIGITS = 6
"""Digits ``update`` writes: far finer than any sensible tolerance, short enough to read."""


def scenarios_folder() -> Path:
    return paths.data_root() / "scenarios"


# ---------------------------------------------------------------------------- figure paths
class FigurePathError(ValueError):
    """A figure path the result schema does not have."""

    def __init__(
        self, message: str, expected: str | None = None, suggestion: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.suggestion = suggestion


@dataclass(frozen=True)
class Figure:
    """A checked figure path: its parts and whether the figure is an integer (a count)."""

    path: str
    parts: tuple[str, ...]
    integer: bool


_Kind = tuple[str, Any]  # ("number", is_int) | ("model", cls) | ("dict", value kind) | ("other",)


def _kind(annotation: Any) -> _Kind:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _kind(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _kind(args[0]) if len(args) == 1 else ("other", None)
    if annotation is bool:
        return ("other", None)
    if annotation in (int, float):
        return ("number", annotation is int)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return ("model", annotation)
    if origin is dict:
        key, value = typing.get_args(annotation)
        return ("dict", _kind(value)) if key is str else ("other", None)
    return ("other", None)


def _fields(model: type[BaseModel]) -> dict[str, _Kind]:
    """The fields of ``model`` a figure path can name or pass through."""
    kinds = {name: _kind(f.annotation) for name, f in model.model_fields.items()}
    return {name: kind for name, kind in kinds.items() if _leads_to_number(kind)}


def _leads_to_number(kind: _Kind) -> bool:
    if kind[0] == "number":
        return True
    if kind[0] == "dict":
        return _leads_to_number(kind[1])
    if kind[0] == "model":
        return bool(_fields(kind[1]))
    return False


def _unknown(what: str, name: str, choices: Iterable[str]) -> FigurePathError:
    options = sorted(choices)
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return FigurePathError(
        f"unknown {what} '{name}'",
        expected="one of " + ", ".join(options) if not close else None,
        suggestion=close[0] if close else None,
    )


def parse_figure(path: str, jobs: Collection[str]) -> Figure:
    """Check a figure path against the result schema and the scenario's job names."""
    parts = tuple(path.split("."))
    if any(not part for part in parts):
        raise FigurePathError("empty part in a figure path", expected="e.g. jobs.grok5_10t.goodput")
    root, rest = parts[0], list(parts[1:])
    if root not in ROOTS:
        raise _unknown("result section", root, ROOTS)
    if root == "jobs":
        if not rest:
            raise FigurePathError("name a job", expected="jobs.<job>.<figure>")
        job = rest.pop(0)
        if job not in jobs:
            raise _unknown("job", job, jobs)
    kind: _Kind = ("model", ROOTS[root])
    owner: tuple[type[BaseModel], str] | None = None
    where = ".".join(parts[: len(parts) - len(rest)])
    for part in rest:
        if kind[0] == "model":
            fields = _fields(kind[1])
            if part not in fields:
                if part in kind[1].model_fields:
                    raise FigurePathError(
                        f"'{where}.{part}' is not a number",
                        expected="one of " + ", ".join(sorted(fields)),
                    )
                raise _unknown(f"figure of {where}", part, fields)
            owner = (kind[1], part)
            kind = fields[part]
        elif kind[0] == "dict":
            keys = DICT_KEYS.get(owner) if owner else None
            if keys is not None and part not in keys:
                raise _unknown(f"key of {where}", part, keys)
            kind, owner = kind[1], None
        else:
            raise FigurePathError(f"'{where}' is a number; it has no '{part}'")
        where = f"{where}.{part}"
    if kind[0] != "number":
        if kind[0] == "model":
            choices: Iterable[str] = _fields(kind[1])
        else:
            choices = DICT_KEYS.get(owner, ("<key>",)) if owner else ("<key>",)
        raise FigurePathError(
            f"'{where}' is not a number: name one of its parts",
            expected=", ".join(f"{where}.{c}" for c in sorted(choices)),
        )
    return Figure(path=path, parts=parts, integer=bool(kind[1]))


def figure_paths(jobs: Sequence[str]) -> list[str]:
    """Every figure path the schema accepts for these jobs (dict fields: their known keys)."""
    found: list[str] = []

    def walk(kind: _Kind, prefix: str, owner: tuple[type[BaseModel], str] | None) -> None:
        if kind[0] == "number":
            found.append(prefix)
        elif kind[0] == "model":
            for name, sub in _fields(kind[1]).items():
                walk(sub, f"{prefix}.{name}", (kind[1], name))
        elif kind[0] == "dict" and owner in DICT_KEYS:
            for key in DICT_KEYS[owner]:
                walk(kind[1], f"{prefix}.{key}", None)

    for job in jobs:
        walk(("model", JobResult), f"jobs.{job}", None)
    walk(("model", ClusterResult), "cluster", None)
    return found


def figure_value(summary: dict[str, Any], figure: Figure) -> float | None:
    """The figure in a run's summary; ``KeyError`` if a dict field lacks the key."""
    node: Any = summary[figure.parts[0]]
    rest = figure.parts[1:]
    if figure.parts[0] == "jobs":
        node = next(j for j in node if j["name"] == rest[0])
        rest = rest[1:]
    for part in rest:
        node = node[part]
    if node is None:
        return None
    return int(node) if figure.integer else float(node)


def expect_issues(scenario: Scenario, locate: LocateFn) -> list[Issue]:
    """One located issue per expectation whose path the result schema does not have."""
    issues = []
    for path in scenario.expect:
        try:
            parse_figure(path, scenario.jobs)
        except FigurePathError as exc:
            field = f"expect.{path}"
            file, line, col = locate(field)
            issues.append(
                Issue(
                    message=exc.message,
                    field=field,
                    file=file,
                    line=line,
                    col=col,
                    expected=exc.expected,
                    suggestion=exc.suggestion,
                )
            )
    return issues


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
