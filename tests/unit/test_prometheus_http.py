"""The Prometheus client against a small fake HTTP server: retries, 4xx, warnings, error bodies."""

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
