"""Running chapter notebooks with Papermill on a small pool of warm kernels.

Kernel start-up and the imports of pandas, matplotlib and seaborn dominate a chapter's run, so
each worker thread starts one kernel and runs chapter after chapter in it, resetting the
namespace in between (`%reset -f`: variables go, imported modules stay warm). Workers run
concurrently. Two races are avoided on purpose:

- kernel start: jupyter_client picks free TCP ports, closes them and hands them to the kernel;
  another kernel starting meanwhile can take the same port. Starts are serialised under a lock
  (a file lock, so separate `dxreport build` processes are covered too) until the kernel is ready;
- working directory: Papermill's `cwd` argument calls `os.chdir`, which is process-wide and
  would move every thread. Kernels are started in the project root instead, and `cwd` is unused.
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from .data_env import VALIDATED_ENV
from .errors import ChapterError

KERNEL_NAME = "python3"
START_TIMEOUT = 120
RESET_CODE = "get_ipython().run_line_magic('reset', '-f')\nimport matplotlib.pyplot as _plt; _plt.close('all'); del _plt"
RESET_TAG = "dxreport-reset"
WARMUP_CODE = "import dxreport.chapter, dxreport.sections, dxreport.charts, dxreport.display"


@dataclass(frozen=True)
class Job:
    slug: str
    title: str
    source: Path
    output: Path
    parameters: dict


def _kernel_env(root: Path, validated: str) -> dict:
    env = dict(os.environ)
    env.update({"MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "DXREPORT_ROOT": str(root),
                "PYDEVD_DISABLE_FILE_VALIDATION": "1", VALIDATED_ENV: validated})
    return env


class WarmKernel:
    """One kernel kept alive across chapters."""

    def __init__(self, root: Path, lock_path: Path, log_path: Path, validated: str = ""):
        from jupyter_client.manager import KernelManager

        self.km = KernelManager(kernel_name=KERNEL_NAME)
        self._log = open(log_path, "ab")
        with FileLock(str(lock_path), timeout=START_TIMEOUT):
            self.km.start_kernel(cwd=str(root), env=_kernel_env(root, validated), stdout=self._log,
                                 stderr=subprocess.STDOUT)
            _wait_for_ports(self.km)  # once bound, no other start can be handed the same ports
        client = self.km.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=START_TIMEOUT)
            # Warm the kernel while the build validates data and imports Papermill: the first
            # chapter's request queues behind these imports instead of paying for them.
            client.execute(WARMUP_CODE, silent=True, store_history=False)
        finally:
            client.stop_channels()

    def run(self, job: Job, progress: bool, position: int) -> None:
        import nbformat
        import papermill as pm
        from papermill.exceptions import PapermillExecutionError

        nb = nbformat.read(str(job.source), as_version=4)
        reset = nbformat.v4.new_code_cell(RESET_CODE)
        reset.metadata["tags"] = [RESET_TAG, "remove-cell"]
        nb.cells.insert(0, reset)  # each chapter starts from an empty namespace; imports stay warm
        bar = {"desc": f"{job.title:<28}", "position": position, "leave": True} if progress else False
        try:
            # The output is written once at the end: saving after every cell rewrites a notebook full
            # of base64 figures many times over, and nothing reads it before the chapter ends.
            pm.execute_notebook(nb, str(job.output), parameters=job.parameters, km=self.km,
                                kernel_name=KERNEL_NAME, progress_bar=bar, start_timeout=START_TIMEOUT,
                                request_save_on_cell_execute=False)
        except PapermillExecutionError as exc:
            raise ChapterError(job.slug, _source_index(job.source, exc), exc.ename, exc.evalue) from None

    def close(self) -> None:
        try:
            self.km.shutdown_kernel(now=True)
        finally:
            self._log.close()


def _wait_for_ports(km, timeout: float = START_TIMEOUT) -> None:
    """Wait until the kernel listens on all its TCP ports (or has died)."""
    import socket
    import time

    if km.transport != "tcp":
        return
    ports = [km.shell_port, km.iopub_port, km.stdin_port, km.control_port, km.hb_port]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and km.is_alive():
        listening = 0
        for port in ports:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.settimeout(0.2)
                listening += probe.connect_ex((km.ip, port)) == 0
        if listening == len(ports):
            return
        time.sleep(0.02)


def _source_index(source: Path, exc) -> int | None:
    """The failing cell's index in the chapter notebook as the analyst sees it (without the reset
    cell dxreport adds and the parameters cell Papermill injects)."""
    import nbformat

    cells = nbformat.read(str(source), as_version=4).cells
    for index, cell in enumerate(cells):
        if cell.cell_type == "code" and cell.source == exc.source:
            return index
    return exc.cell_index


class KernelPool:
    """`workers` warm kernels, started at once in the background, then fed a queue of chapters.

    Starting is split from running so a build can start kernels first and validate its data
    while they boot."""

    def __init__(self, root: Path, lock_path: Path, log_path: Path, workers: int = 2, validated: str = ""):
        self.args = (root, lock_path, log_path, validated)
        self.workers = max(1, workers)
        self.kernels: list[WarmKernel] = []
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._starters = [threading.Thread(target=self._start, name=f"dxreport-start-{i}") for i in range(self.workers)]
        for thread in self._starters:
            thread.start()

    def _start(self) -> None:
        try:
            kernel = WarmKernel(*self.args)
            with self._lock:
                self.kernels.append(kernel)
        except BaseException as exc:  # noqa: BLE001 - re-raised by run()
            self.errors.append(exc)

    def run(self, jobs: list[Job], progress: bool = True, on_done=None) -> None:
        """Run every job; raise the first `ChapterError` (others stop after their current chapter).
        `on_done(job)` is called, in the worker's thread, as each chapter finishes."""
        for thread in self._starters:
            thread.join()
        if self.errors:
            raise self.errors[0]
        pending: queue.Queue = queue.Queue()
        for index, job in enumerate(jobs):
            pending.put((index, job))
        stop = threading.Event()
        errors: list[BaseException] = []

        def worker(kernel: WarmKernel) -> None:
            try:
                while not stop.is_set():
                    try:
                        index, job = pending.get_nowait()
                    except queue.Empty:
                        return
                    kernel.run(job, progress, index)
                    if on_done is not None:
                        on_done(job)
            except BaseException as exc:  # noqa: BLE001 - collected and re-raised in the caller's thread
                errors.append(exc)
                stop.set()

        threads = [threading.Thread(target=worker, args=(k,), name=f"dxreport-kernel-{i}")
                   for i, k in enumerate(self.kernels[: max(1, len(jobs))])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            chapter_errors = [e for e in errors if isinstance(e, ChapterError)]
            raise (chapter_errors or errors)[0]

    def close(self, wait: bool = True) -> None:
        """Shut the kernels down; with `wait=False` in a background thread (the build goes on
        rendering while they exit)."""
        def shutdown():
            for thread in self._starters:
                thread.join()
            for kernel in self.kernels:
                kernel.close()

        if wait:
            shutdown()
        else:
            self._closer = threading.Thread(target=shutdown, name="dxreport-shutdown")
            self._closer.start()

    def join(self) -> None:
        closer = getattr(self, "_closer", None)
        if closer is not None:
            closer.join()

    def __enter__(self) -> "KernelPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
