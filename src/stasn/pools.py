"""Worker process pools that end with the process that started them, ``kill -9`` included.

``stasn prepare`` and ``stasn synth`` run their videos in a :class:`~concurrent.futures.ProcessPoolExecutor` started
from a fork server. When the parent is killed outright (no ``finally`` runs), the workers would wait forever for
jobs: each holds the write end of its own job queue, so it never sees end of file, and it holds the fork server's
"alive" pipe, so the fork server and the resource tracker stay too. Here every worker starts a watchdog thread that
waits for the parent to end (a Linux pidfd; elsewhere a poll every half second) and then exits at once. Once the
workers are gone, the fork server and the resource tracker see end of file on their pipes and exit by themselves.

A worker killed this way may leave a temporary file of an unfinished write; the next run removes those
(:func:`stasn.data.prepare.prepare_samples`), and no finished output is ever half-written (:mod:`stasn.fileio`).
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import select
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["process_pool", "exit_with_parent"]


def process_pool(
    max_workers: int,
    *,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    preload: Sequence[str] = (),
) -> concurrent.futures.ProcessPoolExecutor:
    """A process pool whose workers exit when this process ends, however it ends.

    Args:
        max_workers: worker processes.
        initializer, initargs: run in each worker after its watchdog has started.
        preload: modules the fork server imports once (each worker is forked from it with them loaded).
    """
    # Not plain fork: forking a process whose OpenCV/PyAV/torch threads may hold locks can deadlock the child. A fork
    # server starts clean, imports the preloaded modules once, and forks each worker from that.
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["stasn.pools", *preload])
    else:  # Windows
        context = multiprocessing.get_context("spawn")
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=max_workers,
        mp_context=context,
        initializer=_start_worker,
        initargs=(os.getpid(), initializer, initargs),
    )


def _start_worker(parent: int, initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    exit_with_parent(parent)
    if initializer is not None:
        initializer(*initargs)


def exit_with_parent(parent: int, *, poll_seconds: float = 0.5) -> threading.Thread:
    """Start a daemon thread that ends this process (``os._exit(1)``) as soon as process ``parent`` has ended.

    The worker's own parent is the fork server, so ``os.getppid()`` would not tell; the pid of the process that
    made the pool is watched instead: through a pidfd where the OS has them (it becomes readable when the process
    ends, zombie included, and cannot be confused with a later process of the same pid), otherwise by polling.
    """
    try:
        handle: int | None = os.pidfd_open(parent)  # type: ignore[attr-defined]  # Linux >= 5.3
    except (AttributeError, OSError):
        handle = None
    if handle is None and not _alive(parent):
        os._exit(1)

    def watch() -> None:
        if handle is not None:
            select.select([handle], [], [])
        else:
            while _alive(parent):
                time.sleep(poll_seconds)
        os._exit(1)  # the parent is gone: nobody will collect this worker's results

    thread = threading.Thread(target=watch, name="stasn-exit-with-parent", daemon=True)
    thread.start()
    return thread


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else (cannot be our parent, but do not exit on a guess)
        return True
    try:  # a killed parent stays a zombie until its own parent reaps it
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
