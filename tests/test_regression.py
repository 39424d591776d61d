"""``colossus-sim check``, ``expect:`` and ``extends:``: drift → exit 1, ``--update`` keeps the
file's comments, JUnit XML, typo'd figure paths and broken inheritance → exit 2 with file:line."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest
from children import HAS_PROC, run_killing_a_worker
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from colossus_sim import api, regression
from colossus_sim.errors import ScenarioError
from colossus_sim.regression import FigurePathError, figure_paths, figure_value, parse_figure

runner = CliRunner()
LIBRARY = regression.scenarios_folder()
JOBS = [job.name for job in api.load_scenario().jobs]

#: A short what-if for tests: two days of the default scenario (runs in about a second).
SHORT = """\
# A two-day run of the default scenario, for the tests.
extends: colossus2
name: {name}
title: two days
horizon_days: 2   # short: the jobs' times to train are projected
provenance:
  horizon_days: {{assumption: "Short, so that the test runs fast."}}
# The baselines.
expect:
  # A count.
  cluster.failures: {{value: 1, rel_tol: 0.05}}
  jobs.grok5_10t.gpu_hours.productive:   {{value: 2.5, rel_tol: 0.01}}   # aligned on purpose
  jobs.grok5_10t.step_s:
    value: 3.0     # block style
    abs_tol: 0.001
"""


def _invoke(cli: ModuleType, *args: str) -> tuple[int, str]:
    result = runner.invoke(cli.app, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def _copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / f"{name}.yaml"
    target.write_text((LIBRARY / f"{name}.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    return target


def _nudge(path: Path, figure: str, factor: float) -> float:
    """Multiply one expected value in the file's text by ``factor``; return the new value."""
    text = path.read_text(encoding="utf-8")
    match = re.search(rf"^  {re.escape(figure)}: {{value: ([^,]+),", text, flags=re.M)
    assert match, figure
    new = float(match.group(1)) * factor
    path.write_text(text[: match.start(1)] + repr(new) + text[match.end(1) :], encoding="utf-8")
    return new


def _row(output: str, *fragments: str) -> str:
    rows = [line for line in output.splitlines() if all(f in line for f in fragments)]
    assert rows, f"no row with {fragments} in:\n{output}"
    return rows[0]


