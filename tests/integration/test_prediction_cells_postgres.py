"""prediction_cells on a real PostgreSQL: a GROUP BY (per day range) that counts the same cells as SQLite's and as
the interface's default from `read`, and a performance review from those cells that says what the
review on SQLite says (the demo's small history)."""

import datetime as dt
from types import SimpleNamespace

import pandas as pd
import pytest
import sqlalchemy as sa

from workbench import config
from workbench.config import ModelSpec, StoreParams
from workbench.demo import database
from workbench.performance import core
from workbench.sources.base import CELL_KEYS, PredictionSource
from workbench.sources.store import PredictionStore

pytestmark = pytest.mark.integration
MODEL = "churn-predictor"


@pytest.fixture(scope="module")
def stores(tmp_path_factory, small_history, postgres_url):
    urls = {"sqlite": f"sqlite:///{tmp_path_factory.mktemp('cells') / 'predictions.db'}", "postgresql": postgres_url}
    for url in urls.values():
        eng = sa.create_engine(url)
        database.write_predictions(eng, small_history.predictions)
        eng.dispose()
    return {name: PredictionStore(url, StoreParams()) for name, url in urls.items()}


def _window(small_history) -> config.Window:
    end = pd.Timestamp(small_history.predictions["timestamp"].max()).floor("D").to_pydatetime()
    return config.Window(end - dt.timedelta(days=7), end, "last 7 days")


def _sorted(cells: pd.DataFrame) -> pd.DataFrame:
    keys = list(CELL_KEYS)
    return cells.astype({"variant": str, "model_version": str}).sort_values(keys).reset_index(drop=True)


def test_postgres_counts_the_cells_sqlite_and_the_default_count(stores, small_history):
    window = _window(small_history)
    pg = stores["postgresql"]
    pg.table()  # the table's columns reflected first
    seen = []
    sa.event.listen(pg.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    got = pg.prediction_cells(MODEL, window)
    asked = [q for q in seen if "predictions" in q]  # not the session's SET statements
    assert 1 <= len(asked) <= pg.scan_workers and all("GROUP BY" in q for q in asked)  # day ranges side by side
    default = PredictionSource.prediction_cells(pg, MODEL, window)  # the interface's default, from read
    lite = stores["sqlite"].prediction_cells(MODEL, window)
    pd.testing.assert_frame_equal(_sorted(got), _sorted(default), check_dtype=False)
    pd.testing.assert_frame_equal(_sorted(got), _sorted(lite), check_dtype=False)
    rows = small_history.predictions
    rows = rows[(rows["model_name"] == MODEL) & (rows["timestamp"] >= window.start) & (rows["timestamp"] < window.end)]
    assert got["n"].sum() == len(rows) > 1000


def _reviews(stores: dict, model: str, kind: str, window, tmp_path):
    """The performance review of `model` over `window` on PostgreSQL and on SQLite."""
    params = config.WeeklyParams.model_validate({"models": [{"name": model, "type": kind}],
                                                 "performance": {"bootstrap_resamples": 200, "weeks_back": 1}})
    runs = {}
    for name, store in stores.items():
        ctx = SimpleNamespace(model=ModelSpec(name=model, type=kind), window=window, root=tmp_path,
                              params=params, store=store, has=lambda s: False,
                              params_path=lambda n: tmp_path / "none.yaml", outputs={})
        runs[name] = core.review(ctx)
    return runs["postgresql"], runs["sqlite"]


def test_the_review_from_postgres_cells_equals_the_review_on_sqlite(stores, small_history, tmp_path):
    a, b = _reviews(stores, MODEL, "classification", _window(small_history), tmp_path)
    assert a.cells is not None and b.cells is not None
    assert a.summary.metrics == pytest.approx(b.summary.metrics, rel=1e-12)
    assert a.summary.ci.keys() == b.summary.ci.keys()
    ends = [(a.summary.ci[k], b.summary.ci[k]) for k in a.summary.ci]
    assert [c for x, _ in ends for c in x] == pytest.approx([c for _, y in ends for c in y], rel=1e-12)
    assert [f.sentence for f in a.findings] == [f.sentence for f in b.findings]
    pd.testing.assert_frame_equal(a.trend, b.trend, check_dtype=False)


REGRESSION = "revenue-predictor"


def test_postgres_counts_the_residual_cells_sqlite_and_the_default_count(stores, small_history):
    """A regression model's residual cells (sources.base.residual_cells), unbinned and on the bootstrap's
    bins: PostgreSQL's GROUP BY, SQLite's and the interface's default from `read` agree."""
    from workbench.sources.base import RESIDUAL_KEYS

    window = _window(small_history)
    pg, lite = stores["postgresql"], stores["sqlite"]
    keys = list(RESIDUAL_KEYS)
    ordered = lambda c: c.astype({"variant": str, "model_version": str}).sort_values(keys).reset_index(drop=True)  # noqa: E731
    plain = pg.residual_cells(REGRESSION, window)
    from workbench.performance.residual_cells import residual_widths

    widths = residual_widths(plain)
    assert all(w and w > 0 for w in widths)
    for w in [(None, None), widths]:
        got = pg.residual_cells(REGRESSION, window, *w)
        default = PredictionSource.residual_cells(pg, REGRESSION, window, *w)
        pd.testing.assert_frame_equal(ordered(got), ordered(default), check_dtype=False, rtol=1e-12)
        pd.testing.assert_frame_equal(ordered(got), ordered(lite.residual_cells(REGRESSION, window, *w)),
                                      check_dtype=False, rtol=1e-12)
    rows = small_history.predictions
    rows = rows[(rows["model_name"] == REGRESSION) & (rows["timestamp"] >= window.start) & (rows["timestamp"] < window.end)]
    assert plain["n"].sum() == len(rows) > 1000 and (plain["status"] == 1).any()


def test_the_regression_review_from_postgres_cells_equals_the_review_on_sqlite(stores, small_history, tmp_path):
    a, b = _reviews(stores, REGRESSION, "regression", _window(small_history), tmp_path)
    assert a.cells is not None and b.cells is not None and a.window_rows is None
    assert a.summary.metrics == pytest.approx(b.summary.metrics, rel=1e-12)
    ends = [(a.summary.ci[k], b.summary.ci[k]) for k in core.REGRESSION_METRICS]
    assert [c for x, _ in ends for c in x] == pytest.approx([c for _, y in ends for c in y], rel=1e-9)
    assert [f.sentence for f in a.findings] == [f.sentence for f in b.findings]
    pd.testing.assert_frame_equal(a.trend, b.trend, check_dtype=False, rtol=1e-12)
