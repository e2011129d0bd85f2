"""Display objects and charts: Markdown beside HTML, Vietnamese numbers, targets drawn."""

from __future__ import annotations

import pandas as pd

from dxreport import charts
from dxreport.chapter import open_chapter
from dxreport.display import Bullets, Figure, Note, Sentence, Table, Text


def test_table_emits_markdown_with_caption_and_html_beside_it():
    table = Table(pd.DataFrame({"Chỉ tiêu": ["A|B"], "Giá trị": ["72,05%"]}), "Bảng 2.1", "Thử", "Nguồn X")
    md = table._repr_markdown_()
    assert md.splitlines()[0] == "| Chỉ tiêu | Giá trị |"
    assert "A\\|B" in md and ": Bảng 2\\.1\\. Thử" in md and "*Nguồn: Nguồn X*" in md
    html = table._repr_html_()
    assert "<caption>Bảng 2.1. Thử</caption>" in html and "72,05%" in html


def test_a_column_is_widened_to_hold_its_longest_word_and_the_table_stays_whole():
    """Word breaks '31/12/2025' inside its digits in a column too narrow for it: the date column
    asked at 12 % is widened, the long-text column gives the difference, the sum stays 100 and
    the separator line pandoc reads the widths from says so."""
    frame = pd.DataFrame({"Số, ký hiệu": ["328-KH/TU"], "Ngày ban hành": ["31/12/2025"],
                          "Trích yếu": ["Kế hoạch chuyển đổi số của tỉnh " * 4]})
    table = Table(frame, "Bảng 1.1", "Thử", widths=[20, 12, 68], align=["l", "r", "l"])
    widths = table._fitted_widths()
    assert widths[1] >= 16 and widths[0] == 20 and sum(widths) == 100 and widths[2] < 68
    rule = table._repr_markdown_().splitlines()[1]
    assert [len(cell.strip(":")) for cell in rule.strip("|").split("|")] == widths
    # a table whose columns already hold their words keeps the widths it asked for
    roomy = Table(frame, "Bảng 1.2", "Thử", widths=[20, 20, 60], align=["l", "r", "l"])
    assert roomy._fitted_widths() == [20, 20, 60]


def test_bars_use_vietnamese_tick_labels_and_draw_the_target():
    frame = pd.DataFrame({"label": ["cấp tỉnh", "cấp huyện", "cấp xã"], "value": [1500.5, 2500.0, None]})
    fig = charts.bars(frame, "label", "value", "hồ sơ", target=2000)
    ax = fig.axes[0]
    fig.canvas.draw()
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert any("." in t for t in ticks if t not in ("0",))  # thousands separator is a dot
    assert len(ax.patches) == 2  # the missing value is not drawn as a zero bar
    assert any(abs(line.get_xdata()[0] - 2000) < 1e-9 for line in ax.get_lines())
    assert any("1.500,5 hồ sơ" in t.get_text() for t in ax.texts)


def test_scorecard_counts_each_status():
    frame = pd.DataFrame({"pillar_name": ["Chính quyền số"], "Đạt": [8], "Chưa đạt": [3], "Chưa có số liệu": [0]})
    fig = charts.scorecard(frame, label="pillar_name")
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert labels == ["8", "3"]


def test_chapter_numbers_figures_and_tables_and_records_key_figures(data_dir):
    ch = open_chapter("ha-tang-so", "nghe-an", "2023-Q3", data_dir)
    blocks = ch.section("co-quan-nha-nuoc")
    titles = [getattr(b, "title", "") for b in blocks]
    assert any(t.startswith("Hình 2.1.") for t in titles)
    assert ch.table(pd.DataFrame({"a": ["1"]}), "Thử").title == "Bảng 2.1. Thử"
    assert ch.figure(charts.bars(pd.DataFrame({"l": ["a"], "v": [1.0]}), "l", "v", "%"), "Thử").title == "Hình 2.2. Thử"
    assert "may_chu/cấp tỉnh: 150 máy chủ @ 31/8/2023" in ch.key_figures()


def test_empty_section_says_so(data_dir):
    ch = open_chapter("ha-tang-so", "nghe-an", "2021-Q1", data_dir)
    blocks = ch.section("di-dong")
    assert blocks[0].plain == "Chưa có số liệu cho mục này trong kỳ báo cáo."


