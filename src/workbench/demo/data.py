"""Synthetic but realistic prediction history for the demo stack (deterministic from a seed).

Two models: churn-predictor (binary, versions 1.2.0/1.3.0 as A/B variants) and
revenue-predictor (regression). In the trouble period (the last full ISO week up to now)
monthly_charges shift up, the contract mix moves to month-to-month, and customers on one- and
two-year contracts start leaving (concept drift in that segment: they react to the price rise),
so churn-predictor's accuracy drops while the churn rate rises only moderately; add-on charges
billed with the price rise push revenue above what revenue-predictor predicts, so its MAE rises.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from workbench.config import last_full_week

CHURN = "churn-predictor"
REVENUE = "revenue-predictor"
CHURN_VERSIONS = {"1.2.0": "A", "1.3.0": "B"}
REVENUE_VERSION = "2.0.0"

CONTRACTS = ["Month-to-month", "One year", "Two year"]
PAYMENTS = ["Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)"]
INTERNET = ["DSL", "Fiber optic", "No"]
NUMERIC_FEATURES = ["tenure", "monthly_charges", "total_charges", "num_support_tickets"]
CATEGORICAL_FEATURES = ["contract", "payment_method", "internet_service", "senior_citizen", "paperless_billing"]
FEATURES = NUMERIC_FEATURES + CATEGORICAL_FEATURES


@dataclass(frozen=True)
class Incidents:
    """When the injected trouble happens (UTC)."""

    drift_start: dt.datetime
    latency: tuple[dt.datetime, dt.datetime]
    errors: tuple[dt.datetime, dt.datetime]
    outages: dict[str, tuple[dt.datetime, dt.datetime]] = field(default_factory=dict)


def plan_incidents(end: dt.datetime) -> Incidents:
    """Place the trouble inside the last full ISO week (what the default report reads) and,
    where the calendar allows, inside the last 7 days."""
    week = last_full_week(end)
    drift_start = min(week.start, end - dt.timedelta(days=7))
    sat = week.end - dt.timedelta(days=2)
    fri = week.end - dt.timedelta(days=3)
    return Incidents(
        drift_start=drift_start,
        latency=(sat + dt.timedelta(hours=14), sat + dt.timedelta(hours=14, minutes=50)),
        errors=(fri + dt.timedelta(hours=10), fri + dt.timedelta(hours=10, minutes=30)),
        outages={
            "redis-exporter": (week.start - dt.timedelta(days=5, hours=-3), week.start - dt.timedelta(days=5, hours=-3, minutes=-15)),
            "mlflow": (week.start + dt.timedelta(days=2, hours=4), week.start + dt.timedelta(days=2, hours=4, minutes=20)),
        },
    )


def sample_customers(rng: np.random.Generator, n: int, drifted: np.ndarray | bool = False) -> pd.DataFrame:
    """n customers' churn features; rows where `drifted` is true come from the shifted population."""
    drifted = np.broadcast_to(np.asarray(drifted, dtype=bool), (n,))
    u = rng.random(n)
    base = np.array([0.55, 0.21, 0.24]).cumsum()
    shifted = np.array([0.72, 0.15, 0.13]).cumsum()
    contract = np.where(drifted, np.searchsorted(shifted, u), np.searchsorted(base, u)).clip(0, 2)
    tenure = np.select(
        [contract == 0, contract == 1],
        [rng.gamma(1.3, 12.0, n), rng.uniform(8, 60, n)],
        rng.uniform(24, 72, n),
    ).round().clip(0, 72)
    internet = np.searchsorted(np.array([0.34, 0.78, 1.0]), rng.random(n)).clip(0, 2)
    charges = np.select(
        [internet == 0, internet == 1],
        [rng.normal(58, 12, n), rng.normal(88, 11, n)],
        rng.normal(21, 2.5, n),
    )
    charges = np.where(drifted, charges * 1.12 + 2.0, charges).clip(18, 125).round(2)
    total = (tenure * charges * rng.uniform(0.92, 1.04, n)).round(2)
    total = np.where(tenure == 0, np.nan, total)  # new customers have no billing history yet
    payment = np.searchsorted(np.array([0.34, 0.57, 0.79, 1.0]), rng.random(n)).clip(0, 3)
    tickets = rng.poisson(np.where(internet == 1, 1.6, 0.9))
    return pd.DataFrame(
        {
            "tenure": tenure.astype(float),
            "monthly_charges": charges,
            "total_charges": total,
            "num_support_tickets": tickets.astype(float),
            "contract": np.array(CONTRACTS, dtype=object)[contract],
            "payment_method": np.array(PAYMENTS, dtype=object)[payment],
            "internet_service": np.array(INTERNET, dtype=object)[internet],
            "senior_citizen": (rng.random(n) < 0.16).astype(int).astype(str),
            "paperless_billing": np.where(rng.random(n) < 0.59, "Yes", "No").astype(object),
        }
    )


