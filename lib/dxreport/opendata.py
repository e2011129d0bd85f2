"""The open data of a published report: its tables as CSV and XLSX, with a data dictionary.

The tables are read back from the report page as published (`extract_tables`), so each CSV holds
exactly the cells a reader sees: the caption, the header and body rows, and the "Nguồn:" line
that follows the table. CSV files are UTF-8 with a byte-order mark (Excel then reads Vietnamese
correctly); the XLSX holds one sheet per table plus the dictionary.

Formula safety (OWASP "CSV injection"): a text cell that starts with `=`, `+`, `-`, `@`, a tab
or a carriage return gets a leading apostrophe, in CSV and XLSX alike. A cell that is a number
(`-12`, `3.348.092`, `72,05`) is not text and stays as it is; in the XLSX it is stored as a number.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import xlsx
from .escape import FORMULA_START

# Vietnamese grouping (3.348.092; 72,05; -1,5) or a plain integer / decimal-comma number.
_VI_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?$")
# A plain decimal-point number (-12.5) as another tool may print it; never "1e5", "inf" or "nan".
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+\.\d+$")


def parse_number(text: str) -> int | float | None:
    """The value of a cell that is just a number, else None: '3.348.092' -> 3348092,
    '72,05' -> 72.05, '-5' -> -5. Text around the number ('72,05%', '29,45 Mbps') is not a number."""
    cell = text.strip()
    if _VI_NUMBER.match(cell):
        digits = cell.replace(".", "").replace(",", ".")
        return float(digits) if "." in digits else int(digits)
    if _PLAIN_NUMBER.match(cell):
        return float(cell)
    return None


def neutralise(text: str) -> str:
    """A cell made safe to open in a spreadsheet: text that a spreadsheet could read as a formula
    gets a leading apostrophe; numbers and other text are returned unchanged."""
    if text.startswith(FORMULA_START) and parse_number(text) is None:
        return "'" + text
    return text


def restore(text: str) -> str:
    """The cell as shown in the report, from its neutralised form (for reading the CSV back)."""
    if text.startswith("'") and text[1:].startswith(FORMULA_START) and parse_number(text[1:]) is None:
        return text[1:]
    return text


def normalise_space(text: str) -> str:
    return " ".join(text.split())


@dataclass
class ReportTable:
    """One table as the report page shows it."""

    number: int  # position in the report, from 1
    caption: str  # "Bảng 2.1. Băng rộng di động"
    rows: list[list[str]] = field(default_factory=list)  # header row(s) first
    header_rows: int = 0
    source: str = ""  # the "Nguồn: ..." line after the table, without "Nguồn:"

    @property
    def label(self) -> str:
        """'Bảng 2.1' when the caption starts with it, else 'Bảng <n>'."""
        match = re.match(r"^((?:Bảng|Hình)\s+[\w.]+?)\.?\s", self.caption + " ")
        return match.group(1) if match else f"Bảng {self.number}"

    @property
    def title(self) -> str:
        """The caption without its label."""
        text = self.caption
        if text.startswith(self.label):
            text = text[len(self.label):].lstrip(". ")
        return text

    @property
    def slug(self) -> str:
        """'bang-2-1': the file name of its CSV (without extension)."""
        match = re.match(r"^(Bảng|Hình)\s+([\w.]+?)\.?$", self.label)
        prefix = "hinh-" if match and match.group(1) == "Hình" else "bang-"  # a figure's data: hinh-2-1.csv
        tail = match.group(2) if match else str(self.number)
        return prefix + re.sub(r"[^0-9A-Za-z]+", "-", tail).strip("-").lower()

    @property
    def header(self) -> list[str]:
        return self.rows[self.header_rows - 1] if self.header_rows else []

    @property
    def body(self) -> list[list[str]]:
        return self.rows[self.header_rows:]


_BLOCKS = frozenset(("p", "table", "figure", "h1", "h2", "h3", "h4", "h5", "h6"))


def extract_tables(html_text: str) -> list[ReportTable]:
    """Every table of an HTML page, as shown: caption, rows of cell text, source line.

    A top-level table's rows are its own (a table inside a cell is that cell's text); a line
    break in a cell is a space; rows inside <thead> are header rows; the source is the first
    paragraph after the table, if it says "Nguồn:" and no table, figure or heading comes first.
    Read with lxml's HTML parser (an html.parser state machine cost ten times as much, and a
    site reads every report page)."""
    from itertools import islice

    from lxml import etree

    if not html_text.strip():
        return []
    parser = etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    root = etree.fromstring(html_text.encode("utf-8"), parser)
    if root is None:
        return []
    etree.strip_elements(root, "script", "style", with_tail=False)  # their text is not shown
    elements = list(root.iter())  # document order: an element's descendants follow it
    tables: list[ReportTable] = []
    i = 0
    while i < len(elements):
        element = elements[i]
        if element.tag != "table":
            i += 1
            continue
        table = ReportTable(len(tables) + 1, "")
        caption = element.find("caption")
        if caption is not None:
            table.caption = normalise_space("".join(caption.itertext()))
        for row in element.iter("tr"):
            if next(row.iterancestors("table")) is not element:
                continue  # a table inside a cell is read as the cell's text
            cells = [_cell_text(cell) for cell in row if cell.tag in ("td", "th")]
            table.rows.append(cells)
            if next(row.iterancestors("thead", "tbody", "tfoot", "table")).tag == "thead":
                table.header_rows += 1
        i += sum(1 for _ in element.iter())  # past the table and everything in it
        after = next((e for e in islice(elements, i, None) if e.tag in _BLOCKS), None)
        if after is not None and after.tag == "p":
            text = normalise_space("".join(after.itertext()))
            if text.startswith("Nguồn:"):
                table.source = text[len("Nguồn:"):].strip()
        tables.append(table)
    return tables


def _cell_text(cell) -> str:
    """A cell's text as shown: a line break is a space; a table inside it is its text."""
    parts = [cell.text or ""]

    def walk(element, top: bool) -> None:
        for child in element:
            if child.tag == "br" and top:
                parts.append(" ")
            elif isinstance(child.tag, str):
                parts.append(child.text or "")
                walk(child, top and child.tag != "table")
            parts.append(child.tail or "")

    walk(cell, True)
    return normalise_space("".join(parts))


