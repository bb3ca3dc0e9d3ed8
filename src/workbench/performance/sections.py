"""The performance review's sections: what each computes, when it is left out (and why), and how it shows.

Notebook 02 is a narrative of calls: `review = sections.compute(ctx)` runs every step before the
verdict banner (which needs all findings), then one `review.show(name)` per section, in page order.

- `STEPS` are the computations, in the order they run (findings, problems and skipped sections are
  recorded in that order). Each says what it needs: the review itself, a classifier, a column
  (`variant`, `probability`) or a source (`prometheus`, `mlflow`). A step whose column or source this
  run lacks is left out with one line saying why (`core.skip_without`); one that fails is named under
  "not computed" (`ReviewContext.attempt`).
- `SHOW` draws a section from the computed steps, heading included where it depends on the model
  type (a regression review has "Model versions", not "Model versions and A/B test").

A new section is one `Step` (or more), one function in `SHOW`, and one `review.show(name)` cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from workbench.context import ReviewContext
    from workbench.performance.core import PerformanceReview

NEEDS = ("variant", "probability", "prometheus", "mlflow")  # what core.skip_without can check


@dataclass(frozen=True)
class Step:
    """One computation of the review: `run(ctx, perf)` under the section name `name` (as the report's
    "not computed" and "not shown" lines name it)."""

    name: str
    run: Callable[["ReviewContext", "PerformanceReview | None"], Any]
    needs: tuple[str, ...] = ()      # columns or sources (NEEDS): without one, left out with a line saying why
    needs_review: bool = True        # only when the performance review itself was computed
    classifier: bool = False         # only for a classification model
    when: Callable[["ReviewContext"], bool] | None = None  # a param that turns the step off (no line)
    quiet: bool = False              # a need missing leaves it out without a line (an input, not a section)
    uses: str = ""                   # an earlier step whose result `run` gets third; without that result it does not run

    def applies(self, ctx: "ReviewContext", perf: "PerformanceReview | None") -> bool:
        """Whether the step runs for this model and run; records the skip line where one is due."""
        from workbench.performance.core import skip_without

        if (self.needs_review and perf is None) or (self.classifier and ctx.model.type != "classification"):
            return False
        if self.when is not None and not self.when(ctx):
            return False
        if self.quiet:
            return all(ctx.has(n) for n in self.needs if n in ("prometheus", "mlflow"))
        return not skip_without(ctx, self.name, **{n: True for n in self.needs})


def _delay(ctx, perf):
    from workbench.performance import labels

    return labels.delay_hours(perf.window_predictions)


def _ab(ctx, perf):
    from workbench.performance import abtest

    pp = ctx.params.performance
    return abtest.compare_variants(perf.window_predictions, pp.bootstrap_resamples, pp.ab_min_effect)


def _conversions(ctx, perf):
    from workbench.performance import abtest

    pp = ctx.params.performance
    return abtest.conversions(ctx, pp.ab_experiment, pp.ab_min_effect)


def _calibration(ctx, perf):
    from workbench.performance.cells import calibration_cells
    from workbench.performance.core import calibration

    return calibration(perf.window_predictions) if perf.cells is None else calibration_cells(perf.cells)


def _cbpe(ctx, perf):
    from workbench.performance import cbpe

    tolerance = ctx.params.performance.cbpe_gap_tolerance
    if perf.cells is not None:  # from the cells the engine counted: no rows read
        return cbpe.run_cells(perf.cells, perf.history_cells, tolerance=tolerance)
    return cbpe.run(perf.window_predictions, perf.history, tolerance=tolerance)


def _class_counts(ctx, perf):
    from workbench.performance.core import prometheus_class_counts

    return prometheus_class_counts(ctx)


def _segments(ctx, perf):
    from workbench.performance import segments

    return segments.review(ctx)


def _drift_join(ctx, perf, weak):
    """The drift review's drifted features (drift.review: the same tests, so the same features as its
    report and the week page) joined to the weak-segment search: which one, if any, carries the drop."""
    from workbench import drift
    from workbench.performance import drift_join

    return drift_join.join(weak, drift_join.drifted_from_findings(drift.review(ctx).findings))


def _reference(ctx, perf):
    return ctx.registry.reference(ctx.model.name, ctx.serving_version())


def _importance(ctx, perf):
    return ctx.registry.feature_importances(ctx.model.name, ctx.serving_version())


def _log(ctx, perf):
    from workbench.performance.core import log_results

    return log_results(ctx, perf)


def _latency(ctx, perf):
    from workbench.infrastructure import serving_latency

    return serving_latency(ctx)


STEPS: tuple[Step, ...] = (
    Step("label delay", _delay),
    Step("weak segments", _segments, when=lambda ctx: ctx.params.performance.segments.enabled),
    Step("drift joined to performance", _drift_join, uses="weak segments"),
    Step("A/B comparison", _ab, ("variant",), classifier=True),
    Step("A/B conversions", _conversions, ("variant", "prometheus"), classifier=True),
    Step("calibration", _calibration, ("probability",), classifier=True),
    Step("CBPE", _cbpe, ("probability",), classifier=True),
    Step("predictions by class", _class_counts, ("prometheus",), classifier=True),
    Step("reference data", _reference, ("mlflow",), needs_review=False, classifier=True, quiet=True),
    Step("feature importance", _importance, ("mlflow",), needs_review=False),
    Step("MLflow logging", _log, ("mlflow",), when=lambda ctx: ctx.params.performance.log_to_mlflow),
    Step("serving latency", _latency, ("prometheus",), needs_review=False),
)


@dataclass
class PerformanceSections:
    """The computed review (`perf`, None if it could not be computed) and every step's result by name
    (None where it was left out or failed)."""

    ctx: "ReviewContext"
    perf: "PerformanceReview | None"
    results: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, step: str) -> Any:
        return self.results.get(step)

    @property
    def classifier(self) -> bool:
        return self.ctx.model.type == "classification"

    def show(self, section: str) -> None:
        """Display one section of the report (see SHOW for the names, in page order)."""
        try:
            fn = SHOW[section]
        except KeyError:
            raise ValueError(f"unknown performance section {section!r}; choose one of: {', '.join(SHOW)}") from None
        fn(self)


def compute(ctx: "ReviewContext", steps: tuple[Step, ...] = STEPS) -> PerformanceSections:
    """The performance review and every step that applies to this model and run, in order."""
    from workbench.performance.core import review

    out = PerformanceSections(ctx, ctx.attempt("performance", review, ctx))
    for step in steps:
        used = (out[step.uses],) if step.uses else ()
        if step.uses and used[0] is None:
            continue
        if step.applies(ctx, out.perf):
            out.results[step.name] = ctx.attempt(step.name, step.run, ctx, out.perf, *used)
    return out


# --- showing ----------------------------------------------------------------------------------------

def _display(*objs: Any) -> None:
    from IPython.display import display

    for o in objs:
        display(o)


def _html(text: str) -> Any:
    from IPython.display import HTML

    return HTML(text)


def _snippet(name: str, *args: object) -> Any:
    """A snippet of templates/snippets.html (values escaped by the template engine), for display."""
    from workbench.pages import render_snippet

    return _html(render_snippet(name, *args))


def _table(frame, **kw) -> Any:
    from workbench import tables
    from workbench.performance import columns

    kw.setdefault("kinds", columns.KINDS)
    kw.setdefault("intervals", columns.INTERVALS)
    return tables.table(frame, **kw)


# why a headline row has no baseline: the MLflow run (or the reference) logged no value for that metric
NO_BASELINE = "the baseline has no value for this metric"


def _named_metrics(frame):
    """The headline table with each metric as the findings name it ('ROC AUC', not 'roc_auc')."""
    from workbench import tables

    return frame.assign(metric=frame["metric"].map(tables.metric_name)) if "metric" in frame else frame


def show_headline(r: PerformanceSections) -> None:
    from workbench import tables
    from workbench.performance import explain

    perf, ctx = r.perf, r.ctx
    if perf is None:
        return
    s = perf.summary
    positive = explain.positive_name(ctx.model)
    _display(_snippet("labelled_line", tables.count(s.n_predictions), tables.count(s.n_labelled),
                      tables.percent(s.label_coverage), str(perf.baseline_source)),
             explain.definitions_html(ctx.model.type, positive),
             _table(_named_metrics(perf.to_frame()), missing={c: NO_BASELINE for c in
                                                              ("training baseline", "change", "relative change")}),
             tables.key_values(perf.thresholds(),
                               caption="thresholds the findings apply (params/weekly.yaml, performance:)"))
    if r.classifier:
        _display(_table(explain.positive_class(perf.summary, positive),
                        caption="the guide's weighted averages and the positive class side by side"))


def show_labels(r: PerformanceSections) -> None:
    import pandas as pd

    from workbench import display as show
    from workbench.performance import explain, labels, plots

    perf, delays = r.perf, r["label delay"]
    if perf is None:
        return
    # the window's coverage, the numbers the label-coverage finding quotes (its link lands here)
    cov = perf.summary
    _display(_table(pd.DataFrame({"predictions": [cov.n_predictions], "labelled": [cov.n_labelled],
                                  "label_coverage": [cov.label_coverage]})))
    if r.classifier:
        rates = explain.base_rate(perf.window_predictions, r["reference data"], perf.history,
                                  shift=perf.base_rate_tolerance)
        _display(_snippet("base_rate", explain.base_rate_sentence(rates)), _table(rates))
    plots.label_coverage(labels.coverage_by_day(perf.history, perf.window_predictions), delays)
    _display(show.problem_note(r.ctx, "label delay"))  # no outcome time: coverage only, delay and maturity not computed
    if delays is not None:
        _display(_table(labels.delay_summary(perf.window_predictions)),
                 _table(labels.maturity(perf.window_predictions, pd.Timestamp.now(tz="UTC"), 10)))


def show_trend(r: PerformanceSections) -> None:
    if r.perf is not None:
        r.perf.plot()


def show_weak_segments(r: PerformanceSections) -> None:
    from workbench import display as show
    from workbench.performance import segments

    _display(show.problem_note(r.ctx, "weak segments"))
    seg = r["weak segments"]
    if seg is not None:
        for note in seg.notes:  # how the search was limited: said, not an error
            _display(_snippet("paragraph", f"{note}."))
        _display(_table(seg.segments_frame(), kinds=segments.KINDS, intervals=segments.INTERVALS,
                        empty="no weak segment"))
        seg.plot()


def show_drift_join(r: PerformanceSections) -> None:
    """Inside the weak segments: each drifted feature, the drop its shift explains and the drop inside
    its bins, under the verdict the banner's "why" line quotes (its numbers are shown here)."""
    from workbench import display as show
    from workbench.performance import drift_join

    _display(show.problem_note(r.ctx, "drift joined to performance"))
    joined = r["drift joined to performance"]
    if joined is None:
        return
    _display(show.section_heading(drift_join.EVIDENCE_ANCHOR, "Performance by drifted feature",
                                  "Each feature the drift review found drifted: how much of the drop its shift "
                                  "explains (rows moved between its bins) and how much the bins themselves got "
                                  "worse, against the reference window.", level=3),
             _snippet("paragraph", f"{joined.verdict}."),
             _table(joined.to_frame(), kinds=drift_join.KINDS, empty="no drifted feature"))
    if len(joined.to_frame()):
        joined.plot()


