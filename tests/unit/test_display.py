"""The verdict banner, navigation, 'About this report' and the notebooks' final check."""

from pathlib import Path

import nbformat
import pytest

from workbench import display, levels, reviews
from workbench.findings import Finding

ROOT = Path(__file__).resolve().parents[2]


def test_banner_shows_level_as_word_and_colour_and_links_each_finding():
    f = [Finding("warning", "tenure", "tenure drifted: KS p < 0.001, D = 0.12", "feature", "feature-tenure", 0.12),
         Finding("alert", "accuracy", "accuracy 0.725 [0.722, 0.728] is below 0.75", "metric", "headline", 0.725)]
    out = display.banner_html("performance", "churn-predictor", "2026-W47", "alert", f, [],
                              display.nav_links("performance", "churn-predictor", ["churn-predictor"]))
    assert "ALERT" in out and levels.look("alert").colour in out
    assert out.index("accuracy 0.725") < out.index("tenure drifted")  # worst first
    assert 'href="#headline"' in out and 'href="#feature-tenure"' in out
    assert 'href="../index.html"' in out and 'href="01-drift-review.html"' in out
    assert 'href="../service/03-infrastructure-review.html"' in out
    assert "1 alert, 1 warning" in out


def test_banner_escapes_hostile_text():
    bad = "</script><script>alert(1)</script>"
    f = [Finding("alert", bad, f"category {bad} is new", "feature", "feature-x")]
    out = display.banner_html("drift", bad, "2026-W47", "alert", f, [{"section": bad, "problem": "<img src=x onerror=alert(1)>"}], [])
    assert "<script>" not in out and "<img" not in out


def test_infrastructure_links_every_model_review():
    links = dict(display.nav_links("infrastructure", "", ["a", "b"]))
    assert links["b: performance"] == "../b/02-performance-review.html"
    assert links["a: drift"] == "../a/01-drift-review.html"


@pytest.mark.parametrize("url, kind, host, db", [
    ("postgresql+psycopg://u:Sl4sh/S3cr3t@db.example:5432/preds", "PostgreSQL", "db.example:5432", "preds"),
    ("sqlite:////home/someone/work/data/demo/predictions.db", "SQLite", "local file", "predictions.db"),
    ("http://127.0.0.1:9090", "HTTP", "127.0.0.1:9090", "—"),
])
def test_describe_url_hides_password_and_local_paths(url, kind, host, db):
    d = display.describe_url(url)
    assert (d["kind"], d["host"], d["database"]) == (kind, host, db)
    assert "S3cr3t" not in str(d) and "/home" not in str(d)


class _Ctx:
    def __init__(self, findings, problems=()):
        self.findings, self.problems = list(findings), list(problems)

    @property
    def level(self):
        from workbench.findings import level_of
        return level_of(self.findings, bool(self.problems))


def test_check_review_fails_on_a_finding_linking_nowhere():
    ok = _Ctx([Finding("alert", "accuracy", "accuracy 0.7 < 0.75", "metric", "headline")])
    assert "level alert" in display.check_review(ok, "performance")
    assert display.check_review(_Ctx([Finding("warning", "x", "x drifted", "feature", "feature-x")]), "drift")
    with pytest.raises(AssertionError, match="#nowhere"):
        display.check_review(_Ctx([Finding("alert", "accuracy", "s", "metric", "nowhere")]), "performance")


@pytest.mark.parametrize("review, notebook", [(r.name, r.notebook) for r in reviews.REVIEWS.values()])
def test_notebooks_carry_every_section_anchor_and_end_with_the_check(review, notebook):
    nb = nbformat.read(ROOT / "notebooks" / f"{notebook}.ipynb", 4)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    from workbench.performance import sections

    # a section drawn by the package (performance.sections) carries its heading there: the notebook shows it
    shown = {a for name, anchors in sections.ANCHORS.items() if f'.show("{name}")' in source for a in anchors}
    for anchor in (s.anchor for s in reviews.review(review).sections):
        assert f'<a id="{anchor}"></a>' in markdown or f'section_heading("{anchor}"' in source or anchor in shown, \
            f"{notebook}: no section #{anchor}"
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert f'check_review(ctx, "{review}")' in code[-1]
    banner = next(i for i, s in enumerate(code) if "verdict_banner" in s)
    assert banner <= 2, "the verdict banner must come right after the computing cells"
    assert not any("NBVAL_CHECK_OUTPUT" in s for s in code)


def test_regression_performance_report_lists_no_classifier_sections():
    anchors = [a for a, _ in display.sections_for("performance", "regression")]
    assert "ab-test" not in anchors and "estimate" not in anchors and "headline" in anchors
    out = display.banner_html("performance", "revenue-predictor", "2026-W47", "ok", [], [], [], "regression")
    assert "#ab-test" not in out and "#headline" in out


def test_about_says_not_configured_once_without_a_dangling_host():
    """'Prometheus: not configured · host —' read as a half-filled form: a source not configured is one
    phrase; a configured one keeps its kind and host."""
    from types import SimpleNamespace

    from workbench import artifact, config

    window = config.iso_week("2026-W47")
    ctx = SimpleNamespace(window=window, model=SimpleNamespace(name="m", type="classification"),
                          connections=SimpleNamespace(demo=False, prometheus_url=None, mlflow_uri="",
                                                      database_url="postgresql://u:p@db:5432/preds"))
    text = artifact.read_page(display.about(ctx, "drift").to_html()).all_text()
    flat = " ".join(text.split())
    assert "Prometheus not configured prediction DB" in flat and flat.endswith("MLflow not configured")
    assert "host —" not in text and "database —" not in text and text.count("not configured") == 2
    assert "PostgreSQL · host db:5432 · database preds" in text
