"""What a chapter cell displays: paragraphs, lists, numbered figures and tables.

Text from the data is data: every string given to these objects is plain text, escaped here (by
`dxreport.escape`) for the format it enters. The markup the report needs — a paragraph, a bullet
list, a note attached to a sentence, emphasis of our own words, a captioned figure or table — is
built by these objects from parts, never by concatenating data into Markdown:

    Text("Tỷ lệ … đạt 72,05%", Note("Ghi chú số liệu: …"), " (tính đến 30/9/2023).")
    Bullets([sentence, sentence])

Each object carries a Markdown representation, which pandoc and Quarto read (pandoc's ipynb
reader prefers `text/markdown` over `text/html` and images when writing Markdown), and an HTML
one beside it, which JupyterLab prefers: so a table or a paragraph shows once in Lab and once
in the report. A figure shows in Lab as a real `image/png` output followed by its caption; when
the report is rendered, `render.prepare` folds the two into one captioned Markdown figure.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import escape

if TYPE_CHECKING:  # pandas loads where a frame is used: rendering a cached report needs none
    import pandas as pd

# Output metadata that marks a figure's image and caption outputs (see `render.prepare`).
META_KEY = "dxreport"


@dataclass(frozen=True)
class Note:
    """A note attached where it stands: a footnote in the report, small text in Lab."""

    text: str


@dataclass(frozen=True)
class Emph:
    """Emphasis of our own words (the text is still escaped)."""

    text: str


class Sentence(str):
    """Plain text with notes attached at character offsets.

    It is the plain text as far as `str` is concerned (comparisons, `in`, `endswith`), so code
    that reads sentences keeps working; `Text` and `Bullets` render its notes."""

    notes: tuple[tuple[int, str], ...]

    def __new__(cls, text: str, notes=()):
        obj = super().__new__(cls, text)
        obj.notes = tuple(sorted((int(at), str(note)) for at, note in (notes.items() if isinstance(notes, dict)
                                                                      else notes)))
        return obj

    def parts(self) -> list:
        out, start = [], 0
        for at, note in self.notes:
            out += [str.__str__(self)[start:at], Note(note)]
            start = at
        out.append(str.__str__(self)[start:])
        return [p for p in out if p != ""]


def _flatten(parts) -> list:
    out: list = []
    for part in parts:
        if isinstance(part, Text):
            out += _flatten(part.parts)
        elif isinstance(part, Sentence):
            out += part.parts()
        elif isinstance(part, (Note, Emph)):
            out.append(part)
        elif part is None:
            continue
        else:
            out.append(str(part))
    return out


def _inline_markdown(parts) -> str:
    text = []
    for part in parts:
        if isinstance(part, Note):
            text.append("^[" + escape.markdown(part.text) + "]")
        elif isinstance(part, Emph):
            text.append("*" + escape.markdown(part.text) + "*" if escape.plain(part.text).strip() else "")
        else:
            text.append(escape.markdown(part))
    return "".join(text)


def _inline_html(parts, notes: list[str]) -> str:
    text = []
    for part in parts:
        if isinstance(part, Note):
            notes.append(part.text)
            text.append(f"<sup>{len(notes)}</sup>")
        elif isinstance(part, Emph):
            text.append("<em>" + escape.html(part.text) + "</em>")
        else:
            text.append(escape.html(part))
    return "".join(text)


def _notes_html(notes: list[str]) -> str:
    if not notes:
        return ""
    items = "".join(f"<li>{escape.html(n)}</li>" for n in notes)
    return f"<ol style='font-size:smaller;margin-top:0.2em'>{items}</ol>"


class _Shown:
    """Shown in a notebook as exactly the three representations the report and JupyterLab read:
    Markdown (the report), HTML (the notebook), plain text. Published directly instead of
    through IPython's formatters, which ask every object for ten formats it does not have;
    the output is the same (tested), and a chapter shows a hundred such objects."""

    def _ipython_display_(self) -> None:
        from IPython import get_ipython
        from IPython.display import publish_display_data

        shell = get_ipython()
        plain = shell.display_formatter.formatters["text/plain"](self) if shell is not None else repr(self)
        publish_display_data({"text/plain": plain, "text/html": self._repr_html_(),
                              "text/markdown": self._repr_markdown_()})


class Text(_Shown):
    """A paragraph of plain text. Parts: `str` (escaped), `Sentence`, `Note`, `Emph`, `Text`."""

    def __init__(self, *parts):
        self.parts = tuple(_flatten(parts))

    @property
    def plain(self) -> str:
        """The paragraph's text without its notes."""
        return "".join(escape.plain(p.text) if isinstance(p, Emph) else escape.plain(p)
                       for p in self.parts if not isinstance(p, Note))

    @property
    def notes(self) -> list[str]:
        return [p.text for p in self.parts if isinstance(p, Note)]

    @property
    def markdown(self) -> str:
        return _inline_markdown(self.parts)

    def _repr_markdown_(self) -> str:
        return self.markdown

    def _repr_html_(self) -> str:
        notes: list[str] = []
        body = _inline_html(self.parts, notes)
        return f"<p>{body}</p>{_notes_html(notes)}"

    def __eq__(self, other) -> bool:
        return isinstance(other, Text) and self.parts == other.parts

    def __repr__(self) -> str:
        return self.plain


