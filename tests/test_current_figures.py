"""A report for a period states the period's figures; old ones are listed once per chapter.

A figure older than the policy's threshold (`periods.Policy`, 12 months) is not a result of the
period: the sections' sentences, bullets, tables and breakdown charts leave it out, and the
chapter's closing table "Chỉ tiêu chưa có số liệu cập nhật trong kỳ" lists it with its date.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import pandas as pd
import pytest

from dxreport import periods, sections, selection
from dxreport.chapter import open_chapter
from dxreport.chapters import CHAPTERS
from dxreport.display import Figure, Table

from conftest import append_row

THEMATIC = [c.slug for c in CHAPTERS if c.sections]
DATED = re.compile(r"tính đến (?:ngày )?(\d{1,2})/(\d{1,2})/(\d{4})")


def plain(obj) -> str:
    if isinstance(obj, Table):
        return "\n".join([obj.title, obj.source] + [" | ".join(map(str, r)) for r in obj.frame.itertuples(index=False)])
    if isinstance(obj, Figure):
        return obj.title
    text = obj.plain
    return text() if callable(text) else text


def chapter_blocks(slug: str, province: str, period: str, data_dir=None):
    ch = open_chapter(slug, province, period, data_dir)
    blocks = list(ch.intro())
    for section in ch.spec.sections:
        blocks += [(section.slug, b) for b in ch.section(section.slug)]
    return ch, [b if isinstance(b, tuple) else ("intro", b) for b in blocks]


@pytest.fixture(scope="module")
def report_2025():
    """The thematic chapters of both provinces' 2025 reports, built from the real data."""
    return {(p, slug): chapter_blocks(slug, p, "2025") for p in ("nghe-an", "ha-tinh") for slug in THEMATIC}


def _stale_tables(blocks):
    return [b for _, b in blocks if isinstance(b, Table) and b.caption == sections.STALE_TITLE]


@pytest.mark.parametrize("province", ["nghe-an", "ha-tinh"])
def test_the_2025_report_states_mostly_2025_figures(report_2025, province):
    years = Counter()
    for slug in THEMATIC:
        _, blocks = report_2025[(province, slug)]
        years.update(int(m[2]) for _, b in blocks for m in DATED.findall(plain(b)))
    assert years[2025] > 0
    assert years[2025] > sum(n for y, n in years.items() if y != 2025), years


@pytest.mark.parametrize("province", ["nghe-an", "ha-tinh"])
def test_old_figures_appear_only_in_the_closing_table_with_their_dates(report_2025, province):
    cut = periods.Policy().old_before(periods.parse("2025").end)
    listed_somewhere = 0
    for slug in THEMATIC:
        ch, blocks = report_2025[(province, slug)]
        stale = _stale_tables(blocks)
        old = [(k, v) for k, v in ch.shown if v.endswith("(số liệu cũ)")]
        assert len(stale) == (1 if old else 0), slug  # once per chapter, only when there is something to list
        if not old:
            continue
        listed_somewhere += 1
        assert blocks[-1][1] is stale[0] and blocks[-1][0] == "khac"  # at the chapter's end
        assert list(stale[0].frame.columns) == ["Chỉ tiêu", "Số liệu gần nhất", "Ngày số liệu"]  # no verdict, no trend
        dates = {date(int(y), int(m), int(d)) for d, m, y in
                 (s.split("/") for s in stale[0].frame["Ngày số liệu"])}
        assert all(d < cut for d in dates)
        for key, value in old:  # each old figure of the chapter is listed in that table with its date
            figure, when = value.removesuffix(" (số liệu cũ)").rsplit(" @ ", 1)
            hits = stale[0].frame[stale[0].frame["Số liệu gần nhất"].str.contains(figure, regex=False)]
            assert not hits.empty, (slug, key, value)
        # the sentence before the table counts the indicators and names the threshold date
        intro = plain(blocks[-2][1])
        assert f"chưa có số liệu cập nhật kể từ ngày {cut.day}/{cut.month}/{cut.year}" in intro
        assert intro.startswith(f"{len({k.split('/')[0] for k, _ in old})} chỉ tiêu")
        # nowhere else: no block other than that table states a date before the threshold
        for section, block in blocks:
            if block is stale[0] or isinstance(block, Figure):
                continue
            for d, m, y in DATED.findall(plain(block)):
                assert date(int(y), int(m), int(d)) >= cut, (slug, section, plain(block))
            assert "(số liệu cũ)" not in plain(block), (slug, section)
    assert listed_somewhere  # the 2025 data does hold old figures: the test is not vacuous


