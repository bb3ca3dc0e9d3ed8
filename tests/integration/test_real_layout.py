"""A prediction log shaped unlike the demo, on SQLite and PostgreSQL: other column names, features in a
JSON column (jsonb on PostgreSQL), codes stored as JSON numbers while the reference has them as text,
no variant / probability / outcome columns. JSON keys are extracted in SQL, counts (weekly and per
day) come from GROUP BY in the database, numeric columns as one PostgreSQL float8 array parsed by numpy."""

import datetime as dt
import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from workbench import config
from workbench.drift import core as drift, history as drift_history
from workbench.config import DriftDetection, StoreParams
from workbench.drift.profile import CurrentSample, FeatureProfile, ReferenceProfile
from workbench.sources.store import PredictionStore

pytestmark = pytest.mark.integration
WEEK = config.iso_week("2026-W47")
SPAN = config.Window(WEEK.start - dt.timedelta(days=7), WEEK.end, "2 weeks")
N = 3000


def _rows(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = (SPAN.start + pd.to_timedelta(rng.uniform(0, 14 * 86400, N), unit="s")).floor("ms")
    late = np.asarray(ts >= WEEK.start + dt.timedelta(days=3))
    mar = np.where(late, rng.choice([1, 2, 3], N, p=[0.2, 0.3, 0.5]), rng.choice([1, 2, 3], N, p=[0.5, 0.3, 0.2]))
    amount = rng.normal(100, 15, N).round(2)
    amount[::97] = np.nan  # missing key
    return pd.DataFrame({
        "ts": ts, "MAR": mar, "amount": amount, "SEX": rng.choice([1, 2], N),
        "segment": rng.choice(["retail", "smb", "$$"], N), "score": rng.integers(0, 2, N),
    })


def _payload(r) -> str:
    doc = {"MAR": float(r.MAR) if r.Index % 2 else int(r.MAR),  # 1.0 and 1 both appear
           "SEX": int(r.SEX), "segment": r.segment}
    if not np.isnan(r.amount):
        doc["amount"] = float(r.amount)
    return json.dumps(doc)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def layout(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('layout') / 'log.db'}"
        json_type = sa.Text
    else:
        from sqlalchemy.dialects.postgresql import JSONB

        url = request.getfixturevalue("postgres_url")
        json_type = JSONB
    df = _rows(5)
    eng = sa.create_engine(url)
    md = sa.MetaData()
    t = sa.Table("scoring_log", md, sa.Column("req_id", sa.String, primary_key=True), sa.Column("mdl", sa.String),
                 sa.Column("mdl_ver", sa.String), sa.Column("scored_at", sa.DateTime(timezone=True)),
                 sa.Column("score_label", sa.Integer), sa.Column("payload", json_type))
    md.create_all(eng)
    stored_ts = df["ts"] if request.param == "postgresql" else df["ts"].dt.tz_localize(None)
    rows = [{"req_id": f"r{i}", "mdl": "credit", "mdl_ver": "7", "scored_at": ts.to_pydatetime(),
             "score_label": int(r.score),
             "payload": json.loads(_payload(r)) if request.param == "postgresql" else _payload(r)}
            for i, (ts, r) in enumerate(zip(stored_ts, df.itertuples()))]
    with eng.begin() as c:
        c.execute(t.insert(), rows)
    eng.dispose()
    params = StoreParams(table="scoring_log", columns={
        "id": "req_id", "model": "mdl", "version": "mdl_ver", "timestamp": "scored_at", "prediction": "score_label",
        "variant": None, "probability": None, "outcome": None, "outcome_timestamp": None},
        features={"layout": "json", "json_column": "payload"})
    return PredictionStore(url, params), df, request.param


def _in(df, window):
    return df[(df["ts"] >= window.start) & (df["ts"] < window.end)]


def _statements(store, monkeypatch=None):
    """The SQL `store` sends: through SQLAlchemy, and (with monkeypatch) the statements its
    PostgreSQL readers send on the driver's own cursor (whole-column arrays, COPY)."""
    seen = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda c, cur, stmt, *a: seen.append(stmt))
    if monkeypatch is not None and store.engine.dialect.name == "postgresql":
        import psycopg

        for name in ("copy", "execute"):
            def recording(cur, statement, *a, _real=getattr(psycopg.Cursor, name), **k):
                seen.append(str(statement))
                return _real(cur, statement, *a, **k)

            monkeypatch.setattr(psycopg.Cursor, name, recording)
    return seen


