"""Output paths checked before any work: each option's path must be what it names (a file, a
folder, a file-name prefix, a result folder that may be replaced whole) and writable, or the
command stops at once with the option, the path and what is wrong (exit 2), instead of failing
after the simulation.

Writable means a probe file can be created and removed in the nearest folder that exists
on the way to the path (the folder a write would create the rest under): permissions,
read-only file systems and paths under a file are all caught the way the write would meet
them. An existing file that is read-only (no write bit, or not writable by this user) is
refused, though a rename could replace it. Cost: a few ``stat`` calls and one probe file per
option.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Literal, NamedTuple

from colossus_sim.errors import Issue, ScenarioError

OutputKind = Literal["file", "folder", "prefix", "result"]
"""``file``: written whole by a rename; ``folder``: files written into it (a store);
``prefix``: files named ``PREFIX_*.png`` beside it; ``result``: a folder replaced whole."""


class Output(NamedTuple):
    """One output option as the user gave it (``path`` None: not given, nothing to check)."""

    option: str
    path: str | Path | None
    kind: OutputKind = "file"


def _nothing(name: str) -> bool:
    return False


def check_outputs(*outputs: Output, replaceable: Callable[[str], bool] = _nothing) -> None:
    """Raise one ``ScenarioError`` listing every output that cannot be written as asked.
    ``replaceable(name)`` says whether an entry of an existing result folder is one a
    result writes (a folder holding anything else is not replaced)."""
    issues: list[Issue] = []
    for output in outputs:
        if output.path is None or any(i.field == output.option for i in issues):
            continue  # one problem per option: its other paths share its folder
        problem = output_problem(output.path, output.kind, replaceable)
        if problem is not None:
            issues.append(Issue(message=problem, field=output.option))
    if issues:
        raise ScenarioError(issues)


def output_problem(
    path: str | Path, kind: OutputKind, replaceable: Callable[[str], bool] = _nothing
) -> str | None:
    """What stops writing ``path`` as a ``kind``, or None."""
    shown = str(path)
    real = _followed(path)
    if kind in {"folder", "result"}:
        if os.path.exists(real) and not os.path.isdir(real):
            return f"{shown} is a file; this option names a folder"
        if kind == "result" and os.path.isdir(real):
            here = os.path.realpath(os.curdir)
            if os.path.commonpath([here, os.path.realpath(real)]) == os.path.realpath(real):
                return (
                    f"{shown} holds the current folder; the result replaces the whole folder, "
                    f"so give one inside it, such as {os.path.join(shown, 'results')}"
                )
            problem = foreign_entries(real, shown, replaceable)
            if problem is not None:
                return problem
        where = real if kind == "folder" and os.path.isdir(real) else os.path.dirname(real)
        return _folder_problem(where, shown)
    if os.path.isdir(real):
        if kind == "prefix":
            return (
                f"{shown} is a folder; this option takes a file name prefix, such as "
                f"{os.path.join(shown, 'run')} (PREFIX_allocation.png, ...)"
            )
        return f"{shown} is a folder; this option names a file"
    reason = read_only(real) if kind == "file" and os.path.exists(real) else None
    if reason is not None:
        return f"{shown} is {reason}"
    return _folder_problem(os.path.dirname(real), shown)


def read_only(path: str | Path) -> str | None:
    """Why the existing file ``path`` may not be rewritten, or None. A rename would replace it
    whatever its mode, so its own write permission is checked (root writes regardless of the
    bits, so the bits are checked too)."""
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if not mode & 0o222:
        return f"read-only (mode {mode:04o})"
    if os.statvfs(path).f_flag & os.ST_RDONLY:
        return "on a read-only file system"
    if not os.access(path, os.W_OK):
        return f"not writable by this user (mode {mode:04o})"
    return None


def foreign_entries(folder: str, shown: str, replaceable: Callable[[str], bool]) -> str | None:
    """Why ``folder`` may not be replaced whole: the first entries no result writes."""
    foreign = sorted(
        name
        for name in os.listdir(folder)
        if not (replaceable(name) and os.path.isfile(os.path.join(folder, name)))
    )
    if not foreign:
        return None
    more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
    return (
        f"{shown} holds {foreign[0]!r}{more}, which no run writes; the result replaces the "
        "whole folder, so give a new or empty folder or an earlier result folder"
    )


def _folder_problem(folder: str, shown: str) -> str | None:
    """Why nothing can be written under ``folder``: the nearest existing folder on its way is
    a file, or a probe file cannot be created in it."""
    existing = _nearest_existing(folder)
    if not os.path.isdir(existing):
        return f"{shown}: {existing} is a file, not a folder"
    problem = _probe(existing)
    return None if problem is None else f"{shown}: {problem}"


def _probe(folder: str) -> str | None:
    """Why a file cannot be created in the existing ``folder`` (a probe file is made and
    removed), or None."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".colossus-sim-probe.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return f"cannot write in {folder}: {exc.strerror or exc}"
    return None


def _followed(path: str | Path) -> str:
    """The path a write goes to: a symbolic link's target, else the path as given (so that
    messages show it as the user wrote it)."""
    return os.path.realpath(path) if os.path.islink(path) else os.fspath(path)


def _nearest_existing(folder: str) -> str:
    path = folder or os.curdir
    while not os.path.exists(path):
        parent = os.path.dirname(path.rstrip(os.sep)) or os.curdir
        if parent == path:
            break
        path = parent
    return path


def rewrite_problem(path: str | Path) -> str | None:
    """What stops rewriting the file ``path`` in place (through a link, the file it names),
    or None: it is read-only, or a temporary file cannot be created beside it."""
    real = _followed(path)
    reason = read_only(real)
    if reason is not None:
        return f"it is {reason}"
    return _probe(os.path.dirname(real) or os.curdir)
