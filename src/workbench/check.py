"""`workbench check`: validate everything a run needs before anything runs (in the spirit of `dbt debug`).

One line per item, each with what to fix: every params file, the sources that are configured (and
which reviews a missing one skips), the prediction table and each mapped column, the JSON feature
keys, each model's reference (loads, same features, same types, category codes that match the
store's), Prometheus (reachable, the catalog's metrics present for the model) and MLflow
(reachable, the model's versions found). `workbench report` runs the same checks first and refuses
to start on an error; warnings never block.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from workbench import config
from workbench import reviews as catalogue
from workbench.errors import WorkbenchError

OK, WARNING, ERROR, SKIPPED = "ok", "warning", "error", "skipped"
# sampled store values of a categorical feature unmatched in the reference beyond this share: the two
# code categories differently (an error); below it they are new categories (the drift review's finding)
CODING_MISMATCH_SHARE = 0.5
_MARK = {OK: "[ok]  ", WARNING: "[warn]", ERROR: "[FAIL]", SKIPPED: "[skip]"}


@dataclass
class Item:
    """One checklist line: what was checked, its status, and the fix when it is not ok."""

    what: str
    status: str
    detail: str = ""
    fix: str = ""

    def line(self) -> str:
        text = f"{_MARK[self.status]} {self.what}"
        if self.detail:
            text += f": {self.detail}"
        if self.fix and self.status in (ERROR, WARNING):
            text += f"\n         fix: {self.fix}"
        return text


@dataclass
class CheckResult:
    items: list[Item] = field(default_factory=list)

    def add(self, what: str, status: str, detail: str = "", fix: str = "") -> Item:
        item = Item(what, status, config.redact(detail), fix)
        self.items.append(item)
        return item

    @property
    def ok(self) -> bool:
        """No errors (warnings and skipped items do not block)."""
        return not any(i.status == ERROR for i in self.items)

    def errors_text(self) -> str:
        return "\n".join(i.line() for i in self.items if i.status == ERROR)

    def text(self) -> str:
        return "\n".join(i.line() for i in self.items)


def canonical_category(value: object) -> str:
    """A category's comparable form, as the drift review compares them (1, 1.0 and "1" are one)."""
    from workbench.drift.profile import canonical_category as canonical

    return "" if value is None else canonical(value)


def _guard(result: CheckResult, what: str, fix: str, fn: Callable, severity: str = ERROR):
    """Run one check; a WorkbenchError (or any error of a source) becomes one failed line."""
    try:
        return fn()
    except WorkbenchError as exc:
        result.add(what, severity, str(exc), fix)
    except Exception as exc:  # noqa: BLE001 - a check must report, never crash
        result.add(what, severity, f"{type(exc).__name__}: {exc}", fix)
    return None


