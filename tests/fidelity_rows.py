"""The fidelity table, computed once per test session: ``test_fidelity`` holds its rows to
their bars and ``conftest`` prints them after the run (each computing it cost ~1 s)."""

from __future__ import annotations

import functools

from colossus_sim.perf.fidelity import FidelityRow, fidelity_table


@functools.cache
def fidelity_rows() -> tuple[FidelityRow, ...]:
    return tuple(fidelity_table())
