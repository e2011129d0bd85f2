"""The static site without a browser: open data (CSV/XLSX neutralisation), escaping, the page
made for a screen, permissions, the all-or-nothing swap, and what is never published.

Reports here are small hand-written pandoc-like HTML files in a report folder, so the site's own
code runs for real on hostile content without building a report (tests/test_browser.py builds one).
"""

from __future__ import annotations

import csv
import json
import os
from datetime import date
from pathlib import Path
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook

from dxreport import opendata, periods
from dxreport.cli import main
from dxreport.data import load
from dxreport.site import (XLSX_NAME, Report, SiteError, check_out_dir, check_published, default_periods, open_data, report_status,
                           screen_report, write_site)

from conftest import make_project, set_cell

HOSTILE = ["=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\t=1", "\r=1"]
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")


def report_html(extra: str = "") -> str:
    import base64

    data = base64.b64encode(PNG).decode("ascii")
    rows = "".join(f'<tr><td style="text-align: left;">{cell.replace("&", "&amp;").replace("<", "&lt;")}</td>'
                   f'<td style="text-align: right;">-5</td></tr>' for cell in HOSTILE)
    return f"""<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8"><title>BÁO CÁO – Kết quả chuyển đổi số tỉnh Nghệ An quý III năm 2023</title>
<style>body {{ color: red }}</style><script>alert(1)</script></head>
<body>
<header id="title-block-header"><h1 class="title">BÁO CÁO</h1><p class="subtitle">Kết quả</p></header>
<nav id="TOC" role="doc-toc"><h2 id="toc-title">Mục lục</h2><ul><li><a href="#ha-tang" id="toc-ha-tang">Hạ tầng số</a></li></ul></nav>
<h1 id="ha-tang">Hạ tầng số</h1>
<p>Xem <a href="http://example.org/">trang ngoài</a> và <a href="#ha-tang">mục này</a>.</p>
<figure><img role="img" aria-label="Hình 2.1. Tốc độ" src="data:image/png;base64,{data}" alt="Hình 2.1. Tốc độ băng rộng di động" />
<figcaption aria-hidden="true">Hình 2.1. Tốc độ băng rộng di động</figcaption></figure>
<img src="http://tracker.example/pixel.png" alt="">
<table style="width:100%;"><caption>Bảng 2.1. Ô khó</caption><colgroup><col style="width: 50%" /></colgroup>
<thead><tr><th style="text-align: left;">Chỉ tiêu</th><th style="text-align: right;">Giá trị</th></tr></thead>
<tbody>{rows}<tr><td>Thuê bao</td><td style="text-align: right;">3.348.092</td></tr></tbody></table>
<p><em>Nguồn: Dữ liệu giả lập (mục 1)</em></p>
{extra}
</body></html>"""


