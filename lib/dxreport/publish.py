"""Publishing a finished build: all or nothing.

A build writes into a temporary folder beside its destination. Only when every chapter ran and
every format rendered is the old `outputs/<province>/<period>/` swapped out for the new one, by
two renames on the same file system; a failed build deletes its temporary folder and leaves
the previous report exactly as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from .errors import BuildLockedError

LOCK_TIMEOUT = 900


@contextmanager
def report_lock(final_dir: Path):
    """One build at a time per report; a second build waits, then usually finds nothing to do."""
    final_dir.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(final_dir.parent / f".{final_dir.name}.lock"))
    try:
        with lock.acquire(timeout=LOCK_TIMEOUT):
            yield
    except Timeout:
        raise BuildLockedError(f"Một bản dựng khác của {final_dir.name} đang chạy quá {LOCK_TIMEOUT} giây.") from None


@contextmanager
def staging(final_dir: Path):
    """A temporary folder beside `final_dir`, removed unless `swap_in` consumed it."""
    final_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final_dir.name}.tmp-", dir=final_dir.parent))
    try:
        yield tmp
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def swap_in(new_dir: Path, final_dir: Path) -> None:
    """Replace `final_dir` by `new_dir` (same parent), keeping the old one until the new is in place."""
    old = None
    if final_dir.exists():
        old = final_dir.with_name(f".{final_dir.name}.old-{os.getpid()}")
        os.replace(final_dir, old)
    try:
        os.replace(new_dir, final_dir)
    except BaseException:
        if old is not None:
            os.replace(old, final_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
