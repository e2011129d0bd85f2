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

from .errors import ChapterError

KERNEL_NAME = "python3"
START_TIMEOUT = 120
RESET_CODE = "get_ipython().run_line_magic('reset', '-f')\nimport matplotlib.pyplot as _plt; _plt.close('all'); del _plt"


@dataclass(frozen=True)
class Job:
    slug: str
    title: str
    source: Path
    output: Path
    parameters: dict


def _kernel_env(root: Path) -> dict:
    env = dict(os.environ)
    env.update({"MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "DXREPORT_ROOT": str(root),
                "PYDEVD_DISABLE_FILE_VALIDATION": "1"})
    return env


class WarmKernel:
    """One kernel kept alive across chapters."""

    def __init__(self, root: Path, lock_path: Path, log_path: Path):
        from jupyter_client.manager import KernelManager

        self.km = KernelManager(kernel_name=KERNEL_NAME)
        self._log = open(log_path, "ab")
        with FileLock(str(lock_path), timeout=START_TIMEOUT):
            self.km.start_kernel(cwd=str(root), env=_kernel_env(root), stdout=self._log, stderr=subprocess.STDOUT)
            client = self.km.client()
            client.start_channels()
            try:
                client.wait_for_ready(timeout=START_TIMEOUT)
            finally:
                client.stop_channels()

    def reset(self) -> None:
        client = self.km.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=START_TIMEOUT)
            reply = client.execute_interactive(RESET_CODE, store_history=False, timeout=60, output_hook=lambda m: None)
            if reply["content"].get("status") != "ok":
                raise RuntimeError(f"kernel reset failed: {reply['content']}")
        finally:
            client.stop_channels()

    def run(self, job: Job, progress: bool, position: int) -> None:
        import papermill as pm
        from papermill.exceptions import PapermillExecutionError

        self.reset()
        bar = {"desc": f"{job.title:<28}", "position": position, "leave": True} if progress else False
        try:
            pm.execute_notebook(str(job.source), str(job.output), parameters=job.parameters, km=self.km,
                                kernel_name=KERNEL_NAME, progress_bar=bar, start_timeout=START_TIMEOUT)
        except PapermillExecutionError as exc:
            raise ChapterError(job.slug, exc.cell_index, exc.ename, exc.evalue) from None

    def close(self) -> None:
        try:
            self.km.shutdown_kernel(now=True)
        finally:
            self._log.close()


def run_jobs(jobs: list[Job], root: Path, lock_path: Path, log_path: Path, workers: int = 2,
             progress: bool = True) -> None:
    """Run every job; raise the first `ChapterError` (others stop after their current chapter)."""
    if not jobs:
        return
    workers = max(1, min(workers, len(jobs)))
    pending: queue.Queue = queue.Queue()
    for index, job in enumerate(jobs):
        pending.put((index, job))
    errors: list[BaseException] = []
    stop = threading.Event()

    def worker() -> None:
        kernel = None
        try:
            kernel = WarmKernel(root, lock_path, log_path)
            while not stop.is_set():
                try:
                    index, job = pending.get_nowait()
                except queue.Empty:
                    return
                kernel.run(job, progress, index)
        except BaseException as exc:  # noqa: BLE001 - collected and re-raised in the caller's thread
            errors.append(exc)
            stop.set()
        finally:
            if kernel is not None:
                kernel.close()

    threads = [threading.Thread(target=worker, name=f"dxreport-kernel-{i}") for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        chapter_errors = [e for e in errors if isinstance(e, ChapterError)]
        raise (chapter_errors or errors)[0]