def test_json_keys_are_extracted_in_sql_only_those_asked(layout, monkeypatch):
    store, df, kind = layout
    seen = _statements(store, monkeypatch)
    got = store.read_feature("credit", WEEK, "amount")
    want = _in(df, WEEK)["amount"]
    assert pd.api.types.is_float_dtype(got)  # JSON numbers come back as numbers on both databases
    np.testing.assert_allclose(np.sort(got.to_numpy(dtype=float)), np.sort(want.to_numpy()), equal_nan=True)
    sql = seen[-1]
    assert ("->>" in sql) if kind == "postgresql" else ("json_extract" in sql)
    assert "segment" not in sql and "SEX" not in sql  # only the asked key
    assert store.read_feature("credit", WEEK, "segment").dropna().map(type).eq(str).all()


def test_feature_discovery_lists_the_json_keys(layout):
    store, _, _ = layout
    assert set(store.feature_columns()) == {"MAR", "SEX", "segment", "amount"}
    ctx = SimpleNamespace(monitoring=config.MonitoringParams(drift_detection=DriftDetection()),
                          model=SimpleNamespace(name="credit"), store=store)
    feats = drift.features_for(ctx)  # the model is not in monitoring.yaml: discovered, default settings
    assert set(feats) == {"MAR", "SEX", "segment", "amount"}
    assert all(f.method is None and f.type is None for f in feats.values())


def test_codes_as_numbers_in_the_db_match_codes_as_text_in_the_reference(layout):
    store, df, _ = layout
    early = _in(df, SPAN.previous(0)).query("ts < @WEEK.start")
    reference = pd.DataFrame({"MAR": early["MAR"].astype(str), "SEX": early["SEX"].astype(str),
                              "segment": early["segment"], "amount": early["amount"]})
    profile = ReferenceProfile.fit(reference)
    assert profile["MAR"].kind == "categorical" and profile["amount"].kind == "numeric"
    cur = drift.store_sample(store, "credit", WEEK, profile["SEX"], None)
    assert set(cur.categories) == {"1", "2"} and cur.new_categories(profile["SEX"]) == []
    feats = {f: config.FeatureDrift() for f in profile.features}
    report = drift.detect_drift(profile, lambda f, kind: drift.store_sample(store, "credit", WEEK, profile[f], None),
                                DriftDetection(), "credit", feats)
    status = report.to_frame().set_index("feature")["status"]
    assert status["MAR"] == "drift"  # the mix really changed mid-week
    assert status["SEX"] == "no drift" and status["segment"] == "no drift"
    mar = next(r for r in report.results if r.feature == "MAR")
    # the reference's '1' is the window's 1.0 (a float in SQLite, the text '1.0' on PostgreSQL): shown in the report
    assert re.search(r"reference 1 = this window '?1\.0'?(;|$)", mar.canonical), mar.canonical


def test_category_and_bin_counts_in_sql_equal_pandas(layout):
    store, df, _ = layout
    w = _in(df, WEEK)
    counts, missing = store.category_counts("credit", WEEK, "MAR")
    merged = CurrentSample.from_counts("MAR", counts, missing).categories
    assert merged == {str(k): int(v) for k, v in w["MAR"].value_counts().items()}
    prof = FeatureProfile.fit("amount", _in(df, SPAN)["amount"])
    b = store.bin_counts("credit", WEEK, "amount", prof.edges)
    local = CurrentSample.from_series("amount", w["amount"], "numeric")
    assert b["counts"].tolist() == local.binned(prof).tolist()
    assert b["missing"] == int(w["amount"].isna().sum())


