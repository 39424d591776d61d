"""The corpus of nasty inputs in ``tests/data/bad/`` (see its README): each exits 2, no
traceback, and the message names the file and line (or the ``--set``/option at fault)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

BAD = Path(__file__).resolve().parent / "data" / "bad"
runner = CliRunner()
# files with no line to point at (nothing parsed): the message names the file
NO_LINE = {"empty.yaml", "not_utf8.yaml"}


@pytest.mark.parametrize("path", sorted(BAD.glob("*.yaml")), ids=lambda p: p.name)
def test_bad_file_exits_2_naming_file_and_line(cli_module: ModuleType, path: Path) -> None:
    if path.name.startswith("wl_"):
        args = ["step", str(path)]
    elif "horizon" in path.name:  # a --set horizon_days would replace the bad value
        args = ["run", str(path)]
    else:
        args = ["run", str(path), "--set", "horizon_days=0.5"]
    result = runner.invoke(cli_module.app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("error: "), result.output
    if path.name in NO_LINE:
        assert f"{path.name}: " in result.output, result.output
    else:
        # file:line:col, in this file or (a cycle) in the file it names
        assert ".yaml:" in result.output and path.stem.split("_")[0] in result.output


def test_every_corpus_file_is_described() -> None:
    readme = (BAD / "README.md").read_text()
    for path in BAD.glob("*.yaml"):
        assert f"`{path.name}`" in readme, path.name


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["run", "--set", "failures.rate_multipler=2"], "did you mean 'rate_multiplier'"),
        (["run", "--set", "jobs.grok5_10t.racks=lots"], "--set jobs.grok5_10t.racks=lots"),
        (["run", "--set", "seed=-1"], "--set seed=-1"),
        (["run", "--set", "jobs.imagine_v2.racks=+1e308%"], "--set jobs.imagine_v2.racks"),
        (["run", "--set", "checkpoint.max_interval_minutes=+nan%"], "not a relative change"),
        (["run", "--set", "noequals"], "expected PATH=VALUE"),
        (["run", "--set", "checkpoint.bytes_per_param=1e308"], "less than or equal to 1000"),
        (["step", "grok5_10t", "--plan", "tp=3"], "--plan tp"),
    ],
)
def test_bad_option_exits_2_naming_it(
    cli_module: ModuleType, args: list[str], fragment: str
) -> None:
    if args[0] == "run":
        args = [*args, "--set", "horizon_days=0.5"]
    result = runner.invoke(cli_module.app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert fragment in result.output, result.output


def test_short_horizon_with_a_waiting_job_reports_it_unstarted(cli_module: ModuleType) -> None:
    """Found by fuzzing: a job still waiting for racks at the horizon crashed the results."""
    result = runner.invoke(
        cli_module.app, ["run", "grok5_10t_racks_plus20", "--set", "horizon_days=0.5", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert '"start_days": null' in result.output
