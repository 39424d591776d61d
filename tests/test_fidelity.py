"""The step-time model against published runs, and its calibrations still reproduce their cases."""

from __future__ import annotations

import pytest
from fidelity_rows import fidelity_rows

from colossus_sim.config.load import load_validation_cases
from colossus_sim.config.workload import CaseRole
from colossus_sim.perf.fidelity import (
    calibration_case_names,
    calibrations,
    median_abs_error_pct,
)

ROWS = fidelity_rows()


HELD_TO_THE_BAR = [r for r in ROWS if r.role is not CaseRole.TRACKED]


@pytest.mark.parametrize("row", HELD_TO_THE_BAR, ids=lambda r: r.case)
def test_every_published_case_within_15_percent(row) -> None:  # type: ignore[no-untyped-def]
    # The fidelity bar: each case within ±15% of its measured figure (tracked cases,
    # the model's named gaps, are printed in the fidelity table but not held to it).
    assert abs(row.error_pct) <= 15.0, f"{row.case}: {row.error_pct:+.1f}%"


def test_median_error_of_held_out_cases_at_most_5_percent() -> None:
    # Issue 17's bar for the median (its 10% bar for the worst case is not met: NVIDIA's MLPerf
    # GPT-3 run on 512 H100 sits above it, see docs/architecture.md).
    assert median_abs_error_pct(ROWS, CaseRole.VALIDATION) <= 5.0


def test_most_cases_are_held_out() -> None:
    roles = [r.role for r in ROWS]
    assert roles.count(CaseRole.VALIDATION) > roles.count(CaseRole.CALIBRATION)


@pytest.mark.parametrize("cal", calibrations(), ids=lambda c: c.constant)
def test_stored_calibrations_reproduce_their_cases(cal) -> None:  # type: ignore[no-untyped-def]
    # Stored with 3 decimals: a model change that moves a fit more than that must be seen
    # and the data file updated on purpose (`colossus-sim validate --calibrate`).
    assert cal.stored == pytest.approx(cal.fitted, abs=6e-4), cal


def test_roles_agree_with_the_data_that_names_calibration_cases() -> None:
    named = calibration_case_names()
    marked = {c.name for c in load_validation_cases() if c.role is CaseRole.CALIBRATION}
    assert named == marked
