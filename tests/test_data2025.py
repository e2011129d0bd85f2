"""The 2025 figures of data/: press pages cited by title with qualifier, precision and how an
undated page was dated; conflicting pages kept side by side; the two-level local government;
and the new figures reaching the report's sentences with their qualifiers."""

from __future__ import annotations

import pandas as pd
import pytest

from dxreport import checks, periods
from dxreport.build import title_meta
from dxreport.chapter import SEED_RE, open_chapter
from dxreport.data import load
from dxreport import sections

from conftest import REPO


@pytest.fixture(scope="module")
def data():
    return load(REPO / "data")


def _rows(data, province, indicator, breakdown="", as_of=None):
    obs = data.observations
    rows = obs[(obs["province"] == province) & (obs["indicator_id"] == indicator) & (obs["breakdown"] == breakdown)]
    return rows if as_of is None else rows[rows["as_of"] == pd.Timestamp(as_of)]


def test_every_press_page_is_a_source_with_title_and_publisher(data):
    sources = data.sources.set_index("location")
    cited = {part.strip() for text in data.observations["source"] for part in text.split("|")}
    pages = {c for c in cited if not SEED_RE.search(c)}
    assert pages and pages <= set(sources.index), pages - set(sources.index)
    press = data.sources[data.sources["source_id"].str.startswith("bao-chi")]
    assert (press["title_vi"].str.len() > 0).all() and (press["issuer"].str.len() > 0).all()
    # one page, one spelling: the short addresses of the first import are gone
    assert not any("(article" in c or "(1972412" in c for c in cited)


def test_press_figures_keep_their_qualifier_and_precision(data):
    mic = _rows(data, "nghe-an", "bts", as_of="2024-12-13")
    by_word = dict(zip(mic["qualifier"], zip(mic["value"], mic["precision"])))
    assert by_word == {"hơn": (2500.0, 100.0), "khoảng": (8500.0, 100.0)}
    five_g = _rows(data, "nghe-an", "dan_so_phu_song_5g").iloc[0]
    assert (five_g["qualifier"], five_g["value"]) == ("khoảng", 50.0)
    fibre = _rows(data, "ha-tinh", "cap_quang_noi_tinh")
    assert list(fibre["qualifier"]) == ["trên", "hơn"]  # seed 003 'Trên 21.000 km', press 'hơn 21.000 km'
    assert _rows(data, "nghe-an", "mang_tsl_cd_diem_ket_noi").iloc[0]["qualifier"] == "trên"  # 'trên 870 điểm'
    villages = _rows(data, "nghe-an", "thon_ban_phu_song_bbdd", as_of="2024-12-13").iloc[0]
    assert villages["precision"] == 1.0  # '98%': no trend against the seed's 98,34%


def test_undated_pages_say_how_they_were_dated(data):
    obs = data.observations
    undated = data.sources.loc[(data.sources["kind"] == "báo chí") & data.sources["issued"].isna(), "location"]
    rows = obs[obs["source"].isin(set(undated)) & (obs["province"] != "")]
    rows = rows[rows["as_of"] >= pd.Timestamp("2023-01-01")]
    explicit = rows["note"].str.contains("Tính đến ngày|DTI cấp tỉnh năm", regex=True)
    missing = rows[~explicit & (rows["as_of_basis"] == "")]
    assert missing.empty, missing[["indicator_id", "as_of", "source"]]


def test_the_two_conflicts_are_kept_side_by_side(data):
    dti = _rows(data, "ha-tinh", "dti_xep_hang", as_of="2024-12-31")
    assert sorted(dti["value"]) == [11.0, 25.0] and set(dti["denominator"]) == {63.0}
    among_34 = _rows(data, "ha-tinh", "dti_xep_hang_34", as_of="2024-12-31")
    assert set(among_34["value"]) == {7.0} and set(among_34["denominator"]) == {34.0} and len(among_34) == 2
    assert not (data.observations.loc[data.observations["indicator_id"] == "dti_xep_hang", "denominator"] == 34).any()
    for province, indicator, shown in (("ha-tinh", "dti_xep_hang", {"25/63", "11/63"}),
                                       ("nghe-an", "bts", {"hơn 2.500 trạm", "khoảng 8.500 trạm"})):
        sheet = checks.check_sheet(data, province, "2025")
        conflict = sheet[(sheet["Loại"] == checks.CONFLICT) & (sheet["Mã chỉ tiêu"] == indicator)]
        assert set(conflict["Giá trị"]) == shown


def test_two_level_local_government_and_the_issuer_after_the_merger(data):
    units = data.units.set_index("unit_id")
    assert units.loc["na-cap-xa-2025", "kind"] == "xã" and "130" in units.loc["na-cap-xa-2025", "name_vi"]
    districts = data.units[data.units["kind"] == "huyện"]
    assert (districts["valid_to"] == pd.Timestamp("2025-06-30")).all()
    counts = {b: _rows(data, "nghe-an", "so_don_vi_hanh_chinh", b, "2025-07-01").iloc[0]["value"]
              for b in ("cấp xã", "xã", "phường")}
    assert counts == {"cấp xã": 130.0, "xã": 119.0, "phường": 11.0}
    for province, name in (("nghe-an", "Nghệ An"), ("ha-tinh", "Hà Tĩnh")):
        assert title_meta(data, province, periods.parse("2025")).issuer == f"Sở Khoa học và Công nghệ tỉnh {name}"
        before = title_meta(data, province, periods.parse("2023-Q4")).issuer
        assert before.startswith("Sở Thông tin và Truyền thông") and before.endswith(name)
    ch = open_chapter("tong-quan", "nghe-an", "2025")
    assert "130 đơn vị hành chính cấp xã (119 xã, 11 phường)" in str(sections.local_government(ch)[0])
    assert sections.local_government(open_chapter("tong-quan", "nghe-an", "2025-H1")) == []


