"""The analyst's narrative file: parsing, placeholders, the number check, the form's lines."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from dxreport import official, periods, story
from dxreport.data import load

from conftest import REPO

Q3 = periods.parse("2023-Q3")


@pytest.fixture(scope="module")
def real_data():
    return load(REPO / "data")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(REPO / "data", target)
    return target


def write(folder: Path, text: str, province: str = "nghe-an", period: str = "2023-Q3") -> Path:
    path = story.path_for(folder, province, period)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


COMPLETE = """---
kinh_gui: Bộ Thông tin và Truyền thông
noi_nhan:
  - Như trên;
  - Lưu: VT.
ngay: 2023-10-05
so_lieu_cho_phep: ["12,5%"]
---

## Hạn chế, nguyên nhân

### 1. Hạn chế

Chỉ số DTI năm 2022 của tỉnh xếp thứ 52/63; còn 04/21 sở, ban, ngành chưa ban hành kế hoạch năm 2023.
Kinh tế số chiếm 7,38% GRDP. Một tỷ lệ được phép dù không có trong dữ liệu: 12,5%.

## Nhiệm vụ, giải pháp trong thời gian tới

Thực hiện Kế hoạch số 420/KH-UBND ngày 15/6/2023; năm 2024 triển khai ở 3 cấp, mục 2.

## Đề xuất, kiến nghị

Đề nghị Bộ ban hành hướng dẫn theo Nghị định 30/2020/NĐ-CP.

## Hạ tầng số

