"""A pytest plugin for nbval on the notebooks: the reference period, and failures a person can read.

Registered as the `pytest11` entry point `dxreport-nbval` (pyproject.toml), so it is active in every
pytest run of the project's environment, also on a copy of the project; it only acts on nbval's
notebook cells. (A `notebooks/conftest.py` would shadow `tests/conftest.py`, which the tests import.)

- Reference period. nbval starts a notebook's kernel while setting up its first cell; the kernel
  inherits this process's environment. Around that set-up only, `DXREPORT_PERIOD` is set to the
  reference period (`dxreport.notebook_env`), which `open_chapter` uses when the notebook's
  `period` parameter is None. New data for another period leaves the stored key figures valid.
- Cells are named as Lab users count them: "ô 14" is the 14th cell, Markdown cells included
  (nbval's own "Cell 6" counts code cells from 0).
- A key-figure cell that differs is reported one figure per line, old value then new:
  `02-ha-tang-so.ipynb, ô 14: bbdd_toc_do: 29,45 Mbps @ 30/8/2023 → 31,5 Mbps @ 30/8/2023`
  instead of nbval's raw diff. Colour codes (nbval's and IPython's tracebacks) are removed unless
  pytest writes to a terminal that shows them.
"""

from __future__ import annotations

import os
import re

import pytest

from .notebook_env import PERIOD_ENV, REFERENCE_PERIOD

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CHECK = "NBVAL_CHECK_OUTPUT"
MISSING_OLD = "(chưa có)"
MISSING_NEW = "(không còn)"


def _is_nbval_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell" and hasattr(item, "cell")


def lab_number(item) -> int:
    """The cell's position in the notebook, counting from 1 and including Markdown cells."""
    for index, cell in enumerate(item.parent.nb.cells, start=1):
        if cell is item.cell:
            return index
    return item.cell_num + 1


def _where(item) -> str:
    return f"{item.path.name}, ô {lab_number(item)}"


def _named_as_in_lab() -> None:
    """Create nbval's cell items as "ô N" (Lab's count) instead of "Cell n" (code cells from 0).
    nbval builds the name inside its collector, so its item factory is wrapped, once."""
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:  # nbval not installed: nothing to rename
        return
    if getattr(IPyNbCell, "_dxreport_named", False):
        return
    original = IPyNbCell.from_parent.__func__

    def from_parent(cls, parent, *, name, cell, **kwargs):
        number = next((i for i, c in enumerate(parent.nb.cells, start=1) if c is cell), None)
        return original(cls, parent, name=f"ô {number}" if number else name, cell=cell, **kwargs)

    IPyNbCell.from_parent = classmethod(from_parent)
    IPyNbCell.reportinfo = lambda self: (self.path, 0, self.name)
    IPyNbCell._dxreport_named = True


def pytest_configure(config) -> None:
    _named_as_in_lab()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    if not _is_nbval_cell(item):
        return (yield)
    saved = os.environ.get(PERIOD_ENV)
    os.environ[PERIOD_ENV] = REFERENCE_PERIOD
    try:
        return (yield)
    finally:
        if saved is None:
            os.environ.pop(PERIOD_ENV, None)
        else:
            os.environ[PERIOD_ENV] = saved


def _stdout(outputs) -> str:
    return "".join(o.get("text", "") for o in outputs or []
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")


def _figures(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Key-figure text -> (header line, [(key, value)]); a repeated key gets '#2', '#3'..."""
    lines = text.splitlines()
    header, rows, seen = (lines[0] if lines else ""), [], {}
    for line in lines[1:]:
        key, sep, value = line.partition(": ")
        if not sep:
            key, value = line, ""
        seen[key] = seen.get(key, 0) + 1
        rows.append((key if seen[key] == 1 else f"{key}#{seen[key]}", value))
    return header, rows


def moved_figures(old: str, new: str) -> list[str]:
    """What changed between two key-figure texts, one 'key: old → new' line per figure."""
    old_header, old_rows = _figures(old)
    new_header, new_rows = _figures(new)
    lines = []
    if old_header != new_header:
        lines.append(f"{old_header} → {new_header}")
    before, after = dict(old_rows), dict(new_rows)
    keys = list(before) + [k for k in after if k not in before]
    for key in keys:
        a, b = before.get(key, MISSING_OLD), after.get(key, MISSING_NEW)
        if a != b:
            lines.append(f"{key}: {a} → {b}")
    if not lines and old != new:
        lines.append("thứ tự các số liệu đã đổi")
    return lines


def readable_failure(item, exc, original: str) -> str | None:
    """The failure of an nbval cell in plain lines, or None to keep nbval's own report."""
    where = _where(item)
    if str(exc) == "Cell outputs differ" and CHECK in item.cell.source:
        old, new = _stdout(item.cell.outputs), _stdout(item.test_outputs)
        moved = moved_figures(old, new)
        if not moved:  # the printed figures agree; some other output (a warning on stderr) differs
            return f"{where}: kết quả của ô khác với bản đã ghi, ngoài các số liệu chính:\n\n{original}"
        lines = [f"{where}: số liệu chính khác với bản đã ghi cho kỳ tham chiếu {REFERENCE_PERIOD} (cũ, rồi mới):"]
        lines += [f"{where}: {line}" for line in moved]
        lines.append("Nếu thay đổi là đúng (dữ liệu của kỳ tham chiếu đã được sửa), ghi lại bằng "
                     "`make refresh-expected` rồi xem `git diff notebooks/`.")
        return "\n".join(lines)
    errors = [o for o in item.test_outputs or [] if o.get("output_type") == "error"]
    if errors:
        error = errors[-1]
        return f"{where}: ô bị lỗi khi chạy: {error.get('ename')}: {error.get('evalue')}\n\n{original}"
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if not _is_nbval_cell(item) or not report.failed:
        return report
    if call.excinfo is not None and report.when == "call":
        text = readable_failure(item, call.excinfo.value, str(report.longrepr))
        if text:
            report.longrepr = text
    if not item.config.get_terminal_writer().hasmarkup:
        report.longrepr = ANSI.sub("", str(report.longrepr))
    return report
