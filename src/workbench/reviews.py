"""The catalogue of reviews: what each review is (name, notebook, title, sections in order, which
sections declare a figure, which exist only for some model types, and the per-item anchors).

One place for what was spread over display, findings and the runner: the contents line and
`check_review` (workbench.display), and the published-artifact checker (workbench.artifact) read it.
The notebooks carry each section's anchor (`<a id="...">` or `display.section_heading`); a unit test
checks that they do.
"""

from __future__ import annotations

from dataclasses import dataclass

CLASSIFICATION = "classification"


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
    """One review: its name, notebook (without .ipynb), title, sections in page order, and the prefixes
    of the anchors made per item (one per feature, panel or model) inside its sections."""

    name: str
    notebook: str
    title: str
    sections: tuple[Section, ...]
    item_anchors: tuple[str, ...] = ()
    per_model: bool = True  # False: one report for the whole service

    def sections_for(self, model_type: str = "") -> list[Section]:
        """The sections a report of this review has for a model of `model_type`, in page order (an
        empty type is taken as a classifier, the default model type)."""
        return [s for s in self.sections if s.applies_to(model_type or CLASSIFICATION)]


_CLS = (CLASSIFICATION,)
_NOT_CLS = ("regression",)

REVIEWS: dict[str, Review] = {r.name: r for r in (
    Review("drift", "01-drift-review", "Drift review", (
        Section("summary", "Summary"),
        Section("drifted-features", "Drifted features", figure=True),   # the distributions per feature
        Section("data-quality", "Data quality", figure=True),           # predictions per hour
        Section("drift-over-time", "Drift over time", figure=True),     # the feature x day heatmap
        Section("multivariate-drift", "Multivariate drift", figure=True),  # reconstruction error and AUC per day
        Section("evidently", "Evidently side by side"),
        Section("about", "About this report"),
    ), item_anchors=("feature-",)),
    Review("performance", "02-performance-review", "Performance review", (
        Section("headline", "Headline metrics"),
        Section("labels", "Labels", figure=True),                       # coverage per day, label delay
        Section("trend", "Trend", figure=True),                         # daily metrics per version
        Section("ab-test", "Model versions and A/B test", model_types=_CLS),
        Section("versions", "Model versions", model_types=_NOT_CLS),
        Section("errors", "Errors in detail", figure=True),             # calibration + confusion, or residuals
        Section("estimate", "Estimated performance (CBPE)", figure=True, model_types=_CLS),
        Section("class-counts", "Predictions by class", model_types=_CLS),
        Section("serving-latency", "Serving latency"),
        Section("about", "About this report"),
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
    ), item_anchors=("panel-", "latency-"), per_model=False),
)}


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
