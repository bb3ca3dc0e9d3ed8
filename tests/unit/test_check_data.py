"""`workbench check` against the data (SQLite built here: no server): the declared model type, and
new categories in production (a warning the drift review reports) apart from a coding mismatch."""

from __future__ import annotations

import datetime as dt
import sqlite3

import numpy as np
import pandas as pd
import pytest

from workbench import check, config, init
from workbench.config import ModelSpec
from workbench.performance import validity


def _table(path, rng, n=600, prediction=None, plan=None, customer=None) -> str:
    start = config.last_full_week().start
    ts = [start + dt.timedelta(minutes=15 * i) for i in range(n)]
    prob = rng.random(n)
    df = pd.DataFrame({
        "prediction_id": [f"p{i}" for i in range(n)], "model_name": "m", "model_version": "1",
        "timestamp": [t.strftime("%Y-%m-%d %H:%M:%S") for t in ts],
        "prediction": (prob >= 0.5).astype(float) if prediction is None else prediction,
        "probability": prob, "actual_outcome": (rng.random(n) < prob).astype(float),
        "outcome_timestamp": [(t + dt.timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S") for t in ts],
        "plan": rng.choice(["A", "B"], n) if plan is None else plan,
        "tenure": rng.normal(10, 2, n),
        **({} if customer is None else {"customer": customer}),
    })
    with sqlite3.connect(path) as con:
        df.to_sql("predictions", con, index=False)
    return f"sqlite:///{path}"


def _check(tmp_path, url, rng, model_type="classification", customer=False):
    (tmp_path / "data").mkdir(exist_ok=True)
    ref = pd.DataFrame({"plan": rng.choice(["A", "B"], 1000), "tenure": rng.normal(10, 2, 1000)})
    if customer:
        ref["customer"] = [f"c{i}" for i in range(1000)]
    ref.to_parquet(tmp_path / "data" / "ref.parquet")
    init.init("predictions", tmp_path / "params", database_url=url, reference="data/ref.parquet", force=True)
    weekly = tmp_path / "params" / "weekly.yaml"
    text = weekly.read_text()
    for t in ("classification", "regression"):
        text = text.replace(f"type: {t} ", f"type: {model_type} ")
    weekly.write_text(text.replace("    positive_class: 1\n", ""))
    res = check.run_checks(tmp_path / "params", config.Connections(None, url, None, demo=False),
                           unreachable=check.ERROR, mlflow=False)
    return res, {i.what: i for i in res.items}


def test_float_predictions_declared_classification_are_refused_with_the_fix(tmp_path, rng):
    url = _table(tmp_path / "p.db", rng, prediction=rng.normal(50, 10, 600))
    res, lines = _check(tmp_path, url, rng, "classification")
    item = lines["type of m: prediction"]
    assert item.status == check.ERROR and "declare type: regression" in item.fix
    assert "600 distinct values" in item.detail and not res.ok
    assert "type of m: actual_outcome" not in lines  # said once, on the predictions
    res, lines = _check(tmp_path, url, rng, "regression")
    assert lines["type of m"].status == check.OK


def test_classes_and_probabilities_are_checked_against_a_classifier(tmp_path, rng):
    n = 600
    outcome = rng.integers(1, 3, n).astype(float)  # classes coded 1/2: a coding mismatch
    url = _table(tmp_path / "p.db", rng, n)
    with sqlite3.connect(tmp_path / "p.db") as con:
        con.executemany("UPDATE predictions SET actual_outcome = ? WHERE prediction_id = ?",
                        [(float(v), f"p{i}") for i, v in enumerate(outcome)])
        con.execute("UPDATE predictions SET probability = 1.5 WHERE prediction_id IN ('p0', 'p1')")
    res, lines = _check(tmp_path, url, rng)
    out = lines["type of m: actual_outcome"]
    want = int((outcome == 2.0).sum())  # 2 is outside the classes 0, 1; 1 is inside, 0 never appears
    assert out.status == check.ERROR and f"{want:,} of {n:,} sampled values outside the classes 0, 1" in out.detail
    prob = lines["type of m: probability"]
    assert prob.status == check.WARNING and "2 of 600 sampled values outside [0, 1]" in prob.detail


def test_a_new_category_in_production_is_a_warning_not_a_refusal(tmp_path, rng):
    n = 600
    plan = rng.choice(["A", "B"], n).astype(object)
    plan[rng.choice(n, 30, replace=False)] = "C"  # 5% of the rows: a category launched in production
    url = _table(tmp_path / "p.db", rng, n, plan=plan)
    res, lines = _check(tmp_path, url, rng)
    item = lines["categories of m.plan"]
    assert item.status == check.WARNING and "30 of 600 sampled rows, 5%" in item.detail and "C" in item.detail
    assert res.ok, res.errors_text()


def test_most_values_unmatched_is_still_a_coding_mismatch(tmp_path, rng):
    url = _table(tmp_path / "p.db", rng, plan=rng.choice(["a", "b"], 600))
    res, lines = _check(tmp_path, url, rng)
    assert lines["categories of m.plan"].status == check.ERROR and not res.ok


def test_an_identifier_column_is_a_warning_naming_it(tmp_path, rng):
    url = _table(tmp_path / "p.db", rng, customer=[f"c{i}" for i in range(5000, 5600)])
    res, lines = _check(tmp_path, url, rng, customer=True)
    item = lines["categories of m.customer"]
    assert item.status == check.WARNING and "looks like an identifier" in item.detail and "remove customer" in item.fix


@pytest.mark.parametrize("values, severity", [([0.0, 1.0] * 50, None), ([0.0, 1.0] * 45 + [2.0] * 10, "warning"),
                                              (list(np.linspace(0, 1, 100)), "error")])
def test_declared_type_problems_of_a_sample(values, severity):
    found = validity.declared_type_problems(pd.DataFrame({"prediction": values}), ModelSpec(name="m", type="classification"))
    assert [s for s, *_ in found] == ([] if severity is None else [severity])