def test_a_nudged_value_drifts_exit_1_with_its_row_and_junit(
    cli_module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # scenarios are named relative to the working directory
    path = _copy(tmp_path, "spread")
    _nudge(path, "jobs.grok5_10t.time_to_train_days", 1.10)  # 10% off, tolerance ±4%
    junit = tmp_path / "out" / "check.xml"
    code, output = _invoke(cli_module, "check", str(path), "--junit", str(junit))
    assert code == 1, output
    row = _row(output, "jobs.grok5_10t.time_to_train_days")
    assert "DRIFT" in row and "±4%" in row and "spread.yaml" in row
    assert "-9.0" in row  # got is ~9% below the nudged value
    assert "ok" in _row(output, "cluster.productive_frac")
    assert "1 drifted" in output
    assert re.search(r"\d+\.\d s on \d+ worker", output)  # the check reports its timing

    suites = ET.parse(junit).getroot()
    assert suites.tag == "testsuites"
    assert [s.get("name") for s in suites.findall("testsuite")] == ["spread.yaml"]
    cases = suites.findall("testsuite/testcase")
    assert [c.get("name") for c in cases] == [
        "jobs.grok5_10t.time_to_train_days",
        "jobs.grok5_10t.step_s",
        "jobs.grok5_10t.fabric.bw_frac",
        "cluster.productive_frac",
    ]
    assert suites.get("tests") == "4" and suites.get("failures") == "1"
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["jobs.grok5_10t.time_to_train_days"]
    assert "expected" in (failed[0].find("failure").get("message") or "")  # type: ignore[union-attr]
    assert not list(junit.parent.glob(".*.tmp"))  # written via a temporary file and a rename


def test_update_rewrites_values_keeps_comments_then_check_passes(
    cli_module: ModuleType, tmp_path: Path
) -> None:
    path = tmp_path / "short.yaml"
    before = SHORT.format(name="short")
    path.write_text(before, encoding="utf-8")
    code, output = _invoke(cli_module, "check", str(path), "--workers", "1")
    assert code == 1, output

    code, output = _invoke(cli_module, "check", str(path), "--update")
    assert code == 0, output
    assert "updated" in output and "cluster.failures 1 →" in output
    after = path.read_text(encoding="utf-8")
    numbers = re.compile(r"value: [-+0-9.e]+")
    assert numbers.sub("value: N", after) == numbers.sub("value: N", before)  # only values moved
    assert "# aligned on purpose" in after and "# The baselines." in after

    code, output = _invoke(cli_module, "check", str(path))
    assert code == 0, output
    assert "all hold" in output
    code, output = _invoke(cli_module, "check", str(path), "--update")
    assert code == 0 and "nothing moved" in output
    assert path.read_text(encoding="utf-8") == after


def test_update_through_a_link_rewrites_the_file_it_names_and_keeps_its_mode(
    cli_module: ModuleType, tmp_path: Path
) -> None:
    """The link stays a link to the same file, the file gets the new values and keeps its mode
    (an update used to replace the link with a new 0600 file and leave the target stale)."""
    real = tmp_path / "library" / "short.yaml"
    real.parent.mkdir()
    real.write_text(SHORT.format(name="short"), encoding="utf-8")
    real.chmod(0o640)
    link = tmp_path / "short.yaml"
    link.symlink_to(real)
    code, output = _invoke(cli_module, "check", str(link), "--update")
    assert code == 0 and "updated" in output, output
    assert link.is_symlink() and link.resolve() == real
    assert real.stat().st_mode & 0o777 == 0o640
    assert "cluster.failures: {value: 1," not in real.read_text(encoding="utf-8")
    assert sorted(p.name for p in real.parent.iterdir()) == ["short.yaml"]


def test_update_of_a_read_only_file_is_exit_2_before_any_run(
    cli_module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("ran a scenario it could not update")

    monkeypatch.setattr("colossus_sim.regression.run._run_all", refuse)
    path = tmp_path / "short.yaml"
    path.write_text(SHORT.format(name="short"), encoding="utf-8")
    path.chmod(0o444)
    code, output = _invoke(cli_module, "check", str(path), "--update")
    assert code == 2, output
    assert f"{path}: --update cannot rewrite it: it is read-only (mode 0444)" in output
    assert path.read_text(encoding="utf-8") == SHORT.format(name="short")


def test_the_pool_keeps_the_input_order(cli_module: ModuleType, tmp_path: Path) -> None:
    names = ["zulu", "alpha"]
    files = []
    for name in names:
        files.append(tmp_path / f"{name}.yaml")
        files[-1].write_text(SHORT.format(name=name), encoding="utf-8")
    parallel = regression.check(files, workers=2)
    assert parallel.workers == 2
    assert [run.name for run in parallel.runs] == [str(f) for f in files]
    serial = regression.check(files, workers=1)
    assert [[c.got for c in r.checks] for r in parallel.runs] == [
        [c.got for c in r.checks] for r in serial.runs
    ]
    assert parallel.runs[0].checks[0].got == parallel.runs[1].checks[0].got  # same scenario


@pytest.mark.skipif(not HAS_PROC, reason="reads Linux's /proc")
def test_a_killed_worker_stops_the_check_with_exit_1_saying_so(tmp_path: Path) -> None:
    """A worker process killed mid-check (the kernel's OOM killer, a kill): exit 1 saying a
    worker died and that there is no verdict, with no traceback (it printed
    BrokenProcessPool's)."""
    files = []
    for name in ("first", "second"):
        files.append(tmp_path / f"{name}.yaml")
        files[-1].write_text(
            SHORT.format(name=name).replace("horizon_days: 2 ", "horizon_days: 40 ")
        )
    code, stderr = run_killing_a_worker("check", *map(str, files), "--workers", "2", workers=2)
    assert code == 1, stderr
    assert "a worker process died" in stderr and "stopped before its verdict" in stderr
    assert "Traceback" not in stderr


def test_a_typo_in_an_expect_path_is_exit_2_with_its_line(
    cli_module: ModuleType, tmp_path: Path
) -> None:
    path = _copy(tmp_path, "failures_2x")
    text = path.read_text(encoding="utf-8").replace(
        "jobs.grok5_10t.goodput", "jobs.grok5_10t.godput"
    )
    path.write_text(text, encoding="utf-8")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "godput" in t)
    code, output = _invoke(cli_module, "check", str(path))
    assert code == 2, output
    assert f"failures_2x.yaml:{line}:3: expect.jobs.grok5_10t.godput" in output
    assert "did you mean 'goodput'" in output
    code, output = _invoke(cli_module, "run", str(path))  # loading alone rejects it
    assert code == 2 and f"failures_2x.yaml:{line}:" in output


@pytest.mark.parametrize(
    ("figure", "message"),
    [
        ("jobs.grok5_1t.goodput", "unknown job 'grok5_1t'"),
        ("cluster.productive_frac.x", "is a number; it has no 'x'"),
        ("jobs.grok5_10t.finished", "is not a number"),
        ("jobs.grok5_10t.gpu", "is not a number"),
        ("jobs.grok5_10t.gpu_hours", "name one of its parts"),
        ("jobs.grok5_10t.gpu_hours.idle", "unknown key of jobs.grok5_10t.gpu_hours"),
        ("clusters.failures", "did you mean 'cluster'"),
        ("jobs", "name a job"),
        ("cluster..failures", "empty part"),
    ],
)
def test_bad_figure_paths_say_why(figure: str, message: str) -> None:
    with pytest.raises(FigurePathError) as info:
        parse_figure(figure, JOBS)
    rendered = f"{info.value} {info.value.expected} did you mean '{info.value.suggestion}'"
    assert message in rendered


@pytest.fixture(scope="module")
def short_summary() -> dict[str, object]:
    return api.simulate(overrides=["horizon_days=1"]).summary()


_TOKENS = ["jobs", "cluster", *JOBS, "goodput", "gpu_hours", "productive", "idle", "plan", "tp"]
_TOKENS += ["failures", "productive_frac", "finished", "gpu", "time_to_train_days", "x", ""]


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.sampled_from(_TOKENS), min_size=1, max_size=4))
def test_a_path_parses_exactly_when_the_schema_has_that_number(parts: list[str]) -> None:
    path = ".".join(parts)
    valid = set(figure_paths(JOBS))
    try:
        figure = parse_figure(path, JOBS)
    except FigurePathError:
        assert path not in valid
    else:
        assert path in valid
        assert figure.parts == tuple(parts)


