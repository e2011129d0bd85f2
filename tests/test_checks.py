"""The internal check sheet: notes, disagreements shown side by side, rates against x/y, old
figures; written beside the report as a workbook whose text cannot run as a formula."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from dxreport import checks
from dxreport.data import load

from conftest import append_row

OBS = "observations.csv"


@pytest.fixture
def data_dir(data_dir: Path) -> Path:
    """The synthetic data, with two more indicators to disagree about."""
    append_row(data_dir / "indicators.csv", indicator_id="bts", pillar="ha-tang-so", name_vi="Số trạm BTS",
               unit="trạm", higher_is_better="true")
    append_row(data_dir / "indicators.csv", indicator_id="truong_thu_hoc_phi_ktm", pillar="kinh-te-so",
               name_vi="Tỷ lệ trường thu học phí không dùng tiền mặt", unit="%", count_unit="trường",
               higher_is_better="true")
    for n, page in enumerate(("bao-a.vn/trang-mot", "bao-b.vn/trang-hai", "bao-a.vn/x", "bao-b.vn/y"), start=1):
        append_row(data_dir / "sources.csv", source_id=f"bao-gia-lap-{n}", kind="báo chí", title_vi=f"Trang giả lập {n}",
                   short_vi=f"Trang giả lập {n}", location=page)
    return data_dir


def _add(data_dir: Path, **values: str) -> int:
    base = {"province": "nghe-an", "unit": "trạm", "source": "000_0000000000000000.txt: giả lập"}
    return append_row(data_dir / OBS, **{**base, **values})


def test_a_conflict_shows_both_values_never_one(data_dir):
    _add(data_dir, indicator_id="bts", as_of="2024-12-13", qualifier="hơn", value="2500", precision="100",
         source="bao-a.vn/trang-mot")
    _add(data_dir, indicator_id="bts", as_of="2024-12-20", qualifier="khoảng", value="8500", precision="100",
         source="bao-b.vn/trang-hai")
    sheet = checks.check_sheet(load(data_dir), "nghe-an", "2024")
    conflict = sheet[sheet["Loại"] == checks.CONFLICT]
    assert sorted(conflict["Giá trị"]) == ["hơn 2.500 trạm", "khoảng 8.500 trạm"]
    assert set(conflict["Nguồn"]) == {"bao-a.vn/trang-mot", "bao-b.vn/trang-hai"}
    first = conflict[conflict["Nguồn"] == "bao-a.vn/trang-mot"].iloc[0]
    assert "khoảng 8.500 trạm" in first["Ghi chú"] and "bao-b.vn/trang-hai" in first["Ghi chú"]
    assert list(sheet["Loại"])[:2] == [checks.CONFLICT, checks.CONFLICT]  # what needs a decision comes first


def test_figures_that_agree_within_their_printed_precision_or_are_far_apart_are_no_conflict(data_dir):
    _add(data_dir, indicator_id="thon_ban_phu_song_bbdd", as_of="2024-12-13", value="98", precision="1", unit="%",
         source="bao-a.vn/x")
    _add(data_dir, indicator_id="thon_ban_phu_song_bbdd", as_of="2024-12-20", value="98.34", unit="%",
         source="bao-b.vn/y")
    _add(data_dir, indicator_id="bts", as_of="2023-01-01", value="100", source="bao-a.vn/x")
    _add(data_dir, indicator_id="bts", as_of="2024-06-01", value="900", source="bao-b.vn/y")
    sheet = checks.check_sheet(load(data_dir), "nghe-an", "2024")
    assert sheet[sheet["Loại"] == checks.CONFLICT].empty


def test_printed_rate_against_its_own_x_over_y_and_old_figures(data_dir):
    line = _add(data_dir, indicator_id="truong_thu_hoc_phi_ktm", as_of="2023-08-31", value="92.47", unit="%",
                numerator="872", denominator="962", note="In '872/962 trường (92,47%)'.")
    sheet = checks.check_sheet(load(data_dir), "nghe-an", "2025")
    mismatch = sheet[sheet["Loại"] == checks.MISMATCH]
    assert len(mismatch) == 1 and "90,64%" in mismatch.iloc[0]["Ghi chú"], line
    notes = sheet[sheet["Loại"] == checks.NOTE]
    assert "In '872/962 trường (92,47%)'." in set(notes["Ghi chú"])
    old = sheet[sheet["Loại"] == checks.OLD]
    assert "bbdd_toc_do" in set(old["Mã chỉ tiêu"])  # 30/8/2023 is the latest figure of a 2025 report
    # the fixture's 72,05% = 7.025/10.000 agrees with itself: no mismatch for Hà Tĩnh
    ha_tinh = checks.check_sheet(load(data_dir), "ha-tinh", "2023-Q4")
    assert ha_tinh[ha_tinh["Loại"] == checks.MISMATCH].empty


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+1", "-13 bậc", "@SUM(A1)", "\tcmd"])
def test_text_a_spreadsheet_would_run_is_neutralised(text):
    assert checks.neutralise(text) == "'" + text
    assert checks.neutralise("Giá trị 2.500") == "Giá trị 2.500"
    assert checks.neutralise(12.5) == 12.5


def test_the_workbook_keeps_formula_like_notes_as_text(data_dir, tmp_path):
    _add(data_dir, indicator_id="bts", as_of="2024-12-13", value="2500", note="=1+1 (nguồn in sai)")
    path = checks.write_check_sheet(load(data_dir), "nghe-an", "2024", tmp_path)
    assert path.name == checks.FILE_NAME
    sheet = load_workbook(path).active
    assert [c.value for c in sheet[2]] == checks.COLUMNS
    cells = [c for row in sheet.iter_rows(min_row=3) for c in row if c.value and "1+1" in str(c.value)]
    assert cells and all(c.data_type == "s" and c.value.startswith("'=") for c in cells)


@pytest.mark.e2e
def test_the_build_writes_the_sheet_beside_the_report_and_never_links_it(tmp_path):
    from dxreport.build import build

    from conftest import make_project

    root = make_project(tmp_path / "proj", ["01-tong-quan.ipynb", "02-ha-tang-so.ipynb"])
    result = build("nghe-an", "2025", formats=("html",), root=root, progress=False, workers=1)
    sheet = result.out_dir / checks.FILE_NAME
    html = (result.out_dir / "bao-cao.html").read_text(encoding="utf-8")
    assert sheet.exists() and checks.FILE_NAME not in html and "xlsx" not in html
    assert "hơn 2.500 trạm" in html and "39/65 chỉ tiêu" in html  # qualifier and Resolution 57 reach the report
    rows = [[c.value for c in row] for row in load_workbook(sheet).active.iter_rows(min_row=3)]
    conflict = {r[5] for r in rows if r[0] == checks.CONFLICT and r[2] == "bts"}
    assert conflict == {"hơn 2.500 trạm", "khoảng 8.500 trạm"}