def test_section_whose_charted_indicator_is_not_in_the_data_still_renders(data_dir):
    ch = open_chapter("ha-tang-so", "nghe-an", "2023-Q3", data_dir)  # the fixture has no "bts"
    blocks = ch.section("di-dong")
    assert "Tốc độ băng rộng di động đạt 30,25 Mbps" in blocks[0].plain
    assert not any(type(b).__name__ == "Figure" for b in blocks)


def test_a_section_reads_in_lab_as_a_list_an_image_and_no_data_cleaning_note(data_dir):
    from conftest import set_cell
    import csv

    rows = list(csv.DictReader((data_dir / "observations.csv").open(encoding="utf-8")))
    line = next(i for i, r in enumerate(rows, start=2) if r["indicator_id"] == "bbdd_toc_do" and r["as_of"] == "2023-08-30")
    set_cell(data_dir / "observations.csv", line, "note", "Đọc từ [bảng 2] của *báo cáo*")
    ch = open_chapter("ha-tang-so", "nghe-an", "2023-Q3", data_dir)
    blocks = ch.section("co-quan-nha-nuoc") + ch.section("di-dong")
    listed = next(b for b in blocks if isinstance(b, (Bullets, Text)) and "30,25 Mbps" in b.plain)
    html = listed._repr_html_()
    # how a figure was read from its source is for the internal check sheet, never the report
    assert "^[" not in html and "Đọc từ" not in html
    assert "^[" not in listed.markdown and "Đọc từ" not in listed.markdown
    note = Text(Sentence("Tốc độ đạt 30,25 Mbps.", {len("Tốc độ đạt 30,25 Mbps"): "Đọc từ [bảng 2] của *báo cáo*"}))
    assert "<sup>1</sup>" in note._repr_html_() and "Đọc từ [bảng 2] của *báo cáo*" in note._repr_html_()
    assert note.markdown.count("^[") == 1 and "\\[bảng 2\\]" in note.markdown  # a reader's note: escaped footnote
    figure = next(b for b in blocks if isinstance(b, Figure))
    (image, _), (caption, _) = figure.outputs()
    assert "image/png" in image and "text/markdown" not in image  # Lab shows the image itself
    assert figure.title in caption["text/plain"] and figure.label in caption["text/html"]


def test_chart_labels_from_the_data_are_text_not_mathtext():
    from dxreport.display import Figure

    frame = pd.DataFrame({"label": ["Chi phí $\\foo{x}$ và $y$", "b"], "value": [1.0, 2.0]})
    fig = charts.bars(frame, "label", "value", "%")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert Figure.from_matplotlib(fig, "Hình 1.1", "x").png.startswith(b"\x89PNG")  # drawing did not fail
    assert any("$\\foo{x}$" in label for label in labels)


def test_each_figure_of_a_section_is_stated_once_in_a_sentence_or_a_table_row():
    from conftest import REPO

    ch = open_chapter("ha-tang-so", "nghe-an", "2023-Q3", REPO / "data")  # read only: sections with both
    rows = 0
    for slug in ("di-dong", "co-dinh", "co-quan-nha-nuoc", "nen-tang"):
        blocks = ch.section(slug)
        said = " ".join(b.plain for b in blocks if isinstance(b, (Text, Bullets)))
        for table in (b for b in blocks if isinstance(b, Table)):
            for name, result in zip(table.frame["Chỉ tiêu"], table.frame["Kết quả"]):
                rows += 1
                assert f"{name} đạt {result}" not in said and f"{name} là {result}" not in said, (slug, name)
        if isinstance(blocks[0], Bullets) and not any(isinstance(b, Table) for b in blocks):
            assert "Nguồn: " in said  # the figures still cite their sources
    assert rows >= 2


