"""Loading a scenario: the file, ``--set`` overrides, and the checks that need other files.

``load_scenario`` reads ``scenarios/<name>.yaml`` (or a path) with its ``extends:`` parents
merged (``config/extends.py``), applies ``PATH=VALUE`` overrides to the raw data before
validation — so an override is checked exactly like the file — checks its ``expect:`` figure
paths (``figures.py``) and resolves every job's workload, GPU type and the cluster. Problems are
``ScenarioError``s naming the file and line, or the ``--set`` argument; a problem of a phase's
job (``grok5_10t/rl``) names the phase's field (``jobs.grok5_10t.phases.rl.racks``).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from colossus_sim import paths
from colossus_sim.config.cluster import ClusterSpec
from colossus_sim.config.extends import own_provenance_issues, read_layered
from colossus_sim.config.load import (
    _display,
    load_cluster,
    load_file,
    load_perf_constants,
)
from colossus_sim.config.perf_constants import PerfConstants
from colossus_sim.config.phases import SEPARATOR as PHASE_SEPARATOR
from colossus_sim.config.phases import written_field
from colossus_sim.config.relative import is_relative_text, relative_pct, scalable, scaled
from colossus_sim.config.reliability import ReliabilitySpec
from colossus_sim.config.scenario import Scenario, ScenarioJob
from colossus_sim.config.yamlio import YamlDocument, dotted, issues_from_validation
from colossus_sim.effective import EffectiveValues, effective_values
from colossus_sim.errors import Issue, ScenarioError
from colossus_sim.figures import expect_issues
from colossus_sim.scenario_checks import (
    ResolvedJob,
    check_after,
    check_checkpoint_tiers,
    check_racks,
    check_recovery,
    resolve_job,
    resolve_trace,
)

SET_OPTION = "--set"


def scenarios_dir() -> Path:
    return paths.data_root() / "scenarios"


def default_scenario_path() -> Path:
    return scenarios_dir() / "colossus2.yaml"


@dataclass(frozen=True)
class Override:
    """One ``--set PATH=VALUE``: a dotted path and a value (``+20%`` scales the current one)."""

    text: str
    path: tuple[str, ...]
    value: Any
    relative_pct: float | None


def parse_override(text: str) -> Override:
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ScenarioError.at(
            f"{SET_OPTION} {text}",
            "expected PATH=VALUE",
            expected="e.g. failures.rate_multiplier=2",
        )
    raw = raw.strip()
    if is_relative_text(raw):
        try:
            pct = relative_pct(raw)
        except ValueError:
            raise ScenarioError.at(
                f"{SET_OPTION} {key}", "not a relative change", got=repr(raw), expected="e.g. +20%"
            ) from None
        return Override(text=text, path=tuple(key.split(".")), value=None, relative_pct=pct)
    if raw[:1] == "+" and _is_number(raw[1:]):
        raise ScenarioError.at(
            f"{SET_OPTION} {key}",
            "a '+' without '%' is ambiguous",
            got=repr(raw),
            expected=f"{raw}% to change the value by {raw[1:]}%, or {raw[1:]} to set it",
        )
    try:
        value = YAML(typ="safe").load(raw) if raw else ""
    except YAMLError:
        value = raw
    return Override(text=text, path=tuple(key.split(".")), value=value, relative_pct=None)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _apply(data: dict[str, Any], override: Override, model: type[BaseModel]) -> None:
    """Write one override into the raw scenario data, naming the first key that does not exist."""
    node: Any = data
    where = f"{SET_OPTION} {'.'.join(override.path)}"
    for depth, key in enumerate(override.path):
        last = depth == len(override.path) - 1
        allowed = _keys_at(model, data, override.path[:depth])
        if isinstance(node, dict) and key not in node and key not in allowed:
            choices = sorted(set(allowed) | set(node))
            close = difflib.get_close_matches(key, choices, n=1, cutoff=0.5)
            raise ScenarioError.at(
                where,
                f"'{key}' is not a key of {'.'.join(override.path[:depth]) or 'the scenario'}",
                expected="one of " + ", ".join(choices) if choices else "a key the file has",
                suggestion=_phase_path(override.path, depth, node) or (close[0] if close else None),
            )
        if not isinstance(node, dict):
            raise ScenarioError.at(where, f"'{'.'.join(override.path[:depth])}' has no keys")
        if last:
            if override.relative_pct is not None:
                current = node.get(key)
                if not scalable(current):
                    raise ScenarioError.at(
                        where, "a relative change needs a number to change", got=repr(current)
                    )
                try:
                    node[key] = scaled(current, override.relative_pct)
                except OverflowError:
                    raise ScenarioError.at(
                        where,
                        "the relative change overflows",
                        got=f"{current!r} {raw_pct(override)}",
                    ) from None
            else:
                node[key] = override.value
        else:
            node = node.setdefault(key, {})


def _phase_path(path: tuple[str, ...], depth: int, jobs: Any) -> str | None:
    """``jobs.<job>/<phase>.…`` names a phase's job as results do; the file's path to it is
    ``jobs.<job>.phases.<phase>.…``."""
    if depth != 1 or path[0] != "jobs" or not isinstance(jobs, dict):
        return None
    job, sep, phase = path[1].partition(PHASE_SEPARATOR)
    owner = jobs.get(job)
    phases = owner.get("phases") if isinstance(owner, dict) else None
    if not sep or not isinstance(phases, dict) or phase not in phases:
        return None
    return ".".join(("jobs", job, "phases", phase, *path[2:]))


def raw_pct(override: Override) -> str:
    return override.text.partition("=")[2].strip()


def _label_as_what_if(data: dict[str, Any], override: Override) -> None:
    """A value set on the command line is the user's what-if: label it so in ``provenance``
    (the provenance rule then holds without the user writing a reason for an experiment)."""
    node: Any = data
    for key in override.path:
        node = node.get(key) if isinstance(node, dict) else None
    provenance = data.get("provenance")
    if node is None or isinstance(node, dict) or not isinstance(provenance, dict):
        return
    provenance[".".join(override.path)] = {"assumption": f"what-if: --set {override.text}"}


def _keys_at(model: type[BaseModel], data: dict[str, Any], prefix: tuple[str, ...]) -> list[str]:
    """Keys the schema accepts under ``prefix`` (for mapping fields: the keys present)."""
    from colossus_sim.config.yamlio import _allowed_keys

    node: Any = data
    for key in prefix:
        node = node.get(key, {}) if isinstance(node, dict) else {}
    present = list(node) if isinstance(node, dict) else []
    if prefix[:1] == ("jobs",) and (len(prefix) == 1 or prefix[2:] == ("phases",)):
        return present  # job and phase names: only those in the file
    return _allowed_keys(model, prefix) or present


@dataclass(frozen=True)
class ResolvedScenario:
    """A validated scenario with every file it refers to loaded."""

    scenario: Scenario
    cluster: ClusterSpec
    jobs: list[ResolvedJob]
    reliability: ReliabilitySpec
    consts: PerfConstants
    effective: EffectiveValues
    """The what-if values the run uses, resolved once (``effective.py``)."""
    source: str
    error_at: Callable[..., ScenarioError] = ScenarioError.at
    overrides: tuple[str, ...] = ()
    """The ``--set`` what-ifs applied to the file, as given."""
    """Builds a ScenarioError at a field, located in the file or blamed on its ``--set``:
    for checks that can only be made once the run is set up (e.g. a power cap too low)."""


def load_scenario(
    path: str | Path | None = None, overrides: list[str] | None = None
) -> ResolvedScenario:
    """Read, override, validate and resolve a scenario (default: ``scenarios/colossus2.yaml``)."""
    file = _resolve_path(path)
    doc = read_layered(file, _display, scenarios_dir())  # with its extends: ancestors, merged
    data = copy.deepcopy(doc.data)
    parsed = [parse_override(text) for text in overrides or []]
    for override in parsed:
        _apply(data, override, Scenario)
        _label_as_what_if(data, override)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        issues = issues_from_validation(exc, Scenario, doc, validated=data)
        raise ScenarioError([_blame_override(issue, parsed) for issue in issues]) from None
    own = own_provenance_issues(doc)
    if own:
        raise ScenarioError(own)
    if scenario.expect:
        bad = expect_issues(scenario, doc.locate)
        if bad:
            raise ScenarioError(bad)
    resolved = _resolve(scenario, doc, parsed, file.parent)
    return dataclasses.replace(resolved, overrides=tuple(o.text for o in parsed))


def _resolve_path(path: str | Path | None) -> Path:
    if path is None:
        return default_scenario_path()
    candidate = Path(path)
    if candidate.suffix in {".yaml", ".yml"} or candidate.parent != Path("."):
        return candidate
    named = scenarios_dir() / f"{candidate}.yaml"
    if paths.is_file(named):
        return named
    names = sorted(p.stem for p in scenarios_dir().glob("*.yaml"))
    close = difflib.get_close_matches(str(candidate), names, n=1, cutoff=0.5)
    raise ScenarioError(
        [
            Issue(
                message="unknown scenario",
                field="scenario",
                got=repr(str(path)),
                expected="a YAML path or one of " + ", ".join(names),
                suggestion=close[0] if close else None,
            )
        ]
    )


def _blame_override(issue: Issue, overrides: list[Override]) -> Issue:
    """An issue at a path an override wrote (or at the same job) names the ``--set`` argument:
    the last override that wrote the path (the one in effect), else the last at the same job."""
    field = tuple(issue.field.split("."))

    def wrote(override: Override) -> bool:
        joined = ".".join(override.path)
        return issue.field == joined or issue.field.startswith(joined + ".")

    def same_job(override: Override) -> bool:
        return field[:1] == ("jobs",) and field[:2] == override.path[:2]

    for matches in (wrote, same_job):
        for override in reversed(overrides):
            if matches(override):
                return Issue(
                    message=issue.message,
                    field=f"{SET_OPTION} {override.text}",
                    got=issue.got,
                    expected=issue.expected,
                    suggestion=issue.suggestion,
                )
    return issue


class _Fail:
    """Builds the ``ScenarioError`` of a check made at resolve time: blamed on the ``--set``
    that wrote the field, else located in the file. A phase's job's field is the phase's
    (``config/phases.written_field``)."""

    def __init__(
        self, doc: YamlDocument, overrides: list[Override], jobs: Mapping[str, ScenarioJob]
    ) -> None:
        self.doc = doc
        self.overrides = overrides
        self.jobs = jobs

    def __call__(
        self,
        field: str,
        message: str,
        got: str | None = None,
        expected: str | None = None,
        suggestion: str | None = None,
    ) -> ScenarioError:
        field = written_field(self.jobs, field)
        issue = Issue(message, field, got=got, expected=expected, suggestion=suggestion)
        blamed = _blame_override(issue, self.overrides)
        if blamed is not issue:
            return ScenarioError([blamed])
        return ScenarioError([issue]).with_location(self.doc.locate)


def _resolve(
    scenario: Scenario, doc: YamlDocument, overrides: list[Override], folder: Path
) -> ResolvedScenario:
    """Load what ``scenario`` names and check it; ``folder``: where its file is."""
    fail = _Fail(doc, overrides, scenario.jobs)
    try:
        cluster = load_cluster(scenario.cluster)
    except ScenarioError as exc:
        raise fail(
            "cluster", "unknown cluster", got=repr(scenario.cluster), suggestion=exc.suggestion
        ) from None
    if not scenario.jobs:
        raise fail("jobs", "a scenario needs at least one job")
    jobs = [resolve_job(name, job, cluster, fail) for name, job in scenario.jobs.items()]
    if scenario.trace is not None:
        path = _trace_path(scenario.trace.file, folder, fail)
        jobs += resolve_trace(scenario.trace, path, scenario, cluster, fail)
    check_after(scenario, fail)
    check_racks(scenario, cluster, jobs, fail)
    check_recovery(scenario, fail)
    model_path = paths.topologies_dir() / f"{scenario.failures.model}.yaml"
    if not paths.is_file(model_path):
        raise fail(
            "failures.model",
            "no such failure model in topologies/",
            got=repr(scenario.failures.model),
        )
    reliability = load_file(ReliabilitySpec, model_path)
    check_checkpoint_tiers(scenario, jobs, reliability.tray_gpus, fail)
    return ResolvedScenario(
        error_at=fail,
        scenario=scenario,
        cluster=cluster,
        jobs=jobs,
        reliability=reliability,
        consts=load_perf_constants(),
        effective=effective_values(scenario, cluster, reliability),
        source=doc.file,
    )


def _trace_path(file: str, beside: Path, fail: _Fail) -> Path:
    """A trace file: as given, beside the scenario, or in ``workloads/traces/``."""
    given = Path(file)
    for candidate in (given, beside / given, paths.workloads_dir() / "traces" / given):
        if (given.is_absolute() or candidate is not given) and paths.is_file(candidate):
            return candidate
    raise fail(
        "trace.file",
        "no such trace file (looked beside the scenario and in workloads/traces/)",
        got=repr(file),
    )


__all__ = ["ResolvedScenario", "dotted", "load_scenario", "parse_override"]
