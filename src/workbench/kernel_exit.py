"""Why a notebook's kernel died, in words: killed by a signal (SIGKILL is what the out-of-memory
killer sends), exited with a code, and whether the container's OOM-kill counter rose meanwhile.

nbclient only says "DeadKernelError: Kernel died" (or, when the death comes during a cell's wait,
a timeout); the runner reads the kernel's exit status and the cgroup's counter and says which.
"""

from __future__ import annotations

import signal
from pathlib import Path


def _own_cgroup_dirs(proc_cgroup: str = "/proc/self/cgroup", root: str = "/sys/fs/cgroup") -> list[Path]:
    """This process's memory cgroup folders (v2 unified and v1 memory controller), innermost first."""
    dirs: list[Path] = []
    try:
        lines = Path(proc_cgroup).read_text().splitlines()
    except OSError:
        return dirs
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        controllers, path = parts[1], parts[2].lstrip("/")
        if controllers == "":
            dirs += [Path(root) / path, Path(root) / "unified" / path, Path(root)]
        elif "memory" in controllers.split(","):
            dirs += [Path(root) / "memory" / path, Path(root) / "memory"]
    return dirs


def oom_kills(proc_cgroup: str = "/proc/self/cgroup", root: str = "/sys/fs/cgroup") -> int | None:
    """How many processes the out-of-memory killer has killed in this process's cgroup (None: unknown)."""
    for d in _own_cgroup_dirs(proc_cgroup, root):
        for name in ("memory.events", "memory.oom_control"):
            try:
                text = (d / name).read_text()
            except OSError:
                continue
            for line in text.splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and value.strip().isdigit():
                    return int(value)
    return None


def returncode(km) -> int | None:
    """The exit status of the kernel process of `km` (None while it runs, or when unknown)."""
    process = getattr(getattr(km, "provisioner", None), "process", None)
    if process is None:
        return None
    try:
        return process.poll()
    except Exception:  # noqa: BLE001 - a provisioner without a local process: unknown
        return None


def describe(code: int | None, oom_before: int | None, oom_after: int | None, where: str = "") -> str:
    """The cause of a kernel's death in words, or "" when the kernel did not die (`code` None).

    `where` names the cell (e.g. ' in the cell starting "..."')."""
    if code is None:
        return ""
    oom = oom_before is not None and oom_after is not None and oom_after > oom_before
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        if oom:
            return (f"out of memory: the kernel was killed by the out-of-memory killer ({name}){where}; "
                    "the notebook needed more memory than the machine or container allows")
        if -code == signal.SIGKILL:
            return (f"the kernel was killed by {name}{where}: most often the out-of-memory killer "
                    "(the notebook needed more memory than the machine or container allows)")
        return f"the kernel was killed by {name}{where}"
    if oom:
        return f"out of memory: the kernel exited with code {code}{where} after the out-of-memory killer struck"
    return f"the kernel exited with code {code}{where}"
