"""Drills 6 and 9 and the review's small things (issue 10): MLflow stores are never created, store
errors keep their message and say locked/corrupt, tolerance=None works, make lab runs as root."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from workbench import config
from workbench.infrastructure import health
from workbench.performance import core as performance
from workbench.errors import ConfigError, SourceUnavailable
from workbench.sources import model_registry
from workbench.sources.store import PredictionStore

ROOT = Path(__file__).resolve().parents[2]


def test_missing_sqlite_mlflow_store_is_an_error_naming_the_path_and_is_not_created(tmp_path):
    path = tmp_path / "nope" / "mlflow.db"
    with pytest.raises(SourceUnavailable, match=rf"MLflow at sqlite:///.*: the SQLite store {path} does not exist"):
        model_registry.ModelRegistry(f"sqlite:///{path}")
    assert not path.exists() and not path.parent.exists()


def test_empty_sqlite_file_is_not_migrated_into_a_store(tmp_path):
    path = tmp_path / "mlflow.db"
    path.write_bytes(b"")
    with pytest.raises(SourceUnavailable, match=r"is not an MLflow store .*never creates or migrates"):
        model_registry.ModelRegistry(f"sqlite:///{path}")
    assert path.read_bytes() == b""  # no tables created, so no parallel migration can race


def test_corrupt_mlflow_store_says_it_is_mlflows_and_corrupt(tmp_path):
    path = tmp_path / "mlflow.db"
    path.write_bytes(b"this is not a database at all" * 200)
    with pytest.raises(SourceUnavailable, match=r"^MLflow at sqlite:///.*mlflow.db: the SQLite store .* is corrupt"):
        model_registry.ModelRegistry(f"sqlite:///{path}")


def test_missing_file_store_folder_is_not_created(tmp_path):
    with pytest.raises(SourceUnavailable, match="store folder .* does not exist"):
        model_registry.check_store(str(tmp_path / "mlruns"))
    assert not (tmp_path / "mlruns").exists()


def test_health_names_a_missing_mlflow_store(tmp_path):
    db = tmp_path / "p.db"
    sqlite3.connect(db).execute("create table t (x)").connection.commit()
    conns = config.Connections("http://127.0.0.1:1", f"sqlite:///{db}", f"sqlite:///{tmp_path / 'gone.db'}", False)
    out = health.check(conns, timeout=1)
    assert out["services"]["mlflow"]["status"] == "unreachable"
    assert "gone.db does not exist" in out["services"]["mlflow"]["error"]
    assert out["services"]["prediction_db"]["status"] == "healthy"


def test_mlflow_http_bounds_come_from_the_workbench_timeout(monkeypatch):
    for k in ("MLFLOW_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"):
        monkeypatch.delenv(k, raising=False)
    model_registry.bound_http(7, 1)
    from mlflow.environment_variables import (MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR, MLFLOW_HTTP_REQUEST_MAX_RETRIES,
                                              MLFLOW_HTTP_REQUEST_TIMEOUT)

    assert MLFLOW_HTTP_REQUEST_TIMEOUT.get() == 7 and MLFLOW_HTTP_REQUEST_MAX_RETRIES.get() == 1
    assert MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR.get() == 1


class _RefusingClient:
    def log_artifact(self, run_id, path, artifact_dir):
        raise PermissionError(13, "Permission denied", "/artifacts/profiles")


def test_write_artifact_says_why_it_was_refused():
    reg = model_registry.ModelRegistry.__new__(model_registry.ModelRegistry)
    reg.tracking_uri, reg.client = "http://u:pw123@mlflow.example", _RefusingClient()
    reason = reg.write_artifact("r1", Path("/tmp/p.npz"), "profiles")
    assert reason.startswith("MLflow at http://u:***@mlflow.example: attaching p.npz to run r1")
    assert "Permission denied" in reason and "pw123" not in reason


def _sqlite_store(path: Path, sql: str) -> PredictionStore:
    con = sqlite3.connect(path)
    con.executescript(sql)
    con.commit()
    con.close()
    return PredictionStore(f"sqlite:///{path}")


def test_store_error_keeps_the_database_message(tmp_path):
    store = _sqlite_store(tmp_path / "p.db", "create view predictions as select * from gone;")
    with pytest.raises(SourceUnavailable, match=r"no such table: (main\.)?gone") as e:
        store.table()
    assert "prediction DB at sqlite:///" in str(e.value) and "unreachable" not in str(e.value)


def test_corrupt_sqlite_is_called_corrupt_not_unreachable(tmp_path):
    path = tmp_path / "p.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    with pytest.raises((SourceUnavailable, ConfigError)) as e:
        PredictionStore(f"sqlite:///{path}").table()
    assert "corrupt" in str(e.value) and "unreachable" not in str(e.value)


def test_locked_sqlite_is_called_locked_not_unreachable(tmp_path):
    path = tmp_path / "p.db"
    _sqlite_store(path, "create table predictions (prediction_id int);")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing
    try:
        store = PredictionStore(f"sqlite:///{path}", timeouts=config.TimeoutParams(database_lock="1s"))
        with pytest.raises(SourceUnavailable) as e:
            store.table()
        assert "locked" in str(e.value) and "unreachable" not in str(e.value) and "1s" in str(e.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_against_baseline_without_tolerance_for_error_metrics():
    s = performance.PerformanceSummary("m", "regression", 100, 100, metrics={"mae": 2.0, "rmse": 3.0, "r2": 0.5})
    out = performance.against_baseline(s, {"mae": 1.0, "rmse": 3.0, "r2": 0.6}, tolerance=None)  # TypeError before
    assert (out["alert"] == "").all()
    flagged = performance.against_baseline(s, {"mae": 1.0, "rmse": 3.0, "r2": 0.6}, tolerance=0.05)
    assert flagged.set_index("metric").loc["mae", "alert"] == "100.0% above baseline"


def test_timeouts_are_validated_with_file_and_key(tmp_path):
    p = tmp_path / "weekly.yaml"
    p.write_text("models:\n  - name: m\n    type: regression\ntimeouts:\n  database_statement: forever\n")
    with pytest.raises(ConfigError, match="weekly.yaml: timeouts.database_statement: .*not a duration"):
        config.load_weekly(p)
    assert config.load_weekly(ROOT / "params" / "weekly.yaml").timeouts.seconds("database_lock") == 10


def test_make_lab_allows_root_only_when_root():
    out = subprocess.run(["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    lab = [line for line in out.splitlines() if "jupyter lab" in line][0]
    assert ("--allow-root" in lab) == (os.getuid() == 0)
