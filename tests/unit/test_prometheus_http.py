"""The Prometheus client against a small fake HTTP server: retries, 4xx, warnings, error bodies."""

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from workbench.errors import SourceUnavailable
from workbench.sources.prometheus import PrometheusSource


class Fake:
    def __init__(self, status, body):
        self.hits = 0
        fake = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                fake.hits += 1
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(body).encode())

            def log_message(self, *a):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    made = []

    def make(status, body):
        f = Fake(status, body)
        made.append(f)
        return f
    yield make
    for f in made:
        f.close()


def test_4xx_is_not_retried_and_the_error_is_quoted(fake):
    f = fake(400, {"status": "error", "errorType": "bad_data", "error": "parse error at char 5"})
    with pytest.raises(SourceUnavailable) as e:
        PrometheusSource(f.url, timeout=5).query("sum(")
    assert f.hits == 1
    assert "bad_data: parse error at char 5" in str(e.value) and "'sum('" in str(e.value)


def test_503_is_retried_then_reported(fake):
    f = fake(503, {"status": "error", "errorType": "unavailable", "error": "overloaded"})
    with pytest.raises(SourceUnavailable, match="overloaded"):
        PrometheusSource(f.url, timeout=5).query("up")
    assert f.hits == 3  # the request and two retries


def test_warnings_are_kept_for_the_report(fake):
    f = fake(200, {"status": "success", "warnings": ["partial response: store down"],
                   "data": {"resultType": "vector", "result": [{"metric": {"job": "a"}, "value": [1, "NaN"]}]}})
    src = PrometheusSource(f.url, timeout=5)
    df = src.query("up")
    assert len(df) == 1 and src.warnings == ["up: partial response: store down"]


class Slow:
    """Accepts the query and answers only after `delay` seconds."""

    def __init__(self, delay):
        import time

        self.hits = 0
        slow = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                slow.hits += 1
                time.sleep(delay)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a):
                pass

        from http.server import ThreadingHTTPServer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_a_read_timeout_is_named_not_retried_and_not_asked_again_in_the_run(tmp_path, monkeypatch):
    """A server that accepts but answers too late: one try, "read timeout of 1 s" (not "unreachable
    (ConnectionError)"), and no later query of this run asks it again, in this notebook or another."""
    import time

    from workbench.sources.prometheus import RUN_STATE_ENV

    monkeypatch.setenv(RUN_STATE_ENV, str(tmp_path))
    slow = Slow(delay=4)
    started = time.monotonic()
    with pytest.raises(SourceUnavailable) as e:
        PrometheusSource(slow.url, timeout=1).query("up")
    assert time.monotonic() - started < 2.5 and slow.hits == 1
    assert f"Prometheus at {slow.url} did not answer within the read timeout of 1 s" in str(e.value)
    assert "ConnectionError" not in str(e.value)
    other = PrometheusSource(slow.url, timeout=1)  # the next notebook of the run
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match="read timeout of 1 s.*earlier in this run"):
        other.query_range("up", dt.datetime(2026, 11, 16, tzinfo=dt.timezone.utc),
                          dt.datetime(2026, 11, 17, tzinfo=dt.timezone.utc), step=60)
    assert time.monotonic() - started < 0.5 and slow.hits == 1
