"""Loading the project's data files by name: hardware, cluster, perf constants, jobs, cases.

Names resolve inside the data folders (``paths.py``); a name that is not there is a
``ScenarioError`` with a "did you mean". A path to a file works wherever a name does.
"""

from __future__ import annotations

import difflib
from functools import cache
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from colossus_sim import paths
from colossus_sim.config.cluster import ClusterSpec
from colossus_sim.config.hardware import GpuSpec
from colossus_sim.config.perf_constants import PerfConstants
from colossus_sim.config.workload import JobSpec, ValidationCase
from colossus_sim.config.yamlio import YamlDocument, read_yaml, validate
from colossus_sim.errors import Issue, ScenarioError

ModelT = TypeVar("ModelT", bound=BaseModel)


def _display(path: Path) -> str:
    """A path as a user would type it: relative to the data root or the working directory."""
    for base in (paths.data_root(), Path.cwd()):
        try:
            return str(path.resolve().relative_to(base.resolve()))
        except ValueError:
            continue
    return str(path)


def load_file(model: type[ModelT], path: Path) -> ModelT:
    """Read and validate one YAML file; every problem is a located ``ScenarioError``."""
    return load_with_document(model, path)[0]


def load_with_document(model: type[ModelT], path: Path) -> tuple[ModelT, YamlDocument]:
    """Like ``load_file``, also returning the document so later checks can name a line."""
    doc = read_yaml(path, _display(path))
    return validate(model, doc), doc


def _names_in(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.yaml"))


def _resolve(name_or_path: str, folder: Path, what: str, field: str) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml"} or candidate.parent != Path("."):
        return candidate
    path = folder / f"{name_or_path}.yaml"
    if paths.is_file(path):
        return path
    names = _names_in(folder)
    close = difflib.get_close_matches(name_or_path, names, n=1, cutoff=0.5)
    raise ScenarioError(
        [
            Issue(
                message=f"unknown {what}",
                field=field,
                got=repr(name_or_path),
                expected="one of " + ", ".join(names),
                suggestion=close[0] if close else None,
            )
        ]
    )


@cache
def load_gpu(name: str) -> GpuSpec:
    return load_file(GpuSpec, _resolve(name, paths.hardware_dir(), "GPU type", "gpu"))


def gpu_names() -> list[str]:
    return _names_in(paths.hardware_dir())


@cache
def load_cluster(name: str = "colossus2") -> ClusterSpec:
    return load_file(ClusterSpec, _resolve(name, paths.topologies_dir(), "cluster", "cluster"))


@cache
def load_perf_constants() -> PerfConstants:
    return load_file(PerfConstants, paths.topologies_dir() / "perf_model.yaml")


@cache
def load_job_with_document(name_or_path: str) -> tuple[JobSpec, YamlDocument]:
    path = _resolve(name_or_path, paths.workloads_dir(), "workload", "workload")
    return load_with_document(JobSpec, path)


def load_job(name_or_path: str) -> JobSpec:
    return load_job_with_document(name_or_path)[0]


def job_names() -> list[str]:
    return _names_in(paths.workloads_dir())


def load_jobs() -> list[JobSpec]:
    return [load_job(name) for name in job_names()]


def load_validation_cases() -> list[ValidationCase]:
    return [load_file(ValidationCase, p) for p in sorted(paths.validation_dir().glob("*.yaml"))]
