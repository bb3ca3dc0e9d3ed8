"""Redaction of secrets: the passwords of the connection URLs in the environment (and the webhook URL,
whose path is its token) in every form they can take in a published file, and the scrubbing of text.

The runner (workbench.report) scrubs every file it publishes with it; the log filter and the stream
pump (workbench.logs) scrub every line. It imports only workbench.config.
"""

from __future__ import annotations

import html
import json
import os
import re

from workbench import config


def _encoded_forms(pw: str) -> set[str]:
    """The forms a password can take in a published file: as written, URL-encoded or -decoded,
    HTML-escaped, JSON-escaped (notebooks, status files, Evidently's embedded data), and combinations."""
    from urllib.parse import quote, quote_plus, unquote

    base = {pw, unquote(pw), quote(pw, safe=""), quote(pw), quote_plus(pw)}
    forms = set(base)
    for f in base:
        forms |= {html.escape(f), html.escape(f, quote=False), json.dumps(f)[1:-1],
                  json.dumps(f, ensure_ascii=False)[1:-1], json.dumps(html.escape(f))[1:-1],
                  f.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")}
    return forms


def secrets_from_env(environ: dict[str, str] | None = None) -> list[str]:
    """Passwords of the connection URLs in the environment (parsed the way the drivers read them,
    whatever characters they hold) in every form they could take in a published file; longest first.
    Passwords under 3 characters are not searched for as text (their URLs are still redacted)."""
    env = os.environ if environ is None else environ
    found: set[str] = set()
    for name in (config.ENV_DATABASE, config.ENV_PROMETHEUS, config.ENV_MLFLOW, config.ENV_SMTP):
        for pw in config.url_passwords(env.get(name, "")):
            found |= {f for f in _encoded_forms(pw) if len(f) >= 3}
    # a webhook URL's path is its token (https://hooks.example/services/T0/B0/XXXX): the whole URL is secret
    hook = env.get(config.ENV_SLACK_WEBHOOK, "").strip()
    if hook:
        from urllib.parse import urlsplit

        found |= {f for f in _encoded_forms(hook) if len(f) >= 3}
        path = urlsplit(hook).path.strip("/")
        if len(path) >= 8:
            found |= set(_encoded_forms(path))
    return sorted(found, key=len, reverse=True)


# base64 payloads (embedded images) are left alone: replacing bytes there would break the image
_DATA_URI_RE = re.compile(r"(data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+)")


def scrub(text: str, secrets: list[str] | None = None) -> str:
    """`text` with URLs' passwords and any password from the environment (every form) replaced by ***."""
    secrets = secrets_from_env() if secrets is None else secrets
    parts = _DATA_URI_RE.split(text)
    for i in range(0, len(parts), 2):  # even parts: text outside data URIs
        t = config.redact(parts[i])
        for s in secrets:
            t = t.replace(s, "***")
        parts[i] = t
    return "".join(parts)


def leaks(text: str, secrets: list[str] | None = None) -> bool:
    """True when a password from the environment (any form) is still visible in `text`."""
    secrets = secrets_from_env() if secrets is None else secrets
    outside = "".join(_DATA_URI_RE.split(text)[::2])
    return any(s in outside for s in secrets)