def churn_logit(df: pd.DataFrame) -> np.ndarray:
    """The true log-odds of churn that the models learned."""
    c = df["contract"].to_numpy()
    return (
        -2.1
        + 2.2 * (c == "Month-to-month")
        - 2.0 * (c == "Two year")
        - 0.06 * df["tenure"].to_numpy()
        + 0.035 * (df["monthly_charges"].to_numpy() - 65)
        + 1.0 * (df["internet_service"].to_numpy() == "Fiber optic")
        + 0.8 * (df["payment_method"].to_numpy() == "Electronic check")
        + 0.4 * (df["senior_citizen"].to_numpy() == "1")
        + 0.35 * df["num_support_tickets"].to_numpy()
    )


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def request_rate(minutes: pd.DatetimeIndex, weekly_volume: int) -> np.ndarray:
    """Expected requests per minute: a daily cycle and quieter weekends, averaging weekly_volume/week."""
    hour = minutes.hour.to_numpy() + minutes.minute.to_numpy() / 60
    daily = 1 + 0.6 * np.sin((hour - 9) / 24 * 2 * np.pi)
    weekend = np.where(minutes.dayofweek.to_numpy() >= 5, 0.7, 1.0)
    shape = daily * weekend
    return shape / shape.mean() * weekly_volume * 1.02 / (7 * 1440)


@dataclass
class DemoHistory:
    """Everything the demo stack is built from."""

    end: dt.datetime
    minutes: pd.DatetimeIndex
    predictions: pd.DataFrame
    errors_per_minute: dict[tuple[str, str], np.ndarray]
    latency_median: np.ndarray
    incidents: Incidents
    references: dict[tuple[str, str], pd.DataFrame]
    # what the metrics writer needs to know per model (the defaults describe the two-model demo)
    model_types: dict[str, str] = field(default_factory=lambda: {CHURN: "classification", REVENUE: "regression"})
    drift_features: dict[tuple[str, str], list[str]] = field(
        default_factory=lambda: {(CHURN, "1.2.0"): FEATURES, (REVENUE, REVENUE_VERSION): FEATURES})
    latency_by_model: dict[str, np.ndarray] = field(default_factory=dict)
    model_features: dict[str, list[str]] = field(default_factory=dict)  # logged features (default: all)


def _predictions_for(
    rng: np.random.Generator,
    minutes: pd.DatetimeIndex,
    counts: np.ndarray,
    drift_start: dt.datetime,
) -> tuple[pd.DataFrame, np.ndarray]:
    idx = np.repeat(np.arange(len(minutes)), counts)
    ts = minutes.asi8[idx] // 1000 + (rng.random(len(idx)) * 60e6).astype(np.int64)  # microseconds
    t = pd.to_datetime(ts, unit="us", utc=True)
    drifted = t >= pd.Timestamp(drift_start)
    feats = sample_customers(rng, len(idx), np.asarray(drifted))
    feats.insert(0, "timestamp", t)
    return feats, np.asarray(drifted)


