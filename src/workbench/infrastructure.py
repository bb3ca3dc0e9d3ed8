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

from workbench.config import QueryCatalog, QuerySpec, Window, parse_duration
from workbench.errors import SourceUnavailable
from workbench.sources.prometheus import PrometheusSource, step_for

if TYPE_CHECKING:
    from workbench.context import ReviewContext


def promql_string(value: str) -> str:
    """`value` escaped for use inside a double-quoted PromQL label matcher."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def render(promql: str, **values: str) -> str:
    """Fill $rate, $window, $model, $q in a catalog query."""
    return Template(promql).safe_substitute(**values)


def seconds(window: Window) -> str:
    """The window's length as a PromQL duration ("604800s")."""
    return f"{int((window.end - window.start).total_seconds())}s"


def catalog_query(catalog: QueryCatalog, name: str, /, labels: dict[str, str] | None = None, **values: str) -> str:
    """The named query of the catalog's `queries:` section (params/queries.yaml) with its placeholders
    filled: `labels` are label values (escaped for a double-quoted matcher), `values` are PromQL
    fragments (durations, expressions). A missing entry or placeholder is a ConfigError naming it."""
    from workbench.errors import ConfigError

    entry = catalog.queries.get(name)
    if entry is None:
        raise ConfigError(f"params/queries.yaml: queries.{name}: missing (workbench looks this query up by name; "
                          "see the shipped params/queries.yaml)")
    filled = {**values, **{k: promql_string(str(v)) for k, v in (labels or {}).items()}}
    try:
        return Template(entry.promql).substitute(filled)
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"params/queries.yaml: queries.{name}.promql: placeholder {exc} cannot be filled "
                          f"(this query is given: {', '.join('$' + k for k in sorted(filled)) or 'none'})") from None


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

    def gridded(self, window: Window) -> pd.DataFrame:
        """The data on the full step grid, one column per series: no-data stretches stay NaN (gaps)."""
        if self.data.empty:
            return pd.DataFrame()
        labels = [c for c in self.data.columns if c not in ("timestamp", "value")]
        wide = (self.data.assign(series=self.data[labels].astype(str).agg(" ".join, axis=1) if labels else "value")
                .pivot_table(index="timestamp", columns="series", values="value", aggfunc="first"))
        grid = pd.date_range(window.start, window.end, freq=pd.Timedelta(seconds=self.step_s))
        return wide.reindex(grid)


WOW_TOLERANCE = 0.2  # a headline number that moved by more than this (relative) week over week is reported
HEADLINE_NUMBERS = ("availability_api", "requests_total", "error_ratio", "p95_latency_api", "availability_mlflow")
# names that are worse when they go up / down; other numbers (traffic) are only reported
WORSE_UP = ("error", "latency", "connections")
WORSE_DOWN = ("availability", "hit_ratio")


def change_findings(summary: pd.DataFrame, tolerance: float = WOW_TOLERANCE) -> list:
    """Week-over-week changes beyond `tolerance`: a warning when the number got worse, else info."""
    from workbench.findings import Finding, num, pct

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
        fmt = (lambda x: pct(x, 2)) if r["unit"] == "ratio" else (lambda x: f"{num(x)} {r['unit']}".strip())
        out.append(Finding("warning" if worse else "info", str(r["title"]),
                           f"{r['title']}: {fmt(v)} vs {fmt(prev)} the week before "
                           f"({'+' if rel > 0 else '−'}{pct(abs(rel), 0)}, beyond {pct(tolerance, 0)}).",
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
    def headline_numbers(self) -> dict:
        return {str(r["name"]): float(r["value"]) for _, r in self.summary.iterrows()
                if r["name"] in HEADLINE_NUMBERS and pd.notna(r["value"])}

    @property
    def problems(self) -> list[str]:
        out = [f"{r['title']}: {r['note']}" for _, r in self.summary.iterrows() if r["note"]]
        return out + [f"{p.title}: {p.problem}" for p in self.panels.values() if p.problem]

    def to_frame(self) -> pd.DataFrame:
        return self.summary

    def plot(self, names: list[str] | None = None):
        from workbench import plots

        return plots.infrastructure_panels(self, names)


ALL_MODELS = ""  # model "" is the service review: $model matches every model, one series per model


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
    p = Panel(name, render_for(spec.title, model, **vals), spec.unit, qs, data, problem, step)
    if not data.empty:
        expected = int((window.end - window.start).total_seconds() // step) + 1
        p.coverage = float(p.gridded(window).notna().sum().mean() / expected)
    return p


def review(source: PrometheusSource, catalog: QueryCatalog, window: Window, model: str, rate_window: str = "5m",
           scrape_interval: str = "60s", pool_size: int = 20) -> InfrastructureReport:
    """The whole infrastructure review for one window."""
    summary = summarize(source, catalog, window, model, rate_window, previous=window.previous(), pool_size=pool_size)
    panels = {n: panel(source, n, s, window, model, rate_window, scrape_interval, pool_size)
              for n, s in catalog.panels.items()}
    rep = InfrastructureReport(window, summary, panels)
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
    """The infrastructure review for the notebook's model and window."""
    ip = ctx.params.infrastructure
    return review(ctx.prometheus, ctx.queries, ctx.window, ctx.model.name, ip.rate_window, ip.scrape_interval,
                  ip.db_pool_size)


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


def outage_table(ctx: "ReviewContext") -> pd.DataFrame:
    """Outage intervals per job (from `up`) and of MLflow's health gauge, at the scrape interval, so
    their lengths are exact to one scrape."""
    step = parse_duration(ctx.params.infrastructure.scrape_interval)
    up = ctx.prometheus.query_range(catalog_query(ctx.queries, "up_by_job"), ctx.window.start, ctx.window.end, step)
    ml = ctx.prometheus.query_range(catalog_query(ctx.queries, "mlflow_up"), ctx.window.start, ctx.window.end, step)
    parts = [outages(up)]
    if not ml.empty:
        parts.append(outages(ml.assign(job="mlflow (health gauge)")))
    table = pd.concat(parts, ignore_index=True).sort_values("start", ignore_index=True)
    table.attrs["findings"] = outage_findings(table)
    table.attrs["headline"] = {"outages": int(len(table)), "episodes": [
        {"kind": "outage", "subject": str(r["job"]), "start": iso(r["start"]), "end": iso(r["end"])}
        for _, r in table.iterrows()]}
    return table


def outage_findings(table: pd.DataFrame) -> list:
    """One alert per outage: the service, when it started and how long it lasted (an outage seen by
    several sources at the same time, e.g. `up` and a health gauge, is one finding naming both)."""
    from workbench.findings import Finding, duration, when

    out = []
    if table.empty:
        return out
    for (start, end), g in table.groupby(["start", "end"], sort=True):
        names = list(dict.fromkeys(str(j) for j in g["job"]))
        seen = f" (seen by: {', '.join(names)})" if len(names) > 1 else ""
        name = min(names, key=len)
        out.append(Finding("alert", name, f"Outage: {name} was down from {when(start)} for "
                           f"{duration(end - start)}{seen}.", "outage", "outages", (end - start).total_seconds(),
                           {"start": iso(start), "end": iso(end), "sources": names}))
    return out


def iso(ts) -> str:
    from workbench.findings import iso as _iso

    return _iso(ts)
