"""The PostgreSQL benchmark's throwaway databases on a real server (benchmarks/pg_memory_bench.py):
`drop_database` ends the role's own sessions and drops; a drop it cannot do is a warning naming the
database and False, never an exception that would lose the results printed before it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.integration

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def bench(postgres_url, monkeypatch):
    """benchmarks/pg_memory_bench.py pointed at the test server, its back-off between tries not slept
    (each try is recorded instead, so no check depends on how long anything takes)."""
    monkeypatch.setenv("WORKBENCH_TEST_POSTGRES_URL", postgres_url)
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("pg_memory_bench", BENCHMARKS / "pg_memory_bench.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.slept = []
    monkeypatch.setattr(mod, "time", type("Clock", (), {"sleep": staticmethod(mod.slept.append)}))
    yield mod
    sys.modules.pop("drift_bench", None)


def _exists(url: str, name: str) -> bool:
    eng = sa.create_engine(url)
    try:
        with eng.connect() as c:
            return c.execute(sa.text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name}).scalar() == 1
    finally:
        eng.dispose()


def test_a_database_with_an_open_session_of_the_role_is_dropped(bench, postgres_url, capsys):
    name, url = bench.create_database("wb_benchdrop")
    held = sa.create_engine(url, poolclass=sa.pool.NullPool)
    c = held.connect()
    try:
        c.execute(sa.text("CREATE TABLE t (x int)"))  # an open transaction: the session is busy on the database
        assert _exists(postgres_url, name)

        assert bench.drop_database(name) is True

        assert not _exists(postgres_url, name)
        assert bench.slept == []  # the first try dropped it
        assert "warning" not in capsys.readouterr().err
        with pytest.raises(sa.exc.DBAPIError):  # the role's own session was ended, not waited for
            c.execute(sa.text("SELECT 1"))
    finally:
        c.invalidate()
        held.dispose()
        bench.drop_database(name)  # leave nothing behind should a check above fail (IF EXISTS: no-op otherwise)


def test_a_drop_that_cannot_happen_warns_naming_the_database_and_returns_false(bench, postgres_url, pg_login_role,
                                                                                capsys):
    """Another role's session is one drop_database must not end: a plain DROP refuses while it is there."""
    name, url = bench.create_database("wb_benchkeep")
    try:
        with pg_login_role(postgres_url, "holder-pw", "wb_holder") as role:
            other = sa.engine.make_url(url).set(username=role, password="holder-pw")
            held = sa.create_engine(other, poolclass=sa.pool.NullPool)
            c = held.connect()
            try:
                c.execute(sa.text("SELECT 1"))

                assert bench.drop_database(name, attempts=2) is False

                err = capsys.readouterr().err
                assert f"could not drop database {name!r}" in err and f'DROP DATABASE "{name}"' in err
                assert "being accessed by other users" in err and role in err  # why, and whose session holds it
                assert len(bench.slept) == 2  # tried again before giving up
                assert _exists(postgres_url, name)
                c.execute(sa.text("SELECT 1"))  # the other role's session was left alone
            finally:
                c.close()
                held.dispose()
    finally:
        assert bench.drop_database(name) is True  # once the session is gone the same call drops it
    assert not _exists(postgres_url, name)
