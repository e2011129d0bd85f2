"""End to end: markup, links, typst code and file paths planted in every text column of a data
copy come out of all three formats as plain words. Nothing is live, nothing local is embedded,
and no request leaves the build. One build of three chapters, all formats."""

from __future__ import annotations

import base64
import csv
import http.server
import re
import threading
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pypdf import PdfReader

from dxreport.build import build

from conftest import REPO, make_project

pytestmark = pytest.mark.e2e

CHAPTERS = ["02-ha-tang-so.ipynb", "08-nhiem-vu-kinh-phi.ipynb", "09-phu-luc.ipynb"]
WORD = "ZQXPLANT"
# (file, column): every free-text column whose value reaches the report.
PLANT = [
    ("indicators.csv", "name_vi"), ("observations.csv", "note"), ("observations.csv", "source"),
    ("sources.csv", "title_vi"), ("sources.csv", "short_vi"), ("sources.csv", "issuer"),
    ("tasks.csv", "name_vi"), ("tasks.csv", "status_text"), ("tasks.csv", "owner"), ("tasks.csv", "period_text"),
    ("targets.csv", "text_vi"), ("units.csv", "name_vi"), ("documents.csv", "title_vi"), ("budget.csv", "note"),
]


def payload(port: int) -> str:
    return (f"{WORD} <script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1)) "
            "`<b>x</b>`{=html} `#set page(width: 1pt)`{=typst} ![x](/etc/passwd) "
            f'<link href="http://127.0.0.1:{port}/x.css" rel="stylesheet"> ^[x] *x*')


def plant(data: Path, text: str) -> None:
    by_file: dict[str, list[str]] = {}
    for name, column in PLANT:
        by_file.setdefault(name, []).append(column)
    for name, columns in by_file.items():
        path = data / name
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            fields, rows = reader.fieldnames, list(reader)
        for row in rows:
            for column in columns:
                if column == "source":  # keep the cited source, plant in where it is cited
                    first = row[column].split("|")[0].strip()
                    row[column] = f"{first.split(':')[0]}: {text}" if first.endswith(".txt") or ":" in first else first
                else:
                    row[column] = f"{row[column]} {text}".strip()
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fields)
            writer.writeheader()
            writer.writerows(rows)


class Counting(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802
        Counting.requests.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        root = make_project(tmp_path_factory.mktemp("inject"), CHAPTERS)
        plant(root / "data", payload(server.server_address[1]))
        result = build("nghe-an", "2023-Q3", root=root, progress=False)
    finally:
        server.shutdown()
    return result


def test_html_has_nothing_live_and_shows_the_planted_words(planted):
    html = (planted.out_dir / "bao-cao.html").read_text(encoding="utf-8")
    parser = Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag not in ("script", "link", "iframe", "object", "embed", "b"), (tag, attrs)
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "img":
            assert attrs["src"].startswith("data:image/png;base64,"), attrs
        if tag == "a" and "href" in attrs:
            assert re.match(r"(#|https?://|mailto:)", attrs["href"]), attrs
        for name in ("href", "src", "action", "formaction", "xlink:href", "data", "poster", "background"):
            assert not re.match(r"\s*(javascript|vbscript|file):", attrs.get(name) or "", re.I), (tag, attrs)
    text = "".join(parser.text)
    assert text.count(WORD) >= 10
    for word in ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))",
                 "`<b>x</b>`{=html}", "`#set page(width: 1pt)`{=typst}", "![x](/etc/passwd)", "^[x]", "*x*"):
        assert word in text, word
    # every embedded image is one of the build's PNG figures, not a file it was pointed at
    for data in re.findall(r'src="data:([^;"]+);base64,([^"]+)"', html):
        assert data[0] == "image/png" and base64.b64decode(data[1]).startswith(b"\x89PNG")


def test_docx_embeds_only_the_builds_figures(planted):
    passwd = Path("/etc/passwd").read_text(encoding="utf-8").splitlines()[0]
    with zipfile.ZipFile(planted.out_dir / "bao-cao.docx") as archive:
        media = [n for n in archive.namelist() if n.startswith("word/media/")]
        assert media and all(n.endswith(".png") and archive.read(n).startswith(b"\x89PNG") for n in media)
        xml = "\n".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
    assert WORD in xml and "&lt;script&gt;alert(1)&lt;/script&gt;" in xml
    for name in ("bao-cao.docx", "bao-cao.html", "bao-cao.pdf"):
        assert passwd.encode() not in (planted.out_dir / name).read_bytes()


def test_no_request_left_the_build(planted):
    assert Counting.requests == []


def test_pdf_built_with_its_page_size_and_the_planted_words(planted):
    reader = PdfReader(str(planted.out_dir / "bao-cao.pdf"))
    assert len(reader.pages) >= 4
    assert all(abs(float(page.mediabox.width) - 595.28) < 1 for page in reader.pages)  # `#set page` did not run
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert text.count(WORD) >= 10
    assert "<script>alert(1)</script>" in text.replace("\n", " ") or "alert(1)" in text


def test_a_stage_set_in_the_callers_environment_cannot_switch_the_guard_off(tmp_path, monkeypatch):
    """The writers' stage of the filter only hands figure files over; the build sets the stage
    for every pandoc run itself, so one inherited from the environment changes nothing."""
    from dxreport import render

    monkeypatch.setenv(render.STAGE_ENV, "write")
    md = tmp_path / "chuong.md"
    md.write_text('# Chương\n\n```{=typst}\n#read("/etc/passwd")\n```\n\n<script>alert(1)</script>\n',
                  encoding="utf-8")
    typ = render.chapter_typst(md, tmp_path).read_text(encoding="utf-8")
    assert "#read" not in typ and "passwd" not in typ and "<script>" not in typ
    assert "Chương" in typ
