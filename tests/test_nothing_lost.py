"""Nothing lost: a result folder is published as a unit.

``run --out`` writes its files into a hidden sibling and swaps it in, so a SIGKILL at any
moment, or another run writing the same folder, leaves the folder holding all of one result
(the old or the new), never a mix, and at most one hidden ``.NAME.*.tmp`` sibling, which the
next run removes. Files get the umask's permissions.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
from small_cluster import small_scenario

from colossus_sim import api, outputs

ROOT = Path(__file__).resolve().parent.parent
KILLS_PER_LANE = 10
LANES = 2  # two folders killed in turn side by side, a core each: 20 kills, ~45 s of CPU


def _command(scenario: Path, out: Path, seed: int) -> list[str]:
    """``run --out`` of the small test cluster for half a day: every file a run writes
    (~300 kB, as a default run's 440 kB), in about half a default run's time."""
    return [
        sys.executable,
        str(ROOT / "cli.py"),
        "run",
        str(scenario),
        "--set",
        "horizon_days=0.5",
        "--seed",
        str(seed),
        "--out",
        str(out),
    ]


def _digests(folder: Path) -> dict[str, str]:
    """Every file of the folder (hidden ones included) by its SHA-256."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def _strays(folder: Path) -> list[str]:
    return [p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}.")]


def _umask_022() -> None:
    os.umask(0o022)


def _hidden(folder: Path) -> set[str]:
    """The hidden entries beside ``folder`` (a writer's staging folder) and in it (a writer of
    single files' temporary files)."""
    inside = {f"{folder.name}/{p.name}" for p in folder.iterdir() if p.name.startswith(".")}
    return set(_strays(folder)) | inside


def _publishing(folder: Path, inode: int, stale: set[str]) -> bool:
    """A writer has begun on ``folder``: a hidden entry beside it or in it that was not there
    when it was launched (``stale``: a killed run's leftovers, which the new run removes), or
    another folder at its path already."""
    try:
        return bool(_hidden(folder) - stale) or folder.stat().st_ino != inode
    except FileNotFoundError:
        return True


def _kill_at(
    proc: subprocess.Popen[bytes], folder: Path, moment: float | None, rng: random.Random
) -> bool:
    """SIGKILL ``proc`` ``moment`` seconds after its start, or (``moment`` None) a random
    0–10 ms after it begins writing ``folder``; False when it had already finished."""
    begun = time.perf_counter()
    if moment is None:
        inode, stale = folder.stat().st_ino, _hidden(folder)
        while proc.poll() is None and not _publishing(folder, inode, stale):
            time.sleep(0.0002)
        time.sleep(rng.uniform(0.0, 0.010))
    else:
        time.sleep(max(0.0, moment - (time.perf_counter() - begun)))
    alive = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    return alive


def _lane(
    scenario: Path, out: Path, held: int, full_s: float, known: dict[int, dict[str, str]], seed: int
) -> int:
    """Kill runs over ``out`` in turn (each writing the result it does not hold), at random
    moments of the run's later part or in the middle of its writing, until ``KILLS_PER_LANE``
    kills met a live process; check the folder after each. Return the kills that did."""
    rng = random.Random(seed)
    hits = 0
    for i in range(2 * KILLS_PER_LANE):  # a timed kill can miss a run that ends early on a
        # loaded machine: more tries, the same count of kills that must meet a live run
        proc = subprocess.Popen(
            _command(scenario, out, 3 - held),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        moment = rng.uniform(0.3, 0.9) * full_s if i % 2 else None
        hits += _kill_at(proc, out, moment, rng)
        now = _digests(out)
        assert now in (known[1], known[2]), f"a mix after kill {i} of {out.name}: {moment}"
        held = 1 if now == known[1] else 2
        assert len(_strays(out)) <= 1, _strays(out)  # each run removes the one before's
        if hits == KILLS_PER_LANE:
            break
    return hits


def test_a_killed_run_leaves_all_of_the_old_result_or_all_of_the_new(tmp_path: Path) -> None:
    """SIGKILL at 20 random moments of ``run --out`` over an earlier result (half of them
    within 10 ms of its first write): each time the folder is exactly one of the two results,
    byte for byte, with at most one stray sibling. Two folders side by side, for time."""
    scenario = small_scenario(tmp_path)
    lanes = [tmp_path / f"out{i}" for i in range(LANES)]
    start = time.perf_counter()
    first = [
        subprocess.Popen(
            _command(scenario, out, seed),
            cwd=ROOT,
            stderr=subprocess.DEVNULL,
            preexec_fn=_umask_022,
        )
        for out, seed in zip(lanes, (1, 2), strict=True)
    ]
    assert [p.wait(timeout=120) for p in first] == [0] * LANES
    full_s = time.perf_counter() - start  # one run's time with the lanes side by side
    known = {1: _digests(lanes[0]), 2: _digests(lanes[1])}
    assert set(known[1]) == set(known[2]) == set(api.RUN_FILES)
    assert known[1] != known[2]
    for lane in lanes:  # files and folder with the umask's permissions
        assert (lane.stat().st_mode & 0o777) == 0o755
        assert {p.stat().st_mode & 0o777 for p in lane.iterdir()} == {0o644}

    results: list[int | BaseException] = []

    def lane(i: int) -> None:
        try:
            results.append(_lane(scenario, lanes[i], i + 1, full_s, known, seed=20 + i))
        except BaseException as exc:
            results.append(exc)

    threads = [threading.Thread(target=lane, args=(i,)) for i in range(LANES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for outcome in results:
        if isinstance(outcome, BaseException):
            raise outcome
    assert results == [KILLS_PER_LANE] * LANES  # 20 kills met a live run


def _files(tag: str) -> dict[str, bytes]:
    return {f"{name}.parquet": f"{tag}:{name}".encode() * 1000 for name in "abcdef"}


def _publish_many(folder: Path, tag: str, times: int) -> None:
    for _ in range(times):
        outputs.publish_folder(folder, _files(tag), lambda _: None)


def _snapshot(folder: Path) -> Mapping[str, bytes] | None:
    """The folder's files read through one open descriptor, so all from one folder (an old
    one swapped out may lose files while it is read, as it is removed), or None."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        names = os.listdir(fd)
        files = {}
        for name in names:
            handle = os.open(name, os.O_RDONLY, dir_fd=fd)
            with os.fdopen(handle, "rb") as f:
                files[name] = f.read()
        return files
    except FileNotFoundError:
        return None
    finally:
        os.close(fd)


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "rename-aside"])
def test_concurrent_publishers_never_mix_and_a_reader_sees_one_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool
) -> None:
    if not exchange:  # where renameat2 is missing: the old folder renamed aside, then back
        monkeypatch.setattr(outputs, "_exchange", lambda a, b: False)
    folder = tmp_path / "out"
    _publish_many(folder, "a", 1)
    sets = [_files("a"), _files("b")]
    errors: list[BaseException] = []

    def publish(tag: str) -> None:
        try:
            _publish_many(folder, tag, 30)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    writers = [threading.Thread(target=publish, args=(tag,)) for tag in "ab"]
    for writer in writers:
        writer.start()
    seen = 0
    while any(w.is_alive() for w in writers):
        snapshot = _snapshot(folder)
        if snapshot is not None:  # files of one set (an old one may lose files to its removal)
            assert any(snapshot.items() <= s.items() for s in sets), sorted(snapshot)
            seen += 1
    for writer in writers:
        writer.join()
    if exchange:
        assert not errors, errors
        assert seen > 0
    else:  # without an exchange the path is briefly absent: a racing publisher may fail
        assert all(isinstance(e, OSError) for e in errors), errors
    assert _snapshot(folder) in sets
    time.sleep(outputs.STALE_S)
    _publish_many(folder, "a", 1)  # the next publish removes what was left beside it
    assert _strays(folder) == []


def test_a_kill_between_the_two_renames_is_repaired_by_the_next_publish(tmp_path: Path) -> None:
    """Without an exchange, a kill after the old folder was renamed aside leaves no folder:
    the next publisher renames the old one back before it checks and replaces it."""
    folder = tmp_path / "out"
    outputs.publish_folder(folder, _files("a"), lambda _: None)
    aside = tmp_path / ".out.killed.old"
    folder.rename(aside)
    os.utime(aside, (time.time() - 10, time.time() - 10))
    seen: list[set[str]] = []
    outputs.publish_folder(folder, _files("b"), lambda f: seen.append(set(os.listdir(f))))
    assert seen == [set(_files("a"))]  # the old folder was back before it was replaced
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == _files("b")
    assert _strays(folder) == []


UMASK_SCRIPT = """
import os, sys
from pathlib import Path
os.umask(int(sys.argv[2], 8))
from colossus_sim import outputs
base = Path(sys.argv[1])
outputs.write_atomic(base / "new" / "one.json", b"{}")
outputs.publish_folder(base / "result", {"a.parquet": b"a"}, lambda f: None)
kept = base / "kept.txt"
kept.write_text("x"); kept.chmod(0o600)
outputs.write_atomic(kept, b"y")
"""


@pytest.mark.parametrize(("mask", "file", "folder"), [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)])
def test_files_get_the_umasks_mode_and_a_replaced_file_keeps_its_own(
    tmp_path: Path, mask: int, file: int, folder: int
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, "-c", UMASK_SCRIPT, str(tmp_path), f"{mask:o}"], check=True, env=env
    )
    assert (tmp_path / "new" / "one.json").stat().st_mode & 0o777 == file
    assert (tmp_path / "new").stat().st_mode & 0o777 == folder
    assert (tmp_path / "result" / "a.parquet").stat().st_mode & 0o777 == file
    assert (tmp_path / "result").stat().st_mode & 0o777 == folder
    assert (tmp_path / "kept.txt").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "kept.txt").read_text() == "y"


def test_a_folder_holding_other_files_is_never_replaced(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    result = api.simulate(overrides=["horizon_days=0.2"])
    with pytest.raises(api.ScenarioError, match=r"notes\.txt"):
        api.write_run(result, folder)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert _strays(folder) == []
    shutil.rmtree(folder)
    written = api.write_run(result, folder)
    assert sorted(p.name for p in written) == sorted(api.RUN_FILES)
