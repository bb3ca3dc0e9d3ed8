"""Run the real Prometheus: find the binaries, backfill a TSDB with promtool, start and stop a server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import requests

from workbench.errors import DemoError

INSTALL_HINT = "Prometheus is not installed: run `sudo apt-get install prometheus` (Debian/Ubuntu; it ships promtool) or put prometheus and promtool on PATH"


def binaries() -> tuple[str, str]:
    """Paths of `prometheus` and `promtool`, or DemoError saying how to install them."""
    prom, tool = shutil.which("prometheus"), shutil.which("promtool")
    if not prom or not tool:
        raise DemoError(INSTALL_HINT)
    return prom, tool


def free_port(preferred: int = 9090) -> int:
    """`preferred` if it is free on 127.0.0.1, otherwise any free port."""
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise DemoError("no free TCP port on 127.0.0.1")


def backfill(openmetrics_files: list[Path], tsdb_dir: Path) -> None:
    """Backfill `tsdb_dir` from OpenMetrics files, one promtool process per file in parallel."""
    _, tool = binaries()
    tsdb_dir.mkdir(parents=True, exist_ok=True)
    procs = []
    for i, f in enumerate(openmetrics_files):
        out = tsdb_dir.parent / f"backfill-{i}"
        shutil.rmtree(out, ignore_errors=True)
        cmd = [tool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=24h", str(f), str(out)]
        procs.append((subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True), out))
    for p, out in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            raise DemoError(f"promtool backfill failed: {err.strip()[-500:]}")
        for block in out.iterdir():
            shutil.move(str(block), tsdb_dir / block.name)
        shutil.rmtree(out, ignore_errors=True)


def check_rules(rules_file: Path) -> None:
    """`promtool check rules`: a DemoError quoting promtool when a rule is invalid."""
    _, tool = binaries()
    p = subprocess.run([tool, "check", "rules", str(rules_file)], capture_output=True, text=True)
    if p.returncode != 0:
        raise DemoError(f"{rules_file}: promtool check rules failed:\n{(p.stdout + p.stderr).strip()}")


@dataclass
class ServerState:
    pid: int
    port: int
    url: str
    tsdb: str
    config: str
    log: str


def write_config(path: Path, rules_file: Path | None, scrape_interval: str = "60s") -> None:
    """A Prometheus config that only evaluates the alert rules (the demo has nothing live to scrape)."""
    lines = ["global:", f"  scrape_interval: {scrape_interval}", f"  evaluation_interval: {scrape_interval}"]
    if rules_file is not None:
        lines += ["rule_files:", f"  - {json.dumps(str(rules_file.resolve()))}"]
    lines += ["scrape_configs: []"]
    path.write_text("\n".join(lines) + "\n")


def start(tsdb_dir: Path, config: Path, port: int, log: Path, retention: str = "90d",
          timeout: float = 60) -> ServerState:
    """Start Prometheus on 127.0.0.1:`port` over `tsdb_dir` and wait until /-/ready answers."""
    prom, _ = binaries()
    cmd = [prom, f"--config.file={config}", f"--storage.tsdb.path={tsdb_dir}",
           f"--storage.tsdb.retention.time={retention}", f"--web.listen-address=127.0.0.1:{port}",
           "--web.enable-lifecycle"]
    fh = open(log, "ab")
    proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    fh.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DemoError(f"prometheus exited with code {proc.returncode}; see {log}")
        try:
            if requests.get(url + "/-/ready", timeout=1).status_code == 200:
                return ServerState(proc.pid, port, url, str(tsdb_dir), str(config), str(log))
        except requests.RequestException:
            pass
        time.sleep(0.2)
    stop_pid(proc.pid)
    raise DemoError(f"prometheus did not become ready on {url} within {timeout:.0f}s; see {log}")


def is_running(state: ServerState) -> bool:
    """True when `state.pid` is alive and is the Prometheus answering on `state.port`."""
    try:
        os.kill(state.pid, 0)
    except OSError:
        return False
    try:
        cmdline = Path(f"/proc/{state.pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        cmdline = ""
    if "prometheus" not in cmdline or f"127.0.0.1:{state.port}" not in cmdline:
        return False
    try:
        return requests.get(state.url + "/-/ready", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def stop_pid(pid: int, timeout: float = 15) -> None:
    """SIGTERM `pid`, then SIGKILL if it is still alive after `timeout` seconds."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            pass
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def save_state(state: ServerState, path: Path) -> None:
    path.write_text(json.dumps(asdict(state), indent=2))


def load_state(path: Path) -> ServerState | None:
    try:
        return ServerState(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
