"""Output paths: each option's path is checked before any work, and a bad one is exit 2 naming
the option and the path — a file where a folder goes, a folder where a file goes, a path under
a file, a folder that cannot be written — and a write that fails anyway (a full disk) is exit 2
with the path and the system's reason, never a traceback."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from typer.testing import CliRunner

from colossus_sim import api, outputs, paths

runner = CliRunner()
SPREAD = str(paths.data_root() / "scenarios" / "spread.yaml")

#: command before the option, the option, what it names, the api call that does the work
CASES: list[tuple[list[str], str, str, str]] = [
    (["run", "--set", "horizon_days=1"], "--out", "folder", "simulate"),
    (["run", "--set", "horizon_days=1", "--replicas", "2"], "--out", "folder", "run_sweep"),
    (["run", "--set", "horizon_days=1"], "--plot", "file", "simulate"),
    (["sweep", "--grid", "horizon_days=1,2"], "--store", "folder", "run_sweep"),
    (["sweep", "--grid", "horizon_days=1,2"], "--out", "folder", "run_sweep"),
    (["sweep", "--grid", "horizon_days=1,2"], "--plot", "file", "run_sweep"),
    (["fabric"], "--graphml", "file", "fabric"),
    (["check", SPREAD], "--junit", "file", "check"),
]
IDS = [f"{args[0]}{'-replicas' if '--replicas' in args else ''}{opt}" for args, opt, _, _ in CASES]


def _no_work(monkeypatch: pytest.MonkeyPatch, work: str) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"api.{work} ran before the output path was checked")

    monkeypatch.setattr(api, work, refuse)


def _bad(cli: ModuleType, args: list[str], option: str, *fragments: str) -> str:
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output, result.output
    assert f"error: {option}:" in result.output, result.output
    for fragment in fragments:
        assert fragment in result.output, result.output
    return result.output


@pytest.mark.parametrize(("args", "option", "kind", "work"), CASES, ids=IDS)
def test_the_wrong_kind_of_path_is_refused_before_any_work(
    cli_module: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    option: str,
    kind: str,
    work: str,
) -> None:
    """A file where the option names a folder, a folder where it names a file."""
    _no_work(monkeypatch, work)
    wrong = tmp_path / "wrong"
    if kind == "folder":
        wrong.write_text("a file")
        expected = "is a file; this option names a folder"
    else:
        wrong.mkdir()
        expected = "is a folder"
    _bad(cli_module, [*args, option, str(wrong)], option, str(wrong), expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wrong"]


@pytest.mark.parametrize(("args", "option", "kind", "work"), CASES, ids=IDS)
def test_a_path_under_a_file_is_refused_before_any_work(
    cli_module: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    option: str,
    kind: str,
    work: str,
) -> None:
    """A parent that is a file cannot hold anything, even for root."""
    _no_work(monkeypatch, work)
    (tmp_path / "plain").write_text("a file")
    target = tmp_path / "plain" / "deeper" / ("x" if kind == "folder" else "x.out")
    _bad(cli_module, [*args, option, str(target)], option, "plain is a file, not a folder")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
@pytest.mark.parametrize(("args", "option", "kind", "work"), CASES, ids=IDS)
def test_a_read_only_parent_is_refused_before_any_work(
    cli_module: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    option: str,
    kind: str,
    work: str,
) -> None:
    _no_work(monkeypatch, work)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        target = locked / "sub" / ("x" if kind == "folder" else "x.out")
        _bad(cli_module, [*args, option, str(target)], option, "cannot write in", "ermission")
    finally:
        locked.chmod(0o700)
    assert list(locked.iterdir()) == []


def test_out_never_replaces_a_folder_holding_other_files(
    cli_module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``run --out`` replaces its folder whole: not one holding files no run writes, nor the
    current folder."""
    _no_work(monkeypatch, "simulate")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    (mine / "result.json").write_text("{}")
    _bad(cli_module, ["run", "--out", str(mine)], "--out", "'notes.txt'", "which no run writes")
    monkeypatch.chdir(mine)
    _bad(cli_module, ["run", "--out", "."], "--out", "holds the current folder")
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt", "result.json"]


def test_a_full_disk_is_exit_2_naming_the_path(
    cli_module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that fails after the checks (here: every write finds the disk full) names the
    option, the path and the system's reason; the earlier result stays whole."""
    out = tmp_path / "out"
    args = ["run", "--set", "horizon_days=0.2", "--out", str(out)]
    assert runner.invoke(cli_module.app, args).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def full(fd: int, data: bytes, mode: int) -> None:
        os.close(fd)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(outputs, "_write", full)
    _bad(cli_module, [*args, "--seed", "7"], "--out", f"could not write {out}", "No space left")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary sibling left
    graph = tmp_path / "fabric.graphml"
    _bad(cli_module, ["fabric", "--graphml", str(graph)], "--graphml", "No space left")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_good_paths_are_created_with_their_folders(cli_module: ModuleType, tmp_path: Path) -> None:
    """The checks let through what they should: new nested folders, a plot prefix whose folder
    does not exist yet, and a new folder replacing an earlier result. Each ``wrote PATH`` is
    one line however long the path (a script reads them), not wrapped at the console's width."""
    out = tmp_path / "new" / ("a_long_folder_name_" * 10) / "run"
    plot = tmp_path / "figures" / "x.png"
    args = ["run", "--set", "horizon_days=1", "--out", str(out), "--plot", str(plot)]
    result = runner.invoke(cli_module.app, args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(api.RUN_FILES)
    assert len(str(out)) > 200
    assert {f"wrote {out / name}" for name in api.RUN_FILES} <= set(result.output.splitlines())
    names = [f"x_{name}.png" for name in api.RUN_PLOTS]
    assert sorted(p.name for p in plot.parent.iterdir()) == sorted(names)
    graph = tmp_path / "g" / "fabric.graphml"
    result = runner.invoke(cli_module.app, ["fabric", "--graphml", str(graph)])
    assert result.exit_code == 0 and graph.stat().st_size > 0, result.output