def test_daily_counts_equal_per_day_counts_in_pandas(layout):
    store, df, _ = layout
    w = _in(df, SPAN)
    day = w["ts"].dt.floor("D")
    got = {d: (c, m) for d, c, m, _ in store.daily_counts("credit", SPAN, "segment")}
    want = w.groupby(day)["segment"].value_counts()
    assert set(got) == set(day.unique())
    for d, (c, m) in got.items():
        assert c == want[d].to_dict() and m == 0
    prof = FeatureProfile.fit("amount", w["amount"])
    for d, c, m, nf in store.daily_counts("credit", SPAN, "amount", prof.edges):
        g = w[day == d]["amount"]
        assert c.tolist() == CurrentSample.from_series("amount", g, "numeric").binned(prof).tolist()
        assert m == int(g.isna().sum()) and nf == 0


def test_hourly_counts_in_sql_equal_counting_the_timestamps(layout):
    """The volume chart's predictions per hour come from a GROUP BY hour in the database; they must
    equal flooring every timestamp of the window to its hour."""
    store, df, _ = layout
    want = _in(df, SPAN)["ts"].dt.floor("h").value_counts().sort_index()
    got = store.hourly_counts("credit", SPAN)
    assert got.index.tz is not None and got.sum() == len(_in(df, SPAN))
    pd.testing.assert_series_equal(got, want, check_names=False, check_index_type=False, check_freq=False)
    assert store.hourly_counts("credit", config.Window(SPAN.end, SPAN.end + dt.timedelta(days=1), "empty")).empty


def test_numeric_column_read_whole_is_exact(layout, monkeypatch):
    store, df, kind = layout
    copies = []
    if kind == "postgresql":  # PostgresStore's float8[] read (SQLite streams rows: no such method)
        real = store._copy_floats
        monkeypatch.setattr(store, "_copy_floats", lambda *a: copies.append(a) or real(*a))
    got = store.feature_values("credit", WEEK, "amount")
    want = _in(df, WEEK)["amount"].to_numpy()
    assert got.dtype == np.float64 and len(got) == len(want)
    np.testing.assert_array_equal(np.sort(got), np.sort(want))  # NaN (missing key) sorts last in both
    assert len(copies) == (2 if kind == "postgresql" else 0)  # PostgreSQL: two day ranges side by side, float8[] each


def test_copy_fallback_reads_the_same_values_as_the_array_read(layout):
    store, df, kind = layout
    if kind != "postgresql":
        return  # the array read and the COPY fallback are PostgreSQL's; SQLite streams (tested above)
    with store.engine.connect() as conn:
        raw = conn.connection.driver_connection
        stmt = sa.select(store._feature_col("amount", numeric=True)).where(store._window_filter("credit", WEEK))
        copied = store._copy_rows(raw, stmt, "amount")
    np.testing.assert_array_equal(np.sort(copied), np.sort(_in(df, WEEK)["amount"].to_numpy()))


