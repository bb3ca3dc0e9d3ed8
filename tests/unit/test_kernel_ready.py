"""A reused kernel is judged ready by its answer and dead by its process, not by its heartbeat."""

from __future__ import annotations

from queue import Empty

import pytest

from workbench import kernels


class _Shell:
    def __init__(self, empties: int) -> None:
        self.empties = empties

    def get_msg(self, timeout: float):
        if self.empties:
            self.empties -= 1
            raise Empty
        return {"msg_type": "kernel_info_reply"}


class _Client:
    """A client whose heartbeat has not beaten yet (as on a busy machine) and whose kernel answers late."""

    def __init__(self, empties: int) -> None:
        self.shell_channel = _Shell(empties)
        self.asked = 0

    def kernel_info(self) -> None:
        self.asked += 1

    def is_alive(self) -> bool:  # the heartbeat's view: not beating yet
        return False


class _Manager:
    def __init__(self, alive: bool) -> None:
        self.alive = alive

    async def is_alive(self) -> bool:
        return self.alive


def test_a_slowly_starting_kernel_is_waited_for():
    kc = _Client(empties=3)
    kernels.wait_ready(kc, _Manager(alive=True), timeout=30)
    assert kc.asked == 4


def test_a_kernel_whose_process_ended_is_named_dead():
    with pytest.raises(RuntimeError, match="process ended"):
        kernels.wait_ready(_Client(empties=5), _Manager(alive=False), timeout=30)


def test_a_kernel_that_never_answers_times_out():
    with pytest.raises(RuntimeError, match="within 0 s"):
        kernels.wait_ready(_Client(empties=10**6), _Manager(alive=True), timeout=0)


class _StartingManager:
    """Stands for jupyter_client's AsyncKernelManager: starts nothing, counts starts and shutdowns."""

    made: list["_StartingManager"] = []

    def __init__(self, kernel_name: str) -> None:
        self.started = self.stopped = 0
        _StartingManager.made.append(self)

    async def start_kernel(self, **kwargs) -> None:
        self.started += 1

    async def is_alive(self) -> bool:
        return True

    async def shutdown_kernel(self, now: bool = False) -> None:
        self.stopped += 1


@pytest.fixture
def starting(monkeypatch):
    import jupyter_client.manager

    _StartingManager.made = []
    monkeypatch.setattr(jupyter_client.manager, "AsyncKernelManager", _StartingManager)
    monkeypatch.setattr(kernels, "_held", None)
    monkeypatch.setattr(kernels, "_stop_at_exit", lambda: None)
    yield _StartingManager.made
    monkeypatch.setattr(kernels, "_held", None)


def test_a_new_kernel_that_dies_while_starting_is_started_once_more(starting, monkeypatch):
    """A fresh kernel whose process ended before answering (a port taken under it: "Address already in
    use", seen in CI) is replaced once; the notebook then runs on the second kernel."""
    calls = []

    def run(km, code, timeout=kernels.READY_SECONDS):
        calls.append(km)
        if len(calls) == 1:
            raise kernels.KernelDied("the kernel's process ended before it answered kernel_info")

    monkeypatch.setattr(kernels, "_run", run)
    km = kernels.kernel_for({}, ".")
    assert len(starting) == 2 and km is starting[1] and calls == starting
    assert starting[0].stopped == 1 and starting[1].stopped == 0 and kernels._held.used == 1


def test_a_kernel_that_dies_on_every_start_or_fails_otherwise_is_not_retried_for_ever(starting, monkeypatch):
    def died(km, code, timeout=kernels.READY_SECONDS):
        raise kernels.KernelDied("the kernel's process ended before it answered kernel_info")

    monkeypatch.setattr(kernels, "_run", died)
    with pytest.raises(kernels.KernelDied):
        kernels.kernel_for({}, ".")
    assert len(starting) == kernels.STARTS and all(m.stopped == 1 for m in starting) and kernels._held is None

    def broken(km, code, timeout=kernels.READY_SECONDS):
        raise RuntimeError("NameError: x")

    monkeypatch.setattr(kernels, "_run", broken)
    with pytest.raises(RuntimeError, match="NameError"):
        kernels.kernel_for({}, ".")
    assert len(starting) == kernels.STARTS + 1  # a failing session is not a dying start: no second kernel
