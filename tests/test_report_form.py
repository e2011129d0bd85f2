"""End to end: the published report has the form of Decree 30/2020/NĐ-CP and the frame of the
reviews (I–IV, signature, appendices), in DOCX (python-docx) and PDF (pypdf); internal notes, ids
and file names stay out; a report without its narrative is marked DỰ THẢO on every page."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader

from dxreport.build import build
from dxreport.official import serif_font_dirs

from conftest import make_project

pytestmark = pytest.mark.e2e
CHAPTERS = ["01-tong-quan.ipynb", "09-phu-luc.ipynb"]
INTERNAL = [r"Ghi chú số liệu", r"Ghi chú về số liệu", r"KHÔNG CHẮC CHẮN", r"dxreport", r"\d{3}_[0-9a-f]{16}\.txt",
            r"\b[a-z0-9]+_[a-z0-9_]+\b", r"\b[a-z]+(?:-[a-z]+){2,}\b", r"targets_extra", r"\.csv\b", r"mục mục", r" là Chưa", r" là Đã"]


def pdf_pages(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(str(path)).pages]


def docx_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return "\n".join(archive.read(n).decode("utf-8") for n in archive.namelist() if n.endswith(".xml"))


@pytest.fixture(scope="module")
def final(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("form"), CHAPTERS)
    return build("nghe-an", "2023-Q3", root=root, progress=False)


@pytest.fixture(scope="module")
def draft(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("draft"), CHAPTERS)
    (root / "data" / "bao-cao" / "nghe-an" / "2023-Q3.md").unlink()
    return build("nghe-an", "2023-Q3", root=root, progress=False)


def test_the_docx_opens_with_the_header_block_number_date_type_and_abstract(final):
    document = docx.Document(str(final.out_dir / "bao-cao.docx"))
    left, right = ([p.text for p in cell.paragraphs] for cell in document.tables[0].rows[0].cells)
    assert left[:2] == ["UBND TỈNH NGHỆ AN", "SỞ THÔNG TIN VÀ TRUYỀN THÔNG"]
    assert re.fullmatch(r"Số: \s+/BC-STTTT", left[-1])
    assert right[:2] == ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
    assert re.fullmatch(r"Nghệ An, ngày \s+ tháng \s+ năm 2023", right[-1])
    texts = [p.text for p in document.paragraphs if p.text.strip()]
    assert texts[:3] == ["BÁO CÁO", "Kết quả thực hiện chuyển đổi số quý III năm 2023",
                         "Kính gửi: Ủy ban nhân dân tỉnh Nghệ An"]
    date_run = document.tables[0].rows[0].cells[1].paragraphs[-1].runs[0]
    assert date_run.italic


def test_the_docx_has_sections_i_to_iv_then_signature_then_appendices(final):
    document = docx.Document(str(final.out_dir / "bao-cao.docx"))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    tops = [h for h in headings if re.match(r"^[IV]+\. ", h)]
    assert tops == ["I. KẾT QUẢ TRIỂN KHAI THỰC HIỆN", "II. HẠN CHẾ, NGUYÊN NHÂN",
                    "III. NHIỆM VỤ, GIẢI PHÁP TRONG THỜI GIAN TỚI", "IV. ĐỀ XUẤT, KIẾN NGHỊ"]
    assert "1. Tổng quan" in headings and "1.1. Lãnh đạo, chỉ đạo" in headings
    appendices = [h for h in headings if h.startswith("Phụ lục")]
    assert [a.split(".")[0] for a in appendices] == ["Phụ lục 1", "Phụ lục 2", "Phụ lục 3", "Phụ lục 4"]
    assert headings.index(appendices[0]) > headings.index("IV. ĐỀ XUẤT, KIẾN NGHỊ")
    signature = next(t for t in document.tables if t.rows[0].cells[0].paragraphs[0].text == "Nơi nhận:")
    left, right = signature.rows[0].cells
    assert [p.text for p in left.paragraphs][1:3] == ["- Như trên;", "- Ban Chỉ đạo Chuyển đổi số tỉnh (để báo cáo);"]
    assert [p.text for p in right.paragraphs][:2] == ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"]
    body = document.element.body
    assert body.index(signature._tbl) < body.index(next(p for p in document.paragraphs if p.text == appendices[0])._p)


def test_the_docx_uses_times_new_roman_the_decree_margins_and_numbers_pages_from_2(final):
    document = docx.Document(str(final.out_dir / "bao-cao.docx"))
    for style in document.styles:
        if style.type == 1 and style.element.rPr is not None and style.element.rPr.rFonts is not None:
            assert style.element.rPr.rFonts.get(
                "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}ascii") == "Times New Roman", style.name
    assert document.styles["Body Text"].font.size.pt in (13, 14)
    section = document.sections[0]
    assert (round(section.top_margin.mm), round(section.bottom_margin.mm)) == (20, 20)
    assert (round(section.left_margin.mm), round(section.right_margin.mm)) == (30, 15)
    assert round(section.page_width.mm) == 210 and round(section.page_height.mm) == 297
    assert section.different_first_page_header_footer
    assert "PAGE" in section.header._element.xml and "PAGE" not in section.first_page_header._element.xml
    assert "DỰ THẢO" not in docx_xml(final.out_dir / "bao-cao.docx")
    with zipfile.ZipFile(final.out_dir / "bao-cao.docx") as archive:
        numbering = archive.read("word/numbering.xml").decode("utf-8")
    assert "Symbol" not in numbering and '<w:lvlText w:val="-" />' in numbering  # dashes, as 000 writes lists


def test_the_pdf_carries_the_form_the_frame_and_page_numbers_from_page_2(final):
    pages = pdf_pages(final.out_dir / "bao-cao.pdf")
    first = pages[0]
    for phrase in ("UBND TỈNH NGHỆ AN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                   "/BC-STTTT", "năm 2023", "BÁO CÁO", "Kết quả thực hiện chuyển đổi số quý III năm 2023",
                   "Kính gửi: Ủy ban nhân dân tỉnh Nghệ An", "I. KẾT QUẢ TRIỂN KHAI THỰC HIỆN"):
        assert phrase in first, phrase
    assert not re.match(r"\s*1\s", first)
    assert re.match(r"\s*2\s", pages[1])
    text = "\n".join(pages)
    for phrase in ("II. HẠN CHẾ, NGUYÊN NHÂN", "III. NHIỆM VỤ, GIẢI PHÁP", "IV. ĐỀ XUẤT, KIẾN NGHỊ", "Nơi nhận:",
                   "KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Phụ lục 1", "Phụ lục 4", "xếp thứ 52/63"):
        assert phrase in text, phrase
    assert "DỰ THẢO" not in text and "CẦN BỔ SUNG" not in text
    assert not final.draft and final.remarks == []


def test_the_pdf_font_is_times_metric_with_vietnamese_when_set_up(final):
    fonts = set()
    for page in PdfReader(str(final.out_dir / "bao-cao.pdf")).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    family = serif_font_dirs()[1]
    assert any(family.replace(" ", "") in f for f in fonts), fonts
    assert "Hạ tầng số" in "\n".join(pdf_pages(final.out_dir / "bao-cao.pdf"))


def test_nothing_internal_reaches_the_public_text(final):
    html = (final.out_dir / "bao-cao.html").read_text(encoding="utf-8")
    visible = re.sub(r"<[^>]+>", " ", re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", html, flags=re.S))
    visible = re.sub(r"data:image/[^\s\"')]+", " ", visible)
    texts = {"html": visible, "pdf": "\n".join(pdf_pages(final.out_dir / "bao-cao.pdf")),
             "docx": "\n".join(p.text for p in docx.Document(str(final.out_dir / "bao-cao.docx")).paragraphs)}
    for name, text in texts.items():
        text = re.sub(r"https?://\S+", " ", text)  # a press page is cited by its address
        for pattern in INTERNAL:
            assert not re.search(pattern, text), (name, pattern, re.search(pattern, text))


def test_without_a_narrative_every_page_says_du_thao_and_the_build_says_why(draft):
    assert draft.draft
    assert any("2023-Q3.md" in r and "DỰ THẢO" in r for r in draft.remarks)
    pages = pdf_pages(draft.out_dir / "bao-cao.pdf")
    assert len(pages) > 3 and all("DỰ THẢO" in page for page in pages)
    document = docx.Document(str(draft.out_dir / "bao-cao.docx"))
    for section in document.sections:
        for header in (section.header, section.first_page_header):
            assert "DỰ THẢO" in "".join(p.text for p in header.paragraphs)
    html = (draft.out_dir / "bao-cao.html").read_text(encoding="utf-8")
    assert '<div class="du-thao">DỰ THẢO</div>' in html
    assert "CẦN BỔ SUNG" in "\n".join(pages)


def test_the_docx_holds_no_date_of_its_making_draft_or_final(final, draft):
    """A report's bytes depend on its inputs alone: no zip entry carries the time the reference
    document was marked or saved (the draft mark is made at build time by python-docx)."""
    from dxreport.xlsx import FIXED_DATE

    for result in (final, draft):
        with zipfile.ZipFile(result.out_dir / "bao-cao.docx") as archive:
            dated = {i.filename: i.date_time for i in archive.infolist() if i.date_time != FIXED_DATE}
        assert not dated, dated


def test_the_docx_tables_columns_add_up_to_the_pages_text_width(final):
    """pandoc sizes fixed columns for 5,5 inches; the decree's page has 165 mm of text."""
    with zipfile.ZipFile(final.out_dir / "bao-cao.docx") as archive:
        xml = archive.read("word/document.xml").decode("utf-8")
    page = re.search(r"<w:pgSz [^>]*/>", xml).group(0)
    margins = re.search(r"<w:pgMar [^>]*/>", xml).group(0)
    text_width = (int(re.search(r'w:w="(\d+)"', page).group(1)) - int(re.search(r'w:left="(\d+)"', margins).group(1))
                  - int(re.search(r'w:right="(\d+)"', margins).group(1)))
    assert 9300 < text_width < 9400  # A4, 30 mm and 15 mm margins
    grids = [[int(w) for w in re.findall(r'<w:gridCol w:w="(\d+)"', table)]
             for table in re.findall(r"<w:tbl>.*?</w:tbl>", xml, re.S) if 'w:type="pct" w:w="5000"' in table]
    assert len(grids) >= 3
    assert all(sum(grid) == text_width for grid in grids), [sum(g) for g in grids]


