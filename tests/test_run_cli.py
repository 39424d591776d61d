"""``colossus-sim run``: the JSON contract, bad scenarios → exit 2, byte-identical outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

from colossus_sim import api, paths

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def _bad(cli: ModuleType, *args: str, expect: tuple[str, ...]) -> None:
    result = runner.invoke(cli.app, list(args))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for fragment in expect:
        assert fragment in result.output, result.output


def test_run_json_has_the_documented_shape(cli_module: ModuleType) -> None:
    result = runner.invoke(cli_module.app, ["run", "--json", "--set", "horizon_days=3"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"scenario", "seed", "jobs", "cluster"} <= set(data)
    assert len(data["jobs"]) == 19  # held post-training jobs are reported too
    for job in data["jobs"]:
        assert {
            "name",
            "racks",
            "gpus",
            "plan",
            "step_s",
            "mfu",
            "goodput",
            "failures",
            "time_to_train_days",
        } <= set(job)
    assert {"gpus", "allocated_frac", "productive_frac", "failures", "events"} <= set(
        data["cluster"]
    )


def _scenario_copy(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    text = (paths.data_root() / "scenarios" / "colossus2.yaml").read_text()
    assert old in text
    text = text.replace(old, new, 1)
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    first = new.strip().splitlines()[0]
    line = next(i for i, t in enumerate(text.splitlines(), 1) if first in t)
    return path, line


def test_unknown_job_workload(cli_module: ModuleType, tmp_path: Path) -> None:
    path, line = _scenario_copy(
        tmp_path, "  imagine_v2:    {racks: 128,", "  imagine_vx:    {racks: 128,"
    )
    _bad(
        cli_module,
        "run",
        str(path),
        expect=(f"bad.yaml:{line}:", "jobs.imagine_vx", "did you mean 'imagine_v2'"),
    )


def test_negative_racks(cli_module: ModuleType, tmp_path: Path) -> None:
    path, line = _scenario_copy(tmp_path, "{racks: 128,", "{racks: -4,")
    _bad(cli_module, "run", str(path), expect=(f"bad.yaml:{line}:", "jobs.imagine_v2.racks"))


def test_more_racks_than_exist(cli_module: ModuleType, tmp_path: Path) -> None:
    path, line = _scenario_copy(tmp_path, "    racks: 3400\n", "    racks: 9000\n")
    _bad(
        cli_module,
        "run",
        str(path),
        expect=(f"bad.yaml:{line}:", "jobs.grok5_10t.racks", "more racks than"),
    )


def test_override_path_that_does_not_exist(cli_module: ModuleType) -> None:
    _bad(
        cli_module,
        "run",
        "--set",
        "failures.rate_multipler=2",
        expect=("--set failures.rate_multipler", "did you mean 'rate_multiplier'"),
    )
    _bad(
        cli_module,
        "run",
        "--set",
        "jobs.grok5_10x.racks=+20%",
        expect=("--set jobs.grok5_10x.racks", "did you mean 'grok5_10t'"),
    )
    _bad(cli_module, "run", "--set", "scheduler.policy=spraed", expect=("--set scheduler.policy",))
    _bad(
        cli_module,
        "run",
        "--set",
        "jobs.grok5_10t.racks=+900%",
        expect=("--set jobs.grok5_10t.racks", "more racks than"),
    )


def test_two_processes_write_byte_identical_files(tmp_path: Path) -> None:
    outs = []
    for name in ("one", "two"):
        out = tmp_path / name
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "cli.py"),
                "run",
                "--set",
                "horizon_days=5",
                "--out",
                str(out),
            ],
            check=True,
            capture_output=True,
        )
        outs.append(out)
    files = sorted(p.name for p in outs[0].iterdir())
    assert files == [
        "cluster.parquet",
        "job_series.parquet",
        "jobs.parquet",
        "power.parquet",
        "result.json",
        "timeline.parquet",
    ]
    for name in files:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name


def test_run_json_is_strict_json_when_a_job_never_runs(
    cli_module: ModuleType, tmp_path: Path
) -> None:
    """A job that never starts has no checkpoint interval: ``null``, not ``Infinity`` (which
    strict parsers refuse), on stdout and in ``result.json``."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"not strict JSON: {constant}")

    args = ["run", "grok5_10t_racks_plus20", "--set", "horizon_days=1", "--json"]
    result = runner.invoke(cli_module.app, [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    stdout = json.loads(result.stdout, parse_constant=refuse)
    waiting = next(j for j in stdout["jobs"] if j["name"] == "grok5_6t")
    assert waiting["start_days"] is None and waiting["checkpoint_interval_min"] is None
    json.loads((tmp_path / "out" / "result.json").read_text(), parse_constant=refuse)


def test_a_job_too_big_for_its_racks_is_refused_before_the_run(cli_module: ModuleType) -> None:
    """The 10T on one rack could never start: exit 2 naming the --set, found by planning
    before any simulated time (it used to be found after simulating the whole horizon)."""
    _bad(
        cli_module,
        "run",
        "--set",
        "jobs.grok5_10t.racks=1",
        "--set",
        "horizon_days=100000",
        expect=("--set jobs.grok5_10t.racks=1", "no plan of the model fits", "never start"),
    )


def test_the_run_table_fits_an_80_column_terminal_without_cutting_a_name(
    default_run_with: Callable[..., api.RunResult],
) -> None:
    """On 80 columns the table leaves out its least-needed columns (and says which), never
    truncating a job's name or a finish day."""
    from rich.console import Console

    from colossus_sim.cli.render import run_table

    result = default_run_with("horizon_days=1", "failures.enabled=false")
    console = Console(width=80, record=True)
    console.print(run_table(result, 80))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert all(f" {j.name} " in text for j in result.jobs)
    assert "finish d" in text and "not shown, for the terminal's width: gpu" in text
    wide = Console(width=200, record=True)
    wide.print(run_table(result, 200))
    assert "not shown" not in wide.export_text()


CAPPED = ("horizon_days=2", "power.facility_cap_mw=800")
"""A run whose table has every column (the cap adds min clock and throttled hours): 171 wide."""


def _table_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line[:1] in "┏┃┡│└"]


@pytest.mark.parametrize("width", [80, 100, 120, 140, 160, 200])
def test_a_run_table_fits_any_terminal_and_cuts_no_cell(
    default_run_with: Callable[..., api.RunResult], width: int
) -> None:
    """Every width: no cell or header is cut short (rich's "…"), no line is cropped before the
    table's right rule, and the job, its finish and its time to train are always shown. (At
    120–160 columns the widest table was cut: its headers' width was counted a word at a
    time while rich kept each on one line.)"""
    from rich.console import Console

    from colossus_sim.cli.render import run_table

    result = default_run_with(*CAPPED)
    console = Console(width=width, record=True)
    console.print(run_table(result, width))
    text = console.export_text()
    assert "…" not in text
    lines = _table_lines(text)
    assert lines and all(line[-1] in "┓┃┩│┘" and len(line) <= width for line in lines)
    assert all(f" {j.name} " in text for j in result.jobs)
    header = " ".join(line for line in lines[:4] if line.startswith("┃"))
    assert {"finish", "time", "train"} <= set(header.replace("┃", " ").split())


def test_a_piped_run_table_keeps_every_column(cli_module: ModuleType) -> None:
    """Into a file or a pipe the table is whole at the width it needs (here over the 160
    columns text lines wrap at): each column with its header on one line."""
    args = ["run"] + [a for o in CAPPED for a in ("--set", o)]
    result = runner.invoke(cli_module.app, args)
    assert result.exit_code == 0, result.output
    lines = _table_lines(result.stdout)
    assert "…" not in result.stdout and max(len(line) for line in lines) > 160
    for column in ("plan tp·pp·dp·ep·cp·vp", "min clock", "throttled h", "time to train d"):
        assert f" {column} ┃" in lines[1], column
    assert "not shown" not in result.stdout


TOO_BIG = str(2**63)


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["run", "--seed", TOO_BIG], "--seed"),
        (["run", "--seed", "-1"], "--seed"),
        (["run", "--seed", TOO_BIG, "--replicas", "2"], "--seed"),  # not --set seed=
        (["run", "--seed", str(2**63 - 1), "--replicas", "2"], "--replicas"),
        (["compare", "colossus2", "spread", "--seed", TOO_BIG], "--seed"),
        (["sweep", "--seeds", TOO_BIG], "--seeds"),
        (["sweep", "--seeds", f"1,{2**63 - 1}-{TOO_BIG}"], "--seeds"),
    ],
)
def test_every_entry_point_refuses_the_same_seeds_naming_the_option(
    cli_module: ModuleType, monkeypatch: pytest.MonkeyPatch, args: list[str], option: str
) -> None:
    """0 ≤ seed < 2**63 everywhere (as the schema's ``seed``), refused before any run, and
    blamed on the option the user typed."""
    for work in ("simulate", "run_sweep", "load_scenario"):
        monkeypatch.setattr(api, work, _refuse)
    result = runner.invoke(cli_module.app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"error: {option}:" in result.output, result.output
    assert "--set seed" not in result.output


def _refuse(*args: object, **kwargs: object) -> None:
    raise AssertionError("ran with a bad seed")


def test_the_largest_seed_runs_and_the_api_checks_seeds_alike(cli_module: ModuleType) -> None:
    result = runner.invoke(
        cli_module.app, ["run", "--seed", str(2**63 - 1), "--set", "horizon_days=0.2", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["seed"] == 2**63 - 1
    for call in (lambda: api.simulate(seed=2**63), lambda: api.replicas(n=2, seed=-1)):
        with pytest.raises(api.ScenarioError) as caught:
            call()
        assert caught.value.field == "seed" and "2**63" in str(caught.value)
    _bad(cli_module, "run", "--set", f"seed={TOO_BIG}", expect=(f"--set seed={TOO_BIG}",))


def test_a_scenario_seed_near_the_top_blames_replicas(cli_module: ModuleType) -> None:
    """The seeds of --replicas count up from the scenario's: past 2**63−1 it is --replicas."""
    for command in ("run", "sweep"):
        _bad(
            cli_module,
            command,
            "--set",
            f"seed={2**63 - 1}",
            "--replicas",
            "2",
            expect=("error: --replicas:", "run past 2**63−1"),
        )