def test_many_features_counted_in_one_scan_equal_the_per_feature_queries(layout):
    """prefetch_counts (one GROUPING SETS scan on PostgreSQL) must give exactly what the per-feature
    GROUP BY queries give: categories with their raw values and NULLs, bins with missing, per day."""
    store, df, kind = layout
    prof = FeatureProfile.fit("amount", _in(df, SPAN)["amount"])
    requests = [("MAR", None), ("segment", None), ("SEX", None), ("amount", prof.edges),
                ("amount", [float(prof.stats["min"]), float(prof.stats["max"])])]
    fresh = PredictionStore(store.url, store.params)
    want_cats = {f: fresh.category_counts("credit", WEEK, f) for f in ("MAR", "segment", "SEX")}
    want_bins = [fresh.bin_counts("credit", WEEK, "amount", e) for _, e in requests[3:]]
    want_daily = {f: list(fresh.daily_counts("credit", SPAN, f, e)) for f, e in requests[:4]}

    batched = PredictionStore(store.url, store.params)
    seen = _statements(batched)
    fetched = batched.prefetch_counts("credit", WEEK, requests)
    batched.prefetch_counts("credit", SPAN, requests[:4], by_day=True)
    assert fetched == (5 if kind == "postgresql" else 0)
    n_queries = len([q for q in seen if "scoring_log" in q])
    assert {f: batched.category_counts("credit", WEEK, f) for f in ("MAR", "segment", "SEX")} == want_cats
    for (_, e), want in zip(requests[3:], want_bins):
        got = batched.bin_counts("credit", WEEK, "amount", e)
        assert got["counts"].tolist() == want["counts"].tolist()
        assert (got["missing"], got["nonfinite"]) == (want["missing"], want["nonfinite"])
    for f, e in requests[:4]:
        got = list(batched.daily_counts("credit", SPAN, f, e))
        assert [d for d, *_ in got] == [d for d, *_ in want_daily[f]]
        for (_, c, m, nf), (_, wc, wm, wnf) in zip(got, want_daily[f]):
            assert (c.tolist() if e is not None else c) == (wc.tolist() if e is not None else wc)
            assert (m, nf) == (wm, wnf)
    if kind == "postgresql":
        scans = [q for q in seen if "scoring_log" in q]
        # each window (a week, two weeks) counted as two scans of disjoint day ranges side by side;
        # the per-feature calls were all served from them
        assert n_queries == 4 and len(scans) == 4
        assert all("GROUPING SETS" in q.upper() for q in scans)
        single = PredictionStore(store.url, store.params, scan_workers=1)
        seen_single = _statements(single)
        single.prefetch_counts("credit", SPAN, requests[:4], by_day=True)
        assert len([q for q in seen_single if "scoring_log" in q]) == 1
        for f, e in requests[:4]:
            one, two = list(single.daily_counts("credit", SPAN, f, e)), list(batched.daily_counts("credit", SPAN, f, e))
            assert [(d, c.tolist() if e is not None else c, m) for d, c, m, _ in one] == \
                [(d, c.tolist() if e is not None else c, m) for d, c, m, _ in two]


def test_span_read_once_answers_exactly_what_the_queries_answer(layout):
    """SQLite: preload reads the features over a span in one query; every later count and read of a
    window inside it (week, part of a day, per day) must equal the per-window SQL, including codes
    stored as 1 and 1.0 (one category, as SQLite groups them) and NULLs, and must not query again."""
    store, df, kind = layout
    prof = FeatureProfile.fit("amount", _in(df, SPAN)["amount"])
    partial = config.Window(WEEK.start + dt.timedelta(days=2, hours=7, minutes=13), WEEK.end, "partial")
    fresh = PredictionStore(store.url, store.params)
    loaded = PredictionStore(store.url, store.params)
    assert loaded.preload("credit", SPAN, ["MAR", "segment", "SEX", "amount"]) == (kind == "sqlite")
    seen = _statements(loaded)
    for w in (WEEK, partial, SPAN):
        for f in ("MAR", "segment", "SEX"):
            assert loaded.category_counts("credit", w, f) == fresh.category_counts("credit", w, f), (w.label, f)
        for edges in (prof.edges, [float(prof.stats["min"]), float(prof.stats["max"])]):
            got, want = loaded.bin_counts("credit", w, "amount", edges), fresh.bin_counts("credit", w, "amount", edges)
            assert got["counts"].tolist() == want["counts"].tolist()
            assert (got["missing"], got["nonfinite"]) == (want["missing"], want["nonfinite"])
        np.testing.assert_array_equal(np.sort(loaded.feature_values("credit", w, "amount")),
                                      np.sort(fresh.feature_values("credit", w, "amount")))
        for f in ("MAR", "segment", "amount"):  # the Evidently sample's column: same values, same dtype
            got, want = loaded.read_feature("credit", w, f), fresh.read_feature("credit", w, f)
            assert got.dtype == want.dtype, f
            assert sorted(got.dropna().tolist()) == sorted(want.dropna().tolist()) and got.isna().sum() == want.isna().sum()
    for f, e in (("MAR", None), ("segment", None), ("amount", prof.edges), ("SEX", [1.5])):
        got, want = list(loaded.daily_counts("credit", SPAN, f, e)), list(fresh.daily_counts("credit", SPAN, f, e))
        assert [d for d, *_ in got] == [d for d, *_ in want]
        for (_, c, m, nf), (_, wc, wm, wnf) in zip(got, want):
            assert (c.tolist() if e is not None else c) == (wc.tolist() if e is not None else wc)
            assert (m, nf) == (wm, wnf)
    if kind == "sqlite":
        assert not [q for q in seen if "scoring_log" in q]  # all of it answered from the one read
        outside = config.Window(SPAN.start - dt.timedelta(days=1), SPAN.end, "wider")
        assert loaded.category_counts("credit", outside, "MAR") == fresh.category_counts("credit", outside, "MAR")
        assert [q for q in seen if "scoring_log" in q]  # a window outside the span is queried


