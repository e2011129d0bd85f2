"""What a chapter cell displays: numbered figures and tables that survive every renderer.

Each object carries a Markdown representation (read by pandoc and Quarto, so HTML, DOCX and PDF
all get a real table or a captioned figure) and, for tables, an HTML one beside it for JupyterLab.
Figures are embedded as PNG data URIs so an executed notebook is self-contained.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field

import pandas as pd


def _escape_md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


@dataclass
class Text:
    """A paragraph (or several) of Markdown."""

    markdown: str

    def _repr_markdown_(self) -> str:
        return self.markdown

    def __repr__(self) -> str:
        return self.markdown


@dataclass
class Figure:
    png: bytes
    label: str  # "Hình 2.1"
    caption: str
    source: str = ""

    @classmethod
    def from_matplotlib(cls, fig, label: str, caption: str, source: str = "", dpi: int = 150) -> "Figure":
        import matplotlib.pyplot as plt

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
        plt.close(fig)
        return cls(buf.getvalue(), label, caption, source)

    @property
    def title(self) -> str:
        return f"{self.label}. {self.caption}"

    def _repr_markdown_(self) -> str:
        data = base64.b64encode(self.png).decode("ascii")
        text = f"![{_escape_md(self.title)}](data:image/png;base64,{data})"
        if self.source:
            text += f"\n\n*Nguồn: {_escape_md(self.source)}*"
        return text

    def __repr__(self) -> str:
        return self.title


@dataclass
class Table:
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

    def _repr_markdown_(self) -> str:
        cols = [_escape_md(c) for c in self.frame.columns]
        widths = self.widths or self._auto_widths()
        rule = [(("-" * max(3, w)) + ":" if a == "r" else ":" + "-" * max(3, w)) for a, w in zip(self._aligns(), widths)]
        lines = ["| " + " | ".join(cols) + " |", "|" + "|".join(rule) + "|"]
        for row in self.frame.itertuples(index=False):
            lines.append("| " + " | ".join(_escape_md(v) for v in row) + " |")
        text = "\n".join(lines) + f"\n\n: {_escape_md(self.title)}"
        if self.source:
            text += f"\n\n*Nguồn: {_escape_md(self.source)}*"
        return text

    def _repr_html_(self) -> str:
        aligns = self._aligns()
        head = "".join(f"<th style='text-align:{'right' if a == 'r' else 'left'}'>{html.escape(str(c))}</th>"
                       for c, a in zip(self.frame.columns, aligns))
        body = "".join(
            "<tr>" + "".join(f"<td style='text-align:{'right' if a == 'r' else 'left'}'>{html.escape(str(v))}</td>"
                             for v, a in zip(row, aligns)) + "</tr>"
            for row in self.frame.itertuples(index=False)
        )
        source = f"<p><em>Nguồn: {html.escape(self.source)}</em></p>" if self.source else ""
        return (f"<table><caption>{html.escape(self.title)}</caption><thead><tr>{head}</tr></thead>"
                f"<tbody>{body}</tbody></table>{source}")

    def __repr__(self) -> str:
        return self.title
