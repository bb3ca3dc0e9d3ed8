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