def test_span_read_is_skipped_past_its_size_limit(layout):
    store, _, kind = layout
    small = PredictionStore(store.url, store.params)
    assert small.preload("credit", SPAN, ["MAR", "amount"], max_cells=100) is False
    if kind == "sqlite":  # only SQLite keeps a span (PostgreSQL never preloads)
        assert small._span is None


def test_finished_days_are_counted_once_and_recounted_when_their_rows_change(layout, tmp_path):
    """PostgreSQL keeps the per-day counts of finished days: a second run scans nothing but the rows
    per day, gives the same counts, and a day that gained a row is the only one counted again."""
    store, df, kind = layout
    prof = FeatureProfile.fit("amount", _in(df, SPAN)["amount"])
    requests = [("MAR", None), ("segment", None), ("amount", prof.edges)]
    want = {f: list(PredictionStore(store.url, store.params).daily_counts("credit", SPAN, f, e)) for f, e in requests}

    def run():
        s = PredictionStore(store.url, store.params, daily_cache=tmp_path / "daily")
        seen = _statements(s)
        s.prefetch_counts("credit", SPAN, requests, by_day=True)
        got = {f: list(s.daily_counts("credit", SPAN, f, e)) for f, e in requests}
        return got, [q for q in seen if "GROUPING SETS" in q.upper()]

    def same(got, want):
        for f, e in requests:
            assert [(d, c.tolist() if e is not None else c, m) for d, c, m, _ in got[f]] == \
                [(d, c.tolist() if e is not None else c, m) for d, c, m, _ in want[f]], f

    first, scans = run()
    if kind != "postgresql":  # SQLite reads the span once instead (preload): nothing kept, nothing scanned
        assert not scans and not (tmp_path / "daily").exists()
        return
    same(first, want)
    assert len(scans) == 2 and len(list((tmp_path / "daily").glob("*.json"))) == 3
    second, scans = run()
    same(second, want)
    assert scans == []  # every day of the span was kept and still holds the same rows
    # a window's totals (the weekly review, week over week) come from the same kept days
    bins = [("MAR", None), ("amount", prof.edges), ("amount", [float(prof.stats["min"]), float(prof.stats["max"])])]
    plain = PredictionStore(store.url, store.params)
    for _ in range(2):
        kept = PredictionStore(store.url, store.params, daily_cache=tmp_path / "daily")
        seen = _statements(kept)
        kept.prefetch_counts("credit", WEEK, bins)
        assert kept.category_counts("credit", WEEK, "MAR") == plain.category_counts("credit", WEEK, "MAR")
        for _, e in bins[1:]:
            got, want_b = kept.bin_counts("credit", WEEK, "amount", e), plain.bin_counts("credit", WEEK, "amount", e)
            assert got["counts"].tolist() == want_b["counts"].tolist() and got["missing"] == want_b["missing"]
    assert not [q for q in seen if "GROUPING SETS" in q.upper()]  # the second time: all kept
    eng = sa.create_engine(store.url)
    late = {"req_id": "late-1", "mdl": "credit", "mdl_ver": "7", "scored_at": WEEK.start + dt.timedelta(days=1, hours=5),
            "score_label": 1, "payload": {"MAR": 3, "SEX": 1, "segment": "smb", "amount": 99.5}}
    t = sa.Table("scoring_log", sa.MetaData(), autoload_with=eng)
    with eng.begin() as c:
        c.execute(t.insert(), [late])
    try:
        third, scans = run()
        fresh = {f: list(PredictionStore(store.url, store.params).daily_counts("credit", SPAN, f, e)) for f, e in requests}
        same(third, fresh)
        assert len(scans) == 1  # only the day that changed was counted again
        assert third["MAR"] != first["MAR"]
    finally:
        with eng.begin() as c:
            c.execute(t.delete().where(t.c.req_id == "late-1"))
        eng.dispose()