def catalog_metrics(catalog: config.QueryCatalog) -> dict[str, str]:
    """Metric names the query catalog selects -> a selector for them with $model filled in later."""
    found: dict[str, str] = {}
    for spec in [*catalog.summary.values(), *catalog.panels.values()]:
        for m in re.finditer(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?\s*\[?", spec.promql):
            name, labels = m.group(1), m.group(2) or ""
            if not (labels or spec.promql[m.end(1):].lstrip().startswith("[")):
                continue
            if name in found:
                continue
            # keep only a model filter: other labels (endpoints, status) differ between teams' queries
            model_filter = re.search(r'(model(?:_name)?)\s*=\s*"\$model"', labels)
            found[name] = f'{name}{{{model_filter.group(1)}="$model"}}' if model_filter else name
    return found


def run_checks(params_path: str | Path, connections: config.Connections | None = None,
               models: list[str] | None = None, reviews: set[str] | None = None,
               unreachable: str = WARNING, now: dt.datetime | None = None, mlflow: bool = True,
               weekly: config.WeeklyParams | None = None) -> CheckResult:
    """Every check for the params at `params_path` and the configured sources.

    `reviews` (default: those the weekly file configures) limits the source checks to what those
    reviews need. A source that cannot be reached is `unreachable` (a warning for `workbench report`,
    whose review then says what failed; an error for `workbench check`). `mlflow=False` leaves out
    the MLflow lines, which are never errors when unreachable is a warning (`workbench report` asks
    MLflow once, in its own process, beside the first notebooks). `weekly`: the weekly file's params
    as the caller (the runner) loaded them, not loaded again.
    """
    from workbench.sources.connections import configured, not_configured

    res = CheckResult()
    try:
        files = config.params_files(params_path)
    except WorkbenchError as exc:
        res.add("params folder", ERROR, str(exc), "pass --params DIR (holding weekly.yaml) or the weekly file")
        return res
    res.add("params folder", OK, str(files.directory))
    weekly = weekly or _guard(res, f"params {files.weekly.name}", "edit the key named above",
                              lambda: config.load_weekly(files.weekly))
    if weekly is None:
        return res
    res.add(f"params {files.weekly.name}", OK, f"{len(weekly.models)} model(s)")
    names = models or [m.name for m in weekly.models]
    if connections is None:
        from workbench.sources.connections import resolve_connections

        connections = _guard(res, "sources", "set WORKBENCH_DATABASE_URL / WORKBENCH_PROMETHEUS_URL "
                             "(or start the demo: workbench demo up)", resolve_connections)
        if connections is None:
            return res
    connections = config.anchor_connections(connections, files.project)  # the file the notebooks will read
    configured_reviews = {catalogue.review_name(nb) for nb in weekly.notebooks}
    runnable = {r for r in configured_reviews if all(configured(connections, x) for x in catalogue.needs(r))}
    selected = reviews if reviews is not None else runnable
    loaders = {"monitoring": config.load_monitoring, "queries": config.load_queries,
               "slos": config.load_slos, "alerts": config.load_alert_rules}
    # which review reads which params file (workbench.reviews), and the files the selected reviews read
    needed_by = {kind: " and ".join(r.name for r in catalogue.REVIEWS.values() if kind in r.params) for kind in loaders}
    wanted = {kind for r in selected if r in catalogue.REVIEWS for kind in catalogue.REVIEWS[r].params}
    loaded: dict[str, object] = {}
    for kind, load in loaders.items():
        path = files.path(kind)
        if not path.is_file():
            status = ERROR if kind in wanted else SKIPPED
            res.add(f"params {path.name}", status, "not found",
                    f"create {path} (`workbench init` writes one) or leave the {needed_by[kind]} review out")
            continue
        value = _guard(res, f"params {path.name}", "edit the key named above", lambda p=path, f=load: f(p))
        if value is not None:
            loaded[kind] = value
            res.add(f"params {path.name}", OK)
    if files.path("baselines").is_file():
        if _guard(res, "params baselines.yaml", "edit the key named above",
                  lambda: config.load_baselines(files.path("baselines"))) is not None:
            res.add("params baselines.yaml", OK)

    for source in ("database", "prometheus", "mlflow"):
        users = sorted(r for r in configured_reviews if source in catalogue.needs(r))
        if configured(connections, source):
            res.add(f"source {source}", OK, "configured" + (" (demo stack)" if connections.demo else ""))
        elif users:
            res.add(f"source {source}", SKIPPED, f"{not_configured(source)}: the {', '.join(users)} review(s) "
                    "will be skipped", f"set {config.SOURCE_ENV[source]} to run them")
        else:
            res.add(f"source {source}", SKIPPED, not_configured(source))

    store, store_keys = None, None
    if configured(connections, "database") and any(catalogue.uses(r, "database") for r in selected):
        store, store_keys = _check_store(res, weekly, names, connections, unreachable)
    monitoring = loaded.get("monitoring")
    if "drift" in selected:
        for name in names:
            _check_reference(res, files, weekly.model(name), monitoring, store, connections, store_keys)
    if "performance" in selected:
        for name in names:
            _check_baseline(res, files, weekly, weekly.model(name), connections)
            if store is not None:
                _check_declared_type(res, weekly.model(name), store)
    if (configured(connections, "prometheus") and loaded.get("queries") is not None
            and any(catalogue.uses(r, "prometheus") for r in selected)):
        _check_prometheus(res, connections, loaded["queries"], names, unreachable, now)
    if mlflow and configured(connections, "mlflow") and any(catalogue.uses(r, "mlflow") for r in selected):
        _check_mlflow(res, connections, names, unreachable)
    return res


def _check_store(res: CheckResult, weekly: config.WeeklyParams, names: list[str], conns: config.Connections,
                 unreachable: str):
    from workbench.errors import ConfigError, SourceUnavailable
    from workbench.sources.registry import open_store

    sp = weekly.store
    where = f"table {sp.schema_ + '.' if sp.schema_ else ''}{sp.table}"
    store = _guard(res, "prediction DB", "check WORKBENCH_DATABASE_URL", lambda: open_store(conns.database_url, sp),
                   unreachable)
    if store is None:
        return None, None
    try:
        real = store.stored_columns()
    except ConfigError:
        res.add(where, ERROR, "not found in the prediction DB", "weekly.yaml store.table / store.schema")
        return None, None
    except SourceUnavailable as exc:
        res.add("prediction DB", unreachable, f"not reachable: {str(exc).splitlines()[0]}",
                "check WORKBENCH_DATABASE_URL and the server")
        return None, None
    res.add(where, OK, f"{len(real)} columns")
    for key, col in sp.columns.model_dump().items():
        what = f"column store.columns.{key}"
        if col is None:
            res.add(what, SKIPPED, "not configured (null)" + {
                "variant": ": no A/B section", "probability": ": no ROC AUC, calibration or CBPE estimate",
                "outcome": ": no performance metrics"}.get(key, ""))
        elif sp.columns.constant(key) is not None:  # a single-model table: no column to find
            res.add(what, OK, f"constant {sp.columns.constant(key)!r}")
        elif col in real:
            res.add(what, OK, repr(col))
        else:
            res.add(what, ERROR, f"{col!r} is not a column of {sp.table}",
                    f"weekly.yaml store.columns.{key}: one of {', '.join(real)} (or null if optional)")
    fl = sp.features
    if fl.layout == "json":
        if not fl.json_column or fl.json_column not in real:
            res.add("store.features.json_column", ERROR, f"{fl.json_column!r} is not a column of {sp.table}",
                    f"weekly.yaml store.features.json_column: one of {', '.join(real)}")
            return None, None
    if not res.ok:
        return None, None
    keys = _guard(res, "feature keys", "check store.features", store.feature_columns, unreachable)
    if keys is not None:
        res.add("feature keys" + (f" in JSON column {fl.json_column!r}" if fl.layout == "json" else ""), OK,
                f"{len(keys)}: {', '.join(keys[:20])}{' …' if len(keys) > 20 else ''}")
    found = _guard(res, "models in the table", "check store.columns.model", store.models, unreachable)
    if found is not None:
        for name in names:
            if name in found:
                res.add(f"model {name} in the table", OK)
            else:
                res.add(f"model {name} in the table", WARNING, f"no rows; models there: {', '.join(map(str, found[:10]))}",
                        "weekly.yaml models[].name must match the table's model column")
    return store, (set(keys) if keys is not None else None)


def no_reference(spec: config.ModelSpec, connections: config.Connections | None) -> str:
    """Why `spec` has no drift review (no reference file and no MLflow to fetch one), or "": the
    runner's rule for skipping a drift review (report.plan), and this check's."""
    from workbench.sources.connections import configured

    if spec.reference or connections is None or configured(connections, "mlflow"):
        return ""
    return f"no reference for {spec.name}: models[].reference is not set and MLflow is not configured"


def _check_reference(res: CheckResult, files: config.ParamsFiles, spec: config.ModelSpec, monitoring,
                     store, conns: config.Connections, keys: set[str] | None = None) -> None:
    import pandas as pd

    from workbench.sources.model_registry import load_reference_file

    what = f"reference of {spec.name}"
    if not spec.reference:
        why = no_reference(spec, conns)
        if not why:
            res.add(what, OK, "from MLflow (the serving version's reference artifact)")
        else:
            res.add(what, SKIPPED, f"{why}, so the drift review of this model is skipped",
                    f"weekly.yaml models[{spec.name}].reference: a .parquet/.csv path relative to {files.project}")
        return
    path = (files.project / spec.reference).resolve()
    ref = _guard(res, what, f"weekly.yaml models[{spec.name}].reference", lambda: load_reference_file(path))
    if ref is None:
        return
    res.add(what, OK, f"{path.name}: {len(ref)} rows, {len(ref.columns)} columns")
    features = list(monitoring.drift_detection.features_for(spec.name)) if monitoring else []
    if not features:
        res.add(f"drift features of {spec.name}", ERROR, "none configured",
                f"monitoring.yaml drift_detection.models.{spec.name}.features (`workbench init` lists them)")
        return
    missing = [f for f in features if f not in ref.columns]
    if missing:
        res.add(f"reference features of {spec.name}", ERROR, f"not in the reference: {', '.join(missing)}",
                f"monitoring.yaml drift_detection.models.{spec.name}.features or the reference file")
    else:
        res.add(f"reference features of {spec.name}", OK, f"all {len(features)} present")
    keys = keys if store is not None else None
    if keys is not None:
        absent = [f for f in features if f not in keys]
        if absent:
            res.add(f"store features of {spec.name}", ERROR, f"not in the prediction table: {', '.join(absent)}",
                    f"monitoring.yaml drift_detection.models.{spec.name}.features or store.features")
        else:
            res.add(f"store features of {spec.name}", OK, f"all {len(features)} present")
    if store is None or missing:
        return
    window = config.last_full_week()
    try:
        sample = store.read(spec.name, config.Window(window.start - dt.timedelta(weeks=3), window.end, "sample"),
                            features=[f for f in features if keys is None or f in keys], core=[])
    except WorkbenchError as exc:
        res.add(f"store sample of {spec.name}", WARNING, str(exc), "check the prediction DB")
        return
    sample = sample.head(5000)
    if sample.empty:
        res.add(f"store sample of {spec.name}", WARNING, "no predictions in the last four weeks to compare types with")
        return
    from workbench.drift.profile import infer_kind

    cfg = monitoring.drift_detection.features_for(spec.name) if monitoring else {}
    for f in features:
        if f not in sample:
            continue
        s_col = sample[f]
        declared = getattr(cfg.get(f), "kind", None)
        kind = declared or infer_kind(ref[f])[0]
        how = ("as configured (type:)" if getattr(cfg.get(f), "type", None) else "by its method") if declared \
            else "by the automatic rule"
        s_text = pd.to_numeric(s_col, errors="coerce").isna().sum() > s_col.isna().sum()
        r_text = pd.to_numeric(ref[f], errors="coerce").isna().sum() > ref[f].isna().sum()
        if kind == "numeric":
            if s_text or r_text:
                res.add(f"type of {spec.name}.{f}", ERROR,
                        f"numeric {how}, but the {'store' if s_text else 'reference'} holds text",
                        f"monitoring.yaml drift_detection.models.{spec.name}.features.{f}.type: categorical, "
                        "or fix the column")
            else:
                res.add(f"type of {spec.name}.{f}", OK, "numeric")
            continue
        r_codes = {canonical_category(v) for v in ref[f].dropna().unique()}
        present = s_col.dropna()
        s_canon = present.map(canonical_category)
        unmatched = ~s_canon.isin(r_codes)
        new = sorted(set(s_canon[unmatched]))
        if new:
            share = float(unmatched.mean())
            what = (f"{len(new):,} store value{'s' if len(new) != 1 else ''} never in the reference "
                    f"({int(unmatched.sum()):,} of {len(present):,} sampled rows, {share:.0%}): "
                    f"{', '.join(new[:5])}{' …' if len(new) > 5 else ''}")
            if share <= CODING_MISMATCH_SHARE:  # new categories in production: the drift review reports them
                res.add(f"categories of {spec.name}.{f}", WARNING, what,
                        "the drift review reports new categories as data-quality findings")
            elif len(new) >= max(20, len(present) / 2):  # mostly distinct, all new: an id column
                res.add(f"categories of {spec.name}.{f}", WARNING, what + ": it looks like an identifier",
                        f"monitoring.yaml drift_detection.models.{spec.name}.features: remove {f}")
            else:
                res.add(f"categories of {spec.name}.{f}", ERROR, what,
                        "the reference and the store must code categories the same way")
            continue
        raw_differs = {str(v) for v in s_col.dropna().unique()} - {str(v) for v in ref[f].dropna().unique()}
        res.add(f"type of {spec.name}.{f}", OK, "categorical" + (
            f" (codes match in canonical form: the reference writes {', '.join(sorted(map(str, ref[f].dropna().unique()))[:3])}, "
            f"the store {', '.join(sorted(map(str, s_col.dropna().unique()))[:3])})" if raw_differs else ""))


def _check_declared_type(res: CheckResult, spec: config.ModelSpec, store) -> None:
    """The declared type against a sample of the model's last four weeks: a classifier needs
    predictions and outcomes among the classes 0/1 and probabilities in [0, 1] (performance.validity)."""
    from workbench.performance.validity import declared_type_problems

    window = config.last_full_week()
    what = f"type of {spec.name}"
    try:
        sample = store.sample(spec.name, config.Window(window.start - dt.timedelta(weeks=3), window.end, "sample"),
                              ["prediction", "probability", "outcome"])
    except WorkbenchError as exc:
        res.add(what, WARNING, str(exc), "check the prediction DB")
        return
    if sample.empty:
        res.add(what, WARNING, f"{spec.type}: no predictions in the last four weeks to check it against")
        return
    problems = declared_type_problems(sample, spec)
    for severity, column, detail, fix in problems:
        res.add(f"{what}: {column}", ERROR if severity == "error" else WARNING, detail, fix)
    if not problems:
        res.add(what, OK, f"{spec.type}: {len(sample):,} sampled rows agree")


def _check_baseline(res: CheckResult, files: config.ParamsFiles, weekly: config.WeeklyParams,
                    spec: config.ModelSpec, conns: config.Connections) -> None:
    """Where the performance review's baseline will come from (the order of `performance.baseline`)."""
    what = f"baseline of {spec.name}"
    if conns.mlflow_uri:
        res.add(what, OK, "MLflow: the serving version's training metrics")
        return
    if spec.reference:
        from workbench.sources.model_registry import load_reference_file

        try:
            cols = set(load_reference_file(files.project / spec.reference).columns)
        except WorkbenchError:
            cols = set()
        c = weekly.store.columns
        if ({c.prediction, "prediction"} & cols) and ({c.outcome, "actual_outcome"} & cols):
            res.add(what, OK, f"the reference file {spec.reference} (it has predictions and outcomes)")
            return
    path = files.path("baselines")
    if path.is_file():
        try:
            if config.load_baselines(path).for_model(spec.name, None):
                res.add(what, OK, f"{path.name}")
                return
        except WorkbenchError:
            pass  # reported with the params files
    res.add(what, WARNING, "none: MLflow is not configured, the reference has no prediction/outcome columns "
            f"and {path.name} lists no {spec.name}", f"add {path} ({spec.name}: {{VERSION: {{accuracy: ...}}}}) "
            "or export predictions and outcomes with the reference; the performance review is incomplete without one")


def _check_prometheus(res: CheckResult, conns: config.Connections, catalog: config.QueryCatalog,
                      names: list[str], unreachable: str, now: dt.datetime | None) -> None:
    import requests

    url = conns.prometheus_url.rstrip("/")
    shown = config.redact(url)
    try:
        r = requests.get(f"{url}/api/v1/query", params={"query": "1"}, timeout=10)
        r.raise_for_status()
    except requests.RequestException as exc:
        res.add("Prometheus", unreachable, f"{shown} not reachable: {type(exc).__name__}",
                "check WORKBENCH_PROMETHEUS_URL and the server")
        return
    res.add("Prometheus", OK, f"{shown} answers")
    end = (now or dt.datetime.now(dt.timezone.utc))
    start = end - dt.timedelta(days=35)
    for name in names:
        absent = []
        for metric, selector in catalog_metrics(catalog).items():
            sel = selector.replace("$model", name)
            try:
                r = requests.get(f"{url}/api/v1/series", params={"match[]": sel, "start": start.timestamp(),
                                                                 "end": end.timestamp()}, timeout=10)
                data = r.json().get("data") or []
            except (requests.RequestException, ValueError):
                data = []
            if not data:
                absent.append(sel)
        if absent:
            res.add(f"Prometheus metrics for {name}", WARNING, f"no series for: {', '.join(absent)}",
                    "those panels will say 'no data'; fix the metric names in queries.yaml if yours differ")
        else:
            res.add(f"Prometheus metrics for {name}", OK, "every metric of the query catalog has series")


def _check_mlflow(res: CheckResult, conns: config.Connections, names: list[str], unreachable: str) -> None:
    from workbench.sources.model_registry import ModelRegistry

    reg = _guard(res, "MLflow", "check MLFLOW_TRACKING_URI", lambda: ModelRegistry(conns.mlflow_uri), unreachable)
    if reg is None:
        return
    for name in names:
        versions = _guard(res, f"MLflow versions of {name}", "check MLFLOW_TRACKING_URI and the registered model name",
                          lambda n=name: reg.versions(n), unreachable)
        if versions is None:
            continue
        if versions:
            res.add(f"MLflow versions of {name}", OK, ", ".join(sorted(versions)[-5:]))
        else:
            res.add(f"MLflow versions of {name}", WARNING, "no registered versions",
                    "register the model in MLflow, or set models[].reference and a baselines.yaml")
