"""The next period's figures: an Excel workbook for the agencies, and its ingestion.

`write_template` makes one sheet per pillar, one row per indicator (and per known breakdown),
showing unit, target and last known value, with blank cells to fill and Excel data validation
on them. The sheets are protected (only the yellow input cells can be edited), the workbook's
structure is locked (no sheet can be added, renamed or unhidden), and the hidden `_meta` sheet
records the province, the period and a checksum of every sheet's rows.

`ingest` reads a filled workbook in read-only mode with bounded dimensions, refuses formulas
and text that Excel would run as one, checks the `_meta` checksum, validates the new rows with
the same rules as `dxreport validate` (plus what only a workbook can get wrong: text where a
number or a date is expected, a date outside the workbook's period), and writes only when every
row is valid, under a lock on the data folder and by atomic replacement. Rows already in the
data are skipped, so ingesting the same file twice changes nothing. A row whose key (province,
indicator, breakdown, date, source) exists with other figures is a correction: refused unless
`replace=True`, which swaps the row in place and appends the old one to `revisions.csv`.
Messages use the workbook's own words: file [sheet], the Excel row, the column header.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import re
import signal
import tempfile
import threading
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation

from . import fmt, narrative, periods, schema
from .chapter import Chapter
from .chapters import spec
from .data import load, read_raw
from .errors import (DataIssue, DataValidationError, IngestError, IngestLockedError, PeriodError,
                     TemplateOutputError)
from .escape import FORMULA_START
from .files import check_folder
from .validate import R_RATE

META_SHEET = "_meta"
GUIDE_SHEET = "Hướng dẫn"
FORMAT = "dxreport-workbook-2"
HEADER_ROW = 3
FIRST_ROW = HEADER_ROW + 1
# (header, observation column or None for read-only context, width)
COLUMNS = [
    ("Mã chỉ tiêu", "indicator_id", 26),
    ("Chỉ tiêu", None, 50),
    ("Phân tổ", "breakdown", 18),
    ("Đơn vị", None, 12),
    ("Đơn vị tử số/mẫu số", None, 14),
    ("Mục tiêu", None, 22),
    ("Số liệu gần nhất", None, 24),
    ("Giá trị", "value", 12),
    ("Tử số", "numerator", 12),
    ("Mẫu số", "denominator", 12),
    ("Trạng thái (chỉ tiêu định tính)", "status", 22),
    ("Tính đến ngày", "as_of", 14),
    ("Nguồn (văn bản, số hiệu, ngày)", "source", 36),
    ("Đơn vị chịu trách nhiệm", "reported_by", 24),
    ("Ghi chú", "note", 30),
]
INPUT_KEYS = ("value", "numerator", "denominator", "status", "as_of", "source", "reported_by", "note")
FIGURE_KEYS = ("value", "numerator", "denominator", "status")
NUMBER_KEYS = ("value", "numerator", "denominator")
TEXT_KEYS = ("status", "source", "reported_by", "note")
HEADER = {key: header for header, key, _ in COLUMNS if key}
LETTER = {key: get_column_letter(i) for i, (_, key, _) in enumerate(COLUMNS, start=1) if key}
# Words of the data files that a message may contain, in the workbook's words.
WORDS = {**HEADER, "since": "ngày bắt đầu", "unit": "Đơn vị", "province": "tỉnh", "indicators.csv": "danh mục chỉ tiêu",
         "sources.csv": "danh mục nguồn", "units.csv": "danh mục đơn vị"}
# Suggested statuses of the dropdown; the data's own statuses are added to them.
STATUSES = ("Hoàn thành", "Chưa hoàn thành", "Đã triển khai", "Đang triển khai", "Chưa triển khai",
            "Đã ban hành", "Chưa ban hành", "Đã vận hành", "Đang thí điểm", "Không phát sinh")
# Bounds of a workbook we read: far above any real template, far below what exhausts memory.
MAX_BYTES = 20 * 2**20
MAX_UNZIPPED = 200 * 2**20
MAX_ROWS = 5000
MAX_COLS = 64
MAX_SHEETS = 40

R_FORMULA = "ô chứa công thức"
R_FORMULA_TEXT = "chữ bắt đầu bằng ký tự công thức"
R_ERROR_CELL = "ô lỗi của Excel"
R_OUTSIDE = "ngày ngoài kỳ"
R_CHANGED = "số liệu đã có, giá trị khác"
R_WHO = "thiếu người gửi bản sửa"

INPUT_FILL = PatternFill("solid", fgColor="FFF8DC")
HEAD_FILL = PatternFill("solid", fgColor="DCE6F1")
GUIDE = [
    "HƯỚNG DẪN ĐIỀN SỐ LIỆU",
    "",
    "1. Mỗi trang là một trụ cột của khung DTI; mỗi dòng là một chỉ tiêu (hoặc một phân tổ của chỉ tiêu).",
    "2. Chỉ điền vào các ô nền vàng: Giá trị, Tử số, Mẫu số, Trạng thái, Tính đến ngày, Nguồn, Đơn vị chịu trách nhiệm, Ghi chú. Các ô khác đã được khóa.",
    "3. Giá trị nhập dưới dạng số (không gõ dấu chấm phân cách hàng nghìn). Với chỉ tiêu %, nhập số phần trăm (72,05 chứ không phải 0,7205).",
    "4. Khi văn bản ghi dạng x/y (ví dụ 3.743/3.806 thôn, bản), nhập x vào Tử số và y vào Mẫu số; tử số không được lớn hơn mẫu số; Giá trị % phải khớp x/y.",
    "5. Chỉ tiêu có đơn vị 'trạng thái' (ví dụ Hoàn thành, Đã triển khai): chọn trong danh sách ở cột Trạng thái (hoặc ghi ngắn gọn), để trống Giá trị.",
    "6. Tính đến ngày: ngày số liệu được tính đến, phải nằm trong kỳ báo cáo. Để trống thì lấy ngày cuối kỳ báo cáo.",
    "7. Cột Nguồn là bắt buộc với mọi dòng có số liệu: tên văn bản, số hiệu, ngày (hoặc địa chỉ trang).",
    "8. Đơn vị chịu trách nhiệm: cơ quan, phòng ban cung cấp và chịu trách nhiệm về số liệu của dòng.",
    "9. Dòng không có số liệu thì để trống toàn bộ; không ghi 0 thay cho 'chưa có số liệu'.",
    "10. Chỉ nhập số, ngày hoặc chữ; không nhập công thức, không bắt đầu ô chữ bằng dấu =, +, -, @.",
    "11. Không sửa các cột Mã chỉ tiêu, Chỉ tiêu, Phân tổ; không đổi tên, thêm hay xóa trang.",
    "12. Tỷ lệ % phải khớp Tử số/Mẫu số theo số chữ số thập phân đã nhập. Nếu văn bản nguồn in tỷ lệ không khớp x/y, chỉ nhập Tử số và Mẫu số, để trống Giá trị và ghi tỷ lệ đã in ở cột Ghi chú; số in sai khác (nhầm dấu chấm...) cũng ghi rõ ở Ghi chú đã đọc thế nào.",
    "13. Gửi bản sửa của số liệu đã nộp: điền lại dòng đó (cùng ngày, cùng nguồn) với số mới; bên nhập dùng "
    "lệnh ingest --replace và số cũ được lưu vào lịch sử.",
]


def _sheet_name(name: str, used: set[str]) -> str:
    clean = "".join(c for c in name if c not in '[]:*?/\\')[:31]
    candidate, n = clean, 2
    while candidate in used:
        candidate = f"{clean[:28]} {n}"
        n += 1
    used.add(candidate)
    return candidate


def _checksum(province: str, period: str, title: str, sheets: list[tuple[str, list[tuple[str, str]]]]) -> str:
    """What ties a workbook to its province and period: the rows of every sheet, hashed."""
    text = json.dumps([FORMAT, province, period, title, sheets], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_output(output: str | Path, data_dir: str | Path | None = None, force: bool = False) -> Path:
    """Refuse a template path that is not .xlsx, lies in the data folder, or exists (without force)."""
    path = Path(output)
    if path.suffix.lower() != ".xlsx":
        raise TemplateOutputError(f"Tên tệp {str(output)!r} phải có đuôi .xlsx (sổ Excel).")
    folder = check_folder(data_dir).resolve()
    target = path.resolve()
    if target == folder or folder in target.parents:
        raise TemplateOutputError(f"Không ghi sổ Excel vào thư mục dữ liệu {folder}: {path} sẽ lẫn với (hoặc ghi đè) "
                                  "các tệp dữ liệu. Chọn một thư mục khác.")
    if target.exists() and not force:
        raise TemplateOutputError(f"Tệp {path} đã có; không ghi đè. Chọn tên khác, hoặc thêm --force để ghi đè.")
    if target.exists() and not target.is_file():
        raise TemplateOutputError(f"{path} là một thư mục, không phải tệp.")
    if not target.parent.is_dir():
        raise TemplateOutputError(f"Thư mục {target.parent} không tồn tại.")
    return path


def write_template(province: str, period: str, output: str | Path, data_dir: str | Path | None = None,
                   force: bool = False) -> Path:
    """Write the agencies' workbook; refuses a data file, an existing file (unless force), a non-.xlsx name."""
    output = check_output(output, data_dir, force)
    data = load(data_dir)
    province_name = data.province_name(province)
    chosen = periods.parse(period)
    ch = Chapter(spec("tong-quan"), province, chosen, data)
    book = Workbook()
    guide = book.active
    guide.title = GUIDE_SHEET
    title = f"Số liệu chuyển đổi số tỉnh {province_name} {chosen.label_vi} (tính đến {fmt.day(chosen.end)})"
    for i, line in enumerate([title, *GUIDE], start=1):
        guide.cell(row=i, column=1, value=line).font = Font(bold=i in (1, 2))
    guide.column_dimensions["A"].width = 130
    guide.protection.sheet = True
    meta = book.create_sheet(META_SHEET)

    used = {GUIDE_SHEET, META_SHEET}
    layout: list[tuple[str, list[tuple[str, str]]]] = []
    statuses = _statuses(data, province)
    status_range = f"'{META_SHEET}'!$D$1:$D${len(statuses)}"
    pillars = data.pillars.sort_values("order")
    for _, pillar in pillars.iterrows():
        indicators = data.indicators[data.indicators["pillar"] == pillar["pillar"]]
        if indicators.empty:
            continue
        sheet = book.create_sheet(_sheet_name(pillar["name_vi"], used))
        sheet.cell(row=1, column=1, value=f"{pillar['name_vi']} — {title}").font = Font(bold=True, size=12)
        for col, (header, _, width) in enumerate(COLUMNS, start=1):
            cell = sheet.cell(row=HEADER_ROW, column=col, value=header)
            cell.font, cell.fill = Font(bold=True), HEAD_FILL
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            sheet.column_dimensions[cell.column_letter].width = width
        sheet.freeze_panes = sheet.cell(row=FIRST_ROW, column=3)
        cells: dict[str, list[str]] = {"percent": [], "number": [], "date": [], "status": []}
        rows: list[tuple[str, str]] = []
        row = FIRST_ROW
        for _, ind in indicators.iterrows():
            for breakdown in [""] + ch.breakdowns(ind["indicator_id"]):
                obs = ch.latest(ind["indicator_id"], breakdown)
                target = ch.target_for(ind["indicator_id"], breakdown)
                values = [
                    ind["indicator_id"], ind["name_vi"], breakdown, ind["unit"], ind["count_unit"],
                    narrative.target_text(target) if target is not None else "",
                    f"{narrative.figure_text(obs, ind['count_unit'])} ({fmt.day(obs.as_of)})" if obs is not None else "",
                ]
                for col, value in enumerate(values, start=1):
                    sheet.cell(row=row, column=col, value=value).alignment = Alignment(wrap_text=True, vertical="top")
                for col in range(len(values) + 1, len(COLUMNS) + 1):
                    cell = sheet.cell(row=row, column=col)
                    cell.fill, cell.protection = INPUT_FILL, Protection(locked=False)
                cells["percent" if ind["unit"] == schema.PERCENT else "number"].append(f"{LETTER['value']}{row}")
                cells["number"] += [f"{LETTER['numerator']}{row}", f"{LETTER['denominator']}{row}"]
                cells["date"].append(f"{LETTER['as_of']}{row}")
                cells["status"].append(f"{LETTER['status']}{row}")
                sheet[f"{LETTER['as_of']}{row}"].number_format = "dd/mm/yyyy"
                rows.append((ind["indicator_id"], breakdown))
                row += 1
        _validations(sheet, cells, chosen, status_range)
        _print_setup(sheet)
        sheet.protection.sheet = True
        layout.append((sheet.title, rows))

    meta_rows = [("province", province), ("period", chosen.code), ("format", FORMAT), ("title", title),
                 ("checksum", _checksum(province, chosen.code, title, layout))]
    meta_rows += [("sheet", name) for name, _ in layout]
    for i, (key, value) in enumerate(meta_rows, start=1):
        meta.cell(row=i, column=1, value=key)
        meta.cell(row=i, column=2, value=value)
    for i, status in enumerate(statuses, start=1):
        meta.cell(row=i, column=4, value=status)
    meta.sheet_state = "hidden"
    meta.protection.sheet = True
    book.security = WorkbookProtection(lockStructure=True)
    _save_atomic(book, output)
    return output