def test_a_closing_table_with_a_passage_of_text_reads_left_aligned_in_a_wider_column(report_2025):
    """Numbers stay right-aligned; a figure that is a passage of text (a list of services with
    their rates) would otherwise run down a narrow ragged-left strip over several pages."""
    tables = [t for (_, _), (_, blocks) in report_2025.items() for t in _stale_tables(blocks)]
    long_ones = [t for t in tables if t.frame["Số liệu gần nhất"].str.len().max() > sections.LONG_FIGURE]
    short_ones = [t for t in tables if all(t is not other for other in long_ones)]
    assert long_ones and short_ones  # the 2025 data holds both: the test is not vacuous
    for table in long_ones:
        assert table.align == ["l", "l", "r"] and table.widths[1] > table.widths[0]
    for table in short_ones:
        assert table.align == ["l", "r", "r"] and table.widths[1] < table.widths[0]


def test_a_section_without_current_figures_says_so_in_one_sentence(report_2025):
    _, blocks = report_2025[("nghe-an", "xa-hoi-so")]
    y_te = [b for s, b in blocks if s == "y-te-so"]
    assert len(y_te) == 1
    assert plain(y_te[0]).startswith("Chưa có số liệu cập nhật cho mục này trong năm 2025")
    assert sections.STALE_TITLE in plain(y_te[0])


def test_a_target_whose_only_figure_is_old_keeps_its_verdict_without_the_old_figure(data_dir):
    ch = open_chapter("ha-tang-so", "nghe-an", "2025-Q4", data_dir)
    ev = ch.evaluate(ch.target_for("bbdd_toc_do"))
    assert ev.old and ev.status == selection.NO_DATA  # the verdict rules are unchanged
    table = next(b for b in ch.section("di-dong") if isinstance(b, Table))
    row = table.frame[table.frame["Chỉ tiêu"] == ch.indicator("bbdd_toc_do")["name_vi"]].iloc[0]
    assert row["Kết quả"] == sections.NOT_UPDATED
    assert "30,25" not in " ".join(row.astype(str)) and "2023" not in " ".join(row.astype(str))
    assert row["Đánh giá"].startswith(selection.NO_DATA)
    closing = _stale_tables([("khac", b) for b in ch.section("khac")])[0]
    assert ["30,25 Mbps", "30/8/2023"] in closing.frame.iloc[:, 1:].values.tolist()


def test_charts_draw_only_current_breakdowns_and_no_trend_ending_on_an_old_figure(data_dir):
    path = data_dir / "observations.csv"
    common = dict(province="nghe-an", indicator_id="ho_gd_cap_quang", unit="%",
                  source="000_0000000000000000.txt: giả lập")
    ch = open_chapter("ha-tang-so", "nghe-an", "2025-Q4", data_dir)
    assert ch.history("ho_gd_cap_quang")["as_of"].max().year < 2025
    assert sections.chart_for(ch, "ho_gd_cap_quang") == []  # its history ends on an old figure
    append_row(path, as_of="2025-10-31", value="80", **common)
    ch = open_chapter("ha-tang-so", "nghe-an", "2025-Q4", data_dir)
    charts = sections.chart_for(ch, "ho_gd_cap_quang")
    assert len(charts) == 1 and charts[0].caption.endswith("đến 31/10/2025")
    # breakdowns: one current level and two old ones draw no breakdown chart (one point is not a chart)
    for level, day, value in (("thành thị", "2025-11-30", "90"), ("nông thôn", "2023-06-30", "40"),
                              ("miền núi", "2023-06-30", "30")):
        append_row(path, breakdown=level, as_of=day, value=value, **common)
    ch = open_chapter("ha-tang-so", "nghe-an", "2025-Q4", data_dir)
    assert not any("theo phân tổ" in f.caption for f in sections.chart_for(ch, "ho_gd_cap_quang"))
    append_row(path, breakdown="miền núi", as_of="2025-12-01", value="60", **common)
    ch = open_chapter("ha-tang-so", "nghe-an", "2025-Q4", data_dir)
    by_level = [f for f in sections.chart_for(ch, "ho_gd_cap_quang") if "theo phân tổ" in f.caption]
    assert len(by_level) == 1 and "1/12/2025" in by_level[0].caption


