"""A local pool left by Ctrl-C ends with its process: no worker and no thread is left behind.

The pool's workers are terminated when the block around them is left by an exception; a worker
killed halfway through sending its result must not leave the pool's manager thread reading the
rest for ever, which hung the interpreter's exit (a sweep printed "interrupted" and never ended).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

PROGRAM = textwrap.dedent(
    """
    import contextlib, threading, time
    from colossus_sim import procs

    def point(i: int) -> bytes:
        return b"x" * 4_000_000  # far over a pipe's buffer: sending it takes many writes

    try:
        with contextlib.ExitStack() as stack:
            pool = procs.open_pool(2, stack)
            futures = [pool.submit(point, i) for i in range(40)]
            futures[2].result()
            raise KeyboardInterrupt  # while the workers are sending the next results
    except KeyboardInterrupt:
        pass
    others = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    print("threads left:", others)
    """
)


def test_an_interrupted_pool_ends_with_its_process(tmp_path: Path) -> None:
    script = tmp_path / "interrupted_pool.py"
    script.write_text(PROGRAM)
    for _ in range(3):  # the hang needs a worker mid-send; it came every time before the fix
        proc = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, timeout=30
        )
        assert proc.returncode == 0, proc.stderr
        assert "threads left: []" in proc.stdout, proc.stdout
