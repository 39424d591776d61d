"""``colossus_sim.figures`` is a leaf: loading a scenario imports it to check ``expect:`` paths,
so it must not import the modules that import ``scenario`` (or ``scenario`` itself)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("scenario", "regression", "api", "engine", "sweep")


def test_figures_imports_no_module_above_it() -> None:
    code = (
        "import json, sys, colossus_sim.figures as f; "
        "print(json.dumps([f.__file__, sorted(m for m in sys.modules "
        "if m.startswith('colossus_sim'))]))"
    )
    got = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    where, loaded = json.loads(got.stdout)
    assert Path(where).resolve() == ROOT / "colossus_sim" / "figures.py"
    bad = [m for m in loaded for name in FORBIDDEN if m == f"colossus_sim.{name}"]
    bad += [m for m in loaded for name in FORBIDDEN if m.startswith(f"colossus_sim.{name}.")]
    assert not bad, f"colossus_sim.figures imports {bad}"
    assert "colossus_sim.results" in loaded
