"""The published site in a real browser: Debian's chromium driven by Playwright.

A small site (Nghệ An, two periods, two chapters) is built once for the module and served from
127.0.0.1; every request to any other origin is recorded and aborted. The tests crawl every page
at phone and desktop widths and check what a reader and an auditor would: no console error, no
request leaving the machine, no sideways scroll at 390 px, every link resolving, downloads that
open, CSVs equal to the tables shown, and an axe-core scan with no serious or critical violation.
"""

from __future__ import annotations

import functools
import http.server
import io
import threading
from collections import deque
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlparse

import pytest
from docx import Document
from openpyxl import load_workbook
from pypdf import PdfReader

from dxreport import opendata
from dxreport.site import build_site

from conftest import make_project

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
CHROMIUM = Path("/usr/bin/chromium")
CHAPTERS = ["01-tong-quan.ipynb", "02-ha-tang-so.ipynb"]
PERIODS = ["2023-Q3", "2023-Q4"]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("proj"), CHAPTERS)
    return build_site(["nghe-an"], PERIODS, root=root, progress=False)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass


@pytest.fixture(scope="module")
def server(site):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site.out)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory, server):
    if not CHROMIUM.exists():
        pytest.fail(f"Không tìm thấy {CHROMIUM}: kiểm thử trên trình duyệt cần chromium của Debian. "
                    "`make setup` (hay `make chromium`, với quyền root) cài nó bằng apt-get install chromium.")
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")), executable_path=str(CHROMIUM), headless=True, args=ARGS,
            viewport=DESKTOP, accept_downloads=False, service_workers="block")

        def route(r):
            if r.request.url.startswith(server):
                r.continue_()
            else:
                outside.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        yield context, outside
        context.close()


@pytest.fixture(scope="module")
def crawl(browser, server):
    """Visit every page reachable from the home page: per page, its status, console errors,
    links, and the width the page scrolls to at phone and desktop size."""
    context, outside = browser
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    visited: dict[str, dict] = {}
    files: set[str] = set()
    queue = deque([server + "index.html"])
    while queue:
        url = queue.popleft()
        if url in visited:
            continue
        errors.clear()
        page.set_viewport_size(DESKTOP)
        response = page.goto(url, wait_until="load")
        info = {"status": response.status if response else None, "errors": [],
                "broken_images": page.evaluate("[...document.images].filter(i => i.complete && !i.naturalWidth)"
                                               ".map(i => i.src)")}
        files.update(page.evaluate("[...document.images].map(i => i.src)"))  # lazy ones too
        info["desktop_width"] = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        page.set_viewport_size(PHONE)
        page.wait_for_timeout(50)
        info["phone_width"] = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        hrefs = page.evaluate("[...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))")
        ids = set(page.evaluate("[...document.querySelectorAll('[id]')].map(e => e.id)"))
        info["links"] = hrefs
        info["missing_anchors"] = []
        for href in hrefs:
            target, fragment = urldefrag(urljoin(url, href))
            if target == url and fragment:
                if unquote(fragment) not in ids:
                    info["missing_anchors"].append(href)
                continue
            if target.endswith(".html"):
                queue.append(target)
            else:
                files.add(target)
        info["errors"] = list(errors)
        visited[url] = info
    page.close()
    return {"pages": visited, "files": files, "outside": outside, "failed": failed}


def _kind(url: str) -> str:
    path = urlparse(url).path
    if path.endswith("/du-lieu/index.html"):
        return "data"
    if path.endswith("xu-huong.html"):
        return "trend"
    depth = path.strip("/").count("/")
    return {0: "home", 1: "province", 2: "report"}.get(depth, "other")


def test_every_page_type_is_reached(crawl):
    kinds = [_kind(u) for u in crawl["pages"]]
    for kind in ("home", "province", "report", "data", "trend"):
        assert kind in kinds, kind
    assert kinds.count("report") == len(PERIODS) and kinds.count("data") == len(PERIODS)


