"""Running chapter notebooks with Papermill on a small pool of warm kernels.

Kernel start-up and the imports of pandas, matplotlib and seaborn dominate a chapter's run, so
each worker thread starts one kernel and runs chapter after chapter in it, resetting the
namespace in between (`%reset -f`: variables go, imported modules stay warm). Workers run
concurrently. On purpose:

- transport: on POSIX the kernels talk over IPC (Unix sockets) in a private 0700 folder of the
  pool, not over TCP: nothing on the machine can connect to them, ipykernel has no reason to warn
  "Kernel is running over TCP without encryption", and no two kernels can be handed the same
  endpoint, so starts need no lock and run in parallel. The folder (connection files, sockets,
  and `charts/`, where the pool's kernels share the charts they draw: `data_env.CHART_STORE_ENV`) is
  removed when the pool closes; a folder left by a build that was killed is removed by the next
  one. Elsewhere (Windows) TCP with CurveZMQ encryption where jupyter_client offers it, and kernel
  starts serialised under a file lock (Jupyter's free-port race);
- start-up (Linux, two kernels or more): the kernels are forked from one warm parent that did the
  imports once (`forkserver`), through a kernel spec the pool writes in its folder; the pool
  kills that parent, and with it any kernel left, when it closes;
- working directory: Papermill's `cwd` argument calls `os.chdir`, which is process-wide and
  would move every thread. Kernels are started in the project root instead, and `cwd` is unused;
- stopping: `abort()` (Ctrl-C, a failed chapter elsewhere) kills every kernel's process group at
  once; the worker threads, daemons, then see a dead kernel within a second and end. Nothing waits
  for a cell to finish.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import ChapterError

KERNEL_NAME = "python3"
START_TIMEOUT = 120
RESET_CODE = "import dxreport.execute as _x; _x.fresh_namespace()"
# The chapters' code is not the analyst's history: kept in memory, not in ~/.ipython (as nbclient
# does for the kernels it starts itself), and no SQLite file shared by concurrent kernels.
# No top-level `await` in a chapter: IPython then skips compiling each cell a second time to look
# for one (about a tenth of a short cell's cost in the kernel). Output written to the process's
# file descriptors by C code is not copied into the notebook (it goes to the pool's kernel log):
# the chapters print through Python, and ipykernel's pipe-reading threads cost every cell.
KERNEL_ARGS = ["--HistoryManager.hist_file=:memory:", "--InteractiveShell.autoawait=False",
               "--IPKernelApp.capture_fd_output=False"]
WARMUP_CODE = "import dxreport.execute as _x; _x.warm_up()"
USE_IPC = os.name == "posix"
# Kernels forked from one warm parent (`forkserver`): Linux only, where fork after imports is safe.
USE_FORK = sys.platform.startswith("linux") and os.environ.get("DXREPORT_FORK", "1") != "0"
FORK_KERNEL = "dxreport-fork"  # the kernel spec the pool writes in its folder
RUNTIME_PREFIX = "dxreport-kernels-"
ABORT_JOIN = 10.0


@dataclass(frozen=True)
class Job:
    slug: str
    title: str
    source: Path
    output: Path
    parameters: dict
    failed_dir: Path | None = None  # where a failing chapter's notebook and traceback are kept


def fresh_namespace() -> None:
    """Run in the kernel before each chapter: what `%reset -f` does (every name goes, imported
    modules stay, the history starts anew) and every figure closed, without the two full garbage
    collections IPython's reset makes. With pandas and matplotlib loaded each takes about 0.1 s,
    0.2 s a chapter; reference counting frees a chapter's objects, and the collector's own
    generations run as usual."""
    import gc

    import matplotlib.pyplot as plt
    from IPython import get_ipython

    plt.close("all")
    collect = gc.collect
    gc.collect = lambda generation=2: 0
    try:
        get_ipython().reset(new_session=True)
    finally:
        gc.collect = collect


def warm_up() -> None:
    """Run in each kernel as it starts, while the build validates its data: import what the
    chapters use, then settle the kernel for many short cells. The objects of those imports
    (pandas, matplotlib, IPython: most of the heap) live as long as the kernel, so they are moved
    out of the collector's reach (`gc.freeze`) and each full collection scans only what the
    chapters made. ipykernel's logger is at DEBUG behind a WARNING handler (traitlets' default),
    so each message built a log record nobody reads; it is set to WARNING, what is shown."""
    import gc
    import logging

    import dxreport.chapter  # noqa: F401
    import dxreport.charts  # noqa: F401
    import dxreport.display  # noqa: F401
    import dxreport.sections  # noqa: F401

    gc.collect()
    gc.freeze()
    logging.getLogger("IPKernelApp").setLevel(logging.WARNING)


def _kernel_env(root: Path, validated: str, charts: Path | None = None) -> dict:
    from .data_env import CHART_STORE_ENV, VALIDATED_ENV

    env = dict(os.environ)
    env.pop(CHART_STORE_ENV, None)  # only a pool's own folder, never one inherited
    env.update({"MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "DXREPORT_ROOT": str(root),
                "PYDEVD_DISABLE_FILE_VALIDATION": "1", VALIDATED_ENV: validated})
    if charts is not None:
        env[CHART_STORE_ENV] = str(charts)
    return env


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_runtime(tmp: str | None = None) -> None:
    """Remove kernel folders of builds that died (their pid is in the folder's name)."""
    base = Path(tmp or tempfile.gettempdir())
    pattern = re.compile(rf"^{RUNTIME_PREFIX}(\d+)-")
    try:
        entries = list(base.iterdir())
    except OSError:
        return
    for entry in entries:
        match = pattern.match(entry.name)
        if not match or int(match[1]) == os.getpid():
            continue
        try:
            if entry.is_dir() and not entry.is_symlink() and entry.stat().st_uid == os.getuid() \
                    and not _pid_alive(int(match[1])):
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            continue


SKIP_TAG = "skip-execution"  # nbclient's: the cell is kept as it is, not run


def skip_checks(nb) -> int:
    """Mark the chapter's CI checks not to run: code cells that nbval compares
    (`notebook_env.is_check`) and that the report removes (tag `remove-cell`). They print key
    figures for `pytest --nbval-lax` on the reference period and show nothing in a report; a
    build has no use for their output. Returns how many cells were marked."""
    from .notebook_env import is_check

    marked = 0
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "remove-cell" in tags and is_check(cell):
            cell.metadata["tags"] = [*tags, SKIP_TAG]
            marked += 1
    return marked


_SOURCES: dict[tuple[str, int, int], object] = {}


def load_source(path: Path):
    """The chapter notebook as Papermill's loader gives it (`load_notebook_node`: read,
    validated, Papermill's metadata added), read once per process for each version of the file:
    a batch runs the same chapters period after period. A copy each time, to run and fill."""
    from papermill.iorw import load_notebook_node

    stat = os.stat(path)
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    loaded = _SOURCES.get(key)
    if loaded is None:
        loaded = _SOURCES[key] = load_notebook_node(str(path))
    return copy.deepcopy(loaded)


def _close_thread_loop() -> None:
    """Close the event loop that nbclient made for this thread (`jupyter_core`'s `run_sync`
    makes one per thread and never closes it). Left to the garbage collector, a loop freed
    after its own sockets (at exit, after Ctrl-C) prints an error from its `__del__`."""
    import asyncio

    try:
        loop = asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:  # this thread never made one
        return
    if not loop.is_running() and not loop.is_closed():
        loop.close()


class WarmKernel:
    """One kernel kept alive across chapters."""

    def __init__(self, root: Path, lock_path: Path, log_path: Path, validated: str = "",
                 runtime: Path | None = None, index: int = 0):
        from jupyter_client.manager import KernelManager

        self.root, self.lock_path, self.validated = root, lock_path, validated
        self.charts = runtime / "charts" if runtime is not None else None  # shared by the pool's kernels
        if USE_IPC and runtime is not None:
            if (runtime / "kernels" / FORK_KERNEL).is_dir():  # the pool's fork server starts it
                from jupyter_client.kernelspec import KernelSpecManager

                specs = KernelSpecManager(kernel_dirs=[str(runtime / "kernels")], ensure_native_kernel=False)
                self.km = KernelManager(kernel_name=FORK_KERNEL, kernel_spec_manager=specs, transport="ipc")
            else:
                self.km = KernelManager(kernel_name=KERNEL_NAME, transport="ipc")
            self.km.connection_file = str(runtime / f"kernel-{index}.json")
            self.km.ip = str(runtime / f"k{index}")
        else:
            self.km = KernelManager(kernel_name=KERNEL_NAME)
            if "transport_encryption" in self.km.trait_names():
                self.km.transport_encryption = "auto"
        self._log = open(log_path, "ab")
        self.dead = False
        self.client = None
        # held while a chapter runs on this kernel: in a batch, the next period's workers may start
        # on the other kernels while this one finishes the period before
        self.busy = threading.Lock()

    def start(self) -> None:
        env = _kernel_env(self.root, self.validated, self.charts)
        if self.km.transport == "tcp":
            from filelock import FileLock

            with FileLock(str(self.lock_path), timeout=START_TIMEOUT):
                self.km.start_kernel(cwd=str(self.root), env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     extra_arguments=KERNEL_ARGS)
                _wait_for_ports(self.km)  # once bound, no other start can be handed the same ports
        else:
            self.km.start_kernel(cwd=str(self.root), env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                 extra_arguments=KERNEL_ARGS)
        client = self.km.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=START_TIMEOUT)
            # Warm the kernel while the build validates data and imports Papermill: the first
            # chapter's request queues behind these imports instead of paying for them.
            client.execute(WARMUP_CODE, silent=True, store_history=False)
        except BaseException:
            client.stop_channels()
            raise
        # Kept for every chapter this kernel runs: a new client per notebook (nbclient's default)
        # waits for the kernel to answer and then drains IOPub for 0.2 s, each time.
        self.client = client

    def run(self, job: Job, progress: bool, position: int):
        """Run one chapter through Papermill: its loader, parameters, execution manager and
        error report, as `papermill.execute_notebook` chains them, without that function's
        two extra trips through JSON (a notebook given as an object is written to text and
        parsed again before it runs; the result is encoded by nbformat's pure-Python indenting
        writer after). The executed notebook, without what Papermill records about this machine
        (`render.strip_machine`), is validated once, written by `notebook.write` (nbformat's
        layout, orjson's speed) and returned."""
        import nbformat
        from papermill.engines import papermill_engines
        from papermill.exceptions import PapermillExecutionError
        from papermill.execute import prepare_notebook_metadata, raise_for_execution_errors, remove_error_markers
        from papermill.parameterize import parameterize_notebook

        from . import notebook
        from .render import strip_machine

        source, output = str(job.source), str(job.output)
        nb = load_source(job.source)
        skip_checks(nb)
        nb = parameterize_notebook(nb, job.parameters, kernel_name=KERNEL_NAME, engine_name=_warm_engine())
        nb = remove_error_markers(prepare_notebook_metadata(nb, source, output))
        # Each chapter starts from an empty namespace (imports stay warm): the reset runs as the
        # first line of the chapter's first code cell (its parameters), not as a cell of its own,
        # which cost a kernel round trip per chapter. The cell reads as written once it has run.
        first = next((i for i, cell in enumerate(nb.cells)
                      if cell.cell_type == "code" and SKIP_TAG not in cell.metadata.get("tags", [])), None)
        written = nb.cells[first].source if first is not None else ""
        if first is not None:
            nb.cells[first].source = f"{RESET_CODE}\n{written}"
        bar = {"desc": f"{job.title:<28}", "position": position, "leave": True, "unit": "ô"} if progress else False
        try:
            # nothing is saved while the chapter runs: nothing reads the notebook before it ends
            nb = papermill_engines.execute_notebook_with_engine(
                _warm_engine(), nb, kernel_name=KERNEL_NAME, input_path=source, output_path=None,
                progress_bar=bar, log_output=False, start_timeout=START_TIMEOUT, km=self.km,
                warm_client=self.client)
            if first is not None:
                nb.cells[first].source = written
            raise_for_execution_errors(nb, output)  # on an error, Papermill writes the notebook itself
        except PapermillExecutionError as exc:
            raise chapter_error(job, exc) from None
        strip_machine(nb)
        nbformat.validate(nb)  # the outputs were made without nbformat's per-output check (`output_node`)
        notebook.write(nb, job.output)
        return nb

    def kill(self) -> None:
        """Kill the kernel and whatever it started (it leads its own session), from any thread."""
        self.dead = True
        provisioner = getattr(self.km, "provisioner", None)
        pid = getattr(provisioner, "pid", None)
        if pid:
            try:
                os.killpg(pid, signal.SIGKILL) if hasattr(os, "killpg") else os.kill(pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError, OSError):
                pass

    def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            try:
                client.stop_channels()
            except Exception:  # noqa: BLE001
                pass
        try:
            if self.km.has_kernel:
                self.km.shutdown_kernel(now=True)
        except Exception:  # noqa: BLE001 - a kernel killed on abort may fail its polite shutdown
            self.kill()
            try:
                self.km.cleanup_resources()
            except Exception:  # noqa: BLE001
                pass
        finally:
            self._log.close()


