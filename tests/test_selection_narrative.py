"""Picking figures for a period, judging targets, and the sentences written from them."""

from __future__ import annotations

from datetime import date

from dxreport import narrative, selection
from dxreport.chapter import open_chapter
from dxreport.data import load


def target(data, target_id):
    return data.targets.set_index("target_id").loc[target_id].rename(target_id).to_frame().T.assign(
        target_id=target_id).iloc[0]


def test_latest_is_on_or_before_the_period_end_and_previous_is_the_one_before(data_dir):
    data = load(data_dir)
    obs = data.observations
    assert selection.latest(obs, "nghe-an", "bbdd_toc_do", until=date(2023, 6, 30)).value == 20.5
    latest = selection.latest(obs, "nghe-an", "bbdd_toc_do", until=date(2023, 9, 30))
    assert latest.value == 30.25 and latest.as_of == date(2023, 8, 30)
    assert selection.previous(obs, latest).value == 20.5
    assert selection.latest(obs, "nghe-an", "bbdd_toc_do", until=date(2022, 1, 1)) is None


def test_evaluate_met_missed_no_data_ratio_and_status(data_dir):
    data = load(data_dir)
    until = date(2023, 9, 30)
    verdicts = {t["target_id"]: selection.evaluate(t, data.observations, until).status
                for _, t in data.targets.iterrows()}
    # before their deadlines the missed targets are not yet due; a target without data is "no data"
    assert verdicts == {"t-met": "Đạt", "t-missed": "Chưa đến hạn", "t-nodata": "Chưa có số liệu",
                        "t-ratio": "Chưa đến hạn", "t-status": "Đạt"}
    # once t-missed's deadline (31/12/2023) has come, it is "Chưa đạt"
    late = {t["target_id"]: selection.evaluate(t, data.observations, date(2023, 12, 31)).status
            for _, t in data.targets.iterrows()}
    assert late["t-missed"] == "Chưa đạt" and late["t-ratio"] == "Chưa đến hạn"
    # before the first figure, a target has no data rather than a verdict of zero
    early = {t["target_id"]: selection.evaluate(t, data.observations, date(2022, 6, 30)).status
             for _, t in data.targets.iterrows()}
    assert set(early.values()) == {"Chưa có số liệu"}


def test_sentence_for_met_target_states_value_date_change_and_verdict(data_dir):
    ch = open_chapter("ha-tang-so", "nghe-an", "2023-Q3", data_dir)
    text = ch.sentence("bbdd_toc_do")
    assert text == ("Tốc độ băng rộng di động đạt 30,25 Mbps (tính đến 30/8/2023), tăng 9,75 Mbps so với "
                    "20,5 Mbps (31/12/2022). Mục tiêu ≥ 25 Mbps đến 31/12/2025 (KH-GIA-LAP): đạt.")


def test_sentence_for_missed_target_and_for_missing_data(data_dir):
    ch = open_chapter("ha-tang-so", "nghe-an", "2023-Q3", data_dir)
    assert ch.sentence("ho_gd_cap_quang").endswith(
        "Mục tiêu ≥ 75% đến 31/12/2023 (KH-GIA-LAP): chưa đến hạn (còn thiếu 14,5 điểm phần trăm, "
        "còn 3 tháng đến hạn 31/12/2023).")
    assert open_chapter("ha-tang-so", "nghe-an", "2023", data_dir).sentence("ho_gd_cap_quang").endswith(
        "Mục tiêu ≥ 75% đến 31/12/2023 (KH-GIA-LAP): chưa đạt.")
    missing = ch.sentence("dvc_ho_so_truc_tuyen", breakdown="cấp xã")
    assert missing == ("Tỷ lệ hồ sơ thủ tục hành chính trực tuyến – cấp xã: chưa có số liệu trong kỳ báo cáo. "
                       "Mục tiêu > 80% đến 31/12/2025 (KH-GIA-LAP): chưa có số liệu để đánh giá "
                       "(còn 27 tháng đến hạn 31/12/2025).")