class Bullets(_Shown):
    """A bullet list; each item is a paragraph (`str`, `Sentence` or `Text`)."""

    def __init__(self, items):
        self.items = [item if isinstance(item, Text) else Text(item) for item in items]

    @property
    def plain(self) -> str:
        return "\n".join(item.plain for item in self.items)

    @property
    def markdown(self) -> str:
        return "\n".join("- " + item.markdown for item in self.items)

    def _repr_markdown_(self) -> str:
        return self.markdown

    def _repr_html_(self) -> str:
        notes: list[str] = []
        items = "".join(f"<li>{_inline_html(item.parts, notes)}</li>" for item in self.items)
        return f"<ul>{items}</ul>{_notes_html(notes)}"

    def __repr__(self) -> str:
        return self.plain


def _source_markdown(source: str) -> str:
    return f"\n\n*Nguồn: {escape.markdown(source)}*" if escape.plain(source).strip() else ""


def _source_html(source: str) -> str:
    return f"<p><em>Nguồn: {escape.html(source)}</em></p>" if escape.plain(source).strip() else ""


DATA_ATTR = "data-bang"  # the figure's data, on its image in the HTML (read by the site's open data)


def figure_data(frame: pd.DataFrame) -> dict:
    """A figure's data as the open-data page publishes it: the column names, and every cell as
    the report writes it (Vietnamese numbers, dates as the decree writes them)."""
    from datetime import date, datetime

    import pandas as pd

    from . import fmt

    def cell(value) -> str:
        if hasattr(value, "item") and not isinstance(value, (str, pd.Timestamp)):
            value = value.item()  # numpy scalars as Python numbers
        if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
            return ""
        if isinstance(value, (pd.Timestamp, datetime)):
            return fmt.day(value.date())
        if isinstance(value, date):
            return fmt.day(value)
        if isinstance(value, bool):
            return "có" if value else "không"
        if isinstance(value, (int, float)):
            return fmt.number(value)
        return escape.plain(str(value))

    return {"header": [escape.plain(str(c)) for c in frame.columns],
            "rows": [[cell(v) for v in row] for row in frame.itertuples(index=False, name=None)]}


def encode_figure_data(data: dict | None) -> str:
    """`figure_data` as a Markdown attribute value: base64 of its JSON, so no character of the
    data can end the attribute or form markup."""
    if not data:
        return ""
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.b64encode(raw).decode("ascii")


