"""Mutated inputs for the fuzz test and ``benchmarks/fuzz_offline.py``.

Every case starts from a real file (``scenarios/*.yaml``, ``workloads/*.yaml``) or from the
default scenario plus a random ``--set``. A ``random.Random`` drives the mutations, so a case
is reproducible from its seed: keys dropped, retyped, renamed or duplicated at any depth,
extreme values (-1, 0, NaN, inf, 1e308, huge ints, empty strings, lists where mappings belong),
and byte-level damage (truncation, non-UTF-8 bytes, a line doubled or deleted).

``run_case`` invokes the CLI in process and returns ``(exit_code, problem)``; ``problem`` is
``None`` unless the command crashed (an exception other than a clean exit, an exit code other
than 0/2, or "Traceback" in the output).
"""

from __future__ import annotations

import copy
import io
import math
import random
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ruamel.yaml import YAML
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
SHORT = "horizon_days=0.5"  # keeps every run to well under a second

EXTREMES: list[Any] = [
    -1,
    0,
    1,
    -(10**30),
    10**30,
    2**63,
    1e308,
    -1e308,
    1e-308,
    math.nan,
    math.inf,
    -math.inf,
    0.5,
    "",
    " ",
    "x" * 300,
    "gb300",
    "grok5_10t",
    "colossus2",
    "+20%",
    True,
    False,
    None,
    [],
    {},
    [1, 2],
    ["a", {"b": 1}],
    {"a": 1},
    {"source": 1},
]

SET_PATHS = [
    "horizon_days",
    "seed",
    "cluster",
    "name",
    "title",
    "extends",
    "jobs",
    "jobs.grok5_10t",
    "jobs.grok5_10t.racks",
    "jobs.grok5_10t.max_racks",
    "jobs.grok5_10t.gpu",
    "jobs.grok5_10t.workload",
    "jobs.grok5_10t.priority",
    "jobs.grok5_10t.on_rack_loss",
    "jobs.imagine_v2.racks",
    "jobs.new_job.racks",
    "jobs.nope",
    "scheduler.policy",
    "scheduler.spare_racks.gb300",
    "scheduler.spare_racks.gb200",
    "scheduler.spare_racks.h100",
    "failures.enabled",
    "failures.model",
    "failures.rate_multiplier",
    "failures.repair_multiplier",
    "checkpoint.mode",
    "checkpoint.bytes_per_param",
    "checkpoint.storage_tb_per_s",
    "checkpoint.host_copy_gb_per_s",
    "checkpoint.max_interval_minutes",
    "checkpoint.restart_minutes",
    "checkpoint.interval_policy",
    "checkpoint.interval_steps",
    "checkpoint.local_nvme",
    "checkpoint.local_nvme.tb_per_tray",
    "jobs.grok5_10t.checkpoint_to",
    "recovery",
    "recovery.detection_s",
    "recovery.comm_init_s_per_1k_gpus",
    "recovery.snapshot_interval_steps",
    "jobs.grok5_10t.recovery",
    "power.facility_cap_mw",
    "power.policy",
    "provenance",
    "provenance.seed",
    "expect",
    "expect.cluster.failures",
    "expect.jobs.grok5_10t.goodput.value",
    "failures.rate_multipler",
    "a.b.c",
    "",
    ".",
    "jobs..racks",
]

SET_VALUES = [
    "0",
    "-1",
    "1e308",
    "-1e308",
    ".nan",
    ".inf",
    "-.inf",
    "99999999999999999999999999",
    "1e-300",
    "",
    "''",
    "[]",
    "{}",
    "[1, 2]",
    "{a: 1}",
    "+20%",
    "-100%",
    "+1e308%",
    "-200%",
    "+nan%",
    "+x%",
    "true",
    "null",
    "spread",
    "optimal",
    "local_nvme",
    "gb200",
    "grok5_6t",
    "{racks: 4}",
    "{racks: 100000}",
    "{source: x}",
    "[: bad",
    "'unterminated",
    "&a b",
    "*a",
    "!!python/object:os.system x",
    "\x00",
    "é",
]


@dataclass(frozen=True)
class Case:
    """One fuzzed input: the CLI arguments and, for file cases, the bytes to write first."""

    label: str
    args: list[str]
    content: bytes | None = None
    filename: str = "fuzz.yaml"


def base_files() -> list[Path]:
    return sorted((ROOT / "scenarios").glob("*.yaml")) + sorted((ROOT / "workloads").glob("*.yaml"))


_BASES: dict[Path, Any] = {}


def _base_data(path: Path) -> Any:
    if path not in _BASES:
        _BASES[path] = YAML(typ="safe").load(path.read_text())
    return _BASES[path]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out.extend(_paths(value, (*prefix, index)))
    return out


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


def _extreme(rng: random.Random) -> Any:
    value = rng.choice(EXTREMES)
    return copy.deepcopy(value)


