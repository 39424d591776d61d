"""Jobs that queue, on ten GB200 racks, failures off: a scenario that runs in well under a
second, for the tables and figures that show submit, wait and finish days.

``first`` (6 racks, 5 days) starts at once; ``wide`` (8 racks, submitted on day 1) queues until
``first`` finishes on day 5; ``long`` (2 racks, 30 days, day 2) starts at once and outlasts the
12-day horizon; ``stuck`` (all 10 racks, day 3) queues to the end; ``held`` comes after
``stuck`` and is never submitted."""

from __future__ import annotations

from pathlib import Path

from test_scheduler import scenario_file

QUEUED_JOBS = [
    "first: {workload: imagine_v2, racks: 6, days: 5}",
    "wide: {workload: imagine_v2, racks: 8, days: 3, submit_days: 1}",
    "long: {workload: imagine_v2, racks: 2, days: 30, submit_days: 2}",
    "stuck: {workload: imagine_v2, racks: 10, days: 2, submit_days: 3}",
    "held: {workload: imagine_v2, racks: 2, days: 2, after: [stuck]}",
]


def queued_scenario(tmp_path: Path) -> Path:
    return scenario_file(tmp_path, QUEUED_JOBS, horizon_days=12)
