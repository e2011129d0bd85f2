"""The data files a build reads, found without pandas (for the CLI's "nothing changed" path)."""

from __future__ import annotations

import csv
import os
import unicodedata
from pathlib import Path

from . import schema
from .errors import DataDirError
from .paths import resolve_data_dir


def check_folder(data_dir: str | Path | None) -> Path:
    """The data folder, or `DataDirError` saying in Vietnamese why it cannot be read."""
    folder = resolve_data_dir(data_dir)
    if not folder.exists():
        raise DataDirError(f"Thư mục dữ liệu {folder} không tồn tại; kiểm tra tham số --data-dir.")
    if not folder.is_dir():
        raise DataDirError(f"{folder} là một tệp, không phải thư mục dữ liệu; --data-dir phải chỉ tới thư mục "
                           "chứa các tệp CSV (units.csv, observations.csv...).")
    try:
        with os.scandir(folder) as entries:
            next(entries, None)
    except OSError as exc:
        raise DataDirError(f"Không đọc được thư mục dữ liệu {folder}: {exc.strerror or exc} "
                           "(kiểm tra quyền đọc).") from None
    return folder


def data_files(data_dir: str | Path | None) -> list[Path]:
    """Every declared table present in the directory: the data a build reads and keys on."""
    folder = resolve_data_dir(data_dir)
    return [folder / t.file for t in schema.ALL if (folder / t.file).exists()]


def known_provinces(data_dir: str | Path | None = None) -> list[str]:
    """Province slugs read straight from units.csv.

    A missing or unreadable folder raises `DataDirError`. When units.csv is missing or cannot
    be read as UTF-8 CSV, the validator's issues are raised (`DataValidationError`) rather than
    reporting every province as unknown. Codes that are not slugs are never returned: they
    would be used as paths.
    """
    folder = check_folder(data_dir)
    path = folder / schema.UNITS.file
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return sorted(code for code in (
                unicodedata.normalize("NFC", row.get("unit_id") or "").strip()
                for row in csv.DictReader(handle)
                if unicodedata.normalize("NFC", row.get("kind") or "").strip() == "tỉnh")
                if schema.SLUG_RE.fullmatch(code))
    except (OSError, UnicodeDecodeError, csv.Error):
        from .errors import DataValidationError
        from .validate import validate_dir

        issues = validate_dir(folder)
        if issues:
            raise DataValidationError(issues) from None
        raise


def table_rows(data_dir: str | Path | None, table: schema.Table) -> list[dict[str, str]]:
    """The rows of one table as dicts of NFC text, read without pandas (BOM tolerated).

    For the build's quick decisions (the default period) before the full validation: a file that
    cannot be read raises the validator's `DataValidationError` instead of a traceback.
    """
    folder = check_folder(data_dir)
    try:
        with (folder / table.file).open(encoding="utf-8-sig", newline="") as handle:
            return [{unicodedata.normalize("NFC", k or "").strip(): unicodedata.normalize("NFC", v or "").strip()
                     for k, v in row.items() if isinstance(v, str)} for row in csv.DictReader(handle)]
    except (OSError, UnicodeDecodeError, csv.Error):
        from .errors import DataValidationError
        from .validate import validate_dir

        issues = validate_dir(folder)
        if issues:
            raise DataValidationError(issues) from None
        raise
