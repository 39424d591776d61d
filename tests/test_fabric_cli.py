"""``colossus-sim fabric`` and the fabric lines of ``run``: the JSON summary against the layout
it comes from, the core taper what-if, the GraphML file, bad overrides → exit 2."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import networkx as nx
import pytest
from typer.testing import CliRunner, Result

from colossus_sim import api, fabric

runner = CliRunner()


def _invoke(cli: ModuleType, *args: str) -> Result:
    return runner.invoke(cli.app, list(args))


def _summary(cli: ModuleType, *args: str) -> dict[str, Any]:
    result = _invoke(cli, "fabric", "--json", *args)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _layout(overrides: list[str]) -> fabric.FabricLayout:
    resolved = api.load_scenario(overrides=overrides)
    return fabric.site_layout(resolved.cluster, resolved.scenario.fabric)


@pytest.fixture(scope="module")
def default_summary(cli_module: ModuleType) -> dict[str, Any]:
    return _summary(cli_module)


def test_fabric_json_counts_the_layouts_switches_and_its_bisection(
    default_summary: dict[str, Any],
) -> None:
    layout = _layout([])
    tiers = {t["tier"]: t for t in default_summary["tiers"]}
    assert list(tiers) == list(fabric.SWITCH_TIERS)
    assert {t: row["switches"] for t, row in tiers.items()} == layout.switch_counts()
    assert default_summary["bisection_tbps"] == pytest.approx(fabric.bisection_gbps(layout) / 1e3)
    assert default_summary["racks"] == layout.racks
    assert default_summary["pods"] == layout.pods
    assert default_summary["blocks"] == layout.blocks
    assert tiers["spine"]["oversubscription"] == layout.spec.core_oversubscription


def test_a_non_blocking_core_doubles_the_bisection_of_the_2_to_1_default(
    cli_module: ModuleType, default_summary: dict[str, Any]
) -> None:
    assert {t["tier"]: t["oversubscription"] for t in default_summary["tiers"]}["spine"] == 2.0
    flat = _summary(cli_module, "--set", "fabric.core_oversubscription=1")
    assert flat["bisection_tbps"] == pytest.approx(2 * default_summary["bisection_tbps"])
    # Non-blocking: the smaller half's NICs can all cross.
    assert flat["bisection_tbps"] == pytest.approx(flat["bisection_injection_tbps"])
    # Leaves and spines stay; only the core (and the spine uplinks to it) grow.
    switches = {t["tier"]: t["switches"] for t in flat["tiers"]}
    default_switches = {t["tier"]: t["switches"] for t in default_summary["tiers"]}
    assert switches["leaf"] == default_switches["leaf"]
    assert switches["spine"] == default_switches["spine"]
    assert switches["core"] > default_switches["core"]


@pytest.mark.parametrize("core", [1.0, 2.0, 7.0])
def test_the_bisection_is_what_the_smaller_half_injects_over_the_core_taper(
    cli_module: ModuleType, core: float
) -> None:
    # Leaves are 1:1, so every pod's NICs reach its spines; the core taper alone cuts.
    summary = _summary(cli_module, "--set", f"fabric.core_oversubscription={core:g}")
    assert summary["bisection_tbps"] == pytest.approx(summary["bisection_injection_tbps"] / core)


def test_graphml_is_readable_and_matches_the_summary(
    cli_module: ModuleType, tmp_path: Path
) -> None:
    target = tmp_path / "out" / "fabric.graphml"
    result = _invoke(cli_module, "fabric", "--json", "--graphml", str(target))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    graph = nx.read_graphml(target)
    assert graph.number_of_nodes() == summary["graph_nodes"]
    assert graph.number_of_edges() == summary["graph_edges"]
    tiers = nx.get_node_attributes(graph, "tier")
    assert sum(1 for t in tiers.values() if t == "rack") == summary["racks"]
    assert sum(1 for t in tiers.values() if t == "leaf") == summary["blocks"]
    assert not list(tmp_path.glob("out/.*.tmp"))  # written atomically: no temporary left


def test_fabric_table_names_the_tiers_and_the_bisection(cli_module: ModuleType) -> None:
    result = _invoke(cli_module, "fabric")
    assert result.exit_code == 0, result.output
    for fragment in ("leaf", "spine", "core", "2:1", "bisection", "rail planes"):
        assert fragment in result.stdout


def _bad(cli: ModuleType, *args: str, expect: tuple[str, ...]) -> str:
    result = _invoke(cli, *args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    for fragment in expect:
        assert fragment in result.output, result.output
    return result.output


def test_a_misspelt_fabric_key_is_named_with_a_suggestion(cli_module: ModuleType) -> None:
    _bad(
        cli_module,
        "fabric",
        "--set",
        "fabric.core_oversubscripton=1",
        expect=(
            "error: --set fabric.core_oversubscripton",
            "not a key of fabric",
            "did you mean 'core_oversubscription'",
        ),
    )


def test_an_oversubscription_below_one_is_refused(cli_module: ModuleType) -> None:
    _bad(
        cli_module,
        "fabric",
        "--set",
        "fabric.core_oversubscription=0.5",
        expect=("error: ", "core_oversubscription", "greater than or equal to 1", "got 0.5"),
    )


def test_an_oversubscription_below_one_is_blamed_on_its_set(cli_module: ModuleType) -> None:
    _bad(
        cli_module,
        "fabric",
        "--set",
        "fabric.core_oversubscription=0.5",
        expect=("error: --set fabric.core_oversubscription=0.5",),
    )


def test_run_under_spread_names_the_core_as_the_10t_jobs_limit(cli_module: ModuleType) -> None:
    result = _invoke(
        cli_module,
        "run",
        "--set",
        "scheduler.policy=spread",
        "--set",
        "failures.enabled=false",
        "--set",
        "horizon_days=1",
    )
    assert result.exit_code == 0, result.output
    # Rich wraps long lines: undo the wrapping, then read the 10T job's fabric line.
    text = " ".join(result.stdout.split())
    line = text[text.index("grok5_10t: ") :].split(" lowest share")[0]  # the last job listed
    assert "pod uplinks to core" in line, line
    assert "the 2:1 pod uplinks to core" in line and "50% of its NIC bandwidth" in line, line
    # A job held below its NICs whose communication hides behind compute (Imagine V2 here) is
    # said to pay nothing, not "NIC bandwidth: , so the step takes 4.47 s instead of 4.47 s".
    assert "NIC bandwidth: ," not in text
    for said in text.split("of its NIC bandwidth")[1:]:
        assert said.startswith((": ", ", which costs its step nothing")), said[:80]


def test_a_job_held_at_its_nics_by_a_failed_leaf_is_said_so() -> None:
    from colossus_sim.cli.render import fabric_lines

    run = api.simulate(overrides=["horizon_days=0.05", "failures.enabled=false"])
    job = run.jobs[0]
    assert job.fabric is not None
    held = job.model_copy(
        update={
            "fabric": job.fabric.model_copy(update={"bw_frac": 0.99, "limit": "nic"}),
            "fabric_cost_s": {"pp_p2p_s": 1e-5},  # prints as +0.000 s: no cost to speak of
        }
    )
    lines = fabric_lines(run.model_copy(update={"jobs": [held, *run.jobs[1:]]}))
    line = next(x for x in lines if x.startswith(f"  {job.name}:"))
    assert "a failed leaf switch leaves it 99% of its NIC bandwidth" in line, line
    assert line.endswith("which costs its step nothing (it hides behind compute)"), line
    assert "1:1 nic" not in line and "+0.000" not in line
