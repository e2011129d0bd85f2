"""dx.load() / dx.figures(): tidy frames for exploring, on the synthetic fixture data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import dxreport as dx
from dxreport import explore
from dxreport.errors import DataValidationError

from conftest import append_row


@pytest.fixture
def ds(data_dir: Path) -> explore.Dataset:
    return dx.load(data_dir)


def test_load_is_the_explore_entry_point(ds: explore.Dataset) -> None:
    assert isinstance(ds, explore.Dataset)
    assert dx.figures is explore.figures


def test_observations_carry_names_units_pillars_and_source_titles(ds: explore.Dataset) -> None:
    obs = ds.observations
    row = obs[(obs["indicator_id"] == "bbdd_toc_do") & (obs["as_of"] == pd.Timestamp("2023-08-30"))].iloc[0]
    assert row["province_name"] == "Nghệ An"
    assert row["indicator"] == ds.data.indicator("bbdd_toc_do")["name_vi"]
    assert row["unit"] == "Mbps"
    assert row["pillar"] == "ha-tang-so" and row["pillar_name"] == "Hạ tầng số"
    assert row["source_title"] == "DỮ LIỆU GIẢ LẬP cho kiểm thử"
    assert row["value"] == 30.25
    assert list(obs.columns[:8]) == ["province", "province_name", "pillar", "pillar_name", "indicator_id",
                                      "indicator", "breakdown", "as_of"]


def test_frames_have_a_clean_index_and_dates_as_dates(ds: explore.Dataset) -> None:
    for frame in (ds.observations, ds.targets, ds.indicators, ds.provinces):
        assert isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0
        assert frame.index.stop == len(frame)
    assert pd.api.types.is_datetime64_any_dtype(ds.observations["as_of"])
    assert pd.api.types.is_datetime64_any_dtype(ds.targets["target_date"])
    assert (ds.observations["as_of"] == ds.observations["as_of"].dt.normalize()).all()  # no time of day
    assert len(ds.observations) == 10 and len(ds.targets) == 5


def test_targets_are_joined_too(ds: explore.Dataset) -> None:
    assert {"province_name", "indicator", "pillar_name", "source_title"} <= set(ds.targets.columns)
    assert ds.targets["indicator"].notna().all()


def test_figures_filters_by_province_name_or_slug_and_indicator(ds: explore.Dataset) -> None:
    by_slug = ds.figures(province="nghe-an", indicator="dvc_ho_so_truc_tuyen")
    by_name = ds.figures(province="Nghệ An", indicator=["dvc_ho_so_truc_tuyen"])
    assert by_slug.equals(by_name)
    assert list(by_slug["value"]) == [50.5]
    both = ds.figures(indicator="dvc_ho_so_truc_tuyen")
    assert sorted(both["province_name"]) == ["Hà Tĩnh", "Nghệ An"]


def test_figures_filters_by_dates_and_period_codes(ds: explore.Dataset) -> None:
    speed = ds.figures(indicator="bbdd_toc_do")
    assert list(speed["as_of"].dt.date.astype(str)) == ["2022-12-31", "2023-08-30"]  # oldest first
    assert list(ds.figures(indicator="bbdd_toc_do", since="2023")["value"]) == [30.25]
    assert list(ds.figures(indicator="bbdd_toc_do", until="2022-Q4")["value"]) == [20.5]
    assert list(ds.figures(indicator="bbdd_toc_do", until="2023-08-29")["value"]) == [20.5]
    assert list(ds.figures(indicator="bbdd_toc_do", until="2023-08-30")["value"]) == [20.5, 30.25]


def test_figures_filters_by_breakdown_and_pillar(ds: explore.Dataset) -> None:
    servers = ds.figures(indicator="may_chu", breakdown="cấp tỉnh")
    assert list(servers["value"]) == [150]
    by_id = ds.figures(pillar="ha-tang-so")
    by_name = ds.figures(pillar="Hạ tầng số")
    assert by_id.equals(by_name) and set(by_id["pillar"]) == {"ha-tang-so"} and len(by_id) > 0


def test_latest_and_compare(ds: explore.Dataset) -> None:
    latest = ds.latest(indicator="bbdd_toc_do")
    assert list(latest["value"]) == [30.25]
    assert list(ds.latest(indicator="bbdd_toc_do", until="2022")["value"]) == [20.5]
    table = ds.compare("dvc_ho_so_truc_tuyen")
    assert list(table["province_name"]) == ["Hà Tĩnh", "Nghệ An"]
    assert list(table["value"]) == [70.25, 50.5]
    assert "source_title" in table.columns


def test_search_finds_indicators_by_vietnamese_name(ds: explore.Dataset) -> None:
    name = ds.data.indicator("bbdd_toc_do")["name_vi"]
    found = ds.search(name.split()[-1].upper())
    assert "bbdd_toc_do" in list(found["indicator_id"])
    assert list(ds.search("may_chu")["indicator_id"]) == ["may_chu"]


def test_module_level_figures_reads_the_given_folder(data_dir: Path) -> None:
    append_row(data_dir / "observations.csv", province="nghe-an", indicator_id="bbdd_toc_do",
               as_of="2026-03-31", value="41.5", unit="Mbps", source="000_0000000000000000.txt: giả lập")
    rows = dx.figures(province="nghe-an", indicator="bbdd_toc_do", since="2026-Q1", data_dir=data_dir)
    assert list(rows["value"]) == [41.5]


def test_source_titles_of_several_parts() -> None:
    sources = pd.DataFrame({"location": ["000_0000000000000000.txt", "vnexpress.net/a"],
                            "title_vi": ["Báo cáo A", "Bài báo B"]})
    title = explore.source_titles(sources)
    assert title("000_0000000000000000.txt: I.2 | vnexpress.net/a") == "Báo cáo A; Bài báo B"
    assert title("000_0000000000000000.txt: I.2 | 000_0000000000000000.txt: II") == "Báo cáo A"
    assert title("không có trong sources") == "không có trong sources"


def test_load_refuses_invalid_data_like_the_build(data_dir: Path) -> None:
    append_row(data_dir / "observations.csv", province="nghe-an", indicator_id="ho_gd_cap_quang",
               as_of="2023-09-30", value="140", unit="%", source="000_0000000000000000.txt: giả lập")
    with pytest.raises(DataValidationError):
        dx.load(data_dir)
