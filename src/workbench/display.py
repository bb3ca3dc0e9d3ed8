"""What a report shows first and last: the verdict banner, the navigation, and "About this report".

Every review notebook computes its results in its first cells, then calls `verdict_banner(ctx, review)`:
the level as colour *and* word, the findings as sentences with their numbers (each linking to the
section that shows it), links to the week page and the sibling reviews, and a table of contents.
The sources move to `about(ctx)` at the end: database kind, host and database name, never a
password or a path of the machine that ran the report. `check_review` is the notebook's last cell:
it fails the run (and `pytest --nbval-lax`) when the review recorded no level or a finding points at
a section the report does not have.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

from workbench import levels, pages, reviews
from workbench.findings import LEVELS, Finding
from workbench.reviews import SERVICE

MAX_FINDINGS = 8

_ID = re.compile(r"[^A-Za-z0-9_.:-]+")


def anchor_id(text: str) -> str:
    """An HTML id made from a name (feature or panel): unsafe characters become '-'."""
    return _ID.sub("-", str(text)).strip("-") or "item"


def _level_of(ctx: Any) -> str:
    level = getattr(ctx, "level", "not computed")
    return level if level in LEVELS else "not computed"


def nav_links(review: str, model: str, models: Iterable[str]) -> list[tuple[str, str]]:
    """(label, relative href) of the week page and the sibling reviews, as `workbench report` lays
    them out: <period>/<model>/01-drift-review.html, <period>/service/03-infrastructure-review.html."""
    links = [("week page", "../index.html")]
    per_model = [r for r in reviews.REVIEWS.values() if r.per_model]
    service = [r for r in reviews.REVIEWS.values() if not r.per_model]
    if reviews.per_service(review):
        for m in models:
            links += [(f"{m}: {r.name}", f"../{m}/{r.notebook}.html") for r in per_model]
    else:
        links += [(f"{r.name} review", f"{r.notebook}.html") for r in per_model if r.name != review]
        links += [(f"{r.name} (service)", f"../{SERVICE}/{r.notebook}.html") for r in service]
    return links


def _sorted_findings(findings: list[Finding]) -> list[Finding]:
    order = {"alert": 0, "warning": 1, "info": 2}
    return sorted(findings, key=lambda f: order.get(f.severity, 3))


@dataclass(frozen=True)
class BannerItem:
    """A line of the banner's list: a finding (its severity and sentence) or a section not computed
    (severity 'not computed', 'section: problem'), linking to `anchor`; with no severity a plain note
    ('… and 3 more findings in the sections below')."""

    severity: str
    text: str
    anchor: str = ""


@dataclass(frozen=True)
class ReportBanner:
    """What a report's verdict banner shows (templates/banner.html draws it): the level, the title
    line, the count line, the findings and the sections not computed, the navigation and the contents."""

    level: str
    title: str
    subject: str
    period: str
    counts: str                      # "1 alert, 2 warnings, 1 section not computed"
    items: list[BannerItem]
    nav: list[tuple[str, str]]       # (label, relative href)
    toc: list[tuple[str, str]]       # (anchor, section title)
    why: BannerItem | None = None    # why it is wrong (performance: which drifted feature carries the drop), under the counts


def report_banner(review: str, title_subject: str, period: str, level: str, findings: list[Finding],
                  problems: list[dict[str, str]], links: list[tuple[str, str]], model_type: str = "") -> ReportBanner:
    """The banner's content: the worst findings first (at most MAX_FINDINGS), then up to four sections
    not computed, each linking to where the report shows it. A finding marked `extra.why` (the
    performance review's drift joined to the drop: performance.drift_join) is the "why" line under the
    counts instead, worded as the week page's cell words it."""
    why_f = next((f for f in findings if (f.extra or {}).get("why")), None)
    why = None
    if why_f is not None:
        from workbench.performance.drift_join import why_line

        why = BannerItem(why_f.severity, why_line(why_f.sentence), why_f.anchor)
    shown = _sorted_findings([f for f in findings if f is not why_f])
    items = [BannerItem(f.severity, f.sentence, f.anchor) for f in shown[:MAX_FINDINGS]]
    if len(shown) > MAX_FINDINGS:
        items.append(BannerItem("", f"… and {len(shown) - MAX_FINDINGS} more findings in the sections below"))
    if not shown:
        items.append(BannerItem("", "nothing found beyond the thresholds in this window" if level == "ok"
                                else "no findings recorded"))
    items += [BannerItem(levels.NOT_COMPUTED, f'{p.get("section", "")}: {str(p.get("problem", ""))[:240]}',
                         "not-computed") for p in problems[:4]]
    if len(problems) > 4:
        items.append(BannerItem("", f"… and {len(problems) - 4} more sections not computed"))
    title = reviews.REVIEWS[review].title if review in reviews.REVIEWS else review
    return ReportBanner(level, title, title_subject, period, _count_line(findings, problems), items, list(links),
                        sections_for(review, model_type), why)


def banner_html(review: str, title_subject: str, period: str, level: str, findings: list[Finding],
                problems: list[dict[str, str]], links: list[tuple[str, str]], model_type: str = "") -> str:
    """The banner as HTML, from templates/banner.html (the template engine escapes every value)."""
    return pages.render_banner(report_banner(review, title_subject, period, level, findings, problems, links,
                                             model_type))


def _count_line(findings: list[Finding], problems: list[dict[str, str]]) -> str:
    n_alert = sum(f.severity == "alert" for f in findings)
    n_warn = sum(f.severity == "warning" for f in findings)
    parts = [f"{n_alert} alert{'s' * (n_alert != 1)}", f"{n_warn} warning{'s' * (n_warn != 1)}"]
    if problems:
        parts.append(f"{len(problems)} section{'s' * (len(problems) != 1)} not computed")
    return ", ".join(parts)


def verdict_banner(ctx: Any, review: str) -> Any:
    """The first thing a report shows: level, findings with numbers and links, navigation, contents."""
    from IPython.display import HTML

    subject = SERVICE if reviews.per_service(review) else ctx.model.name
    models = [m.name for m in ctx.params.models]
    period = ctx.window.label
    if getattr(ctx.window, "partial", False):
        period += f" ({getattr(ctx.window, 'partial_note', 'partial week')})"
    return HTML(banner_html(review, subject, period, _level_of(ctx), list(ctx.findings),
                            list(ctx.problems), nav_links(review, ctx.model.name, models), ctx.model.type))


def section_heading(anchor: str, title: str, text: str = "", level: int = 2) -> Any:
    """A section heading with its anchor, drawn from code (for sections that exist only for some models)."""
    from IPython.display import HTML

    return HTML(pages.render_snippet("heading", anchor, title, text, int(level)))


def paragraphs(texts: Iterable[str]) -> Any:
    """Each text as one paragraph, escaped by the template engine (notes and sentences a section shows
    between its tables: Evidently's notes, the drift alerts' disagreement, Prometheus' warnings)."""
    from IPython.display import HTML

    return HTML("".join(pages.render_snippet("paragraph", str(t)) for t in texts))


def sections_for(review: str, model_type: str = "") -> list[tuple[str, str]]:
    """The sections a report of `review` has for a model of `model_type` (for the contents and the check)."""
    r = reviews.REVIEWS.get(review)
    return [(s.anchor, s.title) for s in r.sections_for(model_type)] if r else []


def skipped_note(ctx: Any, *sections: str) -> Any:
    """One line per section left out on purpose (a source or column not configured); empty otherwise."""
    from IPython.display import HTML

    items = [s for s in getattr(ctx, "skipped", []) if s.get("section") in sections]
    return HTML(pages.render_snippet("skipped", items))  # empty when nothing was skipped (display(None) would print "None")


def problem_note(ctx: Any, *sections: str) -> Any:
    """Inside a section, what of it could not be computed (recorded before the banner, which lists it
    too); empty otherwise."""
    from IPython.display import HTML

    items = [p for p in getattr(ctx, "problems", []) if p.get("section") in sections]
    return HTML(pages.render_snippet("problems", items))


def section_anchors(prefix: str, names: Iterable[str]) -> Any:
    """Invisible anchors (`feature-<name>`, `panel-<name>`) that findings link to, placed before a section's plots."""
    from IPython.display import HTML

    from workbench.findings import anchor_id as finding_anchor  # the same ids the findings link to

    return HTML(pages.render_snippet("anchors", [finding_anchor(prefix.rstrip("-"), n) for n in names]))


def describe_url(url: str | None) -> dict[str, str]:
    """Kind, host and database of a connection URL: no password, no user, no local path."""
    if not url:
        return {"kind": "not configured", "host": "—", "database": "—"}
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        u = make_url(url)
    except (ArgumentError, ValueError):
        from urllib.parse import urlsplit

        p = urlsplit(url)
        kind = (p.scheme or "file").split("+")[0]
        host = p.hostname or "local"
        host = f"{host}:{p.port}" if p.port else host
        name = p.path.rstrip("/").rsplit("/", 1)[-1] if p.path and not p.hostname else p.path.strip("/") or "—"
        return {"kind": _KINDS.get(kind, kind), "host": host, "database": name or "—"}
    kind = u.get_backend_name()
    if kind == "sqlite":
        db = u.database or ""
        return {"kind": "SQLite", "host": "local file", "database": db.replace("\\", "/").rsplit("/", 1)[-1] or "in memory"}
    host = f"{u.host}:{u.port}" if u.port else (u.host or "local socket")
    return {"kind": _KINDS.get(kind, kind), "host": host, "database": u.database or "—"}


_KINDS = {"postgresql": "PostgreSQL", "sqlite": "SQLite", "mysql": "MySQL", "http": "HTTP", "https": "HTTPS",
          "file": "local files"}


def about(ctx: Any, review: str = "") -> Any:
    """'About this report': model, window, and each source's kind, host and database name."""
    from workbench import tables

    import pandas as pd

    partial = f" — {ctx.window.partial_note}" if getattr(ctx.window, "partial", False) else ""
    rows = [("model", "service (all models)" if reviews.per_service(review) else f"{ctx.model.name} ({ctx.model.type})"),
            ("window", f"{ctx.window.label}: {ctx.window.start:%a %d %b %Y %H:%M} to {ctx.window.end:%a %d %b %Y %H:%M} UTC{partial}"),
            ("sources", "built-in demo stack" if ctx.connections.demo else "environment variables")]
    for label, url in (("Prometheus", ctx.connections.prometheus_url), ("prediction DB", ctx.connections.database_url),
                       ("MLflow", ctx.connections.mlflow_uri)):
        d = describe_url(url)
        if not url:  # said once: no 'host —' or 'database —' after it
            rows.append((label, "not configured"))
            continue
        rows.append((label, f"{d['kind']} · host {d['host']} · database {d['database']}"
                     if label != "Prometheus" else f"{d['kind']} · host {d['host']}"))
    return tables.table(pd.DataFrame(rows, columns=["", "value"]), kinds={"value": "text"})


def check_review(ctx: Any, review: str) -> str:
    """The notebook's last check: a level was recorded and every finding links to a section of this report.

    Raises AssertionError (failing the notebook run and `pytest --nbval-lax`) otherwise; returns a one-line summary.
    """
    level = getattr(ctx, "level", None)
    assert level in LEVELS, f"the review recorded no valid level: {level!r}"
    model = getattr(ctx, "model", None)
    known = {a for a, _ in sections_for(review, getattr(model, "type", ""))}
    prefixes = reviews.review(review).item_anchors
    for f in ctx.findings:
        assert isinstance(f, Finding), f"finding {f!r} is not a workbench.findings.Finding"
        assert f.sentence.strip(), f"finding about {f.subject!r} has no sentence"
        assert f.anchor in known or any(f.anchor.startswith(p) for p in prefixes), (
            f"finding about {f.subject!r} links to #{f.anchor}, which this {review} report does not have")
    if level == "ok":
        assert not any(f.severity in ("alert", "warning") for f in ctx.findings), "level ok with alert/warning findings"
    return f"{review} review: level {level}, {len(ctx.findings)} findings, {len(ctx.problems)} sections not computed"


def drift_configuration(ctx: Any) -> "Any":
    """The features checked for this model and how (method and threshold, from params/monitoring.yaml)."""
    import pandas as pd

    dd = ctx.monitoring.drift_detection
    rows = [(name, f.method or "automatic", dd.threshold_for(f.method, f) if f.method else None)
            for name, f in dd.features_for(ctx.model.name).items()]
    return pd.DataFrame(rows, columns=["feature", "method", "threshold"])
