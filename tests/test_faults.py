"""Faults and concurrency, in real subprocesses: Ctrl-C, SIGINT to the whole process group (a
terminal's Ctrl-C), kill -9, and two builds of one report at once.

After each fault: the previous report is byte for byte what it was, no staging folder is left
once the next build ran, no kernel of the build outlives it, and the next build succeeds. A
"slow" chapter writes a marker file and sleeps, so a fault lands inside a running chapter on
purpose, not by timing. The only time bounds are generous: "stops within 30 s".
"""

from __future__ import annotations

import fcntl
import os
import pty
import shutil
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import nbformat
import pytest
from filelock import FileLock

from conftest import make_project

pytestmark = pytest.mark.e2e
CHAPTER = "02-ha-tang-so.ipynb"
PERIOD = "2023-Q3"
DXREPORT = str(Path(sys.executable).with_name("dxreport"))
STOP_WITHIN = 30.0
WAIT_FOR = 180.0


def _slow_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('province = "nghe-an"\nperiod = None\ndata_dir = None')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Chương chậm"), params,
                nbformat.v4.new_code_cell('import pathlib, time\npathlib.Path("running.marker").write_text("x")\n'
                                          'time.sleep(600)')]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


def _kernels(root: Path) -> list[int]:
    """Kernel processes started for this project (their environment names the root)."""
    marker = f"DXREPORT_ROOT={root.resolve()}".encode() + b"\0"
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            env = Path("/proc", entry, "environ").read_bytes()
            state = Path("/proc", entry, "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if (b"\0" + marker in env or env.startswith(marker)) and state != "Z":
            found.append(int(entry))
    return found


def _wait(condition, timeout: float = WAIT_FOR, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _staging(root: Path) -> list[str]:
    parent = root / "outputs" / "nghe-an"
    return sorted(p.name for p in parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name) if parent.exists() else []


def _start(root: Path, *extra: str, new_session: bool = False, **kwargs) -> subprocess.Popen:
    cmd = [DXREPORT, "--root", str(root), "build", "--period", PERIOD, "--format", "html", *extra]
    if "stdout" not in kwargs:
        kwargs.update(stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.Popen(cmd, start_new_session=new_session, **kwargs)


def _run(root: Path, *extra: str) -> subprocess.CompletedProcess:
    proc = _start(root, *extra)
    out, err = proc.communicate(timeout=WAIT_FOR)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _snapshot(root: Path) -> dict[str, bytes]:
    folder = root / "outputs" / "nghe-an" / PERIOD
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def built_once(tmp_path_factory):
    """A one-chapter project with a published HTML report, built by the CLI off a terminal."""
    root = make_project(tmp_path_factory.mktemp("faults") / "proj", [CHAPTER])
    done = _run(root)
    assert done.returncode == 0, done.stderr
    # off a terminal: one line per finished chapter, no bars, no cursor codes, nothing from papermill
    assert done.stderr.splitlines() == [line for line in done.stderr.splitlines() if line.startswith("✓ 02 Hạ tầng số (")]
    assert len(done.stderr.splitlines()) == 1 and "giây)" in done.stderr
    assert "\r" not in done.stderr and "\x1b[" not in done.stderr and "Executing" not in done.stderr
    assert "TCP" not in done.stderr + done.stdout
    return root


@pytest.fixture
def project(built_once, tmp_path):
    """A fresh copy of that project, report and caches included (cheaper than a build per test)."""
    root = tmp_path / "proj"
    shutil.copytree(built_once, root, symlinks=True)
    shutil.rmtree(root / "outputs" / ".cache" / "locks", ignore_errors=True)
    return root


def _assert_recovers(root: Path, before: dict[str, bytes], live: tuple[str, ...] = ()) -> None:
    """The previous report is intact; the next build succeeds and leaves nothing behind but the
    staging of `live` builds of other reports."""
    assert _snapshot(root) == before
    (root / "notebooks" / "09-cham.ipynb").unlink(missing_ok=True)
    again = _run(root)
    assert again.returncode == 0, again.stderr
    assert "Không có thay đổi" in again.stdout  # the published report is still current
    assert _staging(root) == sorted(live)
    assert sorted(_snapshot(root)) == ["bao-cao.html", "kiem-tra-so-lieu.xlsx"]  # the check sheet stays beside the report
    assert "Hạ tầng số" in (root / "outputs" / "nghe-an" / PERIOD / "bao-cao.html").read_text(encoding="utf-8")


def _assert_interrupted(proc: subprocess.Popen, root: Path) -> str:
    started = time.monotonic()
    try:
        _, err = proc.communicate(timeout=STOP_WITHIN)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"the build did not stop within {STOP_WITHIN} s of Ctrl-C") from None
    assert proc.returncode == 130, err
    assert time.monotonic() - started < STOP_WITHIN
    assert "Đã dừng theo yêu cầu" in (err or "")
    assert "Traceback" not in (err or "")
    assert _staging(root) == []  # removed by the interrupted build itself
    _wait(lambda: not _kernels(root), STOP_WITHIN, "the kernels to exit")
    assert not any(Path("/tmp").glob(f"dxreport-kernels-{proc.pid}-*"))  # sockets and connection files
    return err


def test_ctrl_c_while_kernels_start(project):
    before = _snapshot(project)
    _slow_notebook(project / "notebooks" / "09-cham.ipynb")
    proc = _start(project, "--workers", "2")
    _wait(lambda: _staging(project) and _kernels(project), what="staging and kernels")
    proc.send_signal(signal.SIGINT)
    _assert_interrupted(proc, project)
    _assert_recovers(project, before)


def test_ctrl_c_on_a_terminal_inside_a_running_chapter(project):
    """Ctrl-C in a terminal signals the whole foreground process group; kernels live in their
    own sessions, so the build must stop them itself. On a terminal the progress bars show."""
    before = _snapshot(project)
    _slow_notebook(project / "notebooks" / "09-cham.ipynb")
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))  # tqdm draws nothing at width 0
    chunks: list[bytes] = []
    proc = _start(project, new_session=True, stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)

    def drain():
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    _wait(lambda: (project / "running.marker").exists(), what="the slow chapter to run")
    os.killpg(proc.pid, signal.SIGINT)
    started = time.monotonic()
    try:
        proc.wait(timeout=STOP_WITHIN)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"the build did not stop within {STOP_WITHIN} s of Ctrl-C") from None
    assert time.monotonic() - started < STOP_WITHIN
    reader.join(5)
    os.close(leader)
    shown = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 130, shown
    assert "Đã dừng theo yêu cầu" in shown and "Traceback" not in shown
    assert "Chương chậm" in shown and "ô/s" in shown  # tqdm's bar, only on a terminal
    assert _staging(project) == []
    _wait(lambda: not _kernels(project), STOP_WITHIN, "the kernels to exit")
    _assert_recovers(project, before)


