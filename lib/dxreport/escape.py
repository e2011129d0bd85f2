"""The one place where text from the data is made inert for the format it enters.

Every string that comes from data/ (indicator names, notes, sources, task names, province and
unit names, ...) is data, never markup: it goes through one of these functions before it is
placed into Markdown (read by pandoc), HTML (JupyterLab, the Quarto redirect), typst source, or a
CSV/XLSX cell. Markup the report itself needs (a footnote, a list, a caption) is built around
the escaped text by `dxreport.display`, never by concatenating data into Markdown.

- `markdown`: pandoc's Markdown. Every ASCII punctuation character is backslash-escaped
  (pandoc's `all_symbols_escapable`), so no data string can open a link, image, raw block
  (`{=html}`, `{=typst}`), footnote, citation, math, emphasis, list, heading or table cell.
  Line breaks become spaces (a backslash before a newline would be a hard break), runs of
  whitespace collapse (four leading spaces would start a code block), control characters go.
- `html`: `html.escape` with quotes, for attribute values and text alike.
- `typst`: typst markup, for strings placed into typst source outside pandoc.
- `cell`: CSV/XLSX cells neutralised against formula injection (OWASP "CSV injection").
"""

from __future__ import annotations

import html as _html
import re
import string
from numbers import Number

_PUNCT = frozenset(string.punctuation)  # !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~
# Anything that ends a line for pandoc or for Python's splitlines, and other whitespace runs.
_SPACE = re.compile(r"[\s\u2028\u2029\x85]+")
# C0/C1 control characters and DEL: invalid in XML (DOCX), meaningless in a report.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f]")


def plain(text) -> str:
    """The text as one line: control characters removed, any whitespace run one space."""
    if text is None:
        return ""
    return _SPACE.sub(" ", _CONTROL.sub("", str(text)))


def markdown(text) -> str:
    """Text → pandoc Markdown that reads back as exactly this text (one line)."""
    return "".join("\\" + c if c in _PUNCT else c for c in plain(text))


def html(text) -> str:
    """Text → HTML text or attribute value (quotes escaped too)."""
    return _html.escape(_CONTROL.sub("", "" if text is None else str(text)), quote=True)


def typst(text) -> str:
    """Text → typst markup that reads back as exactly this text (one line).

    Every ASCII punctuation character is escaped with a backslash, which typst accepts for any
    symbol; so `#set …`, `[…]`, `$…$`, `//` comments, `<label>` and `@ref` stay literal."""
    return "".join("\\" + c if c in _PUNCT else c for c in plain(text))


def typst_string(text) -> str:
    """Text → the inside of a typst string literal ("…")."""
    return plain(text).replace("\\", "\\\\").replace('"', '\\"')


# What a spreadsheet (Excel, LibreOffice) may run as a formula when a cell starts with it (OWASP
# "CSV injection"): every CSV/XLSX the project writes or reads checks against this one tuple.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?")


def cell(value):
    """A CSV/XLSX cell value that no spreadsheet evaluates as a formula.

    Numbers (and booleans, dates, None) stay as they are. A text cell starting with `=`, `+`,
    `-`, `@`, tab or carriage return gets a leading `'` (OWASP), unless the text is a plain
    number such as "-5" or "+1,5", which no spreadsheet runs."""
    if not isinstance(value, str) or isinstance(value, Number):
        return value
    if value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value
