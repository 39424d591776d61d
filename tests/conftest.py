"""Shared fixtures, and the fidelity table printed at the end of every test run."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from colossus_sim.results import RunResult

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def cli_module() -> ModuleType:
    """The root ``cli.py`` as a module (its typer ``app`` is what users run)."""
    spec = importlib.util.spec_from_file_location("colossus_sim_cli_under_test", ROOT / "cli.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def default_run_with() -> Callable[..., RunResult]:
    """The default scenario run with these ``--set`` overrides, once per test session: modules
    that read the same run (the first five days, say) share it instead of each simulating it.
    A run is a pure function of its scenario and seed (``test_engine`` checks it), so a shared
    one is the run each would have made; tests only read it."""
    from colossus_sim import api

    runs: dict[tuple[str, ...], RunResult] = {}

    def run(*overrides: str) -> RunResult:
        if overrides not in runs:
            runs[overrides] = api.simulate(overrides=list(overrides))
        return runs[overrides]

    return run


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the step-time model's error against every published case."""
    from fidelity_rows import fidelity_rows

    from colossus_sim.config.workload import CaseRole
    from colossus_sim.perf.fidelity import median_abs_error_pct

    rows = fidelity_rows()
    write = terminalreporter.write_line
    terminalreporter.section("fidelity: step-time model vs published runs")
    write(
        f"{'case':32s} {'role':12s} {'hw':5s} {'GPUs':>7s} {'metric':22s} "
        f"{'measured':>10s} {'predicted':>10s} {'error %':>8s} {'MFU':>6s} {'HBM GB':>8s}"
    )
    for r in rows:
        write(
            f"{r.case:32s} {r.role.value:12s} {r.hardware:5s} {r.gpus:7d} {r.metric.value:22s} "
            f"{r.measured:10.6g} {r.predicted:10.6g} {r.error_pct:+8.1f} {r.mfu:6.1%} "
            f"{r.hbm_used_gb:4.0f}/{r.hbm_capacity_gb:<3.0f}"
        )
    held = [abs(r.error_pct) for r in rows if r.role in {CaseRole.CALIBRATION, CaseRole.VALIDATION}]
    write(
        f"median |error|, validation cases: {median_abs_error_pct(rows, CaseRole.VALIDATION):.1f}%"
        f"; worst held to the ±10% bar: {max(held):.1f}%; tracked and inconsistent cases are "
        "listed last"
    )
