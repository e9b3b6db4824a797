"""Worker process pools that end with the process that started them, ``kill -9`` included.

``stasn prepare`` and ``stasn synth`` run their videos through :func:`run_jobs`: in this process, or in a
:class:`~concurrent.futures.ProcessPoolExecutor` started from a fork server (:func:`process_pool`). When the parent
is killed outright (no ``finally`` runs), the workers would wait forever for jobs: each holds the write end of its
own job queue, so it never sees end of file, and it holds the fork server's "alive" pipe, so the fork server and the
resource tracker stay too. Here every worker starts a watchdog thread that waits for the parent to end (a Linux
pidfd; elsewhere a poll every half second) and then exits at once. Once the workers are gone, the fork server and
the resource tracker see end of file on their pipes and exit by themselves.

A worker killed this way may leave a temporary file of an unfinished write; the next run removes those
(:func:`stasn.data.cache.remove_stale_temporaries`), and no finished output is ever half-written
(:mod:`stasn.fileio`).
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import os
import select
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

__all__ = ["run_jobs", "process_pool", "exit_with_parent"]

Job = TypeVar("Job")
Result = TypeVar("Result")


def run_jobs(
    function: Callable[[Job], Result],
    jobs: Sequence[Job],
    *,
    workers: int = 1,
    in_process: Callable[[Job], Result] | None = None,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    preload: Sequence[str] = (),
) -> Iterator[tuple[Job, Result]]:
    """Run ``function`` on every job and yield ``(job, result)`` as each finishes (in completion order).

    With ``workers <= 1`` or a single job everything runs here, in order; otherwise in a :func:`process_pool` of
    ``min(workers, len(jobs))`` workers, each using one OpenCV thread (one process per core; OpenCV's own thread pool
    would only compete) and logging warnings only. An error in a job cancels the jobs not yet started and is raised
    here once the running ones have stopped.

    Args:
        function: ``job -> result``, picklable (a module-level function, or a ``functools.partial`` of one with
            picklable arguments): what the workers run.
        jobs: picklable job records.
        workers: processes.
        in_process: what runs instead of ``function`` when no pool is needed (default ``function``), e.g. a partial
            holding objects built here that cannot be pickled.
        initializer, initargs: run once in each worker (e.g. to build a face detector there).
        preload: modules the fork server imports once, so each worker starts with them loaded.
    """
    if workers <= 1 or len(jobs) <= 1:
        local = in_process or function
        for job in jobs:
            yield job, local(job)
        return
    with process_pool(
        min(workers, len(jobs)), initializer=_job_worker, initargs=(initializer, initargs), preload=preload
    ) as pool:
        futures = {pool.submit(function, job): job for job in jobs}
        try:
            for future in concurrent.futures.as_completed(futures):
                yield futures[future], future.result()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _job_worker(initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    import cv2

    cv2.setNumThreads(1)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if initializer is not None:
        initializer(*initargs)


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
