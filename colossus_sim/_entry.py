"""Console-script entry point: runs the typer app defined in the project's root ``cli.py``.

``cli.py`` sits at the project root so that ``python cli.py`` works in a checkout; a wheel
ships the same file as package data. This loader imports whichever copy ``paths`` finds.
"""

from __future__ import annotations

import importlib.util

from colossus_sim.paths import cli_script


def main() -> None:
    path = cli_script()
    spec = importlib.util.spec_from_file_location("colossus_sim_cli", path)
    if spec is None or spec.loader is None:  # pragma: no cover - broken install
        raise SystemExit(f"colossus-sim: cannot load its command line from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.app()
