"""Run a command and measure it: wall time, peak RSS of the whole process tree (sampled with
psutil, so notebook kernels and worker processes count) and CPU seconds of the tree."""

from __future__ import annotations

import resource
import subprocess
import time
from dataclasses import dataclass

import psutil


@dataclass
class Measured:
    returncode: int
    wall: float
    peak_rss_mb: float
    cpu: float
    stdout: str
    stderr: str


def _tree_rss(p: psutil.Process) -> int:
    total = 0
    try:
        procs = [p, *p.children(recursive=True)]
    except psutil.Error:
        return 0
    for q in procs:
        try:
            total += q.memory_info().rss
        except psutil.Error:
            pass
    return total


def run(cmd: list[str], env: dict | None = None, cwd: str | None = None, interval: float = 0.2,
        timeout: float = 7200) -> Measured:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    import threading

    out: dict[str, str] = {}
    reader = threading.Thread(target=lambda: out.update(zip(("o", "e"), proc.communicate(timeout=timeout))))
    reader.start()
    while reader.is_alive():
        peak = max(peak, _tree_rss(ps))
        reader.join(interval)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Measured(proc.returncode, round(wall, 1), round(peak / 2**20, 1), round(cpu, 1), out.get("o", ""), out.get("e", ""))
