"""Ingest under faults and concurrency, in real processes: the data folder is never left half
written, a killed ingest leaves nothing that a later one trips over, and two ingests at once
both land without duplicate keys or lost rows.

Children are forked from this (already warm) test process, so a round costs an ingest, not an
interpreter start; the data folder's lock is an OS lock and works across them exactly as across
two `dxreport ingest` commands. One test runs the real command and interrupts it.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from dxreport import workbook as wb
from dxreport.errors import DxreportError, IngestLockedError
from dxreport.validate import validate_dir
from dxreport.workbook import COLUMNS, FIRST_ROW, data_lock, ingest, write_template

COL = {key: i for i, (_, key, _) in enumerate(COLUMNS, start=1) if key}
SOURCE = "Báo cáo giả lập số 2/BC (kiểm thử)"
pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork (POSIX)")


def filled(template: Path, target: Path, **rows) -> Path:
    """A copy of the template with `indicator_id=value` rows filled on 'Hạ tầng số'."""
    book = load_workbook(template)
    sheet = book["Hạ tầng số"]
    for indicator, value in rows.items():
        row = next(r for r in range(FIRST_ROW, sheet.max_row + 1) if sheet.cell(r, 1).value == indicator)
        sheet.cell(row, COL["value"], value)
        sheet.cell(row, COL["source"], SOURCE)
        sheet.cell(row, COL["as_of"], datetime(2024, 3, 31))
    book.save(target)
    return target


def fork(fn, gate: int | None = None) -> int:
    """Run `fn` in a forked child (after a byte arrives on `gate`, if given); return its pid."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 0
        try:
            if gate is not None:
                os.read(gate, 1)
            fn()
        except DxreportError:
            code = 1
        except BaseException:  # noqa: BLE001 - anything else is a failure the parent must see
            import traceback

            traceback.print_exc()
            code = 3
        os._exit(code)
    return pid


