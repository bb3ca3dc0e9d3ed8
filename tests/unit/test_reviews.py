"""The catalogue of reviews is the one source of sections, notebooks and titles (display derives from it)."""

import pytest

from workbench import display, reviews


def test_display_names_derive_from_the_catalogue():
    assert list(display.NOTEBOOKS) == list(reviews.REVIEWS) == ["drift", "performance", "infrastructure"]
    for name, r in reviews.REVIEWS.items():
        assert display.SECTIONS[name] == [(s.anchor, s.title) for s in r.sections]
        assert display.NOTEBOOKS[name] == r.notebook and display.TITLES[name] == r.title
        assert display.ITEM_ANCHORS[name] == r.item_anchors
    assert display.CLASSIFIER_ONLY == ("ab-test", "estimate", "class-counts")


def test_sections_by_model_type():
    perf = reviews.review("performance")
    cls = [s.anchor for s in perf.sections_for("classification")]
    reg = [s.anchor for s in perf.sections_for("regression")]
    assert "ab-test" in cls and "versions" not in cls and "estimate" in cls
    assert "versions" in reg and not set(display.CLASSIFIER_ONLY) & set(reg)
    assert [s.anchor for s in perf.sections_for("")] == cls  # the default model type
    assert display.sections_for("performance", "regression") == [(s.anchor, s.title) for s in perf.sections_for("regression")]
    figures = {r: [s.anchor for s in reviews.review(r).sections if s.figure] for r in reviews.REVIEWS}
    assert figures["infrastructure"] == ["alerts-timeline", "slo-burn", "panels"]


def test_lookups():
    assert reviews.by_notebook("02-performance-review.html").name == "performance"
    assert reviews.by_notebook("other") is None
    with pytest.raises(ValueError, match="choose one of: drift, performance, infrastructure"):
        reviews.review("latency")