def test_ratio_only_figure_is_printed_as_x_over_y_with_its_share(data_dir):
    ch = open_chapter("ha-tang-so", "nghe-an", "2023-Q3", data_dir)
    assert "1.900/2.000 thôn, bản (95%)" in ch.sentence("thon_ban_phu_song_bbdd")


def test_rank_change_reads_as_places_climbed():
    from dxreport.selection import Obs

    def rank(value, day):
        return Obs("x", "dti_xep_hang", "", day, None, value, "", "hạng", None, 63, "", "")

    assert narrative.change_text(rank(52, date(2022, 12, 31)), rank(55, date(2021, 12, 31))).startswith("tăng 3 bậc")


def test_target_text_forms(data_dir):
    data = load(data_dir)
    rows = data.targets.set_index("target_id")
    assert narrative.target_text(rows.loc["t-met"]) == "≥ 25 Mbps"
    assert narrative.target_text(rows.loc["t-nodata"]) == "> 80%"
    assert narrative.target_text(rows.loc["t-status"]) == "Hoàn thành"


def test_tally_text():
    assert narrative.tally_text("Chính quyền số", 8, 11) == "Chính quyền số: đạt 8/11 mục tiêu"


def test_official_register_for_statuses_counts_and_acronyms():
    from datetime import date

    from dxreport.selection import Obs

    status = Obs("nghe-an", "x", "", date(2023, 8, 31), None, None, "Chưa ban hành", "trạng thái", None, None, "s", "")
    sentence = narrative.indicator_sentence("Kế hoạch chuyển đổi số năm 2023", status)
    assert " là Chưa" not in sentence and sentence.startswith("Kế hoạch chuyển đổi số năm 2023: chưa ban hành")
    count = Obs("nghe-an", "x", "", date(2023, 8, 31), None, 6.0, "", "văn bản", None, None, "s", "")
    assert narrative.indicator_sentence("Số văn bản triển khai", count).startswith("Số văn bản triển khai: 6 văn bản")
    above = Obs("nghe-an", "x", "", date(2023, 8, 31), None, 870.0, "", "điểm", None, None, "s", "", qualifier="trên")
    assert "Số điểm: trên 870 điểm" in narrative.indicator_sentence("Số điểm", above)
    assert narrative.lower_first("TTHC thiết yếu") == "TTHC thiết yếu"
    assert narrative.lower_first("Chính quyền số") == "chính quyền số"


def test_chapter_evaluation_agrees_with_the_data_level_api(data_dir):
    ch = open_chapter("tong-quan", "nghe-an", "2023-Q3", data_dir)
    for _, target in ch.data.targets.iterrows():
        fast = ch.evaluate(target)
        plain = selection.evaluate(target, ch.data.observations, date(2023, 9, 30))
        assert (fast.status, fast.measured) == (plain.status, plain.measured), target["target_id"]


def test_a_citation_names_each_document_once_and_its_sections_once_in_order(data_dir):
    """'Dữ liệu giả lập (mục I.2, I.10, PL5 I.3, đoạn 9)': a table citing fifty sections of one
    review read 'mục PL3.1, mục PL3.2, …' over half a page."""
    ch = open_chapter("ha-tang-so", "nghe-an", "2023-Q3", data_dir)
    seed = "000_0000000000000000.txt"
    sources = [f"{seed}: I.10", f"{seed}: đoạn 9|{seed}: I.2", f"{seed}: PL5 I.3", f"{seed}: I.2", "Báo Nghệ An"]
    assert ch.cite_parts(sources) == "Dữ liệu giả lập (mục I.2, I.10, PL5 I.3, đoạn 9); Báo Nghệ An"
    assert ch.cite_parts([f"{seed}: đoạn 9"]) == "Dữ liệu giả lập (đoạn 9)"
    assert ch.cite_parts([seed]) == "Dữ liệu giả lập"
    # an appendix cited for more than three of its items is cited whole; three stay listed
    many = [f"{seed}: PL4 I.{i}" for i in range(1, 19)] + [f"{seed}: PL3 {i}" for i in (1, 2, 3)]
    assert ch.cite_parts(many + [f"{seed}: I.1"]) == "Dữ liệu giả lập (mục I.1, PL3 1, PL3 2, PL3 3, PL4)"
