"""The weekly_review DAG on real distributed workers: Airflow 3 with the CeleryExecutor, Debian's
redis-server as the broker, a fresh database on the local PostgreSQL server as the metadata DB and
Celery result backend, and scheduler, dag-processor, api-server and two `airflow celery worker`
processes (w1, w2, concurrency 1) started as separate process groups and always killed.

The run is triggered for the demo week and must end with every task instance successful on one of
the two workers (both used), the same reports and statuses as `workbench report`, and a review whose
Prometheus refused connections on its first try retried and successful on its second.

Needs the Airflow virtualenv with the celery extra (`make airflow-venv`), redis-server
(scripts/ensure-redis.sh) and PostgreSQL (scripts/ensure-postgres.sh); `make test-distributed` runs
all three and this test. It fails, never skips, when one is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import secrets
import shutil
import signal
import socket
import socketserver
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from airflow_run import ROOT, airflow_env, airflow_python, assert_same_as_report, one_model_params
from workbench import config, report

pytestmark = pytest.mark.integration
HERE = Path(__file__).resolve().parent
RUN_TIMEOUT_S = float(os.environ.get("WORKBENCH_DISTRIBUTED_TIMEOUT", "1500"))
WORKERS = ("w1", "w2")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(what: str, check, timeout: float, logs: dict[str, Path] | None = None,
              procs: dict[str, subprocess.Popen] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        _all_alive(procs or {}, logs or {})
        time.sleep(1)
    pytest.fail(f"{what} not ready after {timeout:.0f} s\n" + _tails(logs or {}))


def _all_alive(procs: dict[str, subprocess.Popen], logs: dict[str, Path]) -> None:
    dead = {name: p.returncode for name, p in procs.items() if p.poll() is not None}
    if dead:
        pytest.fail(f"Airflow processes exited: {dead}\n" + _tails(logs))


def _tails(logs: dict[str, Path], chars: int = 2500) -> str:
    out = []
    for name, path in logs.items():
        text = path.read_text(errors="replace") if path.exists() else "(no log)"
        out.append(f"--- {name} ({path}) ---\n{text[-chars:]}")
    return "\n".join(out)


@contextlib.contextmanager
def _process_group(cmd: list[str], env: dict[str, str], log: Path):
    """`cmd` in its own session (process group) with output to `log`; the whole group is killed at
    exit (SIGTERM, then SIGKILL after 15 s): Airflow and Celery fork children of their own."""
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        with contextlib.suppress(ProcessLookupError):  # forked children left in the group
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def redis_url(tmp_path):
    """Debian's redis-server on a free loopback port, no persistence; always stopped."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is not installed: run `bash scripts/ensure-redis.sh` (make test-distributed does)")
    port = _free_port()
    log = tmp_path / "redis.log"
    cmd = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
           "--dir", str(tmp_path)]
    with _process_group(cmd, dict(os.environ), log) as proc:
        def pong() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    return s.recv(16).startswith(b"+PONG")
            except OSError:
                return False
        _wait_for("redis-server", pong, 30, {"redis": log}, {"redis": proc})
        yield f"redis://127.0.0.1:{port}/0"


BUCKET = "workbench-reports"


@pytest.fixture
def s3_url(tmp_path):
    """moto's S3-compatible server (the Airflow venv's `moto_server`) on a free loopback port with an
    empty bucket; always stopped."""
    exe = airflow_python().parent / "moto_server"
    if not exe.exists():
        pytest.fail(f"no {exe}: run `make airflow-venv` (the [airflow] extra has moto[server])")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "moto.log"
    with _process_group([str(exe), "-H", "127.0.0.1", "-p", str(port)], dict(os.environ), log) as proc:
        def bucket_made() -> bool:
            try:
                with urllib.request.urlopen(urllib.request.Request(f"{url}/{BUCKET}", method="PUT"), timeout=5) as r:
                    return r.status == 200
            except OSError:
                return False
        _wait_for("moto's S3 server", bucket_made, 120, {"moto": log}, {"moto": proc})
        yield url


def _s3_env(endpoint: str) -> dict[str, str]:
    """s3fs (botocore) pointed at `endpoint` with moto's dummy credentials."""
    return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint, "FSSPEC_S3_ENDPOINT_URL": endpoint}