def test_drift_over_time_from_daily_counts_equals_per_day_comparison(layout, monkeypatch):
    store, df, _ = layout
    w = _in(df, SPAN)
    profile = ReferenceProfile.fit(pd.DataFrame({"MAR": w[w["ts"] < WEEK.start]["MAR"].astype(str)}))
    monkeypatch.setattr(drift, "reference_profile", lambda ctx, version="": profile)
    dd = DriftDetection(models={"credit": {"features": {"MAR": {}}}})
    ctx = SimpleNamespace(monitoring=config.MonitoringParams(drift_detection=dd), model=SimpleNamespace(name="credit"),
                          store=store, window=WEEK)
    calls = []
    monkeypatch.setattr(store, "read", lambda *a, **k: calls.append(a) or pytest.fail("re-read the rows"))
    grid = drift_history.over_time(ctx, weeks_back=1).to_frame()
    assert not calls
    day = w["ts"].dt.floor("D")
    for _, row in grid.iterrows():
        g = w[day == row["period"]]["MAR"]
        local = drift.compare_feature(profile["MAR"], CurrentSample.from_series("MAR", g, "categorical"))
        assert row["statistic"] == pytest.approx(local.statistic, rel=1e-12)
        assert row["drifted"] == local.drifted
    late = grid[grid["period"] >= WEEK.start + dt.timedelta(days=4)]
    assert late["drifted"].all()


def test_numeric_drift_over_time_from_fine_daily_counts_is_close_to_the_values(layout, monkeypatch):
    """KS per day from GROUP BY counts over 100 reference-quantile bins, no rows re-read: D within a
    percentile of the exact per-day D, and the same verdicts."""
    from scipy import stats

    store, df, _ = layout
    w = _in(df, SPAN)
    profile = ReferenceProfile.fit(pd.DataFrame({"amount": np.random.default_rng(3).normal(100, 15, 20_000)}))
    monkeypatch.setattr(drift, "reference_profile", lambda ctx, version="": profile)
    dd = DriftDetection(models={"credit": {"features": {"amount": {"method": "ks"}}}})
    ctx = SimpleNamespace(monitoring=config.MonitoringParams(drift_detection=dd), model=SimpleNamespace(name="credit"),
                          store=store, window=WEEK)
    monkeypatch.setattr(store, "read", lambda *a, **k: pytest.fail("re-read the rows"))
    grid = drift_history.over_time(ctx, weeks_back=1).to_frame()
    day = w["ts"].dt.floor("D")
    assert len(grid) == day.nunique()
    for _, row in grid.iterrows():
        g = w[day == row["period"]]["amount"].dropna().to_numpy()
        exact = stats.ks_2samp(profile["amount"].sorted_values, g).statistic
        assert abs(row["statistic"] - exact) <= 0.02
        assert row["n"] == len(g)
        assert not row["drifted"]  # same population: no drift


