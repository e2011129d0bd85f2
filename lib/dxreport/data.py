"""Reading the tables of `data/`.

`read_raw` gives every cell as text, exactly as written, for the validator to judge;
`load` validates, then converts the typed columns (numbers to float, dates to datetime64,
booleans to bool). Loaded data is memoised on the files' size and mtime, so the chapters
that share a warm kernel read and validate the tables once per build.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import schema
from .data_env import VALIDATED_ENV
from .errors import DataIssue, DataValidationError, ProvinceError
from .files import data_files
from .paths import resolve_data_dir

_CACHE: dict[tuple, "Data"] = {}


def read_raw(data_dir: str | Path | None) -> tuple[dict[str, pd.DataFrame], list[DataIssue]]:
    """All tables as text frames, plus the issues found while reading (missing file, columns)."""
    folder = resolve_data_dir(data_dir)
    frames: dict[str, pd.DataFrame] = {}
    issues: list[DataIssue] = []
    for table in schema.ALL:
        path = folder / table.file
        if not path.exists():
            if not table.optional:
                issues.append(DataIssue(table.file, None, None, "thiếu tệp", None,
                                        f"không tìm thấy tệp {table.file} trong {folder.name}/"))
            frames[table.name] = pd.DataFrame({c: pd.Series(dtype=str) for c in table.names})
            continue
        ragged = _ragged_rows(path)
        if ragged:
            issues += [DataIssue(table.file, line, None, "số cột sai", None,
                                 f"dòng có {got} ô nhưng dòng tiêu đề có {want} cột (thiếu dấu ngoặc kép quanh ô có dấu phẩy?)")
                       for line, got, want in ragged]
            frames[table.name] = pd.DataFrame({c: pd.Series(dtype=str) for c in table.names})
            continue
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        except (UnicodeDecodeError, pd.errors.ParserError) as exc:
            issues.append(DataIssue(table.file, None, None, "tệp CSV hỏng", None,
                                    f"không đọc được tệp (cần UTF-8, phân cách bằng dấu phẩy): {exc}"))
            frames[table.name] = pd.DataFrame({c: pd.Series(dtype=str) for c in table.names})
            continue
        missing = [c for c in table.names if c not in frame.columns]
        extra = [c for c in frame.columns if c not in table.names]
        for name in missing:
            issues.append(DataIssue(table.file, 1, name, "thiếu cột", None, f"thiếu cột {name!r} ở dòng tiêu đề"))
            frame[name] = ""
        for name in extra:
            issues.append(DataIssue(table.file, 1, name, "cột lạ", None,
                                    f"cột {name!r} không có trong mô tả bảng (data/README.md)"))
        frame = frame[table.names].map(lambda s: s.strip() if isinstance(s, str) else s)
        frame.index = frame.index + 2  # the editor's line number: header is line 1
        frames[table.name] = frame
    return frames, issues


def _ragged_rows(path: Path) -> list[tuple[int, int, int]]:
    """Rows whose number of cells differs from the header's: (line, cells, columns)."""
    import csv

    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            return [(reader.line_num, len(row), len(header)) for row in reader if row and len(row) != len(header)]
    except UnicodeDecodeError:
        return []  # reported by the reader below


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

    @property
    def provinces(self) -> pd.DataFrame:
        return self.units[self.units["kind"] == "tỉnh"]

    def province_name(self, province: str) -> str:
        rows = self.provinces[self.provinces["unit_id"] == province]
        if rows.empty:
            valid = ", ".join(sorted(self.provinces["unit_id"]))
            raise ProvinceError(f"Tỉnh {province!r} không có trong dữ liệu. Các tỉnh hợp lệ: {valid}.")
        return rows.iloc[0]["name_vi"]

    def indicator(self, indicator_id: str) -> pd.Series:
        return self.indicators.set_index("indicator_id").loc[indicator_id]


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
    folder = resolve_data_dir(data_dir)
    key = (str(folder), _signature(folder), validate)
    if key in _CACHE:
        return _CACHE[key]
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