def test_every_schema_path_reads_a_number_from_a_run(short_summary: dict[str, object]) -> None:
    paths = figure_paths(JOBS)
    assert "jobs.grok5_10t.gpu_hours.productive" in paths
    assert "cluster.gpu_hours.idle" in paths and "jobs.grok5_10t.plan.tp" in paths
    assert "jobs.grok5_10t.finished" not in paths  # a bool is not a figure
    for path in paths:
        value = figure_value(short_summary, parse_figure(path, JOBS))
        assert value is None or isinstance(value, int | float), path


def test_rewrite_touches_only_the_value_tokens() -> None:
    text = (
        "expect:\r\n"
        "  a.b: {value: 1.5,  rel_tol: 0.1}  # c\r\n"
        "  c.d:\r\n"
        "    value: -2     # keep\r\n"
        "    abs_tol: 1\r\n"
    )
    new = regression.rewrite_values(text, {"a.b": "14702500.0", "c.d": "3"}, "t.yaml")
    assert new == text.replace("1.5,", "14702500.0,").replace("value: -2 ", "value: 3 ")


# ---------------------------------------------------------------------------- extends
def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_extends_cycle_is_exit_2(cli_module: ModuleType, tmp_path: Path) -> None:
    _write(tmp_path, "one", "extends: two\nname: one\ntitle: one\n")
    _write(tmp_path, "two", "name: two\ntitle: two\nextends: one.yaml\n")
    code, output = _invoke(cli_module, "check", str(tmp_path / "one.yaml"))
    assert code == 2, output
    assert "two.yaml:3:1: extends: extends cycle:" in output
    assert "one.yaml → " in output and "two.yaml → " in output


