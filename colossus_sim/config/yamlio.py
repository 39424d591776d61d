"""Reading YAML with positions, and turning pydantic errors into file:line:field messages.

``read_yaml`` returns a ``YamlDocument``: the plain Python data (dicts, lists, scalars) plus
the 1-based line and column of every key and list item, keyed by its path. ``validate``
checks the data against a pydantic model and, on failure, raises a ``ScenarioError`` whose
issues carry the file, line, column, dotted field path, what was got and expected, and a
"did you mean" for unknown keys.
"""

from __future__ import annotations

import difflib
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from colossus_sim.config.yamlfast import PathKey, read_plain
from colossus_sim.errors import FieldValueError, Issue, ScenarioError

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class YamlDocument:
    """Plain data read from one YAML file, with where each key and item sits in it."""

    data: Any
    file: str
    positions: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    plus_signed: frozenset[PathKey] = frozenset()
    """Keys whose number was written with a plus sign (``racks: +20``): YAML reads the number,
    so a child scenario refuses it as a relative change without its ``%``."""

    def locate(self, dotted: str) -> tuple[str | None, int | None, int | None]:
        """File, line and column of the deepest existing prefix of a dotted path."""
        key = parse_dotted(dotted)
        while key:
            if key in self.positions:
                line, col = self.positions[key]
                return self.file, line, col
            key = key[:-1]
        return self.file, 1, 1


def parse_dotted(dotted: str) -> PathKey:
    """``jobs.0.racks`` → ``("jobs", 0, "racks")``."""
    parts: list[str | int] = []
    for part in dotted.split(".") if dotted else []:
        parts.append(int(part) if part.isdigit() else part)
    return tuple(parts)


def dotted(path: PathKey) -> str:
    return ".".join(str(p) for p in path)


def read_yaml(path: Path, display: str | None = None) -> YamlDocument:
    """Parse a YAML file that must hold a mapping; every failure is a ``ScenarioError``."""
    name = display or str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError([Issue(message="file not found", file=name)]) from None
    except OSError as exc:
        raise ScenarioError(
            [Issue(message=f"cannot read file: {exc.strerror}", file=name)]
        ) from None
    except ValueError as exc:  # a NUL in the name
        raise ScenarioError([Issue(message=f"cannot read file: {exc}", file=name)]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            [Issue(message=f"not UTF-8 text (byte {exc.start})", file=name, expected="UTF-8")]
        ) from None
    return parse_yaml_text(text, name)


def parse_yaml_text(text: str, name: str) -> YamlDocument:
    fast = read_plain(text)  # libyaml with ruamel's typing: the same data, ~10× faster
    if fast is not None and isinstance(fast[0], dict):
        signed = _plus_signed(text, fast[0], fast[1])
        return YamlDocument(data=fast[0], file=name, positions=fast[1], plus_signed=signed)
    yaml = YAML(typ="rt")
    try:
        node = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        col = mark.column + 1 if mark is not None else None
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        raise ScenarioError(
            [Issue(message=f"not valid YAML: {problem}", file=name, line=line, col=col)]
        ) from None
    except YAMLError as exc:
        raise ScenarioError([Issue(message=f"not valid YAML: {exc}", file=name)]) from None
    if node is None:
        raise ScenarioError([Issue(message="file is empty", file=name, expected="a mapping")])
    positions: dict[PathKey, tuple[int, int]] = {}
    data = _plain(node, (), positions)
    if not isinstance(data, dict):
        raise ScenarioError(
            [
                Issue(
                    message="the top level must be a mapping of keys to values",
                    file=name,
                    line=1,
                    col=1,
                    got=type(data).__name__,
                    expected="mapping",
                )
            ]
        )
    signed = _plus_signed(text, data, positions)
    return YamlDocument(data=data, file=name, positions=positions, plus_signed=signed)


_PLUS_VALUE = re.compile(r"""(?:"[^"]*"|'[^']*'|[^\s:,{}]+)\s*:\s*\+\s*[0-9.]""")
"""A key, its colon and a value that begins with a plus sign and a digit."""


def _plus_signed(
    text: str, data: Any, positions: dict[PathKey, tuple[int, int]]
) -> frozenset[PathKey]:
    """The keys whose number the text writes with a leading ``+`` (read from the source line
    at each key, as YAML keeps no sign). Cost: a regex per numeric key, only in a file with a
    ``+`` in it."""
    if "+" not in text:
        return frozenset()
    lines = text.splitlines()
    found = set()
    for path, (line, col) in positions.items():
        value = value_at(data, path)
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        if 1 <= line <= len(lines) and _PLUS_VALUE.match(lines[line - 1], max(col - 1, 0)):
            found.add(path)
    return frozenset(found)


def value_at(data: Any, path: PathKey) -> Any:
    """The value at ``path`` in ``data``, or None where the path leads nowhere."""
    for key in path:
        in_dict = isinstance(data, dict) and key in data
        in_list = isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data)
        if not (in_dict or in_list):
            return None
        data = data[key]
    return data


