"""The PDF's typesetting, through the report's own typst template: a table's caption is never
left alone at the foot of a page while its table starts on the next one."""

from __future__ import annotations

import subprocess

import pytest
import typst
from pypdf import PdfReader

from dxreport import render
from dxreport.paths import TEMPLATES_DIR

CAPTION = "Bảng 9.9. Bảng thử giữ chú thích"
HEADER = "Cột tiêu đề"


def table_after(lines: int) -> str:
    """`lines` one-line paragraphs, then a long captioned table (it breaks across pages)."""
    filler = "\n\n".join(f"Đoạn văn số {i} của phần mở đầu." for i in range(lines))
    rows = "\n".join(f"| Dòng {i} | {i} |" for i in range(40))
    return f"{filler}\n\n| {HEADER} | Giá trị |\n|:------|-----:|\n{rows}\n\n: {CAPTION}\n"


def pdf_pages(markdown: str, folder) -> list[str]:
    source, typ, pdf = folder / "in.md", folder / "out.typ", folder / "out.pdf"
    source.write_text(markdown, encoding="utf-8")
    subprocess.run([render.pandoc_path(), str(source), "-f", render.READER, "--sandbox", "-t", "typst",
                    "--template", str(TEMPLATES_DIR / "report.typ"), "-o", str(typ)], check=True)
    typst.compile(str(typ), output=str(pdf), root=str(folder), font_paths=[str(render.font_dir())],
                  ignore_system_fonts=True)
    return [page.extract_text() for page in PdfReader(str(pdf)).pages]


@pytest.mark.e2e
def test_a_tables_caption_stays_with_its_first_rows_wherever_the_page_breaks(tmp_path):
    # the filler grows a line at a time, so the caption meets the foot of the first page in
    # some of these documents whatever the page holds
    checked = 0
    for lines in range(30, 62, 2):
        folder = tmp_path / str(lines)
        folder.mkdir()
        pages = pdf_pages(table_after(lines), folder)
        with_caption = [i for i, text in enumerate(pages) if CAPTION in text.replace("\n", " ")]
        assert len(with_caption) == 1, lines
        assert HEADER in pages[with_caption[0]], (lines, pages[with_caption[0]][-200:])
        checked += with_caption[0] > 0  # the caption went to the next page with its table
    assert checked  # the sweep did reach the page's foot: the test is not vacuous
