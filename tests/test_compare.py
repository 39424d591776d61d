"""Baseline against a what-if with no file: ``compare --set-a/--set-b`` (``--set`` in both), and a
child scenario written with the relative values ``--set`` takes (``racks: +20%``); either way
the output says which what-if each side is."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest
from children import HAS_PROC, run_killing_a_worker
from one_job import one_job_scenario
from typer.testing import CliRunner

from colossus_sim import api

runner = CliRunner()
JOB = "grok44_1t_a"  # one_job_scenario's job, on 400 racks


def _rows(output: str) -> dict[str, dict[str, float]]:
    data = json.loads(output)
    return {r["metric"]: r for r in data["rows"] if r["job"] == JOB}


def test_set_b_compares_the_file_with_its_what_if(cli_module: ModuleType, tmp_path: Path) -> None:
    scenario = str(one_job_scenario(tmp_path))
    plus = f"jobs.{JOB}.racks=+20%"
    result = runner.invoke(cli_module.app, ["compare", scenario, "--set-b", plus, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["a"]["what_if"] == [] and data["b"]["what_if"] == [plus]
    assert data["a"]["scenario"] == data["b"]["scenario"] == f"{JOB}_alone"
    assert data["a"]["seed"] == data["b"]["seed"] == 3
    racks = _rows(result.stdout)["racks"]
    assert (racks["a"], racks["b"], racks["delta"]) == (400.0, 480.0, 80.0)
    table = runner.invoke(cli_module.app, ["compare", scenario, "--set-b", plus])
    assert table.exit_code == 0, table.output
    assert f"A: {JOB}_alone (seed 3)" in table.stdout
    assert f"B: {JOB}_alone + {plus} (seed 3)" in table.stdout


def test_set_goes_to_both_sides_and_set_a_to_a_only(cli_module: ModuleType, tmp_path: Path) -> None:
    scenario = str(one_job_scenario(tmp_path))
    args = ["compare", scenario, "--set", f"jobs.{JOB}.racks=300", "--json"]
    result = runner.invoke(cli_module.app, [*args, "--set-a", f"jobs.{JOB}.racks=+50%"])
    assert result.exit_code == 0, result.output
    racks = _rows(result.stdout)["racks"]
    assert (racks["a"], racks["b"]) == (450.0, 300.0)  # A: 300 then +50%; B: 300
    data = json.loads(result.stdout)
    assert data["a"]["what_if"] == [f"jobs.{JOB}.racks=300", f"jobs.{JOB}.racks=+50%"]


@pytest.mark.parametrize(
    ("args", "blamed"),
    [
        (["--set-b", f"jobs.{JOB}.rackz=+20%"], f"--set-b jobs.{JOB}.rackz"),
        (["--set-a", f"jobs.{JOB}.racks=+20"], f"--set-a jobs.{JOB}.racks"),
        (["--set-b", "failures.rate_multiplier=-200%"], "--set-b failures.rate_multiplier"),
        (["--set", "horizon_days=1"], "B"),  # both sides the same what-if
        (["--seed", "-1", "--set-b", "horizon_days=1"], "--seed"),
    ],
)
def test_bad_compare_options_are_exit_2_before_anything_runs(
    cli_module: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    args: list[str],
    blamed: str,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("simulated before every option was checked")

    monkeypatch.setattr(api, "simulate", refuse)
    scenario = str(one_job_scenario(tmp_path))
    result = runner.invoke(cli_module.app, ["compare", scenario, *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"error: {blamed}" in result.output, result.output


def _child(tmp_path: Path, body: str, provenance: str = "") -> Path:
    parent = one_job_scenario(tmp_path)
    child = tmp_path / "child.yaml"
    child.write_text(
        f"extends: {parent.name}\nname: child\ntitle: a what-if written relatively\n{body}"
        + provenance
    )
    return child


def test_a_child_scenario_takes_relative_values_without_provenance(tmp_path: Path) -> None:
    body = f"jobs:\n  {JOB}: {{racks: +20%}}\nfailures: {{rate_multiplier: -50%}}\n"
    child = _child(tmp_path, body)
    resolved = api.load_scenario(child)
    assert resolved.scenario.jobs[JOB].racks == 480  # 400 × 1.2, an integer still
    assert resolved.scenario.failures.rate_multiplier == 0.5
    label = resolved.scenario.provenance_of(f"jobs.{JOB}.racks")
    assert label is not None and label.assumption is not None
    assert "what-if: +20% of the parent's 400" in label.assumption
    # the same what-if as --set gives the same scenario
    by_set = api.load_scenario(
        one_job_scenario(tmp_path),
        [f"jobs.{JOB}.racks=+20%", "failures.rate_multiplier=-50%"],
    )
    assert by_set.scenario.jobs[JOB] == resolved.scenario.jobs[JOB]
    assert by_set.scenario.failures == resolved.scenario.failures


def test_an_absolute_value_in_a_child_still_needs_provenance(tmp_path: Path) -> None:
    child = _child(tmp_path, f"jobs:\n  {JOB}: {{racks: 480}}\n")
    with pytest.raises(api.ScenarioError, match="no provenance in this file"):
        api.load_scenario(child)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("checkpoint: {restart_minutes: +x%}\n", "not a relative change"),
        (f"jobs:\n  {JOB}: {{gpu: +10%}}\n", "the parent scenario sets none here"),
        # YAML reads +20 as 20: in a child that is a slip for +20%, refused as with --set
        (f"jobs:\n  {JOB}: {{racks: +20}}\n", "ambiguous: YAML reads +20 as the number 20"),
        ("failures:\n  rate_multiplier: +2.5\n", "ambiguous: YAML reads +2.5 as the number 2.5"),
    ],
)
def test_a_bad_relative_value_in_a_child_is_located(
    cli_module: ModuleType, tmp_path: Path, body: str, message: str
) -> None:
    child = _child(tmp_path, body)
    result = runner.invoke(cli_module.app, ["run", str(child)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "child.yaml:" in result.output and message in result.output, result.output


def test_a_job_that_never_started_has_no_goodput_to_compare(tmp_path: Path) -> None:
    from queued_jobs import queued_scenario

    path = queued_scenario(tmp_path)
    a = api.simulate(path)
    b = api.simulate(path, overrides=["jobs.stuck.racks=6"])  # fits: it starts in B
    frame = api.compare(a, b).set_index(["job", "metric"])
    stuck = frame.loc[("stuck", "goodput")]
    assert stuck["a"] != stuck["a"]  # NaN: it never started in A, so 0 is no share of anything
    assert 0.0 < stuck["b"] <= 1.0
    assert stuck["delta"] != stuck["delta"]
    assert frame.loc[("first", "goodput"), "a"] == pytest.approx(
        frame.loc[("first", "goodput"), "b"]
    )


@pytest.mark.parametrize("width", [60, 80, 120])
def test_a_narrow_terminal_folds_compare_cells_and_cuts_none(width: int) -> None:
    """A figure too wide for its column goes on over two lines instead of ending in "…" (a
    truncated 1,863,05… reads as a different number); every digit of every figure is shown."""
    import pandas as pd
    from rich.console import Console

    from colossus_sim.cli.render_sweep import compare_table
    from colossus_sim.cli.tables import uncut

    a, b = 1_863_055_410_329.0, 1_863_178_075_905.0
    delta = pd.DataFrame(
        {
            "job": ["grok45_15t_a/sft", "grok5_10t"],
            "metric": ["checkpoint_mean_interval_min_shared_storage", "tokens"],
            "a": [12.5, a],
            "b": [13.0, b],
            "delta": [0.5, b - a],
            "rel": [0.04, (b - a) / a],
        }
    )

    def shown(table: object) -> str:
        console = Console(width=width, record=True)
        console.print(table)
        return console.export_text()

    assert "…" in shown(compare_table(delta, "A\nB"))  # what rich does by itself
    text = shown(uncut(compare_table(delta, "A\nB"), width))
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= width
    for figure in ("1863055410329", "1863178075905", "122665576"):
        assert _read_down(figure, text), figure


def _read_down(figure: str, text: str) -> bool:
    """Whether ``figure``'s digits are in a column read top to bottom (a folded cell's pieces
    follow each other there)."""
    lines = [line for line in text.splitlines() if line.startswith("│")]
    columns = zip(*(line.split("│")[1:-1] for line in lines), strict=False)
    return any(figure in "".join(c for cell in col for c in cell if c.isdigit()) for col in columns)


@pytest.mark.skipif(not HAS_PROC, reason="reads Linux's /proc")
def test_a_killed_worker_is_exit_1_saying_so() -> None:
    """B runs in a worker process; killed there (as the kernel's OOM killer would), compare
    says a worker died and exits 1, with no traceback (it printed BrokenProcessPool's)."""
    args = ("compare", "--set", "horizon_days=40", "--set-b", "jobs.grok5_10t.racks=+20%")
    code, stderr = run_killing_a_worker(*args, workers=1)
    assert code == 1, stderr
    assert "a worker process died" in stderr and "nothing compared" in stderr
    assert "Traceback" not in stderr
