"""The next period's figures: an Excel workbook for the agencies, and its ingestion.

`write_template` makes one sheet per pillar, one row per indicator (and per known breakdown),
showing unit, target and last known value, with blank cells to fill and Excel data validation
on them. `ingest` reads a filled workbook, validates the new rows with the same rules as
`dxreport validate` (plus what only a workbook can get wrong: text where a number or a date is
expected), and appends them to `observations.csv` only when every row is valid. Rows already
in the data are skipped, so ingesting the same file twice changes nothing.
"""

from __future__ import annotations

import csv
import os
import tempfile
from datetime import date, datetime
from pathlib import Path

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.worksheet.datavalidation import DataValidation

from . import fmt, narrative, periods, schema
from .chapter import Chapter
from .chapters import spec
from .data import load, read_raw
from .paths import resolve_data_dir
from .errors import DataIssue, DataValidationError, IngestError

META_SHEET = "_meta"
GUIDE_SHEET = "Hướng dẫn"
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
    ("Ghi chú", "note", 30),
]
INPUT_FILL = PatternFill("solid", fgColor="FFF8DC")
HEAD_FILL = PatternFill("solid", fgColor="DCE6F1")
GUIDE = [
    "HƯỚNG DẪN ĐIỀN SỐ LIỆU",
    "",
    "1. Mỗi trang là một trụ cột của khung DTI; mỗi dòng là một chỉ tiêu (hoặc một phân tổ của chỉ tiêu).",
    "2. Chỉ điền vào các ô nền vàng: Giá trị, Tử số, Mẫu số, Trạng thái, Tính đến ngày, Nguồn, Ghi chú.",
    "3. Giá trị nhập dưới dạng số (không gõ dấu chấm phân cách hàng nghìn). Với chỉ tiêu %, nhập số phần trăm (72,05 chứ không phải 0,7205).",
    "4. Khi văn bản ghi dạng x/y (ví dụ 3.743/3.806 thôn, bản), nhập x vào Tử số và y vào Mẫu số; tử số không được lớn hơn mẫu số.",
    "5. Chỉ tiêu có đơn vị 'trạng thái' (ví dụ Hoàn thành, Đã triển khai): ghi vào cột Trạng thái, để trống Giá trị.",
    "6. Tính đến ngày: ngày số liệu được tính đến. Để trống thì lấy ngày cuối kỳ báo cáo.",
    "7. Cột Nguồn là bắt buộc với mọi dòng có số liệu: tên văn bản, số hiệu, ngày (hoặc địa chỉ trang).",
    "8. Dòng không có số liệu thì để trống toàn bộ; không ghi 0 thay cho 'chưa có số liệu'.",
    "9. Không sửa các cột Mã chỉ tiêu, Chỉ tiêu, Phân tổ; không đổi tên các trang.",
    "10. Nếu số trong văn bản nguồn có chỗ sai (in nhầm dấu chấm, tỷ lệ không khớp x/y), ghi rõ ở cột Ghi chú đã đọc thế nào và hiểu thế nào.",
]


def _sheet_name(name: str, used: set[str]) -> str:
    clean = "".join(c for c in name if c not in '[]:*?/\\')[:31]
    candidate, n = clean, 2
    while candidate in used:
        candidate = f"{clean[:28]} {n}"
        n += 1
    used.add(candidate)
    return candidate


def write_template(province: str, period: str, output: str | Path, data_dir: str | Path | None = None) -> Path:
    data = load(data_dir)
    data.province_name(province)
    chosen = periods.parse(period)
    ch = Chapter(spec("tong-quan"), province, chosen, data)
    book = Workbook()
    guide = book.active
    guide.title = GUIDE_SHEET
    title = f"Số liệu chuyển đổi số tỉnh {data.province_name(province)} {chosen.label_vi} (tính đến {fmt.day(chosen.end)})"
    for i, line in enumerate([title, *GUIDE], start=1):
        guide.cell(row=i, column=1, value=line).font = Font(bold=i in (1, 2))
    guide.column_dimensions["A"].width = 130
    meta = book.create_sheet(META_SHEET)
    for row in (("province", province), ("period", chosen.code), ("format", "dxreport-workbook-1")):
        meta.append(row)
    meta.sheet_state = "hidden"

    used = {GUIDE_SHEET, META_SHEET}
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
        percent_cells, number_cells, date_cells = [], [], []
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
                (percent_cells if ind["unit"] == schema.PERCENT else number_cells).append(f"H{row}")
                number_cells += [f"I{row}", f"J{row}"]
                date_cells.append(f"L{row}")
                sheet.cell(row=row, column=12).number_format = "dd/mm/yyyy"
                row += 1
        _validations(sheet, percent_cells, number_cells, date_cells)
    book.save(str(output))
    return Path(output)


