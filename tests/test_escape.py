"""Text from the data is data: each format's escape, and every display object with hostile text.

The Markdown and typst checks run the real parsers (pandoc, typst) over the escaped text and
require it to read back as exactly the text, with no markup node at all."""

from __future__ import annotations

import base64
import json
import subprocess

import pandas as pd
import pytest
from pypdf import PdfReader

from dxreport import escape
from dxreport.display import Bullets, Emph, Figure, Note, Sentence, Table, Text, figure_markdown
from dxreport.render import fold_figures, pandoc_path

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "`<b>x</b>`{=html}",
    "`#set page(width: 1pt)`{=typst}",
    "![a](/etc/passwd)",
    '<link href="http://127.0.0.1:9/x.css" rel="stylesheet">',
    "^[n] and a note",
    "*x* _y_ **z** ~~s~~ ~sub~ ^sup^",
    "# h",
    "| a | b |",
    "$x$ and $$y$$",
    "@cite and [@key]",
    "1. first",
    "- item",
    "+ item",
    "> quote",
    "    four spaces make code",
    "line one\nline two\r\nthree\u2028four",
    "a\\\nhard break",
    "&lt;script&gt; &amp; &#60;",
    "<!-- comment -->",
    "::: {.div}",
    "```\ncode\n```",
    "[link]: http://example.com",
    "term\n: definition",
    "{#id .class}",
    "Tỷ lệ 72,05% (293.670/407.595 hồ sơ) — “trích” 'dẫn' ... -- ---",
    "<http://example.com>",
    "\\",
    "x\x00y\x1bz",
]


