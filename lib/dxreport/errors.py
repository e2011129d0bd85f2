"""One exception root for the product, with subclasses that carry their facts.

Every error a user can meet is a `DxreportError`; its `str()` is the Vietnamese message the
CLI prints. Subclasses keep the structured facts (file, row, column, rule, value; or notebook,
cell, exception) so tests and callers never parse messages.
"""

from __future__ import annotations

from dataclasses import dataclass


class DxreportError(Exception):
    """Root of every error dxreport raises on purpose."""

    exit_code = 1


@dataclass(frozen=True)
class DataIssue:
    """One broken rule in one cell of one data file.

    `line` is the 1-based line of the file as an editor shows it (the header is line 1), or the
    row of an Excel sheet; `file` may be "book.xlsx [Hạ tầng số]" for a workbook sheet.
    """

    file: str
    line: int | None
    column: str | None
    rule: str
    value: str | None
    message: str

    def format(self) -> str:
        where = [self.file]
        if self.line is not None:
            where.append(f"dòng {self.line}")
        if self.column:
            where.append(f"cột {self.column}")
        shown = "" if self.value in (None, "") else f" (giá trị: {self.value!r})"
        return f"{', '.join(where)}: [{self.rule}] {self.message}{shown}"


class DataValidationError(DxreportError):
    """Raised with every broken rule at once, never only the first."""

    def __init__(self, issues: list[DataIssue]):
        self.issues = list(issues)
        lines = [f"Dữ liệu không hợp lệ: {len(self.issues)} lỗi."]
        lines += ["- " + issue.format() for issue in self.issues]
        super().__init__("\n".join(lines))


class PeriodError(DxreportError):
    """A period code that cannot be parsed."""


class ProvinceError(DxreportError):
    """A province slug that is not in the data."""


class ChapterError(DxreportError):
    """A chapter notebook raised: names the chapter, the cell and the error, and where the full
    traceback was kept.

    `cell_index` is 0-based among all cells of the chapter notebook as saved (Markdown included);
    the message shows it 1-based, as one counts cells down the notebook in JupyterLab, and the
    code cell's `[n]`, the prompt JupyterLab shows beside it after Run All in a fresh kernel."""

    def __init__(self, chapter: str, cell_index: int | None, ename: str, evalue: str,
                 code_cell: int | None = None, line: str | None = None, details: str | None = None):
        self.chapter = chapter
        self.cell_index = cell_index
        self.ename = ename
        self.evalue = evalue
        self.code_cell = code_cell
        self.line = line
        self.details = details
        if cell_index is None:
            cell = "ô không xác định"
        else:
            cell = f"ô thứ {cell_index + 1}"
            if code_cell is not None:
                cell += f" (ô mã [{code_cell}] khi chạy Run All)"
        message = evalue.strip() if evalue and evalue.strip() else _empty_message(ename)
        lines = [f"Chương {chapter!r} lỗi ở {cell}: {ename}: {message}"]
        if line:
            lines.append(f"  Dòng gây lỗi: {line}")
        if details:
            lines.append(f"  Toàn bộ vết lỗi (traceback): {details}")
        lines.append("Bản dựng bị hủy; báo cáo đã xuất bản trước đó được giữ nguyên.")
        super().__init__("\n".join(lines))


def _empty_message(ename: str) -> str:
    if ename == "StopIteration":
        return ("(lỗi không kèm thông điệp) next(...) không tìm thấy phần tử nào: "
                "dãy được duyệt rỗng hoặc không có phần tử thỏa điều kiện")
    return "(lỗi không kèm thông điệp)"


class RenderError(DxreportError):
    """pandoc, typst or quarto failed."""


class BuildLockedError(DxreportError):
    """Another build of the same report holds the lock."""


class IngestError(DxreportError):
    """A filled workbook that cannot be read at all."""


# --- Reading data and workbooks (ingest, template) ---


class DataDirError(DxreportError):
    """The data folder is missing, is a file, or cannot be read."""


class IngestLockedError(DxreportError):
    """Another ingest holds the data folder's lock for longer than we wait."""


class TemplateOutputError(DxreportError):
    """`template -o` names a path it must not write (a data file, an existing file, not .xlsx)."""


# --- Building and publishing ---


class OutputPathError(DxreportError):
    """A province or period code that would put an output outside `outputs/`."""


class OutputError(DxreportError):
    """The output folder cannot be written (read-only, no permission, disk full)."""


class UsageError(DxreportError):
    """An option value the build cannot use (for callers of the library; the CLI refuses it first)."""