def make_report(folder: Path, html_text: str | None = None, internal: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bao-cao.html").write_text(html_text or report_html(), encoding="utf-8")
    (folder / "bao-cao.pdf").write_bytes(b"%PDF-1.4\n% test\n")
    (folder / "bao-cao.docx").write_bytes(b"PK\x03\x04 test")
    if internal:  # what a build leaves beside the report, none of which may be published
        (folder / "build.json").write_text(json.dumps({"render_key": "x"}), encoding="utf-8")
        (folder / "notebooks").mkdir(exist_ok=True)
        (folder / "notebooks" / "02-ha-tang-so.ipynb").write_text("{}", encoding="utf-8")
        (folder / "kiem-tra-so-lieu.xlsx").write_bytes(b"PK")
        (folder / "kernel.log").write_text("log", encoding="utf-8")
    return folder


def reports_for(tmp_path: Path, data, codes=("2023-Q3",)) -> list[Report]:
    name = data.province_name("nghe-an")
    return [Report("nghe-an", name, periods.parse(code), make_report(tmp_path / "outputs" / "nghe-an" / code),
                   True, date(2023, 10, 5)) for code in codes]


# ------------------------------------------------------------------------------ open data


def test_parse_number_reads_vietnamese_numbers_and_nothing_else():
    assert opendata.parse_number("3.348.092") == 3348092
    assert opendata.parse_number("72,05") == 72.05
    assert opendata.parse_number("-5") == -5
    assert opendata.parse_number("-1,5") == -1.5
    for text in ("29,45 Mbps", "72,05%", "1e5", "inf", "nan", "-", "", "=1", "3.34.092"):
        assert opendata.parse_number(text) is None, text


def test_neutralise_marks_hostile_text_and_keeps_numbers():
    for cell in HOSTILE:
        assert opendata.neutralise(cell) == "'" + cell
        assert opendata.restore(opendata.neutralise(cell)) == cell
    for cell in ("-5", "-1,5", "+3", "3.348.092", "72,05%", "Hạ tầng số", "'quoted"):
        assert opendata.neutralise(cell) == cell
        assert opendata.restore(cell) == cell


def test_tables_are_read_as_shown_breaks_nested_tables_and_the_right_source_line():
    page = ("<html><body><script>var t = '<table><tr><td>x</td></tr></table>';</script>"
            "<table><caption>Bảng 1.1. <b>Một</b></caption><thead><tr><th>A</th><th>B</th></tr></thead>"
            "<tbody><tr><td>dòng<br>hai</td><td><span>c<br/>d</span></td></tr>"
            "<tr><td><table><tr><td>trong</td><td>bảng</td></tr></table></td><td>  e   f </td></tr>"
            "<tr></tr></tbody></table>"
            "<div><p>Nguồn: <i>Sở</i> A</p><p>Nguồn: không phải của bảng</p></div>"
            "<table><tr><td>g</td></tr></table><h2>Mục</h2><p>Nguồn: sau tiêu đề</p>"
            "<table><tr><td>h</td></tr></table><p>Không phải nguồn</p><p>Nguồn: quá xa</p></body></html>")
    first, second, third = opendata.extract_tables(page)
    assert first.caption == "Bảng 1.1. Một" and first.header_rows == 1
    assert first.rows == [["A", "B"], ["dòng hai", "c d"], ["trongbảng", "e f"], []]
    assert first.source == "Sở A"
    assert (second.number, second.rows, second.source) == (2, [["g"]], "")  # a heading came first
    assert (third.rows, third.source) == ([["h"]], "")  # only the first paragraph after a table
    assert opendata.extract_tables("") == [] and opendata.extract_tables("<p>Nguồn: x</p>") == []


def test_tables_are_read_with_caption_rows_and_source():
    tables = opendata.extract_tables(report_html())
    assert len(tables) == 1
    table = tables[0]
    assert table.caption == "Bảng 2.1. Ô khó" and table.label == "Bảng 2.1" and table.slug == "bang-2-1"
    assert table.title == "Ô khó"
    assert table.header == ["Chỉ tiêu", "Giá trị"] and table.header_rows == 1
    assert [row[0] for row in table.body[:len(HOSTILE)]] == [" ".join(c.split()) for c in HOSTILE]
    assert table.source == "Dữ liệu giả lập (mục 1)"


def test_csv_and_xlsx_neutralise_hostile_cells_and_keep_numbers(tmp_path):
    rows = [["Chỉ tiêu", "Giá trị"], *[[cell, "-5"] for cell in HOSTILE], ["Thuê bao", "3.348.092"], ["Tỷ lệ", "72,05%"]]
    table = opendata.ReportTable(1, "Bảng 1.1. Ô khó", rows, 1, "Dữ liệu giả lập")
    path = opendata.write_csv(table, tmp_path / "bang-1-1.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        written = list(csv.reader(handle))
    for row, cell in zip(written[1:], HOSTILE):
        assert row[0] == "'" + cell and row[1] == "-5"
    assert written[-2] == ["Thuê bao", "3.348.092"]
    assert opendata.read_csv(path) == rows

    book_path = opendata.write_xlsx([table], tmp_path / "bang.xlsx",
                                    [["Tệp", "Số dòng"], ["=evil()", "3"]])
    book = load_workbook(book_path)
    assert book.sheetnames == ["Từ điển dữ liệu", "Bảng 1.1"]
    dictionary = book["Từ điển dữ liệu"]
    assert dictionary["A2"].value == "'=evil()" and dictionary["A2"].data_type == "s"
    assert dictionary["B2"].value == 3
    sheet = book["Bảng 1.1"]
    for r, cell in enumerate(HOSTILE, start=2):
        assert sheet.cell(r, 1).data_type == "s"
        assert sheet.cell(r, 1).value == "'" + cell
        assert sheet.cell(r, 2).value == -5 and sheet.cell(r, 2).data_type == "n"
    assert sheet.cell(len(HOSTILE) + 2, 2).value == 3348092
    assert sheet.cell(len(HOSTILE) + 3, 2).value == "72,05%"


def test_columns_are_described_with_their_unit():
    table = opendata.ReportTable(1, "Bảng 1.1. X", [["Chỉ tiêu", "Tốc độ", "Tỷ lệ", "Hỗn hợp"],
                                                    ["A", "29,45 Mbps", "72,05%", "3 trạm"],
                                                    ["B", "31 Mbps", "80%", "4 xã"]], 1)
    info = opendata.describe_columns(table)
    assert [(c.kind, c.unit) for c in info] == [("văn bản", ""), ("số", "Mbps"), ("số", "%"), ("số", "ghi trong từng ô")]


def test_dates_and_document_numbers_are_not_numbers_with_a_unit():
    """'24/4/2025' read as 24 with the unit '/4/2025', '328-KH/TU' as 328 '-KH/TU': the open
    data's dictionary called a date column a number."""
    table = opendata.ReportTable(1, "Bảng 1.1. Văn bản", [["Số, ký hiệu", "Ngày ban hành", "Kết quả", "Tỷ lệ"],
                                                         ["328-KH/TU", "24/4/2025", "12/21 huyện", "100% (3/3 xã)"],
                                                         ["1174/KH-UBND", "31/12/2025", "9 huyện", "80%"]], 1)
    info = opendata.describe_columns(table)
    assert [(c.kind, c.unit) for c in info] == [("văn bản", ""), ("ngày", "ngày/tháng/năm"), ("số", "huyện"), ("số", "%")]
    # a figure's date or note in brackets after it is not part of its unit
    dated = opendata.ReportTable(2, "Bảng 1.2. Tài khoản", [["Chỉ tiêu", "Số liệu"], ["A", "1.200 tài khoản (16/8/2023; số liệu cũ)"],
                                                            ["B", "35 tài khoản"]], 1)
    assert [(c.kind, c.unit) for c in opendata.describe_columns(dated)][1] == ("số", "tài khoản")


# ------------------------------------------------------------------------------ pages


def test_report_page_is_made_for_a_screen_and_safe(tmp_path):
    report = Report("nghe-an", "Nghệ An", periods.parse("2023-Q3"), tmp_path, True, None)
    screen = screen_report(report_html(), report)
    page = screen.html
    assert page.startswith("<!DOCTYPE html>") and '<html lang="vi">' in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "<script" not in page and "<style" not in page and 'style="' not in page
    assert 'href="http' not in page and "tracker.example" not in page  # outside links unwrapped, outside image dropped
    assert "trang ngoài" in page and 'href="#ha-tang"' in page
    assert 'class="bo-qua" href="#noi-dung"' in page and 'id="noi-dung"' in page
    assert 'href="bao-cao.pdf"' in page and 'href="bao-cao.docx"' in page and 'href="du-lieu/index.html"' in page
    assert 'class="muc-luc-ben"' in page and 'class="muc-luc-gon"' in page
    assert "DỰ THẢO" in page
    # every header cell has a scope; the row labels became row headers; tables scroll in a box
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page, "html.parser")
    ths = soup.find_all("th")
    assert ths and all(th.get("scope") in ("col", "row") for th in ths)
    assert len(soup.select("tbody th[scope=row]")) == len(HOSTILE) + 1
    wrapper = soup.find("table").parent
    assert "bang-cuon" in wrapper["class"] and wrapper["tabindex"] == "0" and wrapper["role"] == "region"
    assert wrapper["aria-labelledby"] == soup.find("caption")["id"]
    # the figure is a file with its caption as alt text
    assert list(screen.images.values()) == [PNG]
    img = soup.find("img")
    assert img["src"].startswith("hinh/") and img["alt"] == "Hình 2.1. Tốc độ băng rộng di động"
    assert img["width"] == "1" and not img.get("role")
    # a tap opens the figure whole (a phone shows it small); the link is named by the alt text
    link = img.parent
    assert link.name == "a" and link["href"] == img["src"] and "phong-to" in link["class"]
    assert link.get_text(strip=True) == "" and link.parent.name == "figure"
    # the hostile cells are shown as they are (the CSV neutralises them, not the page)
    assert "+cmd|' /C calc'!A0" in soup.get_text() and '=HYPERLINK("http://x","y")' in soup.get_text()


def test_a_draft_says_so_once_in_its_notice_not_again_in_the_printed_banner():
    """The printed report carries its own 'DỰ THẢO' banner (for paper and the PDF); on the site
    the page's notice and the badge beside the downloads say it, and the banner goes."""
    html_text = report_html().replace("<body>\n", '<body>\n<div class="du-thao">DỰ THẢO</div>\n', 1)
    assert 'class="du-thao"' in html_text
    report = Report("nghe-an", "Nghệ An", periods.parse("2023-Q3"), Path("."), True, None)
    from bs4 import BeautifulSoup

    main = BeautifulSoup(screen_report(html_text, report).html, "html.parser").find("main")
    assert not main.select("div.du-thao")
    assert [p.get_text() for p in main.select("p.ghi-chu-du-thao")] == [
        "DỰ THẢO: báo cáo chưa được phê duyệt chính thức; số liệu và nội dung có thể còn thay đổi."]


def test_figure_without_alt_gets_its_caption():
    html_text = report_html().replace('alt="Hình 2.1. Tốc độ băng rộng di động"', 'alt=""')
    report = Report("nghe-an", "Nghệ An", periods.parse("2023-Q3"), Path("."), True, None)
    screen = screen_report(html_text, report)
    assert screen.figures[0][1] == "Hình 2.1. Tốc độ băng rộng di động"


def test_data_from_the_tables_is_escaped_in_every_page(tmp_path, data_dir):
    evil = '<script>alert("x")</script> & <b>đậm</b>'
    set_cell(data_dir / "units.csv", 2, "name_vi", f"Nghệ An {evil}")
    set_cell(data_dir / "indicators.csv", 2, "name_vi", f"Tốc độ {evil}")
    set_cell(data_dir / "targets.csv", 2, "text_vi", f"Mục tiêu {evil}")
    data = load(data_dir)
    reports = reports_for(tmp_path, data, ("2022-Q4", "2023-Q3"))
    out = tmp_path / "outputs" / "site"
    write_site(reports, data, out, lock_dir=tmp_path / "cache")
    assert sorted(p.name for p in (tmp_path / "outputs").iterdir()) == ["nghe-an", "site"]  # no lock beside the site
    pages = sorted(out.rglob("*.html"))
    assert len(pages) == 1 + 2 + 2 * 2
    for path in pages:
        text = path.read_text(encoding="utf-8")
        assert "<script" not in text and "<b>đậm" not in text, path
    trend = (out / "nghe-an" / "xu-huong.html").read_text(encoding="utf-8")
    assert "Tốc độ &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;đậm&lt;/b&gt;" in trend
    assert "Mục tiêu &lt;script&gt;" in trend
    # the speed indicator has two figures (31/12/2022, 30/8/2023): a chart whose alt text says them
    charts = list((out / "nghe-an" / "xu-huong").glob("*.svg"))
    assert len(charts) == 1
    chart = ElementTree.fromstring(charts[0].read_bytes())  # well-formed: the name did not break it
    svg = "{http://www.w3.org/2000/svg}"
    assert chart.find(f"{svg}title").text == 'Tốc độ <script>alert("x")</script> & <b>đậm</b>'
    assert not chart.findall(f".//{svg}script") and not chart.findall(f".//{svg}b")
    assert f'src="xu-huong/{charts[0].name}" alt="Biểu đồ đường Tốc độ &lt;script&gt;' in trend
    assert f'<a class="phong-to" href="xu-huong/{charts[0].name}"><img' in trend  # opened whole on a phone
    assert "31/12/2022:" in trend and "30/8/2023:" in trend and "mục tiêu 25 Mbps" in trend
    home = (out / "index.html").read_text(encoding="utf-8")
    assert "Tỉnh Nghệ An &lt;script&gt;" in home
    for path in pages:
        assert "dxreport" not in path.read_text(encoding="utf-8").lower(), path


def test_trend_rows_join_consecutive_periods_with_the_same_figure_and_verdicts(data_dir):
    """Every period stays covered, but a run of periods that publish the same latest figure with
    the same verdicts reads as one row: a page of eighty indicators over seventeen periods was
    mostly rows saying 'no figure yet'."""
    from bs4 import BeautifulSoup

    from dxreport.site import trend_page

    data = load(data_dir)
    codes = ("2022-Q4", "2023-Q1", "2023-Q2", "2023-Q3", "2023-Q4")
    reports = [Report("nghe-an", "Nghệ An", periods.parse(c), Path(".")) for c in codes]
    html_text, _ = trend_page(data, "nghe-an", "Nghệ An", reports)
    soup = BeautifulSoup(html_text, "html.parser")
    name = data.indicators.set_index("indicator_id").loc["bbdd_toc_do", "name_vi"]
    table = next(t for t in soup.find_all("table") if t.caption.get_text() == f"{name} qua các kỳ báo cáo")
    rows = [[c.get_text() for c in tr.find_all(["th", "td"])][:3] for tr in table.tbody.find_all("tr")]
    # 20,5 Mbps (31/12/2022) stands until the figure of 30/8/2023 is published in the third quarter
    assert rows[0] == ["Từ quý IV năm 2022 đến quý II năm 2023", "20,5 Mbps", "31/12/2022"]
    assert rows[1][1:] == ["30,25 Mbps", "30/8/2023"]
    assert rows[-1][0].endswith("quý IV năm 2023")
    assert len(rows) in (2, 3)  # the fourth quarter joins the third unless a verdict changes at its end
    # every table covers every period, in order, each once
    names = [periods.parse(c).label_vi for c in codes]

    def covered(span: str) -> list[int]:
        if span.startswith("Từ "):
            first, last = span[3:].split(" đến ")
            return list(range(names.index(first), names.index(last) + 1))
        return [names.index(span[0].lower() + span[1:])]

    tables = soup.find_all("table")
    assert len(tables) >= 3
    # a long page: beside it, on a wide screen, every indicator under its pillar, each link to its section
    side = soup.select_one("nav.muc-luc-ben")
    sections = [s["aria-labelledby"] for s in soup.select("section[aria-labelledby^='chi-tieu-']")]
    assert [a["href"][1:] for a in side.select("ul ul a")] == sections and len(sections) == len(tables)
    for table in tables:
        spans = [covered(tr.th.get_text()) for tr in table.tbody.find_all("tr")]
        assert [i for span in spans for i in span] == list(range(len(codes))), table.caption.get_text()


def test_province_page_lists_periods_newest_first_with_status_and_downloads(tmp_path, data_dir):
    data = load(data_dir)
    reports = reports_for(tmp_path, data, ("2023-Q3", "2023", "2023-Q4"))
    reports[1].draft = False
    out = tmp_path / "site"
    write_site(reports, data, out)
    text = (out / "nghe-an" / "index.html").read_text(encoding="utf-8")
    order = [text.index(f'href="{code}/index.html"') for code in ("2023", "2023-Q4", "2023-Q3")]
    assert order == sorted(order)
    assert text.count("DỰ THẢO") >= 2 and "Chính thức" in text
    for code in ("2023", "2023-Q4", "2023-Q3"):
        for link in (f"{code}/bao-cao.pdf", f"{code}/bao-cao.docx", f"{code}/du-lieu/index.html"):
            assert f'href="{link}"' in text
            assert (out / "nghe-an" / link).is_file()
    assert "5/10/2023" in text  # the report's date


def test_files_are_world_readable_and_nothing_internal_is_published(tmp_path, data_dir):
    os.umask(0o077)  # the most private umask: the site must still be readable by a web server
    try:
        data = load(data_dir)
        out = tmp_path / "site"
        write_site(reports_for(tmp_path, data), data, out)
    finally:
        os.umask(0o022)
    names = set()
    for path in [out, *out.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        assert mode == (0o755 if path.is_dir() else 0o644), (path, oct(mode))
        names.add(path.name)
    assert not names & {"build.json", "notebooks", "02-ha-tang-so.ipynb", "kiem-tra-so-lieu.xlsx", "kernel.log",
                        "bao-cao.html"}
    assert {"index.html", "site.css", "bao-cao.pdf", "bao-cao.docx", "bang-2-1.csv", "bang-so-lieu.xlsx"} <= names
    csv_text = (out / "nghe-an" / "2023-Q3" / "du-lieu" / "bang-2-1.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in csv_text and ",-5" in csv_text
    assert not list(tmp_path.glob(".site*tmp*"))


def test_check_published_refuses_internal_files_and_local_paths(tmp_path):
    (tmp_path / "index.html").write_text("<p>ok</p>", encoding="utf-8")
    check_published(tmp_path, ["/work/secret"])
    for name in ("build.json", "x.ipynb", "kiem-tra-so-lieu.csv", ".hidden.html", "report.lock", "notes.txt"):
        bad = tmp_path / name
        bad.write_text("x", encoding="utf-8")
        with pytest.raises(SiteError):
            check_published(tmp_path, [])
        bad.unlink()
    (tmp_path / "page.html").write_text("<p>/work/secret/data</p>", encoding="utf-8")
    with pytest.raises(SiteError, match="đường dẫn"):
        check_published(tmp_path, ["/work/secret"])


def test_a_failure_mid_build_leaves_the_previous_site(tmp_path, data_dir):
    data = load(data_dir)
    out = tmp_path / "site"
    write_site(reports_for(tmp_path, data), data, out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    broken = reports_for(tmp_path, data, ("2023-Q3", "2023-Q4"))
    (broken[1].source_dir / "bao-cao.docx").unlink()  # the second report fails half-way through the site
    with pytest.raises(FileNotFoundError):
        write_site(broken, data, out)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".site")]  # no staging folder left


# ------------------------------------------------------------------------------ what to build, where


def test_default_periods_are_quarters_and_years_with_data_never_in_the_future(data_dir):
    found = [p.code for p in default_periods(data_dir, "nghe-an", today=date(2023, 12, 30))]
    assert "2023-Q3" in found and "2022-Q4" in found and "2022" in found
    assert "2023" not in found and "2023-Q4" not in found  # they end after "today"
    assert all(p.end <= date(2023, 12, 30) for p in default_periods(data_dir, "nghe-an", date(2023, 12, 30)))
    later = [p.code for p in default_periods(data_dir, "nghe-an", today=date(2030, 1, 1))]
    assert "2023" in later and found == [c for c in later if c in found]
    assert default_periods(data_dir, "khong-co", date(2030, 1, 1)) == []


def test_out_dir_that_would_replace_the_project_is_refused(tmp_path):
    root = make_project(tmp_path / "proj", [])
    data = root / "data"
    (root / "outputs" / "nghe-an" / "2023-Q3").mkdir(parents=True)
    for bad in (root, data, root / "outputs", root.parent, data / "site", root / "outputs" / "nghe-an",
                root / "outputs" / "nghe-an" / "site", root / "notebooks"):
        with pytest.raises(SiteError):
            check_out_dir(bad, root, data)
    foreign = tmp_path / "tai-lieu"
    foreign.mkdir()
    (foreign / "thu.txt").write_text("quan trọng", encoding="utf-8")
    with pytest.raises(SiteError, match="nội dung khác"):
        check_out_dir(foreign, root, data)
    assert check_out_dir(root / "outputs" / "site", root, data) == (root / "outputs" / "site").resolve()
    assert check_out_dir(tmp_path / "moi" / "site", root, data) == (tmp_path / "moi" / "site").resolve()


def test_cli_refuses_an_unsafe_out_in_vietnamese(tmp_path, capsys):
    root = make_project(tmp_path / "proj", [])
    code = main(["--root", str(root), "site", "--out", str(root / "data")])
    assert code == 1
    err = capsys.readouterr().err
    assert "Không thể ghi trang" in err and "Traceback" not in err


def test_report_status_is_a_draft_unless_recorded_final(tmp_path):
    folder = make_report(tmp_path / "r", internal=False)
    assert report_status(folder)[0] is True  # no manifest: unknown is a draft
    (folder / "build.json").write_text(json.dumps({"render_key": "x"}), encoding="utf-8")
    assert report_status(folder)[0] is True
    (folder / "build.json").write_text(json.dumps({"draft": False, "date": "2024-01-15"}), encoding="utf-8")
    assert report_status(folder) == (False, date(2024, 1, 15))
    (folder / "build.json").write_text(json.dumps({"status": "final"}), encoding="utf-8")
    assert report_status(folder)[0] is False


def test_an_official_report_without_a_toc_gets_one_from_its_parts_and_chapters():
    """The official form has no pandoc table of contents: the screen page builds its own from
    the level-1 parts and level-2 chapters, and titles the page with the report's title."""
    html_text = ('<html><head><title>BÁO CÁO – Kết quả chuyển đổi số tỉnh Nghệ An quý III năm 2023</title></head><body>'
                 '<div class="the-thuc"><div class="co-quan"><p>UBND TỈNH NGHỆ AN</p></div></div>'
                 '<h1 id="i-ket-qua">I. KẾT QUẢ TRIỂN KHAI THỰC HIỆN</h1><h2 id="ha-tang">2. Hạ tầng số</h2><p>x</p>'
                 '<h1 id="ii-han-che">II. HẠN CHẾ, NGUYÊN NHÂN</h1><h3 id="sau">a) chi tiết</h3></body></html>')
    report = Report("nghe-an", "Nghệ An", periods.parse("2023-Q3"), Path("."), False, None)
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(screen_report(html_text, report).html, "html.parser")
    side = soup.find("nav", class_="muc-luc-ben")
    assert side is not None
    top = side.find("ul").find_all("li", recursive=False)
    assert [li.a["href"] for li in top] == ["#i-ket-qua", "#ii-han-che"]
    assert [a["href"] for a in top[0].find("ul").find_all("a")] == ["#ha-tang"]  # chapters nest under their part
    assert "#sau" not in str(side)  # level 3 stays out of the side table
    assert soup.find("h1", class_="title").get_text() == "BÁO CÁO – Kết quả chuyển đổi số tỉnh Nghệ An quý III năm 2023"


def test_the_official_forms_own_title_is_the_pages_heading_said_once():
    """Under its header block the form names itself ('BÁO CÁO', then the abstract): on the page
    that is the heading, with no second title above the document saying the same."""
    html_text = ('<html><head><title>BÁO CÁO – Kết quả chuyển đổi số tỉnh Nghệ An năm 2025</title></head><body>'
                 '<div class="the-thuc"><div class="co-quan"><p>UBND TỈNH NGHỆ AN</p></div></div>\n'
                 '<p class="loai-van-ban">BÁO CÁO</p>\n<p class="trich-yeu">Kết quả thực hiện chuyển đổi số năm 2025</p>\n'
                 '<hr class="trich-yeu-gach"/>\n<h1 id="i-ket-qua">I. KẾT QUẢ</h1><p>x</p></body></html>')
    report = Report("nghe-an", "Nghệ An", periods.parse("2025"), Path("."), False, None)
    from bs4 import BeautifulSoup

    main = BeautifulSoup(screen_report(html_text, report).html, "html.parser").find("main")
    headings = main.find_all("h1")
    assert [h.get_text(" ", strip=True) for h in headings] == [
        "BÁO CÁO Kết quả thực hiện chuyển đổi số năm 2025", "I. KẾT QUẢ"]
    assert headings[0]["class"] == ["van-ban"] and main.find("header") is None
    assert main.get_text().count("BÁO CÁO") == 1 and main.select_one("hr.trich-yeu-gach") is not None
    assert main.find("p", class_="loai-van-ban") is None and main.find("p", class_="trich-yeu") is None


def test_links_to_headings_named_in_vietnamese_keep_their_address():
    """pandoc names a heading by its words ('i.-kết-quả'); the page is rewritten with lxml, whose
    HTML writer percent-encodes such links. The table of contents and the links in the text
    must name the heading exactly as its id does, and text that looks like a link stays text."""
    html_text = ('<html><head><title>Báo cáo</title></head><body>'
                 '<h1 id="i.-kết-quả">I. KẾT QUẢ</h1><h2 id="hạ-tầng-số">1. Hạ tầng số</h2>'
                 '<p>Xem <a href="#hạ-tầng-số">mục Hạ tầng số</a>; chữ href="#giả" vẫn là chữ &amp; &lt;b&gt;.</p>'
                 '</body></html>')
    report = Report("nghe-an", "Nghệ An", periods.parse("2023-Q3"), Path("."), False, None)
    page = screen_report(html_text, report).html
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page, "html.parser")
    ids = {tag["id"] for tag in soup.find_all(id=True)}
    hrefs = [a["href"] for a in soup.find_all("a") if a["href"].startswith("#") and a["href"] != "#noi-dung"]
    assert "#i.-kết-quả" in hrefs and "#hạ-tầng-số" in hrefs
    assert all(h[1:] in ids for h in hrefs), hrefs
    assert "%E1" not in page and "dxreport-uri" not in page
    assert 'chữ href="#giả" vẫn là chữ &amp; &lt;b&gt;.' in page


# ------------------------------------------------------------------------------ figure data


def test_a_figures_data_travels_with_it_and_becomes_a_safe_csv(tmp_path):
    """The data a figure shows rides on its image as an attribute the build wrote (base64 of its
    JSON), leaves the published page, and becomes hinh-2-1.csv, neutralised, numbers kept."""
    import pandas as pd

    from dxreport.display import DATA_ATTR, encode_figure_data, figure_data
    from dxreport.opendata import read_csv

    shown = {**figure_data(pd.DataFrame({"Phân tổ": ['=HYPERLINK("http://x")', "Huyện <b>B</b>"],
                                         "Giá trị (%)": [98.34, 3348092]})), "source": "Dữ liệu giả lập"}
    encoded = encode_figure_data(shown)
    assert set(encoded) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
    html_text = report_html().replace('<img role="img"', f'<img {DATA_ATTR}="{encoded}" role="img"')
    report = Report("nghe-an", "Nghệ An", periods.parse("2023-Q3"), tmp_path, True, None)
    screen = screen_report(html_text, report)
    assert DATA_ATTR not in screen.html and encoded not in screen.html
    (name, table), = screen.figure_tables.items()
    assert table.label == "Hình 2.1" and table.slug == "hinh-2-1"

    page, count = open_data(report, screen.html, screen.figures, [], tmp_path / "du-lieu", screen.figure_tables)
    assert count == 1  # the report's one table; the figure's data is listed with its figure
    assert 'href="hinh-2-1.csv"' in page and f'href="../hinh/{name}"' in page
    assert read_csv(tmp_path / "du-lieu" / "hinh-2-1.csv") == [
        ["Phân tổ", "Giá trị (%)"], ['=HYPERLINK("http://x")', "98,34"], ["Huyện <b>B</b>", "3.348.092"]]
    raw = (tmp_path / "du-lieu" / "hinh-2-1.csv").read_text(encoding="utf-8-sig")
    assert raw.splitlines()[1].startswith("\"'=HYPERLINK")  # neutralised in the file
    from openpyxl import load_workbook

    book = load_workbook(tmp_path / "du-lieu" / XLSX_NAME)
    sheets = {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in book.worksheets}
    figure_sheet = next(rows for rows in sheets.values() if rows and rows[0][:2] == ["Phân tổ", "Giá trị (%)"])
    assert figure_sheet[1][1] == 98.34 and figure_sheet[2][1] == 3348092  # numbers stay numbers


def test_figure_data_that_the_build_did_not_write_is_ignored(tmp_path):
    from dxreport.display import DATA_ATTR, decode_figure_data, encode_figure_data

    assert decode_figure_data("not base64!") is None
    assert decode_figure_data(encode_figure_data({"header": ["a"], "rows": [["1", "2"]]})) is None  # ragged
    assert decode_figure_data(encode_figure_data({"header": ["a"], "rows": [[1]]})) is None  # not text
    html_text = report_html().replace('<img role="img"', f'<img {DATA_ATTR}="PHNjcmlwdD4=" role="img"')
    report = Report("nghe-an", "Nghệ An", periods.parse("2023-Q3"), tmp_path, True, None)
    screen = screen_report(html_text, report)
    assert screen.figure_tables == {} and DATA_ATTR not in screen.html
