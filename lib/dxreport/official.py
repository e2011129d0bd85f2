"""The form and the frame of the report an office signs and sends (Decree 30/2020/NĐ-CP).

Form: the header block (supervising body and issuer on the left, national title and motto on
the right, each with a short rule), "Số: …/BC-…", place and date, "BÁO CÁO" and the abstract
(trích yếu), "Kính gửi", and at the end "Nơi nhận" and the signature block. Each is written as
raw HTML, raw OpenXML (DOCX) and raw typst (PDF) inside one Markdown document, so pandoc keeps
the block of the format it writes and drops the others.

Frame (as the reviews in the sources): I. results (the chapters, numbered 1., 2., … and their
sections 1.1., 1.2., …), II.–IV. the analyst's narrative sections (names configurable per
province), the signature, then the appendices on their own pages, then the list of sources.

Configuration per province: `data/bao-cao/<tỉnh>/cau-hinh.yml` (supervising body, number symbol
per issuer, place, recipients, signer, section names); the period's narrative file
(`story`) overrides what it sets. A report is a draft (DỰ THẢO on every page) while its
narrative is missing, has placeholders, or states a number the data does not hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from . import escape
from . import story as story_mod
from .errors import DxreportError

CONFIG_NAME = "cau-hinh.yml"
DRAFT_MARK = "DỰ THẢO"
NBSP = "\u00a0"
BLANK = NBSP * 8  # the clerk's blank in "Số:" and the office's blanks in the date line

DEFAULT_SECTIONS = (
    ("HẠN CHẾ, NGUYÊN NHÂN", ("han-che", "nguyen-nhan")),
    ("NHIỆM VỤ, GIẢI PHÁP TRONG THỜI GIAN TỚI", ("nhiem-vu",)),
    ("ĐỀ XUẤT, KIẾN NGHỊ", ("kien-nghi",)),
)
ROLES = ("han-che", "nguyen-nhan", "nhiem-vu", "kien-nghi")
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


class ConfigError(DxreportError):
    """A province's report configuration that cannot be used."""


# -- escaping: one local helper per output; swap for dxreport.escape when it lands ---------------

def _typ(text: str) -> str:
    """Text as a typst string literal. Not `escape.typst_string`: that makes one line of any
    whitespace, and the form's blanks ("Số:      /BC-…", "ngày      tháng") are left for the clerk."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- configuration ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class NarrativeSection:
    title: str  # "HẠN CHẾ, NGUYÊN NHÂN"
    roles: tuple[str, ...]


@dataclass
class Document:
    """Everything the form and the frame print, for one province and period."""

    province: str
    period_code: str
    supervisor: str  # "UBND TỈNH NGHỆ AN"
    issuer: str  # "SỞ THÔNG TIN VÀ TRUYỀN THÔNG"
    issuer_full: str  # "Sở Thông tin và Truyền thông tỉnh Nghệ An"
    symbol: str  # "BC-STTTT"
    number: str  # "" leaves the clerk's blank
    place: str  # "Nghệ An"
    year: int
    month: int | None = None
    day: int | None = None
    doc_type: str = "BÁO CÁO"
    abstract: str = ""
    to: list[str] = field(default_factory=list)  # Kính gửi
    recipients: list[str] = field(default_factory=list)  # Nơi nhận
    authority: str = ""  # "KT. GIÁM ĐỐC"
    position: str = ""  # "PHÓ GIÁM ĐỐC"
    signer: str = ""
    results_title: str = "KẾT QUẢ TRIỂN KHAI THỰC HIỆN"
    sections: list[NarrativeSection] = field(default_factory=list)
    story: story_mod.Story | None = None
    remarks: list[story_mod.Remark] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    appendix_title: str = "PHỤ LỤC"

    @property
    def draft(self) -> bool:
        return self.story is None or not self.story.exists or bool(self.remarks)

    @property
    def date_line(self) -> str:
        """'Nghệ An, ngày 05 tháng 10 năm 2023'; blanks where the office fills the day or month."""
        day = f"{self.day:02d}" if self.day else BLANK
        month = (f"{self.month:02d}" if self.month in (1, 2) else str(self.month)) if self.month else BLANK
        return f"{self.place}, ngày {day} tháng {month} năm {self.year}"

    @property
    def number_line(self) -> str:
        return f"Số: {self.number or BLANK}/{self.symbol}"


def config_path(folder: Path, province: str) -> Path:
    return folder / story_mod.NARRATIVE_DIR / province / CONFIG_NAME


def load_config(folder: Path, province: str) -> dict:
    path = config_path(folder, province)
    if not path.exists():
        return {}
    import yaml

    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: không đọc được cấu hình báo cáo: {exc}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: cấu hình báo cáo phải là các cặp 'khóa: giá trị'.")
    return config


def issuer_row(data, province: str, end):
    """The reporting body of `units.csv` as it was on the period's end date (None if none)."""
    import pandas as pd

    units = data.units
    end = pd.Timestamp(end)
    issuers = units[(units["province"] == province) & (units["role"] == "cơ quan báo cáo")]
    valid = issuers[(issuers["valid_from"].isna() | (issuers["valid_from"] <= end))
                    & (issuers["valid_to"].isna() | (issuers["valid_to"] >= end))]
    pick = valid if not valid.empty else issuers.sort_values("valid_from")
    return None if pick.empty else pick.iloc[-1]


