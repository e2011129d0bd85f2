"""What keeps a build of a data set many times today's bounded: the chapter's series index, and
tables and charts that print a bounded part of thousands of rows and say so. (Speed and memory
themselves are measured by `scripts/benchmark.py --scale 100`, never by a test.)"""

from __future__ import annotations

import pandas as pd

from conftest import REPO, append_row
from dxreport import chapter, sections, selection
from dxreport.chapter import open_chapter
from dxreport.display import Table, Text


def test_chapter_series_index_agrees_with_the_data_level_selection():
    ch = open_chapter("tong-quan", "nghe-an", "2025-Q4", str(REPO / "data"))
    obs = ch.data.observations
    keys = obs[["province", "indicator_id", "breakdown"]].drop_duplicates().itertuples(index=False)
    checked = 0
    for province, indicator_id, breakdown in keys:
        expected = selection.latest(obs, province, indicator_id, breakdown, until=ch.until)
        got = ch.latest(indicator_id, breakdown, province=province)
        assert got == expected, (province, indicator_id, breakdown)
        assert ch.previous(got) == selection.previous(obs, expected), (province, indicator_id, breakdown)
        history = ch.history(indicator_id, breakdown, province=province)
        assert list(history["as_of"]) == sorted(history["as_of"])
        assert (history["as_of"] <= pd.Timestamp(ch.until)).all()
        checked += expected is not None and ch.previous(got) is not None
    assert checked > 10  # many series with a previous figure were compared, not only empty ones
    assert ch.latest("khong_co_chi_tieu_nay") is None and ch.history("khong_co_chi_tieu_nay").empty


def test_a_long_table_is_cut_and_its_caption_says_how_many_rows_it_shows():
    frame = pd.DataFrame({"a": range(chapter.MAX_TABLE_ROWS + 1234)})
    cut, caption = chapter.bounded(frame, "Nhiệm vụ")
    assert list(cut["a"]) == list(range(chapter.MAX_TABLE_ROWS))
    assert caption == "Nhiệm vụ (100 dòng đầu trong tổng số 1.334 dòng)"
    same, caption = chapter.bounded(frame.iloc[:chapter.MAX_TABLE_ROWS], "Nhiệm vụ")
    assert len(same) == chapter.MAX_TABLE_ROWS and caption == "Nhiệm vụ"


def _forty_levels(data_dir):
    """The mobile-speed indicator with 40 breakdowns ("vùng 1" … "vùng 40"), its chapter opened."""
    for k in range(1, 41):
        append_row(data_dir / "observations.csv", province="nghe-an", indicator_id="bbdd_toc_do",
                   breakdown=f"vùng {k}", as_of="2023-08-30", value=str(k), unit="Mbps",
                   source="000_0000000000000000.txt: giả lập")
    return open_chapter("ha-tang-so", "nghe-an", "2023-Q3", str(data_dir))


def test_a_breakdown_chart_of_many_levels_draws_the_first_ones_and_says_so(data_dir):
    ch = _forty_levels(data_dir)
    figures = sections.chart_for(ch, "bbdd_toc_do")
    assert "theo phân tổ (30 phân tổ đầu trong tổng số 40)" in figures[0].caption
    assert sections.MAX_BARS == 30


def test_a_section_states_the_first_breakdowns_and_says_how_many_the_indicator_has(data_dir):
    ch = _forty_levels(data_dir)
    shown, total = sections.levels(ch, "bbdd_toc_do")
    assert total == 40 and shown == [f"vùng {k}" for k in range(1, 31)]  # natural order: 2 before 10
    objects = ch.section("di-dong")
    notes = [o.plain for o in objects if isinstance(o, Text)]
    assert "Tốc độ băng rộng di động: có 40 phân tổ; báo cáo chỉ nêu 30 phân tổ đầu." in notes
    table = next(o for o in objects if isinstance(o, Table)).frame
    stated = list(table["Chỉ tiêu"])
    assert "Tốc độ băng rộng di động — vùng 30" in stated and len(stated) == 30