def show_versions(r: PerformanceSections) -> None:
    from workbench import display as show
    from workbench.performance import columns, explain

    if r.classifier:
        _display(show.section_heading("ab-test", "Model versions and A/B test",
            "Predictions per version and variant, the metrics of each, then the test: accuracy is compared with a "
            "two-proportion z-test, ROC AUC with a bootstrap of the difference; each verdict gives the p-value, the 95% CI "
            "of the difference (B − A), the sample sizes and the smallest difference the test could detect with 80% power."))
    else:
        _display(show.section_heading("versions", "Model versions", "Predictions and metrics per model version in the window."))
    perf, ab, conversions = r.perf, r["A/B comparison"], r["A/B conversions"]
    if perf is None:
        return
    _display(_table(explain.variants(perf.window_predictions)), _table(perf.by_version),
             show.skipped_note(r.ctx, "A/B comparison", "A/B conversions"))
    if ab is not None:
        _display(_table(_named_metrics(ab.to_frame()), kinds=columns.AB_KINDS))
    if conversions is not None:
        _display(_html("<p><code>ab_test_conversions</code> from Prometheus per variant, against the positive "
                       "predictions of each variant:</p>"), _table(conversions, kinds=columns.CONVERSION_KINDS))


def show_errors(r: PerformanceSections) -> None:
    from workbench import display as show
    from workbench.performance import explain, plots

    if r.classifier:
        _display(show.section_heading("errors", "Calibration and errors in detail",
            "The reliability curve (do predicted probabilities match observed rates?) with the expected calibration error, "
            "the confusion matrix and the metrics of each class (class 1 is the positive class, class 0 the negative one)."))
    else:
        _display(show.section_heading("errors", "Residuals", "Actual minus predicted, in the target's unit."))
    perf = r.perf
    if perf is None:
        return
    if not r.classifier:
        plots.residuals(perf.window_predictions)
        return
    _display(show.skipped_note(r.ctx, "calibration"))
    calibrated = r["calibration"]
    if calibrated is not None and len(calibrated[0]):
        plots.reliability(*calibrated, positive=explain.positive_name(r.ctx.model))
    plots.confusion(perf.confusion_matrix())
    _display(_table(_named_metrics(perf.summary.details())))


