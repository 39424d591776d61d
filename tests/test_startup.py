"""What the command line's run path imports: only what a run uses. Heavy libraries (pandas,
pyarrow, matplotlib, dask, networkx) and process pools load in the commands and calls that
need them (``docs/architecture.md``, "What is imported when")."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOT_ON_THE_RUN_PATH = (
    "pandas",
    "pyarrow",
    "matplotlib",
    "dask",
    "networkx",
    "multiprocessing",
    "concurrent.futures",
    "colossus_sim.procs",
    "colossus_sim.sweep",
    "colossus_sim.regression",
    "colossus_sim.plots",
    "colossus_sim.perf.fidelity",
)


def _loaded_after(code: str) -> list[str]:
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    got = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return list(json.loads(got.stdout.strip().splitlines()[-1]))


def _heavy(loaded: list[str]) -> list[str]:
    return [
        m for m in loaded for name in NOT_ON_THE_RUN_PATH if m == name or m.startswith(name + ".")
    ]


def test_the_command_line_imports_no_heavy_library_before_a_command_runs() -> None:
    loaded = _loaded_after("import colossus_sim.cli.app")
    assert not _heavy(loaded)
    assert "colossus_sim.api" in loaded and "typer" in loaded
    assert "colossus_sim.sim" not in loaded and "simpy" not in loaded  # the engine: on a run


def test_a_run_and_its_report_import_no_heavy_library() -> None:
    loaded = _loaded_after(
        "import io, contextlib\n"
        "from colossus_sim.cli.app import app\n"
        "sys.argv = ['colossus-sim', 'run', '--set', 'horizon_days=2']\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        app()\n"
        "    except SystemExit as exit:\n"
        "        assert exit.code in (0, None), exit.code"
    )
    assert "colossus_sim.sim" in loaded  # it did run
    assert not _heavy(loaded)


def test_a_lazily_given_api_name_is_the_modules_own() -> None:
    from colossus_sim import api, job_step, procs

    assert api.job_step is job_step.job_step
    assert api.Terminated is procs.Terminated
    assert set(api.__all__) <= set(dir(api)) | set(api._LAZY_MODULE)