def test_pandoc_reads_each_display_object_once_as_its_markdown(tmp_path):
    """Lab shows the HTML of a table or a paragraph; pandoc's ipynb reader, writing Markdown,
    picks the `text/markdown` of the same output: one table, one figure, never both forms."""
    import nbformat
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import display
    from IPython.utils.capture import capture_output

    from dxreport.render import chapter_markdown, prepare

    table = Table(pd.DataFrame({"Chỉ tiêu": ["<b>A</b>"], "Giá trị": ["72,05%"]}), "Bảng 1.1", "Thử", "Nguồn X")
    text = Text("Câu có ghi chú", Note("ghi chú [1]"), ".")
    fig = Figure.from_matplotlib(charts.bars(pd.DataFrame({"l": ["a"], "v": [1.0]}), "l", "v", "%"), "Hình 1.1", "Hình thử")
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("")
    InteractiveShell.instance()
    with capture_output() as captured:
        display(table, text)  # what a kernel publishes for them
    cell.outputs = [nbformat.v4.new_output("display_data", data=out.data) for out in captured.outputs]
    cell.outputs += [nbformat.v4.new_output("display_data", data=d, metadata=m) for d, m in fig.outputs()]
    nb.cells = [nbformat.v4.new_markdown_cell("# Chương"), cell]
    nbformat.write(nb, str(tmp_path / "raw.ipynb"))
    md = chapter_markdown(prepare(tmp_path / "raw.ipynb", tmp_path / "w" / "01-x.ipynb"), tmp_path / "w").read_text()
    assert md.count("Bảng 1\\.1\\. Thử") == 1 and md.count("<b>") == 0 and "\\<b\\>A\\<\\/b\\>" in md
    assert md.count("^[ghi chú") == 1
    assert md.count("![Hình 1\\.1\\. Hình thử](media/") == 1 and md.count("Hình thử") == 1


def test_text_lists_and_tables_show_as_ipythons_formatters_would_show_them():
    """Text, Bullets and Table publish their representations directly; a notebook gets the same
    output IPython's formatters make of them: plain text, HTML, Markdown, no metadata."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    shell = InteractiveShell.instance()
    frame = pd.DataFrame({"Chỉ tiêu": ["Tốc độ <b>di động</b>", "Tỷ lệ\r\nhộ"], "Giá trị": ["72,05%", "3.348.092"]})
    objects = [Text("Câu <script>", Note("ghi chú"), Sentence("Câu hai.")), Text("dòng\r\nhai\n"),
               Bullets(["một", Text("hai", Note("n"))]),
               Table(frame, "Bảng 2.1", "Chú thích *đậm*", "Nguồn A")]
    for obj in objects:
        expected = {}
        for kind, formatter in shell.display_formatter.formatters.items():
            value = formatter(obj)
            if value is not None:
                expected[kind] = value
        with capture_output() as captured:
            from IPython.display import display

            display(obj)
        (shown,) = captured.outputs
        assert shown.data == expected and set(expected) == {"text/plain", "text/html", "text/markdown"}
        assert not shown.metadata


def test_text_measured_once_per_process_draws_the_same_pixels_as_matplotlibs_own_cache(monkeypatch):
    """The shared text measurements (`charts._share_text_metrics`) change no byte of a chart: each
    kind of chart, with long wrapped labels, Vietnamese text, units and a target, drawn with the
    shared measurements and again with matplotlib's per-renderer cache."""
    import matplotlib.text as mtext

    assert getattr(mtext._get_text_metrics_function, "dxreport", False)  # installed on import
    labels = [f"Chỉ tiêu số {i}: tỷ lệ hồ sơ trực tuyến toàn trình của cấp xã" for i in range(7)]
    bars = pd.DataFrame({"name": labels, "value": [12.5, 40.0, 77.25, 100.0, 3.0, 55.5, 61.0]})
    score = pd.DataFrame({"pillar": ["Chính quyền số", "Kinh tế số", "Xã hội số"], "Đạt": [3, 1, 0],
                          "Chưa đạt": [1, 2, 4], "Chưa có số liệu": [0, 1, 2]})
    trend = pd.DataFrame({"d": pd.to_datetime(["2021-12-31", "2022-12-31", "2023-12-31"]), "v": [1.5, 2.5, 3.25]})

    def draw() -> list[bytes]:
        return [charts.png(charts.bars(bars, "name", "value", "%", target=80)),
                charts.png(charts.scorecard(score)),
                charts.png(charts.trend(trend, "d", "v", "%", target=3.0)),
                charts.png(charts.changes(labels[:3], [1.5, -2.0, 0.0], ["+1,5", "−2", "0"], "Điểm"))]

    shared = draw()
    own = mtext._get_text_metrics_function.__wrapped_original__ if hasattr(
        mtext._get_text_metrics_function, "__wrapped_original__") else None
    assert own is not None
    monkeypatch.setattr(mtext, "_get_text_metrics_function", own)
    assert draw() == shared