def test_pages_load_without_console_errors_or_outside_requests(crawl):
    for url, info in crawl["pages"].items():
        assert info["status"] == 200, url
        assert info["errors"] == [], (url, info["errors"])
        assert info["broken_images"] == [], (url, info["broken_images"])
    assert crawl["outside"] == [], crawl["outside"]
    assert crawl["failed"] == [], crawl["failed"]


def test_no_page_scrolls_sideways_on_a_phone(crawl):
    for url, info in crawl["pages"].items():
        scroll, client = info["phone_width"]
        assert scroll <= client, f"{url}: trang cuộn ngang ở 390 px ({scroll} > {client})"
        scroll, client = info["desktop_width"]
        assert scroll <= client, f"{url}: trang cuộn ngang ở 1280 px ({scroll} > {client})"


def test_on_a_phone_the_tables_of_links_show_every_link_without_scrolling_sideways(crawl, browser):
    """The province's periods and a report's data files: tables of four or five columns would
    scroll in their box and leave the downloads past the right edge; on a phone each row is a
    block whose cells are named and whose links are in view."""
    context, _ = browser
    page = context.new_page()
    page.set_viewport_size(PHONE)
    pages = [url for url in crawl["pages"] if _kind(url) in ("province", "data")]
    assert {_kind(url) for url in pages} == {"province", "data"}
    for url in pages:
        page.goto(url)
        boxes = page.evaluate("[...document.querySelectorAll('table.bang-the a')].map(a => {"
                              " const r = a.getBoundingClientRect(); return [r.left, r.right]; })")
        assert boxes and all(0 <= left and right <= PHONE["width"] for left, right in boxes), (url, boxes)
        labels = page.evaluate("[...document.querySelectorAll('table.bang-the tbody tr:first-child td')]"
                               ".map(td => getComputedStyle(td, '::before').content)")
        expected = (['"Trạng thái: "', '"Số liệu tính đến: "', '"Ngày lập: "', '"Tải về: "'] if _kind(url) == "province"
                    else ['"Nội dung: "', '"Số dòng: "', '"Tệp CSV: "'])
        assert labels == expected, (url, labels)
    page.close()


def test_every_link_resolves(crawl, browser, server):
    context, _ = browser
    for url, info in crawl["pages"].items():
        assert info["missing_anchors"] == [], (url, info["missing_anchors"])
        for href in info["links"]:
            assert not urlparse(href).scheme and not href.startswith("//") and not href.startswith("/"), \
                f"{url}: liên kết không tương đối {href}"
    for target in crawl["files"]:
        assert target.startswith(server), target
        assert context.request.get(target).status == 200, target
    kinds = {urlparse(t).path.rsplit(".", 1)[-1] for t in crawl["files"]}
    assert {"pdf", "docx", "csv", "xlsx", "png"} <= kinds


def test_downloads_open(crawl, browser, server):
    context, _ = browser
    pdfs = [t for t in crawl["files"] if t.endswith(".pdf")]
    docxs = [t for t in crawl["files"] if t.endswith(".docx")]
    xlsxs = [t for t in crawl["files"] if t.endswith(".xlsx")]
    assert len(pdfs) == len(docxs) == len(xlsxs) == len(PERIODS)
    for url in pdfs:
        reader = PdfReader(io.BytesIO(context.request.get(url).body()))
        assert len(reader.pages) >= 2 and "BÁO CÁO" in reader.pages[0].extract_text()
    for url in docxs:
        doc = Document(io.BytesIO(context.request.get(url).body()))
        assert doc.tables and any("Hạ tầng số" in p.text for p in doc.paragraphs)
    for url in xlsxs:
        book = load_workbook(io.BytesIO(context.request.get(url).body()))
        assert book.sheetnames[0] == "Từ điển dữ liệu" and len(book.sheetnames) > 1


