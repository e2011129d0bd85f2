"""A small writer of Excel workbooks (Office Open XML, .xlsx) for the tables the build publishes.

The open data and the check sheet are plain grids: text and numbers, a bold header, column
widths, wrapped text, a frozen header. For that, openpyxl builds a Python object per cell and a
style registry, and took most of the time of writing them; a site writes two workbooks per
period. This module writes the few XML parts such a workbook needs, straight from the rows:

- text is written as an inline string (`t="inlineStr"`), never as a formula: a cell is a formula
  only when a writer asks for one, and this one cannot. Neutralising text that a spreadsheet
  would run (OWASP CSV injection) stays with the callers (`opendata.neutralise`), as for CSV;
- numbers (int, float) are numbers; None and NaN are empty cells; any other type is refused;
- characters XML 1.0 cannot hold are dropped (openpyxl refused the whole workbook for them); a
  carriage return and text that looks like Excel's own `_xHHHH_` escape are kept as written;
- the ZIP entries carry a fixed date and no author, so the same tables give the same bytes.

The agencies' input workbook (`workbook.py`: validation, protection, hidden sheets) still uses
openpyxl, which reads every workbook this module writes.
"""

from __future__ import annotations

import math
import numbers
import re
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

# XML 1.0 forbids these (tab, line feed and carriage return are allowed); opendata strips them too
ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
MAX_ROWS, MAX_COLUMNS = 1_048_576, 16_384
FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the ZIP format's epoch: no build time in the file

# style ids in STYLES' cellXfs
PLAIN, BOLD, WRAP, BOLD_WRAP = 0, 1, 2, 3
STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
    '<alignment vertical="top" wrapText="1"/></xf>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">'
    '<alignment vertical="top" wrapText="1"/></xf>'
    '</cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>')
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"


@dataclass
class Sheet:
    """One worksheet. `rows` are lists of str | int | float | None; the rows numbered in `bold`
    (1-based, as Excel numbers them) are bold; from row `wrap_from` on (0: none) cells wrap and
    sit at the top; `widths` are column widths in characters, from column A; `freeze` is the
    first row that scrolls (0: none)."""
    title: str
    rows: list[list] = field(default_factory=list)
    bold: set[int] = field(default_factory=set)
    wrap_from: int = 0
    widths: list[float] = field(default_factory=list)
    freeze: int = 0


def column_letter(index: int) -> str:
    """1 -> A, 26 -> Z, 27 -> AA."""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# Excel reads `_xHHHH_` in a string as the character HHHH; text that holds such a run literally
# gets its underscore escaped the same way (`_x005F_`), so Excel shows what the data says.
_OOXML_ESCAPE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")


@lru_cache(maxsize=65536)  # sheets repeat their names, units and sources row after row
def _text(value: str) -> str:
    """Text as the content of <t>: XML-escaped; a carriage return as a character reference
    (an XML reader turns a raw one into a line feed)."""
    return escape(_OOXML_ESCAPE.sub("_x005F_", ILLEGAL.sub("", value))).replace("\r", "&#13;")


def _cell(ref: str, value, style: int) -> str:
    s = f' s="{style}"' if style else ""
    if isinstance(value, str):  # the common case first, before the numeric ABCs' slower checks
        return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{_text(value)}</t></is></c>'
    if value is None:
        return f'<c r="{ref}"{s}/>' if style else ""
    if isinstance(value, bool):
        raise TypeError(f"ô {ref}: kiểu bool không được ghi vào bảng tính")
    if type(value) is int or isinstance(value, numbers.Integral):
        return f'<c r="{ref}"{s}><v>{int(value)}</v></c>'
    if isinstance(value, numbers.Real):
        value = float(value)
        if not math.isfinite(value):
            return f'<c r="{ref}"{s}/>' if style else ""
        return f'<c r="{ref}"{s}><v>{value!r}</v></c>'
    raise TypeError(f"ô {ref}: kiểu {type(value).__name__} không được ghi vào bảng tính")


def _sheet_xml(sheet: Sheet) -> str:
    if len(sheet.rows) > MAX_ROWS or any(len(row) > MAX_COLUMNS for row in sheet.rows):
        raise ValueError(f"trang {sheet.title!r} vượt giới hạn của Excel ({MAX_ROWS} dòng, {MAX_COLUMNS} cột)")
    width = max((len(row) for row in sheet.rows), default=0)
    letters = [column_letter(i) for i in range(1, width + 1)]
    parts = [f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}">']
    if sheet.rows:
        parts.append(f'<dimension ref="A1:{letters[-1] if letters else "A"}{len(sheet.rows)}"/>')
    if sheet.freeze > 1:
        top = f"A{sheet.freeze}"
        parts.append(f'<sheetViews><sheetView workbookViewId="0"><pane ySplit="{sheet.freeze - 1}" topLeftCell="{top}" '
                     f'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="{top}" '
                     f'sqref="{top}"/></sheetView></sheetViews>')
    else:
        parts.append('<sheetViews><sheetView workbookViewId="0"/></sheetViews>')
    parts.append('<sheetFormatPr defaultRowHeight="15"/>')
    if sheet.widths:
        parts.append("<cols>" + "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
                                        for i, w in enumerate(sheet.widths, start=1)) + "</cols>")
    parts.append("<sheetData>")
    for number, row in enumerate(sheet.rows, start=1):
        bold = number in sheet.bold
        wrap = bool(sheet.wrap_from) and number >= sheet.wrap_from
        style = BOLD_WRAP if bold and wrap else BOLD if bold else WRAP if wrap else PLAIN
        cells = "".join(_cell(f"{letters[i]}{number}", value, style) for i, value in enumerate(row))
        parts.append(f'<row r="{number}">{cells}</row>')
    parts.append('</sheetData><pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>'
                 "</worksheet>")
    return "".join(parts)


def write(path: str | Path, sheets: list[Sheet]) -> Path:
    """Write `sheets` (at least one; titles unique, at most 31 characters, none of []:*?/\\)
    as an .xlsx workbook at `path`."""
    if not sheets:
        raise ValueError("một bảng tính cần ít nhất một trang")
    titles = [s.title for s in sheets]
    for title in titles:
        if not title or len(title) > 31 or re.search(r"[\[\]:*?/\\]", title) or ILLEGAL.search(title):
            raise ValueError(f"tên trang không hợp lệ trong Excel: {title!r}")
    if len({t.casefold() for t in titles}) != len(titles):
        raise ValueError("hai trang trùng tên")
    n = len(sheets)
    overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
                        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(1, n + 1))
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            f"{overrides}</Types>"),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
            '<bookViews><workbookView activeTab="0"/></bookViews><sheets>'
            + "".join(f'<sheet name={quoteattr(t)} sheetId="{i}" r:id="rId{i}"/>' for i, t in enumerate(titles, start=1))
            + "</sheets></workbook>"),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG_REL}">'
            + "".join(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                      for i in range(1, n + 1))
            + f'<Relationship Id="rId{n + 1}" Type="{_REL}/styles" Target="styles.xml"/></Relationships>'),
        "xl/styles.xml": STYLES,
    }
    for i, sheet in enumerate(sheets, start=1):
        parts[f"xl/worksheets/sheet{i}.xml"] = _sheet_xml(sheet)
    path = Path(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("utf-8"))
    return path
