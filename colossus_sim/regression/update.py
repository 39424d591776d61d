"""``check --update``: rewrite each expected value a run moved, in place.

ruamel.yaml's round-trip parser locates each ``value`` scalar and only that token of the text is
replaced (a full round-trip dump would re-space aligned flow mappings), then the file is
written atomically (through a symbolic link, the file it names; its mode kept). The new value
is rounded to ``SIGNIFICANT_DIGITS`` when the rounded value still holds. Cost: one round-trip
parse per file rewritten, plus one to verify the edit.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from colossus_sim.errors import Issue, ScenarioError
from colossus_sim.outputs import write_atomic
from colossus_sim.regression.outcome import FigureCheck, Move, ScenarioRun

SIGNIFICANT_DIGITS = 6
"""Digits ``update`` writes: far finer than any sensible tolerance, short enough to read."""

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
    """Rewrite every expected value this run moved, file by file, atomically: through a
    symbolic link the file it names (the link stays), keeping the file's mode. A file that
    cannot be written is bad input naming it and the system's reason, after the others."""
    moves: list[Move] = []
    issues: list[Issue] = []
    for run in runs:
        new_values: dict[str, str] = {}
        for c in run.checks:
            written = _written(c)
            if written is not None and float(written) != c.expect.value:
                new_values[c.figure.path] = written
                target = run.path.resolve()  # write_atomic writes through a link to it
                moves.append(Move(run.name, c.figure.path, c.expect.value, float(written), target))
        if new_values:
            text = run.path.read_text(encoding="utf-8")
            try:
                write_atomic(run.path, rewrite_values(text, new_values, run.name).encode("utf-8"))
            except OSError as exc:
                reason = exc.strerror or type(exc).__name__
                issues.append(Issue(message=f"could not rewrite it: {reason}", file=run.name))
    if issues:
        raise ScenarioError(issues)
    return moves
