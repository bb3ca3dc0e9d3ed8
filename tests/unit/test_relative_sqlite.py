"""A relative SQLite URL is resolved once, against the folder holding the params folder (where relative
`reference:` paths are read too), so `check`, the runner and the notebooks (which run from their own
folder) all open the same file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from workbench import check, config
from workbench.config import Connections


@pytest.mark.parametrize("url", ["sqlite:///preds.db", "sqlite+pysqlite:///data/preds.db?timeout=3"])
def test_relative_sqlite_paths_are_made_absolute_against_the_project(url, tmp_path):
    got = sa.engine.make_url(config.anchor_sqlite(url, tmp_path))
    want = sa.engine.make_url(url)
    assert Path(got.database) == (tmp_path / want.database).resolve()
    assert (got.drivername, got.query) == (want.drivername, want.query)


@pytest.mark.parametrize("url", ["sqlite:////abs/preds.db", "sqlite://", "sqlite:///:memory:", None, "",
                                 "postgresql://reader:pw@db:5432/mlops", "http://mlflow:5000"])
def test_other_urls_are_left_alone(url, tmp_path):
    assert config.anchor_sqlite(url, tmp_path) == url


def _project(tmp_path: Path) -> Path:
    """A project folder with params/ and preds.db (one model, a few predictions)."""
    proj = tmp_path / "proj"
    (proj / "params").mkdir(parents=True)
    (proj / "params" / "weekly.yaml").write_text(
        "models:\n  - name: m1\n    type: classification\nnotebooks: [02-performance-review]\n"
        "store:\n  columns: {variant: null, outcome_timestamp: null}\n")
    eng = sa.create_engine(f"sqlite:///{proj / 'preds.db'}")
    md = sa.MetaData()
    t = sa.Table("predictions", md, sa.Column("prediction_id", sa.String), sa.Column("model_name", sa.String),
                 sa.Column("model_version", sa.String), sa.Column("timestamp", sa.DateTime),
                 sa.Column("prediction", sa.Integer), sa.Column("probability", sa.Float),
                 sa.Column("actual_outcome", sa.Integer), sa.Column("x", sa.Float))
    md.create_all(eng)
    with eng.begin() as c:
        c.execute(sa.insert(t), [{"prediction_id": f"p{i}", "model_name": "m1", "model_version": "1",
                                  "timestamp": dt.datetime(2026, 11, 17, i), "prediction": i % 2,
                                  "probability": 0.5, "actual_outcome": 1, "x": float(i)} for i in range(5)])
    eng.dispose()
    return proj


def test_check_reads_the_file_beside_the_params_folder_from_any_working_folder(tmp_path, monkeypatch):
    proj = _project(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # as a notebook does: its own folder, not the project
    result = check.run_checks(proj / "params", Connections(None, "sqlite:///preds.db", None, demo=False),
                              unreachable=check.ERROR)
    assert result.ok, result.text()
    assert not (elsewhere / "preds.db").exists()  # nothing was created where the process happened to be


def test_a_notebook_running_from_its_own_folder_opens_the_file_check_opened(tmp_path, monkeypatch):
    """The runner passes the absolute params folder; open_review resolves the URL against the folder
    holding it, whatever the kernel's working folder (the notebooks' own)."""
    from workbench.context import open_review

    proj = _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(config.ENV_DATABASE, "sqlite:///preds.db")
    ctx = open_review("m1", "2026-W47", params_dir=str(proj / "params"), source="env")
    assert ctx.connections.database_url == f"sqlite:///{proj / 'preds.db'}"
    assert ctx.store.count("m1", config.iso_week("2026-W47")) == 5
