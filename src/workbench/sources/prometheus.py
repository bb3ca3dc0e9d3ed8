"""Read Prometheus (or anything speaking its HTTP API) into tidy DataFrames.

One requests session over Prometheus' documented HTTP API: range queries are split so no request asks for more
than Prometheus' 11,000 points per series, requests time out, errors name the query and the
server (never its credentials), and "NaN"/"+Inf" values parse as floats.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import requests
from urllib3.util.retry import Retry

from workbench.config import redact
from workbench.errors import SourceUnavailable
from workbench.timing import timed_call

MAX_POINTS = 11_000
# a folder shared by every notebook of one `workbench report` run (set by the runner): a Prometheus that
# timed out or could not be reached for one notebook is not asked again by the next ones
RUN_STATE_ENV = "WORKBENCH_RUN_STATE_DIR"


def _utc(t: dt.datetime) -> dt.datetime:
    if t.tzinfo is None:
        raise ValueError(f"timestamp {t!r} is naive: pass timezone-aware UTC datetimes")
    return t.astimezone(dt.timezone.utc)


def split_range(start: dt.datetime, end: dt.datetime, step_s: float, max_points: int = MAX_POINTS
                ) -> list[tuple[dt.datetime, dt.datetime]]:
    """Consecutive [start, end] pieces of at most `max_points` evaluation points each, no overlap."""
    start, end = _utc(start), _utc(end)
    if step_s <= 0:
        raise ValueError("step must be positive")
    span = dt.timedelta(seconds=step_s * (max_points - 1))
    pieces, t = [], start
    while t <= end:
        stop = min(t + span, end)
        pieces.append((t, stop))
        t = stop + dt.timedelta(seconds=step_s)
    return pieces


def to_frame(result: list[dict], kind: str) -> pd.DataFrame:
    """Prometheus' JSON result (vector or matrix) as rows: timestamp (UTC), one column per label, value."""
    rows = []
    if kind == "vector" and len(result) == 2 and not isinstance(result[0], dict):  # a scalar: [ts, "value"]
        result = [{"metric": {}, "value": result}]
    for series in result:
        labels = series.get("metric", {})
        points = series.get("values") if kind == "matrix" else [series.get("value")]
        for ts, val in points or []:
            rows.append({**labels, "timestamp": float(ts), "value": float(val)})
    if not rows:
        return pd.DataFrame(columns=["timestamp", "value"]).astype({"timestamp": "datetime64[ns, UTC]", "value": float})
    df = pd.DataFrame(rows)
    df["timestamp"] = pd.to_datetime(df["timestamp"], unit="s", utc=True)
    labels = [c for c in df.columns if c not in ("timestamp", "value")]
    return df[["timestamp", *sorted(labels), "value"]]