def _strip_province(name: str, province_name: str) -> str:
    for suffix in (f" tỉnh {province_name}", f" {province_name}"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _list(value) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, (str, dict)):
        value = [value]
    # "Lưu: VT." unquoted in YAML reads as a mapping: give it back its colon
    return ["; ".join(f"{k}: {v}" for k, v in v.items()) if isinstance(v, dict) else str(v) for v in value]


def _sections(config: dict, path: Path) -> list[NarrativeSection]:
    raw = config.get("muc")
    if not raw:
        return [NarrativeSection(t, r) for t, r in DEFAULT_SECTIONS]
    out = []
    for i, item in enumerate(raw, start=1):
        if not isinstance(item, dict) or not item.get("tieu_de"):
            raise ConfigError(f"{path}: mục thứ {i} trong 'muc' cần 'tieu_de' (và 'noi_dung').")
        roles = tuple(_list(item.get("noi_dung")))
        bad = [r for r in roles if r not in ROLES]
        if bad:
            raise ConfigError(f"{path}: mục {item['tieu_de']!r}: nội dung không hợp lệ {', '.join(bad)}; "
                              f"hợp lệ: {', '.join(ROLES)}.")
        out.append(NarrativeSection(str(item["tieu_de"]).upper(), roles))
    return out


def document(data, province: str, period, folder: Path) -> Document:
    """The form and frame of one report: issuer as of the period's end, the province's
    configuration, the period's narrative file, and the remarks that keep it a draft."""
    name = data.province_name(province)
    config = load_config(folder, province)
    row = issuer_row(data, province, period.end)
    unit_id = row["unit_id"] if row is not None else ""
    issuer_name = row["name_vi"] if row is not None else f"Ủy ban nhân dân tỉnh {name}"
    by_issuer = (config.get("theo_co_quan") or {}).get(unit_id, {}) or {}
    merged = {**config, **by_issuer}
    narrative = story_mod.read(story_mod.path_for(folder, province, period.code))
    merged.update({k: v for k, v in narrative.meta.items() if k in (
        "kinh_gui", "noi_nhan", "quyen_han", "chuc_vu", "nguoi_ky", "so", "ky_hieu", "dia_danh", "trich_yeu")})
    short = _strip_province(issuer_name, name)
    supervisor = merged.get("co_quan_chu_quan", "" if short.startswith(("Ủy ban nhân dân", "UBND")) else f"UBND tỉnh {name}")
    when = narrative.meta.get("ngay")
    doc = Document(
        province=province, period_code=period.code,
        supervisor=str(supervisor).upper(), issuer=short.upper(),
        issuer_full=issuer_name if name in issuer_name else f"{issuer_name} tỉnh {name}",
        symbol=str(merged.get("ky_hieu", "BC-UBND")), number=str(merged.get("so", "") or ""),
        place=str(merged.get("dia_danh", name)), year=period.end.year,
        abstract=str(merged.get("trich_yeu", "Kết quả thực hiện chuyển đổi số {ky}")).format(ky=period.label_vi),
        to=_list(merged.get("kinh_gui")), recipients=_list(merged.get("noi_nhan")),
        authority=str(merged.get("quyen_han", "")), position=str(merged.get("chuc_vu", "")),
        signer=str(merged.get("nguoi_ky", "") or ""),
        results_title=str(merged.get("muc_ket_qua", "KẾT QUẢ TRIỂN KHAI THỰC HIỆN")).upper(),
        sections=_sections(config, config_path(folder, province)), story=narrative,
    )
    if isinstance(when, date):
        doc.year, doc.month, doc.day = when.year, when.month, when.day
    elif narrative.meta.get("thang"):
        doc.month = int(narrative.meta["thang"])
    warning = serif_font_dirs()[2]
    if warning:
        doc.warnings.append(warning)
    if narrative.exists:
        _check_headings(doc, narrative, data)
        doc.remarks = narrative.placeholders() + [r for r in story_mod.check_numbers(
            narrative, story_mod.figures_for(data, province, period.end))]
    return doc


