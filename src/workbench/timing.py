"""Where a review's time goes: `timed(name)` around source queries and heavy steps, and the
per-notebook profile that `workbench report --profile` prints.

Inside a notebook kernel the records collect in a module-level list; `ReviewContext.finish`
writes them into the status file, and the runner combines them with papermill's per-cell
durations (cell metadata `papermill.duration`) and its own execute/export timings.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

_records: list[tuple[str, float]] = []


@contextmanager
def timed(name: str) -> Iterator[None]:
    """Record how long the block took under `name` (also when it raises)."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        _records.append((name, round(time.perf_counter() - t0, 3)))


def records() -> list[tuple[str, float]]:
    """What was timed so far in this process, in order."""
    return list(_records)


def reset() -> None:
    _records.clear()


def _cell_label(source: str) -> str:
    lines = [ln.strip() for ln in source.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    if not lines:
        return "(empty)"
    if "open_review(" in source:
        return "imports + open_review"
    rest = [ln for ln in lines if not ln.startswith(("import ", "from "))]
    return (rest or lines)[0][:60]


def cell_profile(nb_path: str | Path) -> tuple[float, list[tuple[str, float]]]:
    """(kernel start seconds, [(cell label, seconds)]) from an executed notebook's papermill metadata."""
    import datetime as dt

    import nbformat

    nb = nbformat.read(str(nb_path), as_version=4)
    start = nb.metadata.get("papermill", {}).get("start_time")
    cells, first = [], None
    for c in nb.cells:
        pm = c.metadata.get("papermill", {})
        if c.cell_type != "code" or pm.get("duration") is None:
            continue
        if first is None:
            first = pm.get("start_time")
        label = "parameters" if "parameters" in c.metadata.get("tags", []) or \
            "injected-parameters" in c.metadata.get("tags", []) else _cell_label(c.source)
        cells.append((label, round(float(pm["duration"]), 3)))
    kernel = 0.0
    if start and first:
        kernel = round((dt.datetime.fromisoformat(first) - dt.datetime.fromisoformat(start)).total_seconds(), 3)
    return kernel, cells


def format_profile(results: list) -> str:
    """A plain-text table per notebook: kernel start, each cell, each timed source query, export."""
    out = []
    for r in results:
        p = getattr(r, "profile", None) or {}
        if not p:
            continue
        out.append(f"{r.model} / {r.notebook}: {r.seconds:.1f} s total")
        rows = [("kernel start", p.get("kernel_start", 0.0))]
        rows += [(f"cell: {label}", s) for label, s in p.get("cells", [])]
        rows += [("export HTML", p.get("export", 0.0)), ("publish", p.get("publish", 0.0))]
        for label, s in rows:
            out.append(f"  {s:7.2f} s  {label}")
        timed_ = p.get("timed", [])
        if timed_:
            out.append("  of which (inside cells):")
            agg: dict[str, list[float]] = {}
            for name, s in timed_:
                agg.setdefault(name, []).append(s)
            for name, vals in sorted(agg.items(), key=lambda kv: -sum(kv[1])):
                n = f" ×{len(vals)}" if len(vals) > 1 else ""
                out.append(f"  {sum(vals):7.2f} s    {name}{n}")
    return "\n".join(out)


def timed_call(name: str):
    """Decorator form of `timed`: each call of the function is recorded under `name`."""
    import functools

    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            with timed(name):
                return fn(*args, **kwargs)
        return inner
    return wrap