SHOWN_TABLES = """() => [...document.querySelectorAll('main table')].map(t => ({
    caption: t.caption ? t.caption.innerText.trim() : '',
    rows: [...t.rows].map(r => [...r.cells].map(c => c.innerText.split(/\\s+/).filter(Boolean).join(' ')))
}))"""


def test_each_csv_reads_back_equal_to_the_table_shown(crawl, browser, server, tmp_path):
    context, _ = browser
    page = context.new_page()
    compared = figures = 0
    for url in [u for u in crawl["pages"] if _kind(u) == "report"]:
        page.goto(url)
        shown = page.evaluate(SHOWN_TABLES)
        assert shown, url
        page.goto(urljoin(url, "du-lieu/index.html"))
        listed = page.evaluate("""() => [...document.getElementById('ds-bang').closest('table').tBodies[0].rows]
            .map(r => [r.cells[0].innerText.trim(), r.querySelector('a').getAttribute('href')])""")
        assert len(listed) == len(shown), url
        for table, (label, href) in zip(shown, listed):
            assert table["caption"].startswith(label), (table["caption"], label)
            path = tmp_path / href
            path.write_bytes(context.request.get(urljoin(page.url, href)).body())
            assert path.read_bytes().startswith(b"\xef\xbb\xbf"), href  # UTF-8 with BOM
            assert opendata.read_csv(path) == table["rows"], href
            compared += 1
        # the data each figure is drawn from, listed with the figure
        for href in page.evaluate("""() => [...document.querySelectorAll('main a[href^="hinh-"]')]
                                       .map(a => a.getAttribute('href'))"""):
            path = tmp_path / href
            path.write_bytes(context.request.get(urljoin(page.url, href)).body())
            rows = opendata.read_csv(path)
            assert path.read_bytes().startswith(b"\xef\xbb\xbf") and len(rows) >= 2, href
            assert len({len(r) for r in rows}) == 1, href  # a header and rows of the same width
            figures += 1
    page.close()
    assert compared >= 4 and figures >= 1


def test_axe_finds_no_serious_or_critical_violation(crawl, browser):
    from axe_playwright_python.sync_playwright import Axe

    context, _ = browser
    axe = Axe()
    page = context.new_page()
    problems = []
    for url in crawl["pages"]:
        for viewport in (DESKTOP, PHONE):
            page.set_viewport_size(viewport)
            page.goto(url)
            results = axe.run(page, options={"resultTypes": ["violations"],
                                             "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a",
                                                                                   "wcag21aa", "best-practice"]}})
            for violation in results.response["violations"]:
                if violation["impact"] in ("serious", "critical"):
                    targets = [n["target"] for n in violation["nodes"][:3]]
                    problems.append(f"{url} @{viewport['width']}: {violation['id']} ({violation['impact']}) {targets}")
    page.close()
    assert problems == [], "\n".join(problems)


def test_keyboard_reaches_the_skip_link_first_and_it_moves_focus_to_the_content(crawl, browser):
    context, _ = browser
    page = context.new_page()
    for url in crawl["pages"]:
        page.goto(url)
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.getAttribute('href')") == "#noi-dung", url
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle + ' ' + "
                                "getComputedStyle(document.activeElement).top")
        assert not outline.endswith("-64px"), f"{url}: liên kết bỏ qua không hiện khi được chọn"
        page.keyboard.press("Enter")
        assert page.evaluate("location.hash") == "#noi-dung"
    page.close()


def test_published_files_are_world_readable_and_nothing_internal(site):
    for path in [site.out, *site.out.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        assert mode == (0o755 if path.is_dir() else 0o644), (path, oct(mode))
        assert path.suffix in ("", ".html", ".css", ".svg", ".png", ".pdf", ".docx", ".csv", ".xlsx"), path
        assert not path.name.startswith(".") and "kiem-tra-so-lieu" not in path.name, path
    for path in site.out.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert "<script" not in text.lower() and "http://" not in text and "https://" not in text, path
        assert 'lang="vi"' in text and "Content-Security-Policy" in text, path
