"""`workbench init` on a Parquet lake (duckdb+parquet://, spark+parquet://): the layout's files are read
by pyarrow, the guess is the SQL table's, and the params it writes pass `check` on DuckDB."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench import check, config, init
from workbench.config import Connections
from workbench.sources.parquet_layout import write_days

START = dt.datetime(2026, 11, 16, tzinfo=dt.timezone.utc)


def _lake(root: Path, n: int = 600, seed: int = 7) -> Path:
    """A loan-decision log unlike the demo: other names, a JSON-as-text column, NULL outcomes, two models."""
    rng = np.random.default_rng(seed)
    p = rng.random(n)
    labelled = rng.random(n) < 0.6
    when = [START + dt.timedelta(minutes=17 * i) for i in range(n)]
    frame = pd.DataFrame({
        "loan_uuid": [f"{rng.integers(1 << 62):016x}-{i}" for i in range(n)],
        "decided_at": when,
        "pd_model": np.where(np.arange(n) % 2 == 0, "pd-retail", "pd-sme"),
        "pd_model_rev": np.where(np.arange(n) % 3 == 0, "r7", "r8"),
        "p_default": p,
        "declined": (p > 0.5).astype(int),
        "defaulted": pd.array([int(rng.random() < p[i]) if labelled[i] else None for i in range(n)], dtype="Int64"),
        "defaulted_at": [w + dt.timedelta(days=30) if labelled[i] else pd.NaT for i, w in enumerate(when)],
        "income_k": rng.gamma(3, 20, n),
        "region": rng.choice(["north", "south", "east"], n),
        "bureau_json": [json.dumps({"score": int(rng.integers(300, 850))}) for _ in range(n)],
    })
    write_days(frame, root, time_column="decided_at", other_time_columns=("defaulted_at",))
    return root


def test_a_duckdb_lake_is_guessed_like_a_table_and_its_params_pass_check(tmp_path):
    root = _lake(tmp_path / "loans")
    url = f"duckdb+parquet://{root}"
    g = init.inspect_table(url, "loans")
    assert g.columns == {"id": "loan_uuid", "model": "pd_model", "version": "pd_model_rev", "variant": None,
                         "timestamp": "decided_at", "prediction": "declined", "probability": "p_default",
                         "outcome": "defaulted", "outcome_timestamp": "defaulted_at"}
    assert g.layout == "columns" and g.json_column is None and g.models == ["pd-retail", "pd-sme"]
    assert sorted(f.name for f in g.features) == ["income_k", "region"]
    assert "day" not in g.left_out  # the partition column is the layout's, not a column of the log
    assert "feature columns only" in g.left_out["bureau_json"]
    project = tmp_path / "project"
    written = init.init(None, database_url=url, directory=project)  # no --table: the folder is the table
    weekly = config.load_weekly(project / "params" / "weekly.yaml")
    assert weekly.store.table == "loans" and weekly.store.features.layout == "columns"
    assert project / "params" / "weekly.yaml" in written
    result = check.run_checks(project / "params", Connections(None, url, None, demo=False), unreachable=check.ERROR)
    assert result.ok, result.text()


def test_a_spark_lake_is_read_without_starting_spark(tmp_path, monkeypatch):
    root = _lake(tmp_path / "loans")
    monkeypatch.setitem(sys.modules, "pyspark", None)  # importing pyspark would now fail
    g = init.inspect_table(f"spark+parquet://{root}?master=local[1]", "loans")
    duck = init.inspect_table(f"duckdb+parquet://{root}", "loans")
    assert (g.columns, [f.name for f in g.features], g.models) == (duck.columns, [f.name for f in duck.features], duck.models)


def test_a_few_valued_text_column_beside_the_probability_is_not_taken_over_0_1_decisions(tmp_path):
    """`scorer` (two model names) came before `declined` (0/1) and was guessed the prediction."""
    root = _lake(tmp_path / "loans")
    frame = pd.read_parquet(root).drop(columns="day").rename(columns={"pd_model": "scorer"})
    write_days(frame, tmp_path / "renamed", time_column="decided_at", other_time_columns=("defaulted_at",))
    g = init.inspect_table(f"duckdb+parquet://{tmp_path / 'renamed'}", "loans")
    assert g.columns["prediction"] == "declined" and "0/1 values beside the probability" in g.notes["prediction"]
    assert "region" in [f.name for f in g.features]


def test_init_names_what_is_missing(tmp_path):
    with pytest.raises(config.ConfigError, match="no Parquet files under"):
        init.inspect_table(f"duckdb+parquet://{tmp_path}", "x")
    with pytest.raises(config.ConfigError, match="--table: name the prediction table"):
        init.init(None, tmp_path / "params", database_url=f"sqlite:///{tmp_path / 'p.db'}")
    assert init.lake_path("spark+parquet+s3a://bucket/logs/preds") == "s3://bucket/logs/preds"
