"""Where the project's data folders live: the checkout you are in, else the installed copy.

A checkout keeps ``topologies/``, ``workloads/`` and ``scenarios/`` at the project root, beside
the package; a wheel carries a copy of them inside the package under ``_data/`` (see the
``force-include`` table in pyproject.toml). ``data_root`` picks, in this order:

1. the colossus-sim checkout the working directory is in (a folder, or a parent of it, with
   this project's ``pyproject.toml`` and the three data folders): after ``pip install .`` in a
   checkout, an edited scenario there is what runs, and ``check --update`` rewrites it there,
   not the copy inside the virtualenv;
2. the installed copy (``colossus-sim`` run anywhere else);
3. the checkout the package itself sits in (run from source: ``python cli.py``, an editable
   install).

``data_source`` says which was used; ``--version`` and ``check`` print it. Cost: a walk up from
the working directory (a few ``stat`` calls and one small read), cached per directory.
"""

from __future__ import annotations

import functools
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
DATA_FOLDERS = ("topologies", "workloads", "scenarios")
_PROJECT_NAME = 'name = "colossus-sim"'


def _is_checkout(folder: Path) -> bool:
    """A colossus-sim project root: its pyproject.toml names it, and the data folders are there."""
    try:
        project = (folder / "pyproject.toml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return _PROJECT_NAME in project and all((folder / f).is_dir() for f in DATA_FOLDERS)


@functools.lru_cache(maxsize=8)
def _source_for(cwd: Path) -> tuple[Path, str]:
    for folder in (cwd, *cwd.parents):
        if _is_checkout(folder):
            return folder, "checkout"
    installed = _PACKAGE_DIR / "_data"
    if (installed / "topologies").is_dir():
        return installed, "installed"
    return _PACKAGE_DIR.parent, "package checkout"


def data_source() -> tuple[Path, str]:
    """The data root and what it is: ``"checkout"`` (the working directory is in it),
    ``"installed"`` (the copy inside the installed package) or ``"package checkout"`` (the
    checkout the code runs from)."""
    try:
        cwd = Path.cwd().resolve()
    except OSError:  # the working directory was removed
        cwd = Path("/")
    return _source_for(cwd)


def data_root() -> Path:
    """The folder holding ``topologies/``, ``workloads/`` and ``scenarios/`` (see above)."""
    return data_source()[0]


def describe_data_root() -> str:
    """One line for a user: which data folders are read, and why those."""
    root, kind = data_source()
    why = {
        "checkout": "the checkout the working directory is in",
        "installed": "the copy installed with colossus-sim; run inside a checkout to use its files",
        "package checkout": "the checkout colossus-sim runs from",
    }[kind]
    return f"data: {root} ({why})"


def topologies_dir() -> Path:
    return data_root() / "topologies"


def hardware_dir() -> Path:
    return topologies_dir() / "hardware"


def workloads_dir() -> Path:
    return data_root() / "workloads"


def validation_dir() -> Path:
    return workloads_dir() / "validation"


def is_file(path: Path) -> bool:
    """``path.is_file()``, but False for names the OS cannot even look up (too long, a NUL)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False