def _statuses(data, province: str) -> list[str]:
    """The dropdown's statuses: the usual ones, then short ones the data already uses."""
    obs = data.observations
    used = obs.loc[(obs["province"] == province) & (obs["status"] != ""), "status"]
    extra = sorted({s for s in used if len(s) <= 40 and not s.startswith(FORMULA_START)} - set(STATUSES))
    return [*STATUSES, *extra]


def _print_setup(sheet) -> None:
    """A4 landscape, one page wide, the header row repeated on every page."""
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = sheet.ORIENTATION_LANDSCAPE
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    sheet.print_options.gridLines = True


def _save_atomic(book: Workbook, output: Path) -> None:
    tmp = None
    try:
        handle, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".xlsx", dir=output.resolve().parent)
        os.close(handle)
        book.save(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, output)
    except OSError as exc:
        raise TemplateOutputError(f"Không ghi được {output}: {exc.strerror or exc}") from None
    finally:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)


def _validations(sheet, cells: dict[str, list[str]], period: periods.Period, status_range: str) -> None:
    start, end = period.start, period.end
    rules = [
        (DataValidation(type="decimal", operator="between", formula1="0", formula2="100", allow_blank=True,
                        errorTitle="Tỷ lệ không hợp lệ", error="Nhập số phần trăm từ 0 đến 100 (ví dụ 72,05).",
                        promptTitle="Tỷ lệ (%)", prompt="Số phần trăm từ 0 đến 100."), cells["percent"]),
        (DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                        errorTitle="Số không hợp lệ", error="Nhập một số không âm, không gõ dấu phân cách hàng nghìn."),
         cells["number"]),
        (DataValidation(type="date", operator="between",
                        formula1=f"DATE({start.year},{start.month},{start.day})",
                        formula2=f"DATE({end.year},{end.month},{end.day})", allow_blank=True,
                        errorTitle="Ngày không hợp lệ",
                        error=f"Nhập một ngày trong kỳ báo cáo, từ {fmt.day(start)} đến {fmt.day(end)}."),
         cells["date"]),
        # A dropdown of the usual statuses; other short text is allowed after a warning.
        (DataValidation(type="list", formula1=status_range, allow_blank=True, errorStyle="warning",
                        errorTitle="Trạng thái khác danh sách",
                        error="Nên chọn trạng thái trong danh sách; bấm Yes để giữ nội dung đã gõ.",
                        promptTitle="Trạng thái", prompt="Chọn trong danh sách (chỉ với chỉ tiêu định tính)."),
         cells["status"]),
    ]
    for rule, targets in rules:
        if targets:
            rule.showErrorMessage = True
            rule.showInputMessage = True
            rule.sqref = " ".join(targets)
            sheet.add_data_validation(rule)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        value = value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, date):
        return value.isoformat()
    return unicodedata.normalize("NFC", str(value)).strip()


