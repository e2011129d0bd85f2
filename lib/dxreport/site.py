"""`dxreport site`: the static site the province publishes on its DX portal.

    <out>/index.html                          home: provinces, latest report first
    <out>/site.css, bieu-tuong.svg            the one stylesheet, the icon
    <out>/<tỉnh>/index.html                   every period, newest first, status, date, downloads
    <out>/<tỉnh>/xu-huong.html                key indicators across the periods, with targets
    <out>/<tỉnh>/xu-huong/*.svg               their charts
    <out>/<tỉnh>/<kỳ>/index.html              the report, made for a screen
    <out>/<tỉnh>/<kỳ>/bao-cao.pdf|.docx       the downloads
    <out>/<tỉnh>/<kỳ>/hinh/*.png              the report's figures as files
    <out>/<tỉnh>/<kỳ>/du-lieu/index.html      open data: each table as CSV, one XLSX, a dictionary

Each report comes from `build.build()` (unchanged reports are reused by key). The site is
written into a staging folder beside `--out` and swapped in whole, so a failed site build leaves
the previous site as it was. Only files the site itself writes are published (an allow-list):
no notebooks, build manifests, locks, logs or check sheets. Every link is relative, pages load
nothing from another host (a Content-Security-Policy forbids it, and scripts), files are 0644
and folders 0755. Every string from the data or the report is HTML-escaped through `_esc`.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import json
import os
import re
import shutil
import struct
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from string import Template
from typing import Callable

from . import periods
from .errors import DxreportError
from .files import known_provinces
from .display import DATA_ATTR, decode_figure_data
from .paths import OUTPUT_NAME, TEMPLATES_DIR, project, resolve_data_dir

CSS_NAME = "site.css"
ICON_NAME = "bieu-tuong.svg"
DATA_FOLDER = "du-lieu"
FIGURE_FOLDER = "hinh"
XLSX_NAME = "bang-so-lieu.xlsx"
TREND_PAGE = "xu-huong.html"
DRAFT = "DỰ THẢO"
FINAL = "Chính thức"
PUBLISHED_SUFFIXES = {".html", ".css", ".svg", ".png", ".pdf", ".docx", ".csv", ".xlsx"}
INTERNAL = re.compile(r"(\.ipynb$|\.lock$|\.log$|^build\.json$|^kiem-tra-so-lieu\.|^\.)")
KIND_ORDER = {"year": 0, "half": 1, "quarter": 2, "month": 3}
ICON_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
            '<rect width="16" height="16" rx="3" fill="#1f4e8c"/>'
            '<path d="M4 12V7h2v5zm3 0V4h2v8zm3 0V9h2v3z" fill="#fff"/></svg>\n')


class SiteError(DxreportError):
    """A site that cannot be built where it was asked (unsafe --out, no report to publish)."""


def _esc(text) -> str:
    """Every string from data or a report, as HTML text or attribute value (one place to swap)."""
    return html.escape(str(text), quote=True)


# --------------------------------------------------------------------------------------------
# What to build


def default_periods(data_dir: Path, province: str, today: date | None = None) -> list[periods.Period]:
    """Quarters and years that hold at least one observation of the province, never a period
    that ends after `today`; oldest first."""
    today = today or date.today()
    found: dict[str, periods.Period] = {}
    path = data_dir / "observations.csv"
    if path.exists():
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                if row.get("province") != province:
                    continue
                try:
                    day = date.fromisoformat((row.get("as_of") or "").strip())
                except ValueError:
                    continue  # the validator reports it
                for period in (periods.quarter_of(day), periods.parse(str(day.year))):
                    if period.end <= today:
                        found[period.code] = period
    return sorted(found.values(), key=_chronological)


def _chronological(period: periods.Period):
    return (period.end, -KIND_ORDER.get(period.kind, 9))


def _newest_first(period: periods.Period):
    return (-period.end.toordinal(), KIND_ORDER.get(period.kind, 9))


def check_out_dir(out: Path, root: Path, data_dir: Path) -> Path:
    """Refuse an --out whose swap would replace the project, its data, its reports or any
    folder that is not a site already."""
    out = out.resolve()
    outputs = (root / "outputs").resolve()
    guarded = {"thư mục dự án": root.resolve(), "thư mục dữ liệu": data_dir.resolve(), "thư mục outputs/": outputs,
               "thư mục notebooks/": (root / "notebooks").resolve(), "thư mục lib/": (root / "lib").resolve()}
    for what, path in guarded.items():
        if out == path or path.is_relative_to(out):
            raise SiteError(f"Không thể ghi trang vào {out}: thư mục này là hoặc chứa {what} ({path}). "
                            "Hãy chọn một thư mục riêng cho trang, ví dụ outputs/site.")
        if what != "thư mục outputs/" and what != "thư mục dự án" and out.is_relative_to(path):
            raise SiteError(f"Không thể ghi trang vào {out}: thư mục này nằm trong {what} ({path}).")
    if out.is_relative_to(outputs) and out.parent != outputs:
        raise SiteError(f"Không thể ghi trang vào {out}: trong outputs/ chỉ dùng được một thư mục cấp một, "
                        "ví dụ outputs/site (các thư mục khác chứa báo cáo đã dựng).")
    if out.is_relative_to(outputs) and out.name in {".cache"} | set(known_provinces(data_dir)):
        raise SiteError(f"Không thể ghi trang vào {out}: thư mục này chứa báo cáo đã dựng hoặc bộ nhớ đệm.")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not is_site(out))):
        raise SiteError(f"Không thể ghi trang vào {out}: thư mục đã có nội dung khác (không phải trang đã dựng "
                        "trước đây). Hãy chọn một thư mục trống hoặc chưa có.")
    return out


def is_site(folder: Path) -> bool:
    """A folder this command wrote before (it may be replaced)."""
    return (folder / "index.html").is_file() and (folder / CSS_NAME).is_file()


# --------------------------------------------------------------------------------------------
# One built report


@dataclass
class Report:
    province: str
    province_name: str
    period: periods.Period
    source_dir: Path  # outputs/<tỉnh>/<kỳ>
    draft: bool = True
    built: date | None = None
    skipped: bool = False
    tables: int = 0
    figures: int = 0

    @property
    def href(self) -> str:
        """Relative to the province folder."""
        return f"{self.period.code}/index.html"

    @property
    def status(self) -> str:
        return DRAFT if self.draft else FINAL


def report_status(out_dir: Path, result=None) -> tuple[bool, date | None]:
    """(draft, date) of a built report: from the build result or its manifest when they say
    so; a report whose status nobody recorded is a draft. The date is the manifest's, else the
    day the HTML was written."""
    try:
        manifest = json.loads((out_dir / "build.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    draft = None
    for source in (manifest, vars(result) if result is not None and hasattr(result, "__dict__") else {}):
        if "draft" in source and source["draft"] is not None:
            draft = bool(source["draft"])
        if "final" in source and source["final"] is not None:
            draft = not bool(source["final"])
        status = str(source.get("status") or "").strip().lower()
        if status in ("final", "chinh-thuc", "chính thức", "official"):
            draft = False
        elif status in ("draft", "du-thao", "dự thảo"):
            draft = True
    when = None
    for key in ("date", "issued", "built", "built_at"):
        value = manifest.get(key)
        if value:
            try:
                when = datetime.fromisoformat(str(value)).date()
                break
            except ValueError:
                continue
    if when is None:
        html_path = out_dir / f"{OUTPUT_NAME}.html"
        if html_path.exists():
            when = date.fromtimestamp(html_path.stat().st_mtime)
    return (True if draft is None else draft), when


# --------------------------------------------------------------------------------------------
# Page shell


_SHELL = None


def _shell() -> Template:
    global _SHELL
    if _SHELL is None:
        _SHELL = Template((TEMPLATES_DIR / "site.html").read_text(encoding="utf-8"))
    return _SHELL


def page(title: str, body: str, depth: int, crumbs: list[tuple[str, str | None]], kind: str = "",
         tools: str = "") -> str:
    """A whole page. `crumbs` are (text, href relative to the site root or None for this page);
    `body` is HTML already escaped, holding the <main id="noi-dung">."""
    base = "../" * depth
    items = []
    for text, href in crumbs:
        if href is None:
            items.append(f'<li><span aria-current="page">{_esc(text)}</span></li>')
        else:
            items.append(f'<li><a href="{_esc(base + href)}">{_esc(text)}</a></li>')
    return _shell().substitute(
        title=_esc(title), base=base, kind=_esc(kind), breadcrumbs=f"<ol>{''.join(items)}</ol>",
        tools=tools, body=body)


def _cap(text: str) -> str:
    """'quý III năm 2023' -> 'Quý III năm 2023' (str.capitalize would lower the rest)."""
    return text[:1].upper() + text[1:]


def _day(value: date | None) -> str:
    from . import fmt

    return fmt.day(value) if value else "—"


def _badge(report: Report) -> str:
    cls = "nhan du-thao" if report.draft else "nhan chinh-thuc"
    return f'<span class="{cls}">{_esc(report.status)}</span>'


# --------------------------------------------------------------------------------------------
# Home and province pages


def home_page(provinces: list[tuple[str, str, list[Report]]]) -> str:
    """provinces: (slug, name, reports newest first), ordered by newest report."""
    cards = []
    for slug, name, reports in provinces:
        latest = reports[0]
        cards.append(
            f'<li class="the">\n<h2><a href="{_esc(slug)}/index.html">Tỉnh {_esc(name)}</a></h2>\n'
            f'<p>Báo cáo mới nhất: <a href="{_esc(slug)}/{_esc(latest.href)}">'
            f'{_esc(_cap(latest.period.label_vi))}</a> {_badge(latest)}</p>\n'
            f'<p>Số liệu tính đến ngày {_esc(_day(latest.period.end))}.</p>\n'
            f'<ul class="lien-ket">\n<li><a href="{_esc(slug)}/index.html">Tất cả {len(reports)} kỳ báo cáo'
            f'<span class="an"> của tỉnh {_esc(name)}</span></a></li>\n'
            f'<li><a href="{_esc(slug)}/{TREND_PAGE}">Xu hướng các chỉ tiêu chính'
            f'<span class="an"> của tỉnh {_esc(name)}</span></a></li>\n</ul>\n</li>')
    body = ('<main id="noi-dung" tabindex="-1">\n<h1>Báo cáo chuyển đổi số cấp tỉnh</h1>\n'
            '<p class="dan">Báo cáo kết quả chuyển đổi số của từng tỉnh theo kỳ, đọc trực tuyến hoặc tải về '
            'dạng PDF, DOCX, kèm dữ liệu mở (CSV, XLSX) của mọi bảng số liệu.</p>\n'
            f'<ul class="danh-sach-the">\n{chr(10).join(cards)}\n</ul>\n</main>')
    return page("Báo cáo chuyển đổi số cấp tỉnh", body, 0, [("Trang chủ", None)], "trang-chu")


def _card_table(caption_id: str, caption: str, columns: list[str], rows: list[tuple[str, str, list[tuple[str, str]]]]) -> str:
    """A table of links that a phone shows as one block per row (site.css `.bang-the`), each
    cell under its column's name (`data-nhan`, from `columns`). `rows`: (row header's class,
    its HTML, [(cell's class, its HTML) for the other columns]). Roles are written out: a
    stacked table would otherwise lose its semantics in some browsers."""
    def cls(name: str) -> str:
        return f' class="{name}"' if name else ""

    head = "".join(f'<th scope="col" role="columnheader">{_esc(c)}</th>' for c in columns)
    body = "\n".join(
        f'<tr role="row"><th scope="row" role="rowheader"{cls(th_class)}>{th_html}</th>'
        + "".join(f'<td role="cell"{cls(td_class)} data-nhan="{_esc(label)}">{td_html}</td>'
                  for label, (td_class, td_html) in zip(columns[1:], cells)) + "</tr>"
        for th_class, th_html, cells in rows)
    return (f'<div class="bang-cuon" role="region" tabindex="0" aria-labelledby="{caption_id}">\n'
            f'<table class="bang-the" role="table">\n<caption id="{caption_id}">{_esc(caption)}</caption>\n'
            f'<thead role="rowgroup"><tr role="row">{head}</tr></thead>\n'
            f'<tbody role="rowgroup">\n{body}\n</tbody>\n</table>\n</div>')


def province_page(slug: str, name: str, reports: list[Report]) -> str:
    rows = []
    for r in reports:
        label = r.period.label_vi
        hidden = f'<span class="an"> {_esc(label)}</span>'
        rows.append(("", f'<a href="{_esc(r.href)}">{_esc(_cap(label))}</a>', [
            ("", _badge(r)), ("", _esc(_day(r.period.end))), ("", _esc(_day(r.built))),
            ("tai-ve", f'<a href="{_esc(r.href)}">HTML{hidden}</a> '
                       f'<a href="{_esc(r.period.code)}/{OUTPUT_NAME}.pdf">PDF{hidden}</a> '
                       f'<a href="{_esc(r.period.code)}/{OUTPUT_NAME}.docx">DOCX{hidden}</a> '
                       f'<a href="{_esc(r.period.code)}/{DATA_FOLDER}/index.html">Dữ liệu mở{hidden}</a>')]))
    table = _card_table("bang-ky", "Các kỳ báo cáo, mới nhất trước",
                        ["Kỳ báo cáo", "Trạng thái", "Số liệu tính đến", "Ngày lập", "Tải về"], rows)
    body = (f'<main id="noi-dung" tabindex="-1">\n<h1>Báo cáo chuyển đổi số tỉnh {_esc(name)}</h1>\n'
            f'<p class="dan">{len(reports)} kỳ báo cáo, mới nhất trước. Báo cáo “{DRAFT}” chưa được phê duyệt '
            'chính thức. <a href="' + TREND_PAGE + '">Xem xu hướng các chỉ tiêu chính qua các kỳ</a>.</p>\n'
            f'{table}\n</main>')
    return page(f"Báo cáo chuyển đổi số tỉnh {name}", body, 1,
                [("Trang chủ", "index.html"), (f"Tỉnh {name}", None)], "trang-tinh")


# --------------------------------------------------------------------------------------------
# The report page


@dataclass
class ScreenReport:
    html: str
    images: dict[str, bytes] = field(default_factory=dict)  # file name under hinh/ -> bytes
    figures: list[tuple[str, str]] = field(default_factory=list)  # (file name, alt text)
    figure_tables: dict = field(default_factory=dict)  # file name -> opendata.ReportTable of its data


_ALIGN = re.compile(r"text-align:\s*(right|center)")
_DATA_URI = re.compile(r"^data:image/(png|svg\+xml|jpeg);base64,(.*)$", re.S)
# a figure's data URI as an image's source (text cannot hold ` src="`: pandoc writes `&quot;`)
_SRC_DATA_URI = re.compile(r'(?<=\ssrc=")data:image/(?:png|svg\+xml|jpeg);base64,[A-Za-z0-9+/=\s]+(?=")')
_BLOB = "hinh-tam-"  # stands for a figure's data URI while the page is parsed


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    return None


def _text(element) -> str:
    """An element's text with its whitespace collapsed (what a screen reader says)."""
    return " ".join(" ".join(element.itertext()).split())


_URI_ATTRS = ("href", "src")


def _inner_html(element) -> str:
    """An element's content as HTML: its text, then each child with the text after it.

    libxml2 percent-encodes non-ASCII characters in links when it writes HTML (`#kết-quả`
    becomes `#k%E1%BA%BFt-qu%E1%BA%A3`); the addresses are written back as they were read."""
    import secrets

    from lxml import html as lxml_html

    nonce, kept = secrets.token_hex(8), {}
    for child in element.iter():
        for attr in _URI_ATTRS:
            value = child.get(attr)
            if value is not None and not value.isascii():
                token = f"dxreport-uri-{nonce}-{len(kept)}"
                kept[token] = value
                child.set(attr, token)
    text = html.escape(element.text or "", quote=False) + "".join(
        lxml_html.tostring(child, encoding="unicode", method="html", with_tail=True) for child in element)
    for token, value in kept.items():
        text = text.replace(f'="{token}"', f'="{html.escape(value)}"', 1)
    for child in element.iter():  # the tree is left as it was
        for attr in _URI_ATTRS:
            value = child.get(attr)
            if value is not None and value in kept:
                child.set(attr, kept[value])
    return text


def _detach(element) -> None:
    """Take `element` out of the tree; the text after it stays where it was."""
    parent = element.getparent()
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    element.tail = None
    parent.remove(element)


def _enlargeable(img) -> None:
    """Put a figure inside a link to its own file: on a phone the page shows a chart at a third
    of its size, and the reader opens it whole to zoom. The link is named by the image's alt
    text, which says what the figure shows."""
    from lxml import html as lxml_html

    link = lxml_html.Element("a", {"href": img.get("src"), "class": "phong-to"})
    link.tail, img.tail = img.tail, None
    img.addprevious(link)
    link.append(img)


def _add_class(element, name: str) -> None:
    classes = (element.get("class") or "").split()
    element.set("class", " ".join([*classes, name]))


def _toc_from_headings(body):
    """A nav of the report's level-1 and level-2 headings (parts I–IV and appendices, chapters),
    or None when the report has no headings with ids."""
    from lxml import etree

    nav = etree.Element("nav")
    top = etree.SubElement(nav, "ul")
    current = None
    for heading in body.iter("h1", "h2"):
        if not heading.get("id"):
            continue
        item = etree.Element("li")
        link = etree.SubElement(item, "a", href=f"#{heading.get('id')}")
        link.text = _text(heading)
        if heading.tag == "h1" or current is None:
            top.append(item)
            current = item
        else:
            sub = current.find("ul")
            if sub is None:
                sub = etree.SubElement(current, "ul")
            sub.append(item)
    return nav if len(top) else None


def screen_report(report_html: str, report: Report, sources: dict[str, str] | None = None) -> ScreenReport:
    """The built report's HTML made for a screen: the site's own head (no inline style, no
    script), a header with the downloads, a skip link, a side table of contents on wide screens,
    tables that scroll in their own box with `scope` on every header cell, figures as files.

    The page is read with lxml's HTML parser and changed in place: a report page is a few
    hundred kilobytes and a site has many, and a pure-Python tree cost ten times as much."""
    from lxml import etree
    from lxml import html as lxml_html

    # The figures' bytes (data URIs, most of the page) are set aside before the page is parsed
    # and taken back by their images below: the parser need not walk through them.
    blobs: dict[str, str] = {}

    def set_aside(match: re.Match) -> str:
        key = f"{_BLOB}{len(blobs)}"
        blobs[key] = match.group(0)
        return key

    parser = lxml_html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    doc = lxml_html.document_fromstring(_SRC_DATA_URI.sub(set_aside, report_html).encode("utf-8"), parser=parser)
    body = doc.find("body")
    if body is None:
        body = doc
    etree.strip_elements(body, "script", "style", "link", "meta", "noscript", "iframe", "object", "embed",
                         "base", "form", "input", "button", "textarea", "select", with_tail=False)
    title_block = body.find(".//header[@id='title-block-header']")
    if title_block is not None:
        _detach(title_block)
    toc = body.find(".//nav[@id='TOC']")
    if toc is not None:
        _detach(toc)
    else:  # the official form has no table of contents: one is made from the parts and chapters
        toc = _toc_from_headings(body)

    for tag in list(body.iterdescendants(etree.Element)):
        style = tag.attrib.pop("style", None)
        if style:
            align = _ALIGN.search(style)
            if align:
                _add_class(tag, {"right": "can-phai", "center": "can-giua"}[align.group(1)])
        for attr in [a for a in tag.attrib if a.lower().startswith("on") or a in ("width", "height", "align")]:
            del tag.attrib[attr]
        if tag.tag == "a":
            href = tag.get("href", "")
            if href and not href.startswith("#"):
                tag.drop_tag()  # nothing leaves the site; the address stays as text

    for colgroup in list(body.iter("colgroup")):
        _detach(colgroup)
    # the printed report's own draft banner: the page says it once, in its notice and badge
    for banner in body.xpath(".//div[contains(concat(' ', normalize-space(@class), ' '), ' du-thao ')]"):
        _detach(banner)

    for n, table in enumerate(list(body.iter("table")), start=1):
        if next(table.iterancestors("table"), None) is not None:
            continue
        for th in table.iter("th"):
            if not th.get("scope"):
                th.set("scope", "col" if next(th.iterancestors("thead"), None) is not None else "row")
        for tr in table.iter("tr"):
            if next(tr.iterancestors("thead"), None) is not None:
                continue
            first = next(tr.iter("td", "th"), None)
            if first is not None and first.tag == "td" and "can-phai" not in (first.get("class") or "").split():
                first.tag = "th"  # the label of the row
                first.set("scope", "row")
        caption = next(table.iter("caption"), None)
        wrapper = etree.Element("div")
        wrapper.set("class", "bang-cuon")
        wrapper.set("role", "region")
        wrapper.set("tabindex", "0")
        if caption is not None:
            caption.set("id", caption.get("id") or f"bang-{n}")
            wrapper.set("aria-labelledby", caption.get("id"))
        else:
            wrapper.set("aria-label", f"Bảng {n}")
        wrapper.tail, table.tail = table.tail, None
        table.getparent().replace(table, wrapper)
        wrapper.append(table)

    result = ScreenReport("")
    for img in list(body.iter("img")):
        src = blobs.get(img.get("src", ""), img.get("src", ""))
        match = _DATA_URI.match(src)
        if match:
            raw = base64.b64decode(match.group(2))
            ext = {"png": "png", "svg+xml": "svg", "jpeg": "jpg"}[match.group(1)]
            name = f"{hashlib.sha256(raw).hexdigest()[:16]}.{ext}"
            result.images[name] = raw
            img.set("src", f"{FIGURE_FOLDER}/{name}")
            size = _png_size(raw)
            if size:
                img.set("width", str(size[0]))
                img.set("height", str(size[1]))
        elif src and not src.startswith(f"{FIGURE_FOLDER}/"):
            _detach(img)  # an image from elsewhere is never loaded
            continue
        for attr in ("role", "aria-label"):
            img.attrib.pop(attr, None)
        figure = next(img.iterancestors("figure"), None)
        caption = next(figure.iter("figcaption"), None) if figure is not None else None
        caption_text = _text(caption) if caption is not None else ""
        shown = decode_figure_data(img.attrib.pop(DATA_ATTR, "") or "")  # goes to open data, not the page
        if shown is not None and caption is not None:
            from .opendata import ReportTable

            result.figure_tables[img.get("src").split("/")[-1]] = ReportTable(
                len(result.figure_tables) + 1, caption_text, [shown["header"], *shown["rows"]], 1, shown["source"])
        alt = " ".join(img.get("alt", "").split())
        if not alt and caption is not None:
            alt = caption_text
        img.set("alt", alt or "Hình minh họa của báo cáo")
        if caption is not None and caption_text == img.get("alt"):
            caption.set("aria-hidden", "true")  # the alt text already says it
        elif caption is not None:
            caption.attrib.pop("aria-hidden", None)
        img.set("loading", "lazy")
        if next(img.iterancestors("a"), None) is None:
            _enlargeable(img)
        result.figures.append((img.get("src").split("/")[-1], img.get("alt")))

    title_element = doc.find(".//title")
    page_title = _text(title_element) if title_element is not None else ""
    title_html = _inner_html(title_block) if title_block is not None else \
        f'<h1 class="title">{_esc(_cap(page_title) if page_title else report.period.label_vi)}</h1>'
    # The official form names itself under its header block ("BÁO CÁO", then the abstract): that
    # is the page's heading, not a second title above the document saying the same.
    kind = body.find(".//p[@class='loai-van-ban']")
    abstract = body.find(".//p[@class='trich-yeu']")
    if kind is not None and abstract is not None and title_block is None:
        document_title = etree.Element("h1")
        document_title.set("class", "van-ban")
        for part in (kind, abstract):
            span = etree.SubElement(document_title, "span")
            span.set("class", part.get("class"))
            span.text = _text(part)
        document_title.tail, kind.tail = kind.tail, None
        kind.getparent().replace(kind, document_title)
        _detach(abstract)
        title_html = ""
    toc_side, toc_small = "", ""
    if toc is not None:
        heading = next(toc.iter("h2", "h1"), None)
        if heading is not None:
            _detach(heading)
        for a in toc.iter("a"):
            a.attrib.pop("id", None)
        links = _inner_html(toc).strip()
        toc_side = (f'<nav class="muc-luc-ben" aria-labelledby="muc-luc-ben">\n'
                    f'<h2 id="muc-luc-ben">Mục lục</h2>\n{links}\n</nav>')
        toc_small = (f'<details class="muc-luc-gon">\n<summary>Mục lục</summary>\n'
                     f'<nav aria-label="Mục lục (màn hình hẹp)">\n{links}\n</nav>\n</details>')

    tools = (f'<nav class="tai-ve-dau" aria-label="Tải báo cáo">\n{_badge(report)}\n<ul>\n'
             f'<li><a href="{OUTPUT_NAME}.pdf">Tải PDF</a></li>\n'
             f'<li><a href="{OUTPUT_NAME}.docx">Tải DOCX</a></li>\n'
             f'<li><a href="{DATA_FOLDER}/index.html">Dữ liệu mở (CSV, XLSX)</a></li>\n</ul>\n</nav>')
    content = _inner_html(body).strip()
    draft_note = (f'<p class="ghi-chu-du-thao"><strong>{DRAFT}</strong>: báo cáo chưa được phê duyệt chính thức; '
                  'số liệu và nội dung có thể còn thay đổi.</p>\n') if report.draft else ""
    body_html = (f'{toc_small}\n<div class="bo-cuc">\n{toc_side}\n'
                 f'<main id="noi-dung" tabindex="-1" class="bao-cao">\n'
                 + (f'<header id="title-block-header">\n{title_html}\n</header>\n' if title_html else "")
                 + f'{draft_note}{content}\n</main>\n</div>')
    title = page_title or report.period.label_vi
    result.html = page(title, body_html, 2,
                       [("Trang chủ", "index.html"), (f"Tỉnh {report.province_name}", f"{report.province}/index.html"),
                        (_cap(report.period.label_vi), None)], "trang-bao-cao", tools)
    return result


# --------------------------------------------------------------------------------------------
# Open data


def source_titles(source_line: str, sources: list[dict]) -> list[dict]:
    """The sources of sources.csv whose short name the 'Nguồn:' line cites, in order cited."""
    found = []
    for row in sources:
        short = (row.get("short_vi") or "").strip()
        if short and short in source_line:
            found.append((source_line.index(short), row))
    return [row for _, row in sorted(found, key=lambda pair: pair[0])]


def _source_item(row: dict) -> str:
    issued = row.get("issued")
    when = ""
    if issued is not None and str(issued) not in ("", "NaT", "nan", "None"):
        try:
            when = f", {_day(datetime.fromisoformat(str(issued)).date())}"
        except ValueError:
            when = ""
    issuer = f" — {row['issuer']}" if row.get("issuer") else ""
    return f"{row['title_vi']}{issuer}{when}"


def open_data(report: Report, report_page_html: str, figures: list[tuple[str, str]], sources: list[dict],
              folder: Path, figure_tables: dict | None = None) -> tuple[str, int]:
    """Write the CSVs (each table, and the data of each figure that carries it), the XLSX and
    return the open-data page (and the number of tables)."""
    from . import opendata

    report_tables = opendata.extract_tables(report_page_html)
    shown_figures = [figure_tables[name] for name, _ in figures if name in (figure_tables or {})]
    tables = report_tables + shown_figures
    names = opendata.file_names(tables)
    figure_csv = {name: names[len(report_tables) + i] for i, name in
                  enumerate(n for n, _ in figures if n in (figure_tables or {}))}
    folder.mkdir(parents=True, exist_ok=True)
    dictionary = [["Tệp", "Bảng", "Cột", "Kiểu", "Đơn vị", "Nguồn"]]
    sections, rows = [], []
    for i, (table, name) in enumerate(zip(tables, names)):
        opendata.write_csv(table, folder / name)
        cited = source_titles(table.source, sources)
        cited_text = "; ".join(_source_item(r) for r in cited) or table.source
        columns = opendata.describe_columns(table)
        for col in columns:
            dictionary.append([name, table.caption, col.name, col.kind, col.unit, cited_text])
        if i < len(report_tables):  # a figure's data is listed with its figure below
            rows.append(("nhan-bang", _esc(table.label), [
                ("noi-dung", _esc(table.title)), ("can-phai", str(len(table.body))),
                ("", f'<a href="{_esc(name)}">{_esc(name)}<span class="an"> ({_esc(table.label)})</span></a>')]))
        col_rows = "\n".join(f'<tr><th scope="row">{_esc(c.name)}</th><td>{_esc(c.kind)}</td>'
                             f'<td>{_esc(c.unit or "—")}</td></tr>' for c in columns)
        src_html = "".join(f"<li>{_esc(_source_item(r))}</li>" for r in cited)
        if not src_html and table.source:
            src_html = f"<li>{_esc(table.source)}</li>"
        anchor = f"tu-dien-{name[:-4]}"
        sections.append(
            f'<section aria-labelledby="{_esc(anchor)}">\n<h3 id="{_esc(anchor)}">{_esc(table.caption)}</h3>\n'
            f'<p>Tệp: <a href="{_esc(name)}">{_esc(name)}</a> · {len(table.body)} dòng số liệu.</p>\n'
            f'<div class="bang-cuon" role="region" tabindex="0" aria-labelledby="{_esc(anchor)}-cot">\n<table>\n'
            f'<caption id="{_esc(anchor)}-cot">Các cột của {_esc(table.label)}</caption>\n'
            '<thead><tr><th scope="col">Cột</th><th scope="col">Kiểu</th><th scope="col">Đơn vị</th></tr></thead>\n'
            f'<tbody>\n{col_rows}\n</tbody>\n</table>\n</div>\n'
            + (f'<p>Nguồn:</p>\n<ul>{src_html}</ul>\n' if src_html else '<p>Nguồn: không ghi.</p>\n')
            + '</section>')
    opendata.write_xlsx(tables, folder / XLSX_NAME, dictionary)
    figure_items = "\n".join(
        f'<li><a href="../{FIGURE_FOLDER}/{_esc(name)}">{_esc(alt)}</a>'
        + (f' · số liệu của hình: <a href="{_esc(figure_csv[name])}">{_esc(figure_csv[name])}</a>' if name in figure_csv else "")
        + '</li>' for name, alt in figures)
    label = report.period.label_vi
    table_list = (_card_table("ds-bang", "Các bảng số liệu của báo cáo", ["Bảng", "Nội dung", "Số dòng", "Tệp CSV"], rows)
                  if rows else "<p>Báo cáo không có bảng số liệu.</p>")
    body = (
        f'<main id="noi-dung" tabindex="-1">\n<h1>Dữ liệu mở: báo cáo {_esc(label)}, tỉnh {_esc(report.province_name)}</h1>\n'
        f'<p class="dan">Mỗi bảng của <a href="../index.html">báo cáo</a>, và số liệu vẽ nên mỗi hình, là một tệp CSV '
        f'(UTF-8 có BOM, phân cách bằng dấu phẩy, mở được bằng Excel); tất cả các bảng, số liệu các hình và từ '
        f'điển dữ liệu nằm trong một tệp '
        f'<a href="{XLSX_NAME}">{XLSX_NAME}</a>. Ô chữ bắt đầu bằng =, +, -, @ được thêm dấu nháy đơn (\') ở đầu '
        'để bảng tính không hiểu nhầm thành công thức; ô là số được giữ là số.</p>\n'
        f'<h2>Các bảng</h2>\n{table_list}\n'
        + (f'<h2>Các hình</h2>\n<ul>\n{figure_items}\n</ul>\n' if figure_items else '')
        + '<h2>Từ điển dữ liệu</h2>\n<p>Với mỗi bảng và mỗi hình: các cột, kiểu (số, ngày hay văn bản), đơn vị và các văn bản nguồn.</p>\n'
        + "\n".join(sections) + '\n</main>')
    html_text = page(f"Dữ liệu mở – báo cáo {label}, tỉnh {report.province_name}", body, 3,
                     [("Trang chủ", "index.html"), (f"Tỉnh {report.province_name}", f"{report.province}/index.html"),
                      (_cap(label), f"{report.province}/{report.period.code}/index.html"),
                      ("Dữ liệu mở", None)], "trang-du-lieu")
    return html_text, len(report_tables)


# --------------------------------------------------------------------------------------------
# Trend page


def _figure_text(obs, indicator_unit: str, count_unit: str) -> str:
    from . import fmt

    if obs is None:
        return fmt.MISSING
    qualifier = f"{obs.qualifier} " if getattr(obs, "qualifier", "") else ""
    if obs.unit == "%" and obs.numerator is not None and obs.denominator:
        rate = obs.rate
        return f"{qualifier}{fmt.percent(round(rate, 2))} ({fmt.ratio(obs.numerator, obs.denominator, count_unit)})"
    if obs.value is not None:
        return qualifier + fmt.with_unit(obs.value, obs.unit or indicator_unit)
    if obs.status:
        return obs.status
    return fmt.MISSING


TREND_FOLDER = "xu-huong"
_NUMERIC_RULES = (">=", ">", "<=", "=")


def _trend_chart(title: str, points: list, unit: str, target: float | None) -> tuple[bytes, str, tuple[int, int]]:
    """A small line chart (SVG) of the distinct figures (date, value), its alt text and size."""
    from . import fmt, svgchart

    said = "; ".join(f"{fmt.day(d)}: {fmt.with_unit(v, unit)}" for d, v in points)
    alt = f"Biểu đồ đường {title}: {said}"
    if target is not None:
        alt += f"; đường nét đứt là mục tiêu {fmt.with_unit(target, unit)}"
    svg = svgchart.line_chart(points, unit, target=target, invert=(unit == "hạng"), title=title)
    return svg.encode("utf-8"), alt + ".", (svgchart.WIDTH, svgchart.HEIGHT)


def _latest_at(rows, ends: list[date]) -> list:
    """The latest observation on or before each date (as `selection.latest`), for one province,
    indicator and breakdown: sorted once and searched, not filtered again for every period."""
    import bisect

    import pandas as pd

    from . import selection

    rows = rows.sort_values("as_of", kind="stable")  # same-day rows keep file order, as selection does
    days = list(rows["as_of"])
    found, made = [], {}
    for end in ends:
        i = bisect.bisect_right(days, pd.Timestamp(end)) - 1
        if i < 0:
            found.append(None)
            continue
        if i not in made:
            made[i] = selection.Obs.from_row(rows.iloc[i])
        found.append(made[i])
    return found


def _period_span(first: periods.Period, last: periods.Period) -> str:
    """A row's periods: one period by its name, consecutive ones as 'Từ … đến …'."""
    if first == last:
        return _cap(first.label_vi)
    # a month's period, "đến hết tháng 10 năm 2023", reads as "tháng 10 năm 2023" in a span
    first_name, last_name = (p.label_vi.removeprefix("đến hết ") for p in (first, last))
    return f"Từ {first_name} đến {last_name}"


def trend_page(data, slug: str, name: str, reports: list[Report]) -> tuple[str, dict[str, bytes]]:
    """Each key indicator of the province (with a target, or reported in two periods or more)
    across the site's periods, oldest first, judged against each of its targets; a small chart
    where two figures or more can be drawn. Returns the page and its chart files."""
    import pandas as pd

    from . import selection

    chosen: dict[date, periods.Period] = {}
    for r in sorted(reports, key=lambda r: _chronological(r.period)):
        chosen.setdefault(r.period.end, r.period)  # a quarter and its year end together: one row
    cols = sorted(chosen.values(), key=_chronological)
    obs = data.observations[data.observations["province"] == slug]
    targets = data.targets[data.targets["province"] == slug]
    indicators = data.indicators.set_index("indicator_id")
    keys: list[tuple[str, str]] = list(dict.fromkeys(zip(targets["indicator_id"], targets["breakdown"])))
    bins = [pd.Timestamp(p.end) for p in cols]
    for indicator_id, rows in obs[obs["breakdown"] == ""].groupby("indicator_id", sort=False):
        seen = {next((i for i, end in enumerate(bins) if day <= end), None) for day in rows["as_of"]}
        seen.discard(None)
        if len(seen) >= 2 and (indicator_id, "") not in keys:
            keys.append((indicator_id, ""))
    # row positions of each (indicator, breakdown): only the keys shown become frames
    by_key = obs.groupby(["indicator_id", "breakdown"], sort=False).indices if len(obs) else {}
    empty = obs.iloc[:0]
    pillar_names = dict(zip(data.pillars["pillar"], data.pillars["name_vi"]))
    pillar_order = dict(zip(data.pillars["pillar"], data.pillars["order"]))
    by_pillar: dict[str, list[str]] = {}
    titles: dict[str, list[tuple[str, str]]] = {}  # pillar -> (anchor, indicator) for the side list
    images: dict[str, bytes] = {}
    count = 0
    for indicator_id, breakdown in keys:
        if indicator_id not in indicators.index:
            continue
        ind = indicators.loc[indicator_id]
        its_targets = targets[(targets["indicator_id"] == indicator_id) & (targets["breakdown"] == breakdown)]
        target_rows = [t for _, t in its_targets.iterrows()]  # once, not once per period
        positions = by_key.get((indicator_id, breakdown))
        latest = _latest_at(empty if positions is None else obs.iloc[positions], [p.end for p in cols])
        if all(x is None for x in latest) and its_targets.empty:
            continue
        count += 1
        anchor = f"chi-tieu-{count}"
        title = ind["name_vi"] + (f" ({breakdown})" if breakdown else "")
        target_items = []
        for i, t in enumerate(target_rows, start=1):
            due = f", hạn {_day(t['target_date'].date())}" if not pd.isna(t["target_date"]) else ""
            target_items.append(f"<li>Mục tiêu {i}: {_esc(t['text_vi'])} ({_esc(t['plan'])}{_esc(due)})</li>")
        head = "".join(f'<th scope="col">Đánh giá theo mục tiêu {i}</th>' for i in range(1, len(its_targets) + 1))
        runs: list[list] = []  # [first period, last period, figure, as-of, verdicts]
        for period, current in zip(cols, latest):
            verdicts = tuple(selection.evaluate_latest(t, current, period.end).status for t in target_rows)
            when = _day(current.as_of) if current is not None else "—"
            text = _figure_text(current, ind["unit"], ind.get("count_unit", "") or "")
            if runs and runs[-1][2:] == [text, when, verdicts]:
                runs[-1][1] = period  # the same figure and verdicts as the period before: one row
            else:
                runs.append([period, period, text, when, verdicts])
        body_rows = [
            f'<tr><th scope="row">{_esc(_period_span(first, last))}</th>'
            f'<td class="can-phai">{_esc(text)}</td><td>{_esc(when)}</td>'
            + "".join(f"<td>{_esc(v)}</td>" for v in verdicts) + "</tr>"
            for first, last, text, when, verdicts in runs]
        chart = ""
        drawn = {(c.as_of, c.number, getattr(c, "precision", None)) for c in latest
                 if c is not None and c.number is not None}
        points = sorted((d, v) for d, v, _ in drawn)
        # figures printed to different precisions are not a trend (data/README.md, precision)
        if len({d for d, _ in points}) >= 2 and len({p for _, _, p in drawn}) == 1:
            numeric = [t for t in target_rows if t["rule"] in _NUMERIC_RULES and not pd.isna(t["value"])]
            target = float(numeric[0]["value"]) if numeric else None
            raw, alt, size = _trend_chart(title, points, ind["unit"], target)
            file_name = f"{anchor}.svg"
            images[file_name] = raw
            # a link to the chart alone, as on the report page: a phone reader opens it whole to zoom
            src = f"{TREND_FOLDER}/{file_name}"
            chart = (f'<figure>\n<a class="phong-to" href="{src}"><img src="{src}" alt="{_esc(alt)}" '
                     f'width="{size[0]}" height="{size[1]}" loading="lazy"></a>\n'
                     f'<figcaption>{_esc(title)}: các số liệu đã công bố'
                     + (", đường nét đứt là mục tiêu" if target is not None else "") + '.</figcaption>\n</figure>\n')
        section = (
            f'<section aria-labelledby="{anchor}">\n<h3 id="{anchor}">{_esc(title)}</h3>\n'
            f'<p>Đơn vị: {_esc(ind["unit"])}.'
            + (" Càng cao càng tốt." if bool(ind["higher_is_better"]) else " Càng thấp càng tốt.") + '</p>\n'
            + (f'<ul class="muc-tieu">\n{chr(10).join(target_items)}\n</ul>\n' if target_items
               else '<p>Chưa có mục tiêu trong các kế hoạch.</p>\n')
            + f'<div class="bang-cuon" role="region" tabindex="0" aria-labelledby="{anchor}-bang">\n<table>\n'
            f'<caption id="{anchor}-bang">{_esc(title)} qua các kỳ báo cáo</caption>\n<thead><tr>'
            '<th scope="col">Kỳ báo cáo</th><th scope="col">Số liệu mới nhất</th><th scope="col">Tính đến ngày</th>'
            f'{head}</tr></thead>\n<tbody>\n{chr(10).join(body_rows)}\n</tbody>\n</table>\n</div>\n{chart}</section>')
        by_pillar.setdefault(ind["pillar"], []).append(section)
        titles.setdefault(ind["pillar"], []).append((anchor, title))
    parts, contents, side = [], [], []
    for pillar in sorted(by_pillar, key=lambda p: (pillar_order.get(p, 99), p)):
        pid = f"tru-cot-{len(parts) + 1}"
        contents.append(f'<li><a href="#{pid}">{_esc(pillar_names.get(pillar, pillar))}</a> '
                        f'({len(by_pillar[pillar])} chỉ tiêu)</li>')
        side.append(f'<li><a href="#{pid}">{_esc(pillar_names.get(pillar, pillar))}</a>\n<ul>\n'
                    + "\n".join(f'<li><a href="#{a}">{_esc(t)}</a></li>' for a, t in titles[pillar]) + "\n</ul></li>")
        parts.append(f'<section aria-labelledby="{pid}">\n<h2 id="{pid}">{_esc(pillar_names.get(pillar, pillar))}</h2>\n'
                     + "\n".join(by_pillar[pillar]) + "\n</section>")
    first, last = (cols[0], cols[-1]) if cols else (None, None)
    span = (f"từ {_esc(first.label_vi)} đến {_esc(last.label_vi)}" if first and first != last
            else _esc(first.label_vi) if first else "")
    body = (f'<main id="noi-dung" tabindex="-1">\n<h1>Xu hướng các chỉ tiêu chính, tỉnh {_esc(name)}</h1>\n'
            f'<p class="dan">{count} chỉ tiêu có mục tiêu hoặc có số liệu ở nhiều kỳ, {span}. Mỗi kỳ ghi số liệu '
            'mới nhất đã công bố tính đến hết kỳ và đánh giá so với từng mục tiêu '
            f'({_esc(selection.MET)} / {_esc(selection.NOT_MET)} / {_esc(selection.NO_DATA)}); các kỳ liền nhau '
            'có cùng số liệu và cùng đánh giá được gộp thành một dòng.</p>\n'
            + (f'<nav aria-label="Các trụ cột"><ul>\n{chr(10).join(contents)}\n</ul></nav>\n' if contents else "")
            + ("\n".join(parts) or "<p>Chưa có chỉ tiêu nào.</p>") + "\n</main>")
    if side:  # a long page: on a wide screen the indicators are listed beside it, as a report's chapters are
        links = "<ul>\n" + "\n".join(side) + "\n</ul>"
        body = (f'<div class="bo-cuc">\n<nav class="muc-luc-ben" aria-labelledby="muc-luc-ben">\n'
                f'<h2 id="muc-luc-ben">Các chỉ tiêu</h2>\n{links}\n</nav>\n{body}\n</div>')
    return page(f"Xu hướng các chỉ tiêu chính – tỉnh {name}", body, 1,
                [("Trang chủ", "index.html"), (f"Tỉnh {name}", f"{slug}/index.html"), ("Xu hướng", None)],
                "trang-xu-huong"), images


# --------------------------------------------------------------------------------------------
# The whole site


@dataclass
class SiteResult:
    out: Path
    reports: list[Report]
    pages: int = 0


def _fix_modes(folder: Path) -> None:
    os.chmod(folder, 0o755)
    for dirpath, dirnames, filenames in os.walk(folder):
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), 0o755)
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), 0o644)