def _mutate_tree(data: Any, rng: random.Random) -> None:
    """One structural mutation somewhere in ``data`` (modified in place)."""
    candidates = [p for p in _paths(data) if p]
    if not candidates:
        return
    path = rng.choice(candidates)
    parent = _get(data, path[:-1])
    key = path[-1]
    op = rng.choice(["drop", "retype", "retype", "rename", "listify", "nest", "scale"])
    if op == "drop":
        del parent[key]
    elif op == "retype":
        parent[key] = _extreme(rng)
    elif op == "rename" and isinstance(parent, dict):
        value = parent.pop(key)
        new = rng.choice(
            [
                str(key)[:-1] or "x",
                str(key) + "s",
                str(key).upper(),
                "",
                "0",
                "unknown_key",
                "provenance",
                "extends",
                "kind",
            ]
        )
        parent[new] = value
    elif op == "listify":
        value = parent[key]
        parent[key] = list(value.values()) if isinstance(value, dict) else [value]
    elif op == "nest":
        parent[key] = {"value": parent[key]}
    elif op == "scale":
        value = parent[key]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            factor = rng.choice([-1, 0, 10**20, 1e-20, 1e300, 0.5, 2])
            parent[key] = value * factor


def _dump(data: Any) -> bytes:
    stream = io.StringIO()
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    yaml.dump(data, stream)
    return stream.getvalue().encode("utf-8")


def _damage_bytes(raw: bytes, rng: random.Random) -> bytes:
    op = rng.choice(["truncate", "binary", "double_line", "drop_line", "tab", "empty"])
    if op == "truncate":
        return raw[: rng.randrange(len(raw) + 1)]
    if op == "binary":
        at = rng.randrange(len(raw) + 1)
        return (
            raw[:at]
            + rng.choice([b"\xff\xfe", b"\x80", b"\xc3", b"\x00", b"\xed\xa0\x80"])
            + raw[at:]
        )
    lines = raw.split(b"\n")
    if op == "double_line" and lines:
        at = rng.randrange(len(lines))
        lines.insert(at, lines[at])  # duplicates a key at that level
    elif op == "drop_line" and lines:
        del lines[rng.randrange(len(lines))]
    elif op == "tab" and lines:
        at = rng.randrange(len(lines))
        lines[at] = b"\t" + lines[at]
    elif op == "empty":
        return rng.choice([b"", b"\n", b"# only a comment\n", b"---\n", b"~\n", b"[]\n", b"42\n"])
    return b"\n".join(lines)


def file_case(rng: random.Random) -> Case:
    """A real scenario or workload file, mutated."""
    path = rng.choice(base_files())
    data = copy.deepcopy(_base_data(path))
    for _ in range(rng.randint(1, 3)):
        _mutate_tree(data, rng)
    raw = _dump(data) if not isinstance(data, str) else data.encode()
    if rng.random() < 0.25:
        raw = _damage_bytes(raw, rng)
    scenario = path.parent.name == "scenarios"
    args = ["run", "--set", SHORT] if scenario else ["step"]
    return Case(
        label=f"{path.parent.name}/{path.name}",
        args=args,
        content=raw,
        filename=path.name,
    )


def set_case(rng: random.Random) -> Case:
    """The default scenario with one to three random ``--set`` strings."""
    sets: list[str] = []
    for _ in range(rng.randint(1, 3)):
        kind = rng.random()
        if kind < 0.1:
            sets.append(rng.choice(["", "=", "noequals", "=5", "a=b=c", "  =  ", "jobs"]))
        else:
            sets.append(f"{rng.choice(SET_PATHS)}={rng.choice(SET_VALUES)}")
    args = ["run", "--set", SHORT]
    for text in sets:
        args += ["--set", text]
    return Case(label="--set " + " --set ".join(sets), args=args)


def make_case(rng: random.Random) -> Case:
    return set_case(rng) if rng.random() < 0.3 else file_case(rng)


_runner = CliRunner()


def run_case(cli: ModuleType, case: Case, folder: Path) -> tuple[int, str | None]:
    """Run one case through the CLI in process: ``(exit code, crash description or None)``."""
    args = list(case.args)
    if case.content is not None:
        # a folder of its own: a file extending a parent finds it beside itself first
        path = Path(tempfile.mkdtemp(dir=folder)) / case.filename
        path.write_bytes(case.content)
        # a file path goes right after the command name
        args.insert(1, str(path))
    result = _runner.invoke(cli.app, args)
    code = result.exit_code
    problem: str | None = None
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        assert result.exc_info is not None
        problem = "".join(traceback.format_exception(*result.exc_info))
    elif code not in (0, 2):
        problem = f"exit code {code}\n{result.output}"
    elif "Traceback" in result.output:
        problem = result.output
    return code, problem
