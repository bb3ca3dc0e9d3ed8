"""Per-day counts of finished days kept between runs as JSON (PostgreSQL's drift over time)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from workbench import atomic
from workbench.config import Window


class DailyCache:
    """Per-day counts of finished days, kept as JSON between runs (PostgreSQL's drift over time):
    a weekly report then scans only the days it has not counted before. One file per (table,
    model, feature, bins); a day is reused only if it is whole in the window, over, and still holds
    the same number of rows (a late or deleted prediction makes it counted again). The cache does
    not grow without end: a file drops days more than KEEP_DAYS before the window it saves, and a
    file unused for STALE_DAYS (a feature or bin set no longer asked for) is deleted."""

    KEEP_DAYS = 63  # the oldest day a weekly review reads is 5 weeks back (history, grid); re-running older weeks recounts
    STALE_DAYS = 60

    def __init__(self, root: Path, identity: str, model: str, requests: list[tuple[str, object]]) -> None:
        import hashlib

        self.root, self.model = Path(root), model
        self.files = []
        for feature, edges in requests:
            e = None if edges is None else [float(x) for x in edges]
            key = json.dumps([identity, model, feature, e], sort_keys=True)
            self.files.append(self.root / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.json")
        self.rows_per_day: dict[str, int] = {}
        self.window: Window | None = None

    def _finished_days(self, window: Window) -> list[str]:
        start, end = pd.Timestamp(window.start), pd.Timestamp(window.end)
        now = pd.Timestamp.now(tz="UTC")
        days = pd.date_range(start.ceil("D"), end.floor("D"), freq="D", inclusive="left")
        return [f"{d:%Y-%m-%d}" for d in days if d + pd.Timedelta(days=1) <= min(end, now)]

    def _read(self, path: Path) -> dict:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}

    def load(self, window: Window, rows_per_day: dict[str, int]) -> tuple[dict[int, list], list[Window]]:
        """(rows per request index from kept days, the windows still to scan)."""
        self.window, self.rows_per_day = window, rows_per_day
        finished = self._finished_days(window)
        docs = [self._read(f) for f in self.files]
        kept = [d for d in finished
                if all(doc.get(d, {}).get("n") == rows_per_day.get(d, 0) for doc in docs)]
        cached = {j: [(d, v, n) for d in kept for v, n in doc[d]["rows"]] for j, doc in enumerate(docs)}
        # what is left: runs of consecutive days not kept (and the window's partial first/last day)
        keep = set(kept)
        start, end = pd.Timestamp(window.start), pd.Timestamp(window.end)
        bounds = sorted({start, end} | {pd.Timestamp(d, tz="UTC") for d in keep}
                        | {pd.Timestamp(d, tz="UTC") + pd.Timedelta(days=1) for d in keep})
        todo = [(a, b) for a, b in zip(bounds, bounds[1:]) if a < b and f"{a:%Y-%m-%d}" not in keep]
        merged: list[list] = []
        for a, b in todo:
            if merged and merged[-1][1] == a:
                merged[-1][1] = b
            else:
                merged.append([a, b])
        return cached, [Window(a.to_pydatetime(), b.to_pydatetime(), window.label) for a, b in merged]

    def save(self, rows: list[list]) -> None:
        """Keep the finished days just counted (values JSON can hold exactly; else not kept), per
        request in the order given to __init__."""
        finished = set(self._finished_days(self.window))
        self.root.mkdir(parents=True, exist_ok=True)
        for path, found in zip(self.files, rows):
            by_day: dict[str, list] = {}
            for d, v, n in found:
                by_day.setdefault(str(d)[:10], []).append([v, int(n)])
            oldest = f"{pd.Timestamp(self.window.start) - pd.Timedelta(days=self.KEEP_DAYS):%Y-%m-%d}"
            doc = {d: v for d, v in self._read(path).items() if d >= oldest}
            for d, items in by_day.items():
                if d in finished and all(v is None or type(v) in (str, int, float, bool) for v, _ in items):
                    doc[d] = {"n": self.rows_per_day.get(d, 0), "rows": items}
            for d in finished - set(by_day):  # a day without rows: nothing to count, kept as such
                if self.rows_per_day.get(d, 0) == 0:
                    doc[d] = {"n": 0, "rows": []}
            atomic.write_text(path, json.dumps(doc))
        self._drop_stale()

    def _drop_stale(self) -> None:
        """Delete files of this cache folder that no run has read or written for STALE_DAYS."""
        import time

        cutoff = time.time() - self.STALE_DAYS * 86400
        for f in self.root.glob("*.json"):
            try:
                if f not in self.files and f.stat().st_mtime < cutoff:
                    f.unlink()
            except OSError:
                pass  # removed meanwhile by a parallel run