def show_estimate(r: PerformanceSections) -> None:
    from workbench import display as show
    from workbench.performance import cbpe, plots

    if not r.classifier:
        return
    _display(show.section_heading("estimate", "Estimated performance before labels arrive (CBPE)",
        "The model's probabilities, calibrated on the labelled history of the same version, give the expected metrics "
        "of days without outcomes. Where outcomes exist the realised value is shown next to it: a gap means the relation "
        "between inputs and outcomes changed (concept drift), which no label-free estimate can see."),
        show.skipped_note(r.ctx, "CBPE"))
    result = r["CBPE"]
    est = result.to_frame() if result is not None else None
    if est is not None and est.empty:
        _display(_html("<p>No estimate: too little labelled history to calibrate on.</p>"))
    elif est is not None:
        plots.estimated_vs_realised(est, "accuracy")
        _display(_table(cbpe.estimate_table(est)),
                 _table(cbpe.gap_table(est, "accuracy"), empty="no day with outcomes yet",
                        caption=cbpe.gap_caption(est, "accuracy", r.ctx.params.performance.cbpe_gap_tolerance)))


def show_class_counts(r: PerformanceSections) -> None:
    from workbench import display as show
    from workbench.performance import columns

    if not r.classifier:
        _display(_html("<p><i>The A/B test on accuracy, calibration, the CBPE estimate and predictions by class are "
                       "classifier sections: they are not part of a regression review.</i></p>"))
        return
    _display(show.section_heading("class-counts", "Predictions by class",
        "The DB's counts next to Prometheus' model_predictions_by_class; a difference beyond the tolerance means "
        "prediction logging is broken."), show.skipped_note(r.ctx, "predictions by class"))
    counts = r["predictions by class"]
    if counts is not None:
        _display(_table(counts.to_frame(), kinds=columns.CLASS_COUNT_KINDS))