def _number_text(value: float) -> str:
    """The shortest text that reads back as the same float, never in exponent form (1e-05)."""
    import numpy as np

    return np.format_float_positional(float(value) + 0.0, trim="-")  # + 0.0 turns -0.0 into 0.0


@dataclass(frozen=True)
class _Row:
    where: str
    line: int
    obs: dict
    issues: list


class _Book:
    """A filled workbook read once, streamed, with bounded dimensions and formulas visible."""

    def __init__(self, path: Path):
        self.path = path
        self.name = path.name
        _check_archive(path)
        try:
            self.book = load_workbook(str(path), read_only=True, data_only=False)
        except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
            raise IngestError(f"Không đọc được tệp Excel {path.name}: {type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.book.close()

    def rows(self, sheet, max_col: int = len(COLUMNS)):
        """(excel_row, cells) for every row up to MAX_ROWS; refuse a sheet that goes further."""
        declared_rows, declared_cols = _declared(sheet)
        if declared_rows > MAX_ROWS or declared_cols > MAX_COLS:
            corner = f"{get_column_letter(min(declared_cols, 16384))}{declared_rows}"
            raise IngestError(f"{self.name} [{sheet.title}]: trang có ô tới {corner}, vượt xa vùng của sổ mẫu "
                              f"(tối đa {MAX_ROWS} dòng, {MAX_COLS} cột). Xóa các ô thừa hoặc tạo lại sổ từ mẫu.")
        for number, row in enumerate(sheet.iter_rows(min_row=1, max_col=max_col), start=1):
            if number > MAX_ROWS:
                raise IngestError(f"{self.name} [{sheet.title}]: trang có hơn {MAX_ROWS} dòng, vượt xa vùng của sổ "
                                  "mẫu. Xóa các dòng thừa hoặc tạo lại sổ từ mẫu.")
            yield number, row


def _declared(sheet) -> tuple[int, int]:
    try:
        return sheet.max_row or 0, sheet.max_column or 0
    except Exception:  # a missing or malformed <dimension>: the row loop still bounds the read
        return 0, 0


def _check_archive(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise IngestError(f"Không đọc được tệp {path.name}: {exc.strerror or exc}") from None
    if size > MAX_BYTES:
        raise IngestError(f"Tệp {path.name} lớn {size / 2**20:.0f} MiB, quá lớn với một sổ mẫu "
                          f"(tối đa {MAX_BYTES // 2**20} MiB).")
    try:
        with zipfile.ZipFile(path) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise IngestError(f"{path.name} không phải tệp Excel .xlsx (hãy lưu sổ ở định dạng Excel Workbook).") from None
    if unzipped > MAX_UNZIPPED:
        raise IngestError(f"Tệp {path.name} giải nén ra {unzipped / 2**20:.0f} MiB, quá lớn với một sổ mẫu.")


def _meta(book: _Book) -> dict:
    if META_SHEET not in book.book.sheetnames:
        raise IngestError(f"{book.name} không phải sổ mẫu của dxreport (thiếu trang {META_SHEET}); "
                          "hãy tạo mẫu bằng `dxreport template`.")
    meta: dict = {"sheet": []}
    for _, row in book.rows(book.book[META_SHEET], max_col=2):
        key, value = (row[0].value if row else None), (row[1].value if len(row) > 1 else None)
        if not key:
            continue
        if key == "sheet":
            meta["sheet"].append(str(value))
        else:
            meta[str(key)] = "" if value is None else str(value)
    if meta.get("format") != FORMAT:
        raise IngestError(f"{book.name} được tạo từ mẫu cũ hoặc không phải sổ mẫu ({meta.get('format') or 'không rõ'}); "
                          "hãy tạo lại mẫu bằng `dxreport template` và điền lại.")
    return meta


def _read_rows(path: Path, known_provinces: set[str]) -> tuple[dict, list[_Row]]:
    """The workbook's `_meta`, and every filled row with the issues only a workbook can have."""
    import warnings

    with warnings.catch_warnings():
        # openpyxl warns in English about odd cells (a date serial out of range...); each such
        # cell is reported below in Vietnamese instead
        warnings.simplefilter("ignore")
        book = _Book(path)
        try:
            return _read_book(book, known_provinces)
        finally:
            book.close()


def _read_book(book: _Book, known_provinces: set[str]) -> tuple[dict, list[_Row]]:
    meta = _meta(book)
    province, title = meta.get("province", ""), meta.get("title", "")
    try:
        period = periods.parse(meta.get("period", ""))
    except PeriodError:
        raise IngestError(f"{book.name}: trang {META_SHEET} ghi kỳ báo cáo không hợp lệ "
                          f"({meta.get('period')!r}); sổ đã bị sửa, hãy tạo lại mẫu.") from None
    names = [n for n in book.book.sheetnames if n not in (META_SHEET, GUIDE_SHEET)]
    extra = [n for n in names if n not in meta["sheet"]]
    missing = [n for n in meta["sheet"] if n not in names]
    if len(book.book.sheetnames) > MAX_SHEETS or extra or missing:
        parts = ([f"trang lạ: {', '.join(extra)}"] if extra else []) + \
                ([f"thiếu trang: {', '.join(missing)}"] if missing else [])
        raise IngestError(f"{book.name}: các trang khác với sổ mẫu ({'; '.join(parts) or 'quá nhiều trang'}). "
                          "Không thêm, xóa hay đổi tên trang; chép số liệu sang sổ mẫu mới nếu cần.")
    if province not in known_provinces:
        raise IngestError(f"{book.name}: trang {META_SHEET} ghi tỉnh {province!r} không có trong dữ liệu; "
                          "sổ đã bị sửa, hãy tạo lại mẫu.")
    layout: list[tuple[str, list[tuple[str, str]]]] = []
    result: list[_Row] = []
    col = {key: i for i, (_, key, _) in enumerate(COLUMNS) if key}
    for name in meta["sheet"]:
        sheet = book.book[name]
        where = f"{book.name} [{name}]"
        keys: list[tuple[str, str]] = []
        for number, row in book.rows(sheet):
            if number == 1:
                heading = _cell_text(row[0].value if row else None)
                if not heading.endswith(f"— {title}"):
                    raise IngestError(f"{where}: tiêu đề trang ({heading!r}) không khớp tỉnh và kỳ của sổ "
                                      f"({title!r}); sổ đã bị sửa, hãy tạo lại mẫu.")
            if number < FIRST_ROW:
                continue
            cells = {key: (row[i] if i < len(row) else None) for key, i in col.items()}
            indicator = _cell_text(getattr(cells["indicator_id"], "value", None))
            if not indicator:
                continue
            keys.append((indicator, _cell_text(getattr(cells["breakdown"], "value", None))))
            parsed = _parse_row(where, number, cells, province, period)
            if parsed is not None:
                result.append(parsed)
        layout.append((name, keys))
    if meta.get("checksum") != _checksum(province, period.code, title, layout):
        raise IngestError(f"{book.name}: tỉnh, kỳ hoặc các dòng chỉ tiêu của sổ khác với lúc tạo mẫu (mã kiểm tra "
                          f"ở trang {META_SHEET} không khớp). Chỉ điền các ô nền vàng; hãy tạo lại mẫu và điền lại.")
    return {"province": province, "period": period, "title": title}, result


def _parse_row(where: str, line: int, cells: dict, province: str, period: periods.Period) -> _Row | None:
    """One sheet row as an observation, or None when no figure and no formula was entered."""
    issues: list[DataIssue] = []
    values = {}
    formula = False
    for key in INPUT_KEYS:
        cell = cells.get(key)
        value = getattr(cell, "value", None)
        if getattr(cell, "data_type", None) == "f" or (value is not None and not isinstance(
                value, (str, int, float, datetime, date))):
            formula = True
            issues.append(DataIssue(where, line, HEADER[key], R_FORMULA, _short(value),
                                    f"ô {LETTER[key]}{line} chứa công thức; chỉ nhập số, ngày hoặc chữ "
                                    "(chép rồi dán giá trị, không dán công thức)"))
            value = None
        elif getattr(cell, "data_type", None) == "e":
            formula = True
            issues.append(DataIssue(where, line, HEADER[key], R_ERROR_CELL, _short(value),
                                    f"ô {LETTER[key]}{line} chứa lỗi của Excel ({value}); nhập lại giá trị"))
            value = None
        values[key] = value
    if not formula and all(values[k] in (None, "") for k in FIGURE_KEYS):
        return None
    obs = {"province": province, "indicator_id": _cell_text(getattr(cells["indicator_id"], "value", None)),
           "breakdown": _cell_text(getattr(cells["breakdown"], "value", None)), "since": "", "qualifier": "", "precision": "",
           "as_of_basis": ""}
    for key in TEXT_KEYS:
        text = _cell_text(values[key])
        if text.startswith(FORMULA_START):
            issues.append(DataIssue(where, line, HEADER[key], R_FORMULA_TEXT, _short(text),
                                    f"ô {LETTER[key]}{line} bắt đầu bằng {text[0]!r}, Excel sẽ hiểu là công thức; "
                                    "bỏ ký tự đó hoặc viết lại câu"))
            text = ""
        obs[key] = text
    for key in NUMBER_KEYS:
        value = values[key]
        if value in (None, ""):
            obs[key] = ""
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and value == value \
                and abs(value) != float("inf"):
            obs[key] = _number_text(value)
        else:
            obs[key] = ""
            issues.append(DataIssue(where, line, HEADER[key], "số không hợp lệ", _short(value),
                                    "ô phải chứa một số (nhập số, không nhập chữ hay dấu phân cách hàng nghìn)"))
    as_of = values["as_of"]
    if as_of in (None, ""):
        obs["as_of"] = period.end.isoformat()
    elif isinstance(as_of, (datetime, date)):
        day = as_of.date() if isinstance(as_of, datetime) else as_of
        obs["as_of"] = day.isoformat()
        if not period.start <= day <= period.end:
            issues.append(DataIssue(where, line, HEADER["as_of"], R_OUTSIDE, fmt.day(day),
                                    f"ngày phải nằm trong kỳ của sổ ({period.label_vi}: từ {fmt.day(period.start)} "
                                    f"đến {fmt.day(period.end)})"))
    else:
        obs["as_of"] = ""
        issues.append(DataIssue(where, line, HEADER["as_of"], "ngày không hợp lệ", _short(as_of),
                                "ô phải chứa một ngày (định dạng ngày của Excel)"))
    return _Row(where, line, obs, issues)


def _short(value) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _in_workbook_words(message: str) -> str:
    """A validator message with data-file column names replaced by the workbook's headers."""
    for word, header in sorted(WORDS.items(), key=lambda item: -len(item[0])):
        message = re.sub(rf"(?<![\w.]){re.escape(word)}(?![\w.])", f"'{header}'", message)
    return message


@dataclass(frozen=True)
class IngestResult:
    """What an ingest wrote: rows added, rows replaced (their old values are in revisions.csv)."""

    added: int
    replaced: int
    sources_added: int


def ingest(workbook: str | Path, data_dir: str | Path | None = None, replace: bool = False,
           by: str | None = None, today: date | None = None, lock_timeout: float = 120) -> IngestResult:
    """Add the workbook's new observations (and, with `replace`, its corrections).

    Everything is read, validated and written while holding the data folder's lock; on any
    issue `DataValidationError` (or `IngestError`) is raised and nothing is written.
    """
    path = Path(workbook)
    folder = check_folder(data_dir)
    by = unicodedata.normalize("NFC", by or "").strip()
    if by.startswith(FORMULA_START):
        raise IngestError(f"--by {by!r}: không được bắt đầu bằng =, +, -, @.")
    with data_lock(folder, lock_timeout):
        _remove_stale(folder)
        return _ingest_locked(path, folder, replace, by, today)


def _ingest_locked(path: Path, folder: Path, replace: bool, by: str, today: date | None) -> IngestResult:
    frames, issues = read_raw(folder)
    if issues:
        raise DataValidationError(issues)
    units = frames["units"]
    _, rows = _read_rows(path, set(units.loc[units["kind"] == "tỉnh", "unit_id"]))
    existing = frames["observations"]
    indicators = frames["indicators"].set_index("indicator_id")
    columns = schema.OBSERVATIONS.names
    key_cols = list(schema.OBSERVATIONS.key)
    by_key = {tuple(r[c] for c in key_cols): line for line, r in existing.iterrows()}
    problems: list[DataIssue] = []
    new_rows: list[pd.Series] = []
    replaced: dict[int, pd.Series] = {}
    revisions: list[dict] = []
    origin: dict[int, tuple[str, int]] = {}
    next_line = int(existing.index.max()) + 1 if len(existing) else 2
    stamp = datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    for row in rows:
        problems += row.issues
        if any(i.rule in (R_FORMULA, R_ERROR_CELL) for i in row.issues):
            continue  # the formula is the problem; what the row would lack without it is noise
        obs = dict(row.obs)
        obs["unit"] = indicators["unit"].get(obs["indicator_id"], "")
        problems += _rate_issues(row, obs)
        obs["reported_by"] = obs.get("reported_by") or by
        record = pd.Series([obs.get(c, "") for c in columns], index=columns)
        key = tuple(record[c] for c in key_cols)
        if key in by_key:
            line = by_key[key]
            old = existing.loc[line, columns] if line in existing.index else replaced.get(line)
            if old is not None and list(old) == list(record):
                continue  # already ingested: the same file twice changes nothing
            if not replace:
                problems.append(DataIssue(row.where, row.line, HEADER["value"], R_CHANGED, _changed_text(old, record),
                                          "dữ liệu đã có số liệu của chỉ tiêu này cho cùng phân tổ, ngày và nguồn, "
                                          "với số khác. Nếu đây là bản sửa, nhập lại với tùy chọn --replace (số cũ "
                                          "được lưu vào lịch sử revisions.csv); nếu là số của một nguồn khác, ghi "
                                          "nguồn đó ở cột Nguồn"))
                continue
            who = obs["reported_by"]
            if not who:
                problems.append(DataIssue(row.where, row.line, HEADER["reported_by"], R_WHO, None,
                                          "bản sửa cần ghi ai gửi: điền cột 'Đơn vị chịu trách nhiệm' hoặc dùng "
                                          "tùy chọn --by"))
                continue
            if line in origin:  # the same key twice in one workbook: the validator reports it below
                new_rows.append(record.rename(next_line))
                origin[next_line] = (row.where, row.line)
                next_line += 1
                continue
            revisions.append({"revised_at": stamp, "revised_by": who, "workbook": path.name,
                              **{c: old[c] for c in ("province", "indicator_id", "breakdown", "as_of", "source")},
                              **{f"old_{c}": old[c] for c in schema.REVISED}})
            replaced[line] = record.rename(line)
            origin[line] = (row.where, row.line)
            continue
        by_key[key] = next_line
        origin[next_line] = (row.where, row.line)
        new_rows.append(record.rename(next_line))
        next_line += 1
    if not new_rows and not replaced and not problems:
        return IngestResult(0, 0, 0)
    combined = dict(frames)
    observations = existing.copy()
    for line, record in replaced.items():
        observations.loc[line, columns] = record.values
    if new_rows:
        observations = pd.concat([observations, pd.DataFrame(new_rows)])
    combined["observations"] = observations
    new_sources = _new_sources(frames["sources"], [*replaced.values(), *new_rows], path.name)
    first = int(frames["sources"].index.max()) + 1 if len(frames["sources"]) else 2
    source_lines = set(range(first, first + len(new_sources)))
    if new_sources:
        added = pd.DataFrame(new_sources, columns=schema.SOURCES.names, index=sorted(source_lines))
        combined["sources"] = pd.concat([frames["sources"], added])
    from .validate import check_frames

    for issue in check_frames(combined, today):
        if issue.file == schema.OBSERVATIONS.file and issue.line in origin and issue.rule == R_RATE:
            continue  # checked above, stricter: a note does not excuse a workbook's own figures
        if issue.file == schema.OBSERVATIONS.file and issue.line in origin:
            where, line = origin[issue.line]
            header = HEADER.get(issue.column, WORDS.get(issue.column or "", issue.column))
            problems.append(DataIssue(where, line, header, issue.rule, issue.value, _in_workbook_words(issue.message)))
        elif issue.file == schema.OBSERVATIONS.file and issue.rule == "trùng khóa" and origin:
            continue  # the existing half of a duplicate pair; the new half is reported above
        elif issue.file == schema.SOURCES.file and issue.line in source_lines:
            problems.append(DataIssue(f"{path.name}", None, HEADER["source"], issue.rule, issue.value,
                                      _in_workbook_words(issue.message)))
        else:
            problems.append(issue)
    if problems:
        raise DataValidationError(_unique(problems))
    try:
        with _deferred_interrupt():
            if revisions:
                _append_rows(folder / schema.REVISIONS.file, schema.REVISIONS.names, revisions)
            if new_sources:
                _append_rows(folder / schema.SOURCES.file, schema.SOURCES.names, new_sources)
            _write_observations(folder / schema.OBSERVATIONS.file, columns, replaced, new_rows)
    except OSError as exc:
        raise IngestError(f"Không ghi được vào thư mục dữ liệu {folder}: {exc.strerror or exc} "
                          f"({getattr(exc, 'filename', '') or ''}). observations.csv chưa thay đổi; "
                          "kiểm tra quyền ghi và chỗ trống trên đĩa rồi chạy lại.") from None
    return IngestResult(len(new_rows), len(replaced), len(new_sources))


def _rate_issues(row: _Row, obs: dict) -> list[DataIssue]:
    """A percentage must agree with its numerator/denominator to the decimals it was given.

    data/ accepts a disagreeing rate with a note (a source printed it so); an agency's workbook
    holds its own figures, so there the note excuses nothing.
    """
    if obs["unit"] != schema.PERCENT or not (obs["value"] and obs["numerator"] and obs["denominator"]):
        return []
    value, num, den = float(obs["value"]), float(obs["numerator"]), float(obs["denominator"])
    if den == 0:
        return []
    decimals = len(obs["value"].split(".", 1)[1]) if "." in obs["value"] else 0
    computed = 100 * num / den
    if abs(value - computed) <= 0.5 * 10.0 ** (-decimals) + 1e-9:
        return []
    return [DataIssue(row.where, row.line, HEADER["value"], R_RATE, fmt.percent(value, min(decimals, 4)),
                      f"tỷ lệ {fmt.percent(value, min(decimals, 4))} khác {HEADER['numerator']}/{HEADER['denominator']} "
                      f"= {fmt.number(num)}/{fmt.number(den)} = {fmt.percent(computed, 2)}; sửa số cho khớp, hoặc "
                      f"để trống {HEADER['value']} nếu văn bản in sai tỷ lệ (ghi tỷ lệ đã in ở {HEADER['note']})")]


def _unique(issues: list[DataIssue]) -> list[DataIssue]:
    seen, out = set(), []
    for issue in issues:
        if issue not in seen:
            seen.add(issue)
            out.append(issue)
    return out


def _changed_text(old, new) -> str:
    def figure(row) -> str:
        if row is None:
            return "?"
        if row["value"]:
            return row["value"]
        if row["numerator"] or row["denominator"]:
            return f"{row['numerator']}/{row['denominator']}"
        return row["status"]
    return f"đã có: {figure(old)}; sổ ghi: {figure(new)}"


def _new_sources(sources: pd.DataFrame, rows: list[pd.Series], workbook: str) -> list[dict]:
    """sources.csv entries for the documents the agencies cite that the catalogue does not list yet.

    Every source cell must name an entry of sources.csv (see validate); an agency's report is a
    new source document, so it is registered with its own text as `location`.
    """
    from .validate import SOURCE_SEPARATOR

    names = [n for n in set(sources["location"]) | set(sources["source_id"]) if n]
    ids = set(sources["source_id"])
    added: dict[str, dict] = {}
    for row in rows:
        for part in (p.strip() for p in row["source"].split(SOURCE_SEPARATOR.strip())):
            if not part or part in added or any(part == n or part.startswith((n + ":", n + " ")) for n in names):
                continue
            source_id = "nhap-" + hashlib.sha256(part.encode("utf-8")).hexdigest()[:10]
            if source_id in ids:
                continue
            added[part] = {"source_id": source_id, "kind": "văn bản gốc", "title_vi": part, "short_vi": part,
                           "issuer": row["reported_by"], "issued": "", "location": part,
                           "note": f"Nguồn do đơn vị ghi trong sổ Excel {workbook}"}
    return list(added.values())


# --- writing, under a lock and atomically ---------------------------------------------------

TMP_PREFIX = ".ingest-tmp-"


@contextlib.contextmanager
def data_lock(folder: Path, timeout: float = 120):
    """An exclusive lock on the data folder for one read-validate-write cycle.

    On POSIX the folder itself is locked (flock on its descriptor): nothing is left in data/.
    Elsewhere a `.ingest.lock` file beside the tables is used.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        from filelock import FileLock, Timeout

        lock = FileLock(str(folder / ".ingest.lock"), timeout=timeout)
        try:
            with lock:
                yield
        except Timeout:
            raise IngestLockedError(_locked_message(folder, timeout)) from None
        return
    import time

    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError as exc:
        raise IngestError(f"Không mở được thư mục dữ liệu {folder}: {exc.strerror or exc}.") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise IngestLockedError(_locked_message(folder, timeout)) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _locked_message(folder: Path, timeout: float) -> str:
    return (f"Một lệnh nhập số liệu khác đang ghi vào {folder} (đã chờ {timeout:.0f} giây). "
            "Chờ lệnh đó xong rồi chạy lại.")


def _remove_stale(folder: Path) -> None:
    """Temporary files of an ingest that was killed: nobody else writes them while we hold the lock."""
    for stale in folder.glob(TMP_PREFIX + "*"):
        with contextlib.suppress(OSError):
            stale.unlink()


@contextlib.contextmanager
def _deferred_interrupt():
    """Hold Ctrl-C (SIGINT) and SIGTERM while the files are swapped in (milliseconds).

    The write then completes and the command reports what it wrote, which is the truth; a
    signal during reading or validation (most of an ingest) stops it with nothing written.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, signal.SIG_IGN)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _replace_file(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, flush it to disk, then swap it in."""
    handle, tmp = tempfile.mkstemp(prefix=TMP_PREFIX + path.stem + "-", suffix=".csv", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        with contextlib.suppress(OSError):
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _csv_lines(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _current_text(path: Path) -> str:
    text = path.read_bytes().decode("utf-8-sig") if path.exists() else ""
    return unicodedata.normalize("NFC", text)


def _append_rows(path: Path, columns: list[str], rows: list[dict]) -> None:
    text = _current_text(path)
    if not text.strip():
        text = _csv_lines([columns])
    elif not text.endswith(("\n", "\r")):
        text += "\n"
    _replace_file(path, text + _csv_lines([[row.get(c, "") for c in columns] for row in rows]))


def _write_observations(path: Path, columns: list[str], replaced: dict[int, pd.Series],
                        new_rows: list[pd.Series]) -> None:
    """observations.csv with replaced rows rewritten in place and new rows appended; other bytes kept."""
    text = _current_text(path)
    if replaced:
        lines = io.StringIO(text, newline="").readlines()
        reader = csv.reader(io.StringIO(text, newline=""))
        next(reader)
        starts = [reader.line_num + 1]
        for _ in reader:
            starts.append(reader.line_num + 1)
        spans = dict(zip(starts[:-1], starts[1:]))
        for line in sorted(replaced, reverse=True):
            end = spans[line]
            lines[line - 1:end - 1] = [_csv_lines([list(replaced[line][columns])])]
        text = "".join(lines)
    if text and not text.endswith(("\n", "\r")):
        text += "\n"
    _replace_file(path, text + _csv_lines([list(r[columns]) for r in new_rows]))
