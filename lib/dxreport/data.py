"""Reading the tables of `data/`.

`read_raw` gives every cell as text, as written (UTF-8 with or without a BOM, NFC-normalised,
blanks around cells dropped), for the validator to judge; a file that cannot be read as such
(empty, another encoding, broken quoting, a cell over 131,072 characters, ragged rows) becomes
issues naming the file and line, never an exception. A missing or unreadable folder raises
`DataDirError`.
`load` validates, then converts the typed columns (numbers to float, dates to datetime64,
booleans to bool). Loaded data is memoised on the files' size and mtime, so the chapters
that share a warm kernel read and validate the tables once per build.
"""

from __future__ import annotations

import os
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from . import schema
from .data_env import VALIDATED_ENV
from .errors import DataIssue, DataValidationError, ProvinceError
from .files import check_folder, data_files

_CACHE: dict[tuple, "Data"] = {}

# Rule names of the reading stage (the "[...]" part of a message).
R_ENCODING = "sai bảng mã"
R_EMPTY_FILE = "tệp rỗng"
R_NO_ROWS = "bảng không có dòng nào"
R_BROKEN = "tệp CSV hỏng"
R_CELL_SIZE = "ô quá dài"
R_RAGGED = "số cột sai"
R_HEADER = "tiêu đề lặp"
R_UNREADABLE = "không đọc được tệp"


MAX_FILE_BYTES = 256 * 2**20  # a data table larger than this is a mistake, not data
MAX_CELL_CHARS = 131_072  # csv.field_size_limit's default, stated here so the message can name it


def _empty(table: schema.Table) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=str) for c in table.names})


def _decode(table: schema.Table, raw: bytes) -> tuple[str | None, list[DataIssue]]:
    """The file's text (UTF-8, a leading BOM dropped), or the issue naming the first bad line."""
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        return None, [DataIssue(table.file, line, None, R_ENCODING, None,
                                "tệp không phải UTF-8 (có thể lưu bằng bảng mã cp1258/Windows-1258 hoặc Latin-1); "
                                "mở bằng trình soạn thảo và lưu lại với bảng mã UTF-8")]


def parse_csv(table: schema.Table, text: str) -> tuple[pd.DataFrame | None, list[DataIssue]]:
    """Cells as NFC text without surrounding blanks, indexed by the line on which each row starts
    (the header is line 1)."""
    import csv
    import io

    if not text.strip():
        return None, [DataIssue(table.file, None, None, R_EMPTY_FILE, None,
                                "tệp rỗng; cần ít nhất dòng tiêu đề: " + ",".join(table.names))]
    if "\0" in text:
        line = text[:text.index("\0")].count("\n") + 1
        return None, [DataIssue(table.file, line, None, R_BROKEN, None, "tệp chứa ký tự NUL (tệp nhị phân?)")]
    text = unicodedata.normalize("NFC", text)
    reader = csv.reader(io.StringIO(text, newline=""))
    rows, lines = [], []
    try:
        header = [h.strip() for h in next(reader)]
        start = reader.line_num + 1
        for row in reader:
            if row and not (len(row) == 1 and not row[0].strip()):
                rows.append([cell.strip() for cell in row])
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        line = reader.line_num or 1
        if "field larger than field limit" in str(exc):
            return None, [DataIssue(table.file, line, None, R_CELL_SIZE, None,
                                    f"một ô dài hơn {MAX_CELL_CHARS:,} ký tự (thiếu dấu ngoặc kép đóng?)".replace(",", "."))]
        return None, [DataIssue(table.file, line, None, R_BROKEN, None,
                                f"không đọc được dòng này (cần CSV phân cách bằng dấu phẩy, ô có dấu phẩy hoặc "
                                f"xuống dòng đặt trong ngoặc kép): {exc}")]
    ragged = [DataIssue(table.file, line, None, R_RAGGED, None,
                        f"dòng có {len(row)} ô nhưng dòng tiêu đề có {len(header)} cột "
                        "(thiếu dấu ngoặc kép quanh ô có dấu phẩy?)")
              for line, row in zip(lines, rows) if len(row) != len(header)]
    if ragged:
        return None, ragged
    issues = []
    seen = set()
    for name in header:
        if name in seen:
            issues.append(DataIssue(table.file, 1, name, R_HEADER, None, f"cột {name!r} lặp lại ở dòng tiêu đề"))
        seen.add(name)
    if issues:
        return None, issues
    frame = pd.DataFrame(rows, columns=header, index=pd.Index(lines, dtype="int64"), dtype=str)
    return frame, []


def read_raw(data_dir: str | Path | None) -> tuple[dict[str, pd.DataFrame], list[DataIssue]]:
    """All tables as text frames, plus the issues found while reading (missing file, columns)."""
    folder = check_folder(data_dir)
    frames: dict[str, pd.DataFrame] = {}
    issues: list[DataIssue] = []
    for table in schema.ALL:
        path = folder / table.file
        frames[table.name] = frame = _read_table(table, path, folder, issues)
        if frame is None:
            frames[table.name] = _empty(table)
    return frames, issues


