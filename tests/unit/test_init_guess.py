"""`workbench init` guesses the store mapping from values as well as names, says why for each guess,
and scaffolds a working folder; a table named unlike any convention passes `check` with no edit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from workbench import check, config, init
from workbench.config import Connections

WEEK = config.iso_week("2026-W47")


def _scored(path: Path, rng: np.random.Generator, n: int = 400) -> str:
    """`scored`: event_uuid, scored_at, model_key, model_rev, payload (JSON), p_yes, decision, truth, truth_at."""
    url = f"sqlite:///{path}"
    md = sa.MetaData()
    t = sa.Table("scored", md, sa.Column("event_uuid", sa.String), sa.Column("scored_at", sa.DateTime),
                 sa.Column("model_key", sa.String), sa.Column("model_rev", sa.String), sa.Column("payload", sa.JSON),
                 sa.Column("p_yes", sa.Float), sa.Column("decision", sa.Integer), sa.Column("truth", sa.Integer),
                 sa.Column("truth_at", sa.DateTime))
    eng = sa.create_engine(url)
    md.create_all(eng)
    p = rng.random(n)
    labelled = rng.random(n) < 0.7
    rows = []
    for i in range(n):
        when = WEEK.start.replace(tzinfo=None) + dt.timedelta(minutes=25 * i)
        y = int(rng.random() < p[i])
        rows.append({"event_uuid": f"{rng.integers(1 << 62):016x}-{i}", "scored_at": when,
                     "model_key": ["churn", "upsell"][i % 2], "model_rev": ["r1", "r2"][i % 3 == 0],
                     "payload": {"tenure": int(rng.integers(0, 72)), "plan": ["basic", "pro", "max"][i % 3],
                                 "spend": float(rng.gamma(2, 30))},
                     "p_yes": float(p[i]), "decision": int(p[i] > 0.5),
                     "truth": y if labelled[i] else None, "truth_at": when + dt.timedelta(days=1) if labelled[i] else None})
    with eng.begin() as c:
        c.execute(sa.insert(t), rows)
    eng.dispose()
    return url


def test_scored_table_is_mapped_from_values_with_a_reason_for_each_guess(tmp_path, rng):
    url = _scored(tmp_path / "scored.db", rng)
    g = init.inspect_table(url, "scored")
    assert g.columns == {"id": "event_uuid", "model": "model_key", "version": "model_rev", "variant": None,
                         "timestamp": "scored_at", "prediction": "decision", "probability": "p_yes",
                         "outcome": "truth", "outcome_timestamp": "truth_at"}
    assert g.model_type == "classification" and g.models == ["churn", "upsell"] and not g.unknown
    assert "unique per row" in g.notes["id"] and "named like a version" in g.notes["version"]
    assert "named like a model" in g.notes["model"] and "within [0, 1]" in g.notes["probability"]
    assert "whole numbers, 2 distinct" in g.notes["prediction"] and "missing" in g.notes["outcome"]
    assert "holds classes" in g.type_reason


def test_scored_table_needs_no_edit_before_check_passes(tmp_path, rng, monkeypatch):
    url = _scored(tmp_path / "scored.db", rng)
    project = tmp_path / "monitoring"
    written = init.init("scored", database_url=url, directory=project)
    assert {p.name for p in written} >= {"weekly.yaml", "monitoring.yaml", "queries.yaml", "slos.yaml", "alerts.yaml",
                                         "README.md"}
    text = (project / "params" / "weekly.yaml").read_text()
    header = text.split("\n\n")[0]  # variant is the one key left null, and the header says so
    assert "Left unknown (null)" in header and "store.columns.variant:" in header and "nothing was left" not in text
    assert "store.columns.outcome" not in header and "CHANGE-ME" not in text
    result = check.run_checks(project / "params", Connections(None, url, None, demo=False), unreachable=check.ERROR)
    assert result.ok, result.text()
    with pytest.raises(config.ConfigError, match="exist"):  # never overwritten without --force
        init.init("scored", database_url=url, directory=project)


def _regression(path: Path, rng: np.random.Generator, n: int = 300) -> str:
    """A single-model regression table: float predictions, no model or version column, features as columns."""
    url = f"sqlite:///{path}"
    md = sa.MetaData()
    t = sa.Table("house_prices", md, sa.Column("request_id", sa.Integer), sa.Column("created_at", sa.DateTime),
                 sa.Column("sqft", sa.Float), sa.Column("city", sa.String),
                 sa.Column("predicted_price", sa.Float), sa.Column("actual_price", sa.Float))
    eng = sa.create_engine(url)
    md.create_all(eng)
    sqft = rng.uniform(40, 200, n)
    with eng.begin() as c:
        c.execute(sa.insert(t), [{"request_id": i, "created_at": WEEK.start.replace(tzinfo=None) + dt.timedelta(minutes=30 * i),
                                  "sqft": float(sqft[i]), "city": ["a", "b", "c"][i % 3],
                                  "predicted_price": float(3000 * sqft[i] + rng.normal(0, 9000)),
                                  "actual_price": float(3000 * sqft[i] + rng.normal(0, 12000))} for i in range(n)])
    eng.dispose()
    return url


def test_float_predictions_make_a_regression_model_and_a_table_without_model_gets_constants(tmp_path, rng):
    url = _regression(tmp_path / "houses.db", rng)
    g = init.inspect_table(url, "house_prices", model="house-prices")
    assert g.model_type == "regression" and "measurements" in g.type_reason
    assert g.columns["prediction"] == "predicted_price" and g.columns["outcome"] == "actual_price"
    assert g.columns["model"] == {"constant": "house-prices"} and g.columns["version"] == {"constant": "unversioned"}
    assert g.columns["probability"] is None and {f.name for f in g.features} == {"sqft", "city"}
    written = init.init("house_prices", tmp_path / "params", model=["house-prices"], database_url=url)
    weekly = config.load_weekly(written[0])
    header = written[0].read_text().split("\n\n")[0]  # null by design for regression: not asked for
    assert "store.columns.outcome_timestamp:" in header and "store.columns.probability" not in header
    assert weekly.models[0].type == "regression" and weekly.store.columns.constant("model") == "house-prices"
    result = check.run_checks(tmp_path / "params", Connections(None, url, None, demo=False), unreachable=check.ERROR)
    assert result.ok, result.text()


def test_of_two_unnamed_class_columns_the_one_with_missing_values_is_the_outcome():
    import pandas as pd

    from workbench import mapping_guess as mg

    n = 50
    cols = {"k": pd.Series([f"x{i}" for i in range(n)]), "at": pd.Series(pd.date_range("2026-11-16", periods=n, freq="h")),
            "c1": pd.Series([i % 2 for i in range(n)]), "c2": pd.Series([(i // 2) % 2 if i < 30 else None for i in range(n)])}
    kinds = {"k": "text", "at": "time", "c1": "number", "c2": "number"}
    g = mg.guess([mg.profile(name, v, kinds[name]) for name, v in cols.items()], "events")
    assert (g.columns["id"], g.columns["timestamp"]) == ("k", "at")
    assert (g.columns["prediction"], g.columns["outcome"]) == ("c1", "c2")
    assert "missing values where the outcome has not arrived" in g.notes["outcome"]
    assert g.columns["model"] == {"constant": "events"} and g.model_type == "classification"


def test_dir_scaffold_with_notebooks_is_what_the_runner_uses_and_out_with_dir_is_refused(tmp_path, rng):
    from workbench import report

    url = _scored(tmp_path / "scored.db", rng, n=60)
    project = tmp_path / "team"
    init.init("scored", database_url=url, directory=project, copy_notebooks=True)
    shipped = sorted(p.name for p in (Path(report.__file__).parents[2] / "notebooks").glob("*.ipynb"))
    assert sorted(p.name for p in (project / "notebooks").glob("*.ipynb")) == shipped
    assert report._notebooks_dir(config.params_files(project / "params")) == project / "notebooks"
    assert "notebooks/ (copied here" in (project / "README.md").read_text()
    with pytest.raises(config.ConfigError, match="not both"):
        init.init("scored", tmp_path / "p2", database_url=url, directory=tmp_path / "d2")


LOAN_FEATURES = ["income", "age", "loan_amount", "term_months", "dti", "employment_years", "home_ownership", "purpose"]


def _loan_scores(path: Path, rng: np.random.Generator, n: int = 400, outcome: str | None = "defaulted",
                 extra: dict[str, type] | None = None) -> str:
    """A credit-scoring table as a team keeps it in SQLite: text timestamps, one scorecard and version (constant),
    the 0/1 outcome `defaulted` NULL until it arrives (recent rows), its `label_received_at`, 8 feature columns."""
    url = f"sqlite:///{path}"
    md = sa.MetaData()
    extra = extra or {}
    cols = [("application_id", sa.String), ("scorecard", sa.String), ("scorecard_version", sa.String),
            ("scored_at", sa.Text), ("decision", sa.Integer), ("pd_score", sa.Float)]
    cols += [(outcome, sa.Integer), ("label_received_at", sa.Text)] if outcome else []
    cols += [(f, sa.String if f in ("home_ownership", "purpose") else sa.Float) for f in LOAN_FEATURES]
    t = sa.Table("loan_scores", md, *[sa.Column(c, k) for c, k in cols], *[sa.Column(c, k) for c, k in extra.items()])
    eng = sa.create_engine(url)
    md.create_all(eng)
    rows = []
    for i in range(n):
        when = WEEK.start.replace(tzinfo=None) + dt.timedelta(minutes=25 * i)
        p, arrived = float(rng.random() * 0.4), i < 0.6 * n  # outcomes of the recent rows have not arrived
        row = {"application_id": f"A{100000 + i}", "scorecard": "retail", "scorecard_version": "v3",
               "scored_at": when.strftime("%Y-%m-%d %H:%M:%S"), "decision": int(p >= 0.2),  # 1: declined
               "pd_score": p, "income": float(rng.gamma(3, 20000)), "age": float(rng.integers(20, 70)),
               "loan_amount": float(rng.gamma(2, 5000)), "term_months": float([12, 24, 36, 60][i % 4]),
               "dti": float(rng.random()), "employment_years": float(rng.integers(0, 30)),
               "home_ownership": ["own", "rent", "mortgage"][i % 3], "purpose": ["car", "home", "debt", "other"][i % 4]}
        if outcome:
            row[outcome] = int(rng.random() < p) if arrived else None
            row["label_received_at"] = (when + dt.timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S") if arrived else None
        for c, k in extra.items():
            row[c] = ((when + dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S") if k is sa.Text
                      else (int(rng.random() < 0.5) if arrived else None))
        rows.append(row)
    with eng.begin() as c:
        c.execute(sa.insert(t), rows)
    eng.dispose()
    return url


def test_loan_scores_outcome_and_its_time_are_found_and_no_role_or_time_column_is_a_drift_feature(tmp_path, rng):
    import pandas as pd

    url = _loan_scores(tmp_path / "loans.db", rng, extra={"reviewed_at": sa.Text})
    g = init.inspect_table(url, "loan_scores")
    assert g.columns == {"id": "application_id", "model": "scorecard", "version": "scorecard_version", "variant": None,
                         "timestamp": "scored_at", "prediction": "decision", "probability": "pd_score",
                         "outcome": "defaulted", "outcome_timestamp": "label_received_at"}
    assert "its name" in g.notes["outcome"] and "0/1 values, missing values" in g.notes["outcome"]
    assert [f.name for f in g.features] == LOAN_FEATURES and g.left_out == {"reviewed_at": "date-times"}
    ref = pd.DataFrame({f: rng.random(100) for f in LOAN_FEATURES[:6]} | {"term_months": [12.0, 24.0, 36.0, 60.0] * 25,
                       "home_ownership": ["own", "rent", "mortgage", "own"] * 25, "purpose": ["car", "home", "debt", "other"] * 25})
    ref.to_parquet(tmp_path / "reference.parquet")
    written = init.init("loan_scores", tmp_path / "params", database_url=url, reference=str(tmp_path / "reference.parquet"))
    monitoring = config.load_monitoring(written[1])
    assert set(monitoring.drift_detection.models["retail"].features) == set(LOAN_FEATURES)
    assert "Not drift features: 'reviewed_at' (date-times)" in written[1].read_text()
    result = check.run_checks(tmp_path / "params", Connections(None, url, None, demo=False), unreachable=check.ERROR)
    assert result.ok, result.text()


def test_header_names_every_key_left_null_and_what_to_fill_in(tmp_path, rng):
    url = _loan_scores(tmp_path / "loans.db", rng, outcome=None)
    written = init.init("loan_scores", tmp_path / "params", database_url=url)
    text = written[0].read_text()
    header = text.split("\n\n")[0]
    assert "nothing was left unknown" not in text and "Left unknown (null)" in header
    for key in ("variant", "outcome", "outcome_timestamp"):
        assert f"#   - store.columns.{key}: {init.FILL_IN[key]}" in header
    assert "store.columns.probability" not in header and "    outcome: null" in text


def test_outcome_candidates_that_tie_are_left_null_said_so_and_not_drift_features(tmp_path, rng):
    # two unnamed 0/1 columns with missing values in the recent rows: as likely as each other to be the outcome
    url = _loan_scores(tmp_path / "loans.db", rng, outcome=None, extra={"flag_a": sa.Integer, "flag_b": sa.Integer})
    g = init.inspect_table(url, "loan_scores")
    assert g.columns["outcome"] is None and g.columns["prediction"] == "decision"
    assert "'flag_a', 'flag_b' are equally likely outcomes" in g.notes["outcome"]
    assert {f.name for f in g.features} == set(LOAN_FEATURES) and set(g.left_out) == {"flag_a", "flag_b"}
    header = init.render_weekly(g, None, g.models).split("\n\n")[0]
    assert "store.columns.outcome:" in header and "equally likely outcomes" in header


def test_a_nullable_0_1_feature_is_never_the_outcome_over_a_named_or_only_fitting_column():
    import pandas as pd

    from workbench import mapping_guess as mg

    n = 60
    base = {"k": (pd.Series([f"x{i}" for i in range(n)]), "text"),
            "at": (pd.Series(pd.date_range("2026-11-16", periods=n, freq="h")), "time"),
            "has_cosigner": (pd.Series([i % 2 if i < 40 else None for i in range(n)]), "number")}

    def guess(extra):
        cols = base | extra
        return mg.guess([mg.profile(name, v, kind) for name, (v, kind) in cols.items()], "t")

    named = guess({"label": (pd.Series([(i // 3) % 2 for i in range(n)]), "number"),
                   "decision": (pd.Series([(i // 4) % 2 for i in range(n)]), "number")})
    assert named.columns["outcome"] == "label" and named.columns["prediction"] == "decision"
    rng = np.random.default_rng(5)  # regression: the outcome is the other measurement, not the 0/1 feature
    price = rng.gamma(2, 1e5, n)
    reg = guess({"predicted_price": (pd.Series(price), "number"), "price_paid": (pd.Series(price * 1.1), "number")})
    assert reg.model_type == "regression" and reg.columns["outcome"] == "price_paid"


def test_a_calendar_version_is_a_version_not_a_date_time(tmp_path, rng):
    """`2026.10.1` reads as a date to pandas (ISO8601 parsing): it was typed date-times, so the version
    column was not found (constant 'unversioned') and was listed as a left-out date-time feature."""
    import pandas as pd

    from workbench import mapping_guess as mg

    assert mg.profile("v", pd.Series(["2026.10.1", "2026.11.2"]), "text").kind == "text"
    assert mg.profile("v", pd.Series(["2026-10", "2026-11"]), "text").kind == "text"
    for dates in (["2026-11-23 08:00:00", None], ["2026/11/23", "2026/11/24 10:15"], ["2026-11-23T08:00:00Z"]):
        assert mg.profile("t", pd.Series(dates), "text").kind == "time", dates
    url = _loan_scores(tmp_path / "loans.db", rng)
    eng = sa.create_engine(url)
    with eng.begin() as c:
        c.execute(sa.text("UPDATE loan_scores SET scorecard_version = '2026.10.1'"))
    eng.dispose()
    g = init.inspect_table(url, "loan_scores")
    assert g.columns["version"] == "scorecard_version" and "scorecard_version" not in g.left_out


def test_a_constant_column_is_not_a_drift_feature_and_says_why(tmp_path, rng):
    """A column with one value in every sampled row (a channel that never changes, a NULL-or-one-value
    flag) cannot drift: it is left out with the reason and the value, in monitoring.yaml's header too,
    unless the reference shows it varying."""
    import pandas as pd

    url = _loan_scores(tmp_path / "loans.db", rng)
    eng = sa.create_engine(url)
    with eng.begin() as c:
        c.execute(sa.text("ALTER TABLE loan_scores ADD COLUMN channel TEXT"))
        c.execute(sa.text("ALTER TABLE loan_scores ADD COLUMN promo FLOAT"))
        c.execute(sa.text("UPDATE loan_scores SET channel = 'branch'"))
        c.execute(sa.text("UPDATE loan_scores SET promo = CASE WHEN rowid % 2 = 0 THEN 1.0 END"))  # 1 or NULL
    eng.dispose()
    g = init.inspect_table(url, "loan_scores")
    assert [f.name for f in g.features] == LOAN_FEATURES
    assert set(g.left_out) == {"channel", "promo"}
    assert g.left_out["channel"].startswith("constant 'branch' in the 400 rows sampled")
    assert g.left_out["promo"].startswith("constant '1.0'")
    written = init.init("loan_scores", tmp_path / "params", database_url=url)
    assert "Not drift features: 'channel' (constant 'branch'" in written[1].read_text()
    ref = pd.DataFrame({f: rng.random(50) for f in LOAN_FEATURES} | {"channel": ["branch", "web"] * 25, "promo": 1.0})
    g = init.inspect_table(url, "loan_scores", reference=ref)
    assert "channel" in [f.name for f in g.features] and "channel" not in g.left_out  # varies in the reference
    assert "promo" in g.left_out