def check_published(folder: Path, secrets: list[str]) -> None:
    """Refuse to publish a file outside the allow-list or a page that names a local path."""
    for path in folder.rglob("*"):
        if path.is_dir():
            continue
        rel = path.relative_to(folder)
        if INTERNAL.search(path.name) or path.suffix.lower() not in PUBLISHED_SUFFIXES:
            raise SiteError(f"Trang không được chứa tệp nội bộ: {rel}")
        if path.suffix in (".html", ".csv", ".css", ".svg"):
            text = path.read_text(encoding="utf-8", errors="replace")
            for secret in secrets:
                if secret and secret in text:
                    raise SiteError(f"Tệp {rel} chứa đường dẫn trên máy này ({secret}); không xuất bản.")


def build_site(provinces: list[str] | None = None, period_codes: list[str] | None = None,
               out: str | Path | None = None, workers: int = 2, root: str | Path | None = None,
               data_dir: str | Path | None = None, progress: bool = False, today: date | None = None,
               log: Callable[[str], None] | None = None) -> SiteResult:
    """Build (or reuse) the report of every period asked and write the site.

    One `build.Batch` serves every period: the kernels start once and run period after period,
    the data is loaded once. A few periods are in flight at a time: while one executes on the
    kernels, the ones before render (`build.RENDERS` at once) and their pages are written into
    the staging folder, so at most 2 + RENDERS reports are ever held in memory, however many
    periods the site has."""
    from . import cache
    from .build import Batch, executes
    from .errors import ProvinceError
    from .files import data_files

    log = log or (lambda _msg: None)
    paths = project(root)
    folder = Path(data_dir).resolve() if data_dir else resolve_data_dir(None, paths.root)
    out_dir = check_out_dir(Path(out) if out else paths.outputs_dir / "site", paths.root, folder)
    known = known_provinces(folder)
    chosen_provinces = list(dict.fromkeys(provinces or known))
    bad = [p for p in chosen_provinces if p not in known]
    if bad:
        raise ProvinceError(f"Tỉnh {', '.join(map(repr, bad))} không hợp lệ. Các tỉnh hợp lệ: {', '.join(known) or '(chưa có)'}.")
    today = today or date.today()
    asked = [periods.parse(code) for code in (period_codes or [])]
    future = [p.code for p in asked if p.end > today]
    if future:
        raise SiteError(f"Kỳ {', '.join(future)} chưa kết thúc; trang chỉ xuất bản các kỳ đã kết thúc.")

    plan: list[tuple[str, periods.Period]] = []
    for slug in chosen_provinces:
        wanted = asked or default_periods(folder, slug, today)
        plan += [(slug, p) for p in dict.fromkeys(wanted)]
    with Batch(paths, workers, periods=len(plan)) as batch:
        data_hash = cache.data_hash(data_files(folder))
        starting = bool(plan) and executes(paths, [(slug, p.code) for slug, p in plan], data_hash)
        if starting:
            # the kernels boot (imports, about a second of CPU each) while this process imports
            # pandas and reads and checks the data; they run nothing before a build has validated
            # it. A site whose chapters are all cached starts none.
            batch.pool(data_hash)
            batch.warm_writers()  # pandoc for the renders, also warming up meanwhile
        from .data import load  # pandas: imported while the kernels boot, not before they start

        data = load(folder)
        # What is loaded now (the libraries, the tables) lives as long as the site build: out of
        # the collector's reach, each full collection scans only what the periods make since.
        import gc

        gc.freeze()
        if not plan:
            raise SiteError("Không có kỳ báo cáo nào có số liệu để xuất bản.")
        # A period makes hundreds of thousands of short-lived objects (kernel messages, notebook
        # nodes, page trees), few of them in cycles: the young generation is collected every
        # 10 000 allocations instead of 700, the older ones seldom. Each collection holds the
        # interpreter lock, and with it the threads that answer the kernels (0,17 → 0,08 s a site).
        threshold = gc.get_threshold()
        gc.set_threshold(10_000, 50, 100)
        stop = threading.Event()
        ahead = threading.Thread(target=_ahead, args=(paths, folder, data, plan, data_hash, stop),
                                 name="dxreport-ahead", daemon=True) if starting else None
        if ahead is not None:
            ahead.start()
        try:
            return _build_site(paths, folder, out_dir, data, plan, chosen_provinces, batch, workers, progress, log)
        finally:
            gc.set_threshold(*threshold)
            stop.set()
            if ahead is not None:
                ahead.join()


