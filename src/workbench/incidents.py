"""Findings grouped into incidents: one problem, told once, with the findings that describe it.

A review writes one finding per thing it measured, so one problem shows up several times: Friday's
error spike is a page (the availability SLO), a HighErrorRate alert and an error-ratio warning; a
drifted feature is the drift review's warning and the Prometheus DataDriftDetected alert for that
feature. The week page counts incidents instead, each marked open or closed at the window's end.

How findings are grouped (alerts and warnings only; info findings are no incident):

1. Each finding gets a *topic*: a category and a scope.
   - category from the finding's kind and the words of its subject (see CATEGORIES): drift, latency,
     errors, outage, performance, else its own kind (labels, data_quality, ...);
   - scope from the labels of a replayed alert (`model=`, `feature=`, `job=`), else the model the
     review ran for; the service's own findings (pages, error ratio) have the scope "service".
2. Findings with a time interval (`extra.start` / `extra.end`: pages, alert episodes, outages) of the
   same category whose intervals overlap, or lie at most `join_gap` apart (params
   `incidents.join_gap`: a page starts a replay step or an alert's `for:` after its alert's episode
   ends), are one incident when their scopes match or one of them is the service's (a service-wide
   page contains the per-model alerts of the same minutes). Chains join: A near B near C is one.
3. A finding about the whole window (a drift verdict, an error-ratio change, a metric below its
   threshold) joins the incident of its category and scope (the worst, then longest, if several),
   else it opens its own.

When: an incident with timed findings runs from the earliest start to the latest end of them
(`span` "findings"); a drift incident of a feature without timed findings, from the start of the
first day to the end of the last day its feature drifted on the drift review's daily grid (the
headline's `drifted_days`; `span` "days"); a dataset drift incident (the model's, no feature) holding
the drift review's dataset verdict and no timed findings, likewise from the days on which the share
of drifted features reached the dataset threshold (the headline's `dataset_drift_days`); else start
and end are null (`span` "week": about the whole window, the week page says "all week"), also when the
week's pooled data drifted but no single day reached the share (`dataset_drift_days` []: the verdict
is the week's, not a day's; `span_note` says so, and the week page after "all week", so it does not
read as "drifted every day").

An incident is **open** at the window's end when one of its timed findings lasts until then (an alert
still firing, an interval reaching the window's end, within `incidents.open_grace`); a drift incident also when its
feature drifted on the window's last day (the drift review's headline `drifted_last_day`), a dataset
drift incident timed by its days when its last such day reaches the window's end; an
incident with week-level findings only, and no last-day evidence, counts as open (its verdict holds
at the window's end).

Stored in status.json as "incidents" (schema in docs/findings.md): a list of Incident.to_dict().
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

from workbench import config

SERVICE = "service"
# params `incidents:` (the schema holds the defaults): timed findings this close are one incident; an
# interval ending this close to the window's end reaches it (replay steps)
JOIN_GAP = dt.timedelta(seconds=config.parse_duration(config.default_of(config.IncidentParams, "join_gap")))
GRACE = dt.timedelta(seconds=config.parse_duration(config.default_of(config.IncidentParams, "open_grace")))
DAY = dt.timedelta(days=1)
# category: words of a finding's subject or alert name (CamelCase split, lower case) that put it there,
# checked in this order
CATEGORIES = (
    ("drift", ("drift", "drifted")),
    ("latency", ("latency", "served under", "duration", "slow")),
    ("outage", ("service down", "instance down", "outage", "down")),
    ("errors", ("error", "errors", "5xx", "availability", "success")),
    ("performance", ("accuracy", "mae", "rmse", "mape", "r2", "f1", "precision", "recall", "auc", "metrics")),
)
LEVEL_RANK = {"alert": 0, "warning": 1}


@dataclass
class Incident:
    """One problem of the window and the findings that tell it (each with its model and report)."""

    subject: str                 # what it is about, e.g. "errors (service)", "drift of contract (churn-predictor)"
    category: str                # drift | latency | outage | errors | performance | a finding kind
    scope: str                   # the model (or "service", or the dependency of an outage)
    level: str                   # alert | warning: the worst of its findings
    start: str | None            # ISO UTC of its earliest timed finding (or first drifted day); None: the whole window
    end: str | None
    open: bool                   # still open at the window's end
    findings: list[dict[str, Any]] = field(default_factory=list)
    span: str = "week"           # where start and end come from: findings | days | week (null: the whole window)
    span_note: str = ""          # why a "week" span has no days, where that is not plain (pooled dataset drift)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_labels(text: str) -> dict[str, str]:
    """'feature=contract, model=churn-predictor' (an alert finding's extra.labels) as a dict."""
    out = {}
    for part in re.split(r",\s*(?=[A-Za-z_][A-Za-z0-9_]*=)", str(text or "")):
        k, sep, v = part.partition("=")
        if sep and k.strip():
            out[k.strip()] = v.strip()
    return out


def words(text: Any) -> str:
    """' high error rate ': a subject or alert name as lower-case words (CamelCase split), padded with
    spaces so a term matches whole words only ('mae' not in 'name')."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", str(text))
    return " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "


def category(f: Mapping[str, Any]) -> str:
    """The finding's category: drift, latency, outage, errors, performance, else its kind."""
    kind = f.get("kind", "other")
    if kind in ("feature", "dataset"):
        return "drift"
    if kind == "outage":
        return "outage"
    if kind in ("labels", "data_quality", "ab_test", "dependency"):
        return kind
    text = words(f.get("subject", ""))
    for name, terms in CATEGORIES:
        if any(f" {t} " in text for t in terms):
            return name
    return "performance" if kind == "metric" else kind


def scope(f: Mapping[str, Any], model: str, cat: str) -> str:
    """Who the finding is about: an alert's model (and feature) labels, an outage's dependency, else
    the model its review ran for."""
    labels = parse_labels((f.get("extra") or {}).get("labels", ""))
    who = labels.get("model") or model
    if cat == "outage":
        return labels.get("job") or (str(f.get("subject")) if f.get("kind") == "outage" else who)
    if cat == "drift":
        feature = labels.get("feature") or (str(f.get("subject")) if f.get("kind") == "feature" else "")
        return f"{who}/{feature}" if feature else who
    return who


def _time(value: Any) -> dt.datetime | None:
    try:
        t = dt.datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def _subject(cat: str, scope_: str) -> str:
    if cat == "drift":
        model, _, feature = scope_.partition("/")
        return f"drift of {feature} ({model})" if feature else f"dataset drift ({model})"
    if cat == "outage":
        return f"outage of {scope_}"
    if cat in ("errors", "latency", "performance"):
        return f"{cat} ({scope_})"
    return f"{cat.replace('_', ' ')} ({scope_})"


@dataclass
class _Item:
    finding: dict
    cat: str
    scope: str
    start: dt.datetime | None
    end: dt.datetime | None


def _compatible(a: str, b: str) -> bool:
    return a == b or SERVICE in (a, b)


def _days(value: Any) -> dict[str, tuple[dt.datetime, dt.datetime]]:
    """A drift headline's `drifted_days` ({feature: [first, last]} ISO dates) as feature -> (start of
    the first day, end of the last day); entries that are no two dates are left out."""
    out = {}
    for feature, pair in (value.items() if isinstance(value, Mapping) else ()):
        first, last = (_time(d) for d in pair) if isinstance(pair, (list, tuple)) and len(pair) == 2 else (None, None)
        if first is not None and last is not None and first <= last:
            out[str(feature)] = (first, last + DAY)
    return out


def _day_pair(value: Any) -> tuple[dt.datetime, dt.datetime] | None:
    """A [first, last] pair of ISO dates (a drift headline's `dataset_drift_days`) as (start of the
    first day, end of the last day); None for anything else (no day, or [] : no day reached)."""
    return _days({"": value}).get("")


def _is_share_verdict(f: Mapping[str, Any]) -> bool:
    """The drift review's dataset verdict (the share of drifted features; not a multivariate check,
    whose days are its own): the evidence `dataset_drift_days` times."""
    return f.get("kind") == "dataset" and f.get("subject") == "dataset"


def group(results: Iterable[Mapping[str, Any]], window_start: dt.datetime, window_end: dt.datetime,
          grace: dt.timedelta = GRACE, join_gap: dt.timedelta = JOIN_GAP) -> list[Incident]:
    """The incidents of a window from its results (status.json "results": model, findings, headline,
    html), worst and open first; timed findings at most `join_gap` apart join."""
    items: list[_Item] = []
    last_day: dict[str, set[str]] = {}  # model -> features drifted on the window's last day
    days: dict[str, dict[str, tuple[dt.datetime, dt.datetime]]] = {}  # model -> feature -> its drifted days
    dataset_days: dict[str, tuple[dt.datetime, dt.datetime]] = {}  # model -> its dataset drift days
    no_day: set[str] = set()  # models whose daily grid was tested and no day's share reached the threshold ([])
    for r in results:
        model = str(r.get("model", ""))
        drifted = (r.get("headline") or {}).get("drifted_last_day")
        if isinstance(drifted, list):
            last_day[model] = {str(x) for x in drifted}
        days.setdefault(model, {}).update(_days((r.get("headline") or {}).get("drifted_days")))  # not the performance review's
        if (pair := _day_pair((r.get("headline") or {}).get("dataset_drift_days"))) is not None:
            dataset_days[model] = pair
        elif (r.get("headline") or {}).get("dataset_drift_days") == []:
            no_day.add(model)
        for f in r.get("findings") or []:
            if f.get("severity") not in LEVEL_RANK:
                continue
            extra = f.get("extra") or {}
            cat = category(f)
            start, end = _time(extra.get("start")), _time(extra.get("end"))
            if start is None or end is None:
                start = end = None
            shown = {**f, "model": model, "report": r.get("html") or ""}
            items.append(_Item(shown, cat, scope(f, model, cat), start, end))
    timed = [i for i in items if i.start is not None]
    clusters: list[list[_Item]] = []
    for it in sorted(timed, key=lambda i: i.start):
        joined = [c for c in clusters if any(o.cat == it.cat and _compatible(o.scope, it.scope)
                                             and it.start <= o.end + join_gap and o.start <= it.end + join_gap
                                             for o in c)]
        merged = [it] + [o for c in joined for o in c]
        clusters = [c for c in clusters if not any(c is j for j in joined)] + [merged]
    down = {i.scope for i in timed if i.cat == "outage"}
    for it in (i for i in items if i.start is None):
        named = [d for d in down if f" {words(d).strip()} " in words(it.finding.get("subject", ""))]
        if it.cat == "errors" and named:  # "MLflow availability" fell with the MLflow outage
            it.cat, it.scope = "outage", named[0]
        home = [c for c in clusters if any(o.cat == it.cat and o.scope == it.scope for o in c)]
        if not home:  # a service-wide week number (the error ratio) joins a model's incident of its category
            home = [c for c in clusters if any(o.cat == it.cat and _compatible(o.scope, it.scope) for o in c)]
        if home:
            best = min(home, key=lambda c: (min(LEVEL_RANK[o.finding["severity"]] for o in c),
                                            -sum((o.end - o.start).total_seconds() for o in c if o.start)))
            best.append(it)
        else:
            clusters.append([it])
    out = [_incident(c, window_start, window_end, grace, last_day, days, dataset_days, no_day) for c in clusters]
    return sorted(out, key=lambda i: (not i.open, LEVEL_RANK[i.level], i.start or "", i.subject))


def _incident(members: list[_Item], window_start: dt.datetime, window_end: dt.datetime, grace: dt.timedelta,
              last_day: dict[str, set[str]], days: dict[str, dict[str, tuple[dt.datetime, dt.datetime]]],
              dataset_days: dict[str, tuple[dt.datetime, dt.datetime]] | None = None,
              no_day: set[str] | frozenset[str] = frozenset()) -> Incident:
    timed = [m for m in members if m.start is not None]
    # the incident's subject: its most specific topic (a model's rather than the service's)
    head = min(members, key=lambda m: (m.scope == SERVICE, LEVEL_RANK[m.finding["severity"]]))
    scopes = {m.scope for m in members}
    scope_ = head.scope if len(scopes) == 1 or head.cat == "drift" else SERVICE
    if timed:
        is_open = any(m.end >= window_end - grace for m in timed)
    else:
        is_open = True
    start, end, span = ((min(m.start for m in timed), max(m.end for m in timed), "findings") if timed
                        else (None, None, "week"))
    if head.cat == "drift" and "/" in scope_:
        model, _, feature = scope_.partition("/")
        if model in last_day:  # the drift review said which features drifted on the last day
            is_open = (is_open and bool(timed)) or feature in last_day[model]
        if not timed and feature in days.get(model, {}):  # ... and on which days of its grid
            first, last = days[model][feature]
            start, end, span = max(first, window_start), min(last, window_end), "days"
    elif (head.cat == "drift" and not timed and scope_ in (dataset_days or {})
          and any(_is_share_verdict(m.finding) for m in members)):  # the model's dataset drift, by its share
        first, last = dataset_days[scope_]
        start, end, span = max(first, window_start), min(last, window_end), "days"
        is_open = last >= window_end  # its last day reaching the share is the window's last (partial) day
    note = ""
    if head.cat == "drift" and not timed and span == "week" and scope_ in no_day:
        verdict = next((m.finding for m in members if _is_share_verdict(m.finding)), None)
        if verdict is not None:  # the week drifted pooled, no day did: "all week" would read as "every day"
            note = pooled_note((verdict.get("extra") or {}).get("threshold"))
    level = min((m.finding["severity"] for m in members), key=LEVEL_RANK.__getitem__)
    findings = [m.finding for m in sorted(members, key=lambda m: (LEVEL_RANK[m.finding["severity"]],
                                                                  m.start or window_end))]
    return Incident(_subject(head.cat, scope_), head.cat, scope_, level,
                    start.isoformat() if start else None, end.isoformat() if end else None, is_open, findings,
                    span, note)


def pooled_note(threshold: Any = None) -> str:
    """Why a dataset drift incident is the week's and not of some days: the week's pooled share of drifted
    features reached the dataset threshold while no single day's did (the headline's `dataset_drift_days` [])."""
    from workbench.findings import num

    at = f"the dataset threshold {num(float(threshold))}" if isinstance(threshold, (int, float)) else "the dataset threshold"
    return f"no single day's share of drifted features reached {at}; the week's pooled data did"


def of_status(status: Mapping[str, Any], window_start: dt.datetime, window_end: dt.datetime,
              params: config.IncidentParams | None = None) -> list[dict]:
    """status.json's "incidents": the window's incidents as dicts, grouped with the weekly params'
    `incidents:` (join_gap, open_grace; the defaults without params)."""
    join_gap, grace = tolerances(params)
    return [i.to_dict() for i in group(status.get("results", []), window_start, window_end, grace, join_gap)]


def tolerances(params: config.IncidentParams | None) -> tuple[dt.timedelta, dt.timedelta]:
    """(join_gap, open_grace) of the weekly params' `incidents:` as durations (the defaults without params)."""
    if params is None:
        return JOIN_GAP, GRACE
    return (dt.timedelta(seconds=config.parse_duration(params.join_gap)),
            dt.timedelta(seconds=config.parse_duration(params.open_grace)))


def counts(incidents: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many incidents, how many open, and how many at each level, for the headline."""
    incidents = list(incidents)
    return {"incidents": len(incidents), "open": sum(bool(i.get("open")) for i in incidents),
            "alert": sum(i.get("level") == "alert" for i in incidents),
            "warning": sum(i.get("level") == "warning" for i in incidents)}