def _outcome_times(rng: np.random.Generator, ts: pd.Series, median_days: float, end: dt.datetime) -> pd.Series:
    delay = pd.to_timedelta(rng.lognormal(np.log(median_days * 24), 0.6, len(ts)), unit="h")
    out = ts + delay
    never = rng.random(len(ts)) < 0.08
    return out.dt.floor("us").where(~never & (out <= pd.Timestamp(end)))


def generate(end: dt.datetime, seed: int = 7, weekly_volume: int = 100_000, days: int = 28) -> DemoHistory:
    """Build the full demo history ending at `end` (UTC, rounded down to the minute)."""
    end = end.astimezone(dt.timezone.utc).replace(second=0, microsecond=0)
    rng = np.random.default_rng(seed)
    incidents = plan_incidents(end)
    minutes = pd.date_range(end - dt.timedelta(days=days), end, freq="min", inclusive="left", tz="UTC")
    in_errors = (minutes >= incidents.errors[0]) & (minutes < incidents.errors[1])
    in_latency = (minutes >= incidents.latency[0]) & (minutes < incidents.latency[1])
    latency_median = np.where(in_latency, 1.6, 0.045)

    frames, errors = [], {}
    # churn-predictor: 1.2.0 (variant A) and 1.3.0 (variant B) split 50/50
    churn_counts = rng.poisson(request_rate(minutes, weekly_volume))
    churn, drifted = _predictions_for(rng, minutes, churn_counts, incidents.drift_start)
    logit = churn_logit(churn)
    is_b = rng.random(len(churn)) < 0.5
    noise = rng.normal(0, np.where(is_b, 0.45, 0.7))
    prob = _sigmoid(logit + noise)
    # concept drift in one segment: after the price rise, customers on one- and two-year contracts
    # (whom the model learned to see as safe) buy out their contracts and leave; the rest behave as before
    on_contract = churn["contract"].to_numpy() != "Month-to-month"
    true_logit = logit + np.where(drifted & on_contract, 3.6, 0.0)
    actual = (rng.random(len(churn)) < _sigmoid(true_logit)).astype(int)
    churn["model_name"] = CHURN
    churn["model_version"] = np.where(is_b, "1.3.0", "1.2.0")
    churn["variant"] = np.where(is_b, "B", "A")
    churn["prediction"] = (prob >= 0.5).astype(float)
    churn["probability"] = prob.round(6)
    churn["actual_outcome"] = actual.astype(float)
    churn["outcome_timestamp"] = _outcome_times(rng, churn["timestamp"], 3.0, end)
    frames.append(churn)
    err_rate = np.where(in_errors, 0.20, 0.0008)
    for v in CHURN_VERSIONS:
        per_v = np.bincount(
            np.repeat(np.arange(len(minutes)), churn_counts)[churn["model_version"].to_numpy() == v],
            minlength=len(minutes),
        )
        errors[(CHURN, v)] = rng.poisson(per_v * err_rate / (1 - err_rate))

    # revenue-predictor: regression of next month's revenue
    rev_counts = rng.poisson(request_rate(minutes, int(weekly_volume * 0.3)))
    rev, rev_drifted = _predictions_for(rng, minutes, rev_counts, incidents.drift_start)
    mc = rev["monthly_charges"].to_numpy()
    # with the price rise come add-on charges billed on top of the monthly charge, which the model
    # never saw: revenue runs ~5% above its prediction, so its MAE rises well past the 5% tolerance
    uplift = np.where(rev_drifted, 1.05, 1.0)
    actual_rev = mc * uplift * rng.normal(1.0, 0.06, len(rev)) + rng.gamma(1.5, 4.0, len(rev))
    rev["model_name"] = REVENUE
    rev["model_version"] = REVENUE_VERSION
    rev["variant"] = None
    rev["prediction"] = (0.99 * mc + 6.0 + rng.normal(0, 2.0, len(rev))).round(2)
    rev["probability"] = np.nan
    rev["actual_outcome"] = actual_rev.round(2)
    rev["outcome_timestamp"] = _outcome_times(rng, rev["timestamp"], 2.0, end)
    frames.append(rev)
    errors[(REVENUE, REVENUE_VERSION)] = rng.poisson(rev_counts * err_rate / (1 - err_rate))

    preds = pd.concat(frames, ignore_index=True).sort_values("timestamp", kind="stable", ignore_index=True)
    preds["actual_outcome"] = preds["actual_outcome"].where(preds["outcome_timestamp"].notna())
    preds.insert(0, "prediction_id", [f"p{seed:02d}-{i:09d}" for i in range(len(preds))])

    references = {}
    for model, versions in ((CHURN, list(CHURN_VERSIONS)), (REVENUE, [REVENUE_VERSION])):
        for v in versions:
            ref = sample_customers(rng, 20_000)
            if model == CHURN:
                lg = churn_logit(ref)
                ref["target"] = (rng.random(len(ref)) < _sigmoid(lg)).astype(int)
                ref["probability"] = _sigmoid(lg + rng.normal(0, 0.45 if v == "1.3.0" else 0.7, len(ref))).round(6)
                ref["prediction"] = (ref["probability"] >= 0.5).astype(int)
            else:
                mc = ref["monthly_charges"].to_numpy()
                ref["target"] = (mc * rng.normal(1.0, 0.06, len(ref)) + rng.gamma(1.5, 4.0, len(ref))).round(2)
                ref["prediction"] = (0.99 * mc + 6.0 + rng.normal(0, 2.0, len(ref))).round(2)
            references[(model, v)] = ref
    return DemoHistory(end, minutes, preds, errors, latency_median, incidents, references)


