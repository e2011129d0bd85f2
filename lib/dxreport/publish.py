"""Publishing a finished build: all or nothing, readable by a web server, nothing left behind.

A build writes into a staging folder beside its destination (`.<period>.tmp-<pid>-…`, same file
system). Only when every chapter ran and every format rendered is it made world-readable (folders
0755, files 0644) and exchanged with the old `outputs/<province>/<period>/` in one atomic
`renameat2(RENAME_EXCHANGE)` on Linux (two renames elsewhere); a failed or interrupted build
deletes its staging folder and leaves the previous report exactly as it was.

Staging exists only while its build holds the report's lock (`report_lock`), so a staging folder
whose lock can be taken at once belongs to a build that died (`kill -9`, power cut): the next build
in the same folder removes it (`clean_stale`), and puts back a previous report that a death between
the two fallback renames left aside. A live build of another report in the same folder holds its own
lock, and its staging is left alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import re
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import BuildLockedError

LOCK_TIMEOUT = 900
DIR_MODE, FILE_MODE = 0o755, 0o644
_OLD_LOCK = re.compile(r"^\.[^.].*\.lock$")
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)-")


def lock_path(lock_dir: Path, name: str) -> Path:
    return lock_dir / f"{name}.lock"


@contextmanager
def report_lock(final_dir: Path, lock_dir: Path):
    """One build at a time per report; a second build waits, then usually finds nothing to do.
    The lock file lives in `lock_dir` (under `outputs/.cache/`), never in the published tree."""
    from filelock import FileLock, Timeout  # here, not at import: the "nothing changed" path never locks

    lock_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path(lock_dir, final_dir.name)))
    try:
        with lock.acquire(timeout=LOCK_TIMEOUT):
            clean_stale(final_dir, lock_dir)
            yield
    except Timeout:
        raise BuildLockedError(f"Một bản dựng khác của {final_dir.name} đang chạy quá {LOCK_TIMEOUT} giây.") from None


def clean_stale(final_dir: Path, lock_dir: Path) -> list[Path]:
    """Remove staging folders (and set-aside old reports) that no live build owns; called with
    `final_dir`'s lock held. Returns what was removed or restored."""
    from filelock import FileLock, Timeout

    parent = final_dir.parent
    done: list[Path] = []
    try:
        entries = sorted(parent.iterdir())
    except OSError:
        return done
    for entry in entries:
        if _OLD_LOCK.match(entry.name) and entry.is_file():
            entry.unlink(missing_ok=True)  # older versions kept the lock beside the report
            continue
        match = _LEFTOVER.match(entry.name)
        if not match or not entry.is_dir() or entry.is_symlink():
            continue
        name = match["name"]
        if name == final_dir.name:
            _settle(entry, parent / name, match["kind"])
            done.append(entry)
            continue
        other = FileLock(str(lock_path(lock_dir, name)))
        try:
            other.acquire(timeout=0)
        except Timeout:
            continue  # a live build of that report owns it
        except OSError:
            continue
        try:
            _settle(entry, parent / name, match["kind"])
            done.append(entry)
        finally:
            other.release()
    return done


def clean_if_idle(final_dir: Path, lock_dir: Path) -> list[Path]:
    """On the "nothing to do" path: if a dead build left staging beside `final_dir`, take the
    report's lock without waiting and clean up; a build holding the lock cleans up itself."""
    try:
        names = [e.name for e in final_dir.parent.iterdir()]
    except OSError:
        return []
    if not any(_LEFTOVER.match(name) or _OLD_LOCK.match(name) for name in names):
        return []
    from filelock import FileLock, Timeout

    lock = FileLock(str(lock_path(lock_dir, final_dir.name)))
    try:
        lock.acquire(timeout=0)
    except (Timeout, OSError):
        return []
    try:
        return clean_stale(final_dir, lock_dir)
    finally:
        lock.release()


def _settle(leftover: Path, final_dir: Path, kind: str) -> None:
    if kind == "old" and not final_dir.exists():
        os.replace(leftover, final_dir)  # died between the two renames: the previous report comes back
    else:
        shutil.rmtree(leftover, ignore_errors=True)


@contextmanager
def staging(final_dir: Path):
    """A staging folder beside `final_dir`, removed unless `swap_in` consumed it."""
    final_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final_dir.name}.tmp-{os.getpid()}-", dir=final_dir.parent))
    try:
        yield tmp
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def make_public(folder: Path) -> None:
    """Folders 0755, files 0644, whatever the umask or mkdtemp's 0700 made them."""
    os.chmod(folder, DIR_MODE)
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames:
            os.chmod(os.path.join(dirpath, name), DIR_MODE)
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, FILE_MODE)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2); False when the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_in(new_dir: Path, final_dir: Path) -> None:
    """Replace `final_dir` by `new_dir` (same parent). With an exchange the old report is in
    `new_dir`'s place afterwards and goes with it; otherwise it is set aside until the new one
    is in place (and `clean_stale` restores it if the process dies in between)."""
    make_public(new_dir)
    if final_dir.exists() and _exchange(new_dir, final_dir):
        shutil.rmtree(new_dir, ignore_errors=True)
        return
    old = None
    if final_dir.exists():
        old = final_dir.with_name(f".{final_dir.name}.old-{os.getpid()}-{os.urandom(3).hex()}")
        os.replace(final_dir, old)
    try:
        os.replace(new_dir, final_dir)
    except BaseException:
        if old is not None:
            os.replace(old, final_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