def _plain(node: Any, path: PathKey, positions: dict[PathKey, tuple[int, int]]) -> Any:
    """Convert ruamel's round-trip nodes to plain Python, recording key/item positions."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        lc = getattr(node, "lc", None)
        for key, value in node.items():
            skey = str(key)
            if lc is not None:
                try:
                    line, col = lc.key(key)
                    positions[(*path, skey)] = (line + 1, col + 1)
                except (KeyError, TypeError):  # merged keys have no own position
                    pass
            out[skey] = _plain(value, (*path, skey), positions)
        return out
    if isinstance(node, list):
        items = []
        lc = getattr(node, "lc", None)
        for index, value in enumerate(node):
            if lc is not None:
                try:
                    line, col = lc.item(index)
                    positions[(*path, index)] = (line + 1, col + 1)
                except (KeyError, TypeError, IndexError):
                    pass
            items.append(_plain(value, (*path, index), positions))
        return items
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def validate(model: type[ModelT], doc: YamlDocument) -> ModelT:
    """Validate ``doc.data`` against ``model``; errors name file, line and field."""
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise ScenarioError(issues_from_validation(exc, model, doc)) from None
    except ScenarioError as exc:
        raise exc.with_location(doc.locate) from None


def issues_from_validation(
    exc: ValidationError,
    model: type[BaseModel],
    doc: YamlDocument | None,
    validated: Any = None,
) -> list[Issue]:
    """One ``Issue`` per pydantic error, located in ``doc`` when one is given. ``validated``
    is the data that was validated when it is not the file's own (overrides applied): its
    keys decide the issue's path, so a section only an override wrote keeps its name."""
    issues = []
    data = validated if validated is not None else (doc.data if doc is not None else None)
    for err in exc.errors():
        loc = tuple(err["loc"])
        ctx = err.get("ctx") or {}
        original = ctx.get("error")
        data_path = (
            _data_path(data, loc)
            if data is not None
            else tuple(p for p in loc if isinstance(p, (str, int)))
        )
        if isinstance(original, FieldValueError):
            data_path = (*data_path, *_parse_sub(original.field))
        kind = err["type"]
        got: str | None = None
        expected: str | None = None
        suggestion: str | None = None
        if kind == "extra_forbidden":
            message = "unknown key"
            allowed = _allowed_keys(model, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
            suggestion = close[0] if close else None
            if not suggestion and allowed:
                expected = "one of " + ", ".join(sorted(allowed))
        elif kind == "missing":
            message = "required key is missing"
        elif isinstance(original, ValueError):
            message = str(original)
        else:
            message = err["msg"][0].lower() + err["msg"][1:]
            if "input" in err and kind != "missing":
                got = _show(err["input"])
        file = line = col = None
        if doc is not None:
            file, line, col = doc.locate(dotted(data_path))
        issues.append(
            Issue(
                message=message,
                field=dotted(data_path),
                file=file,
                line=line,
                col=col,
                got=got,
                expected=expected,
                suggestion=suggestion,
            )
        )
    return issues


def _parse_sub(sub: str) -> PathKey:
    return parse_dotted(sub)


def _show(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _data_path(data: Any, loc: tuple[Any, ...]) -> PathKey:
    """Follow a pydantic location through the data, dropping union tags that are not keys."""
    path: list[str | int] = []
    node = data
    for index, part in enumerate(loc):
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            path.append(part)
            node = node[part]
        elif (
            index == len(loc) - 1
            and isinstance(part, (str, int))
            and not (isinstance(node, dict) and part in node.values())
        ):
            path.append(part)  # a missing key: name it, located at its parent
        # otherwise a discriminated-union tag or a function-validator marker: skip it
    return tuple(path)


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names accepted at ``loc`` (used for "did you mean")."""
    candidates: list[type[BaseModel]] = [model]
    for part in loc:
        if isinstance(part, int):
            continue
        nxt: list[type[BaseModel]] = []
        tag_match = [c for c in candidates if _tag_of(c) == part]
        if tag_match:
            candidates = tag_match
            continue
        for cls in candidates:
            fld = cls.model_fields.get(str(part))
            if fld is not None:
                nxt.extend(_models_in(fld.annotation))
        if nxt:
            candidates = nxt
    names: set[str] = set()
    for cls in candidates:
        names.update(cls.model_fields)
    return sorted(names)


def _tag_of(cls: type[BaseModel]) -> str | None:
    fld = cls.model_fields.get("kind")
    if fld is None:
        return None
    args = typing.get_args(fld.annotation)
    return str(args[0]) if len(args) == 1 else None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    found: list[type[BaseModel]] = []
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, dict, tuple):
        for arg in typing.get_args(annotation):
            found.extend(_models_in(arg))
    return found
