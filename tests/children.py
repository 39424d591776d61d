"""The child processes of a process, from Linux's ``/proc``, and a command line run with one of
its worker processes killed (as the kernel's OOM killer would), for the commands that have
workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HAS_PROC = Path("/proc/self/stat").exists()
CLI = Path(__file__).resolve().parent.parent / "cli.py"


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # it ended while being read
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def run_killing_a_worker(*args: str, workers: int) -> tuple[int, str]:
    """``cli.py args``, with the first of its worker processes SIGKILLed as soon as
    ``workers`` of them (or any, if it stops starting them) are up; its exit code and stderr."""
    proc = subprocess.Popen(
        [sys.executable, str(CLI), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    started: list[int] = []
    while len(started) < workers and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
        started = children(proc.pid)
    assert started, f"{args[0]} never started a worker process"
    os.kill(started[0], signal.SIGKILL)
    _, stderr = proc.communicate(timeout=120)
    return proc.returncode, stderr
