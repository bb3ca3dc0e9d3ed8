"""The generated fleet (`workbench demo up --models N`): specs, history, metrics and params."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from workbench import config
from workbench.demo import data, fleet, metrics

END = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.timezone.utc)  # last full week 2026-W47


@pytest.fixture(scope="module")
def small_fleet():
    specs = data.fleet_specs(4, seed=5, mean_weekly_volume=1500)
    return specs, data.generate_fleet(END, specs, seed=5, reference_rows=2000)


def test_specs_mix_types_features_volumes_and_trouble():
    specs = data.fleet_specs(12, seed=7)
    assert [s.name for s in specs[:3]] == ["model-001", "model-002", "model-003"]
    assert {s.type for s in specs} == {"classification", "regression"}
    assert len({s.features for s in specs}) > 3 and all("monthly_charges" in s.features for s in specs)
    assert len({s.weekly_volume for s in specs}) == 12
    assert [s.name for s in specs if "drift" in s.trouble] == ["model-002", "model-005", "model-008", "model-011"]
    assert any("latency" in s.trouble for s in specs) and any("errors" in s.trouble for s in specs)
    assert data.fleet_specs(12, seed=7) == specs  # deterministic


def test_history_has_each_model_with_its_features_and_the_drift_injected(small_fleet):
    specs, h = small_fleet
    p = h.predictions
    week = config.last_full_week(END)
    assert h.minutes[0] <= week.start - dt.timedelta(days=7)  # the week before is there for week over week
    for s in specs:
        rows = p[p["model_name"] == s.name]
        in_week = rows[(rows["timestamp"] >= week.start) & (rows["timestamp"] < week.end)]
        assert abs(len(in_week) - s.weekly_volume) < 5 * np.sqrt(s.weekly_volume) + 0.1 * s.weekly_volume
        for f in data.FEATURES:
            assert rows[f].notna().any() == (f in s.features), (s.name, f)
        ref = h.references[(s.name, data.FLEET_VERSION)]
        assert [c for c in ref.columns if c in data.FEATURES] == list(s.features)
        assert (rows["probability"].notna().all() if s.type == "classification" else rows["probability"].isna().all())
    drifted = specs[1]  # model-002 drifts
    rows = p[p["model_name"] == drifted.name]
    before = rows[rows["timestamp"] < h.incidents.drift_start]["monthly_charges"].mean()
    after = rows[rows["timestamp"] >= h.incidents.drift_start]["monthly_charges"].mean()
    calm = p[p["model_name"] == specs[0].name]
    calm_after = calm[calm["timestamp"] >= h.incidents.drift_start]["monthly_charges"].mean()
    assert after > before * 1.08 and abs(calm_after - before) < 0.05 * before


def test_metrics_cover_every_model(small_fleet, tmp_path):
    specs, h = small_fleet
    f = tmp_path / "m.om"
    metrics.write_openmetrics(h, [f], seed=5)
    text = f.read_text()
    for s in specs:
        assert f'prediction_requests_total{{model="{s.name}",version="1.0.0",status="success"}}' in text
        assert (f'model_accuracy_score{{model="{s.name}"' in text) == (s.type == "classification")
        assert (f'model_predictions_by_class{{model="{s.name}",class="1"}}' in text) == (s.type == "classification")
    assert text.rstrip().endswith("# EOF")


def test_params_folder_is_complete_and_valid(tmp_path):
    specs = data.fleet_specs(5, seed=7)
    weekly_file = fleet.write_params(tmp_path / "params", specs)
    weekly = config.load_weekly(weekly_file)
    mon = config.load_monitoring(tmp_path / "params" / "monitoring.yaml")
    assert [m.name for m in weekly.models] == [s.name for s in specs]
    assert [m.type for m in weekly.models] == [s.type for s in specs]
    for s in specs:
        assert list(mon.drift_detection.features_for(s.name)) == list(s.features)
    assert mon.drift_detection.evidently is False
    config.load_queries(tmp_path / "params" / "queries.yaml")
    config.load_slos(tmp_path / "params" / "slos.yaml")
    assert (tmp_path / "params" / "alerts.yaml").is_file()
