"""The Spark source (workbench.sources.store_spark) on a real SparkSession (pyspark, local[2], Debian's
OpenJDK 17): the same seeded rows written as SQLite and as the day-partitioned Parquet layout give
the same drift and performance reviews through Spark as through SQLite (identical findings, equal
statistics), and those statistics are scipy's and scikit-learn's on the rows themselves. The
performance review's prediction cells and the weak-segment cells are Spark aggregations equal to
SQLite's GROUP BY, a regression model's residual cells are the rows' (base.residual_cells_of_rows), and
a valid week's performance review, classifier's or regression model's, reads no rows on Spark.

The rows are the source-interface test's (tests/unit/test_source_interface.py): three weeks of a model
whose `amount` and `plan` shift in the week, with NULL, NaN, ±inf, repeated ids, a version change and
a second model. One SparkSession serves the whole module (start-up takes tens of seconds); it is
never skipped: `make test` installs Java (scripts/ensure-java.sh) and pyspark (the `spark` extra)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pytest
from scipy import stats
from sklearn import metrics as skm

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
import test_lake_cells as cells_of  # noqa: E402  (a log with invalid probabilities, early and missing outcomes)
import test_lake_residual_cells as residuals_of  # noqa: E402  (a regression log with every residual-cell case)
import test_source_interface as rows_of  # noqa: E402  (the seeded generator and review contexts)

from workbench.config import Window  # noqa: E402
from workbench.drift import core as drift, history  # noqa: E402
from workbench.errors import ConfigError  # noqa: E402
from workbench.performance import core as performance, segments  # noqa: E402
from workbench.sources import parquet_layout, registry, store_spark  # noqa: E402
from workbench.sources.base import cells_of_rows  # noqa: E402
from workbench.sources.store_sqlite import SqliteStore  # noqa: E402

pytestmark = pytest.mark.integration
WEEK, PARAMS, FEATURES = rows_of.WEEK, rows_of.PARAMS, rows_of.FEATURES


def write_parquet_layout(df: pd.DataFrame, root: Path) -> None:
    """`df` as the layout: <root>/day=YYYY-MM-DD/*.parquet by the UTC day of the timestamp,
    timestamps as microseconds (Spark reads no nanosecond Parquet timestamps)."""
    out = df.copy()
    for c in ("timestamp", "outcome_timestamp"):
        out[c] = pd.to_datetime(out[c], utc=True).astype("datetime64[us, UTC]")
    out["day"] = out["timestamp"].dt.strftime("%Y-%m-%d")
    pads.write_dataset(pa.Table.from_pandas(out, preserve_index=False), root, format="parquet",
                       partitioning=["day"], partitioning_flavor="hive")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rng = np.random.default_rng(20261121)
    root = tmp_path_factory.mktemp("spark")
    df = rows_of._rows(rng)
    n = 5_000
    pd.DataFrame({"amount": np.round(rng.lognormal(3.0, 0.6, n), 1), "score": rng.normal(0, 1, n),
                  "usage": np.round(rng.gamma(2.0, 3.0, n)), "plan": rng.choice(["basic", "plus", "pro"], n, p=[.5, .3, .2]),
                  "region": rng.choice(["north", "south", "east"], n)}).to_csv(root / "ref.csv", index=False)
    write_parquet_layout(df, root / "log")
    return SimpleNamespace(root=root, df=df, url=rows_of.write_sqlite(root / "p.db", df),
                           spark_url=f"spark+parquet://{root / 'log'}?master=local[2]&driver_memory=512m")


@pytest.fixture(scope="module")
def spark(data):
    """The module's one SparkSession, stopped at the end (the JVM's memory back for the next modules)."""
    store = registry.open_store(data.spark_url, PARAMS)
    assert isinstance(store, store_spark.SparkStore)
    yield store
    store_spark.spark_session().stop()


def _week(df: pd.DataFrame) -> pd.DataFrame:
    return df[(df["model_name"] == "m") & (df["timestamp"] >= WEEK.start) & (df["timestamp"] < WEEK.end)]


def _findings(report) -> list[tuple]:
    return [(f.severity, f.subject, f.kind, f.sentence) for f in report.findings]


# the interface test's methods (KS and Wasserstein on values), and every numeric feature on bins: amount
# (tenths) and usage (whole numbers) put many values on the reference-quantile edges, [edge, next)
BINNED = {"amount": "psi", "score": "ks", "usage": "js", "plan": "chi2", "region": "psi"}


@pytest.mark.parametrize("methods", [FEATURES, BINNED], ids=["values", "binned"])
def test_drift_review_through_spark_equals_sqlite_and_scipy(data, spark, monkeypatch, methods):
    monkeypatch.setattr(rows_of, "FEATURES", methods)  # the methods rows_of._ctx configures
    lite = rows_of._ctx(data, SqliteStore(data.url, PARAMS), monkeypatch)
    on_spark = rows_of._ctx(data, spark, monkeypatch)
    want_report, got_report = drift.review(lite), drift.review(on_spark)
    assert _findings(got_report) == _findings(want_report) and _findings(got_report)
    want, got = rows_of._results(want_report), rows_of._results(got_report)
    assert set(want) == set(got) == set(FEATURES)
    for f in FEATURES:
        (w, wd), (g, gd) = want[f], got[f]
        assert w["n_current"] > 0 and w["statistic"] is not None
        bad = {k: (w[k], g[k]) for k in w if not rows_of._same(w[k], g[k])}
        assert not bad, (f, bad)
        if wd is not None:
            pd.testing.assert_series_equal(gd, wd, check_exact=False, rtol=1e-12)
    if methods is BINNED:
        assert got["amount"][0]["drifted"] and not got["usage"][0]["drifted"]
        return
    week, ref = _week(data.df), pd.read_csv(data.root / "ref.csv")
    ks = stats.ks_2samp(ref["amount"], week["amount"].dropna())
    assert got["amount"][0]["statistic"] == pytest.approx(ks.statistic, rel=1e-12)
    assert got["amount"][0]["p_value"] == pytest.approx(ks.pvalue, rel=1e-9)
    wd = stats.wasserstein_distance(ref["usage"], week["usage"]) / np.std(ref["usage"])  # in reference stds
    assert got["usage"][0]["statistic"] == pytest.approx(wd, rel=1e-9)
    assert got["plan"][0]["missing_count"] == int(week["plan"].isna().sum()) > 0
    assert got["score"][0]["nonfinite_current"] == int(np.isinf(week["score"]).sum()) > 0
    assert got["amount"][0]["drifted"] and got["plan"][0]["drifted"] and not got["region"][0]["drifted"]


def test_drift_over_time_and_volume_through_spark_equal_sqlite(data, spark, monkeypatch):
    lite = rows_of._ctx(data, SqliteStore(data.url, PARAMS), monkeypatch)
    on_spark = rows_of._ctx(data, spark, monkeypatch)
    want = history.over_time(lite, weeks_back=rows_of.WEEKS_BACK).to_frame()
    got = history.over_time(on_spark, weeks_back=rows_of.WEEKS_BACK).to_frame()
    assert len(want) == 7 * (rows_of.WEEKS_BACK + 1) * len(FEATURES)
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)
    vol = drift.volume(on_spark, weeks_back=rows_of.WEEKS_BACK)
    pd.testing.assert_frame_equal(vol, drift.volume(lite, weeks_back=rows_of.WEEKS_BACK))
    m = data.df[data.df["model_name"] == "m"]
    assert vol["predictions"].sum() == len(m)
    assert spark.newest("m") == m["timestamp"].max()


def test_performance_review_through_spark_equals_sqlite_and_sklearn(data, spark, monkeypatch):
    lite = rows_of._ctx(data, SqliteStore(data.url, PARAMS), monkeypatch)
    on_spark = rows_of._ctx(data, spark, monkeypatch)
    want, got = performance.review(lite), performance.review(on_spark)
    assert _findings(got) == _findings(want) and _findings(got)
    assert got.summary.n_predictions == want.summary.n_predictions
    assert got.summary.metrics == pytest.approx(want.summary.metrics, rel=1e-12)
    assert got.summary.ci == want.summary.ci
    assert got.versions == want.versions == ["1", "2"]
    pd.testing.assert_frame_equal(got.by_version, want.by_version)
    pd.testing.assert_frame_equal(got.trend, want.trend)
    assert got.row_check.problems == want.row_check.problems and got.row_check.n_left_out == 5
    kept = _week(data.df).drop_duplicates("prediction_id")  # the first of an id is kept
    assert got.summary.n_predictions == len(kept)
    assert got.summary.metrics["accuracy"] == pytest.approx(
        skm.accuracy_score(kept["actual_outcome"], kept["prediction"]), rel=1e-12)
    assert got.summary.metrics["roc_auc"] == pytest.approx(
        skm.roc_auc_score(kept["actual_outcome"], kept["probability"]), rel=1e-12)


def test_each_count_is_a_spark_aggregation_equal_to_pandas(data, spark):
    """Every pushed-down count against the rows themselves (pandas), each in its own query (no
    prefetch), and prefetch_counts' one scan answers the same."""
    week, w = _week(data.df), WEEK
    assert spark.count("m", w) == len(week)
    assert spark.versions("m", w) == sorted(week["model_version"].unique()) == ["1", "2"]
    assert spark.repeated_ids("m", w) == int(week["prediction_id"].duplicated().sum()) == 5
    assert spark.models() == ["m", "other"]
    assert spark.feature_columns() == list(FEATURES)  # the `day` partition is not a feature
    counts, missing = spark.category_counts("m", w, "plan")
    assert counts == week["plan"].value_counts().to_dict() and missing == int(week["plan"].isna().sum())
    edges = [-1.0, 0.0, 0.5, 2.0, 30.0]
    for f in ("amount", "score", "usage"):
        v = week[f].to_numpy(dtype=float)
        b = spark.bin_counts("m", w, f, edges)
        finite = v[np.isfinite(v)]
        np.testing.assert_array_equal(b["counts"], np.bincount(np.searchsorted(edges, finite, side="right"),
                                                               minlength=len(edges) + 1))
        assert (b["missing"], b["nonfinite"]) == (int(np.isnan(v).sum()), int(np.isinf(v).sum()))
    days = dict((d, (c, m)) for d, c, m, _ in spark.daily_counts("m", w, "region"))
    want_days = week.groupby(pd.to_datetime(week["timestamp"], utc=True).dt.floor("D"))["region"]
    assert {d: c for d, (c, _) in days.items()} == {d: g.value_counts().to_dict() for d, g in want_days}
    hours = spark.hourly_counts("m", w)
    assert hours.sum() == len(week) and hours.index.tz is not None
    # the one-scan prefetch gives what the per-feature queries gave
    fresh = store_spark.SparkStore(data.spark_url, PARAMS)
    assert fresh.prefetch_counts("m", w, [("plan", None), ("score", edges)]) == 2
    assert fresh.category_counts("m", w, "plan") == (counts, missing)
    np.testing.assert_array_equal(fresh.bin_counts("m", w, "score", edges)["counts"],
                                  spark.bin_counts("m", w, "score", edges)["counts"])


@pytest.fixture(scope="module")
def cells_log(tmp_path_factory):
    """test_lake_cells' logs (one with NaN, ±inf, -0.1, 1.2, p = 1, early and missing outcomes, two
    versions; one clean) as SQLite and as the layout Spark reads."""
    root = tmp_path_factory.mktemp("spark-cells")
    df, clean = cells_of.log_rows(5), cells_of.log_rows(6, invalid=False)
    for name, frame in (("lake", df), ("clean", clean)):
        parquet_layout.write_days(frame, root / name, "timestamp", ("outcome_timestamp",))
    return SimpleNamespace(root=root, df=df, clean=clean, url=cells_of.write_sqlite(root / "p.db", df),
                           clean_url=cells_of.write_sqlite(root / "clean.db", clean),
                           spark_url=f"spark+parquet://{root / 'lake'}?master=local[2]",
                           clean_spark=f"spark+parquet://{root / 'clean'}?master=local[2]")


def test_spark_counts_the_cells_sqlite_counts_and_the_rows_give(cells_log, spark):
    on_spark = store_spark.SparkStore(cells_log.spark_url, cells_of.PARAMS)
    lite = SqliteStore(cells_log.url, cells_of.PARAMS)
    assert on_spark.counts_cells
    got, want = on_spark.prediction_cells("m", WEEK), lite.prediction_cells("m", WEEK)
    pd.testing.assert_frame_equal(cells_of.ordered(got), cells_of.ordered(want))  # dtypes included
    rows = cells_of.FrameSource(cells_log.df, cells_of.PARAMS).read("m", WEEK)
    pd.testing.assert_frame_equal(cells_of.ordered(got, np.nan), cells_of.ordered(cells_of_rows(rows), np.nan),
                                  check_dtype=False)
    p = rows["probability"]
    assert got["n"].sum() == len(rows) and (p == 1).any() and (~p.between(0, 1)).sum() > 0
    assert got.loc[got["early"] == 1, "n"].sum() == int((rows["outcome_timestamp"] < rows["timestamp"]).sum()) > 0
    cells_of.write_keeping_nan(cells_log.df, cells_log.root / "nan")
    cells_of.nan_cells_agree(store_spark.SparkStore(f"spark+parquet://{cells_log.root / 'nan'}", cells_of.PARAMS),
                             cells_log.df)


@pytest.mark.parametrize("kind", ["classification", "regression"])
def test_weak_segment_cells_counted_by_spark_equal_sqlite_and_the_rows(data, spark, kind):
    """One Spark aggregation gives the rows segment_counts.statement counts on SQLite, and the search
    on them finds what it finds on SQLite and on the rows (the interface's default)."""
    lite, frame = rows_of._NoPreload(data.url, PARAMS), rows_of.FrameSource(data.df, PARAMS)
    ref = Window(WEEK.start - pd.Timedelta(weeks=2), WEEK.start, "ref")
    feats = ["plan", "amount", "region", "usage"]
    edges = {"plan": None, "amount": [12.0, 20.5, 30.0], "region": None, "usage": [2.0, 5.0, 8.0]}
    err_edges = [0.5] if kind == "regression" else None

    def key(r):
        return tuple("" if v is None else str(v) for v in r[:6])

    got = sorted(spark.segment_cells("m", WEEK, ref, edges, kind, err_edges), key=key)
    want = sorted(lite.segment_cells("m", WEEK, ref, edges, kind, err_edges), key=key)
    assert len(got) == len(want) > 0
    for g, w in zip(got, want):
        assert tuple(g[:7]) == tuple(w[:7]) and float(g[7] or 0) == pytest.approx(float(w[7] or 0), rel=1e-12)
    found = [segments.search_store(s, "m", WEEK, ref, kind, features=feats) for s in (lite, spark, frame)]
    tables = [f.to_frame() for f in found]
    assert len(tables[0]) > 0
    pd.testing.assert_frame_equal(tables[1], tables[0])
    pd.testing.assert_frame_equal(tables[2], tables[0])
    assert [f.sentence for f in found[1].findings] == [f.sentence for f in found[0].findings]


def test_the_review_on_spark_computes_from_cells_without_reading_the_rows(cells_log, spark, tmp_path, monkeypatch):
    """A clean week: Spark's review comes from its cells (no `read` at all) and says what SQLite's says."""
    runs, reads = cells_of.reviews_counting_reads(
        {"spark": store_spark.SparkStore(cells_log.clean_spark, cells_of.PARAMS),
         "sqlite": SqliteStore(cells_log.clean_url, cells_of.PARAMS)}, tmp_path, monkeypatch)
    got, want = runs["spark"], runs["sqlite"]
    assert got.cells is not None and got.window_rows is None and "spark" not in reads
    assert [f.sentence for f in got.findings] == [f.sentence for f in want.findings] and got.findings
    assert got.summary.metrics == pytest.approx(want.summary.metrics, rel=1e-12)
    pd.testing.assert_frame_equal(got.trend, want.trend)
    lab = _week(cells_log.clean).query("actual_outcome == actual_outcome")
    assert got.summary.metrics["accuracy"] == pytest.approx(
        skm.accuracy_score(lab["actual_outcome"], lab["prediction"]), rel=1e-12)


@pytest.fixture(scope="module")
def residual_log(tmp_path_factory):
    """test_lake_residual_cells' logs (NULL and NaN outcomes and predictions, ±inf, early outcomes, two
    versions and variants, midnight; one clean) as the layout Spark reads, the clean one as SQLite too."""
    root = tmp_path_factory.mktemp("spark-residuals")
    df, null = residuals_of.edge_rows()
    residuals_of.write_layout(df, null, root / "lake")
    clean = residuals_of._rows(9, days=14)
    parquet_layout.write_days(clean, root / "clean", "timestamp", ("outcome_timestamp",))
    return SimpleNamespace(root=root, df=df, clean=clean, clean_url=rows_of.write_sqlite(root / "clean.db", clean),
                           spark_url=f"spark+parquet://{root / 'lake'}?master=local[2]",
                           clean_spark=f"spark+parquet://{root / 'clean'}?master=local[2]")


def test_spark_counts_the_residual_cells_the_rows_give(residual_log, spark, monkeypatch):
    """base.residual_cells_sql run by Spark: the cells residual_cells_of_rows gives on the same rows (read
    through Spark, and from the frame), sums within the bound of two summation orders, and DuckDB's."""
    from workbench.sources.base import residual_cells_of_rows
    from workbench.sources.store_duckdb import DuckdbStore

    on_spark = store_spark.SparkStore(residual_log.spark_url, residuals_of.PARAMS)
    duck = DuckdbStore(f"duckdb+parquet://{residual_log.root / 'lake'}", residuals_of.PARAMS)
    rows = on_spark.read("m", WEEK)
    monkeypatch.setattr(on_spark, "read", lambda *a, **k: pytest.fail("residual_cells read the rows"))
    for widths in residuals_of.WIDTHS:
        got = on_spark.residual_cells("m", WEEK, *widths)
        residuals_of.assert_same_cells(got, residual_cells_of_rows(rows, *widths))
        residuals_of.assert_same_cells(got, residuals_of.FrameSource(residual_log.df, residuals_of.PARAMS)
                                       .residual_cells("m", WEEK, *widths))
        residuals_of.assert_same_cells(got, duck.residual_cells("m", WEEK, *widths))
        assert set(got["status"]) == {0, 1, 2} and got["early"].any() and set(got["variant"]) == {"a", "b"}
        assert got["n"].sum() == len(rows)


def test_the_regression_review_on_spark_computes_from_cells_without_reading_the_rows(residual_log, spark, tmp_path,
                                                                                   monkeypatch):
    """A clean regression week: Spark's review comes from its residual cells (no `read` at all) and says
    what SQLite's says; MAE is scikit-learn's on the rows."""
    (tmp_path / "baselines.yaml").write_text("m:\n  '2': {mae: 5.0, rmse: 6.0, mape: 0.05, r2: 0.99}\n")
    runs, reads = {}, []
    for name, store in (("spark", store_spark.SparkStore(residual_log.clean_spark, residuals_of.CLEAN_PARAMS)),
                        ("sqlite", SqliteStore(residual_log.clean_url, residuals_of.CLEAN_PARAMS))):
        real = store.read
        monkeypatch.setattr(store, "read", lambda *a, _real=real, _name=name, **k: reads.append(_name) or _real(*a, **k))
        runs[name] = performance.review(residuals_of._ctx(tmp_path, store, store_params=residuals_of.CLEAN_PARAMS))
    got, want = runs["spark"], runs["sqlite"]
    assert got.cells is not None and got.binned is not None and got.window_rows is None and "spark" not in reads
    residuals_of.assert_same_findings(got.findings, want.findings)
    assert got.summary.metrics == pytest.approx(want.summary.metrics, rel=1e-12)
    pd.testing.assert_frame_equal(got.trend, want.trend, check_exact=False, rtol=1e-12)
    lab = _week(residual_log.clean).query("actual_outcome == actual_outcome")
    assert got.summary.metrics["mae"] == pytest.approx(
        skm.mean_absolute_error(lab["actual_outcome"], lab["prediction"]), rel=1e-12)


def test_a_window_reads_only_its_day_partitions(data, spark):
    plan = spark._rows("m", WEEK)._jdf.queryExecution().executedPlan().toString()
    assert "PartitionFilters: [" in plan and "day#" in plan.split("PartitionFilters: [", 1)[1].split("]", 1)[0]


def test_spark_urls(tmp_path):
    path, master, settings = store_spark.parse_url("spark+parquet:///data/log?master=local[2]&spark.executor.memory=2g")
    assert (path, master, settings) == ("/data/log", "local[2]", {"spark.executor.memory": "2g"})
    assert store_spark.parse_url("spark+parquet+s3a://bucket/preds")[0] == "s3a://bucket/preds"
    for bad in ("spark+parquet://relative/log", "spark+csv:///x", "spark+parquet:///x?colour=red"):
        with pytest.raises(ConfigError):
            store_spark.parse_url(bad)
    assert registry.backend_for("spark+parquet:///x") is store_spark.SparkStore