def _check_headings(doc: Document, narrative: story_mod.Story, data) -> None:
    from .chapters import CHAPTERS

    known = {story_mod.key(s.title) for s in doc.sections} | set(story_mod.PREAMBLE_TITLES)
    known |= {story_mod.key(c.title) for c in CHAPTERS}
    for block in narrative.blocks:
        if story_mod.key(block.title) not in known:
            valid = [s.title.capitalize() for s in doc.sections] + ["Mở đầu"] + [c.title for c in CHAPTERS]
            raise story_mod.NarrativeError(
                f"{narrative.path}:{block.line - 1}: tiêu đề '## {block.title}' không khớp mục nào của báo cáo. "
                f"Các tiêu đề hợp lệ: {'; '.join(valid)}.")


# -- the blocks of the form ----------------------------------------------------------------------

def _raw(fmt: str, text: str) -> str:
    """A raw block of the form, in a div with the run's guard token so the guard filter keeps it."""
    from .render import guard_token

    return f'::: {{guard="{guard_token()}"}}\n```{{={fmt}}}\n{text}\n```\n:::\n'



def _w_par(text: str, *, bold=False, italic=False, size=26, align="center", after=0, caps=False,
           border: str | None = None, indent: int = 0) -> str:
    props = [f'<w:jc w:val="{align}"/>', f'<w:spacing w:before="0" w:after="{after}"/>']
    if border:
        props.insert(0, f'<w:pBdr><w:{border} w:val="single" w:sz="6" w:space="1" w:color="000000"/></w:pBdr>')
    if indent:
        props.append(f'<w:ind w:left="{indent}" w:right="{indent}"/>')
    run = ""
    if text:
        rpr = "".join(["<w:b/>" if bold else "", "<w:i/>" if italic else "", "<w:caps/>" if caps else "",
                       f'<w:sz w:val="{size}"/><w:szCs w:val="{size}"/>'])
        run = f'<w:r><w:rPr>{rpr}</w:rPr><w:t xml:space="preserve">{escape.html(text)}</w:t></w:r>'
    return f"<w:p><w:pPr>{''.join(props)}</w:pPr>{run}</w:p>"


def _w_rule(indent: int) -> str:
    """A short horizontal rule: an empty paragraph with a top border, narrowed by its indents."""
    return _w_par("", border="top", indent=indent).replace('w:before="0"', 'w:before="40"')


def _w_table(left: list[str], right: list[str], widths=(4300, 5500)) -> str:
    none = "".join(f'<w:{s} w:val="nil"/>' for s in ("top", "left", "bottom", "right", "insideH", "insideV"))
    grid = "".join(f'<w:gridCol w:w="{w}"/>' for w in widths)
    cells = "".join(f'<w:tc><w:tcPr><w:tcW w:w="{w}" w:type="dxa"/></w:tcPr>{"".join(c) or _w_par("")}</w:tc>'
                    for c, w in zip((left, right), widths))
    return (f'<w:tbl><w:tblPr><w:tblW w:w="{sum(widths)}" w:type="dxa"/><w:tblInd w:w="-225" w:type="dxa"/>'
            f'<w:tblBorders>{none}</w:tblBorders><w:tblLayout w:type="fixed"/>'
            f'<w:tblCellMar><w:left w:w="0" w:type="dxa"/><w:right w:w="0" w:type="dxa"/></w:tblCellMar></w:tblPr>'
            f'<w:tblGrid>{grid}</w:tblGrid>'
            f"<w:tr>{cells}</w:tr></w:tbl>")