def _bucket_copy(py: Path, env: dict[str, str], prefix: str, dest: Path) -> list[str]:
    """Every key under s3://`prefix` (listed through s3fs in the Airflow venv), downloaded to `dest`."""
    code = ("import json, sys, fsspec\n"
            "fs = fsspec.filesystem('s3')\n"
            "keys = fs.find(sys.argv[1])\n"
            "fs.get(sys.argv[1].rstrip('/') + '/', sys.argv[2] + '/', recursive=True)\n"
            "print(json.dumps(keys))")
    p = subprocess.run([str(py), "-c", code, prefix, str(dest)], env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


def _relative_links(html: str) -> list[str]:
    """The relative href targets of a page (either quote style), without fragment or query."""
    from html.parser import HTMLParser

    hrefs: list[str] = []

    class Hrefs(HTMLParser):
        def handle_starttag(self, tag, attrs):
            hrefs.extend(v for k, v in attrs if k == "href" and v)

    Hrefs().feed(html)
    links = []
    for href in hrefs:
        target = urllib.parse.urlsplit(href)
        if not (target.scheme or target.netloc or href.startswith(("#", "/"))) and target.path:
            links.append(target.path)
    return links


class _Forwarder:
    """A TCP forwarder to `upstream` on a loopback port that refuses connections (nothing listens)
    until `open()`: a source that is down for a task's first try and up for its retry."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.port = _free_port()
        self.server: socketserver.ThreadingTCPServer | None = None

    def open(self) -> None:
        upstream = self.upstream

        class Pipe(socketserver.BaseRequestHandler):
            def handle(self):
                with socket.create_connection(upstream, timeout=30) as up:
                    def pump(src, dst):
                        with contextlib.suppress(OSError):
                            while data := src.recv(65536):
                                dst.sendall(data)
                        with contextlib.suppress(OSError):
                            dst.shutdown(socket.SHUT_WR)
                    back = threading.Thread(target=pump, args=(up, self.request), daemon=True)
                    back.start()
                    pump(self.request, up)
                    back.join(60)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), Pipe)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _task_instances(engine, run_id: str) -> list[dict]:
    import sqlalchemy as sa

    with engine.connect() as c:
        rows = c.execute(sa.text(
            "SELECT task_id, map_index, state, try_number, hostname FROM task_instance "
            "WHERE dag_id = 'weekly_review' AND run_id = :r ORDER BY task_id, map_index"), {"r": run_id})
        return [dict(r._mapping) for r in rows]


def _run_state(engine, run_id: str) -> str | None:
    import sqlalchemy as sa

    with engine.connect() as c:
        return c.execute(sa.text("SELECT state FROM dag_run WHERE dag_id = 'weekly_review' AND run_id = :r"),
                         {"r": run_id}).scalar()


def test_celery_workers_run_the_dag_like_workbench_report(demo_stack, postgres_url, redis_url, s3_url, tmp_path,
                                                          monkeypatch):
    import sqlalchemy as sa

    py = airflow_python()
    airflow = str(py.parent / "airflow")
    probe = subprocess.run([str(py), "-c", "import airflow.providers.celery, redis"], capture_output=True, text=True)
    assert probe.returncode == 0, ("the Airflow venv lacks the celery provider or redis client: "
                                   "run `make airflow-venv` (the [airflow] extra has them)", probe.stderr[-2000:])
    root, conns = demo_stack
    prom = urllib.parse.urlsplit(conns.prometheus_url)
    forwarder = _Forwarder((prom.hostname, prom.port))
    week = config.last_full_week()
    params = one_model_params(tmp_path, "revenue-predictor")

    # what `workbench report` gives, through the same (real) servers the workers will use
    for name, value in ((config.ENV_PROMETHEUS, conns.prometheus_url), (config.ENV_DATABASE, conns.database_url),
                        (config.ENV_MLFLOW, conns.mlflow_uri)):
        monkeypatch.setenv(name, value or "")
    direct = report.run(params, week.label, tmp_path / "direct", source="env", jobs=2)
    assert direct.results and all(r.status == "ok" for r in direct.results), [r.problems for r in direct.results]

    out = f"s3://{BUCKET}/reports"  # the fsspec URL the DAG accepts, on moto's S3
    api_port = _free_port()
    env = airflow_env(tmp_path, root, params, out)
    env.update(_s3_env(s3_url))
    env.update({
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres_url,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": postgres_url,  # psycopg 3 does async (no asyncpg)
        "AIRFLOW__CELERY__BROKER_URL": redis_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + postgres_url,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",  # only the run triggered here, no scheduled one
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "celery_hostname.hostname",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(HERE)]),
        "WORKBENCH_SOURCE": "env",
        config.ENV_PROMETHEUS: f"http://127.0.0.1:{forwarder.port}",  # refused until the first retry
        config.ENV_DATABASE: conns.database_url or "",
        config.ENV_MLFLOW: conns.mlflow_uri or "",
        "WORKBENCH_RETRY_DELAY_SECONDS": "5",
    })
    migrate = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=900)
    assert migrate.returncode == 0, migrate.stderr[-3000:]

    logs = {name: tmp_path / f"{name}.log" for name in ("api-server", "scheduler", "dag-processor", *WORKERS)}
    commands = {
        "api-server": [airflow, "api-server", "--host", "127.0.0.1", "--port", str(api_port)],
        "scheduler": [airflow, "scheduler"],
        "dag-processor": [airflow, "dag-processor"],
    }
    for w in WORKERS:
        commands[w] = [airflow, "celery", "worker", "--celery-hostname", f"{w}@%h", "--concurrency", "1",
                       "--skip-serve-logs", "--without-gossip", "--without-mingle"]
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    try:
        with contextlib.ExitStack() as stack:
            procs = {}
            for name, cmd in commands.items():
                proc_env = ({**env, "WORKBENCH_CELERY_WORKER": name, "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO"}
                            if name in WORKERS else env)
                procs[name] = stack.enter_context(_process_group(cmd, proc_env, logs[name]))

            def api_up() -> bool:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/api/v2/monitor/health", timeout=5) as r:
                        return r.status == 200
                except OSError:
                    return False

            def dag_parsed() -> bool:
                with engine.connect() as c:
                    return bool(c.execute(sa.text(
                        "SELECT count(*) FROM serialized_dag WHERE dag_id = 'weekly_review'")).scalar())

            def workers_ready() -> bool:
                return all(logs[w].exists() and " ready." in logs[w].read_text(errors="replace") for w in WORKERS)

            _wait_for("the api-server", api_up, 300, logs, procs)
            _wait_for("the DAG in the metadata DB", dag_parsed, 300, logs, procs)
            _wait_for("both Celery workers", workers_ready, 300, logs, procs)

            run_id = f"celery_test_{week.label}"
            logical = week.end.strftime("%Y-%m-%dT%H:%M:%S+00:00")
            started = time.monotonic()
            trig = subprocess.run([airflow, "dags", "trigger", "weekly_review", "-l", logical, "-r", run_id],
                                  env=env, capture_output=True, text=True, timeout=300)
            assert trig.returncode == 0, (trig.stdout[-2000:], trig.stderr[-3000:])

            state = None
            while time.monotonic() - started < RUN_TIMEOUT_S:
                state = _run_state(engine, run_id)
                if state in ("success", "failed"):
                    break
                _all_alive(procs, logs)
                if forwarder.server is None and any(
                        t["state"] == "up_for_retry" or (t["try_number"] or 0) > 1
                        for t in _task_instances(engine, run_id)):
                    forwarder.open()  # Prometheus comes back for the retries
                time.sleep(2)
            wall_s = time.monotonic() - started
            tis = _task_instances(engine, run_id)
            listing = "\n".join(f"  {t['task_id']}[{t['map_index']}] {t['state']} try {t['try_number']} "
                                f"on {t['hostname']}" for t in tis)
            assert state == "success", (f"DAG run {run_id} ended {state!r} after {wall_s:.0f} s "
                                        f"(limit {RUN_TIMEOUT_S:.0f} s); task instances:\n{listing}\n{_tails(logs)}")
    finally:
        forwarder.close()
        engine.dispose()

    # every task instance succeeded, on one of the two Celery workers, and both were used
    assert tis and all(t["state"] == "success" for t in tis), listing
    assert {t["hostname"] for t in tis} <= set(WORKERS), f"a task ran outside the Celery workers:\n{listing}"
    per_worker = {w: sum(t["hostname"] == w for t in tis) for w in WORKERS}
    assert all(per_worker.values()), f"one worker ran nothing: {per_worker}\n{listing}"
    reviews = [t for t in tis if t["task_id"] == "review"]
    assert len(reviews) == 3 and {t["map_index"] for t in reviews} == {0, 1, 2}, listing
    # Prometheus refused every connection until a review had failed: that one was retried and succeeded
    assert forwarder.server is not None, f"no review failed while Prometheus was down:\n{listing}"
    assert any(t["try_number"] == 2 for t in reviews), listing
    assert all(t["try_number"] == 1 for t in tis if t["task_id"] != "review"), listing

    # the bucket holds the same reports and statuses, and every relative link of the pages resolves in it
    local = tmp_path / "bucket-copy"
    keys = _bucket_copy(py, env, f"{BUCKET}/reports", local)
    assert_same_as_report(local, week.label, direct.directory)
    for page in (f"{BUCKET}/reports/{week.label}/index.html", f"{BUCKET}/reports/index.html"):
        assert page in keys, sorted(keys)
        links = _relative_links((local / page.removeprefix(f"{BUCKET}/reports/")).read_text())
        assert links, f"no relative links in {page}"
        for link in links:
            target = posixpath.normpath(posixpath.join(posixpath.dirname(page), link))
            target = target + "/index.html" if link.endswith("/") else target
            assert target in keys, f"{page} links {link!r}: no key {target} in the bucket ({len(keys)} keys)"
    print(f"\nCelery run of weekly_review ({week.label}, 1 model, {len(reviews)} mapped reviews): "
          f"{wall_s:.0f} s from trigger to success; tasks per worker {per_worker}; "
          f"retried reviews {sum(t['try_number'] > 1 for t in reviews)}; {len(keys)} keys in the S3 bucket\n{listing}")