def test_kill_9_inside_a_chapter_then_the_next_build_cleans_up(project):
    before = _snapshot(project)
    _slow_notebook(project / "notebooks" / "09-cham.ipynb")
    proc = _start(project)
    _wait(lambda: (project / "running.marker").exists(), what="the slow chapter to run")
    proc.kill()
    proc.wait(timeout=STOP_WITHIN)
    left = _staging(project)
    assert left and all(name.startswith(f".{PERIOD}.tmp-{proc.pid}-") for name in left)
    _wait(lambda: not _kernels(project), STOP_WITHIN, "orphaned kernels to notice their parent died")
    assert _snapshot(project) == before

    # a live build of another report in the same folder keeps its staging: it holds its lock
    other = project / "outputs" / "nghe-an" / ".2023-10.tmp-1-live"
    other.mkdir()
    lock_dir = project / "outputs" / ".cache" / "locks" / "nghe-an"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock_dir / "2023-10.lock")):
        _assert_recovers(project, before, live=(other.name,))
    # once that build is gone, the next build here removes what it left
    again = _run(project)
    assert again.returncode == 0, again.stderr
    assert not other.exists() and _staging(project) == []


def test_kill_9_while_kernels_start(project):
    before = _snapshot(project)
    proc = _start(project, "--force")
    _wait(lambda: _staging(project) and _kernels(project), what="staging and kernels")
    proc.kill()
    proc.wait(timeout=STOP_WITHIN)
    _wait(lambda: not _kernels(project), STOP_WITHIN, "orphaned kernels to notice their parent died")
    _assert_recovers(project, before)


def test_two_builds_of_one_report_at_once(project):
    """The second waits on the report's lock, then finds the report up to date, or rebuilds it;
    both succeed and the report is whole."""
    (project / "notebooks" / CHAPTER).write_text(
        (project / "notebooks" / CHAPTER).read_text(encoding="utf-8").replace("Hạ tầng số", "Hạ tầng số (bản 2)"),
        encoding="utf-8")
    first, second = _start(project), _start(project)
    results = [p.communicate(timeout=WAIT_FOR) for p in (first, second)]
    assert (first.returncode, second.returncode) == (0, 0), results
    said = [out for out, _ in results]
    assert sum("Không có thay đổi" in out for out in said) <= 1
    assert any("Đã dựng báo cáo" in out for out in said)
    html = (project / "outputs" / "nghe-an" / PERIOD / "bao-cao.html").read_text(encoding="utf-8")
    assert "Hạ tầng số (bản 2)" in html and html.rstrip().endswith("</html>")
    assert _staging(project) == []
    assert not _kernels(project)


def test_a_death_between_the_fallback_renames_gives_the_previous_report_back(tmp_path):
    """Where the atomic exchange is not available, the old report is set aside before the new one
    goes in; if the build dies in between, the next one restores it (and drops stale staging)."""
    from dxreport.publish import clean_stale, swap_in

    parent = tmp_path / "outputs" / "nghe-an"
    final = parent / PERIOD
    aside = parent / f".{PERIOD}.old-{2 ** 22 + 7}-abcdef"
    aside.mkdir(parents=True)
    (aside / "bao-cao.html").write_text("trước", encoding="utf-8")
    stale = parent / f".{PERIOD}.tmp-{2 ** 22 + 7}-xyz"
    stale.mkdir()
    (stale / "bao-cao.html").write_text("dở dang", encoding="utf-8")
    locks = tmp_path / "outputs" / ".cache" / "locks" / "nghe-an"
    locks.mkdir(parents=True)
    clean_stale(final, locks)
    assert sorted(p.name for p in parent.iterdir()) == [PERIOD]
    assert (final / "bao-cao.html").read_text(encoding="utf-8") == "trước"

    new = parent / f".{PERIOD}.tmp-1-new"
    new.mkdir(mode=0o700)
    (new / "bao-cao.html").write_text("mới", encoding="utf-8")
    swap_in(new, final)
    assert (final / "bao-cao.html").read_text(encoding="utf-8") == "mới"
    assert sorted(p.name for p in parent.iterdir()) == [PERIOD]
    assert oct(final.stat().st_mode & 0o777) == oct(0o755)
    assert oct((final / "bao-cao.html").stat().st_mode & 0o777) == oct(0o644)
