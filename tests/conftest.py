"""Shared fixtures: real servers on free loopback ports, always stopped afterwards."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# A fixed end keeps integration numbers reproducible; its last full ISO week is 2026-W47.
FIXED_END = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="session")
def small_history():
    """A 10-day demo history at low volume (deterministic)."""
    from workbench.demo import data

    return data.generate(FIXED_END, seed=11, weekly_volume=20000, days=10)


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory, small_history):
    """A real Prometheus over a TSDB backfilled by promtool from the small history."""
    from workbench.demo import metrics, prometheus as prom
    from workbench.sources.prometheus import PrometheusSource

    base = tmp_path_factory.mktemp("prometheus")
    files = [base / "a.om", base / "b.om"]
    metrics.write_openmetrics(small_history, files, seed=11)
    prom.backfill(files, base / "tsdb")
    rules = base / "alerts.yaml"
    shutil.copyfile(ROOT / "params" / "alerts.yaml", rules)
    prom.write_config(base / "prometheus.yml", rules)
    state = prom.start(base / "tsdb", base / "prometheus.yml", prom.free_port(0), base / "prometheus.log",
                       retention="100y")
    try:
        yield PrometheusSource(state.url, timeout=20)
    finally:
        prom.stop_pid(state.pid)


def _postgres_admin_url() -> str:
    url = os.environ.get("WORKBENCH_TEST_POSTGRES_URL")
    if not url:
        f = ROOT / ".venv" / "postgres-test-url"
        url = f.read_text().strip() if f.exists() else ""
    return url


@contextlib.contextmanager
def login_role(url: str, password: str, prefix: str = "wb_role"):
    """A real PostgreSQL login role with `password` in the database of `url` (whose user may create
    roles); yields its name. Afterwards every privilege granted to it is revoked and the role is
    dropped: DROP OWNED (which also revokes database-level grants such as CONNECT) needs membership
    in the role, which its creator may grant itself."""
    import sqlalchemy as sa

    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    role = f"{prefix}_{uuid.uuid4().hex[:8]}"
    pw_sql = password.replace("'", "''")
    try:
        with admin.connect() as c:
            c.execute(sa.text(f"CREATE ROLE {role} LOGIN PASSWORD '{pw_sql}'"))
    except sa.exc.ProgrammingError as exc:
        admin.dispose()
        pytest.fail(f"the test role cannot create roles (run scripts/ensure-postgres.sh): {exc.orig}")
    try:
        yield role
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f"GRANT {role} TO CURRENT_USER"))
            c.execute(sa.text(f"DROP OWNED BY {role}"))
            c.execute(sa.text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_login_role():
    """`login_role` for tests that need their own PostgreSQL login (a reader, a hostile password)."""
    return login_role


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh database on the test PostgreSQL server (started by scripts/ensure-postgres.sh).

    One database for the whole session: a test module that creates its own table gives it a name no other
    module uses (two modules creating `scoring_log` with different columns broke CI once).
    """
    import sqlalchemy as sa

    admin = _postgres_admin_url()
    if not admin:
        pytest.fail("no PostgreSQL for the tests: run `bash scripts/ensure-postgres.sh` (make test does) "
                    "or set WORKBENCH_TEST_POSTGRES_URL")
    name = f"wb_test_{uuid.uuid4().hex[:8]}"
    eng = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {sa.engine.make_url(admin).render_as_string(hide_password=True)} "
                    f"is not reachable: {exc.orig}")
    url = sa.engine.make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with eng.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        eng.dispose()


@pytest.fixture(scope="session")
def demo_stack(tmp_path_factory):
    """The whole demo stack (ending now, small volume) in a temp dir; Prometheus always stopped."""
    from workbench.demo import stack

    root = tmp_path_factory.mktemp("demo")
    try:
        conns = stack.up(root, weekly_volume=20_000, port=0)
        yield root, conns
    finally:
        stack.down(root)


@pytest.fixture
def rng(request) -> "np.random.Generator":
    """A generator of the test's own, seeded from its name: results do not depend on which tests
    ran before, and a failure reproduces by running that one test."""
    import zlib

    import numpy as np

    return np.random.default_rng(zlib.crc32(request.node.name.encode()))