def test_a_model_missing_from_monitoring_yaml_is_reviewed_with_discovered_features(layout, tmp_path, monkeypatch):
    """No 'no features configured': the JSON keys that the reference also has, automatic type and method."""
    store, df, _ = layout
    early = df[df["ts"] < WEEK.start]
    ref = pd.DataFrame({"MAR": early["MAR"].astype(str), "SEX": early["SEX"].astype(str), "segment": early["segment"],
                        "amount": early["amount"], "only_in_training": 1.0})
    ref.to_parquet(tmp_path / "training.parquet")
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    ctx = SimpleNamespace(monitoring=config.MonitoringParams(drift_detection=DriftDetection()), root=tmp_path,
                          model=SimpleNamespace(name="credit", reference="training.parquet"), store=store, window=WEEK)
    report = drift.review(ctx)
    frame = report.to_frame().set_index("feature")
    assert set(frame.index) == {"MAR", "SEX", "segment", "amount"}
    assert frame.loc["MAR", "type"] == "categorical" and frame.loc["MAR", "method"] == "chi2"
    assert frame.loc["amount", "type"] == "numeric" and frame.loc["amount", "method"] == "ks"
    assert report.drifted_features == ["MAR"]
    fig = report.plot()
    assert fig is not None and not fig.problems
    assert sum(1 for ax in fig.axes if ax.get_title()) == 4  # every feature plotted


def test_whole_drift_review_with_kept_days_equals_it_without_and_next_time_scans_nothing(layout, monkeypatch, tmp_path):
    """The notebook's drift sections (weekly, week over week, the daily grid) on a store that keeps
    per-day counts give exactly what a store without them gives; run again, PostgreSQL answers all of
    it from the kept days (the rows-per-day check and the numeric arrays aside: no GROUPING SETS scan)."""
    store, df, kind = layout
    w = _in(df, SPAN)
    early = w[w["ts"] < WEEK.start]
    profile = ReferenceProfile.fit(pd.DataFrame({"MAR": early["MAR"].astype(str), "segment": early["segment"],
                                                 "amount": early["amount"]}))
    monkeypatch.setattr(drift, "reference_profile", lambda ctx, version="": profile)
    dd = DriftDetection(models={"credit": {"features": {"MAR": {}, "segment": {"method": "psi"}, "amount": {}}}})

    def sections(s):
        ctx = SimpleNamespace(monitoring=config.MonitoringParams(drift_detection=dd), model=SimpleNamespace(name="credit"),
                              store=s, window=WEEK)
        rep = drift.review(ctx)
        wow = drift_history.week_over_week(ctx, rep)
        grid = drift_history.over_time(ctx, weeks_back=1).to_frame()
        cols = ["feature", "method", "statistic", "p_value", "status"]
        return rep.to_frame()[cols], wow, grid

    plain = sections(PredictionStore(store.url, store.params))
    for attempt in range(2):
        kept = PredictionStore(store.url, store.params, daily_cache=tmp_path / "kept")
        seen = _statements(kept)
        got = sections(kept)
        for a, b in zip(got, plain):
            pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    scans = [q for q in seen if "GROUPING SETS" in q.upper()]
    assert scans == []  # second run: every window's days were kept (on SQLite: read once, never grouped)
    if kind == "postgresql":
        assert any(p.suffix == ".json" for p in (tmp_path / "kept").iterdir())


def test_numeric_features_are_read_together_in_one_scan(layout, monkeypatch):
    """PostgreSQL: the drift review's value reads (KS / Wasserstein) come from one scan for all
    numeric features; each gives the same array the feature's own read gives, once. (SQLite cuts
    them from its preloaded span: there prefetch_values sends nothing and changes nothing.)"""
    store, df, kind = layout
    want = {f: store.feature_values("credit", WEEK, f) for f in ("amount", "MAR")}
    seen = _statements(store, monkeypatch)
    store.prefetch_values("credit", WEEK, ["amount", "MAR"])
    if kind == "sqlite":
        assert seen == [] and all(np.array_equal(store.feature_values("credit", WEEK, f), w, equal_nan=True)
                                  for f, w in want.items())
        return
    reads = [s for s in seen if "array_agg" in s]
    assert reads and all("'amount'" in s and "'MAR'" in s for s in reads)  # both keys in every scan
    n = len(seen)
    for f, w in want.items():
        np.testing.assert_array_equal(store.feature_values("credit", WEEK, f), w)
    assert not [s for s in seen[n:] if "array_agg" in s]  # served from the scan, no second read
    np.testing.assert_array_equal(store.feature_values("credit", WEEK, "amount"), want["amount"])  # handed out once
    assert [s for s in seen[n:] if "array_agg" in s]
