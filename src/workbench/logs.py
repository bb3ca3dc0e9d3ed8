"""Logging for workbench commands: the guide's structured JSON lines, or readable progress lines."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys

CONTEXT_FIELDS = ("model_name", "notebook", "period", "status", "seconds", "url", "pid", "rows", "series",
                  "seed", "weekly_volume", "path", "problems")


class JSONFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, module, function, line and context."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "timestamp": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "module": record.module,
            "function": record.funcName,
            "line": record.lineno,
        }
        for k in CONTEXT_FIELDS:
            if hasattr(record, k):
                entry[k] = getattr(record, k)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """`HH:MM:SS message  key=value ...` for a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        ctx = " ".join(f"{k}={getattr(record, k)}" for k in CONTEXT_FIELDS if hasattr(record, k))
        t = dt.datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        lvl = "" if record.levelno == logging.INFO else f"{record.levelname}: "
        return f"{t} {lvl}{record.getMessage()}" + (f"  {ctx}" if ctx else "")


def setup(fmt: str = "auto", level: int = logging.INFO) -> None:
    """Configure the 'workbench' logger: json, text, or auto (json unless stderr is a terminal)."""
    if fmt == "auto":
        fmt = "text" if sys.stderr.isatty() else "json"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter() if fmt == "json" else TextFormatter())
    logger = logging.getLogger("workbench")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