def decode_figure_data(value: str) -> dict | None:
    """The figure data of an image's attribute, or None when it is not what the build wrote."""
    try:
        data = json.loads(base64.b64decode(value, validate=True).decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    header, rows = (data.get("header"), data.get("rows")) if isinstance(data, dict) else (None, None)
    source = data.get("source", "") if isinstance(data, dict) else ""
    if not (isinstance(header, list) and isinstance(rows, list) and all(isinstance(h, str) for h in header)
            and all(isinstance(r, list) and len(r) == len(header) and all(isinstance(c, str) for c in r) for r in rows)
            and isinstance(source, str)):
        return None
    return {"header": header, "rows": rows, "source": source}


def figure_markdown(uri: str, title: str, source: str = "", alt: str = "", data: dict | None = None) -> str:
    """One captioned figure in pandoc Markdown: the caption is the image's description, the
    alt text (if it differs) an attribute, the figure's data (if any) another, the source line
    a paragraph under it."""
    attrs = []
    if alt and escape.plain(alt) != escape.plain(title):
        attrs.append('fig-alt="' + escape.plain(alt).replace("\\", "\\\\").replace('"', '\\"') + '"')
    encoded = encode_figure_data(data)
    if encoded:
        attrs.append(f'{DATA_ATTR}="{encoded}"')
    attr = "{" + " ".join(attrs) + "}" if attrs else ""
    return f"![{escape.markdown(title)}]({uri}){attr}" + _source_markdown(source)


@dataclass
class Figure:
    png: bytes
    label: str  # "Hình 2.1"
    caption: str
    source: str = ""
    alt: str = ""  # alt text, when it should differ from the caption
    data: dict | None = None  # `figure_data`: what the figure shows, as a table (open data)

    @classmethod
    def from_matplotlib(cls, fig, label: str, caption: str, source: str = "", dpi: int = 150,
                        alt: str = "", data: dict | None = None) -> "Figure":
        """`fig` is a matplotlib figure, or PNG bytes already drawn (`charts.drawn`)."""
        if isinstance(fig, bytes):
            return cls(fig, label, caption, source, alt, data)
        from .charts import png

        return cls(png(fig, dpi), label, caption, source, alt, data)

    @property
    def title(self) -> str:
        return f"{self.label}. {self.caption}"

    def _data(self) -> str:
        return base64.b64encode(self.png).decode("ascii")

    def _repr_markdown_(self) -> str:
        """The whole captioned figure, as the report reads it."""
        return figure_markdown(f"data:image/png;base64,{self._data()}", self.title, self.source, self.alt, self.data)

    def caption_html(self) -> str:
        return (f"<p style='text-align:center'><strong>{escape.html(self.label)}.</strong> "
                f"{escape.html(self.caption)}</p>" + _source_html(self.source).replace("<p>", "<p style='text-align:center'>"))

    def outputs(self) -> list[tuple[dict, dict]]:
        """(data, metadata) of the two outputs a notebook gets: the image, then its caption."""
        meta = {"title": self.title, "source": self.source, "alt": self.alt}
        if self.data:
            meta["data"] = self.data
        image = ({"image/png": self._data(), "text/plain": escape.plain(self.title)},
                 {META_KEY: {"figure": meta}})
        caption = ({"text/html": self.caption_html(), "text/plain": escape.plain(self.title)},
                   {META_KEY: {"caption": True}})
        return [image, caption]

    def _ipython_display_(self) -> None:
        from IPython.display import publish_display_data

        for data, metadata in self.outputs():
            publish_display_data(data, metadata)

    def __repr__(self) -> str:
        return self.title


# The DOCX's table text: 13 pt Times New Roman (templates/reference.docx) over A4 with the
# decree's margins (30 mm left, 15 mm right), each cell padded by 108 twips a side.
TEXT_WIDTH_MM = 165.0
CELL_MARGINS_MM = 2 * 108 / 1440 * 25.4 + 0.6
_EM_MM = 13 / 72 * 25.4
_NARROW = {".": 0.25, ",": 0.25, ";": 0.278, ":": 0.278, "/": 0.278, "(": 0.333, ")": 0.333, "-": 0.333,
           "'": 0.18, "%": 0.833, "–": 0.5, "—": 1.0}


def _word_mm(word: str) -> float:
    """About how wide `word` is set in 13 pt Times New Roman (digits half an em, capitals about
    0.7 em, small letters about 0.47 em, with or without their Vietnamese marks)."""
    em = 0.0
    for ch in word:
        if ch.isdigit():
            em += 0.5
        elif ch in _NARROW:
            em += _NARROW[ch]
        elif ch.isupper():
            em += 0.7
        else:
            em += 0.47
    return em * _EM_MM


@dataclass
class Table(_Shown):
    frame: pd.DataFrame
    label: str  # "Bảng 2.1"
    caption: str
    source: str = ""
    align: list[str] = field(default_factory=list)  # "l" | "r" per column
    widths: list[int] = field(default_factory=list)  # relative column widths (percent)

    @property
    def title(self) -> str:
        return f"{self.label}. {self.caption}"

    def _aligns(self) -> list[str]:
        if self.align:
            return self.align
        return ["l"] + ["r"] * (len(self.frame.columns) - 1)

    def _auto_widths(self) -> list[int]:
        """Relative widths from the longest text in each column; pandoc reads them from the
        dashes of the separator line when the table is wider than a line."""
        lengths = [max([len(str(c))] + [len(str(v)) for v in self.frame[c]]) for c in self.frame.columns]
        capped = [min(max(n, 6), 60) for n in lengths]
        total = sum(capped) or 1
        return [max(4, round(100 * n / total)) for n in capped]

    def _fitted_widths(self) -> list[int]:
        """The widths asked (or the automatic ones), each widened to hold its column's longest
        word on one line in the DOCX (13 pt Times New Roman over the decree's 165 mm of text):
        Word breaks a date such as 31/12/2025 inside its digits when the column is narrower.
        What is added is taken from the columns that can spare it, the widest first."""
        widths = list(self.widths or self._auto_widths())
        if len(widths) != len(self.frame.columns):
            return widths
        needs = []
        for i, column in enumerate(self.frame.columns):
            words = [w for v in [column, *self.frame.iloc[:, i]] for w in str(v).split()]
            longest = max((_word_mm(w) for w in words), default=0.0)
            needs.append(min(40, math.ceil(100 * (longest + CELL_MARGINS_MM) / TEXT_WIDTH_MM)))
        fitted = [max(w, n) for w, n in zip(widths, needs)]
        excess = sum(fitted) - sum(widths)
        while excess > 0:
            spare = [i for i in range(len(fitted)) if fitted[i] > max(needs[i], 4)]
            if not spare:
                break
            widest = max(spare, key=lambda i: fitted[i] - needs[i])
            fitted[widest] -= 1
            excess -= 1
        return fitted

    def _repr_markdown_(self) -> str:
        cols = [escape.markdown(c) for c in self.frame.columns]
        widths = self._fitted_widths()
        rule = [(("-" * max(3, w)) + ":" if a == "r" else ":" + "-" * max(3, w)) for a, w in zip(self._aligns(), widths)]
        lines = ["| " + " | ".join(cols) + " |", "|" + "|".join(rule) + "|"]
        for row in self.frame.itertuples(index=False):
            lines.append("| " + " | ".join(escape.markdown(v) for v in row) + " |")
        return "\n".join(lines) + f"\n\n: {escape.markdown(self.title)}" + _source_markdown(self.source)

    def _repr_html_(self) -> str:
        aligns = self._aligns()
        head = "".join(f"<th style='text-align:{'right' if a == 'r' else 'left'}'>{escape.html(c)}</th>"
                       for c, a in zip(self.frame.columns, aligns))
        body = "".join(
            "<tr>" + "".join(f"<td style='text-align:{'right' if a == 'r' else 'left'}'>{escape.html(v)}</td>"
                             for v, a in zip(row, aligns)) + "</tr>"
            for row in self.frame.itertuples(index=False)
        )
        return (f"<table><caption>{escape.html(self.title)}</caption><thead><tr>{head}</tr></thead>"
                f"<tbody>{body}</tbody></table>{_source_html(self.source)}")

    def __repr__(self) -> str:
        return self.title
