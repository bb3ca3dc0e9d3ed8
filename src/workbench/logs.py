"""Logging for workbench commands: the guide's structured JSON lines, or readable progress lines.

JSON lines come from python-json-logger: every `extra=` key is kept. A filter on the handler
replaces passwords from the connection URLs in the environment (every form) with ***.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import sys

from pythonjsonlogger.json import JsonFormatter

# the context keys shown on text lines (JSON lines keep every extra= key, these and any other)
CONTEXT_FIELDS = ("model_name", "notebook", "period", "status", "seconds", "url", "pid", "rows", "series",
                  "seed", "weekly_volume", "path", "problems")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class JSONFormatter(JsonFormatter):
    """One JSON object per line: timestamp (UTC), level, logger, message, module, function, line, and
    every extra= key."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s %(message)s %(module)s %(funcName)s %(lineno)d",
                         rename_fields={"levelname": "level", "name": "logger", "funcName": "function",
                                        "lineno": "line"},
                         json_default=str, json_ensure_ascii=False)

    def add_fields(self, log_record: dict, record: logging.LogRecord, message_dict: dict) -> None:
        super().add_fields(log_record, record, message_dict)
        log_record["timestamp"] = dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat()


class TextFormatter(logging.Formatter):
    """`HH:MM:SS message  key=value ...` for a terminal (every extra= key, known ones first)."""

    def format(self, record: logging.LogRecord) -> str:
        extra = [k for k in vars(record) if k not in _STANDARD and not k.startswith("_")]
        keys = [k for k in CONTEXT_FIELDS if k in extra] + [k for k in extra if k not in CONTEXT_FIELDS]
        ctx = " ".join(f"{k}={getattr(record, k)}" for k in keys)
        t = dt.datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        lvl = "" if record.levelno == logging.INFO else f"{record.levelname}: "
        text = f"{t} {lvl}{record.getMessage()}" + (f"  {ctx}" if ctx else "")
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class RedactFilter(logging.Filter):
    """Scrub passwords (as parsed from the environment's URLs, every encoded form) from each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        from workbench.redaction import scrub, secrets_from_env

        secrets = secrets_from_env()
        record.msg = scrub(record.getMessage(), secrets)
        record.args = None
        for k, v in list(vars(record).items()):
            if k not in _STANDARD and isinstance(v, str):
                setattr(record, k, scrub(v, secrets))
        return True


def is_json(logger_name: str = "workbench") -> bool:
    """True when the workbench logger writes JSON lines (so errors are logged, not printed)."""
    return any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger(logger_name).handlers)


def setup(fmt: str = "auto", level: int = logging.INFO) -> None:
    """Configure the 'workbench' logger: json, text, or auto (json unless stderr is a terminal)."""
    if fmt == "auto":
        fmt = "text" if sys.stderr.isatty() else "json"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactFilter())
    logger = logging.getLogger("workbench")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


class _Redactor:
    """A pipe in place of file descriptors 1 and 2: a thread reads what this process and every
    process it starts (workers, kernels, the MLflow process, libraries' own prints) write there and
    passes it on, line by line, with passwords replaced by ***, to the original stdout/stderr."""

    def __init__(self, fd: int) -> None:
        import os
        import threading

        self.fd = fd
        self.saved = os.dup(fd)
        self.read_end, write_end = os.pipe()
        os.dup2(write_end, fd)
        os.close(write_end)
        self.thread = threading.Thread(target=self._pump, name=f"redact-fd{fd}", daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        import os

        from workbench.redaction import scrub, secrets_from_env

        secrets = secrets_from_env()
        pending = b""
        while True:
            try:
                chunk = os.read(self.read_end, 65536)
            except OSError:
                chunk = b""
            pending += chunk
            cut = pending.rfind(b"\n")
            if chunk and cut < 0 and len(pending) < 65536:
                continue  # wait for the end of the line: a password may straddle two reads
            if not chunk or cut < 0:
                text, pending = pending, b""
            else:
                text, pending = pending[:cut + 1], pending[cut + 1:]
            if text:
                try:
                    os.write(self.saved, scrub(text.decode("utf-8", errors="replace"), secrets).encode("utf-8"))
                except OSError:
                    pass
            if not chunk:
                return

    def close(self, wait_s: float = 2.0) -> None:
        """Give the descriptor back; what is still in the pipe is passed on (children that outlive
        this keep writing through the thread until they close it)."""
        import os

        os.dup2(self.saved, self.fd)
        self.thread.join(wait_s)
        if not self.thread.is_alive():
            os.close(self.read_end)
            os.close(self.saved)


@contextlib.contextmanager
def redacted_output(fds: tuple[int, ...] = (1, 2)):
    """Within the block, every byte written to stdout/stderr by this process or any process it
    starts passes through `scrub`: no library's output (e.g. MLflow's "View run … at
    http://user:password@…") carries a password to a terminal, a cron mail or a scheduler's log."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    redactors = []
    try:
        for fd in fds:
            redactors.append(_Redactor(fd))
    except OSError:  # no such descriptor (e.g. closed stdout): leave the streams as they are
        pass
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        for r in redactors:
            r.close()
