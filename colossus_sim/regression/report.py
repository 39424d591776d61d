"""``check``'s reports: the drift table (rich), the one-line summary and JUnit XML (one
testsuite per scenario, one testcase per figure, a failure per drift).

Formatting only, O(figures); importing it imports rich's table and text.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from rich.table import Table
from rich.text import Text

from colossus_sim.outputs import write_atomic
from colossus_sim.regression.outcome import CheckReport


def drift_table(report: CheckReport) -> Table:
    table = Table(title="colossus-sim check: expected figures vs this model")
    for name, justify in (
        ("scenario", "left"),
        ("figure", "left"),
        ("expected", "right"),
        ("got", "right"),
        ("tolerance", "right"),
        ("verdict", "left"),
    ):
        wrap = name == "scenario"  # a long path folds; the figures stay on one line
        table.add_column(
            name,
            justify=justify,  # type: ignore[arg-type]
            no_wrap=not wrap,
            overflow="fold" if wrap else "ellipsis",
        )
    for run, c in report.checks:
        got = "—" if c.got is None else f"{c.got:.6g} ({c.delta})"
        verdict = Text("ok", style="green") if c.holds else Text("DRIFT", style="bold red")
        table.add_row(
            Text(run.name),
            Text(c.figure.path),
            f"{c.expect.value:.6g}",
            got,
            c.tolerance,
            verdict,
        )
    return table


def summary_line(report: CheckReport) -> str:
    figures = len(report.checks)
    drifted = len(report.drifted)
    verdict = "all hold" if not drifted else f"{drifted} drifted"
    if report.moves:
        verdict += f"; {len(report.moves)} expected values rewritten"
    return (
        f"{figures} figures in {len(report.runs)} scenarios: {verdict} · "
        f"wall {report.wall_s:.1f} s on {report.workers} worker"
        f"{'s' if report.workers != 1 else ''}"
    )


def junit_xml(report: CheckReport) -> bytes:
    """JUnit XML: one testsuite per scenario, one testcase per figure, a failure per drift."""
    root = ET.Element(
        "testsuites",
        name="colossus-sim check",
        tests=str(len(report.checks)),
        failures=str(len(report.drifted)),
        errors="0",
        time=f"{report.wall_s:.3f}",
    )
    for run in report.runs:
        suite = ET.SubElement(
            root,
            "testsuite",
            name=run.name,
            tests=str(len(run.checks)),
            failures=str(sum(not c.holds for c in run.checks)),
            errors="0",
            skipped="0",
            time=f"{run.seconds:.3f}",
        )
        for c in run.checks:
            case = ET.SubElement(
                suite, "testcase", classname=run.name, name=c.figure.path, time="0"
            )
            if not c.holds:
                got = "no value" if c.got is None else f"{c.got:.6g} ({c.delta})"
                message = f"expected {c.expect.value:.6g} {c.tolerance}, got {got}"
                failure = ET.SubElement(case, "failure", message=message, type="drift")
                failure.text = f"{run.name}: expect.{c.figure.path}: {message}"
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"


def write_junit(report: CheckReport, path: Path) -> None:
    write_atomic(path, junit_xml(report))
