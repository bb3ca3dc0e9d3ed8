"""`[core] hostname_callable` of the Celery workers in tests/distributed: the name the test gave the
worker (WORKBENCH_CELERY_WORKER, e.g. "w1"), so a task instance's `hostname` says which of the two
workers on this one machine ran it; the machine's name for every other Airflow process."""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("WORKBENCH_CELERY_WORKER") or socket.getfqdn()
