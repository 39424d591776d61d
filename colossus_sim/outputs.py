"""Writing outputs so that nothing is half-written: one file through a temporary file and a
rename, a result folder through a temporary sibling folder swapped into place.

A file (``write_atomic``) is written beside its target, flushed to disk and renamed over it:
the target is the old file or the new one, never a part. A result folder (``publish_folder``)
is written whole into a fresh hidden sibling, flushed, then exchanged with the old folder in
one ``renameat2(RENAME_EXCHANGE)`` (Linux), so the folder's path names the old set of files or
the new one at every instant; a run killed at any moment leaves the old folder intact and at
most a hidden ``.NAME.*.tmp`` sibling, which the next publish removes. Where the exchange is
not available the old folder is renamed aside (``.NAME.*.old``) and the new one renamed in;
a kill between the two renames is repaired by the next publish, which renames the old one back.

Files are created with the permissions the process umask gives (``0o666 & ~umask``, folders
``0o777 & ~umask``) — a temporary file starts as ``0o600`` — and a file that is replaced keeps
its own mode; a path through a symbolic link writes the file it points to and keeps the link.
An ``OSError`` while writing names the target, and ``reported`` turns it into bad input naming
the option (exit 2 on the command line). Cost: one fsync per file and per folder written.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import functools
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from colossus_sim.errors import ScenarioError

STALE_S = 1.0
"""A hidden sibling no writer holds and untouched this long is a killed writer's leftover."""
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


@functools.cache
def umask() -> int:
    """The process umask, read once (``os.umask`` can only be read by setting it)."""
    mask = os.umask(0o077)  # briefly the strictest sensible mask, should a thread create files
    os.umask(mask)
    return mask


def file_mode() -> int:
    return 0o666 & ~umask()


def folder_mode() -> int:
    return 0o777 & ~umask()


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write(fd: int, data: bytes, mode: int) -> None:
    """Fill a new file open on ``fd`` (closed here) with ``data`` at ``mode``, flushed to disk."""
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), mode)
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (through a link, to the file it names) via a temporary file in
    the same folder and a rename. A new file gets the umask's mode, a replaced one keeps its
    own. An ``OSError`` names ``path``."""
    target = Path(os.path.realpath(path))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            mode = stat.S_IMODE(target.stat().st_mode)
        except FileNotFoundError:
            mode = file_mode()
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            _write(fd, data, mode)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_folder(target.parent)
    except OSError as exc:
        raise _naming(exc, path) from None


def _naming(exc: OSError, path: str | Path) -> OSError:
    """The same error, its ``filename`` the output the user named (not a temporary file)."""
    return type(exc)(exc.errno, exc.strerror or str(exc), str(path))


@functools.cache
def _renameat2() -> Callable[..., int] | None:
    try:
        function: Callable[..., int] = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None
    return function


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step; False where the system or file system cannot."""
    function = _renameat2()
    if function is None:
        return False
    if function(_AT_FDCWD, bytes(a), _AT_FDCWD, bytes(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _lock(folder: Path) -> int | None:
    """An exclusive lock on ``folder`` (held until its descriptor is closed), or None when
    another process holds it."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _siblings(folder: Path) -> list[tuple[float, Path]]:
    """The hidden ``.NAME.*.tmp``/``.old`` folders beside ``folder``, newest first."""
    found = []
    for path in folder.parent.iterdir():
        name = path.name
        if name.startswith(f".{folder.name}.") and name.endswith((".tmp", ".old")):
            with contextlib.suppress(OSError):
                if path.is_dir() and not path.is_symlink():
                    found.append((path.stat().st_mtime, path))
    return sorted(found, reverse=True)


def clean_siblings(folder: Path) -> None:
    """Remove the hidden siblings killed publishers of ``folder`` left; if a kill came between
    renaming the old folder aside and the new one in, rename the old one back first."""
    now = time.time()
    for mtime, sibling in _siblings(folder):
        if now - mtime < STALE_S:
            continue
        with contextlib.suppress(OSError):
            fd = _lock(sibling)
            if fd is None:
                continue  # a publisher is writing it now
            try:
                if sibling.suffix == ".old" and not folder.exists():
                    os.rename(sibling, folder)
                else:
                    shutil.rmtree(sibling, ignore_errors=True)
            finally:
                os.close(fd)


def publish_folder(
    folder: str | Path, files: Mapping[str, bytes], replaces: Callable[[Path], None]
) -> list[Path]:
    """Make ``folder`` hold exactly ``files`` (name → bytes), all at once: written into a
    hidden sibling, flushed, then swapped in. ``replaces(folder)`` is called on an existing
    folder first and raises if it may not be replaced (it holds something no result writes).
    Return the files' paths under ``folder`` as given. An ``OSError`` names ``folder``."""
    named = Path(folder)
    target = Path(os.path.realpath(named))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        clean_siblings(target)
        if target.is_dir():
            replaces(target)
        temp, lock = _filled(target, files)
        try:
            _swap_in(temp, target)
        finally:
            if lock is not None:
                os.close(lock)
    except OSError as exc:
        raise _naming(exc, named) from None
    return [named / name for name in files]


def _filled(target: Path, files: Mapping[str, bytes]) -> tuple[Path, int | None]:
    """A hidden sibling of ``target`` holding ``files``, flushed to disk, and the descriptor
    of this process's lock on it (a cleaner leaves a locked sibling alone)."""
    temp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    lock = _lock(temp)
    try:
        mode = stat.S_IMODE(target.stat().st_mode) if target.is_dir() else folder_mode()
        os.chmod(temp, mode)
        for name, data in files.items():
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
            _write(os.open(temp / name, flags, 0o600), data, file_mode())
        _fsync_folder(temp)
    except BaseException:
        if lock is not None:
            os.close(lock)
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return temp, lock


def _swap_in(temp: Path, target: Path) -> None:
    """Put ``temp`` at ``target``: a rename when there is nothing (or an empty folder) there,
    else an exchange with the old folder, which is then removed."""
    try:
        try:
            os.rename(temp, target)
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            if not _exchange(temp, target):
                _swap_aside(temp, target)
    finally:
        shutil.rmtree(temp, ignore_errors=True)  # the old folder, or a new one not swapped in
    _fsync_folder(target.parent)


def _swap_aside(temp: Path, target: Path) -> None:
    """Without an exchange: the old folder renamed aside, the new one in (a kill between the
    two leaves ``.NAME.*.old``, which the next publish renames back); the old one at ``temp``."""
    old = temp.with_suffix(".old")
    os.rename(target, old)
    try:
        os.rename(temp, target)
    except BaseException:
        os.rename(old, target)
        raise
    os.rename(old, temp)


@contextlib.contextmanager
def reported(option: str, path: str | Path | None) -> Iterator[None]:
    """An ``OSError`` writing ``path`` (or anything under it) as bad input naming ``option``,
    with the path and the system's reason — the command line's exit 2, never a traceback."""
    try:
        yield
    except OSError as exc:
        if path is None or exc.filename is None or not _within(exc.filename, path):
            raise
        reason = exc.strerror or type(exc).__name__
        raise ScenarioError.at(option, f"could not write {exc.filename}: {reason}") from None


def _within(name: str | bytes, path: str | Path) -> bool:
    inner = Path(os.path.abspath(os.fsdecode(name)))
    outer = Path(os.path.abspath(path))
    return inner == outer or outer in inner.parents