WARM_ENGINE = "dxreport-warm"


def _warm_engine() -> str:
    """Papermill's nbclient engine, except that the notebook client is handed the kernel's
    long-lived client instead of connecting anew (registered once, on first use)."""
    import datetime

    from nbclient.util import run_sync
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

    if WARM_ENGINE in papermill_engines._engines:
        return WARM_ENGINE

    class WarmManager(NotebookExecutionManager):
        def cell_complete(self, cell, cell_index=None, **kwargs):
            """Papermill's, with the cell's duration taken from the start time it wrote itself
            by `datetime.fromisoformat`, not dateutil's general parser (which cost as much as the
            rest of a short cell's bookkeeping in this process). `strip_machine` drops these
            timings from what is written; a failed chapter's kept notebook still has them.
            Papermill saves nothing meanwhile: `WarmKernel.run` gives it no output path."""
            papermill = cell.metadata.papermill
            start = papermill.get("start_time")
            papermill["start_time"] = None  # Papermill's own method then finds no start to parse
            try:
                super().cell_complete(cell, cell_index, **kwargs)
            finally:
                papermill["start_time"] = start
            if start:
                end = datetime.datetime.fromisoformat(papermill["end_time"])
                papermill["duration"] = (end - datetime.datetime.fromisoformat(start)).total_seconds()

    class WarmClient(PapermillNotebookClient):
        def __init__(self, nb_man, warm_client=None, **kwargs):
            super().__init__(nb_man, **kwargs)
            self.warm_client = warm_client

        async def async_start_new_kernel_client(self):
            if self.warm_client is None:
                return await super().async_start_new_kernel_client()
            from nbclient.util import run_hook

            self.kc = self.warm_client
            self.kc.allow_stdin = False
            await run_hook(self.on_notebook_start, notebook=self.nb)
            return self.kc

        start_new_kernel_client = run_sync(async_start_new_kernel_client)  # the base binds its own

        def execute(self, **kwargs):
            """Papermill's `execute`, except that the kernel's `language_info` is asked once per
            kernel, not after every chapter (a round trip each time; it never changes)."""
            if self.warm_client is None:
                return super().execute(**kwargs)
            self.reset_execution_trackers()
            with self.setup_kernel(**kwargs):
                self.papermill_execute_cells()
                info = getattr(self.warm_client, "dxreport_language_info", None)
                if info is None:
                    info = self.wait_for_reply(self.kc.kernel_info())["content"]["language_info"]
                    self.warm_client.dxreport_language_info = info
                self.nb.metadata["language_info"] = copy.deepcopy(info)
                self.set_widgets_metadata()
            return self.nb

        def output(self, outs, msg, display_id, cell_index):
            """nbclient's `output`, with the output made by `output_node`: nbformat checks each
            output against the schema with jsonschema as it arrives (a third of this process's
            time per chapter); the whole notebook is validated once, before it is written."""
            parent_msg_id = msg["parent_header"].get("msg_id")
            if self.output_hook_stack[parent_msg_id]:  # a widget's hook decides, as in nbclient
                return super().output(outs, msg, display_id, cell_index)
            out = output_node(msg)
            if out is None:
                self.log.error(f"unhandled iopub msg: {msg['msg_type']}")
                return None
            if self.clear_before_next_output:
                outs[:] = []
                self.clear_display_id_mapping(cell_index)
                self.clear_before_next_output = False
            if display_id:
                self._display_id_map.setdefault(display_id, {}).setdefault(cell_index, []).append(len(outs))
            outs.append(out)
            return out

    class WarmEngine(NBClientEngine):
        manager = WarmManager

        @classmethod
        def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False,
                             autosave_cell_every=30, **kwargs):
            """Papermill's `Engine.execute_notebook`, with `WarmManager` as the manager."""
            nb_man = cls.manager(nb, output_path=output_path, progress_bar=progress_bar, log_output=log_output,
                                 autosave_cell_every=autosave_cell_every)
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()
            return nb_man.nb

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, start_timeout=60, execution_timeout=None, **kwargs):
            kwargs.pop("input_path", None)
            kwargs.pop("startup_timeout", None)
            timeout = execution_timeout or kwargs.pop("timeout", None)
            # record_timing: nbclient's per-message timestamps in each cell's metadata, which
            # `strip_machine` removes before anything is written
            return WarmClient(nb_man, timeout=timeout, startup_timeout=start_timeout, kernel_name=kernel_name,
                              log=logging.getLogger("papermill"), log_output=log_output, record_timing=False,
                              stdout_file=stdout_file, stderr_file=stderr_file, **kwargs).execute()

    papermill_engines.register(WARM_ENGINE, WarmEngine)
    return WARM_ENGINE