# --- a generated fleet (`workbench demo up --models N`) ------------------------------------

FLEET_VERSION = "1.0.0"


@dataclass(frozen=True)
class FleetModel:
    """One generated model: its type, the features it logs, its volume and the trouble injected."""

    name: str
    type: str  # classification | regression
    features: tuple[str, ...]
    weekly_volume: int
    trouble: tuple[str, ...]  # any of: drift (feature + concept drift), latency, errors


def fleet_specs(n: int, seed: int = 7, mean_weekly_volume: int = 5_000) -> list[FleetModel]:
    """N models, alternating classification/regression, each with its own feature subset and volume;
    every third model drifts, every fifth has a latency incident and every seventh an error burst."""
    if n < 1:
        raise ValueError(f"a fleet needs at least one model, got {n}")
    rng = np.random.default_rng(seed + 100)
    out = []
    for i in range(n):
        kind = "classification" if i % 2 == 0 else "regression"
        k = int(rng.integers(4, len(FEATURES) + 1))
        picked = set(rng.choice(FEATURES, k, replace=False)) | {"monthly_charges"}
        feats = tuple(f for f in FEATURES if f in picked)
        volume = max(200, int(mean_weekly_volume * rng.uniform(0.4, 1.6)))
        trouble = tuple(t for t, hit in (("drift", i % 3 == 1), ("latency", i % 5 == 3), ("errors", i % 7 == 5)) if hit)
        out.append(FleetModel(f"model-{i + 1:03d}", kind, feats, volume, trouble))
    return out


def fleet_days(end: dt.datetime) -> int:
    """History long enough for the last full week and the one before it (week over week)."""
    start = last_full_week(end).start - dt.timedelta(days=7)
    return int(np.ceil((end - start).total_seconds() / 86400))


