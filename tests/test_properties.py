"""Property-based tests: whatever a CSV file or a filled workbook holds, dxreport either accepts it
or refuses it with `DxreportError`s that name the file (or sheet), row, column and rule. Nothing
else escapes, and a refused ingest writes nothing.

Examples are bounded (and the example database is off) so the file stays well under a minute.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
import unicodedata
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from dxreport import schema
from dxreport.data import Data, load, parse_csv, read_raw
from dxreport.errors import DataIssue, DataValidationError, DxreportError
from dxreport.validate import validate_dir
from dxreport.workbook import COLUMNS, FIRST_ROW, HEADER, INPUT_KEYS, IngestResult, ingest, write_template

from conftest import FIXTURE_DATA

# No shrinking phase: a failure is reported at once with its seed instead of minutes later.
COMMON = dict(deadline=None, database=None, phases=(Phase.explicit, Phase.reuse, Phase.generate),
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])

# Cell text that breaks naive readers: separators, quotes, line breaks, BOM, NUL, combining
# marks (NFD), Vietnamese letters, digits and signs.
ALPHABET = st.sampled_from(list(',"\n\r\t \ufeff\x00\u0300\u0301\u0303\u0309\u0323-+=@.:|/\\')
                           + list("aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂĐỆỹ0123456789"))
CELL = st.one_of(st.text(ALPHABET, max_size=12), st.text(max_size=8),
                 st.sampled_from(["", "nghe-an", "2023-08-30", "2099-01-01", "1900-01-01", "-5", "72.05", "1e309",
                                  "NaN", "true", "%", "Mbps", "000_0000000000000000.txt: giả lập"]))
TABLES = [t for t in schema.ALL if (FIXTURE_DATA / t.file).exists()]


def _copy_data() -> tuple[tempfile.TemporaryDirectory, Path]:
    holder = tempfile.TemporaryDirectory(prefix="dxprop-")
    target = Path(holder.name) / "data"
    shutil.copytree(FIXTURE_DATA, target)
    return holder, target


@st.composite
def csv_bytes(draw, table: schema.Table) -> bytes:
    """A whole file: structured rows (maybe ragged, maybe unquoted), or a mutated real file, or noise."""
    kind = draw(st.sampled_from(["rows", "mutate", "noise"]))
    if kind == "noise":
        return draw(st.binary(max_size=200))
    if kind == "mutate":
        with (FIXTURE_DATA / table.file).open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        if len(rows) > 1:
            r = draw(st.integers(1, len(rows) - 1))
            c = draw(st.integers(0, len(rows[r]) - 1))
            rows[r][c] = draw(CELL)
    else:
        header = list(table.names)
        change = draw(st.sampled_from(["keep", "drop", "extra", "dup", "case"]))
        if change == "drop" and header:
            header.pop(draw(st.integers(0, len(header) - 1)))
        elif change == "extra":
            header.append(draw(CELL))
        elif change == "dup":
            header.append(header[0])
        elif change == "case":
            header = [h.upper() for h in header]
        width = len(header)
        rows = [header] + draw(st.lists(
            st.lists(CELL, min_size=max(0, width - 1), max_size=width + 1), max_size=4))
    out = io.StringIO()
    if draw(st.booleans()):
        csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows(rows)
    else:
        out.write("\n".join(",".join(row) for row in rows))  # unquoted: commas and quotes break it
    text = out.getvalue()
    if draw(st.booleans()):
        text = unicodedata.normalize("NFD", text)
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "cp1258", "latin-1"]))
    raw = text.encode(encoding, errors="replace")
    if draw(st.booleans()):
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.binary(min_size=1, max_size=4)) + raw[at:]
    return raw


def _issue_is_located(issue: DataIssue) -> None:
    assert isinstance(issue, DataIssue)
    assert issue.file and issue.rule and issue.message
    assert issue.line is None or issue.line >= 1
    issue.format()  # renders without error


@settings(max_examples=150, **COMMON)
@given(data=st.data())
def test_the_csv_reader_returns_a_frame_or_located_issues(data):
    table = data.draw(st.sampled_from(TABLES))
    raw = data.draw(csv_bytes(table))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return  # the decoder's branch is covered through read_raw below
    frame, issues = parse_csv(table, text)
    assert (frame is None) == bool(issues)
    for issue in issues:
        _issue_is_located(issue)
        assert issue.file == table.file
    if frame is not None:
        assert frame.index.is_monotonic_increasing and frame.index.is_unique
        assert all(unicodedata.is_normalized("NFC", v) for v in frame.to_numpy().ravel())


@settings(max_examples=40, **COMMON)
@given(data=st.data())
def test_validate_returns_issues_or_the_data_loads(data):
    table = data.draw(st.sampled_from(TABLES))
    raw = data.draw(csv_bytes(table))
    holder, folder = _copy_data()
    with holder:
        (folder / table.file).write_bytes(raw)
        issues = validate_dir(folder)  # nothing may escape
        for issue in issues:
            _issue_is_located(issue)
        if issues:
            frames, read_issues = read_raw(folder)
            assert set(frames) == {t.name for t in schema.ALL}
            return
        loaded = load(folder)
        assert isinstance(loaded, Data) and len(loaded.observations) > 0


# --- Ingest of generated workbooks -----------------------------------------------------------

VALUE = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.integers(-10**15, 10**15),
    st.booleans(),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2100, 1, 1)),
    st.sampled_from(["=1+1", "=HYPERLINK(\"http://x\",\"y\")", "=cmd|' /C calc'!A0", "@SUM(1)", "+1", "-1",
                     "41,5", "Báo cáo số 1/BC", "Hoàn thành", "nghe-an", "", " ", "\ufeff=1"]),
    st.text(ALPHABET, max_size=20).map(lambda s: ILLEGAL_CHARACTERS_RE.sub("", s)),  # what a cell can hold
)
COL = {key: i for i, (_, key, _) in enumerate(COLUMNS, start=1) if key}


@pytest.fixture(scope="module")
def blank_template(tmp_path_factory):
    root = tmp_path_factory.mktemp("prop-template")
    folder = root / "data"
    shutil.copytree(FIXTURE_DATA, folder)
    return write_template("nghe-an", "2024-Q1", root / "mau.xlsx", folder)


@settings(max_examples=30, **COMMON)
@given(data=st.data())
def test_ingest_accepts_or_refuses_and_a_refusal_writes_nothing(blank_template, data):
    holder, folder = _copy_data()
    with holder:
        book = load_workbook(blank_template)
        sheets = [n for n in book.sheetnames if not n.startswith("_") and n != "Hướng dẫn"]
        for _ in range(data.draw(st.integers(1, 4))):
            sheet = book[data.draw(st.sampled_from(sheets))]
            row = data.draw(st.integers(FIRST_ROW, max(FIRST_ROW, sheet.max_row)))
            key = data.draw(st.sampled_from(INPUT_KEYS))
            sheet.cell(row, COL[key]).value = data.draw(VALUE)
        path = Path(holder.name) / "so.xlsx"
        book.save(path)
        before = {p.name: p.read_bytes() for p in folder.iterdir()}
        try:
            result = ingest(path, folder, replace=data.draw(st.booleans()), by="Kiểm thử")
        except DataValidationError as exc:
            assert exc.issues
            for issue in exc.issues:
                _issue_is_located(issue)
                if "[" in issue.file:  # a sheet row: named the way the agency sees it
                    assert issue.line >= FIRST_ROW and issue.column in HEADER.values(), issue
            assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
            return
        except DxreportError:
            assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
            return
        assert isinstance(result, IngestResult)
        assert validate_dir(folder) == []