def front_matter(doc: Document) -> str:
    """Header block, number, place and date, document type, abstract, Kính gửi; in three formats."""
    return "\n".join([_front_html(doc), _front_openxml(doc), _front_typst(doc)])


def _front_html(doc: Document) -> str:
    e = escape.html
    banner = f'<div class="du-thao">{DRAFT_MARK}</div>\n' if doc.draft else ""
    to = ""
    if doc.to:
        to = '<div class="kinh-gui">Kính gửi: ' + "<br/>".join(e(t) for t in doc.to) + "</div>"
    return _raw("html", (
        f'{banner}<div class="the-thuc">\n<div class="co-quan">'
        + (f'<p class="chu-quan">{e(doc.supervisor)}</p>' if doc.supervisor else "")
        + f'<p class="ban-hanh">{e(doc.issuer)}</p><hr/><p class="so">{e(doc.number_line)}</p></div>\n'
        f'<div class="quoc-hieu"><p class="qh">CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM</p>'
        f'<p class="tieu-ngu">Độc lập - Tự do - Hạnh phúc</p><hr/><p class="dia-danh">{e(doc.date_line)}</p></div>\n</div>\n'
        f'<p class="loai-van-ban">{e(doc.doc_type)}</p>\n<p class="trich-yeu">{e(doc.abstract)}</p>\n'
        f'<hr class="trich-yeu-gach"/>\n{to}'))