def test_the_reference_period_has_no_old_figures_and_no_closing_table():
    for slug in THEMATIC:
        ch, blocks = chapter_blocks(slug, "nghe-an", "2023-Q3")
        assert not _stale_tables(blocks), slug
        assert not any(v.endswith("(số liệu cũ)") for _, v in ch.shown), slug


def test_overview_and_appendix_do_not_present_old_figures_as_the_periods():
    ch = open_chapter("tong-quan", "nghe-an", "2025")
    rank = next(b for b in sections.dti(ch) if isinstance(b, Figure))
    assert ch.is_old(ch.latest("dti_xep_hang"))
    assert f"xếp hạng gần nhất trong dữ liệu là năm {ch.latest('dti_xep_hang').as_of.year} (số liệu cũ)" in rank.caption
    appendix = open_chapter("phu-luc", "nghe-an", "2025")
    cells = " ".join(plain(t) for t in sections.appendix_targets(appendix) if isinstance(t, Table))
    assert "(31/8/2023; số liệu cũ)" in cells  # the result gives the old figure's date once …
    assert "Chưa có số liệu (chỉ có số liệu cũ)" in cells and "cũ (tính đến" not in cells  # … not the verdict


def test_the_scorecard_names_each_plan_once():
    """A target citing two plans ("09-NQ/TU; 586/KH-UBND") beside targets of one of them: the
    source line names 586/KH-UBND once, not "09-NQ/TU; 586/KH-UBND, 586/KH-UBND"."""
    ch = open_chapter("tong-quan", "nghe-an", "2025")
    plans = {p.strip() for i in ch.target_items() for p in str(i.plan).split(";")}
    assert {"09-NQ/TU", "586/KH-UBND"} <= plans  # the real data has the joint citation
    _, blocks = sections.scorecard(ch)
    figure, table = blocks[1], blocks[2]
    for line in (figure.source, table.source):
        cited = re.split(r"mục tiêu của |Mục tiêu: ", line, maxsplit=1)[1].split(", ")
        assert len(cited) == len(set(cited)) and "586/KH-UBND" in cited and "09-NQ/TU" in cited, line


def test_chapters_of_one_period_share_its_tables_and_never_another_periods(data_dir):
    """The tables a chapter derives from the data, the province and the period are kept on the
    data: the next chapter of the same period reuses them; another period or province gets its
    own, and only the two most recent periods are kept."""
    first = open_chapter("ha-tang-so", "nghe-an", "2025-Q4", data_dir)
    second = open_chapter("nhan-luc-so", "nghe-an", "2025-Q4", data_dir)
    assert first.data is second.data
    assert second._series_index() is first._series_index()
    assert second.targets() is first.targets()
    assert set(first.targets()["province"]) == {"nghe-an"}
    series = first._series_index()
    other_period = open_chapter("ha-tang-so", "nghe-an", "2024", data_dir)
    assert other_period._series_index() is not series
    assert other_period._series_index()[0]["as_of"].max() <= pd.Timestamp("2024-12-31")
    other_province = open_chapter("ha-tang-so", "ha-tinh", "2025-Q4", data_dir)
    assert set(other_province.targets()["province"]) <= {"ha-tinh"}
    assert len(first.data._derived) == first.data.DERIVED_PERIODS  # Nghệ An 2025-Q4, the oldest, went
    assert ("nghe-an", first.period.start, first.period.end) not in first.data._derived
    again = open_chapter("ha-tang-so", "nghe-an", "2025-Q4", data_dir)
    assert again.latest("bts") == first.latest("bts")  # computed anew, the same figure
