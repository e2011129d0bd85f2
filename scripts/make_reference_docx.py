"""Build lib/dxreport/templates/reference.docx: the styles pandoc gives the DOCX report.

Starts from pandoc's own reference document and sets what Decree 30/2020/NĐ-CP asks of an
administrative document: Times New Roman in every style, 14 pt body (13 pt tables, 12 pt
captions, 11 pt footnotes), headings black and the size of the body, tables ruled with bold
header cells, A4, margins top/bottom 20 mm, left 30 mm, right 15 mm, page numbers centred in
the header from page 2 (none on the first page). An office that has its own template can put `reference.docx` in
data/bao-cao/<tỉnh>/ instead; this script is only needed to rebuild the shipped one.

    .venv/bin/python scripts/make_reference_docx.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import docx
import pypandoc
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt, RGBColor

TARGET = Path(__file__).resolve().parents[1] / "lib" / "dxreport" / "templates" / "reference.docx"
FONT = "Times New Roman"
SIZES = {"Normal": 14, "Body Text": 14, "First Paragraph": 14, "Compact": 13, "Block Text": 13,
         "Title": 14, "Subtitle": 14, "Author": 14, "Date": 14, "Abstract": 13,
         "Table Caption": 12, "Image Caption": 12, "Caption": 12, "Captioned Figure": 12, "Figure": 12,
         "Footnote Text": 11, "Footnote Block Text": 11, "Bibliography": 12,
         "Heading 1": 14, "Heading 2": 14, "Heading 3": 14, "Heading 4": 14, "Heading 5": 14, "Heading 6": 14}


def _fonts(rpr) -> None:
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme", "w:eastAsiaTheme"):
        fonts.attrib.pop(qn(attr), None)


def _page_number_header(section) -> None:
    section.different_first_page_header_footer = True
    paragraph = section.header.paragraphs[0] if section.header.paragraphs else section.header.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = paragraph.add_run()
    run.font.name, run.font.size = FONT, Pt(13)
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._r.append(element)
    section.first_page_header.is_linked_to_previous = False


def _grid_table_style(style) -> None:
    """The report's tables ruled like the PDF's (half-point grey grid), with bold header cells:
    pandoc's own "Table" style rules only under the header row. Borders are the table's, not the
    cells': a table that sets its own (the header block of the official form sets none) keeps its own."""
    tbl_pr = style.element.find(qn("w:tblPr"))
    if tbl_pr is None:
        tbl_pr = OxmlElement("w:tblPr")
        style.element.append(tbl_pr)
    for old in tbl_pr.findall(qn("w:tblBorders")):
        tbl_pr.remove(old)
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        line = OxmlElement(f"w:{side}")
        line.set(qn("w:val"), "single")
        line.set(qn("w:sz"), "4")
        line.set(qn("w:space"), "0")
        line.set(qn("w:color"), "777777")
        borders.append(line)
    # schema order: tblStyle?, …, tblInd, tblBorders, shd, tblLayout, tblCellMar
    indent = tbl_pr.find(qn("w:tblInd"))
    if indent is not None:
        indent.addnext(borders)
    else:
        tbl_pr.insert(0, borders)
    margins = tbl_pr.find(qn("w:tblCellMar"))
    if margins is not None:
        for side in ("top", "bottom"):
            edge = margins.find(qn(f"w:{side}"))
            if edge is not None:
                edge.set(qn("w:w"), "29")  # about half a millimetre above and below each cell's text
    for conditional in style.element.findall(qn("w:tblStylePr")):
        if conditional.get(qn("w:type")) == "firstRow":
            rpr = conditional.find(qn("w:rPr"))
            if rpr is None:
                rpr = OxmlElement("w:rPr")
                conditional.insert(0, rpr)  # before pPr/tblPr/trPr/tcPr
            if rpr.find(qn("w:b")) is None:
                rpr.append(OxmlElement("w:b"))


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "default.docx"
        with base.open("wb") as handle:
            subprocess.run([pypandoc.get_pandoc_path(), "--print-default-data-file", "reference.docx"],
                           stdout=handle, check=True)
        document = docx.Document(str(base))
    styles = document.styles
    # the document defaults (docDefaults) too, so runs without a style are Times New Roman
    defaults = styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        rpr = defaults.find(qn("w:rPrDefault") + "/" + qn("w:rPr"))
        if rpr is not None:
            _fonts(rpr)
    for style in styles:
        if style.type not in (1, 2, 3):  # paragraph, character, table
            continue
        element = style.element
        rpr = element.get_or_add_rPr()
        _fonts(rpr)
        if style.name in SIZES:
            style.font.size = Pt(SIZES[style.name])
        if style.type == 1 and (style.name.startswith("Heading") or style.name in ("Title", "Subtitle")):
            style.font.color.rgb = RGBColor(0, 0, 0)
            style.font.bold = True
            style.font.italic = style.name in ("Heading 3", "Heading 4")
            if style.name == "Heading 4":
                style.font.bold = False
            style.paragraph_format.space_before = Pt(6)
            style.paragraph_format.space_after = Pt(6)
            style.paragraph_format.first_line_indent = Cm(1)
        if style.type == 1 and style.name == "Compact":  # table cells and tight lists: no indent, flush left
            style.paragraph_format.first_line_indent = Cm(0)
            style.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT
            style.paragraph_format.space_before = Pt(0)
            style.paragraph_format.space_after = Pt(0)
        if style.type == 1 and style.name in ("Body Text", "First Paragraph"):
            style.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
            style.paragraph_format.first_line_indent = Cm(1)
            style.paragraph_format.space_before = Pt(6)
            style.paragraph_format.space_after = Pt(0)
            style.paragraph_format.line_spacing = 1.15
        if style.name in ("Table Caption", "Image Caption"):
            style.font.bold = True
            style.font.italic = False
            style.font.color.rgb = RGBColor(0, 0, 0)
        if style.name == "Hyperlink":
            style.font.color.rgb = RGBColor(0x1F, 0x5B, 0x99)
        if style.type == 3 and style.name == "Table":
            _grid_table_style(style)
    for section in document.sections:
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.top_margin, section.bottom_margin = Mm(20), Mm(20)
        section.left_margin, section.right_margin = Mm(30), Mm(15)
        section.header_distance, section.footer_distance = Mm(10), Mm(10)
        _page_number_header(section)
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(TARGET))
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
