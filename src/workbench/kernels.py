"""One Jupyter kernel per runner worker, reused for the notebooks that worker runs.

Starting a kernel and importing pandas, matplotlib, SQLAlchemy and scipy into it cost 2-4 s of CPU
per notebook, about a third of a demo week's. A worker therefore keeps its kernel and, before each
notebook, gives it a fresh session: IPython's hard `%reset` (every name and output gone, execution
count back to 1), the environment the kernel started with plus the job's, the job's folder,
matplotlib's settings restored (not `interactive` nor the backend: the inline backend owns them)
and its figures closed, garbage collected. Only
imported modules carry over, which is what saves the time. A notebook that failed, timed out or
killed its kernel takes the kernel with it: the next one starts fresh, as does every
`REUSE_AT_MOST`th notebook. A new kernel whose process ends before it answers (a port taken
under it) is started once more. `workbench report --fresh-kernels` gives every notebook its own kernel.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

REUSE_AT_MOST = 20  # notebooks per kernel: bounds what a long fleet run could leave behind in one process
READY_SECONDS = 60
STARTS = 2  # a kernel that dies while starting is started once more


class KernelDied(RuntimeError):
    """The kernel's process ended before it answered: on a fresh kernel, typically a port taken
    between jupyter_client choosing it and the kernel binding it ("Address already in use")."""


@dataclass
class _Held:
    km: Any
    pid: int  # the process that started it: a forked child must not use (or stop) its parent's kernel
    used: int = 0


_held: _Held | None = None  # this worker process's kernel


def fresh_session_code(env: dict[str, str], cwd: str) -> str:
    """The code a reused kernel runs before a notebook: a new IPython session (see `fresh_session`)."""
    # IPython's reset with a new session: what `%reset -f` clears, and the execution count back to 1
    return "\n".join([
        "get_ipython().reset(new_session=True)",
        "import workbench.kernels",
        f"workbench.kernels.fresh_session({dict(env)!r}, {cwd!r})",
        "get_ipython().reset(new_session=True)",
    ])


# inside the kernel: what the first session started from, restored before each later one
_base_env: dict[str, str] | None = None
_base_rc: dict | None = None
_SESSION_OWNED_RC = ("interactive", "backend")


def fresh_session(env: dict[str, str], cwd: str) -> None:
    """Run in the kernel between IPython resets: the environment as the kernel started plus `env`,
    `cwd`, matplotlib's settings as the first session found them and no figure open, and garbage
    collected (a previous notebook's frames and connections gone)."""
    import gc
    import sys

    global _base_env, _base_rc
    if _base_env is None:
        _base_env = dict(os.environ)
    os.environ.clear()
    os.environ.update(_base_env)
    os.environ.update(env)
    os.chdir(cwd)
    import matplotlib
    import matplotlib.pyplot as plt  # the inline backend configures itself on this import

    plt.close("all")
    if _base_rc is None:
        # not `interactive` (nor the backend): the inline backend sets them for each session itself, and
        # restoring the first session's `interactive` left later notebooks showing no figure at all
        _base_rc = {k: v for k, v in matplotlib.rcParams.items() if k not in _SESSION_OWNED_RC}
    else:
        matplotlib.rcParams.update(_base_rc)
    sys.stdout.flush()
    gc.collect()


def _run(km, code: str, timeout: float = READY_SECONDS) -> None:
    """Run `code` in the kernel of `km` (no output kept); raise if it fails."""
    from jupyter_client.blocking import BlockingKernelClient

    kc = BlockingKernelClient()
    kc.load_connection_info(km.get_connection_info())
    kc.start_channels()
    try:
        wait_ready(kc, km, timeout)
        reply = kc.execute_interactive(code, store_history=False, timeout=timeout, output_hook=lambda msg: None)
        content = reply["content"]
        if content.get("status") != "ok":
            raise RuntimeError(f"{content.get('ename', 'error')}: {content.get('evalue', '')}")
    finally:
        kc.stop_channels()


def wait_ready(kc, km, timeout: float = READY_SECONDS) -> None:
    """Wait until the kernel answers kernel_info, judging death by its process (`km.is_alive`).

    jupyter_client's `wait_for_ready` on a client without a manager judges by the heartbeat, which has
    not beaten yet when a busy machine starts the kernel slowly: it then raised "Kernel died before
    replying to kernel_info" for a kernel that was only starting (flaky reused-kernel runs under load)."""
    import time
    from queue import Empty

    from jupyter_core.utils import run_sync

    deadline = time.monotonic() + timeout
    while True:
        kc.kernel_info()
        try:
            msg = kc.shell_channel.get_msg(timeout=1)
        except Empty:
            msg = None
        if msg is not None and msg.get("msg_type") == "kernel_info_reply":
            return
        if not run_sync(km.is_alive)():
            raise KernelDied("the kernel's process ended before it answered kernel_info")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the kernel did not answer kernel_info within {timeout:.0f} s")


def kernel_for(env: dict[str, str], cwd: str, kernel_name: str = "python3"):
    """This worker's kernel manager, its kernel started if need be and given a fresh session for a
    notebook with `env` in `cwd`."""
    from jupyter_core.utils import run_sync

    global _held
    _own_event_loop()
    if _held is not None and _held.pid != os.getpid():
        _held = None  # inherited through fork: the parent's, left alone
    if _held is not None and (_held.used >= REUSE_AT_MOST or not run_sync(_held.km.is_alive)()):
        discard()
    for start in range(1, STARTS + 1):
        fresh = _held is None
        if fresh:
            from jupyter_client.manager import AsyncKernelManager

            km = AsyncKernelManager(kernel_name=kernel_name)
            # as nbclient starts its kernels: IPython's history in memory, not in one SQLite file all kernels share
            run_sync(km.start_kernel)(cwd=cwd, extra_arguments=["--HistoryManager.hist_file=:memory:"])
            _held = _Held(km, os.getpid())
            _stop_at_exit()
        try:
            _run(_held.km, fresh_session_code(env, cwd))
            break
        except KernelDied as exc:
            discard()
            if not fresh or start == STARTS:
                raise
            log.warning("a new kernel died while starting (%s); starting another", exc)
        except Exception:
            discard()
            raise
    _held.used += 1
    return _held.km


_loop_pid = 0


def _own_event_loop() -> None:
    """A new asyncio loop for this process. A forked worker inherits its parent's loop (with its
    selector: an epoll set shared with the parent); kernel sockets registered on it spin forever."""
    import asyncio

    global _loop_pid
    if _loop_pid != os.getpid():
        asyncio.set_event_loop(asyncio.new_event_loop())
        _loop_pid = os.getpid()


def discard() -> None:
    """Shut this worker's kernel down (after a failed notebook, or when the worker ends)."""
    from jupyter_core.utils import run_sync

    global _held
    held, _held = _held, None
    if held is None or held.pid != os.getpid():
        return
    try:
        run_sync(held.km.shutdown_kernel)(now=True)
    except Exception as exc:  # noqa: BLE001 - a kernel already gone is what we wanted
        log.debug("kernel shutdown: %s", exc)


_registered = False


def _stop_at_exit() -> None:
    """Stop the kernel when the worker process ends. A pool worker leaves through
    multiprocessing's exit path (os._exit), which runs its finalizers, not atexit."""
    global _registered
    if _registered:
        return
    import atexit
    from multiprocessing import util

    util.Finalize(None, discard, exitpriority=10)
    atexit.register(discard)
    _registered = True


def reuse_enabled(fresh: bool) -> bool:
    """Kernels are reused unless asked not to (`--fresh-kernels`, or WORKBENCH_FRESH_KERNELS=1)."""
    return not fresh and os.environ.get("WORKBENCH_FRESH_KERNELS", "") not in ("1", "true", "yes")
