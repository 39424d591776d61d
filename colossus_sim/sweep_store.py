"""A sweep's store: the key that names a point's result, and the files that hold it.

Owns the key (the SHA-256 of a canonical JSON dump of the fully resolved scenario — scenario,
cluster, every job's workload and GPU specs, the GPU specs of every rack type, the failure
model and the performance constants, without ``provenance``/``expect`` — plus the seed, the
store format, the package version and a hash of the package source), the Parquet file a point
is stored as (its jobs table, with the key, seed, version and scenario as metadata), stale
temporary files, and the tidy table read back from the store. Cost: a key is one JSON dump and
hash of the resolved scenario (about a millisecond); the source hash reads the package's
``.py`` files once per process; a point's file is a few kB of zstd Parquet.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

import colossus_sim
from colossus_sim.scenario import ResolvedScenario

if TYPE_CHECKING:
    import pandas as pd

    from colossus_sim.sweep_grid import SweepPlan

STORE_FORMAT = 1
"""Bumped when what a stored file holds changes (part of every key)."""
STALE_TMP_S = 60.0
"""A temporary file older than this was left by a killed writer (a write takes milliseconds)."""
_NOT_PHYSICS = frozenset({"provenance", "expect"})
"""Fields left out of the key: annotations about a value, never read by the engine."""


def _plain(value: Any) -> Any:
    """A pydantic model (or anything inside one) as plain JSON data, annotations dropped."""
    if isinstance(value, BaseModel):
        return {
            name: _plain(getattr(value, name))
            for name in type(value).model_fields
            if name not in _NOT_PHYSICS
        }
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return to_jsonable_python(value)


def canonical_json(resolved: ResolvedScenario) -> str:
    """The resolved scenario as canonical JSON: everything a run reads except the seed."""
    scenario = _plain(resolved.scenario)
    scenario.pop("seed", None)  # the seed a point runs with is keyed on its own
    payload = {
        "scenario": scenario,
        "cluster": _plain(resolved.cluster),
        "jobs": [
            {"name": j.name, "spec": _plain(j.spec), "gpu": _plain(j.gpu)} for j in resolved.jobs
        ],
        "rack_gpus": {
            name: _plain(gpu) for name, gpu in sorted(resolved.effective.rack_gpus.items())
        },
        "reliability": _plain(resolved.reliability),
        "consts": _plain(resolved.consts),
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)


def point_key(resolved: ResolvedScenario, seed: int) -> str:
    """The store key of one run: hash of the canonical scenario, the seed and the version."""
    return key_of(canonical_json(resolved), seed)


@functools.cache
def code_fingerprint() -> str:
    """Hash of the package's own source: a stored point made by other code (an edited
    checkout at the same version) is not reused."""
    digest = hashlib.sha256()
    root = Path(colossus_sim.__file__).parent
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def key_of(scenario_json: str, seed: int) -> str:
    """The store key of a scenario's canonical JSON run with ``seed``."""
    text = json.dumps(
        {
            "format": STORE_FORMAT,
            "version": colossus_sim.__version__,
            "code": code_fingerprint(),
            "seed": seed,
            "scenario": scenario_json,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def store_path(store: Path, key: str) -> Path:
    """Where a point's result lives in a store."""
    return store / f"{key}.parquet"


def clean_stale(store: Path) -> None:
    """Remove temporary files a killed writer left (not one another sweep is writing now)."""
    now = time.time()
    for stale in store.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            if now - stale.stat().st_mtime > STALE_TMP_S:
                stale.unlink()


def point_parquet(frame: pd.DataFrame, key: str, seed: int, scenario_json: str) -> bytes:
    """A point's jobs table as Parquet, with its key, seed, version and scenario as metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[b"colossus_sim"] = json.dumps(
        {
            "key": key,
            "seed": seed,
            "version": colossus_sim.__version__,
            "format": STORE_FORMAT,
            "scenario": json.loads(scenario_json),
        },
        sort_keys=True,
    ).encode()
    sink = pa.BufferOutputStream()
    pq.write_table(table.replace_schema_metadata(meta), sink, compression="zstd")
    return bytes(sink.getvalue().to_pybytes())


def tidy_frame(sweep: SweepPlan, store: Path) -> pd.DataFrame:
    """One row per point and job: ``point``, the grid paths, ``seed``, the jobs table; for a
    grid path given relative values, ``attrs["grid_given"]`` maps its numbers to them;
    ``attrs["scenario"]`` names the scenario and the overrides every point shares."""
    import pandas as pd
    import pyarrow.parquet as pq

    tables: dict[str, pd.DataFrame] = {}
    frames = []
    for point in sweep.points:
        if point.key not in tables:
            data = store_path(store, point.key).read_bytes()
            tables[point.key] = pq.read_table(io.BytesIO(data)).to_pandas()
        frames.append(tables[point.key])
    counts = [len(f) for f in frames]

    def repeat(values: Sequence[Any]) -> list[Any]:
        return [v for v, n in zip(values, counts, strict=True) for _ in range(n)]

    left = pd.DataFrame(
        {
            "point": repeat([p.index for p in sweep.points]),
            **{
                path: repeat([p.values[i] for p in sweep.points])
                for i, path in enumerate(sweep.paths)
            },
            "seed": repeat([p.seed for p in sweep.points]),
        }
    )
    right = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    frame = pd.concat([left, right], axis=1)
    frame.attrs["scenario"] = sweep.name  # what the points share, for titles
    frame.attrs["version"] = colossus_sim.__version__
    if sweep.given:
        frame.attrs["grid_given"] = sweep.given  # e.g. 4080 was given as +20%: for labels
    return frame
