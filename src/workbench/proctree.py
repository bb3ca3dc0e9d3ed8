"""The runner's process tree: stop it whole on SIGTERM/SIGINT, and own the run's temporary folders.

`workbench report` starts worker processes, which start Jupyter kernels (in sessions of their own,
so a signal to the runner's process group does not reach them), and an MLflow process. Killed
alone, the runner would leave them running: they would publish reports that status.json never
records. `on_signals` turns SIGTERM/SIGINT into `Interrupted` in the runner, which then stops every
descendant (`terminate_tree`), records what was published and removes its folders. A folder a
killed run could not remove (SIGKILL) is removed by the next run (`remove_stale`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import time
from pathlib import Path

log = logging.getLogger(__name__)
OWNER_FILE = ".owner"
STALE_WITHOUT_OWNER_S = 24 * 3600  # a folder without an owner file (older runners) is stale after a day


class Interrupted(SystemExit):
    """The run was stopped by a signal; its exit status is 128 + the signal's number."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


@contextlib.contextmanager
def on_signals(signums: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)):
    """Within the block, each signal in `signums` raises Interrupted in the main thread (the previous
    handlers are restored afterwards). Outside the main thread nothing is installed."""
    raised = []

    def raise_interrupted(signum, frame):
        if raised:  # a second signal while the first is handled (recording, cleaning up): ignored
            return
        raised.append(signum)
        raise Interrupted(signum)

    saved = {}
    try:
        for s in signums:
            saved[s] = signal.signal(s, raise_interrupted)
    except ValueError:  # not the main thread: the caller's own handling applies
        pass
    try:
        yield
    finally:
        for s, h in saved.items():
            signal.signal(s, h)


def direct_children(pid: int | None = None) -> frozenset[int]:
    """The pids of the children `pid` (default: this process) has now: what `terminate_tree` spares."""
    import psutil

    try:
        return frozenset(c.pid for c in psutil.Process(pid or os.getpid()).children())
    except psutil.NoSuchProcess:
        return frozenset()


def terminate_tree(grace_s: float = 5.0, pid: int | None = None, spare: frozenset[int] = frozenset()) -> list[int]:
    """SIGTERM every descendant of `pid` (default: this process) except the `spare` children and
    theirs, deepest first, then SIGKILL those still alive after `grace_s`; returns the pids signalled.
    A run called in-process (a test, an Airflow task) must not stop the servers its caller started."""
    import psutil

    try:
        children = []
        for child in psutil.Process(pid or os.getpid()).children():
            if child.pid not in spare:
                children += [child, *child.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
    children.reverse()  # kernels (and what they started) before the workers that wait on them
    for p in children:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            p.terminate()
    _, alive = psutil.wait_procs(children, timeout=grace_s)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            p.kill()
    psutil.wait_procs(alive, timeout=grace_s)
    return [p.pid for p in children]


def claim(folder: Path) -> Path:
    """Mark `folder` as this process's (host and pid), so a later run can tell it is stale."""
    (folder / OWNER_FILE).write_text(f"{socket.gethostname()} {os.getpid()}\n", encoding="utf-8")
    return folder


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(folder: Path, now: float | None = None) -> bool:
    """True when the run that owned `folder` is gone: its pid is not running on this host (a folder
    claimed on another host is never stale here), or it has no owner file and is over a day old."""
    try:
        host, pid = (folder / OWNER_FILE).read_text(encoding="utf-8").split()
        return host == socket.gethostname() and not _alive(int(pid))
    except FileNotFoundError:
        try:
            return (now or time.time()) - folder.stat().st_mtime > STALE_WITHOUT_OWNER_S
        except OSError:
            return False
    except (OSError, ValueError):
        return False


def remove_stale(parent: Path, pattern: str) -> list[Path]:
    """Remove the folders matching `pattern` in `parent` left by runs that are gone; returns them."""
    removed = []
    for folder in sorted(parent.glob(pattern)) if parent.is_dir() else []:
        if folder.is_dir() and is_stale(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
            log.info("removed %s, left by an interrupted run", folder.name, extra={"path": str(folder)})
    return removed