def test_a_missing_parent_is_exit_2_with_a_suggestion(
    cli_module: ModuleType, tmp_path: Path
) -> None:
    _write(tmp_path, "child", "name: c\ntitle: c\nextends: colossus3\n")
    _write(tmp_path, "other", "name: c\ntitle: c\nextends: ../nowhere/base.yaml\n")
    code, output = _invoke(cli_module, "check", str(tmp_path))
    assert code == 2, output
    assert "child.yaml:3:1: extends: unknown parent scenario" in output
    assert "did you mean 'colossus2'" in output
    assert "other.yaml:3:1: extends: parent scenario not found" in output


def test_errors_point_at_the_file_that_wrote_the_key(tmp_path: Path) -> None:
    base = (LIBRARY / "colossus2.yaml").read_text(encoding="utf-8")
    base = base.replace("{racks: 128,  priority: 1}", "{racks: 0,  priority: 1}")
    _write(tmp_path, "base", base)
    parent_line = next(i for i, t in enumerate(base.splitlines(), 1) if "racks: 0," in t)
    child = _write(
        tmp_path,
        "child",
        "extends: base\nname: c\ntitle: c\nfailures:\n  rate_multiplier: -1\n"
        "provenance:\n  failures.rate_multiplier: {assumption: x}\n",
    )
    with pytest.raises(ScenarioError) as info:
        api.load_scenario(child)
    where = {(Path(i.file or "").name, i.line, i.field) for i in info.value.issues}
    assert ("child.yaml", 5, "failures.rate_multiplier") in where
    assert ("base.yaml", parent_line, "jobs.imagine_v2.racks") in where


def test_a_child_merges_over_its_parent_and_sources_what_it_writes(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "child",
        "extends: colossus2\nname: c\ntitle: c\njobs:\n  grok5_10t: {racks: 3000}\n"
        "provenance:\n  jobs.grok5_10t.racks: {assumption: a what-if}\n",
    )
    scenario = api.load_scenario(path).scenario
    assert scenario.jobs["grok5_10t"].racks == 3000
    assert scenario.jobs["grok5_10t"].priority == 5  # merged, not replaced
    assert len(scenario.jobs) == 19 and scenario.seed == 42  # seven jobs and their post-training
    assert scenario.expect == {}  # the parent's expect: is not inherited
    prov = scenario.provenance_of("jobs.grok5_10t.racks")
    assert prov is not None and prov.assumption == "a what-if"

    path.write_text(path.read_text().split("provenance:")[0], encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        api.load_scenario(path)
    assert info.value.line == 5 and "no provenance in this file" in str(info.value)


def test_scenarios_without_expect_are_skipped_with_a_note(
    cli_module: ModuleType, tmp_path: Path
) -> None:
    _write(
        tmp_path,
        "plain",
        "extends: colossus2\nname: plain\ntitle: plain\n",
    )
    code, output = _invoke(cli_module, "check", str(tmp_path))
    assert code == 0, output
    assert "skipped plain.yaml: no expect: block" in output.replace(str(tmp_path) + "/", "")
    code, output = _invoke(cli_module, "check", str(tmp_path / "empty"))
    assert code == 2 and "no such file or folder" in output


def test_the_library_loads_and_every_scenario_states_expectations() -> None:
    files = regression.scenario_files([LIBRARY])
    assert len(files) >= 6
    for file in files:
        scenario = api.load_scenario(file).scenario
        assert 2 <= len(scenario.expect) <= 6, file.name
        if file.stem != "colossus2":
            assert scenario.extends == "colossus2", file.name