_OUTPUT_FIELDS = {
    "execute_result": ("metadata", "data", "execution_count"),
    "display_data": ("metadata", "data"),
    "stream": ("name", "text"),
    "error": ("ename", "evalue", "traceback"),
}


def output_node(msg: dict):
    """A kernel's IOPub message as a notebook output: `nbformat.v4.output_from_msg` without
    its per-output schema check (the caller validates the notebook). None for a message that
    is not an output."""
    from nbformat import from_dict

    kind = msg["header"]["msg_type"]
    fields = _OUTPUT_FIELDS.get(kind)
    if fields is None:
        return None
    content = msg["content"]
    return from_dict({"output_type": kind, **{name: content[name] for name in fields}})


def _wait_for_ports(km, timeout: float = START_TIMEOUT) -> None:
    """Wait until the kernel listens on all its TCP ports (or has died)."""
    import socket

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


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _failing_line(traceback: list[str]) -> str | None:
    """The line IPython marks with an arrow in the first frame: the chapter cell's own line
    (later frames are inside the library)."""
    for line in _ANSI.sub("", "\n".join(traceback or [])).splitlines():
        match = re.match(r"^\s*-+>\s*\d+\s(.*)$", line)
        if match and match[1].strip():
            return match[1].strip()
    return None


def chapter_error(job: Job, exc) -> ChapterError:
    """A `ChapterError` for Papermill's error: the cell as the analyst sees it, the failing line,
    and the executed notebook and traceback kept under `job.failed_dir` (never published)."""
    index, code_number = _source_index(job.source, exc)
    details = None
    if job.failed_dir is not None:
        try:
            job.failed_dir.mkdir(parents=True, exist_ok=True)
            text = _ANSI.sub("", "\n".join(exc.traceback or []))
            tb_path = job.failed_dir / f"{job.slug}.txt"
            tb_path.write_text(f"{job.source.name}\n{exc.ename}: {exc.evalue}\n\n{text}\n", encoding="utf-8")
            if job.output.exists():
                shutil.copyfile(job.output, job.failed_dir / f"{job.slug}.ipynb")
            details = _shown(tb_path)
        except OSError:
            details = None
    return ChapterError(job.slug, index, exc.ename, exc.evalue, code_cell=code_number,
                        line=_failing_line(exc.traceback), details=details)


