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
    """A chapter notebook raised: names the chapter, the cell and the error."""

    def __init__(self, chapter: str, cell_index: int | None, ename: str, evalue: str):
        self.chapter = chapter
        self.cell_index = cell_index
        self.ename = ename
        self.evalue = evalue
        cell = "?" if cell_index is None else str(cell_index + 1)
        super().__init__(
            f"Chương {chapter!r} lỗi ở ô {cell}: {ename}: {evalue}\n"
            "Bản dựng bị hủy; báo cáo đã xuất bản trước đó được giữ nguyên."
        )


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
