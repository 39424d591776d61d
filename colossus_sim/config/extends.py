"""Scenario inheritance: ``extends:`` a parent file, deep-merged, each key located in its own file.

A scenario may name a parent (``extends: colossus2``: a name is looked up beside the file, then
in ``scenarios/``; ``extends: ../base.yaml``: a path relative to the file). The parent's data
comes first and the child's keys merge over it: mappings merge key by key, recursively; any
other value (a number, a string, a list) replaces the parent's, and so does a ``provenance``
entry (one ``source:`` or ``assumption:`` record, never half of each). A parent may extend
another. Nothing can be deleted: a child cannot drop a parent's job.

A child may write a number as a change of its parent's, with the grammar of ``--set``
(``racks: +20%``, ``rate_multiplier: -50%``; ``config/relative.py``): the merged value is the
parent's scaled (an integer stays one), and its provenance is labelled a what-if of the
parent's value. A parent that does not set that number is bad input at the child's line.

What is not inherited: ``expect:`` (each file states the figures it checks). What each file
must do itself: give provenance for every absolute value it writes (a child changing
``jobs.grok5_10t.racks`` to 4080 says why; the parent's reasoning was about the parent's
value); a relative change needs none, its reason being the parent's.

The merged data comes with a ``LayeredDocument``: a ``YamlDocument`` that remembers which file
each key came from, so an error points at the child's line for a key the child wrote and at
the parent's line for one it inherited.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from colossus_sim import paths
from colossus_sim.config.base import _covered, leaf_paths
from colossus_sim.config.relative import is_relative_text, relative_pct, scalable, scaled
from colossus_sim.config.yamlfast import PathKey
from colossus_sim.config.yamlio import YamlDocument, dotted, parse_dotted, read_yaml, value_at
from colossus_sim.errors import Issue, ScenarioError

EXTENDS = "extends"
EXPECT = "expect"
PROVENANCE = "provenance"


@dataclass(frozen=True)
class LayeredDocument(YamlDocument):
    """Merged data from a chain of files; ``files`` names the file of each position."""

    files: dict[PathKey, str] = field(default_factory=dict)
    chain: tuple[YamlDocument, ...] = ()
    """The files read, child first (the one asked for), then its parent, grandparent..."""
    relative: dict[str, str] = field(default_factory=dict)
    """Dotted paths whose value a file wrote as a relative change (``racks: +20%``) → that
    file: the value is its parent's scaled, labelled a what-if in ``provenance``."""

    def locate(self, dotted: str) -> tuple[str | None, int | None, int | None]:
        key = self.path_key(dotted)
        while key:
            if key in self.positions:
                line, col = self.positions[key]
                return self.files.get(key, self.file), line, col
            key = key[:-1]
        return self.file, 1, 1

    def path_key(self, dotted: str) -> PathKey:
        """Like ``parse_dotted``, but an ``expect.`` key keeps its dots (``expect.jobs.a.b``
        → ``("expect", "jobs.a.b")``): figure paths are single keys of that mapping."""
        prefix = EXPECT + "."
        expect = self.data.get(EXPECT) if isinstance(self.data, dict) else None
        if dotted.startswith(prefix) and isinstance(expect, dict):
            rest = dotted[len(prefix) :]
            for figure in sorted(expect, key=len, reverse=True):
                if rest == figure or rest.startswith(figure + "."):
                    tail = rest[len(figure) + 1 :]
                    return (EXPECT, figure, *parse_dotted(tail))
        return parse_dotted(dotted)


def read_layered(file: Path, display: Any, scenarios_dir: Path) -> LayeredDocument:
    """Read ``file`` and its ``extends:`` ancestors; merge them, parent first.

    ``display(path)`` gives the name a path is shown under in messages.
    """
    chain: list[YamlDocument] = []
    seen: list[Path] = []
    current = file
    while True:
        doc = read_yaml(current, display(current))
        chain.append(doc)
        seen.append(current.resolve())
        parent_name = doc.data.get(EXTENDS)
        if parent_name is None:
            break
        parent = _parent_path(current, parent_name, doc, scenarios_dir)
        if parent.resolve() in seen:
            loop = " → ".join([*(d.file for d in chain), display(parent)])
            raise ScenarioError(
                [_located(doc, EXTENDS, f"extends cycle: {loop}", got=repr(parent_name))]
            )
        current = parent
    return _merge_chain(chain)


def _located(doc: YamlDocument, dotted: str, message: str, **detail: str | None) -> Issue:
    file, line, col = doc.locate(dotted)
    return Issue(message=message, field=dotted, file=file, line=line, col=col, **detail)