def _validations(sheet, percent_cells, number_cells, date_cells) -> None:
    rules = [
        (DataValidation(type="decimal", operator="between", formula1="0", formula2="100", allow_blank=True,
                        errorTitle="Tỷ lệ không hợp lệ", error="Nhập số phần trăm từ 0 đến 100 (ví dụ 72,05).",
                        promptTitle="Tỷ lệ (%)", prompt="Số phần trăm từ 0 đến 100."), percent_cells),
        (DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                        errorTitle="Số không hợp lệ", error="Nhập một số không âm, không gõ dấu phân cách hàng nghìn."),
         number_cells),
        (DataValidation(type="date", operator="between", formula1="DATE(2000,1,1)", formula2="DATE(2100,12,31)",
                        allow_blank=True, errorTitle="Ngày không hợp lệ", error="Nhập một ngày, ví dụ 30/9/2026."),
         date_cells),
    ]
    for rule, cells in rules:
        if cells:
            rule.showErrorMessage = True
            rule.sqref = " ".join(cells)
            sheet.add_data_validation(rule)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_rows(path: Path):
    """Yield (sheet, excel_row, observation dict, issues) for every filled row of a workbook."""
    try:
        book = load_workbook(str(path), data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise IngestError(f"Không đọc được tệp Excel {path.name}: {exc}") from None
    if META_SHEET not in book.sheetnames:
        raise IngestError(f"{path.name} không phải sổ mẫu của dxreport (thiếu trang {META_SHEET}); "
                          "hãy tạo mẫu bằng `dxreport template`.")
    meta = {r[0]: r[1] for r in book[META_SHEET].iter_rows(values_only=True) if r and r[0]}
    province, period = meta.get("province"), periods.parse(str(meta.get("period")))
    for sheet in book.worksheets:
        if sheet.title in (META_SHEET, GUIDE_SHEET):
            continue
        for row in sheet.iter_rows(min_row=FIRST_ROW):
            cells = {key: c.value for (header, key, _), c in zip(COLUMNS, row) if key}
            if all(cells.get(k) in (None, "") for k in ("value", "numerator", "denominator", "status")):
                continue
            issues = []
            where = f"{path.name} [{sheet.title}]"
            line = row[0].row
            obs = {"province": province, "indicator_id": _cell_text(cells.get("indicator_id")),
                   "breakdown": _cell_text(cells.get("breakdown")), "since": "",
                   "status": _cell_text(cells.get("status")), "source": _cell_text(cells.get("source")),
                   "note": _cell_text(cells.get("note"))}
            for key, header in (("value", "Giá trị"), ("numerator", "Tử số"), ("denominator", "Mẫu số")):
                value = cells.get(key)
                if value in (None, ""):
                    obs[key] = ""
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    obs[key] = repr(float(value)).removesuffix(".0") if float(value).is_integer() else repr(float(value))
                else:
                    obs[key] = ""
                    issues.append(DataIssue(where, line, header, "số không hợp lệ", str(value),
                                            "ô phải chứa một số (nhập số, không nhập chữ hay dấu phân cách hàng nghìn)"))
            as_of = cells.get("as_of")
            if as_of in (None, ""):
                obs["as_of"] = period.end.isoformat()
            elif isinstance(as_of, (datetime, date)):
                obs["as_of"] = (as_of.date() if isinstance(as_of, datetime) else as_of).isoformat()
            else:
                obs["as_of"] = ""
                issues.append(DataIssue(where, line, "Tính đến ngày", "ngày không hợp lệ", str(as_of),
                                        "ô phải chứa một ngày (định dạng ngày của Excel)"))
            yield where, line, obs, issues


def ingest(workbook: str | Path, data_dir: str | Path | None = None) -> int:
    """Append the workbook's new observations; raise `DataValidationError` and write nothing on any error."""
    path = Path(workbook)
    folder = resolve_data_dir(data_dir)
    frames, issues = read_raw(folder)
    if issues:
        raise DataValidationError(issues)
    existing = frames["observations"]
    indicators = frames["indicators"].set_index("indicator_id")
    columns = schema.OBSERVATIONS.names
    known = {tuple(r) for r in existing[columns].itertuples(index=False)}
    new_rows, origin, problems = [], {}, []
    next_line = (existing.index.max() + 1) if len(existing) else 2
    for where, line, obs, row_issues in _read_rows(path):
        problems += row_issues
        unit = indicators["unit"].get(obs["indicator_id"], "")
        obs["unit"] = unit
        record = tuple(obs.get(c, "") for c in columns)
        if record in known:
            continue  # already ingested: the same file twice changes nothing
        known.add(record)
        origin[next_line] = (where, line)
        new_rows.append(pd.Series(record, index=columns, name=next_line))
        next_line += 1
    if not new_rows and not problems:
        return 0
    combined = dict(frames)
    combined["observations"] = pd.concat([existing, pd.DataFrame(new_rows)]) if new_rows else existing
    from .validate import check_frames

    for issue in check_frames(combined):
        if issue.file == schema.OBSERVATIONS.file and issue.line in origin:
            where, line = origin[issue.line]
            header = next((h for h, key, _ in COLUMNS if key == issue.column), issue.column)
            problems.append(DataIssue(where, line, header, issue.rule, issue.value, issue.message))
        elif issue.file == schema.OBSERVATIONS.file and issue.rule == "trùng khóa" and origin:
            continue  # the existing half of a duplicate pair; the new half is reported above
        else:
            problems.append(issue)
    if problems:
        raise DataValidationError(problems)
    _append(folder / schema.OBSERVATIONS.file, columns, [list(r) for r in new_rows])
    return len(new_rows)


def _append(path: Path, columns: list[str], rows: list[list[str]]) -> None:
    """Write the table with the new rows to a temporary file, then replace it in one step."""
    text = path.read_text(encoding="utf-8")
    handle, tmp = tempfile.mkstemp(prefix=".observations-", suffix=".csv", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text if text.endswith("\n") or not text else text + "\n")
            csv.writer(out, lineterminator="\n").writerows(rows)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
