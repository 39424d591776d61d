"""The command line: output shapes scripts rely on, and bad input → exit 2 with file:line:field."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

from colossus_sim import paths

runner = CliRunner()


def _run(cli: ModuleType, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(cli.app, list(args))


def _job_copy(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    text = (paths.workloads_dir() / "grok5_10t.yaml").read_text()
    assert old in text
    text = text.replace(old, new, 1)
    path = tmp_path / "job.yaml"
    path.write_text(text)
    line = next(i for i, text_line in enumerate(text.splitlines(), 1) if new.strip() in text_line)
    return path, line


def test_step_json_has_the_documented_shape(cli_module: ModuleType) -> None:
    result = _run(cli_module, "step", "grok5_10t", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in (
        "plan",
        "step_s",
        "mfu",
        "tokens_per_s",
        "hbm_used_gb",
        "hbm_capacity_gb",
        "breakdown_s",
    ):
        assert key in data
    assert set(data["plan"]) >= {"tp", "pp", "dp", "ep", "cp", "microbatch"}
    assert sum(data["breakdown_s"].values()) == pytest.approx(data["step_s"])
    assert data["hbm_used_gb"] <= data["hbm_capacity_gb"]


def test_validate_json_lists_every_case(cli_module: ModuleType) -> None:
    result = _run(cli_module, "validate", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) >= 10
    for row in rows:
        assert {"case", "metric", "measured", "predicted", "error_pct", "source"} <= set(row)


def test_plan_prints_all_seven_jobs(cli_module: ModuleType) -> None:
    result = _run(cli_module, "plan", "--json")
    assert result.exit_code == 0, result.output
    jobs = json.loads(result.stdout)["jobs"]
    assert len(jobs) == 7
    assert {j["job"] for j in jobs} >= {"grok5_10t", "grok5_6t", "imagine_v2"}


@pytest.mark.parametrize("width", [80, 100, None])
def test_the_plan_table_fits_a_terminal_leaving_out_columns_and_cutting_no_cell(
    width: int | None,
) -> None:
    """``plan`` on 80 columns leaves out the plan and the parameters (and says so) instead of
    squeezing every column until the job names break over three lines; piped (None) it keeps
    every column, each header on one line."""
    from rich.console import Console

    from colossus_sim import api
    from colossus_sim.cli.render import jobs_table

    steps = api.default_jobs()
    console = Console(width=width or 400, record=True)
    console.print(jobs_table(steps, width))
    text = console.export_text()
    lines = text.splitlines()
    assert "…" not in text and (width is None or max(map(len, lines)) <= width)
    assert all(f"│ {s.job} " in text for s in steps)  # each job's name whole on its row
    assert all(f" {f'{s.planned_days:.1f}'} │" in text for s in steps)
    if width == 80:
        caption = " ".join(text.split())  # the caption wraps under the table
        assert "not shown, for the terminal's width: params total/active, plan tp·pp" in caption
    if width is None:
        assert "┃ params total/active ┃ plan tp·pp·dp·ep·cp·vp mb rc ┃" in text


def _assert_bad_input(result, *fragments: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


def test_typo_key_in_a_workload_file(cli_module: ModuleType, tmp_path: Path) -> None:
    path, line = _job_copy(tmp_path, "  top_k: 8", "  topk: 8")
    _assert_bad_input(
        _run(cli_module, "step", str(path)),
        f"job.yaml:{line}:",
        "arch.topk",
        "did you mean 'top_k'",
    )


def test_wrong_type_in_a_workload_file(cli_module: ModuleType, tmp_path: Path) -> None:
    path, line = _job_copy(tmp_path, "default_racks: 3400", "default_racks: lots")
    _assert_bad_input(
        _run(cli_module, "step", str(path)), f"job.yaml:{line}:", "default_racks", "'lots'"
    )


def test_tp_that_does_not_divide_the_heads_in_a_file(
    cli_module: ModuleType, tmp_path: Path
) -> None:
    text = (paths.workloads_dir() / "grok5_10t.yaml").read_text()
    text = text.replace("default_racks: 3400\n", "default_racks: 3400\nplan:\n  tp: 48\n", 1)
    text = text.replace("provenance:\n", "provenance:\n  plan:\n    assumption: test\n", 1)
    path = tmp_path / "job.yaml"
    path.write_text(text)
    line = next(i for i, text_line in enumerate(text.splitlines(), 1) if text_line == "  tp: 48")
    _assert_bad_input(
        _run(cli_module, "step", str(path)),
        f"job.yaml:{line}:",
        "plan.tp",
        "must divide the attention heads",
    )


def test_tp_that_does_not_divide_the_heads_on_the_command_line(cli_module: ModuleType) -> None:
    _assert_bad_input(
        _run(cli_module, "step", "grok5_10t", "--plan", "tp=48"), "--plan tp", "got 48"
    )


def test_more_racks_than_the_cluster_has(cli_module: ModuleType) -> None:
    _assert_bad_input(
        _run(cli_module, "step", "grok5_10t", "--racks", "9000"), "--racks", "6,111 gb300 racks"
    )


def test_a_model_that_does_not_fit(cli_module: ModuleType) -> None:
    _assert_bad_input(
        _run(cli_module, "step", "grok5_10t", "--racks", "1"),
        "--racks",
        "does not fit",
        "GB more than",
    )


def test_unknown_workload_and_gpu_suggest_the_right_name(cli_module: ModuleType) -> None:
    _assert_bad_input(_run(cli_module, "step", "grok5_10T"), "did you mean 'grok5_10t'")
    _assert_bad_input(
        _run(cli_module, "step", "grok5_10t", "--gpu", "gb30"), "--gpu", "did you mean 'gb300'"
    )


def test_plan_option_typo(cli_module: ModuleType) -> None:
    _assert_bad_input(
        _run(cli_module, "step", "grok5_10t", "--plan", "tq=8"), "--plan tq", "did you mean 'tp'"
    )
    _assert_bad_input(_run(cli_module, "step", "grok5_10t", "--plan", "tp=eight"), "--plan tp")


def test_version_and_short_help(cli_module: ModuleType) -> None:
    import colossus_sim

    version = _run(cli_module, "--version")
    first, data = version.stdout.splitlines()
    assert version.exit_code == 0 and first == f"colossus-sim {colossus_sim.__version__}"
    assert data.startswith("data: ")  # which data folders a run reads (tests/test_data_root.py)
    for args in (["-h"], ["run", "-h"], ["sweep", "-h"]):
        shown = _run(cli_module, *args)
        assert shown.exit_code == 0 and "Usage:" in shown.stdout, args


def test_a_result_says_which_what_ifs_made_it(cli_module: ModuleType, tmp_path: Path) -> None:
    """The --set overrides, as typed, are in the table's title, result.json and every figure's
    title, with the version that made them."""
    import colossus_sim

    sets = ["--set", "horizon_days=1", "--set", "jobs.grok5_10t.racks=+20%"]
    shown = _run(cli_module, "run", *sets, "--out", str(tmp_path / "out"))
    assert shown.exit_code == 0, shown.output
    assert "colossus2 + horizon_days=1 + jobs.grok5_10t.racks=+20% (seed 42)" in shown.stdout
    saved = json.loads((tmp_path / "out" / "result.json").read_text())
    assert saved["what_if"] == ["horizon_days=1", "jobs.grok5_10t.racks=+20%"]
    assert saved["version"] == colossus_sim.__version__
    from colossus_sim import api

    result = api.simulate(overrides=["horizon_days=1", "failures.rate_multiplier=2"])
    figure = api.plot_gantt(result)
    assert (
        "colossus2 + horizon_days=1 + failures.rate_multiplier=2 (seed 42)"
        in figure.texts[0].get_text()
    )
