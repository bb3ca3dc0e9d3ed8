"""Why a kernel died, from its exit status and the cgroup's OOM-kill counter (workbench.kernel_exit)."""

import signal
import subprocess
import sys

import pytest

from workbench import kernel_exit


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_oom_kills_reads_this_process_cgroup_counter(tmp_path, version):
    proc = tmp_path / "cgroup"
    root = tmp_path / "sys"
    if version == "v1":
        proc.write_text("9:name=systemd:/\n4:memory:/job/42\n0::/\n")
        folder, name = root / "memory" / "job" / "42", "memory.oom_control"
        text = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"
    else:
        proc.write_text("0::/job/42\n")
        folder, name = root / "job" / "42", "memory.events"
        text = "low 0\nhigh 0\nmax 7\noom 2\noom_kill 3\n"
    folder.mkdir(parents=True)
    (folder / name).write_text(text)
    assert kernel_exit.oom_kills(str(proc), str(root)) == 3
    assert kernel_exit.oom_kills(str(tmp_path / "absent"), str(root)) is None


def test_describe_names_the_signal_and_the_oom_killer():
    assert kernel_exit.describe(None, 0, 1) == ""  # alive: nothing to say
    oom = kernel_exit.describe(-signal.SIGKILL, 0, 1, ' in the cell "x"')
    assert oom.startswith('out of memory: the kernel was killed by the out-of-memory killer (SIGKILL) in the cell "x"')
    kill = kernel_exit.describe(-signal.SIGKILL, 1, 1)
    assert kill.startswith("the kernel was killed by SIGKILL: most often the out-of-memory killer")
    assert kernel_exit.describe(-signal.SIGSEGV, None, None) == "the kernel was killed by SIGSEGV"
    assert kernel_exit.describe(3, None, None) == "the kernel exited with code 3"


def test_returncode_of_a_killed_process():
    from types import SimpleNamespace

    p = subprocess.Popen([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"])
    p.wait()
    assert kernel_exit.returncode(SimpleNamespace(provisioner=SimpleNamespace(process=p))) == -signal.SIGKILL
    assert kernel_exit.returncode(SimpleNamespace(provisioner=None)) is None
