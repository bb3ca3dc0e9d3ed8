"""The demo's Prometheus history, written as OpenMetrics for `promtool tsdb create-blocks-from`.

Every series is derived from the same DemoHistory as the prediction DB, so request counts in
Prometheus match the predictions logged (successful requests = rows in the DB).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Iterable

import numpy as np
import pandas as pd
from scipy import stats

from workbench.demo.data import CATEGORICAL_FEATURES, CHURN, NUMERIC_FEATURES, DemoHistory

SCRAPE_SECONDS = 60
BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]
JOBS = {"mlops-api": "api:8000", "mlflow": "mlflow:5000", "postgres-exporter": "postgres-exporter:9187",
        "redis-exporter": "redis-exporter:9121"}


def _labels(d: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in d.items()) + "}"


class _Writer:
    """Writes each series split by time into several files, so promtool can backfill them in parallel."""

    def __init__(self, fhs: list[IO[str]], ts: np.ndarray):
        self.fhs = fhs
        self.ts = [str(t) for t in ts]
        self.cuts = np.linspace(0, len(ts), len(fhs) + 1).astype(int)

    def family(self, name: str, kind: str, help_text: str) -> None:
        for fh in self.fhs:
            fh.write(f"# HELP {name} {help_text}\n# TYPE {name} {kind}\n")

    def series(self, name: str, labels: dict[str, str], values: np.ndarray, integer: bool = False) -> None:
        prefix = name + _labels(labels) + " "
        vals = values.astype(np.int64).astype(str) if integer else np.char.mod("%.6g", values)
        for fh, a, b in zip(self.fhs, self.cuts[:-1], self.cuts[1:]):
            fh.write("".join(f"{prefix}{v} {t}\n" for v, t in zip(vals[a:b], self.ts[a:b])))


def _per_minute(ts: pd.Series, minutes: pd.DatetimeIndex, mask: np.ndarray | None = None) -> np.ndarray:
    idx = ((ts.astype("int64") // 10**3 - minutes.asi8[0] // 10**3) // 60_000_000).to_numpy()
    if mask is not None:
        idx = idx[mask]
    return np.bincount(idx, minlength=len(minutes))[: len(minutes)]


def _histogram(w: _Writer, name: str, labels: dict[str, str], counts: np.ndarray, median: np.ndarray,
               sigma: float = 0.5) -> None:
    cum_counts = np.cumsum(counts)
    for le in BUCKETS:
        frac = stats.norm.cdf((np.log(le) - np.log(median)) / sigma)
        w.series(name + "_bucket", {**labels, "le": str(le)}, np.cumsum(np.round(counts * frac)), integer=True)
    w.series(name + "_bucket", {**labels, "le": "+Inf"}, cum_counts, integer=True)
    mean = median * np.exp(sigma**2 / 2)
    w.series(name + "_sum", labels, np.cumsum(counts * mean))
    w.series(name + "_count", labels, cum_counts, integer=True)


def _psi_by_hour(h: DemoHistory, model: str, version: str, feature: str) -> np.ndarray:
    """Trailing-24h PSI of `feature` against the reference, per minute (step-filled hourly)."""
    ref = h.references[(model, version)][feature]
    p = h.predictions
    cur = p.loc[p["model_name"] == model, [feature, "timestamp"]]
    if feature in NUMERIC_FEATURES:
        edges = np.unique(np.nanquantile(ref.to_numpy(float), np.linspace(0, 1, 11))[1:-1])
        ref_codes = np.searchsorted(edges, ref.to_numpy(float), side="right")
        cur_codes = np.searchsorted(edges, cur[feature].to_numpy(float), side="right")
        nb = len(edges) + 1
    else:
        cats = sorted(set(ref.astype(str)))
        lookup = {c: i for i, c in enumerate(cats)}
        ref_codes = ref.astype(str).map(lookup).to_numpy()
        cur_codes = cur[feature].astype(str).map(lambda c: lookup.get(c, len(cats))).to_numpy()
        nb = len(cats) + 1
    ref_p = np.bincount(ref_codes, minlength=nb) / len(ref_codes)
    hours = len(h.minutes) // 60
    hour_idx = _per_minute_index(cur["timestamp"], h.minutes) // 60
    counts = np.bincount(hour_idx * nb + cur_codes, minlength=hours * nb)[: hours * nb].reshape(hours, nb)
    window = pd.DataFrame(counts).rolling(24, min_periods=1).sum().to_numpy()
    cur_p = window / window.sum(axis=1, keepdims=True)
    eps = 1e-4
    a, b = np.clip(cur_p, eps, None), np.clip(ref_p, eps, None)
    psi = ((a - b) * np.log(a / b)).sum(axis=1)
    return np.repeat(psi, 60)[: len(h.minutes)]


def _per_minute_index(ts: pd.Series, minutes: pd.DatetimeIndex) -> np.ndarray:
    return ((ts.astype("int64").to_numpy() // 1000 - minutes.asi8[0] // 1000) // 60_000_000).astype(np.int64)


def _rolling_accuracy(h: DemoHistory, model: str, version: str) -> np.ndarray:
    """Accuracy over the trailing 24 h of predictions whose outcomes are known, per minute."""
    p = h.predictions
    sel = (p["model_name"] == model) & (p["model_version"] == version) & p["actual_outcome"].notna()
    g = p.loc[sel]
    idx = _per_minute_index(g["timestamp"], h.minutes)
    n = np.bincount(idx, minlength=len(h.minutes))
    ok = np.bincount(idx, weights=(g["prediction"] == g["actual_outcome"]).to_numpy(float), minlength=len(h.minutes))
    rn = pd.Series(n).rolling(1440, min_periods=1).sum().to_numpy()
    rok = pd.Series(ok).rolling(1440, min_periods=1).sum().to_numpy()
    acc = np.divide(rok, rn, out=np.full(len(rn), np.nan), where=rn >= 50)
    return pd.Series(acc).ffill().bfill().to_numpy()


def _down_mask(h: DemoHistory, job: str) -> np.ndarray:
    mask = np.zeros(len(h.minutes), bool)
    if job in h.incidents.outages:
        a, b = h.incidents.outages[job]
        mask = (h.minutes >= a) & (h.minutes < b)
    return np.asarray(mask)


def write_openmetrics(h: DemoHistory, paths: list[Path], seed: int = 7) -> int:
    """Write every demo series, split by time over `paths`; returns the number of series."""
    rng = np.random.default_rng(seed + 1)
    ts = (h.minutes.asi8 // 10**9) + SCRAPE_SECONDS - 1  # scrape at the end of each minute
    p = h.predictions
    n_series = 0
    fhs = [open(p, "w") for p in paths]
    try:
        w = _Writer(fhs, ts)
        versions = [(m, v) for (m, v) in h.errors_per_minute]
        ok = {(m, v): _per_minute(p["timestamp"], h.minutes, ((p["model_name"] == m) & (p["model_version"] == v)).to_numpy())
              for m, v in versions}

        w.family("prediction_requests", "counter", "Prediction requests by model, version and outcome.")
        for m, v in versions:
            w.series("prediction_requests_total", {"model": m, "version": v, "status": "success"}, np.cumsum(ok[(m, v)]), True)
            w.series("prediction_requests_total", {"model": m, "version": v, "status": "error"},
                     np.cumsum(h.errors_per_minute[(m, v)]), True)
            n_series += 2

        w.family("prediction_duration_seconds", "histogram", "Model prediction duration.")
        for m, v in versions:
            _histogram(w, "prediction_duration_seconds", {"model": m, "version": v}, ok[(m, v)],
                       h.latency_by_model.get(m, h.latency_median))
            n_series += len(BUCKETS) + 3

        total_ok = sum(ok.values())
        total_err = sum(h.errors_per_minute.values())
        health = np.full(len(h.minutes), 4)
        models_calls = rng.poisson(2.0, len(h.minutes))
        w.family("http_request_duration_seconds", "histogram", "HTTP request duration.")
        _histogram(w, "http_request_duration_seconds", {"method": "POST", "endpoint": "/predict"},
                   total_ok + total_err, h.latency_median + 0.015)
        _histogram(w, "http_request_duration_seconds", {"method": "GET", "endpoint": "/health"}, health,
                   np.full(len(h.minutes), 0.003), 0.3)
        n_series += 2 * (len(BUCKETS) + 3)

        w.family("http_requests", "counter", "HTTP requests by method, endpoint and status.")
        for labels, vals in (
            ({"method": "POST", "endpoint": "/predict", "status": "200"}, total_ok),
            ({"method": "POST", "endpoint": "/predict", "status": "500"}, total_err),
            ({"method": "GET", "endpoint": "/health", "status": "200"}, health),
            ({"method": "GET", "endpoint": "/models", "status": "200"}, models_calls),
        ):
            w.series("http_requests_total", labels, np.cumsum(vals), True)
            n_series += 1

        w.family("model_accuracy_score", "gauge", "Accuracy over the trailing 24 h of labelled predictions.")
        for m, v in versions:
            if h.model_types.get(m) == "classification":
                w.series("model_accuracy_score", {"model": m, "version": v}, _rolling_accuracy(h, m, v))
                n_series += 1

        w.family("data_drift_score", "gauge", "PSI of the trailing 24 h against the reference, per feature.")
        for (m, v), feats in h.drift_features.items():
            for f in feats:
                w.series("data_drift_score", {"model": m, "feature": f}, _psi_by_hour(h, m, v, f))
                n_series += 1

        churn = p["model_name"] == CHURN
        w.family("model_predictions_by_class", "unknown", "Predictions by predicted class (cumulative count).")
        for model in [m for m, t in h.model_types.items() if t == "classification"]:
            this = (p["model_name"] == model).to_numpy()
            for cls in ("0", "1"):
                w.series("model_predictions_by_class", {"model": model, "class": cls},
                         np.cumsum(_per_minute(p["timestamp"], h.minutes, this & (p["prediction"] == float(cls)).to_numpy())), True)
                n_series += 1

        w.family("ab_test_conversions", "unknown", "Retention offers accepted, by A/B variant (cumulative count).")
        for variant, rate in (("A", 0.10), ("B", 0.11)):
            positives = _per_minute(p["timestamp"], h.minutes, (churn & (p["variant"] == variant) & (p["prediction"] == 1.0)).to_numpy())
            w.series("ab_test_conversions", {"experiment": "model_v2", "variant": variant},
                     np.cumsum(rng.binomial(positives, rate)), True)
            n_series += 1

        load = (total_ok + total_err) / max(1.0, float(np.mean(total_ok + total_err)))
        slow = h.latency_median > 0.5
        conns = np.clip(np.round(4 + 6 * load + rng.normal(0, 1, len(load)) + np.where(slow, 14, 0)), 1, 20)
        w.family("database_connections_active", "gauge", "Active database connections.")
        w.series("database_connections_active", {"database": "mlops_db"}, conns, True)
        n_series += 1

        gets = total_ok + total_err
        hits = rng.binomial(gets, 0.89)
        w.family("redis_cache_hits", "counter", "Redis cache hits.")
        w.series("redis_cache_hits_total", {"operation": "get"}, np.cumsum(hits), True)
        w.family("redis_cache_misses", "counter", "Redis cache misses.")
        w.series("redis_cache_misses_total", {"operation": "get"}, np.cumsum(gets - hits), True)
        n_series += 2

        w.family("mlflow_server_up", "gauge", "MLflow server health check (1 = up).")
        w.series("mlflow_server_up", {"instance": "mlflow:5000"}, (~_down_mask(h, "mlflow")).astype(int), True)
        n_series += 1

        w.family("up", "gauge", "Whether the scrape target was reachable.")
        for job, inst in JOBS.items():
            w.series("up", {"job": job, "instance": inst}, (~_down_mask(h, job)).astype(int), True)
            n_series += 1

        w.family("scrape_duration_seconds", "gauge", "Duration of the scrape.")
        scraped = {}
        for job, inst in JOBS.items():
            down = _down_mask(h, job)
            dur = np.where(down, np.nan, np.abs(rng.normal(0.012 if job == "mlops-api" else 0.006, 0.002, len(load))))
            w.series("scrape_duration_seconds", {"job": job, "instance": inst}, np.nan_to_num(dur, nan=10.0))
            scraped[job] = np.where(down, 0, {"mlops-api": 420, "mlflow": 180, "postgres-exporter": 310,
                                              "redis-exporter": 150}[job])
            n_series += 1
        w.family("scrape_samples_scraped", "gauge", "Samples the target exposed.")
        for job, inst in JOBS.items():
            w.series("scrape_samples_scraped", {"job": job, "instance": inst}, scraped[job], True)
            n_series += 1

        w.family("process_cpu_seconds", "counter", "CPU time used by the process.")
        mem = {}
        for job in ("mlops-api", "mlflow"):
            cpu = 0.002 * (total_ok + total_err) + 0.5 if job == "mlops-api" else np.full(len(load), 0.3)
            w.series("process_cpu_seconds_total", {"job": job, "instance": JOBS[job]}, np.cumsum(cpu * rng.uniform(0.9, 1.1, len(load))))
            mem[job] = (480e6 if job == "mlops-api" else 310e6) + 40e6 * np.sin(np.arange(len(load)) / 1440 * 2 * np.pi) \
                + rng.normal(0, 5e6, len(load))
            n_series += 1
        w.family("process_resident_memory_bytes", "gauge", "Resident memory of the process.")
        for job, vals in mem.items():
            w.series("process_resident_memory_bytes", {"job": job, "instance": JOBS[job]}, np.round(vals), True)
            n_series += 1
        for fh in fhs:
            fh.write("# EOF\n")
    finally:
        for fh in fhs:
            fh.close()
    return n_series
