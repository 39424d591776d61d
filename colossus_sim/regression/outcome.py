"""What ``check`` found: each expected figure against this run's value (``FigureCheck``), per
scenario (``ScenarioRun``), the values ``update`` rewrote (``Move``) and the whole report with
its exit code (``CheckReport``).

Frozen dataclasses and their derived properties; no I/O. Imports only ``figures`` and the
``expect:`` schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from colossus_sim.config.scenario import Expectation
from colossus_sim.figures import Figure


@dataclass(frozen=True)
class FigureCheck:
    """One expected figure against what this run gave."""

    figure: Figure
    expect: Expectation
    got: float | None

    @property
    def holds(self) -> bool:
        return self.expect.holds(self.got)

    @property
    def delta(self) -> str:
        """The move from the expected value: relative when it can be, else absolute."""
        if self.got is None:
            return "no value"
        diff = self.got - self.expect.value
        if self.expect.value:
            rel = diff / abs(self.expect.value)
            return f"{rel:+.2%}" if abs(rel) >= 5e-5 else "0.00%"
        return f"{diff:+.3g}"

    @property
    def tolerance(self) -> str:
        parts = []
        if self.expect.rel_tol is not None:
            parts.append(f"±{self.expect.rel_tol * 100:.6g}%")
        if self.expect.abs_tol is not None:
            parts.append(f"±{self.expect.abs_tol:.6g}")
        return " or ".join(parts)


@dataclass(frozen=True)
class ScenarioRun:
    """One scenario's run and its checks, in the order of its ``expect:`` block."""

    path: Path
    name: str
    seconds: float
    checks: list[FigureCheck]


@dataclass(frozen=True)
class Move:
    """A value ``update`` rewrote."""

    scenario: str
    figure: str
    old: float
    new: float
    path: Path
    """The file rewritten, absolute: the one the check read (through a symbolic link, the
    file it names)."""


@dataclass(frozen=True)
class CheckReport:
    runs: list[ScenarioRun]
    skipped: list[str]
    wall_s: float
    workers: int
    moves: list[Move]

    @property
    def checks(self) -> list[tuple[ScenarioRun, FigureCheck]]:
        return [(run, c) for run in self.runs for c in run.checks]

    @property
    def drifted(self) -> list[tuple[ScenarioRun, FigureCheck]]:
        return [(run, c) for run, c in self.checks if not c.holds]

    @property
    def exit_code(self) -> int:
        """0 when every figure holds or ``update`` rewrote it, 1 when any drift remains."""
        rewritten = {(m.scenario, m.figure) for m in self.moves}
        remaining = [c for run, c in self.drifted if (run.name, c.figure.path) not in rewritten]
        return 1 if remaining else 0
