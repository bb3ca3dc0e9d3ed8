"""The catalogue of reviews: what each review is, in one place.

Per review: its name, notebook, title and order (the order of `REVIEWS`: the week page's columns, the
index, notifications), the sources it needs (a review missing one is skipped, not failed) and those
it uses when they are configured, the params files it reads, whether it runs once for the whole
service instead of once per model, its sections in page order (which declare a figure, which exist
only for some model types), the per-item anchors, and its headline numbers with their formats.

The runner (workbench.report), `workbench check`, the week page and the index (workbench.weekpage),
notifications (workbench.notify), the verdict banner (workbench.display), the published-artifact
checker (workbench.artifact), the scheduler pairs and the Airflow DAG (workbench.scheduling) read it;
nothing else names a review's sections, sources or headline numbers. A new headline number is one
`Headline(...)` entry below (the review records it under that key in its `headline_numbers`).
The notebooks carry each section's anchor (`<a id="...">` or `display.section_heading`); a unit test
checks that they do.

This module imports nothing from workbench: everything may import it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CLASSIFICATION = "classification"
REGRESSION = "regression"
# the row (and folder: reports/<period>/service/) of the reviews that run once for the whole service
SERVICE = "service"

# how a headline number is written for people (workbench.weekpage.fmt_value)
RATIO = "ratio"    # a share: a percentage with 2 decimals
COUNT = "count"    # an integer with thousands separators
NUMBER = "number"  # a measured value, significant digits (workbench.findings.num)
FORMATS = (RATIO, COUNT, NUMBER)


@dataclass(frozen=True)
class Headline:
    """One headline number a review records in its findings file's `headline` (under `key`): its label,
    how it is formatted (`kind`: one of FORMATS), whether the index draws it over the periods (`spark`),
    whether it is a metric compared with its baseline (`metric`: the performance review warns about
    it, draws it in the trend, keeps it in the history), and the model types it exists for (empty:
    every type)."""

    key: str
    label: str
    kind: str = NUMBER
    spark: bool = False
    metric: bool = False
    model_types: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in FORMATS:
            raise ValueError(f"headline {self.key!r}: format {self.kind!r} is not one of: {', '.join(FORMATS)}")

    def applies_to(self, model_type: str) -> bool:
        return not self.model_types or model_type in self.model_types


@dataclass(frozen=True)
class Section:
    """One section of a report: its anchor and title, whether it declares a figure (the published
    page must then carry one, unless the section says it was not computed), and the model types it
    exists for (empty: every type)."""

    anchor: str
    title: str
    figure: bool = False
    model_types: tuple[str, ...] = ()

    def applies_to(self, model_type: str) -> bool:
        """True when a report for a model of `model_type` has this section."""
        return not self.model_types or model_type in self.model_types


@dataclass(frozen=True)
class Review:
    """One review: its name, notebook (without .ipynb), title, sections in page order, the prefixes
    of the anchors made per item (one per feature, panel or model) inside its sections, the sources it
    needs ('database', 'prometheus', 'mlflow') and those it uses when configured, the params files it
    reads (config.PARAMS_FILES kinds besides weekly), and its headline numbers."""

    name: str
    notebook: str
    title: str
    sections: tuple[Section, ...]
    item_anchors: tuple[str, ...] = ()
    per_model: bool = True  # False: one report for the whole service (its model is SERVICE)
    needs: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()  # optional sources: asked when configured (MLflow: reference, baselines, logging)
    params: tuple[str, ...] = ()
    headline: tuple[Headline, ...] = ()

    def sections_for(self, model_type: str = "") -> list[Section]:
        """The sections a report of this review has for a model of `model_type`, in page order (an
        empty type is taken as a classifier, the default model type)."""
        return [s for s in self.sections if s.applies_to(model_type or CLASSIFICATION)]

    def anchors(self) -> tuple[str, ...]:
        """Every anchor a finding of this review may link to: the sections', then the per-item prefixes
        written as 'feature-<name>'."""
        items = tuple(f"{p}<{_ITEM_WORD.get(p, 'name')}>" for p in self.item_anchors)
        return tuple(s.anchor for s in self.sections) + items

    def headline_for(self, model_type: str = "") -> tuple[Headline, ...]:
        """The headline numbers a report of this review has for a model of `model_type` (empty: all)."""
        return tuple(h for h in self.headline if not model_type or h.applies_to(model_type))


_CLS = (CLASSIFICATION,)
_NOT_CLS = (REGRESSION,)
_ITEM_WORD = {"latency-": "model"}


def _metrics(kind: str, *names: str) -> tuple[Headline, ...]:
    return tuple(Headline(n, n.replace("_", " "), NUMBER, spark=True, metric=True, model_types=(kind,)) for n in names)


REVIEWS: dict[str, Review] = {r.name: r for r in (
    Review("drift", "01-drift-review", "Drift review", (
        Section("summary", "Summary"),
        Section("drifted-features", "Drifted features", figure=True),   # the distributions per feature
        Section("data-quality", "Data quality", figure=True),           # predictions per hour
        Section("drift-over-time", "Drift over time", figure=True),     # the feature x day heatmap
        Section("multivariate-drift", "Multivariate drift", figure=True),  # reconstruction error and AUC per day
        Section("evidently", "Evidently side by side"),
        Section("about", "About this report"),
    ), item_anchors=("feature-",), needs=("database",), uses=("mlflow",), params=("monitoring",), headline=(
        Headline("drift_share", "drift share", NUMBER, spark=True),
        Headline("n_drifted", "drifted features", COUNT),
    )),
    Review("performance", "02-performance-review", "Performance review", (
        Section("headline", "Headline metrics"),
        Section("labels", "Labels", figure=True),                       # coverage per day, label delay
        Section("trend", "Trend", figure=True),                         # daily metrics per version
        Section("weak-segments", "Weak segments", figure=True),         # where the metric dropped (segments.py)
        Section("ab-test", "Model versions and A/B test", model_types=_CLS),
        Section("versions", "Model versions", model_types=_NOT_CLS),
        Section("errors", "Errors in detail", figure=True),             # calibration + confusion, or residuals
        Section("estimate", "Estimated performance (CBPE)", figure=True, model_types=_CLS),
        Section("class-counts", "Predictions by class", model_types=_CLS),
        Section("serving-latency", "Serving latency"),
        Section("about", "About this report"),
    ), needs=("database",), uses=("mlflow", "prometheus"), headline=(  # Prometheus: class counts, latency
        *_metrics(CLASSIFICATION, "accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss", "brier"),
        *_metrics(REGRESSION, "mae", "rmse", "mape", "r2"),
        Headline("label_coverage", "label coverage", RATIO, spark=True),
    )),
    Review("infrastructure", "03-infrastructure-review", "Infrastructure review", (
        Section("slos", "SLOs"),
        Section("alerts", "Alerts"),
        Section("outages", "Outages"),
        Section("headline-numbers", "Headline numbers"),
        Section("latency", "Serving latency per model"),
        Section("alerts-timeline", "Alerts timeline", figure=True),
        Section("slo-burn", "SLO burn", figure=True),
        Section("panels", "Panels", figure=True),
        Section("about", "About this report"),
    ), item_anchors=("panel-", "latency-"), per_model=False, needs=("prometheus",),
       params=("queries", "slos", "alerts"), headline=(
        # the first five are rows of the headline-numbers table (params/queries.yaml `summary:`)
        Headline("availability_api", "availability api", RATIO, spark=True),
        Headline("requests_total", "requests total", NUMBER),
        Headline("error_ratio", "error ratio", RATIO, spark=True),
        Headline("p95_latency_api", "p95 latency api", NUMBER),
        Headline("availability_mlflow", "availability mlflow", RATIO),
        Headline("pages", "pages", COUNT, spark=True),
        Headline("alert_episodes", "alert episodes", COUNT, spark=True),
        Headline("outages", "outages", COUNT, spark=True),
        Headline("slos_missed", "SLOs missed", COUNT),
    )),
)}
# every headline number by its key (a key belongs to one review: a unit test checks it)
HEADLINES: dict[str, Headline] = {h.key: h for r in REVIEWS.values() for h in r.headline}


def review_name(notebook: str) -> str:
    """The review a notebook runs: '01-drift-review' -> 'drift' (a leading number and '-review' dropped)."""
    name = re.sub(r"^\d+[-_]", "", notebook.rsplit("/", 1)[-1].removesuffix(".ipynb"))
    return re.sub(r"[-_]review$", "", name)


def order(name: str) -> int:
    """A review's place on the pages (its place in REVIEWS; unknown reviews last)."""
    return list(REVIEWS).index(name) if name in REVIEWS else len(REVIEWS)


