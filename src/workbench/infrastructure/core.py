"""The infrastructure review: headline numbers and panels from the PromQL catalog in params.

Every query that fails or returns nothing becomes a row saying so (naming the query), never a
crash and never a zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from string import Template
from typing import TYPE_CHECKING

import pandas as pd

from workbench import config
from workbench.config import QueryCatalog, QuerySpec, Window, parse_duration
from workbench.errors import SourceUnavailable
from workbench.result import TableResult, is_result, merge_headline
from workbench.infrastructure.queries import (ALL_MODELS, catalog_query, promql_string,  # noqa: F401
                                              render, seconds)
from workbench.sources.prometheus import PrometheusSource, step_for

if TYPE_CHECKING:
    from workbench.context import ReviewContext


@dataclass
class Panel:
    """One panel's series (tidy frame) or the reason it is empty."""

    name: str
    title: str
    unit: str
    queries: list[str]
    data: pd.DataFrame
    problem: str = ""
    step_s: float = 60.0
    coverage: float = float("nan")  # share of the expected evaluation points that returned data
    # from the catalog entry: where the review draws it, its dashed line, whether the alert timeline shows it
    section: str = "traffic"
    threshold: float | str | None = None
    timeline: bool = False

    def gridded(self, window: Window) -> pd.DataFrame:
        """The data on the full step grid, one column per series: no-data stretches stay NaN (gaps)."""
        if self.data.empty:
            return pd.DataFrame()
        labels = [c for c in self.data.columns if c not in ("timestamp", "value")]
        wide = (self.data.assign(series=self.data[labels].astype(str).agg(" ".join, axis=1) if labels else "value")
                .pivot_table(index="timestamp", columns="series", values="value", aggfunc="first"))
        grid = pd.date_range(window.start, window.end, freq=pd.Timedelta(seconds=self.step_s))
        return wide.reindex(grid)


# a headline number that moved by more than this (relative) week over week is reported: the default of
# params `infrastructure.week_over_week_tolerance` (the schema in workbench.config holds the value)
WOW_TOLERANCE = config.default_of(config.InfrastructureParams, "week_over_week_tolerance")
# names that are worse when they go up / down; other numbers (traffic) are only reported
WORSE_UP = ("error", "latency", "connections")
WORSE_DOWN = ("availability", "hit_ratio")


def week_over_week_table(summary: pd.DataFrame, tolerance: float = WOW_TOLERANCE, window=None):
    """The headline numbers this week against last week, headed as every review's week-over-week table
    ('this week', 'last week', 'change': tables.HEADERS), each value in its row's unit; the caption
    names the weeks (with `window`) and the tolerance the findings apply."""
    from workbench import tables

    cols = ["title", "unit", "value", "previous", "change", "relative_change", "note"]
    shown = summary[[c for c in cols if c in summary]].rename(columns={"value": "this_week", "previous": "last_week"})
    caption = change_caption(tolerance)
    if window is not None:
        caption = f"{tables.week_over_week_caption(window)}; {caption}"
    return tables.table(tables.unit_rows(shown, value_cols=("this_week", "last_week")),
                        kinds={"this_week": "text", "last_week": "text", "change": "text", "relative_change": "ratio"},
                        caption=caption)


def change_caption(tolerance: float = WOW_TOLERANCE) -> str:
    """The headline-numbers table's caption: the week-over-week tolerance `change_findings` quotes."""
    from workbench.findings import pct

    return f"a relative change beyond {pct(tolerance, 0)} is a finding"


def change_findings(summary: pd.DataFrame, tolerance: float = WOW_TOLERANCE) -> list:
    """Week-over-week changes beyond `tolerance`: a warning when the number got worse, else info."""
    from workbench.findings import Finding, pct
    from workbench.tables import percent, with_unit

    out = []
    for _, r in summary.iterrows():
        v, prev = r["value"], r["previous"]
        if pd.isna(v) or pd.isna(prev) or prev == 0:
            continue
        rel = (v - prev) / abs(prev)
        if abs(rel) <= tolerance:
            continue
        name = str(r["name"])
        worse = (rel > 0 and any(w in name for w in WORSE_UP)) or (rel < 0 and any(w in name for w in WORSE_DOWN))
        # as the headline-numbers table shows them: values in their unit, the relative change as a ratio
        out.append(Finding("warning" if worse else "info", str(r["title"]),
                           f"{r['title']}: {with_unit(v, r['unit'])} vs {with_unit(prev, r['unit'])} the week before "
                           f"({'+' if rel > 0 else ''}{percent(rel)}, beyond {pct(tolerance, 0)}).",
                           "traffic", "headline-numbers", float(v), {"previous": float(prev)}))
    return out


