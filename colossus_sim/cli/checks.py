"""``colossus-sim validate`` and ``check``: the model held to published runs, and the scenario
library held to its expected figures.

Cost: ``validate`` plans every published case (~1 s; ``--calibrate`` re-fits each constant by
bisection, a few seconds); ``check`` runs every scenario with an ``expect:`` block, one
simulation each on ``--workers`` processes.
"""

from __future__ import annotations

import typer

from colossus_sim import api
from colossus_sim.cli.options import (
    Calibrate,
    CheckPaths,
    CheckWorkers,
    Junit,
    Update,
    ValidateJson,
)
from colossus_sim.cli.render import calibration_table, fidelity_table, print_json, stopped, wrote
from colossus_sim.cli.tables import err, out, print_table


def validate(json_out: ValidateJson = False, calibrate: Calibrate = False) -> None:
    """The fidelity table: every published case in workloads/validation/, measured vs predicted."""
    if calibrate:
        fits = api.calibrations()
        if json_out:
            print_json([c.model_dump(mode="json") for c in fits])
            return
        print_table(calibration_table(fits))
        return
    rows = api.fidelity()
    if json_out:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    print_table(fidelity_table(rows))
    out.print(
        f"validation cases: median |error| {api.validation_error_pct(rows):.1f}%, worst "
        f"{api.validation_error_pct(rows, worst=True):.1f}%  (calibration cases fit one matmul "
        "efficiency per GPU type, the FP8 ratio and the MoE token-path cost; tracked and "
        "inconsistent cases are not held to ±10%)",
        markup=False,
    )
    for r in rows:
        if r.note:
            out.print(f"{r.case} ({r.role.value}): {r.note}", markup=False)


def check(
    paths: CheckPaths = None,
    junit: Junit = None,
    update: Update = False,
    workers: CheckWorkers = None,
) -> None:
    """Run the scenarios with an expect: block and compare their figures with the expected
    values: exit 0 when all hold, 1 when any drifts (or a worker process died, which it
    says), 2 on bad input, 130 when interrupted (Ctrl-C or SIGTERM)."""
    from concurrent.futures.process import BrokenProcessPool

    api.check_outputs(api.Output("--junit", junit))
    try:
        with api.terminate_as_interrupt():
            report = api.check(paths or None, workers=workers, update=update)
    except (KeyboardInterrupt, BrokenProcessPool) as exc:
        what, code = stopped(exc)
        err.print(f"{what}: the check stopped before its verdict", markup=False, soft_wrap=True)
        raise typer.Exit(code) from None
    out.print(api.describe_data_root(), markup=False, soft_wrap=True)
    for name in report.skipped:
        out.print(f"skipped {name}: no expect: block", markup=False)
    if report.checks:
        print_table(api.drift_table(report))
    for move in report.moves:
        out.print(
            f"updated {move.path}: {move.figure} {move.old:.6g} → {move.new:.6g}",
            markup=False,
            soft_wrap=True,
        )
    if update and not report.moves:
        out.print("nothing moved: no expected value rewritten")
    if junit is not None:
        with api.reported("--junit", junit):
            api.write_junit(report, junit)
        wrote(junit)
    out.print(api.check_summary(report), markup=False)
    raise typer.Exit(report.exit_code)