def _front_openxml(doc: Document) -> str:
    left = ([_w_par(doc.supervisor, size=24)] if doc.supervisor else []) + [
        _w_par(doc.issuer, bold=True, size=24), _w_rule(1300), _w_par(doc.number_line, size=26)]
    right = [_w_par("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True, size=24),
             _w_par("Độc lập - Tự do - Hạnh phúc", bold=True, size=26), _w_rule(1500),
             _w_par(doc.date_line, italic=True, size=26)]
    parts = [_w_table(left, right), _w_par("", after=240),
             _w_par(doc.doc_type, bold=True, size=28), _w_par(doc.abstract, bold=True, size=28), _w_rule(3500)]
    if doc.to:
        parts.append(_w_par("Kính gửi: " + "; ".join(doc.to), size=28, after=120))
    parts.append(_w_par("", after=120))
    return _raw("openxml", "\n".join(parts))


def _front_typst(doc: Document) -> str:
    left = ([f"#text(size: 12pt, {_typ(doc.supervisor)})"] if doc.supervisor else []) + [
        f'#text(size: 12pt, weight: "bold", {_typ(doc.issuer)})']
    joined = " \\ ".join(left)
    to = ""
    if doc.to:
        to = f'#v(0.6em)\n#align(center)[#text(size: 14pt, {_typ("Kính gửi: " + "; ".join(doc.to))})]\n'
    return _raw("typst", (
        "#set par(justify: false, first-line-indent: 0pt)\n"
        "#grid(columns: (46%, 54%), column-gutter: 0pt, align: center + top,\n"
        f"  [{joined}\n   #v(-0.5em) #line(length: 30%, stroke: 0.5pt) #v(0.1em)\n"
        f"   #text(size: 13pt, {_typ(doc.number_line)})],\n"
        f'  [#text(size: 12pt, weight: "bold", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM") \\ '
        f'#text(size: 13pt, weight: "bold", "Độc lập - Tự do - Hạnh phúc")\n'
        f"   #v(-0.5em) #line(length: 45%, stroke: 0.5pt) #v(0.1em)\n"
        f'   #text(size: 13pt, style: "italic", {_typ(doc.date_line)})],\n)\n'
        f"#v(1.2em)\n#align(center)[#text(size: 14pt, weight: \"bold\", {_typ(doc.doc_type)}) \\ "
        f"#text(size: 14pt, weight: \"bold\", {_typ(doc.abstract)})\n"
        f"#v(0.1em) #line(length: 22%, stroke: 0.5pt)]\n{to}#v(0.8em)\n"
        "#set par(justify: true, first-line-indent: (amount: 1cm, all: true))"))


def back_matter(doc: Document) -> str:
    """Nơi nhận (bottom left) and the signature block (bottom right), in three formats."""
    recipients = doc.recipients or ["Như trên;", "Lưu: VT."]
    e = escape.html
    sign_lines = [x for x in (doc.authority, doc.position) if x]
    html_block = _raw("html", (
        '<div class="ky-ten">\n<div class="noi-nhan"><p class="nhan"><strong><em>Nơi nhận:</em></strong></p><ul>'
        + "".join(f"<li>{e(r)}</li>" for r in recipients) + "</ul></div>\n"
        '<div class="chu-ky">' + "".join(f"<p><strong>{e(x)}</strong></p>" for x in sign_lines)
        + '<p class="cho-ky"></p>' + (f"<p><strong>{e(doc.signer)}</strong></p>" if doc.signer else "")
        + "</div>\n</div>"))
    left = [_w_par("Nơi nhận:", bold=True, italic=True, size=24, align="left")] + [
        _w_par(f"- {r}", size=22, align="left") for r in recipients]
    right = [_w_par(x, bold=True, size=28) for x in sign_lines] + [_w_par("", after=1500)] + (
        [_w_par(doc.signer, bold=True, size=28)] if doc.signer else [])
    docx_block = _raw("openxml", _w_par("", after=240) + _w_table(left, right, (4300, 5050)))
    items = " \\ ".join(f"#{_typ('- ' + r)}" for r in recipients)
    signs = " \\ ".join(f'#text(weight: "bold", {_typ(x)})' for x in sign_lines)
    name = f'\n   #v(5em) #text(weight: "bold", {_typ(doc.signer)})' if doc.signer else "\n   #v(5em)"
    typst_block = _raw("typst", (
        "#v(1em)\n#set par(justify: false, first-line-indent: 0pt)\n#block(breakable: false, grid(columns: (48%, 52%), align: (left + top, center + top),\n"
        f'  [#text(size: 12pt, weight: "bold", style: "italic", "Nơi nhận:") \\ #text(size: 11pt)[{items}]],\n'
        f"  [#text(size: 14pt)[{signs}{name}]],\n))"))
    return "\n".join([html_block, docx_block, typst_block])


def page_break() -> str:
    return "\n".join([_raw("openxml", '<w:p><w:r><w:br w:type="page"/></w:r></w:p>'),
                      _raw("typst", "#pagebreak(weak: true)")])


# -- the frame ---------------------------------------------------------------------------------

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")


def number_chapter(md: str, number: int | None) -> str:
    """A chapter's Markdown placed in part I: '# Hạ tầng số' -> '## 3. Hạ tầng số',
    '## Băng rộng di động' -> '### 3.1. Băng rộng di động'. With `number=None` (the appendix
    chapter) the chapter heading and its intro go, and each '## Phụ lục N. ...' becomes an
    unnumbered level-1 heading on a new page."""
    out, sub, seen_first = [], 0, False
    for line in md.split("\n"):
        match = HEADING.match(line)
        if not match:
            if number is None and not seen_first:
                continue  # the appendix chapter's own heading and intro paragraph
            out.append(line)
            continue
        level, text = len(match.group(1)), match.group(2)
        attrs = ""
        attr = re.search(r"\s*(\{[^}]*\})$", text)
        if attr:
            text, attrs = text[: attr.start()], attr.group(1)
        if number is None:
            if level == 1:
                continue
            if level == 2:
                seen_first = True
                out += [page_break(), f"# {text} {{.unnumbered .phu-luc}}"]
                continue
            out.append(f"{'#' * level} {text} {{.unnumbered}}")
            continue
        if level == 1:
            out.append(f"## {number}. {text}")
        elif level == 2:
            sub += 1
            out.append(f"### {number}.{sub}. {text}")
        else:
            out.append(f"{'#' * min(level + 1, 6)} {text}")
    return "\n".join(out)


def _shift(body: str, by: int) -> str:
    """The analyst's sub-headings moved under the section: '###' -> '##' when by = -1."""
    out = []
    for line in body.split("\n"):
        match = HEADING.match(line)
        if match:
            level = max(2, min(6, len(match.group(1)) + by))
            out.append(f"{'#' * level} {match.group(2)}")
        else:
            out.append(line)
    return "\n".join(out)


def _section_body(doc: Document, section: NarrativeSection) -> str:
    block = doc.story.block(section.title) if doc.story is not None else None
    if block is None or not block.body.strip():
        what = section.title.capitalize()
        return escape.markdown(story_mod.PLACEHOLDER_TEMPLATE.format(
            f"nội dung mục “{what}”; dùng lệnh draft để tạo bản nháp từ số liệu"))
    return _shift(block.body, -1)


def commentary(doc: Document, chapter_title: str) -> str:
    if doc.story is None:
        return ""
    block = doc.story.block(chapter_title)
    return _shift(block.body, 0) if block is not None else ""


def with_commentary(doc: Document, chapter_md: str) -> str:
    """Place the analyst's commentary on a chapter right under the chapter's heading."""
    lines = chapter_md.split("\n")
    for i, line in enumerate(lines):
        match = HEADING.match(line)
        if match and len(match.group(1)) == 2:
            title = re.sub(r"^\d+\.\s+", "", re.sub(r"\s*\{[^}]*\}$", "", match.group(2)))
            extra = commentary(doc, title)
            if extra:
                return "\n".join(lines[: i + 1] + ["", extra, ""] + lines[i + 1:])
            break
    return chapter_md


def preamble(doc: Document) -> str:
    block = doc.story.block(*story_mod.PREAMBLE_TITLES) if doc.story is not None else None
    if block is not None:
        return block.body
    return escape.markdown(f"{doc.issuer_full} báo cáo {doc.abstract[0].lower() + doc.abstract[1:]} như sau:")


def assemble(doc: Document, chapters: list[str], appendix: list[str], sources_markdown: str) -> str:
    """The whole document body: form, preamble, I (chapters), II–IV (narrative), signature,
    appendices on their own pages, list of sources. `chapters` and `appendix` are Markdown
    (or raw blocks standing for them, e.g. typst includes)."""
    parts = [front_matter(doc), preamble(doc), "", f"# I. {escape.markdown(doc.results_title)} {{.unnumbered}}", ""]
    parts += chapters
    for i, section in enumerate(doc.sections, start=2):
        parts += ["", f"# {ROMAN[i - 1]}. {escape.markdown(section.title)} {{.unnumbered}}", "", _section_body(doc, section), ""]
    parts.append(back_matter(doc))
    parts += appendix
    if sources_markdown:
        parts += [page_break(), sources_markdown]
    return "\n\n".join(parts)


# -- DOCX: the draft mark in every page's header -------------------------------------------------

def mark_docx_draft(path: Path) -> None:
    """Write 'DỰ THẢO' into every header of the document (first page and the others)."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    document = docx.Document(str(path))
    for section in document.sections:
        for header in (section.first_page_header, section.header):
            header.is_linked_to_previous = False
            paragraph = header.add_paragraph()
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            run = paragraph.add_run(DRAFT_MARK)
            run.bold, run.font.size, run.font.color.rgb = True, Pt(13), RGBColor(0xC0, 0x00, 0x00)
    document.save(str(path))


def draft_reference(reference: Path, store: Path) -> Path:
    """The reference document with 'DỰ THẢO' in its headers (`mark_docx_draft`), made once per
    reference document and kept in `store` by its bytes: pandoc takes a report's headers from
    its reference, so a draft gets the mark without opening every report it writes."""
    import hashlib
    import os
    import shutil
    import tempfile

    digest = hashlib.sha256(reference.read_bytes() + DRAFT_MARK.encode("utf-8"))
    digest.update(Path(__file__).read_bytes())  # this code marks it
    target = store / f"du-thao-{digest.hexdigest()[:24]}.docx"
    if target.exists():
        return target
    store.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(delete=False, dir=store, prefix=".", suffix=".docx") as handle:
        tmp = Path(handle.name)
    try:
        shutil.copyfile(reference, tmp)
        mark_docx_draft(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _dash_bullets(numbering: str) -> str:
    """Bulleted lists with the dash administrative documents use, not Word's symbol bullets."""
    def dash(match: re.Match) -> str:
        level = match.group(0)
        if '<w:numFmt w:val="bullet"' not in level or 'w:val=" "' in level:
            return level  # not a bullet, or the invisible bullet pandoc uses for block quotes
        level = re.sub(r'<w:lvlText w:val="[^"]*" ?/>', '<w:lvlText w:val="-" />', level)
        return re.sub(r"<w:rFonts [^>]*/>", '<w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" />', level)

    return re.sub(r"<w:lvl .*?</w:lvl>", dash, numbering, flags=re.S)


def _full_width_tables(document: str) -> str:
    """Column widths that add up to the table's width. pandoc marks a table 100 % wide but sizes
    its fixed columns for 5,5 inches of text (7 920 twips); with the decree's margins the text is
    165 mm (9 355 twips). The columns are scaled to the text width of the document's own page, in
    proportion, so a reader laying out the fixed grid and one stretching the table agree."""
    sections = re.findall(r"<w:pgSz [^>]*/>\s*<w:pgMar [^>]*/>", document)
    if not sections:
        return document
    page = re.search(r'w:w="(\d+)"', re.search(r"<w:pgSz [^>]*/>", sections[-1]).group(0))
    margins = re.search(r"<w:pgMar [^>]*/>", sections[-1]).group(0)
    left, right = (re.search(rf'w:{side}="(\d+)"', margins) for side in ("left", "right"))
    if not (page and left and right):
        return document
    text_width = int(page.group(1)) - int(left.group(1)) - int(right.group(1))

    def scaled(table: re.Match) -> str:
        xml = table.group(0)
        if not re.search(r'<w:tblW w:type="pct" w:w="5000" ?/>', xml):
            return xml  # a table of its own size (the header block, the signature)
        grid = re.search(r"<w:tblGrid>(.*?)</w:tblGrid>", xml, re.S)
        cols = [int(w) for w in re.findall(r'<w:gridCol w:w="(\d+)" ?/>', grid.group(1))] if grid else []
        if not cols or sum(cols) <= 0:
            return xml
        factor = text_width / sum(cols)
        widths = [round(w * factor) for w in cols]
        widths[-1] += text_width - sum(widths)  # the rounding goes to the last column
        new_grid = "".join(f'<w:gridCol w:w="{w}" />' for w in widths)
        return xml[:grid.start(1)] + new_grid + xml[grid.end(1):]

    return re.sub(r"<w:tbl>.*?</w:tbl>", scaled, document, flags=re.S)


def finish_docx(path: Path) -> None:
    """The DOCX as the office issues it: dash bullets, tables across the text width, and no
    time of its making in the file."""
    import shutil
    import tempfile
    import zipfile

    from .xlsx import FIXED_DATE

    with tempfile.NamedTemporaryFile(delete=False, dir=path.parent, suffix=".docx") as handle:
        tmp = Path(handle.name)
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/numbering.xml":
                data = _dash_bullets(data.decode("utf-8")).encode("utf-8")
            elif item.filename == "word/document.xml":
                data = _full_width_tables(data.decode("utf-8")).encode("utf-8")
            # Every entry dated at the ZIP epoch, as pandoc dates its own: the parts pandoc copies
            # from the reference document keep that file's dates, and the draft reference is
            # saved by python-docx at the time it was made, so the same report would otherwise
            # differ in bytes from one machine or cache to the next.
            info = zipfile.ZipInfo(item.filename, FIXED_DATE)
            info.external_attr = item.external_attr
            # figures are compressed already: stored as they are, not deflated again
            target.writestr(info, data, compress_type=zipfile.ZIP_STORED if item.filename.startswith("word/media/")
                            else zipfile.ZIP_DEFLATED)
    shutil.move(str(tmp), str(path))


# -- PDF fonts -------------------------------------------------------------------------------------

SYSTEM_FONT_DIRS = (Path("/usr/share/fonts/truetype/liberation2"), Path("/usr/share/fonts/truetype/liberation"))


def serif_font_dirs() -> tuple[list[Path], str, str | None]:
    """Font folders for typst, the serif family to use, and a warning when it had to fall back.

    Liberation Serif (metric-compatible with Times New Roman, full Vietnamese) is fetched by
    `make setup` into .venv/share/fonts; a system copy is used too. Without it the PDF falls back
    to DejaVu Serif (shipped with matplotlib) and the build says so."""
    import sys

    from .render import font_dir

    dejavu = font_dir()
    candidates = [Path(sys.prefix) / "share" / "fonts", *SYSTEM_FONT_DIRS]
    for folder in candidates:
        if folder.is_dir() and any(folder.rglob("LiberationSerif-Regular.ttf")):
            return [folder, dejavu], "Liberation Serif", None
    return [dejavu], "DejaVu Serif", ("Không tìm thấy phông Liberation Serif (tương đương Times New Roman); bản PDF "
                                      "dùng phông DejaVu Serif. Chạy 'make setup' để tải phông.")


# -- what render and build call ------------------------------------------------------------------

def _appendix_stem() -> str:
    from .chapters import spec

    return Path(spec("phu-luc").notebook).stem


def chapter_number(notebook_names: list[str], name: str) -> int | None:
    """The number of a chapter in part I (its place among the chapters), None for the appendix."""
    appendix = _appendix_stem()
    body = [n for n in notebook_names if Path(n).stem != appendix]
    return None if Path(name).stem == appendix else body.index(name) + 1


def place_chapter(md: Path, doc: Document | None, number: int | None) -> Path:
    """Rewrite one chapter's Markdown for its place in the frame (numbers, commentary)."""
    text = md.read_text(encoding="utf-8")
    text = number_chapter(text, number)
    if doc is not None and number is not None:
        text = with_commentary(doc, text)
    md.write_text(text, encoding="utf-8")
    return md


def body(doc: Document, parts: list[Path], read, sources_markdown: str) -> str:
    """The document text after the YAML front matter: `read(part)` gives a chapter's Markdown
    (or a raw block including it)."""
    appendix = _appendix_stem()
    chapters = [read(p) for p in parts if p.stem != appendix]
    extra = [read(p) for p in parts if p.stem == appendix]
    return assemble(doc, chapters, extra, sources_markdown) + "\n"


def typst_include(path: Path) -> str:
    return _raw("typst", f'#include "{path.name}"')


def yaml_front(doc: Document, meta) -> str:
    """Metadata without a title block (the form is in the body): page title, language, draft."""
    def q(text: str) -> str:
        return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["---", f"pagetitle: {q(f'{doc.doc_type} {doc.abstract}')}", "lang: vi",
             f"title-meta: {q(doc.abstract)}", f"author-meta: {q(doc.issuer_full)}"]
    if doc.draft:
        lines.append("draft: true")
    return "\n".join(lines + ["---", "", ""])


def reference_docx(doc: Document | None = None, folder: Path | None = None) -> Path:
    """The office's own template (data/bao-cao/<tỉnh>/reference.docx) when present, else the package's."""
    from .paths import TEMPLATES_DIR

    if doc is not None and doc.story is not None:
        own = doc.story.path.parent / "reference.docx"
        if own.exists():
            return own
    return TEMPLATES_DIR / "reference.docx"


def inputs_hash(folder: Path, province: str, period_code: str) -> str:
    """The bytes of the files the frame reads besides the tables: configuration, narrative,
    the office's reference.docx. Part of the render key, so editing the narrative re-renders."""
    import hashlib

    digest = hashlib.sha256()
    base = folder / story_mod.NARRATIVE_DIR / province
    for path in (base / CONFIG_NAME, base / f"{period_code}.md", base / "reference.docx"):
        digest.update(path.name.encode())
        digest.update(path.read_bytes() if path.exists() else b"-")
    return digest.hexdigest()


def remark_lines(doc: Document, root: Path | None = None) -> list[str]:
    """What the CLI prints after a build: why the report is a draft, file:line by file:line."""
    lines = []
    if doc.story is None or not doc.story.exists:
        path = doc.story.path if doc.story is not None else Path("?")
        try:
            shown = path.resolve().relative_to(root.resolve()) if root else path
        except ValueError:
            shown = path
        lines.append(f"Chưa có tệp lời văn {shown}: báo cáo là DỰ THẢO (tạo bản nháp bằng lệnh draft).")
    lines += [r.format(root) for r in doc.remarks]
    lines += doc.warnings
    return lines
