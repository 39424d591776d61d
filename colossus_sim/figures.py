"""Figure paths: the grammar of a scenario's ``expect:`` keys, checked against the result
schema, and how to read a figure out of a run's summary.

A figure path addresses the run's summary (the ``run --json`` object), jobs by name:
``jobs.grok5_10t.time_to_train_days``, ``jobs.grok5_10t.gpu_hours.productive``,
``cluster.productive_frac``. ``parse_figure`` walks the pydantic result models (``JobResult``,
``ClusterResult``) and the scenario's job names, so a typo is bad input with a "did you mean",
never a silent pass; only numbers can be expected. ``expect_issues`` turns every bad path of a
scenario into a located ``Issue`` (``scenario.load_scenario`` raises them).

A leaf module: it imports only the result models (``results``), ``config`` and ``errors`` —
never ``scenario``, ``regression``, ``api``, ``engine`` or ``sweep`` — so loading a scenario can
check its paths without an import cycle. Checking a path is a walk over a few model fields.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from colossus_sim.config.scenario import Scenario
from colossus_sim.errors import Issue, LocateFn
from colossus_sim.results import CLUSTER_STATES, JOB_STATES, ClusterResult, JobResult

#: The roots of a figure path and the result model each addresses.
ROOTS: dict[str, type[BaseModel]] = {"jobs": JobResult, "cluster": ClusterResult}

#: Keys of the result's dict-valued fields, where the schema knows them.
DICT_KEYS: dict[tuple[type[BaseModel], str], tuple[str, ...]] = {
    (JobResult, "gpu_hours"): JOB_STATES,
    (ClusterResult, "gpu_hours"): (*JOB_STATES, *CLUSTER_STATES),
}


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
    """The figure in a run's summary (None where the run has none: a job that never started
    has no fabric); ``KeyError`` if a dict field lacks the key."""
    node: Any = summary[figure.parts[0]]
    rest = figure.parts[1:]
    if figure.parts[0] == "jobs":
        node = next(j for j in node if j["name"] == rest[0])
        rest = rest[1:]
    for part in rest:
        if node is None:  # a section a job that never ran does not have (its fabric)
            return None
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