def _parent_path(child: Path, name: Any, doc: YamlDocument, scenarios_dir: Path) -> Path:
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError(
            [
                _located(
                    doc,
                    EXTENDS,
                    "extends names a parent scenario",
                    got=repr(name),
                    expected="a name in scenarios/ or a path relative to this file",
                )
            ]
        )
    candidate = Path(name)
    if candidate.suffix in {".yaml", ".yml"} or candidate.parent != Path("."):
        path = candidate if candidate.is_absolute() else child.parent / candidate
        if paths.is_file(path):
            return path
        raise ScenarioError(
            [
                _located(
                    doc,
                    EXTENDS,
                    "parent scenario not found",
                    got=repr(name),
                    expected=f"a file (looked for {path})",
                )
            ]
        )
    for folder in (child.parent, scenarios_dir):
        path = folder / f"{name}.yaml"
        if paths.is_file(path):
            return path
    names = sorted(
        {p.stem for folder in (child.parent, scenarios_dir) for p in folder.glob("*.yaml")}
        - {child.stem}
    )
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    raise ScenarioError(
        [
            _located(
                doc,
                EXTENDS,
                "unknown parent scenario",
                got=repr(name),
                expected="one of " + ", ".join(names) if names else "a scenario file",
                suggestion=close[0] if close else None,
            )
        ]
    )


def _merge_chain(chain: list[YamlDocument]) -> LayeredDocument:
    """Merge root first; ``expect`` only from the file asked for (``chain[0]``)."""
    for child in chain[:-1]:  # a file with a parent: +20 is the number, not a change
        for here in sorted(child.plus_signed, key=str):
            number = value_at(child.data, here)
            raise ScenarioError(
                [
                    _located(
                        child,
                        dotted(here),
                        f"ambiguous: YAML reads +{number} as the number {number}",
                        got=f"+{number}",
                        expected=f"+{number}% for a change of the parent's value, or {number}",
                    )
                ]
            )
    data: dict[str, Any] = {}
    merge = _Merge(positions={}, files={}, relative={})
    for doc in reversed(chain):
        own = dict(doc.data)
        if doc is not chain[0]:
            own.pop(EXPECT, None)
        merge.into(data, own, (), doc)
    provenance = data.get(PROVENANCE)
    if isinstance(provenance, dict):
        for here, (_, label) in merge.relative.items():
            provenance[dotted(here)] = {"assumption": label}
    child = chain[0]
    return LayeredDocument(
        data=data,
        file=child.file,
        positions=merge.positions,
        files=merge.files,
        chain=tuple(chain),
        relative={dotted(here): file for here, (file, _) in merge.relative.items()},
    )


@dataclass
class _Merge:
    """Where each merged key came from, and the values written as relative changes
    (path → the file and the what-if label)."""

    positions: dict[PathKey, tuple[int, int]]
    files: dict[PathKey, str]
    relative: dict[PathKey, tuple[str, str]]

    def into(
        self, base: dict[str, Any], over: dict[str, Any], path: PathKey, doc: YamlDocument
    ) -> None:
        positions, files = self.positions, self.files
        for key, value in over.items():
            here = (*path, key)
            if here in doc.positions:
                positions[here] = doc.positions[here]
                files[here] = doc.file
            record = path == (PROVENANCE,)  # a provenance entry is one record: it replaces
            if isinstance(value, dict) and isinstance(base.get(key), dict) and not record:
                self.into(base[key], value, here, doc)
                continue
            for stale in [p for p in positions if p[: len(here)] == here and p != here]:
                del positions[stale]
                files.pop(stale, None)
            for sub, where in doc.positions.items():
                if sub[: len(here)] == here and sub != here:
                    positions[sub] = where
                    files[sub] = doc.file
            for stale in [p for p in self.relative if p[: len(here)] == here]:
                del self.relative[stale]
            if is_relative_text(value) and path[:1] not in ((PROVENANCE,), (EXPECT,)):
                current = base.get(key)
                base[key] = _relative_value(current, value, doc, here)
                label = f"what-if: {value.strip()} of the parent's {current!r} ({doc.file})"
                self.relative[here] = (doc.file, label)
                continue
            base[key] = copy.deepcopy(value)


def _relative_value(current: Any, text: str, doc: YamlDocument, here: PathKey) -> int | float:
    """A child's ``+20%`` over its parent's number (located bad input otherwise)."""
    where = dotted(here)
    try:
        pct = relative_pct(text)
    except ValueError:
        raise ScenarioError(
            [_located(doc, where, "not a relative change", got=repr(text), expected="e.g. +20%")]
        ) from None
    if not scalable(current):
        raise ScenarioError(
            [
                _located(
                    doc,
                    where,
                    "a relative change needs a number to change: the parent scenario sets none "
                    "here",
                    got=f"{text} of {current!r}",
                    expected="a parent that sets the number, or an absolute value",
                )
            ]
        )
    try:
        return scaled(current, pct)
    except OverflowError:
        raise ScenarioError(
            [_located(doc, where, "the relative change overflows", got=f"{current!r} {text}")]
        ) from None


def own_provenance_issues(doc: LayeredDocument) -> list[Issue]:
    """Every value a child file writes needs provenance in that same file.

    (The root file's values are checked by ``Sourced`` on the merged data.)
    """
    issues: list[Issue] = []
    for file_doc in doc.chain[:-1]:
        data = file_doc.data
        provenance = data.get(PROVENANCE)
        keys = set(provenance) if isinstance(provenance, dict) else set()
        for leaf in leaf_paths(data):
            if doc.relative.get(leaf) == file_doc.file:
                continue  # a relative change is labelled a what-if of the parent's value
            if not _covered(leaf, keys):
                issues.append(
                    _located(
                        file_doc,
                        leaf,
                        "no provenance in this file: a value a scenario writes over its parent's "
                        "needs its own 'source:' or 'assumption:'",
                    )
                )
    return issues
