"""Repairs of racks a job holds wait until the engine next acts (``sim/repairs.py``): they are
recorded at their own time, in order, and a repair that can act — a stalled job's rack, a
rack no job holds any more — still happens as an event at its time."""

from __future__ import annotations

from pathlib import Path

import pytest
from small_cluster import small_scenario

from colossus_sim import api
from colossus_sim.kinds import EventKind
from colossus_sim.sim.repairs import PendingRepairs


def test_pending_repairs_come_due_in_time_order_and_hand_back_what_must_act() -> None:
    pending = PendingRepairs()
    for at_s, rack in [(30.0, 3), (10.0, 1), (20.0, 2), (40.0, 1)]:
        pending.add(at_s, rack, 1)
    assert list(pending.due(25.0)) == [(10.0, 1, 1), (20.0, 2, 1)]
    assert pending.hand_back(lambda rack: rack == 1) == [(40.0, 1, 1)]
    assert pending.hand_back(lambda rack: rack == 1) == []
    assert list(pending.due(1e9)) == [(30.0, 3, 1)]
    assert len(pending) == 0


TIGHT = {"a_racks": "28", "b_racks": "28", "c_racks": "36", "horizon_days": "2"}
"""Jobs that run out of spares within two days and stall, shrink or wait (test_engine's)."""


@pytest.mark.parametrize("seed", [3, 11])
def test_repairs_are_recorded_in_time_order_and_stalled_jobs_restart_at_one(
    tmp_path: Path, seed: int
) -> None:
    path = small_scenario(tmp_path, seed=str(seed), a_policy="wait", **TIGHT)
    result = api.simulate(path)
    t = result.timeline
    assert all(a <= b for a, b in zip(t.time_h, t.time_h[1:], strict=False)), "out of order"
    repair_times = {h for h, kind in zip(t.time_h, t.kind, strict=True) if kind == EventKind.REPAIR}
    assert sum(kind == EventKind.REPAIR for kind in t.kind) == result.cluster.repairs
    restarts_on_repair = [
        h
        for h, kind, detail in zip(t.time_h, t.kind, t.detail, strict=True)
        if kind == EventKind.RESTART and detail.startswith("repaired")
    ]
    stalls = sum(kind == EventKind.STALL for kind in t.kind)
    assert stalls > 0, "the tight scenario should stall a job that waits for repairs"
    assert restarts_on_repair, "a stalled job restarts once its racks are repaired"
    for h in restarts_on_repair:  # each at the moment of a repair, not at a later event
        assert h in repair_times
