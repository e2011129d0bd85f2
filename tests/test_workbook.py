"""Template → fill → ingest, on the synthetic data."""

from __future__ import annotations

from datetime import datetime

import pytest
from openpyxl import load_workbook

from dxreport.cli import main
from dxreport.data import load
from dxreport.errors import DataValidationError, IngestError
from dxreport.workbook import COLUMNS, FIRST_ROW, write_template

COL = {key: i for i, (_, key, _) in enumerate(COLUMNS, start=1) if key}


def find_row(sheet, indicator_id, breakdown=""):
    for row in range(FIRST_ROW, sheet.max_row + 1):
        if sheet.cell(row, COL["indicator_id"]).value == indicator_id and \
                (sheet.cell(row, COL["breakdown"]).value or "") == breakdown:
            return row
    raise AssertionError(f"no row for {indicator_id}/{breakdown}")


def fill(path, sheet_name, indicator_id, breakdown="", **values):
    book = load_workbook(path)
    sheet = book[sheet_name]
    row = find_row(sheet, indicator_id, breakdown)
    for key, value in values.items():
        sheet.cell(row, COL[key], value)
    book.save(path)
    return row


def test_template_has_one_sheet_per_pillar_context_and_validation(data_dir, tmp_path):
    path = write_template("nghe-an", "2024-Q1", tmp_path / "mau.xlsx", data_dir)
    book = load_workbook(path)
    assert "Hướng dẫn" in book.sheetnames and "Hạ tầng số" in book.sheetnames
    assert book["_meta"].sheet_state == "hidden"
    sheet = book["Hạ tầng số"]
    row = find_row(sheet, "bbdd_toc_do")
    assert sheet.cell(row, 2).value == "Tốc độ băng rộng di động"
    assert sheet.cell(row, 4).value == "Mbps"
    assert sheet.cell(row, 6).value == "≥ 25 Mbps"  # the target
    assert sheet.cell(row, 7).value == "30,25 Mbps (30/8/2023)"  # last known value and its date
    assert find_row(sheet, "may_chu", "cấp tỉnh")  # a row per known breakdown
    kinds = {dv.type for dv in sheet.data_validations.dataValidation}
    assert {"decimal", "date"} <= kinds
    headers = [sheet.cell(3, c).value for c in range(1, len(COLUMNS) + 1)]
    assert "Giá trị" in headers and "Nguồn (văn bản, số hiệu, ngày)" in headers


def test_round_trip_appends_once(data_dir, tmp_path):
    path = write_template("nghe-an", "2024-Q1", tmp_path / "mau.xlsx", data_dir)
    fill(path, "Hạ tầng số", "bbdd_toc_do", value=41.5, as_of=datetime(2024, 3, 31),
         source="Báo cáo giả lập số 1/BC (kiểm thử)")
    fill(path, "Hạ tầng số", "thon_ban_phu_song_bbdd", numerator=1950, denominator=2000,
         source="Báo cáo giả lập số 1/BC (kiểm thử)")
    before = (data_dir / "observations.csv").read_text(encoding="utf-8")
    assert main(["ingest", str(path), "--data-dir", str(data_dir)]) == 0
    after = (data_dir / "observations.csv").read_text(encoding="utf-8")
    assert after.startswith(before) and len(after.splitlines()) == len(before.splitlines()) + 2
    obs = load(data_dir).observations
    new = obs[(obs["indicator_id"] == "bbdd_toc_do") & (obs["as_of"] == "2024-03-31")]
    assert new["value"].tolist() == [41.5]
    ratio = obs[(obs["indicator_id"] == "thon_ban_phu_song_bbdd") & (obs["as_of"] == "2024-03-31")]
    assert ratio["numerator"].tolist() == [1950.0]  # blank date -> the period's end
    assert main(["ingest", str(path), "--data-dir", str(data_dir)]) == 0
    assert (data_dir / "observations.csv").read_text(encoding="utf-8") == after  # twice changes nothing


def test_bad_rows_name_sheet_row_column_and_nothing_is_written(data_dir, tmp_path):
    path = write_template("nghe-an", "2024-Q1", tmp_path / "mau.xlsx", data_dir)
    text_row = fill(path, "Hạ tầng số", "bbdd_toc_do", value="41,5", source="x")
    pct_row = fill(path, "Hạ tầng số", "ho_gd_cap_quang", value=120, source="x")
    ratio_row = fill(path, "Hạ tầng số", "thon_ban_phu_song_bbdd", numerator=2100, denominator=2000, source="x")
    nosource_row = fill(path, "Hạ tầng số", "may_chu", "cấp tỉnh", value=160)
    before = (data_dir / "observations.csv").read_text(encoding="utf-8")
    with pytest.raises(DataValidationError) as err:
        from dxreport.workbook import ingest

        ingest(path, data_dir)
    found = {(i.file, i.line, i.column, i.rule) for i in err.value.issues}
    sheet = "mau.xlsx [Hạ tầng số]"
    assert (sheet, text_row, "Giá trị", "số không hợp lệ") in found
    assert (sheet, pct_row, "Giá trị", "tỷ lệ ngoài 0–100") in found
    assert (sheet, ratio_row, "Tử số", "tử số lớn hơn mẫu số") in found
    assert (sheet, nosource_row, "Nguồn (văn bản, số hiệu, ngày)", "thiếu giá trị bắt buộc") in found
    assert (data_dir / "observations.csv").read_text(encoding="utf-8") == before


def test_a_workbook_that_is_not_a_template_is_refused(data_dir, tmp_path):
    from openpyxl import Workbook

    from dxreport.workbook import ingest

    other = tmp_path / "khac.xlsx"
    Workbook().save(other)
    with pytest.raises(IngestError):
        ingest(other, data_dir)