def test_new_figures_reach_the_report_with_their_qualifiers():
    # 13/12/2024 is more than 12 months before the end of 2025: the dated page's figure (the other is
    # in the sheet) is listed with its qualifier in the chapter's table of figures not updated in the period
    stale = [o for o in open_chapter("ha-tang-so", "nghe-an", "2025").section("khac")
             if getattr(o, "caption", "") == sections.STALE_TITLE][0]
    assert ["hơn 2.500 trạm", "13/12/2024"] in stale.frame.iloc[:, 1:].values.tolist()
    fixed = " ".join(str(o) for o in open_chapter("ha-tang-so", "ha-tinh", "2025").section("co-dinh"))
    assert "hơn 21.000 km (tính đến 31/7/2025)" in fixed
    table = next(o for o in open_chapter("ha-tang-so", "nghe-an", "2025").section("khac") if hasattr(o, "frame"))
    results = dict(zip(table.frame["Chỉ tiêu"], table.frame["Kết quả"]))
    assert results["Tỷ lệ dân số được phủ sóng 5G"] == "khoảng 50%"
    assert results["Tỷ lệ thôn, bản có hạ tầng cáp quang"] == "hơn 99%"


def test_resolution_57_progress_in_the_overview():
    blocks = sections.plan_progress(open_chapter("tong-quan", "nghe-an", "2025"))
    text = " ".join(str(b) for b in blocks)
    assert "39/65 chỉ tiêu" in text and "38/102 nhiệm vụ" in text and "(tính đến 24/9/2025)" in text
    table = next(b for b in blocks if hasattr(b, "frame"))
    assert "57-NQ/TW" in " ".join(table.frame.iloc[:, 0])
    before = sections.plan_progress(open_chapter("tong-quan", "nghe-an", "2023-Q3"))
    assert "Chưa có số liệu công bố" in str(before[0])


def test_ha_tinh_dti_pillar_chart_with_changes_and_caveat():
    ch = open_chapter("tong-quan", "ha-tinh", "2025")
    blocks = sections.dti_pillars(ch)
    text = " ".join(str(b) for b in blocks if not hasattr(b, "png"))
    assert "nhận thức số hạng 1/63 (tăng 31 bậc)" in text and "hạ tầng số hạng 44/63 (giảm 13 bậc)" in text
    assert "25/63 theo Báo Hà Tĩnh" in text and "11/63 theo VnEconomy" in text  # both, none picked
    figure = next(b for b in blocks if hasattr(b, "png"))
    assert "63 tỉnh, thành phố trước sắp xếp" in figure.caption and "báo chí" in figure.caption
    assert "Báo Hà Tĩnh" in figure.source
    assert sections.dti_pillars(open_chapter("tong-quan", "nghe-an", "2025")) == []


def test_figure_text_puts_the_qualifier_before_the_number_and_never_before_a_status():
    from datetime import date

    from dxreport.narrative import figure_text, indicator_sentence
    from dxreport.selection import Obs

    def obs(**kw):
        base = dict(province="nghe-an", indicator_id="x", breakdown="", as_of=date(2025, 6, 11), since=None, value=None,
                    status="", unit="%", numerator=None, denominator=None, source="s", note="")
        return Obs(**{**base, **kw})

    assert figure_text(obs(value=99.0, qualifier="hơn", precision=1.0)) == "hơn 99%"
    assert figure_text(obs(value=2500.0, unit="trạm", qualifier="hơn")) == "hơn 2.500 trạm"
    assert figure_text(obs(value=50.0, qualifier="khoảng", numerator=5.0, denominator=10.0)) == "khoảng 50% (5/10)"
    assert figure_text(obs(status="Đã triển khai", unit="trạng thái", qualifier="hơn")) == "Đã triển khai"
    assert figure_text(obs(value=72.35)) == "72,35%"
    sentence = indicator_sentence("Tỷ lệ thôn, bản có hạ tầng cáp quang", obs(value=99.0, qualifier="hơn"))
    assert sentence == "Tỷ lệ thôn, bản có hạ tầng cáp quang đạt hơn 99% (tính đến 11/6/2025)."


def test_resolution_57_progress_is_in_the_appendix_of_targets_from_2025_only():
    from dxreport import sections
    from dxreport.chapter import open_chapter
    from dxreport.display import Table

    blocks = sections.appendix_plan_progress(open_chapter("phu-luc", "nghe-an", "2025"))
    table = next(b for b in blocks if isinstance(b, Table))
    cells = " | ".join(" ".join(map(str, row)) for row in table.frame.itertuples(index=False))
    assert "39/65" in cells and "38/102" in cells  # targets met, tasks done (press, 24/9/2025)
    assert sections.appendix_plan_progress(open_chapter("phu-luc", "nghe-an", "2023-Q3")) == []
