"""Stopping a run's process tree leaves alone the processes its caller already had (a test's or an
Airflow worker's servers, when `report.run` is called in-process)."""

from __future__ import annotations

import subprocess
import sys

from workbench import proctree


def _sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_the_tree_stops_what_came_after_the_snapshot_and_spares_what_was_there():
    before = _sleeper()  # the caller's server, started before the run
    try:
        spared = proctree.direct_children()
        assert before.pid in spared
        during = _sleeper()  # a worker of the run
        signalled = proctree.terminate_tree(grace_s=5, spare=spared)
        assert during.pid in signalled and before.pid not in signalled
        assert during.wait(timeout=10) is not None
        assert before.poll() is None  # still running
    finally:
        before.kill()
        before.wait()


def test_without_a_snapshot_every_descendant_of_the_given_process_is_stopped():
    # a parent (standing in for the runner) with a child of its own: both levels of its tree stop
    code = ("import subprocess, sys, time; "
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)")
    parent = subprocess.Popen([sys.executable, "-c", code])
    try:
        import time

        import psutil

        for _ in range(100):  # until the parent has started its child
            if psutil.Process(parent.pid).children():
                break
            time.sleep(0.1)
        grandchild = psutil.Process(parent.pid).children()[0]
        signalled = proctree.terminate_tree(grace_s=5, pid=parent.pid)
        assert signalled == [grandchild.pid]
        assert not grandchild.is_running() or grandchild.status() == psutil.STATUS_ZOMBIE
    finally:
        parent.kill()
        parent.wait()