@dataclass
class PrometheusSource:
    """A server speaking the Prometheus HTTP API: `query` (instant) and `query_range` return tidy frames.

    Requests go to the documented /api/v1/query and /api/v1/query_range endpoints (so Thanos, Mimir
    and VictoriaMetrics work too) over one session: bounded timeouts, retries only on 502/503/504
    and connection errors, never on a 4xx nor after a read timeout (a server that accepted the query
    and did not answer in time would only make each retry wait as long); the server's error text and
    warnings are kept. A server that timed out or could not be reached is not asked again in this
    run: by this source, nor (under `workbench report`) by the run's other notebooks.
    (prometheus-api-client is not used: its query methods drop warnings and error bodies, which a
    report must show, and this session already gives timeouts, retries and auth.)
    """

    url: str = field(repr=False)
    timeout: float = 30.0
    max_points: int = MAX_POINTS
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        from requests.adapters import HTTPAdapter

        self.url = self.url.rstrip("/")
        retry = Retry(total=2, read=False, backoff_factor=0.3, status_forcelist=[502, 503, 504],
                      allowed_methods=["GET", "POST"], raise_on_status=False)
        self._session = requests.Session()
        self._session.mount("http://", HTTPAdapter(max_retries=retry))
        self._session.mount("https://", HTTPAdapter(max_retries=retry))

    @property
    def display_url(self) -> str:
        return redact(self.url)

    def _fail(self, query: str, exc: Exception) -> SourceUnavailable:
        text = redact(str(exc).replace(self.url, self.display_url))
        if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
            # remember: every later query would wait for the same timeouts
            if isinstance(exc, requests.ReadTimeout):
                why = f"did not answer within the read timeout of {self.timeout:g} s"
            elif isinstance(exc, requests.ConnectTimeout):
                why = f"did not accept a connection within the connect timeout of {self.timeout:g} s"
            else:
                why = f"is unreachable ({type(exc).__name__})"
            self._unreachable = f"Prometheus at {self.display_url} {why}"
            self._share_down(self._unreachable)
            return SourceUnavailable(f"{self._unreachable}; query {query!r} not run")
        return SourceUnavailable(f"Prometheus at {self.display_url}: query {query!r} failed: {text}")

    def _down_file(self) -> Path | None:
        """This server's marker in the run's shared folder (None outside `workbench report`)."""
        folder = os.environ.get(RUN_STATE_ENV, "")
        if not folder or not Path(folder).is_dir():
            return None
        return Path(folder) / f"prometheus-{hashlib.sha256(self.display_url.encode()).hexdigest()[:16]}.down"

    def _share_down(self, why: str) -> None:
        marker = self._down_file()
        if marker is not None:
            try:
                marker.write_text(why, encoding="utf-8")
            except OSError:  # the run's folder is gone: only this notebook remembers
                pass

    def _check_reachable(self, query: str) -> None:
        if not getattr(self, "_unreachable", None):
            marker = self._down_file()
            if marker is not None and marker.is_file():
                self._unreachable = marker.read_text(encoding="utf-8") + " (earlier in this run)"
        if getattr(self, "_unreachable", None):
            raise SourceUnavailable(f"{self._unreachable}; query {query!r} not run")

    def _api(self, endpoint: str, query: str, params: dict) -> dict:
        self._check_reachable(query)
        try:
            r = self._session.post(f"{self.url}/api/v1/{endpoint}", data={"query": query, **params},
                                   timeout=self.timeout)
        except requests.RequestException as exc:
            raise self._fail(query, exc) from exc
        try:
            body = r.json()
        except ValueError:
            body = {}
        if r.status_code != 200 or body.get("status") != "success":
            detail = body.get("error") or r.text[:300]
            kind = body.get("errorType", f"HTTP {r.status_code}")
            raise SourceUnavailable(f"Prometheus at {self.display_url}: query {query!r} failed: "
                                    f"{kind}: {redact(str(detail))}")
        for w in body.get("warnings") or []:
            self.warnings.append(f"{query}: {w}")
        return body["data"]

    @timed_call("prometheus: instant query")
    def query(self, promql: str, at: dt.datetime | None = None) -> pd.DataFrame:
        """Instant query at `at` (default: now)."""
        params = {"time": _utc(at).timestamp()} if at is not None else {}
        data = self._api("query", promql, params)
        if data.get("resultType") in ("scalar", "string"):
            return to_frame([{"metric": {}, "value": data["result"]}], "vector")
        return to_frame(data["result"], "vector")

    @timed_call("prometheus: range query")
    def query_range(self, promql: str, start: dt.datetime, end: dt.datetime, step: float | str = 60
                    ) -> pd.DataFrame:
        """Range query over [start, end], split into requests of at most max_points per series."""
        from workbench.config import parse_duration

        step_s = parse_duration(step) if isinstance(step, str) else float(step)
        frames = []
        for a, b in split_range(start, end, step_s, self.max_points):
            data = self._api("query_range", promql, {"start": a.timestamp(), "end": b.timestamp(),
                                                      "step": f"{step_s:g}s"})
            frames.append(to_frame(data["result"], "matrix"))
        frames = [f for f in frames if len(f)]
        if not frames:
            return to_frame([], "matrix")
        df = pd.concat(frames, ignore_index=True)
        keys = [c for c in df.columns if c != "value"]
        return df.drop_duplicates(subset=keys, keep="first").sort_values(keys, ignore_index=True)

    def check_healthy(self) -> None:
        """Raise SourceUnavailable unless /-/healthy answers 200 within the timeout (no retries)."""
        try:
            r = requests.get(f"{self.url}/-/healthy", timeout=self.timeout)
            r.raise_for_status()
        except requests.RequestException as exc:
            raise SourceUnavailable(f"Prometheus at {self.display_url}: {type(exc).__name__}: "
                                    f"{redact(str(exc).replace(self.url, self.display_url))[:300]}") from exc


def step_for(window_seconds: float, scrape_interval_s: float, target_points: int = 2000) -> float:
    """A step giving about `target_points` points over the window, never below the scrape interval."""
    step = max(scrape_interval_s, window_seconds / target_points)
    return float(math.ceil(step / scrape_interval_s) * scrape_interval_s)


def scalar(df: pd.DataFrame) -> float:
    """The single value of an instant query without labels (NaN when empty)."""
    if df.empty:
        return float("nan")
    return float(df["value"].iloc[0]) if len(df) == 1 else float(np.nan)