def pandoc_json(markdown: str) -> dict:
    proc = subprocess.run([pandoc_path(), "-f", "markdown", "-t", "json", "--sandbox"], input=markdown,
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def inline_text(inlines: list) -> str:
    out = []
    for node in inlines:
        assert node["t"] in ("Str", "Space"), node  # no Link, Image, RawInline, Emph, Note, Cite, Math ...
        out.append(node["c"] if node["t"] == "Str" else " ")
    return "".join(out)


def test_markdown_escape_reads_back_as_the_same_text_in_pandoc():
    doc = pandoc_json("\n\n".join(escape.markdown(s) for s in HOSTILE))
    blocks = doc["blocks"]
    assert [b["t"] for b in blocks] == ["Para"] * len(HOSTILE)  # no heading, list, code, table, div ...
    for block, text in zip(blocks, HOSTILE):
        assert inline_text(block["c"]) == escape.plain(text).strip()


def test_markdown_escape_in_a_table_cell_and_a_footnote_stays_in_place():
    table = Table(pd.DataFrame({"A": ["x | y", "[a](b)"], "B": ["^[n]", "`c`{=html}"]}), "Bảng 1.1", "| cap *x*",
                  "<b>nguồn</b>")
    doc = pandoc_json(table._repr_markdown_())
    kinds = [b["t"] for b in doc["blocks"]]
    assert kinds[0] == "Table" and "RawBlock" not in json.dumps(doc) and "Link" not in json.dumps(doc)
    dumped = json.dumps(doc, ensure_ascii=False)
    for word in ("x", "|", "[a](b)", "^[n]", "`c`{=html}"):
        assert json.dumps(word, ensure_ascii=False)[1:-1] in dumped or word in dumped


def test_html_escape_quotes_and_tags():
    assert escape.html('<a href="x">\'</a>') == "&lt;a href=&quot;x&quot;&gt;&#x27;&lt;/a&gt;"
    assert escape.html(None) == ""


def test_typst_escape_reads_back_as_the_same_text(tmp_path):
    import typst

    lines = [escape.typst(s) for s in HOSTILE]
    source = tmp_path / "t.typ"
    source.write_text('#set page(width: 30cm, height: auto)\n#set text(font: "DejaVu Sans")\n'
                      '#set document(title: "' + escape.typst_string('a "q" \\ #x') + '")\n'
                      + "\n\n".join(lines) + "\n", encoding="utf-8")
    from dxreport.render import font_dir

    typst.compile(str(source), output=str(tmp_path / "t.pdf"), root=str(tmp_path), font_paths=[str(font_dir())],
                  ignore_system_fonts=True)
    reader = PdfReader(str(tmp_path / "t.pdf"))
    assert reader.pages[0].mediabox.width > 100  # `#set page(width: 1pt)` did not run
    text = " ".join(page.extract_text() for page in reader.pages)
    for word in ("<script>alert(1)</script>", "#set page(width: 1pt)", "$x$", "@cite", "![a](/etc/passwd)"):
        assert word in text, word


@pytest.mark.parametrize("value, expected", [
    ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(1+1)", "'@SUM(1+1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("-5", "-5"),
    ("+1,5", "+1,5"),
    ("Nghệ An", "Nghệ An"),
    ("a=b", "a=b"),
    (-5, -5),
    (3.5, 3.5),
    (None, None),
])
def test_cell_neutralises_formulas_and_keeps_numbers(value, expected):
    assert escape.cell(value) == expected


def test_text_escapes_data_and_builds_notes_and_emphasis_itself():
    text = Text("Chỉ tiêu <b>x</b> [a](b) đạt 72,05%", Note("Ghi chú: ^[y] `z`{=html}"), " (", Emph("*tự*"), ").")
    assert text.plain == "Chỉ tiêu <b>x</b> [a](b) đạt 72,05% (*tự*)."
    assert text.notes == ["Ghi chú: ^[y] `z`{=html}"]
    md = text.markdown
    assert md.count("^[") == 1 and "<b>" not in md and "[a](b)" not in md
    para = pandoc_json(md)["blocks"][0]["c"]
    assert [n["t"] for n in para].count("Note") == 1 and [n["t"] for n in para].count("Emph") == 1
    html = text._repr_html_()
    assert "<b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html and "^[Ghi" not in html
    assert "<sup>1</sup>" in html and "<li>Ghi chú: ^[y] `z`{=html}</li>" in html


def test_sentence_is_its_plain_text_and_carries_its_notes():
    sentence = Sentence("A đạt 5 (tính đến 1/1/2023), tăng.", {len("A đạt 5 (tính đến 1/1/2023)"): "ghi chú [x]"})
    assert sentence == "A đạt 5 (tính đến 1/1/2023), tăng." and sentence.endswith("tăng.")
    assert sentence.parts() == ["A đạt 5 (tính đến 1/1/2023)", Note("ghi chú [x]"), ", tăng."]
    assert Text(sentence).notes == ["ghi chú [x]"]


def test_bullets_build_the_list_and_escape_each_item():
    items = Bullets(["- not a nested list", Sentence("b", {1: "n"}), "1. not numbered"])
    blocks = pandoc_json(items.markdown)["blocks"]
    assert [b["t"] for b in blocks] == ["BulletList"]
    assert len(blocks[0]["c"]) == 3 and "OrderedList" not in json.dumps(blocks)
    assert "<ul><li>- not a nested list</li>" in items._repr_html_()


def test_table_escapes_header_cells_caption_and_source():
    frame = pd.DataFrame({"<th>": ["<script>x</script>", "`a`{=typst}"], "B": ["1", "2"]})
    table = Table(frame, "Bảng 2.1", "Cap <i>", "Nguồn <img src=x onerror=alert(1)>")
    html = table._repr_html_()
    assert "<script>" not in html and "<img" not in html and "<i>" not in html and "&lt;th&gt;" in html
    md = table._repr_markdown_()
    assert "\\<script\\>" in md and ": Bảng 2\\.1\\. Cap \\<i\\>" in md and "*Nguồn: Nguồn \\<img" in md


def test_figure_shows_in_lab_as_an_image_then_its_caption_and_in_the_report_once(tmp_path):
    import nbformat

    fig = Figure(b"\x89PNG-not-really", "Hình 1.1", "Cap ![x](/etc/passwd) <b>", "Nguồn `x`{=html}",
                 alt="Alt \"q\" <b>")
    (image, image_meta), (caption, caption_meta) = fig.outputs()
    assert set(image) == {"image/png", "text/plain"}  # Lab renders a real image output
    assert "text/html" in caption and "&lt;b&gt;" in caption["text/html"] and "Hình 1.1." in caption["text/html"]
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output("display_data", data=d, metadata=m) for d, m in fig.outputs()]
    nb.cells = [cell]
    fold_figures(nb)
    outputs = nb["cells"][0]["outputs"]
    assert len(outputs) == 1 and list(outputs[0]["data"]) == ["text/markdown"]
    md = outputs[0]["data"]["text/markdown"]
    assert md == fig._repr_markdown_()
    blocks = pandoc_json(md)["blocks"]
    assert [b["t"] for b in blocks] == ["Figure", "Para"]
    dumped = json.dumps(blocks)
    assert dumped.count('"Image"') == 1 and '["data:image/png;base64,' in dumped  # one image: ours
    assert '"/etc/passwd"' not in dumped and "![x](/etc/passwd)" in dumped  # the path is a word of the caption
    assert "RawInline" not in dumped


def test_figure_markdown_keeps_alt_text_as_an_attribute():
    md = figure_markdown("media/ab.png", "Hình 1.1. Cap", alt='x "y" \\ z')
    image = pandoc_json(md)["blocks"][0]["c"][2][0]["c"][0]
    assert image["t"] == "Image" and ["fig-alt", 'x "y" \\ z'] in image["c"][0][2]


def test_a_typst_error_names_the_file_line_and_chapter(tmp_path):
    import typst

    from dxreport.render import typst_error_message

    (tmp_path / "bao-cao.typ").write_text('= Báo cáo\n#include "03-nhan-luc-so.typ"\n', encoding="utf-8")
    (tmp_path / "03-nhan-luc-so.typ").write_text("Dòng một\n\nDòng ba #let x = (\n", encoding="utf-8")
    with pytest.raises(typst.TypstError) as caught:
        typst.compile(str(tmp_path / "bao-cao.typ"), output=str(tmp_path / "x.pdf"), root=str(tmp_path))
    message = typst_error_message(caught.value)
    assert message.startswith("typst thất bại tại 03-nhan-luc-so.typ, dòng 3, cột ")
    assert "chương 03-nhan-luc-so.ipynb" in message and "Dòng ba #let x = (" in message


def test_the_guard_filter_keeps_only_own_figures_safe_links_and_our_typst_includes(tmp_path):
    """Defence behind the escaping: even markup that reached pandoc unescaped cannot embed a
    local file, fetch a host, keep a javascript: link or run raw HTML/typst."""
    import zipfile

    from dxreport.render import FILTER

    (tmp_path / "media").mkdir()
    own = (tmp_path / "media" / "0123456789abcdef0123.png")
    own.write_bytes(base64.b64decode(PNG_1PX))
    (tmp_path / "doc.md").write_text(
        "![own](media/0123456789abcdef0123.png)\n\n![x](/etc/passwd)\n\n![y](http://127.0.0.1:9/y.png)\n\n"
        "[js](javascript:alert(1)) [ok](https://example.org) [a](#top) [f](file:///etc/passwd)\n\n"
        '<script>alert(1)</script>\n\n<link href="http://127.0.0.1:9/x.css" rel="stylesheet">\n\n'
        "`<b>x</b>`{=html} `#set page(width: 1pt)`{=typst}\n\n"
        '```{=typst}\n#set page(width: 1pt)\n```\n\n```{=typst}\n#include "02-ha-tang-so.typ"\n```\n',
        encoding="utf-8")

    def run(*args):
        return subprocess.run([pandoc_path(), "doc.md", "-f", "markdown", "--sandbox", "--lua-filter", str(FILTER),
                               *args], cwd=tmp_path, capture_output=True, text=True, check=True).stdout

    html = run("-t", "html5", "--embed-resources", "-s", "-M", "pagetitle=x")
    assert html.count("<img") == 1 and 'src="data:image/png;base64,' in html
    assert "<script" not in html and "<link" not in html and "<b>" not in html and "127.0.0.1" not in html
    assert "javascript:" not in html and "file:" not in html and 'href="https://example.org"' in html
    typ = run("-t", "typst")
    assert '#include "02-ha-tang-so.typ"' in typ and "#set page" not in typ and "passwd" not in typ
    run("-t", "docx", "-o", "out.docx")
    with zipfile.ZipFile(tmp_path / "out.docx") as archive:
        media = [n for n in archive.namelist() if n.startswith("word/media/")]
        assert len(media) == 1 and archive.read(media[0]) == own.read_bytes()


PNG_1PX = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
