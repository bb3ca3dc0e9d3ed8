"""The weak-segment search on a real PostgreSQL gives the same cells, slices and statistics as on SQLite
for the same rows (the demo's small history), each in one counting statement, and finds the churn
model's contract segment."""

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from workbench import config
from workbench.config import SegmentParams, StoreParams
from workbench.demo import database
from workbench.performance import segments as sg
from workbench.sources import segment_counts
from workbench.sources.store import PredictionStore

WEEK = config.iso_week("2026-W47")
BEFORE = config.Window(WEEK.start - dt.timedelta(weeks=1), WEEK.start, "before")
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stores(tmp_path_factory, small_history, postgres_url):
    urls = {"sqlite": f"sqlite:///{tmp_path_factory.mktemp('segments') / 'predictions.db'}", "postgresql": postgres_url}
    for url in urls.values():
        eng = sa.create_engine(url)
        database.write_predictions(eng, small_history.predictions)
        eng.dispose()
    return {name: PredictionStore(url, StoreParams()) for name, url in urls.items()}


@pytest.mark.parametrize("model,kind", [("churn-predictor", "classification"), ("revenue-predictor", "regression")])
def test_postgres_counts_the_same_cells_and_finds_the_same_segments_as_sqlite(stores, model, kind):
    params = SegmentParams(min_rows=100)
    results, cells, statements = {}, {}, {}
    for name, store in stores.items():
        features = store.feature_columns()
        sample = segment_counts.reference_sample(store, model, BEFORE, features, params.sample_rows)
        kinds = sg.feature_kinds(sample, features, params.bins, params.max_categories)
        err_edges = None if kind == "classification" else sg.quantile_edges(
            (sample["prediction"] - sample["actual_outcome"]).abs(), params.error_bins)
        seen = []
        sa.event.listen(store.engine, "before_cursor_execute", lambda *a, seen=seen: seen.append(a[2]))
        raw = segment_counts.segment_cells(store, model, WEEK, BEFORE, kinds, kind, err_edges)
        statements[name] = len(seen)
        key = ["f1", "v1", "f2", "v2", "current", "y"]
        cells[name] = sg.label_cells(raw, kinds).sort_values(key).reset_index(drop=True)
        results[name] = sg.search_store(store, model, WEEK, BEFORE, kind, params, features=features)
    assert statements == {"sqlite": 1, "postgresql": 1}
    a, b = cells["sqlite"], cells["postgresql"]
    pd.testing.assert_frame_equal(a.drop(columns="err"), b.drop(columns="err"), check_dtype=False)
    assert a["err"].to_numpy() == pytest.approx(b["err"].to_numpy(), rel=1e-9)
    s, p = results["sqlite"], results["postgresql"]
    assert [x.label for x in s.segments] == [x.label for x in p.segments]
    assert [c for x in s.segments for c in x.ci] == pytest.approx([c for x in p.segments for c in x.ci])
    cols = ["rows", "metric", "reference", "rest", "p_reference", "p_rest", "q"]
    fs, fp = s.to_frame().set_index("label"), p.to_frame().set_index("label")
    assert set(fs.index) == set(fp.index) and len(fs) > 100
    pd.testing.assert_frame_equal(fs[cols].sort_index(), fp.loc[fs.index, cols].sort_index(), check_dtype=False,
                                  rtol=1e-9)
    if kind == "classification":
        assert s.segments[0].label == "contract = One year / Two year"
        assert [f.sentence for f in s.findings] == [f.sentence for f in p.findings]
