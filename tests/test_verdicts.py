"""The report agrees with the review it reproduces (000, Nghệ An's one-year review, dated 31/8/2023),
refuses periods that have not ended, and marks old figures.

These tests read the real `data/`: they pin what the 2023-Q3 report says about every target of
appendix 5 and every task of appendices 3–4 of 000.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from dxreport import narrative, periods, sections, selection
from dxreport.chapter import item_label, open_chapter
from dxreport.display import Bullets, Table, Text
from dxreport.errors import PeriodError

from conftest import REPO, append_row

TODAY = "2026-11-24"

# Appendix 5 of 000, as printed: item -> verdict.
PL5 = {
    "I.1": "Đạt", "I.2": "Đạt", "I.3": "Dự kiến đạt", "I.4": "Chưa đạt", "I.5": "Đạt", "I.6": "Chưa đạt",
    "I.7": "Đạt", "I.8": "Đạt", "I.9": "Đạt", "I.10": "Đạt", "I.11": "Chưa đạt",
    "II.1": "Chưa đạt", "II.2": "Chưa đạt", "II.3": "Đạt", "II.4": "Chưa đạt", "II.5": "Chưa đạt", "II.6": "Đạt",
    "III.1": "Chưa đạt", "III.2": "Chưa đạt", "III.3": "Đạt",
}
# Appendix 4 of 000: the tasks assessed "Chưa hoàn thành" (all others "Hoàn thành"), and among
# them those whose status reads "Chưa triển khai".
PL4_NOT_DONE = {"I.13", "I.15", "I.16", "II.3", "II.6", "IV.1", "IV.2", "IV.3", "IV.5", "IV.7", "IV.8", "IV.9"}
PL4_NOT_STARTED = {"IV.2", "IV.3", "IV.5", "IV.7", "IV.8"}


@pytest.fixture(autouse=True)
def today(monkeypatch):
    monkeypatch.setenv("DXREPORT_TODAY", TODAY)
    monkeypatch.delenv("DXREPORT_OLD_MONTHS", raising=False)


def _tables(objects) -> list[Table]:
    return [o for o in objects if isinstance(o, Table)]


def _texts(objects) -> str:
    return "\n".join(o.plain for o in objects if isinstance(o, (Text, Bullets)))


# -- targets -----------------------------------------------------------------------------------

def test_every_appendix_5_target_has_the_reviews_verdict_in_2023_q3():
    ch = open_chapter("phu-luc", "nghe-an", "2023-Q3")
    items = {i.label: i for i in ch.target_items() if i.plan == "09-NQ/TU; 586/KH-UBND"}
    assert set(items) == set(PL5)
    assert {label: item.status for label, item in items.items()} == PL5
    assert all(item.basis == "review" for item in items.values())
    # the three targets without statistics carry the province's reason
    for label in ("II.5", "III.1", "III.2"):
        assert items[label].reason == selection.NO_STATISTICS
    # and the appendix table prints exactly that, one row per item, numbered as the plan
    table = _tables(sections.appendix_targets(ch))[0].frame
    assert list(table["TT"]) == list(PL5)
    verdicts = dict(zip(table["TT"], table["Đánh giá"]))
    assert verdicts["I.3"] == "Dự kiến đạt chỉ tiêu trong năm 2023"
    assert verdicts["III.1"] == "Chưa đạt (chưa có số liệu thống kê)"
    assert all(verdicts[k].startswith(v) for k, v in PL5.items())
    # the target column is the plan's wording
    assert table.loc[table["TT"] == "I.6", "Mục tiêu"].item().startswith("Tỷ lệ hồ sơ giải quyết theo dịch vụ công")


def test_the_review_does_not_speak_for_a_period_it_does_not_cover():
    ch = open_chapter("phu-luc", "nghe-an", "2023-Q4")
    items = {i.label: i for i in ch.target_items() if i.plan == "09-NQ/TU; 586/KH-UBND"}
    assert all(i.basis == "data" for i in items.values())
    # before the 2025 deadline, a missed target is not yet due; without statistics, no data
    assert items["I.6"].status == selection.NOT_DUE
    assert items["III.1"].status == selection.NO_DATA
    # the review's word stands beside it for comparison
    table = _tables(sections.appendix_targets(ch))[0].frame
    assert table.loc[table["TT"] == "I.6", "Báo cáo của tỉnh"].item() == "Chưa đạt (31/8/2023)"


def test_not_yet_due_shows_the_gap_and_the_time_left():
    ch = open_chapter("ha-tang-so", "nghe-an", "2023-Q3")
    target = ch.data.targets.set_index("target_id").loc["sk586-i2-01"].copy()
    target["target_id"] = "sk586-i2-01"
    ev = ch.evaluate(target)
    assert ev.status == selection.NOT_DUE
    assert ev.reason == "còn thiếu 1,66 điểm phần trăm, còn 15 tháng đến hạn 31/12/2024"
    # once the deadline has come, the same figure is "Chưa đạt"
    late = selection.verdict(target, ev.obs, date(2024, 10, 1), date(2024, 12, 31),
                             policy=periods.Policy(old_after_months=24))
    assert late.status == selection.NOT_MET
    # ... unless the figure is too old by then to say anything
    assert selection.verdict(target, ev.obs, date(2024, 10, 1), date(2024, 12, 31)).status == selection.NO_DATA


def test_no_statistics_after_the_deadline_is_not_met_with_the_reason():
    ch = open_chapter("phu-luc", "nghe-an", "2023-Q3")
    target = ch.data.targets.set_index("target_id").loc["nq09-xhs-01"].copy()
    target["target_id"] = "nq09-xhs-01"
    ev = selection.verdict(target, None, date(2025, 10, 1), date(2025, 12, 31))
    assert (ev.status, ev.reason) == (selection.NOT_MET, "chưa có số liệu thống kê")
    early = selection.verdict(target, None, date(2024, 1, 1), date(2024, 12, 31))
    assert early.status == selection.NO_DATA


@pytest.mark.parametrize("period", ["2023-Q3", "2023", "2025", "2025-Q4"])
def test_plan_1174_is_not_assessed_before_it_was_issued(period):
    ch = open_chapter("phu-luc", "nghe-an", period)
    assert "1174/KH-UBND" not in set(ch.targets()["plan"])
    assert "1174/KH-UBND" not in _texts(sections.appendix_targets(ch)) + " ".join(
        t.caption for t in _tables(sections.appendix_targets(ch)))


def test_plan_1174_is_assessed_after_it_was_issued():
    ch = open_chapter("phu-luc", "nghe-an", "2026-Q1")
    assert "1174/KH-UBND" in set(ch.targets()["plan"])


def test_one_target_one_row_and_the_village_target_reads_one_commune_per_district():
    ch = open_chapter("phu-luc", "nghe-an", "2023-Q3")
    rows = pd.concat([t.frame for t in _tables(sections.appendix_targets(ch))])
    assert rows["Mục tiêu"].str.contains("mỗi huyện, thành, thị").sum() == 1
    assert rows["Mục tiêu"].str.contains("90% hồ sơ công việc tại cấp tỉnh").sum() == 1
    target = ch.data.targets.set_index("target_id").loc["sk586-i5-01"]
    assert target["value"] == 21  # 21 district-level units × 01 xã, not "≥ 1 xã"
    # no result sentence stands in the target column
    assert not rows["Mục tiêu"].str.contains("đã kích hoạt").any()


def test_item_labels_are_the_plans_own_numbers():
    assert item_label("PL5 I.3") == "I.3"
    assert item_label("PL01 mục 12") == "12"
    assert item_label("mục 3") == "3"
    assert item_label("báo cáo sơ kết mục I.5") == ""


def test_tallies_are_reconciled_and_the_news_item_is_cited_as_news():
    ch = open_chapter("tong-quan", "nghe-an", "2023-Q3")
    text = _texts(sections.own_tally(ch))
    assert "chính quyền số đạt 7/11 mục tiêu và 1 mục tiêu dự kiến đạt" in text
    assert "kinh tế số đạt 2/6 mục tiêu" in text and "xã hội số đạt 1/3 mục tiêu" in text
    assert "mục I.3 (báo cáo: dự kiến đạt, số liệu: chưa có số liệu)" in text
    news = [o.plain for o in sections.own_tally(ch) if isinstance(o, Text) and "8/11" in o.plain]
    assert len(news) == 1 and news[0].startswith("Tin bài") and "báo cáo của tỉnh" not in news[0]


def test_public_text_does_not_name_the_tool():
    ch = open_chapter("tong-quan", "nghe-an", "2023-Q3")
    _, blocks = sections.scorecard(ch)
    captions = " ".join(getattr(o, "caption", "") + " " + getattr(o, "source", "") for o in blocks)
    assert "dxreport" not in (captions + _texts(blocks)).lower()
    ph = open_chapter("phu-luc", "nghe-an", "2023-Q3")
    assert "dxreport" not in _texts(sections.appendix_targets(ph)).lower()


# -- tasks -------------------------------------------------------------------------------------

def test_every_appendix_3_and_4_task_keeps_the_sources_status():
    ch = open_chapter("phu-luc", "nghe-an", "2023-Q3")
    rows = sections.task_frame(ch)
    pl4 = rows[rows["appendix"] == "PL4"]
    assert len(pl4) == 38
    for _, r in pl4.iterrows():
        key = f"{r['section'].split()[0]}.{r['task_no']}"
        expected = "Chưa hoàn thành" if key in PL4_NOT_DONE else "Hoàn thành"
        assert r["state"] == expected, key
        if key in PL4_NOT_STARTED:
            assert r["status_text"] == "Chưa triển khai", key
    pl3 = rows[rows["appendix"] == "PL3"]
    assert list(pl3["task_no"]) == ["1", "2", "3", "4", "5", "6"]
    assert set(pl3["state"]) == {"Chưa đánh giá"}  # appendix 3 reports results, no verdicts


def test_tasks_are_grouped_under_the_appendix_headings_and_numbered_as_the_source():
    ch = open_chapter("phu-luc", "nghe-an", "2023-Q3")
    tables = {t.caption: t.frame for t in _tables(sections.appendix_tasks(ch))}
    pl4 = tables["Nhiệm vụ theo 586/KH-UBND (PL4)"]
    headings = pl4[pl4["TT"].isin(["I", "II", "III", "IV"])]
    assert list(headings["Nhiệm vụ"]) == ["CHÍNH QUYỀN SỐ", "BẢO ĐẢM AN TOÀN THÔNG TIN",
                                          "PHÁT TRIỂN NHÂN LỰC CHUYỂN ĐỔI SỐ", "CHUYỂN ĐỔI SỐ CÁC LĨNH VỰC"]
    assert list(pl4["TT"][:3]) == ["I", "1", "2"]
    assert "Đang thực hiện" not in set(pl4["Đánh giá"])
    pl3 = tables["Nhiệm vụ theo 586/KH-UBND (PL3)"]
    assert "Đánh giá" not in pl3.columns  # the source gives none: the empty column is dropped


def test_overdue_only_when_nothing_shows_the_task_done():
    ch = open_chapter("nhiem-vu-kinh-phi", "nghe-an", "2023-Q4")
    rows = sections.task_frame(ch).set_index("task_id")
    assert rows.loc["cv6828-t1-1", "state"] == "Đã triển khai"  # 100% set up (000 I.1)
    assert rows.loc["cv6828-t1-5", "state"] == "Đã triển khai"  # 460 and 3.793 teams (000 I.3)
    assert rows.loc["cv6828-t1-4", "state"] == "Quá hạn"  # deadline 30/9/2023, nothing reported
    assert rows.loc["kh586-pl4-II-03", "state"] == "Chưa hoàn thành"  # due 31/12/2023: not yet past
    later = sections.task_frame(open_chapter("nhiem-vu-kinh-phi", "nghe-an", "2024-Q1")).set_index("task_id")
    assert later.loc["kh586-pl4-II-03", "state"] == "Quá hạn"  # "Chưa hoàn thành" and the deadline passed
    assert later.loc["kh586-pl4-I-01", "state"] == "Hoàn thành"


def test_ha_tinh_has_the_one_task_of_003():
    ch = open_chapter("nhiem-vu-kinh-phi", "ha-tinh", "2023-10")
    text = _texts(sections.tasks(ch))
    assert "Chưa có nhiệm vụ nào" not in text
    rows = sections.task_frame(ch)
    assert len(rows) == 1 and rows["state"].item() == "Chưa hoàn thành"


# -- periods and old figures ---------------------------------------------------------------------

def test_a_future_period_is_refused_with_a_clear_message():
    with pytest.raises(PeriodError) as err:
        periods.report_period("2030-Q1", on=date(2026, 11, 24))
    assert "2030-Q1" in str(err.value) and "chưa kết thúc" in str(err.value)
    with pytest.raises(PeriodError):
        open_chapter("tong-quan", "nghe-an", "2030-Q1")
    with pytest.raises(PeriodError):  # the current, unfinished quarter too
        periods.report_period("2026-Q4", on=date(2026, 11, 24))
    assert periods.report_period("2026-Q3", on=date(2026, 11, 24)).code == "2026-Q3"


def test_build_refuses_a_future_period_before_doing_anything(tmp_path):
    from dxreport.build import build

    with pytest.raises(PeriodError):
        build("nghe-an", "2030-Q1", root=REPO, progress=False)


def test_default_period_is_the_latest_mostly_current_one():
    ch = open_chapter("tong-quan", "nghe-an")
    assert ch.period.code == "2023-Q4"  # 2025-Q4 holds mostly 2023 figures
    rows = [(("a", ""), date(2023, 8, 31)), (("b", ""), date(2023, 8, 31)), (("c", ""), date(2025, 10, 1))]
    assert periods.mostly_current_default(rows, on=date(2026, 1, 1)).code == "2023-Q3"
    rows += [(("a", ""), date(2025, 10, 1))]
    assert periods.mostly_current_default(rows, on=date(2026, 1, 1)).code == "2025-Q4"
    # a quarter that has not ended is never the default
    assert periods.mostly_current_default(rows, on=date(2025, 11, 1)).code == "2023-Q3"


def test_policy_threshold_has_one_default_and_can_be_overridden(monkeypatch):
    assert periods.Policy().old_after_months == 12
    assert periods.Policy().old_before(date(2025, 12, 31)) == date(2024, 12, 31)
    monkeypatch.setenv("DXREPORT_OLD_MONTHS", "36")
    assert periods.Policy.from_env().old_after_months == 36
    monkeypatch.setenv("DXREPORT_OLD_MONTHS", "mười")
    with pytest.raises(PeriodError):
        periods.Policy.from_env()


def test_old_figures_are_marked_and_give_no_verdict_and_no_trend(data_dir, monkeypatch):
    ch = open_chapter("ha-tang-so", "nghe-an", "2025-Q4", data_dir)
    text = ch.sentence("bbdd_toc_do")
    assert "30,25 Mbps (tính đến 30/8/2023; số liệu cũ)" in text
    assert "tăng" not in text and "so với" not in text
    target = ch.target_for("bbdd_toc_do")
    ev = ch.evaluate(target)
    assert ev.status == selection.NO_DATA and ev.old and "số liệu cũ" in ev.reason
    row = sections._row(ch, "bbdd_toc_do")
    assert row[2] == "30/8/2023 (số liệu cũ)"
    # with a longer threshold the same figure is current again
    monkeypatch.setenv("DXREPORT_OLD_MONTHS", "36")
    again = open_chapter("ha-tang-so", "nghe-an", "2025-Q4", data_dir)
    assert again.evaluate(target).status == selection.MET


def test_the_cli_warns_when_most_figures_are_old(data_dir, capsys, monkeypatch):
    from dxreport.build import _series_dates

    rows = _series_dates(REPO / "data", "nghe-an")
    warning = periods.staleness_warning(rows, periods.parse("2025-Q4"))
    assert "số liệu cũ" in warning and "2025-Q4" in warning
    assert periods.staleness_warning(rows, periods.parse("2023-Q3")) == ""


def test_no_trend_between_a_rounded_figure_and_an_exact_one(data_dir):
    path = data_dir / "observations.csv"
    common = dict(province="nghe-an", indicator_id="ho_gd_cap_quang", unit="%",
                  source="000_0000000000000000.txt: giả lập")
    append_row(path, as_of="2023-09-10", value="62.75", **common)
    ch = open_chapter("ha-tang-so", "nghe-an", "2023-Q3", data_dir)
    assert "tăng 2,25 điểm phần trăm so với 60,5%" in ch.sentence("ho_gd_cap_quang")
    append_row(path, as_of="2023-09-20", value="63", precision="1", **common)  # "63%", rounded
    ch = open_chapter("ha-tang-so", "nghe-an", "2023-Q3", data_dir)
    assert "so với" not in ch.sentence("ho_gd_cap_quang")


def test_rank_change_is_against_the_year_before_never_the_first_year(data_dir):
    path = data_dir / "observations.csv"
    common = dict(province="nghe-an", indicator_id="dti_xep_hang", unit="hạng", denominator="63",
                  source="000_0000000000000000.txt: giả lập")
    append_row(path, as_of="2020-12-31", value="36", **common)  # the fixture holds 52 for 2022
    ch = open_chapter("tong-quan", "nghe-an", "2023-Q3", data_dir)
    assert "so với" not in ch.sentence("dti_xep_hang")
    append_row(path, as_of="2021-12-31", value="55", **common)
    ch = open_chapter("tong-quan", "nghe-an", "2023-Q3", data_dir)
    assert "tăng 3 bậc so với năm 2021 (hạng 55)" in ch.sentence("dti_xep_hang")


def test_district_breakdowns_after_the_reform_are_history(data_dir):
    path = data_dir / "observations.csv"
    append_row(path, province="nghe-an", indicator_id="ho_gd_cap_quang", breakdown="cấp huyện", as_of="2024-12-31",
               value="70", unit="%", source="000_0000000000000000.txt: giả lập")
    ch = open_chapter("ha-tang-so", "nghe-an", "2025-Q3", data_dir)
    row = sections._row(ch, "ho_gd_cap_quang", "cấp huyện")
    assert "trước 1/7/2025" in row[0] and row[4] == ""
    before = open_chapter("ha-tang-so", "nghe-an", "2025-Q2", data_dir)
    assert "trước 1/7/2025" not in sections._row(before, "ho_gd_cap_quang", "cấp huyện")[0]


# -- figures and tables ----------------------------------------------------------------------------

def test_funding_ratio_prints_the_computed_share():
    ch = open_chapter("chinh-quyen-so", "nghe-an", "2023-Q3")
    obs = ch.latest("ty_le_kinh_phi_bo_tri_kh586")
    assert narrative.figure_text(obs, "tỷ đồng") == "20,29% (115,818/570,76 tỷ đồng)"
    assert "20,03" in obs.note  # the source's print stays in the data note


def test_natural_sort_and_no_all_full_chart():
    from dxreport.charts import all_full
    from dxreport.fmt import natural_key

    labels = ["(1)", "(10)", "(11)", "(2)"]
    assert sorted(labels, key=natural_key) == ["(1)", "(2)", "(10)", "(11)"]
    assert all_full([100, 100.0], "%") and not all_full([100, 99], "%") and not all_full([100], "xã")


def test_empty_columns_are_dropped(data_dir):
    ch = open_chapter("ha-tang-so", "nghe-an", "2023-Q3", data_dir)
    frame = pd.DataFrame([["a", "1", "", ""]], columns=["Chỉ tiêu", "Kết quả", "Mục tiêu", "Đánh giá"])
    table = sections._table(ch, frame, "x", "y", ["l", "r", "r", "l"], [40, 20, 20, 20])
    assert list(table.frame.columns) == ["Chỉ tiêu", "Kết quả"] and table.align == ["l", "r"]
    assert table.widths == [67, 33]  # the columns kept share the whole width, 40 : 20 as asked


def test_provinces_are_compared_only_on_the_same_definition():
    ch = open_chapter("tong-quan", "nghe-an", "2025-Q4")
    mine = selection.Obs("nghe-an", "dti_xep_hang", "", date(2024, 12, 31), None, 20, "", "hạng", None, 63, "", "")
    theirs = selection.Obs("ha-tinh", "dti_xep_hang", "", date(2024, 12, 31), None, 7, "", "hạng", None, 34, "", "")
    assert not sections._comparable(ch, mine, theirs)
    same = selection.Obs("ha-tinh", "dti_xep_hang", "", date(2024, 12, 31), None, 11, "", "hạng", None, 63, "", "")
    assert sections._comparable(ch, mine, same)


def test_cli_prints_the_librarys_warnings(monkeypatch, capsys, tmp_path):
    from dxreport import build as build_module
    from dxreport import cli
    from dxreport.build import BuildResult

    seen = {}

    def fake_build(province, period, *args, **kwargs):
        import os

        seen["months"] = os.environ.get("DXREPORT_OLD_MONTHS")
        return BuildResult(province, period, tmp_path, "pandoc", warnings=["400/450 số liệu của kỳ 2025-Q4 ..."])

    monkeypatch.setattr(build_module, "build", fake_build)
    monkeypatch.setenv("DXREPORT_OLD_MONTHS", "12")  # the CLI sets it: undone after the test
    assert cli.main(["build", "--period", "2025-Q4", "--old-months", "18", "--no-progress"]) == 0
    assert "Cảnh báo: 400/450 số liệu của kỳ 2025-Q4" in capsys.readouterr().err
    assert seen["months"] == "18"


def test_dti_sentence_on_the_real_data_agrees_with_000():
    """000 II.1: "52/63 ..., tăng 03 bậc so với năm 2021". With the 2021 rank in the data the
    sentence says so; without it, it compares with nothing (never with 2020's 36)."""
    ch = open_chapter("tong-quan", "nghe-an", "2023-Q3")
    text = ch.sentence("dti_xep_hang").split("^[")[0]  # the sentence, without its data note
    assert "52/63" in text and "2020" not in text and "giảm" not in text
    assert "tăng 3 bậc so với năm 2021 (hạng 55)" in text  # the 2021 rank derived from 000's own sentence


def test_a_task_of_a_plan_without_an_issue_date_speaks_from_its_year():
    assert sections.task_frame(open_chapter("nhiem-vu-kinh-phi", "ha-tinh", "2021-Q1")).empty
    assert len(sections.task_frame(open_chapter("nhiem-vu-kinh-phi", "ha-tinh", "2023-Q1"))) == 1