@dataclass
class InfrastructureReport:
    window: Window
    summary: pd.DataFrame
    panels: dict[str, Panel] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    tolerance: float = WOW_TOLERANCE

    @property
    def findings(self) -> list:
        """Headline numbers that changed week over week beyond the tolerance (workbench.findings)."""
        return change_findings(self.summary, self.tolerance)

    @property
    def headline(self) -> dict:
        """The headline-numbers rows the catalogue lists as the review's headline (workbench.reviews)."""
        from workbench.reviews import review

        keys = {h.key for h in review("infrastructure").headline}
        return {str(r["name"]): float(r["value"]) for _, r in self.summary.iterrows()
                if r["name"] in keys and pd.notna(r["value"])}

    @property
    def problems(self) -> list[str]:
        out = [f"{r['title']}: {r['note']}" for _, r in self.summary.iterrows() if r["note"]]
        return out + [f"{p.title}: {p.problem}" for p in self.panels.values() if p.problem]

    def to_frame(self) -> pd.DataFrame:
        return self.summary

    def plot(self, names: list[str] | None = None):
        """The panels `names` (default: every panel) stacked; None when there is no panel to draw."""
        from workbench.infrastructure import plots

        if not (self.panels if names is None else names):
            return None
        return plots.infrastructure_panels(self, names)




def _values(model: str, window: Window, rate_window: str, pool_size: int = 20) -> dict[str, str]:
    secs = int((window.end - window.start).total_seconds())
    return {"rate": rate_window, "window": f"{secs}s", "model": promql_string(model), "pool_size": str(pool_size)}


def render_for(promql: str, model: str, /, **values: str) -> str:
    """`render`, where the empty model (the service review) selects every model: `model="$model"`
    becomes `model!=""`, so `by (model)` queries give one series per model."""
    if model == ALL_MODELS:
        promql = promql.replace('model="$model"', 'model!=""')
        values = {**values, "model": "all models'"}
    return render(promql, **values)


def summarize(source: PrometheusSource, catalog: QueryCatalog, window: Window, model: str, rate_window: str = "5m",
              previous: Window | None = None, pool_size: int = 20) -> pd.DataFrame:
    """Each headline number for the window (and the previous window, for week over week)."""
    rows = []
    for name, spec in catalog.summary.items():
        vals = _values(model, window, rate_window, pool_size)
        q = render_for(spec.promql, model, **vals)
        row = {"name": name, "title": render_for(spec.title, model, **vals), "unit": spec.unit, "value": math.nan,
               "previous": math.nan, "query": q, "note": ""}
        try:
            df = source.query(q, at=window.end)
            if df.empty:
                row["note"] = f"no data for this query: {q}"
            else:
                row["value"] = float(df["value"].iloc[0])
            if previous is not None:
                pdf = source.query(render_for(spec.promql, model, **_values(model, previous, rate_window, pool_size)),
                                   at=previous.end)
                if not pdf.empty:
                    row["previous"] = float(pdf["value"].iloc[0])
        except SourceUnavailable as exc:
            row["note"] = str(exc)
        rows.append(row)
    df = pd.DataFrame(rows)
    df["change"] = df["value"] - df["previous"]
    # the relative change the week-over-week findings test against WOW_TOLERANCE (none from a zero)
    df["relative_change"] = [(v - p) / abs(p) if pd.notna(v) and pd.notna(p) and p != 0 else math.nan
                             for v, p in zip(df["value"], df["previous"])]
    return df


