"""A new user's path on a table shaped unlike the demo: `workbench init`, `workbench check`,
`workbench report` with only a prediction DB and a reference Parquet file (no Prometheus, no
MLflow, no variant or probability column), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from workbench import config

pytestmark = pytest.mark.integration
MODEL = "fraud-scorer"
CODES = ("merchant_type", "channel", "region")
NUMERIC = ("amount", "account_age_days")


def _rows(rng: np.random.Generator, n: int) -> pd.DataFrame:
    df = pd.DataFrame({
        "merchant_type": rng.integers(1, 6, n), "channel": rng.integers(0, 3, n), "region": rng.integers(1, 9, n),
        "amount": rng.lognormal(3, 1, n).round(2), "account_age_days": rng.gamma(2, 200, n).round(1)})
    logit = -1 + 0.4 * (df["merchant_type"] == 3) + 0.002 * df["amount"] - 0.001 * df["account_age_days"]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    pred = np.where(rng.random(n) < 0.85, y, 1 - y)  # a model right 85% of the time
    return df.assign(label=y, predicted_label=pred)


def _make_table(url: str, schema: str | None, with_probability: bool, seed: int) -> config.Window:
    """ml.scored_events: other column names, JSON features with codes as numbers, no variant column."""
    rng = np.random.default_rng(seed)
    week = config.last_full_week()
    pg = url.startswith("postgresql")
    json_type = sa.dialects.postgresql.JSONB if pg else sa.JSON
    md = sa.MetaData()
    cols = [sa.Column("request_id", sa.String, primary_key=True), sa.Column("model", sa.String),
            sa.Column("version", sa.String), sa.Column("scored_at", sa.DateTime(timezone=pg)),
            sa.Column("payload", json_type), sa.Column("predicted_label", sa.Integer),
            sa.Column("label", sa.Integer, nullable=True), sa.Column("labelled_at", sa.DateTime(timezone=pg), nullable=True)]
    if with_probability:
        cols.append(sa.Column("score", sa.Float))
    t = sa.Table("scored_events", md, *cols, schema=schema)
    eng = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    if schema:
        with eng.begin() as c:
            c.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    md.drop_all(eng)
    md.create_all(eng)
    start = week.start - dt.timedelta(weeks=4)
    n = 6000
    df = _rows(rng, n)
    ts = [start + dt.timedelta(seconds=float(s)) for s in np.sort(rng.uniform(0, (week.end - start).total_seconds(), n))]
    labelled = rng.random(n) < 0.8
    records = []
    for i, r in enumerate(df.itertuples()):
        when = ts[i] if pg else ts[i].replace(tzinfo=None)
        rec = {"request_id": f"r{i}", "model": MODEL, "version": "2024.1", "scored_at": when,
               "payload": {"merchant_type": float(r.merchant_type), "channel": int(r.channel), "region": int(r.region),
                           "amount": float(r.amount), "account_age_days": float(r.account_age_days)},
               "predicted_label": int(r.predicted_label),
               "label": int(r.label) if labelled[i] else None,
               "labelled_at": (when + dt.timedelta(days=2)) if labelled[i] else None}
        if with_probability:
            rec["score"] = float(np.clip(0.5 + 0.4 * (r.predicted_label - 0.5) + rng.normal(0, 0.1), 0, 1))
        records.append(rec)
    with eng.begin() as c:
        c.execute(t.insert(), records)
    eng.dispose()
    return week


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'events.db'}", None
    return request.getfixturevalue("postgres_url"), "ml"


def _env(url: str, tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in (config.ENV_PROMETHEUS, config.ENV_MLFLOW, config.ENV_DATABASE)}
    env[config.ENV_DATABASE] = url
    env[config.ENV_DEMO_DIR] = str(tmp_path / "no-demo-here")  # the demo stack must not be used
    return env


def _cli(args: list[str], env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workbench.cli", "--log-format", "text", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=900)


def test_init_guesses_the_mapping_features_and_types(database, tmp_path, monkeypatch):
    from workbench import init

    url, schema = database
    _make_table(url, schema, with_probability=True, seed=1)
    table = f"{schema}.scored_events" if schema else "scored_events"
    g = init.inspect_table(url, table)
    assert g.columns == {"id": "request_id", "model": "model", "version": "version", "variant": None,
                         "timestamp": "scored_at", "prediction": "predicted_label", "probability": "score",
                         "outcome": "label", "outcome_timestamp": "labelled_at"}
    assert g.layout == "json" and g.json_column == "payload" and g.models == [MODEL]
    kinds = {f.name: f.kind for f in g.features}
    assert kinds == {"merchant_type": "categorical", "channel": "categorical", "region": "categorical",
                     "amount": "numeric", "account_age_days": "numeric"}
    reasons = {f.name: f.reason for f in g.features}
    assert "coded: 5 distinct whole numbers" in reasons["merchant_type"] and "numbers" in reasons["amount"]
    methods = {f.name: f.method for f in g.features}
    assert methods["amount"] == "ks" and methods["merchant_type"] == "chi2"  # the automatic choice: a test + its effect floor
    written = init.init(table, tmp_path / "params", database_url=url)
    weekly = config.load_weekly(written[0])
    assert weekly.store.columns.variant is None and weekly.store.columns.probability == "score"
    assert weekly.store.features.json_column == "payload" and weekly.models[0].name == MODEL
    text = written[0].read_text()
    assert "variant: null    # no such column found" in text
    mon = config.load_monitoring(written[1])
    feats = mon.drift_detection.features_for(MODEL)
    assert {k: f.type for k, f in feats.items()} == kinds  # typed on purpose in the written file
    assert "categorical: coded: 3 distinct whole numbers" in written[1].read_text()
    with pytest.raises(Exception, match="exist"):
        init.init(table, tmp_path / "params", database_url=url)


@pytest.fixture
def reader(database, request):
    """A read-only PostgreSQL role with its own password (what a team would give workbench)."""
    import uuid

    url, schema = database
    if not schema:
        yield url
        return
    password = f"R3ad-{uuid.uuid4().hex[:10]}"
    with request.getfixturevalue("pg_login_role")(url, password, "wb_reader") as role:
        yield sa.engine.make_url(url).set(username=role, password=password).render_as_string(hide_password=False)


def test_new_user_path_init_check_report(database, reader, tmp_path):
    url, schema = database
    week = _make_table(url, schema, with_probability=False, seed=2)
    if schema:
        eng = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        role = sa.engine.make_url(reader).username
        with eng.begin() as c:
            c.execute(sa.text(f"GRANT USAGE ON SCHEMA {schema} TO {role}"))
            c.execute(sa.text(f"GRANT SELECT ON {schema}.scored_events TO {role}"))
        eng.dispose()
        url = reader
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    ref = _rows(np.random.default_rng(3), 4000).rename(columns={"label": "actual_outcome", "predicted_label": "prediction"})
    ref.to_parquet(project / "data" / "reference.parquet")
    env = _env(url, tmp_path)
    table = f"{schema}.scored_events" if schema else "scored_events"

    p = _cli(["init", "--table", table, "--out", "params", "--reference", "data/reference.parquet"], env, project)
    assert p.returncode == 0, p.stderr
    weekly_text = (project / "params" / "weekly.yaml").read_text()
    assert "probability: null" in weekly_text and "variant: null" in weekly_text

    p = _cli(["check", "--params", "params"], env, project)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "[ok]   column store.columns.timestamp: 'scored_at'" in p.stdout
    assert "Prometheus is not configured" in p.stdout and "infrastructure review(s) will be skipped" in p.stdout
    assert "[FAIL]" not in p.stdout
    assert "[ok]   baseline of fraud-scorer: the reference file data/reference.parquet" in p.stdout

    p = _cli(["report", "--params", "params", "--week", week.label, "--out", "reports"], env, project)
    assert p.returncode == 0, p.stdout + p.stderr
    st = json.loads((project / "reports" / week.label / "status.json").read_text())
    by = {r["notebook"]: r for r in st["results"]}
    assert by["01-drift-review"]["status"] == "ok", by["01-drift-review"]["problems"]
    assert by["02-performance-review"]["status"] == "ok", by["02-performance-review"]["problems"]
    assert by["03-infrastructure-review"]["status"] == "skipped"
    out = project / "reports" / week.label / MODEL
    drift_html = (out / "01-drift-review.html").read_text()
    assert "merchant_type" in drift_html and "Could not compute" not in drift_html
    perf_html = (out / "02-performance-review.html").read_text()
    assert "reference file data/reference.parquet" in perf_html  # where the baseline came from
    assert "store.columns.variant is null" in perf_html and "store.columns.probability is null" in perf_html
    assert "Could not compute" not in perf_html and "Traceback" not in perf_html
    index = (project / "reports" / week.label / "index.html").read_text()
    assert "Prometheus is not configured" in index


def test_check_names_file_and_key_and_report_refuses_to_start(tmp_path):
    url = f"sqlite:///{tmp_path / 'events.db'}"
    _make_table(url, None, with_probability=False, seed=4)
    env = _env(url, tmp_path)
    assert _cli(["init", "--table", "scored_events", "--out", "params"], env, tmp_path).returncode == 0
    weekly = tmp_path / "params" / "weekly.yaml"
    weekly.write_text(weekly.read_text().replace("timestamp: \"scored_at\"", "timestamp: \"scored\""))
    p = _cli(["check", "--params", "params"], env, tmp_path)
    assert p.returncode == 1
    assert "[FAIL] column store.columns.timestamp: 'scored' is not a column of scored_events" in p.stdout
    assert "[skip] reference of fraud-scorer: no reference" in p.stdout  # its drift review is skipped, not an error
    p = _cli(["report", "--params", "params", "--out", "reports"], env, tmp_path)
    assert p.returncode != 0 and "store.columns.timestamp" in p.stderr
    assert not (tmp_path / "reports").exists()  # nothing ran


def test_check_compares_reference_types_and_category_codes_with_the_store(tmp_path):
    from workbench import check, init

    url = f"sqlite:///{tmp_path / 'events.db'}"
    _make_table(url, None, with_probability=False, seed=5)
    (tmp_path / "data").mkdir()
    ref = _rows(np.random.default_rng(6), 2000)
    ref["merchant_type"] = ref["merchant_type"].astype(str)  # exported as "1" while the JSON holds 1.0
    ref["channel"] = ref["channel"].astype(str)  # "1" and the JSON's 1 print the same
    ref["region"] = ref["region"].map(lambda v: f"R{v}")  # another coding altogether
    ref["amount"] = ref["amount"].astype(str)  # numbers exported as text
    ref.to_parquet(tmp_path / "data" / "ref.parquet")
    init.init("scored_events", tmp_path / "params", database_url=url, reference="data/ref.parquet")
    conns = config.Connections(None, url, None, demo=False)
    res = check.run_checks(tmp_path / "params", conns, unreachable=check.ERROR)
    lines = {i.what: i for i in res.items}
    # "1" in the reference and 1.0 in the JSON are the same category (compared in canonical form)
    assert lines["type of fraud-scorer.merchant_type"].status == check.OK
    assert "codes match in canonical form" in lines["type of fraud-scorer.merchant_type"].detail
    assert lines["type of fraud-scorer.channel"].detail == "categorical"
    assert lines["categories of fraud-scorer.region"].status == check.ERROR
    assert "store values never in the reference" in lines["categories of fraud-scorer.region"].detail
    assert "rows, 100%): 1, 2" in lines["categories of fraud-scorer.region"].detail  # every row unmatched: a coding mismatch
    assert lines["type of fraud-scorer.account_age_days"].detail == "numeric"
    assert lines["type of fraud-scorer.amount"].detail == "numeric"  # numbers exported as text are still numbers
    assert not res.ok
