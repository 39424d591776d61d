"""Reading plain YAML fast: libyaml (C) parses, ruamel's YAML 1.2 rules type the scalars.

ruamel's round-trip loader, which ``yamlio`` uses for every error message, scans and parses
in pure Python: about 0.15 s for the dozen files of a default run, a tenth of a what-if
answer. Here PyYAML's libyaml binding builds the node tree with positions, and each plain
scalar is typed by ruamel's own YAML 1.2 resolver and constructor, so the data is what the
round-trip loader gives. Anything that loader could read differently — explicit tags,
merge keys, timestamps, directives, duplicate keys, any parse error — makes ``read_plain``
return None, and the caller reads the text with ruamel, which also words the error.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.nodes import ScalarNode as RuamelScalar

try:
    import yaml as pyyaml

    _LIBYAML = bool(pyyaml.__with_libyaml__)
except ImportError:  # pragma: no cover - PyYAML is a dependency; ruamel still reads
    _LIBYAML = False

PathKey = tuple[str | int, ...]
"""Where a value sits in a document: keys and list indices from the top (``yamlio`` too)."""
Positions = dict[PathKey, tuple[int, int]]

_PLAIN = "!colossus-plain"  # a plain scalar, to be typed by YAML 1.2 rules below
_TEXT = "!colossus-text"  # a quoted or block scalar: always a string
_UNSURE = "!colossus-unsure"  # tagged with the non-specific "!": the round-trip loader decides
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_RUAMEL = YAML(typ="rt")  # its resolver and constructor, as the round-trip load uses them
_RESOLVER = _RUAMEL.resolver
_CONSTRUCTOR = _RUAMEL.constructor
_BUILD = {
    "tag:yaml.org,2002:int": _CONSTRUCTOR.construct_yaml_int,
    "tag:yaml.org,2002:float": _CONSTRUCTOR.construct_yaml_float,
    "tag:yaml.org,2002:bool": _CONSTRUCTOR.construct_yaml_bool,
}


class _UnsureError(Exception):
    """The document uses something only the round-trip loader should interpret."""


if _LIBYAML:

    class _Loader(pyyaml.CSafeLoader):
        """libyaml's parser and composer; scalars keep their text and say if they were
        plain (typed later) or quoted/block (strings). Explicit tags stay as written; the
        non-specific tag ``!`` (neither plain nor quoted) is left to ruamel, which reads
        ``a: !`` as null where a string would be given here."""

        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            if kind is pyyaml.ScalarNode:
                if implicit[0]:
                    return _PLAIN
                return _TEXT if implicit[1] else _UNSURE
            return str(super().resolve(kind, value, implicit))  # type: ignore[no-untyped-call]


def read_plain(text: str) -> tuple[Any, Positions] | None:
    """The data and the 1-based (line, column) of every key and list item, as the round-trip
    loader would give them; None when this reader cannot be sure of that."""
    if not _LIBYAML or text.startswith("%") or "\n%" in text:
        return None  # no C parser, or a directive (%YAML 1.1 changes the typing rules)
    if "\t" in text:
        return None  # libyaml takes a tab after "key:" as separation where ruamel refuses it
    try:
        node = pyyaml.compose(text, Loader=_Loader)  # nodes only: nothing is constructed
    except pyyaml.YAMLError:
        return None
    if node is None:
        return None
    positions: Positions = {}
    try:
        return _plain(node, (), positions), positions
    except Exception:  # _UnsureError, or a scalar ruamel's constructor refuses: ruamel decides
        return None


def _scalar(node: Any) -> Any:
    if node.tag == _TEXT:
        return node.value
    if node.tag != _PLAIN:
        raise _UnsureError  # an explicit tag
    tag = str(_RESOLVER.resolve(RuamelScalar, node.value, (True, False)))
    if tag == "tag:yaml.org,2002:str":
        return node.value
    if tag == "tag:yaml.org,2002:null":
        return None
    build = _BUILD.get(tag)
    if build is None:
        raise _UnsureError  # a timestamp, a merge key, …
    value = build(RuamelScalar(tag, node.value))
    if isinstance(value, bool):
        return bool(value)
    return int(value) if isinstance(value, int) else float(value)


def _plain(node: Any, path: PathKey, positions: Positions) -> Any:
    if isinstance(node, pyyaml.MappingNode):
        if node.tag != _MAP:
            raise _UnsureError
        out: dict[str, Any] = {}
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, pyyaml.ScalarNode):
                raise _UnsureError
            raw = _scalar(key_node)
            key = str(raw)
            if key in out or raw in seen:  # (as Python compares keys: 1 and true are one)
                raise _UnsureError  # a duplicate key: the round-trip loader reports it
            seen.add(raw)
            mark = key_node.start_mark
            positions[(*path, key)] = (mark.line + 1, mark.column + 1)
            out[key] = _plain(value_node, (*path, key), positions)
        return out
    if isinstance(node, pyyaml.SequenceNode):
        if node.tag != _SEQ:
            raise _UnsureError
        items = []
        for index, item in enumerate(node.value):
            mark = item.start_mark
            positions[(*path, index)] = (mark.line + 1, mark.column + 1)
            items.append(_plain(item, (*path, index), positions))
        return items
    return _scalar(node)
