"""nbval runs the notebooks against a real demo stack, built in a temp dir and always stopped."""

import os
import shutil
import tempfile

_state: dict = {}


def pytest_sessionstart(session):
    from workbench.demo import stack

    if any(os.environ.get(v) for v in ("WORKBENCH_PROMETHEUS_URL", "WORKBENCH_DATABASE_URL", "MLFLOW_TRACKING_URI")):
        return  # the notebooks read the configured servers instead
    root = tempfile.mkdtemp(prefix="workbench-nbval-")
    _state["root"] = root
    os.environ["WORKBENCH_DEMO_DIR"] = root  # inherited by the kernels nbval starts
    stack.up(root, weekly_volume=20_000, port=0)


def pytest_sessionfinish(session, exitstatus):
    from workbench.demo import stack

    root = _state.pop("root", None)
    if root:
        stack.down(root)
        shutil.rmtree(root, ignore_errors=True)