def file_names(tables: list[ReportTable]) -> list[str]:
    """Unique CSV file names, in table order."""
    names, used = [], set()
    for table in tables:
        name = table.slug
        if name in used:
            name = f"{name}-{table.number}"
        used.add(name)
        names.append(f"{name}.csv")
    return names


def write_csv(table: ReportTable, path: Path) -> Path:
    """UTF-8 with BOM, comma-separated, every cell neutralised."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        for row in table.rows:
            writer.writerow([neutralise(cell) for cell in row])
    return path


def read_csv(path: Path) -> list[list[str]]:
    """A CSV written by `write_csv`, cells as shown in the report."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [[restore(cell) for cell in row] for row in csv.reader(handle)]


def _sheet_title(text: str, used: set[str]) -> str:
    title = re.sub(r"[\[\]:*?/\\]", "-", text)[:31].strip() or "Bang"
    base, n = title, 2
    while title in used:
        suffix = f" ({n})"
        title = base[:31 - len(suffix)] + suffix
        n += 1
    used.add(title)
    return title


def xlsx_value(cell: str):
    """What a cell holds in the XLSX: a number when the cell is a plain number, else the
    neutralised text (without characters XML cannot hold)."""
    number = parse_number(cell)
    if number is not None:
        return number
    return neutralise(xlsx.ILLEGAL.sub("", cell))  # before neutralising: "\x01=1" is "=1"


@dataclass
class ColumnInfo:
    name: str
    kind: str  # "số" | "ngày" | "văn bản"
    unit: str  # "%", "Mbps", "" when mixed or none


# a number (or a count "12/21"), then nothing, a percent sign or a unit after a space: "328-KH/TU"
# and "24/4/2025" are not numbers with a unit
_LEADING_NUMBER = re.compile(r"^(?:hạng\s+)?[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?(?:/[\d.]+)?"
                             r"(?P<unit>%(?:\s.*)?|\s+.*)?$")
_DATE = re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$")


def describe_columns(table: ReportTable) -> list[ColumnInfo]:
    """Each column's type and unit, read from its cells: a column whose filled cells are all
    '<number> <unit>' with one unit has that unit."""
    header = table.header or [f"Cột {i + 1}" for i in range(max((len(r) for r in table.rows), default=0))]
    infos = []
    for index, name in enumerate(header):
        cells = [row[index] for row in table.body if index < len(row) and row[index].strip()]
        if cells and all(_DATE.match(cell.strip()) for cell in cells):
            infos.append(ColumnInfo(name, "ngày", "ngày/tháng/năm"))
            continue
        units = set()
        numeric = bool(cells)
        for cell in cells:
            match = _LEADING_NUMBER.match(cell)
            if not match:
                numeric = False
                break
            unit = re.sub(r"\s*\([^()]*\)$", "", (match.group("unit") or "").strip())  # "(16/8/2023; số liệu cũ)" is no unit
            units.add("hạng" if cell.startswith("hạng") else unit)
        if numeric and len(units) == 1:
            unit = units.pop()
            infos.append(ColumnInfo(name, "số", unit))
        elif numeric:
            infos.append(ColumnInfo(name, "số", "ghi trong từng ô"))
        else:
            infos.append(ColumnInfo(name, "văn bản", ""))
    return infos


def write_xlsx(tables: list[ReportTable], path: Path, dictionary: list[list[str]]) -> Path:
    """One workbook: a dictionary sheet first, then one sheet per table (header row first)."""
    used: set[str] = set()
    sheets = [xlsx.Sheet(_sheet_title("Từ điển dữ liệu", used), [[xlsx_value(cell) for cell in row] for row in dictionary],
                         bold={1})]
    for table in tables:
        sheets.append(xlsx.Sheet(_sheet_title(table.label, used), [[xlsx_value(cell) for cell in row] for row in table.rows],
                                 bold=set(range(1, table.header_rows + 1))))
    return xlsx.write(path, sheets)