def test_the_docx_tables_are_ruled_and_the_header_block_is_not(final):
    with zipfile.ZipFile(final.out_dir / "bao-cao.docx") as archive:
        styles = archive.read("word/styles.xml").decode("utf-8")
        xml = archive.read("word/document.xml").decode("utf-8")
    table_style = re.search(r'<w:style [^>]*w:styleId="Table"[^>]*>.*?</w:style>', styles, re.S).group(0)
    borders = re.search(r"<w:tblBorders>(.*?)</w:tblBorders>", table_style, re.S).group(1)
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        assert re.search(rf'<w:{side} [^>]*w:val="single"', borders), side
    first_row = re.search(r'<w:tblStylePr w:type="firstRow">.*?</w:tblStylePr>', table_style, re.S).group(0)
    assert re.search(r"<w:b ?/>", first_row)  # header cells bold
    header_block = re.search(r"<w:tbl>.*?</w:tbl>", xml, re.S).group(0)  # the first table: the form's header
    assert "UBND TỈNH NGHỆ AN" in header_block and re.search(r'<w:insideV w:val="nil" ?/>', header_block)


def test_the_cli_lists_what_keeps_the_report_a_draft_even_when_nothing_changed(draft, capsys):
    from dxreport.cli import main

    root = draft.out_dir.parents[2]
    assert main(["--root", str(root), "build", "--period", "2023-Q3", "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert "Không có thay đổi" in out  # the remarks come back from the build's manifest
    assert "DỰ THẢO" in err and "data/bao-cao/nghe-an/2023-Q3.md" in err


def test_the_clerks_blanks_survive_into_the_typst_form():
    """The number and the day are left blank for the office to fill: the typst literal keeps
    the run of no-break spaces (one-line escaping would make it a single space)."""
    from dxreport.official import BLANK, _typ

    assert f"Số: {BLANK}/BC-STTTT" in _typ(f"Số: {BLANK}/BC-STTTT")
    assert _typ('a "b" \\ c') == '"a \\"b\\" \\\\ c"'
