"""stasn.pools: worker pools (prepare's and synth's) end with their parent, kill -9 included."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from stasn.pools import process_pool

# Starts a pool of 2 busy workers the way `stasn synth` does (same helper, same preload), prints their pids, waits.
_PARENT = """
import os, sys, time
from stasn.pools import process_pool
pool = process_pool(2, preload=["stasn.synth.generate"])
futures = [pool.submit(time.sleep, 600) for _ in range(2)]
while len(pool._processes) < 2:
    time.sleep(0.01)
print(" ".join(str(pid) for pid in pool._processes), flush=True)
time.sleep(600)
"""


def test_workers_exit_when_the_parent_is_killed():
    psutil = pytest.importorskip("psutil")
    parent = subprocess.Popen([sys.executable, "-c", _PARENT], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        workers = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(workers) == 2, "the pool did not start"
        family = psutil.Process(parent.pid).children(recursive=True)  # workers, fork server, resource tracker
        assert {p.pid for p in family} >= set(workers)
    finally:
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        parent.stdout.close()
    gone, alive = psutil.wait_procs(family, timeout=15)
    for process in alive:
        process.kill()
    assert not alive, f"left running: {[' '.join(p.cmdline())[:80] for p in alive]}"


def test_a_pool_works_and_ends_normally():
    with process_pool(2) as pool:
        assert sorted(pool.map(abs, [-3, -1, 2], timeout=60)) == [1, 2, 3]
