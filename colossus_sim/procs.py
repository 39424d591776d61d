"""Worker pools whose processes die with the process that started them, and SIGTERM handled
as Ctrl-C.

Every local pool of the package (a sweep's points, ``check``'s scenarios) comes from
``open_pool``. Its workers ignore Ctrl-C, which the parent handles, and on Linux each asks the
kernel to SIGKILL it when its parent dies (``prctl(PR_SET_PDEATHSIG)`` through libc), then
checks that its parent is still the process that started it (a parent killed between the fork
and that request would otherwise go unnoticed). So a sweep killed by SIGKILL leaves no worker
behind holding memory and the caller's pipes. Other platforms skip the request. Leaving the
pool by an exception (Ctrl-C, SIGTERM under ``terminate_as_interrupt``, an error) cancels what
has not started and terminates the workers at once (a running point's result would be dropped
anyway), then closes this process's end of their results pipe, so the pool's manager thread is
never left waiting for the rest of a result a worker was killed sending.
``terminate_as_interrupt`` turns SIGTERM (what CI cancellation sends) into ``Terminated``, a
``KeyboardInterrupt``, in the main thread, so the parent's Ctrl-C path runs.
Cost: one libc call per worker start.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from types import FrameType, TracebackType

PR_SET_PDEATHSIG = 1
"""``prctl`` option: the signal a process gets when its parent dies (``<linux/prctl.h>``)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM reached the process while ``terminate_as_interrupt`` was active."""


def _die_with_parent(parent: int | None) -> None:
    """Pool initializer: leave Ctrl-C to the parent and die of SIGTERM (a forked worker
    inherits the parent's handlers, ``terminate_as_interrupt``'s among them); on Linux be
    killed when the parent dies, and exit now if it already has (``parent`` is its pid; None
    skips that check, for a worker started by a fork server rather than by the parent)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        os._exit(1)  # the parent died before the request: nobody will collect this worker


def open_pool(workers: int, stack: contextlib.ExitStack) -> ProcessPoolExecutor:
    """A process pool of ``workers`` tied to this process, closed with ``stack``: waited for
    on a normal exit, its workers terminated when ``stack`` unwinds by an exception."""
    forked_here = multiprocessing.get_start_method() != "forkserver"
    pool = ProcessPoolExecutor(
        max_workers=workers,
        initializer=_die_with_parent,
        initargs=(os.getpid() if forked_here else None,),
    )

    def close(
        kind: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        if kind is None:
            pool.shutdown(wait=True)
            return
        processes = list(pool._processes.values())
        # typeshed types this attribute as the wake-up object; it is the manager thread
        manager: threading.Thread | None = getattr(pool, "_executor_manager_thread", None)
        results = pool._result_queue  # shutdown(wait=False) drops the pool's reference
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join()
        # A worker terminated halfway through sending a result leaves half a message in the
        # results pipe, and the manager thread blocks reading the rest, for ever (the
        # interpreter's exit then joins it and hangs). With every worker dead, this process
        # holds the pipe's last write end: closing it turns that read into end-of-file.
        results._writer.close()  # type: ignore[attr-defined]  # typeshed omits the pipe's ends
        # Wait for the pool's manager thread too: it closes its wake-up pipe as it ends, and an
        # interpreter exit racing that close writes to a closed pipe ("Bad file descriptor"
        # printed with a traceback from concurrent.futures' exit hook).
        if manager is not None:
            manager.join(timeout=10)

    stack.push(close)
    return pool


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises ``Terminated`` (a ``KeyboardInterrupt``) in the main
    thread; the previous handler is restored after. Off the main thread it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_terminated(_signum: int, _frame: FrameType | None) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
