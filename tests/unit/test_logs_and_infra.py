import json
import logging

import pandas as pd

from workbench import infrastructure, logs


def test_json_log_lines_carry_context():
    rec = logging.LogRecord("workbench.report", logging.INFO, __file__, 10, "ran %s", ("drift",), None)
    rec.model_name = "churn-predictor"
    out = json.loads(logs.JSONFormatter().format(rec))
    assert out["message"] == "ran drift" and out["level"] == "INFO" and out["logger"] == "workbench.report"
    assert out["model_name"] == "churn-predictor" and out["timestamp"].endswith("+00:00")


def test_promql_string_escapes_quotes():
    q = infrastructure.render('x{model="$model"}', model=infrastructure.promql_string('a"b\\c'))
    assert q == 'x{model="a\\"b\\\\c"}'


def test_outages_from_up_series():
    ts = pd.date_range("2026-11-16", periods=10, freq="1min", tz="UTC")
    up = pd.DataFrame({"timestamp": ts, "job": "api", "value": [1, 1, 0, 0, 0, 1, 1, 0, 1, 1]})
    out = infrastructure.outages(up)
    assert len(out) == 2
    assert out["start"].iloc[0] == ts[2] and out["duration"].iloc[0] == pd.Timedelta(minutes=3)
    assert out["duration"].iloc[1] == pd.Timedelta(minutes=1)


def test_replay_compared_with_recorded_alerts():
    from workbench.infrastructure import alerts

    t = pd.Timestamp("2026-11-16", tz="UTC")
    h = pd.Timedelta(hours=1)
    eps = pd.DataFrame([{"alert": "A", "start": t, "end": t + h}, {"alert": "B", "start": t + 5 * h, "end": t + 6 * h}])
    rec = pd.DataFrame([{"alert": "A", "start": t + pd.Timedelta(minutes=10), "end": t + 2 * h},
                        {"alert": "C", "start": t, "end": t + h}])
    out = alerts.compare_with_recorded(eps, rec)
    assert sorted(zip(out["alert"], out["mismatch"])) == [("B", "replayed, not recorded"), ("C", "recorded, not replayed")]


def test_series_count_counts_label_sets_not_points():
    import pandas as pd

    from workbench.infrastructure import series_count

    ts = pd.date_range("2026-11-16", periods=1681, freq="6min", tz="UTC")
    unlabelled = pd.DataFrame({"timestamp": ts, "value": 1.0})
    assert series_count(unlabelled) == 1  # one line, 1,681 points
    labelled = pd.concat([unlabelled.assign(job="api"), unlabelled.assign(job="mlflow")])
    assert series_count(labelled) == 2
    assert series_count(unlabelled.iloc[:0]) == 0