def _ahead(paths, folder: Path, data, plan, data_hash: str, stop: threading.Event) -> None:
    """While the kernels start: each period's frame and check sheet, at the renders' priority
    (`build.prepare_ahead`). Ahead of time only: a build makes what is missing itself, and
    reports what fails, so nothing is raised from here."""
    from . import cache
    from .build import RENDER_NICE, prepare_ahead
    from .render import _lower_priority

    _lower_priority(RENDER_NICE)
    try:
        prepare_ahead(paths, folder, data, plan, data_hash, cache.code_hash(paths), stop)
    except Exception:  # noqa: BLE001 - see above
        pass


def _build_site(paths, folder: Path, out_dir: Path, data, plan: list[tuple[str, periods.Period]],
                chosen_provinces: list[str], batch, workers: int, progress: bool,
                log: Callable[[str], None]) -> SiteResult:
    from concurrent.futures import ThreadPoolExecutor

    from .build import RENDERS, build
    from .paths import FORMATS

    writer = SiteWriter(data, out_dir, secrets=[str(paths.root), str(folder)], lock_dir=paths.cache_dir)

    def one(index: int, slug: str, period: periods.Period) -> Report:
        result = build(slug, period.code, formats=FORMATS, engine="pandoc", data_dir=str(folder),
                       workers=workers, progress=progress, root=paths.root, batch=batch)
        if result.skipped:
            batch.executed()  # reused whole: it will not run chapters
        draft, built = report_status(result.out_dir, result)
        report = Report(slug, data.province_name(slug), period, result.out_dir, draft, built, result.skipped)
        writer.add(report)
        log(f"[{index}/{len(plan)}] {slug} {period.code}" + (" (dùng lại)" if result.skipped else ""))
        return report

    names = {slug: data.province_name(slug) for slug in chosen_provinces}

    with writer, ThreadPoolExecutor(max_workers=2 + RENDERS) as pipeline:
        # the trend pages need only the data and the periods, known now: written while the kernels
        # finish starting
        trends = pipeline.submit(writer.trends, [Report(slug, names[slug], period, Path()) for slug, period in plan])
        futures = [pipeline.submit(one, i, slug, period) for i, (slug, period) in enumerate(plan, start=1)]
        try:
            reports = [f.result() for f in futures]
            trends.result()
        except BaseException:
            for f in futures:
                f.cancel()
            batch.abort()  # a failed period or Ctrl-C: the kernels stop now, the other thread soon after
            raise
        pages = writer.finish(reports)
    return SiteResult(out_dir, reports, pages)


