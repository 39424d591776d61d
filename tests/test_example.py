"""The capacity-planning example runs from start to end and writes the figures it promises,
so it cannot rot as the API moves."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "capacity_planning.py"
FIGURES = (
    "allocation.png",
    "power.png",
    "gantt.png",
    "sweep_10t_time_to_train.png",
    "sweep_finish_day.png",
)


def test_capacity_planning_example_writes_its_figures(tmp_path: Path) -> None:
    out = tmp_path / "figures"
    env = {
        **os.environ,
        "CAPACITY_PLANNING_OUT": str(out),
        "CAPACITY_PLANNING_QUICK": "1",  # a tenth of the failures: every step, whole runs
        "MPLBACKEND": "Agg",
    }
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    for name in FIGURES:
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", name
        assert len(data) > 20_000, f"{name} is suspiciously small ({len(data):,} bytes)"
    assert f"wrote {len(FIGURES)} figures" in done.stdout
    assert "grok5_10t" in done.stdout  # the jobs table and the sweep table were printed
    assert not (tmp_path / "capacity_planning_out").exists()  # the variable was honoured