def panel(source: PrometheusSource, name: str, spec: QuerySpec, window: Window, model: str, rate_window: str,
          scrape_interval: str, pool_size: int = 20) -> Panel:
    """Range-query one catalog panel over the window."""
    vals = _values(model, window, rate_window, pool_size)
    step = step_for((window.end - window.start).total_seconds(), parse_duration(scrape_interval))
    qs = [render_for(spec.promql, model, q=str(q), **vals) for q in (spec.quantiles or [None])]
    frames, problem = [], ""
    for q, query in zip(spec.quantiles or [None], qs):
        try:
            df = source.query_range(query, window.start, window.end, step)
        except SourceUnavailable as exc:
            problem = str(exc)
            break
        if q is not None:
            df["quantile"] = f"p{int(round(q * 100))}"
        frames.append(df)
    data = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["timestamp", "value"])
    if not problem and data.empty:
        problem = "no data for this query: " + " ; ".join(qs)
    p = Panel(name, render_for(spec.title, model, **vals), spec.unit, qs, data, problem, step,
              section=spec.section, threshold=spec.threshold, timeline=spec.timeline)
    if not data.empty:
        expected = int((window.end - window.start).total_seconds() // step) + 1
        p.coverage = float(p.gridded(window).notna().sum().mean() / expected)
    return p


def collect(source: PrometheusSource, catalog: QueryCatalog, window: Window, model: str, rate_window: str = "5m",
            scrape_interval: str = "60s", pool_size: int = 20, tolerance: float = WOW_TOLERANCE) -> InfrastructureReport:
    """Every headline number and panel of the catalog for one window; week-over-week changes beyond
    `tolerance` are findings (params `infrastructure.week_over_week_tolerance`)."""
    summary = summarize(source, catalog, window, model, rate_window, previous=window.previous(), pool_size=pool_size)
    panels = {n: panel(source, n, s, window, model, rate_window, scrape_interval, pool_size)
              for n, s in catalog.panels.items()}
    rep = InfrastructureReport(window, summary, panels, tolerance=tolerance)
    rep.warnings = list(source.warnings)
    return rep


def outages(up: pd.DataFrame, label: str = "job") -> pd.DataFrame:
    """Intervals where an up-style series is 0: start, end, duration per label value."""
    rows = []
    if up.empty:
        return pd.DataFrame(columns=[label, "start", "end", "duration"])
    for key, g in up.groupby(label) if label in up else [("all", up)]:
        g = g.sort_values("timestamp")
        diffs = g["timestamp"].diff().dropna()
        step = diffs[diffs > pd.Timedelta(0)].min() if len(diffs) else pd.Timedelta(0)
        down = g["value"] < 1
        starts = g["timestamp"][down & ~down.shift(fill_value=False)]
        ends = g["timestamp"][down & ~down.shift(-1, fill_value=False)]
        for s, e in zip(starts, ends):
            rows.append({label: key, "start": s, "end": e + step, "duration": e + step - s})
    return pd.DataFrame(rows, columns=[label, "start", "end", "duration"])


def run(ctx: "ReviewContext") -> InfrastructureReport:
    """The catalog's headline numbers and panels for the notebook's model (or the service) and window."""
    ip = ctx.params.infrastructure
    return collect(ctx.prometheus, ctx.queries, ctx.window, ctx.model.name, ip.rate_window, ip.scrape_interval,
                   ip.db_pool_size, ip.week_over_week_tolerance)


def series_count(data: pd.DataFrame) -> int:
    """Distinct label sets in a panel's points (a panel without labels is one series, not one per point)."""
    if data.empty:
        return 0
    labels = data.drop(columns=["timestamp", "value"], errors="ignore")
    return 1 if labels.shape[1] == 0 else len(labels.drop_duplicates())


def coverage(report: InfrastructureReport) -> pd.DataFrame:
    """Per panel: data coverage over the window (no-data stretches count here, never as zeros)."""
    return pd.DataFrame([{"panel": p.title, "coverage": p.coverage, "series": series_count(p.data),
                          "note": p.problem} for p in report.panels.values()])


def availability(ctx: "ReviewContext") -> pd.DataFrame:
    """Availability per job over the window: the share of scrapes that were up (and MLflow's own
    health gauge), with the downtime it implies."""
    secs = int((ctx.window.end - ctx.window.start).total_seconds())
    up = ctx.prometheus.query(catalog_query(ctx.queries, "availability_by_job", window=f"{secs}s"), at=ctx.window.end)
    ml = ctx.prometheus.query(catalog_query(ctx.queries, "mlflow_availability", window=f"{secs}s"), at=ctx.window.end)
    rows = [{"service": r["job"], "source": "up", "availability": r["value"]} for _, r in up.iterrows()]
    if not ml.empty:
        rows.append({"service": "mlflow (health gauge)", "source": "mlflow_server_up", "availability": ml["value"].iloc[0]})
    out = pd.DataFrame(rows, columns=["service", "source", "availability"])
    out["downtime"] = pd.to_timedelta((1 - out["availability"].astype(float)) * secs, unit="s").dt.round("1min")
    return out


def outage_table(ctx: "ReviewContext") -> TableResult:
    """Outage intervals per job (from `up`) and of MLflow's health gauge, at the scrape interval, so
    their lengths are exact to one scrape."""
    step = parse_duration(ctx.params.infrastructure.scrape_interval)
    up = ctx.prometheus.query_range(catalog_query(ctx.queries, "up_by_job"), ctx.window.start, ctx.window.end, step)
    ml = ctx.prometheus.query_range(catalog_query(ctx.queries, "mlflow_up"), ctx.window.start, ctx.window.end, step)
    parts = [outages(up)]
    if not ml.empty:
        parts.append(outages(ml.assign(job="mlflow (health gauge)")))
    table = pd.concat(parts, ignore_index=True).sort_values("start", ignore_index=True)
    return TableResult(table, **outage_summary(table))


def outage_summary(table: pd.DataFrame) -> dict:
    """The outage table's findings and headline: `outages` counts distinct outages (the findings),
    not rows, so one MLflow outage seen by `up` and by its health gauge is 1, as its finding says."""
    findings = outage_findings(table)
    return {"findings": findings, "headline": {"outages": len(findings), "episodes": [
        {"kind": "outage", "subject": str(r["job"]), "start": iso(r["start"]), "end": iso(r["end"])}
        for _, r in table.iterrows()]}}


def distinct_outages(table: pd.DataFrame) -> list[tuple[pd.Timestamp, pd.Timestamp, list[str]]]:
    """(start, end, sources) per distinct outage: rows of one service (the job name without a
    parenthesised source such as ' (health gauge)') whose intervals overlap or touch are one outage,
    even when the sources saw its start or end a scrape apart."""
    import re

    out: list[tuple[pd.Timestamp, pd.Timestamp, list[str]]] = []
    if table.empty:
        return out
    service = table["job"].astype(str).map(lambda j: re.sub(r"\s*\([^()]*\)$", "", j) or j)
    for _, g in table.assign(_service=service).sort_values(["_service", "start"]).groupby("_service", sort=False):
        cur: list = []
        for _, r in g.iterrows():
            if cur and r["start"] <= cur[1]:
                cur[1] = max(cur[1], r["end"])
                cur[2].append(str(r["job"]))
            else:
                if cur:
                    out.append((cur[0], cur[1], list(dict.fromkeys(cur[2]))))
                cur = [r["start"], r["end"], [str(r["job"])]]
        out.append((cur[0], cur[1], list(dict.fromkeys(cur[2]))))
    return sorted(out, key=lambda o: (o[0], o[2]))


def _source(job: str) -> str:
    """Which signal saw an outage row, in words: 'mlflow (health gauge)' -> 'its health gauge', a plain
    job -> "Prometheus' up" (the rows' job names repeat the service the finding already names)."""
    import re

    m = re.search(r"\(([^()]*)\)$", job)
    return f"its {m.group(1)}" if m else "Prometheus' up"


def outage_findings(table: pd.DataFrame) -> list:
    """One alert per outage: the service, when it started and how long it lasted (an outage seen by
    several sources, e.g. `up` and a health gauge, is one finding naming both; see distinct_outages)."""
    from workbench.findings import Finding, duration, when

    out = []
    for start, end, names in distinct_outages(table):
        name = min(names, key=len)
        seen = f" (seen by {' and '.join(_source(n) for n in names)})" if len(names) > 1 else ""
        out.append(Finding("alert", name, f"Outage: {name} was down from {when(start)} for "
                           f"{duration(end - start)}{seen}.", "outage", "outages", (end - start).total_seconds(),
                           {"start": iso(start), "end": iso(end), "sources": names}))
    return out


def iso(ts) -> str:
    from workbench.findings import iso as _iso

    return _iso(ts)


# --- per-model serving latency ---------------------------------------------------------------------

LATENCY_COLUMNS = ["model", "p95_seconds", "previous_p95_seconds", "change", "threshold_seconds", "status"]


def serving_latency(ctx: "ReviewContext") -> TableResult:
    """p95 serving latency per model (the catalog's `serving_latency_p95`) over the window and the one
    before, against weekly.yaml's `infrastructure.p95_latency_alert_seconds` (the guide's 1 s): one row
    per model for the service review, the model's own row for a model's review. A model above the
    threshold is a warning finding linking to its row (service) or to the section (model)."""
    from workbench.findings import Finding, num

    limit = ctx.params.infrastructure.p95_latency_alert_seconds
    model = ALL_MODELS if ctx.service else ctx.model.name

    def p95(window: Window) -> pd.Series:
        q = catalog_query(ctx.queries, "serving_latency_p95", {"model": model}, window=seconds(window))
        df = ctx.prometheus.query(q, at=window.end)
        if df.empty:
            return pd.Series(dtype=float)
        key = df["model"].astype(str) if "model" in df else pd.Series([model or "all models"] * len(df))
        return pd.Series(df["value"].astype(float).to_numpy(), index=key.to_numpy())

    now, before = p95(ctx.window), p95(ctx.window.previous())
    names = sorted(set(now.index) | set(before.index))
    if not ctx.service:
        names = [n for n in names if n == ctx.model.name] or ([ctx.model.name] if len(now) or len(before) else [])
    rows, findings = [], []
    for n in names:
        v, prev = now.get(n, math.nan), before.get(n, math.nan)
        status = ("no data" if pd.isna(v) else f"above {num(limit)} s" if v > limit else "ok")
        rows.append({"model": n, "p95_seconds": v, "previous_p95_seconds": prev, "change": v - prev,
                     "threshold_seconds": limit, "status": status})
        if pd.notna(v) and v > limit:
            findings.append(Finding("warning", f"{n} serving latency",
                                    f"{n} p95 serving latency {num(v)} s over {ctx.window.label} is above the "
                                    f"{num(limit)} s threshold (previous window {num(prev)} s).", "metric",
                                    latency_anchor(n) if ctx.service else "serving-latency", float(v),
                                    {"threshold": limit}))
    out = pd.DataFrame(rows, columns=LATENCY_COLUMNS)
    headline = ({"p95_latency_seconds": round(float(out["p95_seconds"].iloc[0]), 4)}
                if not ctx.service and len(out) and pd.notna(out["p95_seconds"].iloc[0]) else {})
    return TableResult(out, findings, headline)


def latency_table(latency: pd.DataFrame | TableResult, empty: str = "Prometheus has no prediction_duration_seconds for this window"):
    """`serving_latency` for people: one row per model, latencies in ms or s, the change signed."""
    from workbench import tables

    latency = latency.to_frame() if isinstance(latency, TableResult) else latency
    cols = {"model": "model", "p95_seconds": "p95 this window", "previous_p95_seconds": "p95 the window before",
            "change": "change", "threshold_seconds": "threshold", "status": "status"}
    shown = pd.DataFrame({
        "model": latency["model"],
        "p95_seconds": [tables.with_unit(v, "seconds") for v in latency["p95_seconds"]],
        "previous_p95_seconds": [tables.with_unit(v, "seconds") for v in latency["previous_p95_seconds"]],
        "change": [tables.with_unit(v, "seconds", change=True) for v in latency["change"]],
        "threshold_seconds": [tables.with_unit(v, "seconds") for v in latency["threshold_seconds"]],
        "status": latency["status"]}).rename(columns=cols)
    return tables.table(shown, kinds=dict.fromkeys(shown.columns, "text"), empty=empty)


def latency_anchor(model: str) -> str:
    """The anchor of a model's row in the service review's per-model latency table."""
    from workbench.findings import anchor_id

    return anchor_id("latency", model)


# --- the whole review ------------------------------------------------------------------------------

@dataclass
class ServiceReview:
    """The infrastructure review of one window: every part, or None where it could not be computed
    (each such part is named in `problems` and in the report's "What could not be computed")."""

    window: Window
    slos: "object | None" = None           # workbench.infrastructure.slo.SLOReview
    alerts: "object | None" = None         # workbench.infrastructure.alerts.AlertReview
    infra: InfrastructureReport | None = None  # headline numbers and panels of the query catalog
    availability: pd.DataFrame | None = None
    outages: TableResult | None = None
    latency: TableResult | None = None    # p95 serving latency per model
    problems: list[str] = field(default_factory=list)  # "section: why" per part not computed

    @property
    def parts(self) -> list:
        """The parts computed, in the order the report shows them."""
        return [p for p in (self.slos, self.alerts, self.infra, self.availability, self.outages, self.latency)
                if p is not None]

    @property
    def summary(self) -> pd.DataFrame | None:
        return self.infra.summary if self.infra is not None else None

    @property
    def panels(self) -> dict[str, Panel]:
        return self.infra.panels if self.infra is not None else {}

    @property
    def coverage(self) -> pd.DataFrame | None:
        return coverage(self.infra) if self.infra is not None else None

    @property
    def findings(self) -> list:
        """Every part's findings, in the order the report shows them (they are also in the context)."""
        out = []
        for part in self.parts:
            out += [f for f in (part.findings if is_result(part) else []) if f not in out]
        return out

    @property
    def headline(self) -> dict:
        """Every part's headline numbers merged, as the context merges them."""
        out: dict = {}
        for part in self.parts:
            if is_result(part):
                merge_headline(out, part.headline)
        return out

    def to_frame(self) -> pd.DataFrame:
        """The catalog's headline numbers, this week and the previous one (empty if not computed)."""
        return self.summary if self.summary is not None else pd.DataFrame()

    def plot(self):
        """Every panel of the query catalog (None if the catalog could not be read)."""
        return self.infra.plot() if self.infra is not None else None


def review(ctx: "ReviewContext") -> ServiceReview:
    """The infrastructure review for the notebook's window: SLOs, alert replay, the catalog's headline
    numbers and panels, availability, outages and per-model serving latency. Each part runs through
    `ctx.attempt`, so one that cannot be computed is named under "not computed" and the rest still
    shows; findings and headline numbers are recorded in the context as each part completes."""
    from workbench.infrastructure import alerts, slo

    before = len(ctx.problems)
    rev = ServiceReview(ctx.window)
    rev.slos = ctx.attempt("SLOs", slo.run, ctx)
    rev.alerts = ctx.attempt("alert replay", alerts.run, ctx)
    rev.infra = ctx.attempt("infrastructure", run, ctx)
    rev.availability = ctx.attempt("availability", availability, ctx)
    rev.outages = ctx.attempt("outages", outage_table, ctx)
    rev.latency = ctx.attempt("serving latency per model", serving_latency, ctx)
    rev.problems = [f"{p['section']}: {p['problem']}" for p in ctx.problems[before:]]
    return rev


# --- drawing what the catalog declares --------------------------------------------------------------

def thresholds(ctx: "ReviewContext", report: InfrastructureReport) -> dict[str, float]:
    """The dashed line of each panel that declares one (a number, or a key of weekly.yaml infrastructure)."""
    out = {}
    for name, p in report.panels.items():
        if isinstance(p.threshold, str):
            out[name] = float(getattr(ctx.params.infrastructure, p.threshold))
        elif p.threshold is not None:
            out[name] = float(p.threshold)
    return out


def draw_panels(ctx: "ReviewContext", report: InfrastructureReport | None, section: str = "traffic"):
    """Draw every catalog panel of `section` ('traffic' or 'resources') in catalog order, with its
    threshold: adding a panel to params/queries.yaml is all it takes to see it here. Shows the anchors
    findings link to, one line naming the panels drawn, and the figure; returns the figure (None if
    the section has no panel)."""
    from IPython.display import HTML, display

    from workbench import display as show
    from workbench.infrastructure import plots
    from workbench.pages import render_snippet

    if report is None:
        return None
    names = [n for n, p in report.panels.items() if p.section == section]
    if not names:
        display(HTML(render_snippet("note", f"No {section} panel in params/queries.yaml.")))
        return None
    display(show.section_anchors("panel-", names))
    fig = plots.infrastructure_panels(report, names, thresholds(ctx, report))
    display(HTML(render_snippet("panels", [ax.get_title() for ax in fig.axes])))
    return fig


def timeline_series(report: InfrastructureReport | None) -> dict[str, pd.DataFrame]:
    """The panels the catalog marks `timeline: true`, titled with their unit, for alerts.timeline."""
    if report is None:
        return {}
    return {f"{p.title} ({p.unit})" if p.unit else p.title: p.data for p in report.panels.values() if p.timeline}
