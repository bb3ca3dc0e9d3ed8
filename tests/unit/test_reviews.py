"""The catalogue of reviews (workbench.reviews) is the one source of what a review is: sections,
notebooks, titles, order, sources, params files, the service review and headline numbers; its readers
(display, the runner, check, the week page, notifications, scheduling) take it from there."""

import pytest

from workbench import display, reviews, weekpage
from workbench.sources import connections


def test_catalogue_order_and_service_review():
    assert list(reviews.REVIEWS) == ["drift", "performance", "infrastructure"]
    assert [reviews.order(r) for r in ("drift", "performance", "infrastructure", "other")] == [0, 1, 2, 3]
    assert weekpage.REVIEW_ORDER == tuple(reviews.REVIEWS)
    assert [r for r in reviews.REVIEWS if reviews.per_service(r)] == ["infrastructure"]
    assert reviews.review_name("01-drift-review") == "drift"
    assert reviews.review_name("notebooks/03-infrastructure-review.ipynb") == "infrastructure"
    assert reviews.review_name("custom_review") == "custom"


def test_sources_and_params_per_review():
    assert {r: reviews.needs(r) for r in reviews.REVIEWS} == {
        "drift": ("database",), "performance": ("database",), "infrastructure": ("prometheus",)}
    assert reviews.needs("unknown") == ()
    assert [r for r in reviews.REVIEWS if reviews.uses(r, "mlflow")] == ["drift", "performance"]
    assert reviews.review("infrastructure").params == ("queries", "slos", "alerts")
    assert reviews.review("drift").params == ("monitoring",)
    from workbench import config

    kinds = set(config.PARAMS_FILES) - {"weekly"}
    assert all(set(r.params) <= kinds for r in reviews.REVIEWS.values())

    conns = config.Connections("http://prom:9090", None, None, False)
    assert connections.missing_for("drift", conns) == ["database"]
    assert connections.missing_for("infrastructure", conns) == []


def test_headline_numbers_are_one_entry_each():
    keys = [h.key for r in reviews.REVIEWS.values() for h in r.headline]
    assert len(keys) == len(set(keys)) == len(reviews.HEADLINES)  # a key belongs to one review
    assert reviews.metrics("classification") == ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc",
                                                  "log_loss", "brier")
    assert reviews.metrics("regression") == ("mae", "rmse", "mape", "r2")
    assert reviews.spark_keys("performance")[-1] == "label_coverage"
    assert reviews.spark_keys("infrastructure") == ("availability_api", "error_ratio", "pages", "alert_episodes", "outages")
    assert reviews.spark_keys("drift") == ("drift_share",)
    with pytest.raises(ValueError, match="format 'percent' is not one of: ratio, count, number"):
        reviews.Headline("x", "x", "percent")
    # the formats the pages use come from the entries
    assert weekpage.fmt_value("error_ratio", 0.01234) == "1.23%"
    assert weekpage.fmt_value("pages", 1234.0) == "1,234"
    assert weekpage.fmt_value("drift_share", 0.25) == "0.25"
    assert weekpage.fmt_value("unknown_key", 3.0) == "3"
    assert weekpage.spark_keys("performance") == reviews.spark_keys("performance")


def test_a_new_headline_number_is_one_entry(monkeypatch):
    """Adding one Headline to the catalogue is all the index needs to format and draw it."""
    infra = reviews.review("infrastructure")
    extra = reviews.Headline("cache_hit_ratio", "cache hit ratio", reviews.RATIO, spark=True)
    monkeypatch.setitem(reviews.REVIEWS, "infrastructure",
                        reviews.Review(**{**vars(infra), "headline": infra.headline + (extra,)}))
    monkeypatch.setitem(reviews.HEADLINES, extra.key, extra)
    assert weekpage.fmt_value("cache_hit_ratio", 0.5) == "50.00%"
    assert "cache_hit_ratio" in weekpage.spark_keys("infrastructure")


def test_sections_by_model_type():
    perf = reviews.review("performance")
    cls = [s.anchor for s in perf.sections_for("classification")]
    reg = [s.anchor for s in perf.sections_for("regression")]
    assert "ab-test" in cls and "versions" not in cls and "estimate" in cls
    assert "versions" in reg and not {"ab-test", "estimate", "class-counts"} & set(reg)
    assert [s.anchor for s in perf.sections_for("")] == cls  # the default model type
    assert display.sections_for("performance", "regression") == [(s.anchor, s.title) for s in perf.sections_for("regression")]
    figures = {r: [s.anchor for s in reviews.review(r).sections if s.figure] for r in reviews.REVIEWS}
    assert figures["infrastructure"] == ["alerts-timeline", "slo-burn", "panels"]
    assert reviews.review("drift").anchors()[-1] == "feature-<name>"
    assert reviews.review("infrastructure").anchors()[-2:] == ("panel-<name>", "latency-<model>")


def test_navigation_links_come_from_the_catalogue():
    assert display.nav_links("drift", "m", ["m"]) == [
        ("week page", "../index.html"), ("performance review", "02-performance-review.html"),
        ("infrastructure (service)", "../service/03-infrastructure-review.html")]
    assert display.nav_links("infrastructure", "", ["a"]) == [
        ("week page", "../index.html"), ("a: drift", "../a/01-drift-review.html"),
        ("a: performance", "../a/02-performance-review.html")]


def test_lookups():
    assert reviews.by_notebook("02-performance-review.html").name == "performance"
    assert reviews.by_notebook("other") is None
    with pytest.raises(ValueError, match="choose one of: drift, performance, infrastructure"):
        reviews.review("latency")