Nhận xét của chuyên viên về hạ tầng số.
"""


def test_a_complete_narrative_makes_a_final_report_with_its_front_matter(real_data, folder):
    write(folder, COMPLETE)
    doc = official.document(real_data, "nghe-an", Q3, folder)
    assert not doc.draft and doc.remarks == []
    assert doc.to == ["Bộ Thông tin và Truyền thông"]
    assert doc.recipients == ["Như trên;", "Lưu: VT."]
    assert doc.date_line == "Nghệ An, ngày 05 tháng 10 năm 2023"
    assert doc.issuer == "SỞ THÔNG TIN VÀ TRUYỀN THÔNG" and doc.supervisor == "UBND TỈNH NGHỆ AN"
    assert doc.number_line.startswith("Số: ") and doc.number_line.endswith("/BC-STTTT")
    assert official.commentary(doc, "Hạ tầng số") == "Nhận xét của chuyên viên về hạ tầng số."


def test_placeholders_keep_the_report_a_draft_and_are_listed_with_their_lines(real_data, folder):
    path = write(folder, COMPLETE.replace("Đề nghị Bộ", "[[CẦN BỔ SUNG: kiến nghị với Bộ]] Đề nghị Bộ"))
    doc = official.document(real_data, "nghe-an", Q3, folder)
    assert doc.draft
    lines = official.remark_lines(doc)
    line = path.read_text(encoding="utf-8").split("\n").index(
        "[[CẦN BỔ SUNG: kiến nghị với Bộ]] Đề nghị Bộ ban hành hướng dẫn theo Nghị định 30/2020/NĐ-CP.") + 1
    assert lines == [f"{path}:{line}: còn chỗ cần bổ sung: kiến nghị với Bộ"]


def test_a_missing_narrative_makes_a_draft_with_a_placeholder_in_each_section(real_data, folder):
    doc = official.document(real_data, "nghe-an", Q3, folder / "khong-co")
    assert doc.draft
    text = official.assemble(doc, ["## 1. Tổng quan"], [], "")
    assert text.count("CẦN BỔ SUNG") == 3
    assert "# II\\. HẠN CHẾ\\, NGUYÊN NHÂN" in text or "# II. HẠN CHẾ" in text


def test_a_typo_in_a_figure_is_reported_with_file_and_line(real_data, folder):
    path = write(folder, COMPLETE.replace("xếp thứ 52/63", "xếp thứ 53/63").replace("7,38%", "7,83%"))
    doc = official.document(real_data, "nghe-an", Q3, folder)
    assert doc.draft
    numbers = [r for r in doc.remarks if r.kind == "number"]
    assert [r.text for r in numbers] == ["53/63", "7,83%"]
    assert {r.line for r in numbers} == {14, 15} and all(r.path == path for r in numbers)


def test_dates_years_document_numbers_item_numbers_and_allowed_figures_are_not_checked(real_data, folder):
    write(folder, COMPLETE)
    narrative = story.read(story.path_for(folder, "nghe-an", "2023-Q3"))
    figures = story.figures_for(real_data, "nghe-an", Q3.end)
    assert story.check_numbers(narrative, figures) == []
    loose = story.Story(narrative.path, meta={}, body_start=narrative.body_start)
    assert [r.text for r in story.check_numbers(loose, figures)] == ["12,5%"]  # only the allow-list let it pass


def test_a_heading_that_names_no_section_or_chapter_is_refused(real_data, folder):
    write(folder, "## Những điều khác\n\nVăn bản.\n")
    with pytest.raises(story.NarrativeError, match=r"2023-Q3\.md:1: tiêu đề '## Những điều khác'"):
        official.document(real_data, "nghe-an", Q3, folder)


def test_text_before_the_first_heading_is_refused_with_its_line(folder):
    path = write(folder, "---\nso: '12'\n---\nMột đoạn lạc.\n")
    with pytest.raises(story.NarrativeError, match=r"2023-Q3\.md:4:"):
        story.read(path)


def test_the_issuer_is_the_body_in_office_on_the_periods_last_day(real_data, folder):
    after_merger = official.document(real_data, "nghe-an", periods.parse("2025-Q3"), folder)
    assert after_merger.issuer == "SỞ KHOA HỌC VÀ CÔNG NGHỆ" and after_merger.symbol == "BC-SKHCN"
    ha_tinh = official.document(real_data, "ha-tinh", periods.parse("2023-10"), folder)
    assert ha_tinh.signer == "Dương Văn Tuấn" and ha_tinh.date_line == "Hà Tĩnh, ngày \u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0 tháng 10 năm 2023"
    assert [s.title for s in ha_tinh.sections] == ["KHÓ KHĂN, VƯỚNG MẮC, ĐỀ XUẤT, KIẾN NGHỊ"]


def test_the_two_narratives_shipped_with_the_data_give_final_reports(real_data):
    for province, period in (("nghe-an", "2023-Q3"), ("ha-tinh", "2023-10")):
        doc = official.document(real_data, province, periods.parse(period), REPO / "data")
        assert not doc.draft, official.remark_lines(doc)
    other = official.document(real_data, "nghe-an", periods.parse("2023-Q2"), REPO / "data")
    assert other.draft


def test_chapters_take_decree_style_numbers_and_the_appendix_its_own_pages():
    md = "# Hạ tầng số\n\nMở đầu.\n\n## Băng rộng di động\n\nCâu.\n\n## Băng rộng cố định {#co-dinh}\n"
    out = official.number_chapter(md, 2)
    assert "## 2. Hạ tầng số" in out and "### 2.1. Băng rộng di động" in out and "### 2.2. Băng rộng cố định" in out
    appendix = official.number_chapter("# Phụ lục\n\nGiới thiệu.\n\n## Phụ lục 1. Văn bản\n\nBảng.\n", None)
    assert "Giới thiệu" not in appendix and "# Phụ lục 1. Văn bản {.unnumbered .phu-luc}" in appendix
    assert "#pagebreak" in appendix and 'w:type="page"' in appendix


def test_date_line_pads_day_and_the_months_1_and_2():
    doc = official.Document("p", "2023-Q1", "", "", "", "BC-X", "", "Nghệ An", 2023, month=2, day=3)
    assert doc.date_line == "Nghệ An, ngày 03 tháng 02 năm 2023"
    doc.month, doc.day = 11, 20
    assert doc.date_line == "Nghệ An, ngày 20 tháng 11 năm 2023"


def test_form_text_from_configuration_is_escaped_for_every_format(real_data, folder):
    write(folder, COMPLETE.replace("kinh_gui: Bộ Thông tin và Truyền thông", 'kinh_gui: "A <b>&</b> \\"B\\" *C*"'))
    doc = official.document(real_data, "nghe-an", Q3, folder)
    html_part, docx_part, typst_part = official.front_matter(doc).split("```{=")[1:]
    for part in (html_part, docx_part):
        assert "<b>" not in part and "&lt;b&gt;&amp;&lt;/b&gt;" in part
    assert 'Kính gửi: A <b>&</b> \\"B\\" *C*"' in typst_part  # one typst string literal
    assert date(2023, 10, 5).year == doc.year


def test_an_office_template_beside_the_narrative_replaces_the_shipped_reference_docx(real_data, folder):
    doc = official.document(real_data, "nghe-an", Q3, folder)
    assert official.reference_docx(doc).name == "reference.docx" and "templates" in official.reference_docx(doc).parts
    own = folder / "bao-cao" / "nghe-an" / "reference.docx"
    own.write_bytes(official.reference_docx(doc).read_bytes())
    assert official.reference_docx(doc) == own


def test_without_liberation_serif_the_pdf_falls_back_to_dejavu_and_says_so(real_data, folder, tmp_path, monkeypatch):
    import sys

    monkeypatch.setattr(sys, "prefix", str(tmp_path / "venv"))
    monkeypatch.setattr(official, "SYSTEM_FONT_DIRS", ())
    dirs, family, warning = official.serif_font_dirs()
    assert family == "DejaVu Serif" and "Liberation Serif" in warning and "make setup" in warning
    doc = official.document(real_data, "nghe-an", Q3, folder)
    assert warning in official.remark_lines(doc)
