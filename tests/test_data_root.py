"""Which data folders run: the checkout the working directory is in, else the installed copy.

After ``pip install .`` the package carries a copy of ``scenarios/``, ``workloads/`` and
``topologies/``; inside a checkout, the checkout's files are the ones read and the ones
``check --update`` rewrites (printing that file's absolute path), never the copy inside the
virtualenv. The installed layout is built here as the wheel builds it (the package with
``_data/``), so the test needs no ``pip install``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from one_job import one_job_scenario

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = 123.0  # far from the job's 4-day time to train: the figure drifts, --update moves it
FIGURE = "jobs.grok44_1t_a.time_to_train_days"


def _data(target: Path, tmp_path: Path) -> Path:
    """The three data folders under ``target``; ``scenarios/`` holds one scenario with an
    expected figure that drifts."""
    for folder in ("topologies", "workloads"):
        shutil.copytree(ROOT / folder, target / folder)
    (target / "scenarios").mkdir(parents=True)
    scenario = one_job_scenario(tmp_path, horizon_days=1)
    text = scenario.read_text() + f"expect:\n  {FIGURE}: {{value: {EXPECTED}, rel_tol: 0.01}}\n"
    drifting = target / "scenarios" / "drift.yaml"
    drifting.write_text(text)
    return drifting


def _installed(tmp_path: Path) -> tuple[Path, Path]:
    """The package as a wheel installs it (code and ``_data/``); its drifting scenario."""
    site = tmp_path / "site"
    shutil.copytree(
        ROOT / "colossus_sim",
        site / "colossus_sim",
        ignore=shutil.ignore_patterns("__pycache__", "_data"),
    )
    return site, _data(site / "colossus_sim" / "_data", tmp_path)


def _checkout(tmp_path: Path) -> tuple[Path, Path]:
    checkout = tmp_path / "checkout"
    drifting = _data(checkout, tmp_path)
    shutil.copy(ROOT / "pyproject.toml", checkout / "pyproject.toml")
    (checkout / "sub").mkdir()
    return checkout, drifting


def _colossus_sim(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = "from colossus_sim.cli.app import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_check_update_in_a_checkout_rewrites_the_checkout_file(tmp_path: Path) -> None:
    site, installed = _installed(tmp_path)
    checkout, drifting = _checkout(tmp_path)
    before = installed.read_text()
    done = _colossus_sim(site, checkout / "sub", "check", "--update", "--workers", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"data: {checkout.resolve()} (the checkout" in done.stdout
    assert f"updated {drifting.resolve()}: {FIGURE} 123 → " in done.stdout, done.stdout
    assert f"value: {EXPECTED}" not in drifting.read_text()  # the checkout's file moved
    assert installed.read_text() == before  # and the copy inside the "virtualenv" did not


def test_outside_a_checkout_the_installed_copy_is_read_and_named(tmp_path: Path) -> None:
    site, installed = _installed(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = _colossus_sim(site, elsewhere, "--version")
    assert done.returncode == 0, done.stderr
    root = installed.parent.parent.resolve()
    assert f"data: {root} (the copy installed with colossus-sim" in done.stdout
    check = _colossus_sim(site, elsewhere, "check", "--workers", "1")
    assert check.returncode == 1, check.stdout + check.stderr  # drift.yaml drifts
    assert "drift" in check.stdout and "data: " in check.stdout
