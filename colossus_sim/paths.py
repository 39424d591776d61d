"""Where the project's data folders live, for a checkout and for an installed wheel.

A checkout keeps ``topologies/``, ``workloads/`` and ``scenarios/`` at the project root, beside
the package; a wheel carries the same folders inside the package under ``_data/`` (see the
``force-include`` table in pyproject.toml). Both layouts resolve through ``data_root``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_root() -> Path:
    """The folder holding ``topologies/`` and ``workloads/`` (installed copy first)."""
    installed = _PACKAGE_DIR / "_data"
    if (installed / "topologies").is_dir():
        return installed
    return _PACKAGE_DIR.parent


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
