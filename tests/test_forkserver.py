"""A pool's kernels forked from one warm parent (Linux): they share its imports, behave as the
kernels jupyter_client starts itself, and leave nothing behind."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from dxreport import execute

pytestmark = pytest.mark.skipif(not execute.USE_FORK, reason="kernels are forked on Linux only")


def _ask(kernel: execute.WarmKernel, code: str) -> str:
    msg_id = kernel.client.execute(code)
    text = []
    while True:
        msg = kernel.client.get_iopub_msg(timeout=30)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            text.append(msg["content"]["text"])
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(text)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _gone(pids, within: float = 15.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def pool(tmp_path):
    made = execute.KernelPool(Path.cwd(), tmp_path / "k.lock", tmp_path / "k.log", workers=2)
    for thread in made._starters:
        thread.join()
    assert not made.errors, made.errors
    yield made
    made.close()


def test_the_kernels_are_children_of_one_warm_parent(pool):
    assert pool.server is not None and len(pool.kernels) == 2
    seen = [_ask(k, "import os, sys\nprint(os.getpid(), os.getppid(), 'pandas' in sys.modules)").split()
            for k in pool.kernels]
    pids = {int(pid) for pid, _, _ in seen}
    assert len(pids) == 2 and {int(ppid) for _, ppid, _ in seen} == {pool.server.pid}
    assert all(imported == "True" for _, _, imported in seen)  # imported before the fork, not by the chapter
    # each kernel keeps its own state
    _ask(pool.kernels[0], "x = 1")
    assert _ask(pool.kernels[1], "print('x' in globals())").strip() == "False"
    assert _ask(pool.kernels[0], "print(x + 1)").strip() == "2"


def test_a_kernel_ends_with_its_stub_and_the_pool_leaves_nothing(pool):
    kernel_pids = [int(_ask(k, "import os; print(os.getpid())")) for k in pool.kernels]
    stub = pool.kernels[0].km.provisioner.pid
    assert stub not in kernel_pids
    os.kill(stub, signal.SIGKILL)  # what abort() does to "the kernel" jupyter_client knows
    assert _gone([kernel_pids[0]]), "the kernel outlived its stub"
    assert _alive(kernel_pids[1])
    server = pool.server.pid
    runtime = pool.runtime
    pool.close()
    assert _gone([server, *kernel_pids]) and not runtime.exists()


def test_a_pool_whose_server_cannot_start_starts_its_kernels_directly(tmp_path, monkeypatch):
    monkeypatch.setattr(execute.KernelPool, "_start_server", lambda self: None)
    made = execute.KernelPool(Path.cwd(), tmp_path / "k.lock", tmp_path / "k.log", workers=2)
    try:
        for thread in made._starters:
            thread.join()
        assert not made.errors and len(made.kernels) == 2
        parents = {int(_ask(k, "import os; print(os.getppid())")) for k in made.kernels}
        assert parents == {os.getpid()}
    finally:
        made.close()


def test_the_stub_is_small():
    """jupyter_client's "kernel" process imports nothing of the package or of ipykernel."""
    from dxreport import forkserver

    argv = forkserver.kernel_spec_argv(sys.executable, "/nonexistent")
    assert argv[:2] == [sys.executable, "-c"] and argv[-1] == "{connection_file}"
    assert "import json, os, signal, socket, sys, time" in argv[2] and "dxreport" not in argv[2]