def wait(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def keys(folder: Path) -> list[tuple]:
    with (folder / "observations.csv").open(encoding="utf-8", newline="") as handle:
        return [(r["province"], r["indicator_id"], r["as_of"], r["breakdown"], r["source"])
                for r in csv.DictReader(handle)]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.fixture
def books(data_dir, tmp_path):
    template = write_template("nghe-an", "2024-Q1", tmp_path / "mau.xlsx", data_dir)
    return (filled(template, tmp_path / "a.xlsx", bbdd_toc_do=41.5),
            filled(template, tmp_path / "b.xlsx", ho_gd_cap_quang=66.5),
            filled(template, tmp_path / "a2.xlsx", bbdd_toc_do=42.5))


def test_two_ingests_at_once_both_land_without_duplicates(books, data_dir, tmp_path):
    import shutil

    a, b, _ = books
    for round_ in range(8):
        folder = tmp_path / f"round-{round_}"
        shutil.copytree(data_dir, folder)
        before = keys(folder)
        read, write = os.pipe()
        pids = [fork(lambda book=book: ingest(book, folder), gate=read) for book in (a, b, a)]
        os.write(write, b"xxx")  # release all three at once
        codes = [wait(pid) for pid in pids]
        os.close(read), os.close(write)
        assert codes == [0, 0, 0], round_
        after = keys(folder)
        assert len(after) == len(set(after)) == len(before) + 2, round_  # no duplicate, nothing lost
        assert validate_dir(folder) == [], round_
        assert not list(folder.glob(".ingest-tmp-*"))


def test_a_held_lock_makes_another_ingest_wait_then_give_up_clearly(books, data_dir):
    a, _, _ = books
    before = snapshot(data_dir)
    with data_lock(data_dir):
        # flock belongs to an open file description: the child opens its own and must wait
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child: reports the error through its exit code
            try:
                ingest(a, data_dir, lock_timeout=0.3)
            except IngestLockedError as exc:
                os._exit(7 if "đang ghi" in str(exc) and str(data_dir) in str(exc) else 8)
            except BaseException:  # noqa: BLE001
                os._exit(9)
            os._exit(10)
        assert wait(pid) == 7
    assert snapshot(data_dir) == before
    assert ingest(a, data_dir).added == 1  # free again


@pytest.mark.parametrize("where", ["before-replace", "mid-write", "between-files"])
def test_kill_9_while_writing_leaves_the_data_intact_and_the_next_ingest_succeeds(books, data_dir, where):
    a, b, a2 = books
    assert ingest(a, data_dir).added == 1  # so a2 is a correction: revisions.csv, then observations.csv
    before = snapshot(data_dir)
    real = wb._replace_file

    def dying(path, text):
        if where == "between-files" and path.name == "observations.csv":
            os.kill(os.getpid(), signal.SIGKILL)  # revisions.csv is written, observations.csv not yet
        if where == "mid-write":
            handle = open(path.parent / f"{wb.TMP_PREFIX}{path.stem}-x.csv", "w", encoding="utf-8")
            handle.write(text[: len(text) // 2])
            handle.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        real(path, text)

    def child():
        wb._replace_file = dying
        if where == "before-replace":  # the temporary file is complete and synced, not yet swapped in
            os.replace = lambda *_: os.kill(os.getpid(), signal.SIGKILL)
        ingest(a2, data_dir, replace=True, by="Kiểm thử")

    assert wait(fork(child)) == -signal.SIGKILL
    after = snapshot(data_dir)
    assert after["observations.csv"] == before["observations.csv"]  # the table is whole: old
    assert after["sources.csv"] == before["sources.csv"]
    assert validate_dir(data_dir) == []
    result = ingest(a2, data_dir, replace=True, by="Kiểm thử")  # the next run succeeds and cleans up
    assert result.replaced == 1
    assert not list(data_dir.glob(".ingest-tmp-*"))
    assert validate_dir(data_dir) == []
    assert ingest(b, data_dir).added == 1


def test_sigint_while_files_are_swapped_in_does_not_tear_them(books, data_dir):
    a, _, _ = books
    real = wb._replace_file

    def interrupted(path, text):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C at the worst moment
        real(path, text)

    def child():
        wb._replace_file = interrupted
        assert ingest(a, data_dir).added == 1

    assert wait(fork(child)) == 0
    assert validate_dir(data_dir) == [] and len(keys(data_dir)) == len(set(keys(data_dir)))
    assert ingest(a, data_dir).added == 0  # it landed, whole


def test_the_real_command_interrupted_or_killed_leaves_data_whole(books, data_dir):
    """`dxreport ingest` stopped by Ctrl-C (exit 130) or kill -9 at several moments: afterwards the
    data is either exactly as before or exactly as after a complete ingest, and a new run works."""
    a, _, _ = books
    before = (data_dir / "observations.csv").read_bytes()
    command = [sys.executable, "-m", "dxreport.cli", "ingest", str(a), "--data-dir", str(data_dir)]
    outcomes = set()
    for delay, sig in ((0.3, signal.SIGINT), (1.5, signal.SIGINT), (0.8, signal.SIGKILL), (2.5, signal.SIGKILL)):
        (data_dir / "observations.csv").write_bytes(before)
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode in (0, 130, -signal.SIGKILL, -signal.SIGINT), err.decode()
        if proc.returncode == 130:  # stopped inside the command (not during Python's own start-up)
            assert b"Traceback" not in err, err.decode()
        text = (data_dir / "observations.csv").read_bytes()
        assert text == before or (text.startswith(before) and text.count(b"\n") == before.count(b"\n") + 1)
        outcomes.add(proc.returncode)
        assert validate_dir(data_dir) == []
    (data_dir / "observations.csv").write_bytes(before)
    assert subprocess.run(command, capture_output=True).returncode == 0
    assert not list(data_dir.glob(".ingest-tmp-*"))
    assert (data_dir / "observations.csv").read_bytes().count(b"\n") == before.count(b"\n") + 1


def test_a_data_folder_that_cannot_be_written_is_a_clear_error(books, data_dir, monkeypatch):
    a, _, _ = books
    before = snapshot(data_dir)

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(wb.tempfile, "mkstemp", full)
    with pytest.raises(DxreportError, match="chưa thay đổi"):
        ingest(a, data_dir)
    assert snapshot(data_dir) == before
