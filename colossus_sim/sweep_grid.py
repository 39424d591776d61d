"""The points of a sweep as values: the grid's columns, the seeds, and the ``--grid`` and
``--seeds`` option text that gives them.

Owns ``SweepPoint``/``SweepPlan`` (what ``sweep.plan`` builds), how a grid value reads
(``value_text``: back to the text of a ``--set``; ``grid_column``: typed when every value is a
number or a bool; ``numeric_relative``: a relative value's column holds the number each
point resolved it to), which seeds a point runs with (``resolve_seeds``), where a bad grid value is
blamed (``grid_issue``: on ``--grid``, not the ``--set`` the loader names), and the option
parsers the command line calls. Cost: string work only, microseconds per value; nothing here
loads a scenario (``resolved_value`` reads one ``sweep.plan`` loaded).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from colossus_sim.config.relative import is_relative_text, scalable
from colossus_sim.errors import Issue, ScenarioError
from colossus_sim.scenario import SET_OPTION, ResolvedScenario, parse_override
from colossus_sim.seeds import check_seed, check_seed_run

GRID_OPTION = "--grid"
SEEDS_OPTION = "--seeds"


@dataclass(frozen=True)
class SweepPoint:
    """One run of a sweep: the grid values (typed, in the grid's path order), the overrides
    that produce them, the seed and the store key."""

    index: int
    values: tuple[Any, ...]
    overrides: tuple[str, ...]
    grid: tuple[str, ...]
    """The grid's part of ``overrides`` (``PATH=VALUE`` each)."""
    seed: int
    key: str


@dataclass(frozen=True)
class SweepPlan:
    """Every point of a sweep, validated and keyed; ``source`` is what workers re-load."""

    source: str
    name: str
    """The scenario's ``name`` (with the overrides every point shares)."""
    paths: tuple[str, ...]
    points: tuple[SweepPoint, ...]
    given: dict[str, dict[str, str]] = field(default_factory=dict)
    """For a grid path given relative values (``+20%``), whose column holds the numbers they
    resolved to: each number's text → the value as given (``{"4080": "+20%"}``)."""

    @property
    def keys(self) -> list[str]:
        """The distinct keys, in point order (points that resolve alike share one)."""
        return list(dict.fromkeys(p.key for p in self.points))


def value_text(value: Any) -> str:
    """A grid value as the text of a ``--set`` (``True`` → ``true``, ``0.5`` → ``0.5``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(to_jsonable_python(value))  # a flow mapping/list YAML reads back


def grid_column(texts: list[str], path: str) -> list[Any]:
    """The grid column of one path: bools, ints or floats when every value is one; the texts
    as given otherwise (``+20%`` beside ``3400``: ``sweep.plan`` then puts the numbers each
    point resolved to in their place)."""
    parsed = [parse_override(f"{path}={t}") for t in texts]
    values = [p.value for p in parsed]
    if any(p.relative_pct is not None for p in parsed):
        return list(texts)
    if all(isinstance(v, bool) for v in values):
        return values
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return values
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return [float(v) for v in values]
    return list(texts)


def resolved_value(resolved: ResolvedScenario, path: str) -> Any:
    """The value a grid path has in a loaded point (``+20%`` resolved to its number); None
    where the path does not lead to one (a phase's ``jobs.<job>/<phase>.…``)."""
    node: Any = resolved.scenario
    for key in path.split("."):
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, BaseModel) and key in type(node).model_fields:
            node = getattr(node, key)
        else:
            return None
    return node


def numeric_relative(
    points: list[SweepPoint],
    names: tuple[str, ...],
    relative: list[str],
) -> tuple[list[SweepPoint], dict[str, dict[str, str]]]:
    """A grid column with relative values (``3400, +20%``) holds the numbers they resolved to
    (a numeric axis), and ``given`` maps each such number's text to the value as given; where a
    point's value is not a number, the column keeps the texts as given."""
    given: dict[str, dict[str, str]] = {}
    for path in relative:
        j = names.index(path)
        resolved = [p.values[j] for p in points]
        as_given = [p.grid[j].partition("=")[2] for p in points]
        if all(scalable(v) for v in resolved):
            kind = int if all(isinstance(v, int) for v in resolved) else float
            new: list[Any] = [kind(v) for v in resolved]
            given[path] = {
                value_text(v): t for v, t in zip(new, as_given, strict=True) if is_relative_text(t)
            }
        else:
            new = as_given
        points = [
            replace(p, values=(*p.values[:j], v, *p.values[j + 1 :]))
            for p, v in zip(points, new, strict=True)
        ]
    return points, given


def grid_issue(issue: Issue, grid: Collection[str]) -> Issue:
    """Blame a grid override on ``--grid`` (the loader names every override ``--set``)."""
    prefix = f"{SET_OPTION} "
    text = issue.field.removeprefix(prefix)
    ours = {*grid, *(g.partition("=")[0] for g in grid)}  # PATH=VALUE, or PATH alone
    if issue.field.startswith(prefix) and text in ours:
        return replace(issue, field=f"{GRID_OPTION} {text}")
    return issue


def resolve_seeds(base: int, seeds: Sequence[int] | None, replicas: int | None) -> tuple[int, ...]:
    """The seeds a point runs with: ``seeds`` as given, or ``replicas`` seeds ``base + i``
    (``i`` = 0 … replicas−1, ``base`` the point's own seed), or just ``base``."""
    if seeds is not None and replicas is not None:
        raise ScenarioError.at("replicas", "give seeds or replicas, not both")
    if replicas is not None:
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
            raise ScenarioError.at("replicas", "not a count of runs", got=repr(replicas))
        return check_seed_run(base, replicas, "replicas")
    if seeds is None:
        return (base,)
    if isinstance(seeds, str | bytes) or not isinstance(seeds, Sequence) or not seeds:
        raise ScenarioError.at("seeds", "expected a non-empty list of seeds", got=repr(seeds))
    return tuple(dict.fromkeys(check_seed(s, "seeds") for s in seeds))


# ---------------------------------------------------------------------------- option text
def _split_values(text: str) -> list[str]:
    """``a,b,{x: 1, y: 2}`` → three values: commas inside brackets or quotes do not split."""
    parts: list[str] = []
    depth, quote, start = 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def parse_grid_option(items: Sequence[str]) -> dict[str, list[str]]:
    """``["jobs.grok5_10t.racks=3400,+20%", "failures.rate_multiplier=1,2"]`` → the grid."""
    grid: dict[str, list[str]] = {}
    for item in items:
        path, sep, raw = item.partition("=")
        path = path.strip()
        if not sep or not path or any(not part for part in path.split(".")):
            raise ScenarioError.at(
                f"{GRID_OPTION} {item}",
                "expected PATH=V1,V2,...",
                expected="e.g. failures.rate_multiplier=0.5,1,2",
            )
        values = _split_values(raw)
        if any(v == "" for v in values):
            raise ScenarioError.at(
                f"{GRID_OPTION} {path}", "an empty value", got=repr(raw), expected="V1,V2,..."
            )
        if path in grid:
            raise ScenarioError.at(
                f"{GRID_OPTION} {path}", "given twice: list all its values in one --grid"
            )
        grid[path] = values
    return grid


def parse_seeds_option(text: str) -> list[int]:
    """``1,2,3`` or ``0-7`` or ``1,5-6`` → the seeds, in the order given."""
    seeds: list[int] = []
    for item in text.split(","):
        lo, dash, hi = item.strip().partition("-")
        try:
            first = int(lo)
            last = int(hi) if dash else first
        except ValueError:
            raise ScenarioError.at(
                SEEDS_OPTION, "expected seeds such as 1,2,3 or 0-7", got=repr(item.strip())
            ) from None
        for seed in (first, last):
            check_seed(seed, SEEDS_OPTION)
        if first > last or last - first >= 100_000:
            raise ScenarioError.at(
                SEEDS_OPTION,
                "a seed range runs low to high (at most 100,000 seeds)",
                got=repr(item.strip()),
            )
        seeds.extend(range(first, last + 1))
    return seeds