def show_serving_latency(r: PerformanceSections) -> None:
    from workbench import display as show
    from workbench.infrastructure import latency_table

    _display(show.section_heading("serving-latency", "Serving latency",
        "p95 of prediction_duration_seconds for this model over the week and the week before (Prometheus), against "
        "infrastructure.p95_latency_alert_seconds of params/weekly.yaml (the guide's 1 s)."),
        show.skipped_note(r.ctx, "serving latency"))
    latency = r["serving latency"]
    if latency is not None:
        _display(latency_table(latency, empty="Prometheus has no prediction_duration_seconds for this model this week"))


def show_feature_importance(r: PerformanceSections) -> None:
    from workbench import display as show

    imp = r["feature importance"]
    _display(_table(imp.to_frame()) if imp is not None else show.skipped_note(r.ctx, "feature importance"))


def show_about(r: PerformanceSections) -> None:
    from workbench import display as show
    from workbench import tables
    from workbench.performance.core import mlflow_note, warning_metrics

    ctx = r.ctx
    _display(show.about(ctx, "performance"), _html(mlflow_note(ctx, r["MLflow logging"])),
             show.skipped_note(ctx, "MLflow logging"),
             _snippet("paragraph", f"Metrics: {', '.join(map(tables.metric_name, warning_metrics(ctx.model.type)))}; at least "
                                   f"{ctx.params.performance.min_samples} labelled predictions."))


# the sections in page order: the notebook calls review.show(name) for each
SHOW: dict[str, Callable[[PerformanceSections], None]] = {
    "headline": show_headline,
    "labels": show_labels,
    "trend": show_trend,
    "weak-segments": show_weak_segments,
    "drift-join": show_drift_join,      # inside the weak segments: performance by drifted feature
    "versions": show_versions,          # "ab-test" for a classifier, "versions" otherwise
    "errors": show_errors,
    "estimate": show_estimate,
    "class-counts": show_class_counts,  # for a regression model: one line naming the classifier sections
    "serving-latency": show_serving_latency,
    "feature-importance": show_feature_importance,
    "about": show_about,
}
# the anchors (workbench.reviews) each section's heading can carry, for the check that none is lost
ANCHORS: dict[str, tuple[str, ...]] = {"versions": ("ab-test", "versions"), "errors": ("errors",),
                                       "estimate": ("estimate",), "class-counts": ("class-counts",),
                                       "serving-latency": ("serving-latency",)}