def generate_fleet(end: dt.datetime, specs: list[FleetModel], seed: int = 7, days: int | None = None,
                   reference_rows: int = 5_000) -> DemoHistory:
    """The history of a generated fleet ending at `end` (same shape as the two-model demo's)."""
    end = end.astimezone(dt.timezone.utc).replace(second=0, microsecond=0)
    rng = np.random.default_rng(seed)
    incidents = plan_incidents(end)
    days = days or fleet_days(end)
    minutes = pd.date_range(end - dt.timedelta(days=days), end, freq="min", inclusive="left", tz="UTC")
    in_errors = np.asarray((minutes >= incidents.errors[0]) & (minutes < incidents.errors[1]))
    in_latency = np.asarray((minutes >= incidents.latency[0]) & (minutes < incidents.latency[1]))
    never = end + dt.timedelta(days=1)
    frames, errors, refs, latency, types, drift_feats, model_feats = [], {}, {}, {}, {}, {}, {}
    for m in specs:
        counts = rng.poisson(request_rate(minutes, m.weekly_volume))
        df, drifted = _predictions_for(rng, minutes, counts, incidents.drift_start if "drift" in m.trouble else never)
        ref = sample_customers(rng, reference_rows)
        if m.type == "classification":
            logit = churn_logit(df)
            prob = _sigmoid(logit + rng.normal(0, 0.5, len(df)))
            true_logit = logit + np.where(drifted, 2.8 + 0.06 * (df["monthly_charges"].to_numpy() - 65), 0.0)
            df["prediction"] = (prob >= 0.5).astype(float)
            df["probability"] = prob.round(6)
            df["actual_outcome"] = (rng.random(len(df)) < _sigmoid(true_logit)).astype(float)
            lg = churn_logit(ref)
            ref["target"] = (rng.random(len(ref)) < _sigmoid(lg)).astype(int)
            ref["probability"] = _sigmoid(lg + rng.normal(0, 0.5, len(ref))).round(6)
            ref["prediction"] = (ref["probability"] >= 0.5).astype(int)
        else:
            mc = df["monthly_charges"].to_numpy()
            df["prediction"] = (0.99 * mc + 6.0 + rng.normal(0, 2.0, len(df))).round(2)
            df["probability"] = np.nan
            df["actual_outcome"] = (mc * rng.normal(1.0, 0.06, len(df)) + rng.gamma(1.5, 4.0, len(df))).round(2)
            rmc = ref["monthly_charges"].to_numpy()
            ref["target"] = (rmc * rng.normal(1.0, 0.06, len(ref)) + rng.gamma(1.5, 4.0, len(ref))).round(2)
            ref["prediction"] = (0.99 * rmc + 6.0 + rng.normal(0, 2.0, len(ref))).round(2)
        for f in FEATURES:  # features the model does not log are absent (NULL) in the shared table
            if f not in m.features:
                df[f] = np.nan if f in NUMERIC_FEATURES else None
        df["model_name"] = m.name
        df["model_version"] = FLEET_VERSION
        df["variant"] = None
        df["outcome_timestamp"] = _outcome_times(rng, df["timestamp"], 2.5, end)
        frames.append(df)
        err_rate = np.where(in_errors, 0.20, 0.0008) if "errors" in m.trouble else np.full(len(minutes), 0.0008)
        errors[(m.name, FLEET_VERSION)] = rng.poisson(counts * err_rate / (1 - err_rate))
        refs[(m.name, FLEET_VERSION)] = ref[[*m.features, *[c for c in ref.columns if c not in FEATURES]]]
        latency[m.name] = np.where(in_latency, 1.6, 0.045) if "latency" in m.trouble else np.full(len(minutes), 0.045)
        types[m.name] = m.type
        drift_feats[(m.name, FLEET_VERSION)] = [f for f in ("monthly_charges", "contract") if f in m.features]
        model_feats[m.name] = list(m.features)
    preds = pd.concat(frames, ignore_index=True).sort_values("timestamp", kind="stable", ignore_index=True)
    preds["actual_outcome"] = preds["actual_outcome"].where(preds["outcome_timestamp"].notna())
    preds.insert(0, "prediction_id", [f"f{seed:02d}-{i:09d}" for i in range(len(preds))])
    return DemoHistory(end, minutes, preds, errors, np.full(len(minutes), 0.045), incidents, refs,
                       model_types=types, drift_features=drift_feats, latency_by_model=latency, model_features=model_feats)