def per_service(name: str) -> bool:
    """True for a review that runs once for the whole service (its model is SERVICE), not per model."""
    return name in REVIEWS and not REVIEWS[name].per_model


def needs(name: str) -> tuple[str, ...]:
    """The sources review `name` cannot run without (none for a review not in the catalogue)."""
    return REVIEWS[name].needs if name in REVIEWS else ()


def uses(name: str, source: str) -> bool:
    """True when review `name` needs or asks `source` ('database', 'prometheus', 'mlflow')."""
    return name in REVIEWS and source in REVIEWS[name].needs + REVIEWS[name].uses


def metrics(model_type: str) -> tuple[str, ...]:
    """The metrics a performance review of a `model_type` model reports as headline and compares with
    its baseline (the Headline entries with `metric=True`)."""
    return tuple(h.key for h in REVIEWS["performance"].headline if h.metric and h.applies_to(model_type))


def spark_keys(name: str) -> tuple[str, ...]:
    """The headline numbers of review `name` the index draws over the periods, in catalogue order."""
    return tuple(h.key for h in REVIEWS[name].headline if h.spark) if name in REVIEWS else ()


def headline_format(key: str) -> str:
    """How the headline number `key` is written (one of FORMATS; NUMBER for a key not in the catalogue)."""
    h = HEADLINES.get(key)
    return h.kind if h is not None else NUMBER


def review(name: str) -> Review:
    """The review called `name`; a ValueError lists the valid names."""
    try:
        return REVIEWS[name]
    except KeyError:
        raise ValueError(f"unknown review {name!r}; choose one of: {', '.join(REVIEWS)}") from None


def by_notebook(notebook: str) -> Review | None:
    """The review a notebook runs ('02-performance-review' or its file name), or None."""
    stem = notebook.rsplit("/", 1)[-1].removesuffix(".ipynb").removesuffix(".html")
    return next((r for r in REVIEWS.values() if r.notebook == stem), None)