def _read_table(table: schema.Table, path: Path, folder: Path, issues: list[DataIssue]) -> pd.DataFrame | None:
    """One table as text, or None (with its issues added) when it is absent or cannot be read."""
    if not path.exists():
        if not table.optional:
            issues.append(DataIssue(table.file, None, None, "thiếu tệp", None,
                                    f"không tìm thấy tệp {table.file} trong {folder.name}/"))
        return None
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            issues.append(DataIssue(table.file, None, None, R_BROKEN, None,
                                    f"tệp lớn hơn {MAX_FILE_BYTES // 2**20} MiB; không phải một bảng dữ liệu"))
            return None
        raw = path.read_bytes()
    except OSError as exc:
        issues.append(DataIssue(table.file, None, None, R_UNREADABLE, None,
                                f"không đọc được tệp: {exc.strerror or exc}"))
        return None
    text, found = _decode(table, raw)
    if text is not None:
        frame, found = parse_csv(table, text)
    if found:
        issues += found
        return None
    missing = [c for c in table.names if c not in frame.columns]
    extra = [c for c in frame.columns if c not in table.names]
    for name in missing:
        issues.append(DataIssue(table.file, 1, name, "thiếu cột", None, f"thiếu cột {name!r} ở dòng tiêu đề"))
        frame[name] = ""
    for name in extra:
        issues.append(DataIssue(table.file, 1, name, "cột lạ", None,
                                f"cột {name!r} không có trong mô tả bảng (data/README.md)"))
    frame = frame[table.names]
    if table.name == schema.OBSERVATIONS.name and frame.empty:
        issues.append(DataIssue(table.file, None, None, R_NO_ROWS, None,
                                "tệp chỉ có dòng tiêu đề, không có số liệu nào; báo cáo dựng từ tệp này sẽ "
                                "trống (khôi phục tệp từ git hoặc bản sao lưu)"))
    return frame


def _typed(table: schema.Table, frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in table.columns:
        if col.kind == "number":
            out[col.name] = pd.to_numeric(out[col.name].replace("", None), errors="coerce").astype(float)
        elif col.kind == "date":
            out[col.name] = pd.to_datetime(out[col.name].replace("", None), format="%Y-%m-%d", errors="coerce")
        elif col.kind == "bool":
            out[col.name] = out[col.name].str.lower().isin(["true", "1", "có"])
    return out


@dataclass(frozen=True)
class Data:
    """The validated, typed tables of one data directory."""

    folder: Path
    sources: pd.DataFrame
    units: pd.DataFrame
    pillars: pd.DataFrame
    indicators: pd.DataFrame
    observations: pd.DataFrame
    targets: pd.DataFrame
    assessments: pd.DataFrame
    tasks: pd.DataFrame
    budget: pd.DataFrame
    documents: pd.DataFrame
    platforms: pd.DataFrame
    revisions: pd.DataFrame

    @property
    def provinces(self) -> pd.DataFrame:
        return self.units[self.units["kind"] == "tỉnh"]

    @cached_property
    def _province_names(self) -> dict[str, str]:
        """unit_id -> name of every province (the first row of each), looked up once: chapters
        ask for the name dozens of times."""
        names: dict[str, str] = {}
        for unit_id, name in zip(self.provinces["unit_id"], self.provinces["name_vi"]):
            names.setdefault(unit_id, name)
        return names

    # Derived tables of one province and period (observations up to its end, the targets in
    # force...), kept for the periods most recently asked: a kernel runs the chapters of one
    # period one after another, and each chapter built the same indexes again. Two periods, as a
    # site's kernel may start the next period's chapters before the last of this one.
    DERIVED_PERIODS = 2

    @cached_property
    def _derived(self) -> "OrderedDict[tuple, dict]":
        return OrderedDict()

    def derived(self, scope: tuple, name, compute):
        """`compute()` once per (scope, name) while `scope` is among the most recent scopes; the
        tables are never changed after loading, so what was computed from them stays true. The
        caller must not change what it gets back."""
        memo = self._derived.get(scope)
        if memo is None:
            memo = self._derived[scope] = {}
            while len(self._derived) > self.DERIVED_PERIODS:
                self._derived.popitem(last=False)
        else:
            self._derived.move_to_end(scope)
        if name not in memo:
            memo[name] = compute()
        return memo[name]

    def province_name(self, province: str) -> str:
        name = self._province_names.get(province)
        if name is None:
            valid = ", ".join(sorted(self.provinces["unit_id"]))
            raise ProvinceError(f"Tỉnh {province!r} không có trong dữ liệu. Các tỉnh hợp lệ: {valid}.")
        return name

    @cached_property
    def _indicator_rows(self) -> dict[str, pd.Series]:
        """indicator_id -> its row, made once: chapters look indicators up hundreds of times."""
        indexed = self.indicators.set_index("indicator_id")
        return {key: indexed.loc[key] for key in indexed.index}

    def indicator(self, indicator_id: str) -> pd.Series:
        return self._indicator_rows[indicator_id]


def _already_validated(folder: Path) -> bool:
    """True when the build that started this kernel validated exactly these bytes."""
    expected = os.environ.get(VALIDATED_ENV)
    if not expected:
        return False
    from .cache import data_hash

    return data_hash(data_files(folder)) == expected


def _signature(folder: Path) -> tuple:
    return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in data_files(folder))


def load(data_dir: str | Path | None = None, validate: bool = True) -> Data:
    """Validated, typed tables; raises `DataValidationError` listing every broken rule."""
    folder = check_folder(data_dir)
    key = (str(folder), _signature(folder), validate)
    for kept in (key, key[:2] + (True,)):  # tables that passed the checks serve a load without them
        if kept in _CACHE:
            return _CACHE[kept]
    frames, issues = read_raw(folder)
    if validate and not _already_validated(folder):
        from .validate import check_frames

        issues = issues + check_frames(frames)
    if issues:
        raise DataValidationError(issues)
    data = Data(folder=folder, **{t.name: _typed(t, frames[t.name]) for t in schema.ALL})
    _CACHE.clear()
    _CACHE[key] = data
    return data