def _shown(path: Path) -> str:
    """A path as the user can type it: relative to the current folder when under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def _source_index(source: Path, exc) -> tuple[int | None, int | None]:
    """The failing cell in the chapter notebook as the analyst sees it (without the parameters
    cell Papermill injects): its 0-based position among all cells, and its 1-based number among
    code cells (JupyterLab's `[n]` after Run All)."""
    import nbformat

    cells = nbformat.read(str(source), as_version=4).cells
    code_number = 0
    for index, cell in enumerate(cells):
        if cell.cell_type == "code":
            code_number += 1
            if cell.source == exc.source:
                return index, code_number
    return exc.cell_index, None


def _chapter_number(slug: str) -> str:
    match = re.match(r"^(\d+)", slug)
    return match[1] if match else slug


def finished_line(job_or_slug, title: str | None = None, seconds: float | None = None) -> str:
    """One line per finished chapter, for logs and pipes: '✓ 02 Hạ tầng số (1,8 giây)'."""
    from . import fmt

    slug = job_or_slug.slug if isinstance(job_or_slug, Job) else job_or_slug
    title = title if title is not None else job_or_slug.title
    when = "dùng lại kết quả trước" if seconds is None else f"{fmt.number(seconds, 1)} giây"
    return f"✓ {_chapter_number(slug)} {title} ({when})"


class _AbortedThreads(logging.Filter):
    def __init__(self, pool: "KernelPool"):
        super().__init__()
        self.names = {t.name for t in pool._starters} | {t.name for t in pool._workers}
        self.token = pool.token

    def filter(self, record: logging.LogRecord) -> bool:
        if record.threadName in self.names and self.token in record.threadName:
            return False
        # jupyter_client's clients of a killed kernel fail to close their ZMQ context when they are
        # collected, from whichever thread; nothing is lost, the kernel is gone on purpose.
        return not str(record.msg).startswith("Could not destroy zmq context")


def _quiet_after_abort(pool: "KernelPool") -> None:
    for name in ("traitlets", "papermill", "nbclient", "jupyter_client"):
        logging.getLogger(name).addFilter(_AbortedThreads(pool))


class KernelPool:
    """`workers` warm kernels, started at once in the background, then fed a queue of chapters.

    Starting is split from running so a build can start kernels first and validate its data
    while they boot."""

    def __init__(self, root: Path, lock_path: Path, log_path: Path, workers: int = 2, validated: str = ""):
        self.args = (root, lock_path, log_path, validated)
        self.workers = max(1, workers)
        self.kernels: list[WarmKernel] = []
        self._all: list[WarmKernel] = []
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._aborted = threading.Event()
        self._workers: list[threading.Thread] = []
        # the pool's private folder: the kernels' sockets (IPC) and the charts they share
        clean_stale_runtime()
        self.runtime: Path = Path(tempfile.mkdtemp(prefix=f"{RUNTIME_PREFIX}{os.getpid()}-"))
        (self.runtime / "charts").mkdir()
        self.token = f"{os.getpid()}.{id(self):x}"
        self.server: subprocess.Popen | None = None
        if USE_FORK and USE_IPC and self.workers > 1:  # one kernel gains nothing from a parent
            self.server = self._start_server()
        self._starters = [threading.Thread(target=self._start, args=(i,), name=f"dxreport-start-{i}-{self.token}",
                                           daemon=True)
                          for i in range(self.workers)]
        for thread in self._starters:
            thread.start()

    def _start_server(self) -> subprocess.Popen | None:
        """The fork server, started now with the kernels' environment and folder, and the kernel
        spec that makes jupyter_client ask it for each kernel. None if it cannot start (the
        kernels then start directly)."""
        from . import forkserver

        root, _lock, log_path, validated = self.args
        sock = self.runtime / "fork.sock"
        try:
            spec = self.runtime / "kernels" / FORK_KERNEL
            spec.mkdir(parents=True)
            (spec / "kernel.json").write_text(json.dumps({
                "argv": forkserver.kernel_spec_argv(sys.executable, str(sock)),
                "display_name": "Python 3 (dxreport)", "language": "python"}), encoding="utf-8")
            with open(log_path, "ab") as log:
                return subprocess.Popen([sys.executable, "-m", "dxreport.forkserver", str(sock), str(os.getpid()),
                                         *KERNEL_ARGS],
                                        cwd=str(root), env=_kernel_env(root, validated, self.runtime / "charts"),
                                        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        except OSError:
            shutil.rmtree(self.runtime / "kernels", ignore_errors=True)
            return None

    def _stop_server(self) -> None:
        """Kill the fork server and, in its process group, any kernel still alive."""
        server, self.server = self.server, None
        if server is None:
            return
        try:
            os.killpg(server.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, OSError):
            pass
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def _start(self, index: int) -> None:
        try:
            if self.server is not None and self.server.poll() is not None:  # it failed: start directly
                shutil.rmtree(self.runtime / "kernels", ignore_errors=True)
            kernel = WarmKernel(*self.args, runtime=self.runtime, index=index)
            with self._lock:
                if self._aborted.is_set():
                    kernel._log.close()
                    return
                self._all.append(kernel)
            kernel.start()
            with self._lock:
                if self._aborted.is_set():
                    kernel.kill()
                    return
                self.kernels.append(kernel)
        except BaseException as exc:  # noqa: BLE001 - re-raised by run()
            self.errors.append(exc)

    def run(self, jobs: list[Job], progress: bool = True, on_done=None, on_drained=None) -> None:
        """Run every job; raise the first `ChapterError` (others stop after their current chapter).
        `on_done(job, seconds, executed)` is called, in the worker's thread, as each chapter
        finishes, with the executed notebook (as written to `job.output`);
        `on_drained()` once every job has been taken by a kernel (the last ones may still run). If
        the caller's thread is interrupted (Ctrl-C), every kernel is killed before the interrupt
        goes on."""
        try:
            self._run(jobs, progress, on_done, on_drained)
        except BaseException:
            self.abort()
            raise

    def _run(self, jobs, progress, on_done, on_drained=None) -> None:
        for thread in self._starters:
            thread.join()
        if self.errors:
            raise self.errors[0]
        pending: queue.Queue = queue.Queue()
        for index, job in enumerate(jobs):
            pending.put((index, job))
        stop = threading.Event()
        errors: list[BaseException] = []

        drained = threading.Lock()  # on_drained is called once

        def empty() -> None:
            if on_drained is not None and drained.acquire(blocking=False):
                on_drained()

        def worker(kernel: WarmKernel) -> None:
            try:
                while not stop.is_set() and not self._aborted.is_set():
                    if pending.empty():  # all taken: no need to wait for this kernel
                        empty()
                        return
                    with kernel.busy:  # another run's chapter on this kernel ends first
                        try:
                            index, job = pending.get_nowait()
                        except queue.Empty:
                            empty()
                            return
                        if pending.empty():
                            empty()
                        clock = time.perf_counter()
                        executed = kernel.run(job, progress, index)
                    if on_done is not None and not self._aborted.is_set():
                        on_done(job, time.perf_counter() - clock, executed)
            except BaseException as exc:  # noqa: BLE001 - collected and re-raised in the caller's thread
                errors.append(exc)
                stop.set()
            finally:
                _close_thread_loop()

        threads = [threading.Thread(target=worker, args=(k,), name=f"dxreport-kernel-{i}-{self.token}",
                                    daemon=True)
                   for i, k in enumerate(self.kernels)]  # all: one may still run another run's chapter
        with self._lock:  # a batch's next run may start while this one's last chapter runs
            self._workers = [t for t in self._workers if t.is_alive()] + threads
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        empty()
        if errors:
            chapter_errors = [e for e in errors if isinstance(e, ChapterError)]
            raise (chapter_errors or errors)[0]

    def abort(self) -> None:
        """Stop now: kill every kernel (started or starting), let the threads end, clean up.
        What the dying threads' Jupyter clients log about the kernels they lost is dropped: the
        build says itself why it stopped."""
        with self._lock:
            if not self._aborted.is_set():
                _quiet_after_abort(self)
            self._aborted.set()
            kernels = list(self._all)
        for kernel in kernels:
            kernel.kill()
        deadline = time.monotonic() + ABORT_JOIN
        for thread in [*self._workers, *self._starters]:
            if thread.ident is not None:  # a run in another thread may not have started its own yet
                thread.join(max(0.0, deadline - time.monotonic()))
        for kernel in kernels:
            try:
                kernel.close()
            except Exception:  # noqa: BLE001
                pass
        self._remove_runtime()

    def _remove_runtime(self) -> None:
        self._stop_server()
        if self.runtime is not None:
            shutil.rmtree(self.runtime, ignore_errors=True)

    def close(self, wait: bool = True) -> None:
        """Shut the kernels down; with `wait=False` in a background thread (the build goes on
        rendering while they exit)."""
        def shutdown():
            for thread in self._starters:
                thread.join()
            for kernel in self.kernels:
                kernel.close()
            self._remove_runtime()

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