@contextmanager
def _site_lock(path: Path):
    """One site build at a time per --out; a second one waits, then fails in Vietnamese."""
    from filelock import FileLock, Timeout

    from .publish import LOCK_TIMEOUT

    try:
        with FileLock(str(path)).acquire(timeout=LOCK_TIMEOUT):
            yield
    except Timeout:
        raise SiteError(f"Một lần dựng trang khác vào cùng thư mục đang chạy quá {LOCK_TIMEOUT} giây.") from None


class SiteWriter:
    """Writes a site into a staging folder beside `out_dir` and swaps it in whole: `add()` each
    report's folder as soon as it is built (thread-safe: each report writes its own folder), then
    `finish()` the province, trend and home pages. Leaving the `with` block without `finish()`
    (an error, Ctrl-C) removes the staging folder; the previous site stays as it was. The lock
    that keeps two site builds apart lives in `lock_dir` (the project's cache), not beside the
    site, where a web server might serve it."""

    def __init__(self, data, out_dir: Path, secrets: list[str] | None = None, lock_dir: Path | None = None):
        self.data, self.out_dir = data, out_dir
        self.sources = data.sources.to_dict("records")
        self.secrets = list(secrets or [])
        home = str(Path.home())
        if len(home) > 5:
            self.secrets.append(home)
        self.lock_dir = lock_dir or out_dir.parent
        self.pages = 0
        self._count = threading.Lock()
        self._trends_done = False
        self.tmp: Path | None = None
        self._stack = None

    def __enter__(self) -> "SiteWriter":
        from contextlib import ExitStack

        from .publish import staging

        self.lock_dir.mkdir(parents=True, exist_ok=True)
        lock_name = hashlib.sha256(str(self.out_dir.resolve()).encode("utf-8")).hexdigest()[:16]
        with ExitStack() as stack:
            stack.enter_context(_site_lock(self.lock_dir / f"site-{lock_name}.lock"))
            self.tmp = stack.enter_context(staging(self.out_dir))
            self._stack = stack.pop_all()
        return self

    def __exit__(self, *exc) -> None:
        self._stack.__exit__(*exc)

    def add(self, r: Report) -> None:
        """The report's folder: screen page, figures, downloads and open data."""
        target = self.tmp / r.province / r.period.code
        target.mkdir(parents=True)  # the province folder may exist already (trend page)
        for fmt_name in ("pdf", "docx"):
            shutil.copyfile(r.source_dir / f"{OUTPUT_NAME}.{fmt_name}", target / f"{OUTPUT_NAME}.{fmt_name}")
        screen = screen_report((r.source_dir / f"{OUTPUT_NAME}.html").read_text(encoding="utf-8"), r)
        if screen.images:
            (target / FIGURE_FOLDER).mkdir()
            for image_name, raw in screen.images.items():
                (target / FIGURE_FOLDER / image_name).write_bytes(raw)
        (target / "index.html").write_text(screen.html, encoding="utf-8")
        data_html, r.tables = open_data(r, screen.html, screen.figures, self.sources, target / DATA_FOLDER,
                                        screen.figure_tables)
        r.figures = len(screen.figures)
        (target / DATA_FOLDER / "index.html").write_text(data_html, encoding="utf-8")
        with self._count:
            self.pages += 2

    def trends(self, reports: list[Report]) -> None:
        """Each province's trend page and its charts; they depend on the periods only."""
        by_province: dict[str, list[Report]] = {}
        for r in reports:
            by_province.setdefault(r.province, []).append(r)
        for slug, items in by_province.items():
            trend_html, charts = trend_page(self.data, slug, items[0].province_name, items)
            (self.tmp / slug).mkdir(exist_ok=True)
            if charts:
                (self.tmp / slug / TREND_FOLDER).mkdir()
                for chart_name, raw in charts.items():
                    (self.tmp / slug / TREND_FOLDER / chart_name).write_bytes(raw)
            (self.tmp / slug / TREND_PAGE).write_text(trend_html, encoding="utf-8")
            with self._count:
                self.pages += 1
        self._trends_done = True

    def finish(self, reports: list[Report]) -> int:
        """Province, trend and home pages; check what is published; swap in. Returns the page count."""
        from .publish import swap_in

        tmp = self.tmp
        by_province: dict[str, list[Report]] = {}
        for r in reports:
            by_province.setdefault(r.province, []).append(r)
        for slug in by_province:
            by_province[slug].sort(key=lambda r: _newest_first(r.period))
        (tmp / CSS_NAME).write_text("\n".join((TEMPLATES_DIR / name).read_text(encoding="utf-8")
                                             for name in (CSS_NAME, "form.css")), encoding="utf-8")
        (tmp / ICON_NAME).write_text(ICON_SVG, encoding="utf-8")
        if not self._trends_done:
            self.trends(reports)
        for slug, items in by_province.items():
            name = items[0].province_name
            (tmp / slug / "index.html").write_text(province_page(slug, name, items), encoding="utf-8")
            self.pages += 1
        order = sorted(by_province.items(), key=lambda kv: (_newest_first(kv[1][0].period), kv[1][0].province_name))
        (tmp / "index.html").write_text(
            home_page([(slug, items[0].province_name, items) for slug, items in order]), encoding="utf-8")
        self.pages += 1
        check_published(tmp, self.secrets)
        _fix_modes(tmp)
        swap_in(tmp, self.out_dir)
        return self.pages


def write_site(reports: list[Report], data, out_dir: Path, secrets: list[str] | None = None,
               lock_dir: Path | None = None) -> int:
    """Write every page of the site for built `reports` (staged, then swapped in whole; on any
    failure the previous site stays as it was). Returns the page count."""
    with SiteWriter(data, out_dir, secrets, lock_dir) as writer:
        for r in reports:
            writer.add(r)
        return writer.finish(reports)
