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


# --- The template: protected, with dropdowns, printable, never over data --------------------

import csv  # noqa: E402
import re  # noqa: E402

from dxreport import schema  # noqa: E402
from dxreport.errors import TemplateOutputError  # noqa: E402
from dxreport.validate import validate_dir  # noqa: E402
from dxreport.workbook import HEADER, META_SHEET, IngestResult, ingest  # noqa: E402

SOURCE = "Báo cáo giả lập số 1/BC (kiểm thử)"


@pytest.fixture
def template(data_dir, tmp_path):
    return write_template("nghe-an", "2024-Q1", tmp_path / "mau.xlsx", data_dir)


def test_template_is_protected_with_a_status_dropdown_and_print_setup(template):
    book = load_workbook(template)
    assert book.security.lockStructure
    assert book[META_SHEET].protection.sheet and book["Hướng dẫn"].protection.sheet
    sheet = book["Hạ tầng số"]
    assert sheet.protection.sheet
    row = find_row(sheet, "bbdd_toc_do")
    for key, (header, column, _) in zip(range(len(COLUMNS)), COLUMNS):
        cell = sheet.cell(row, key + 1)
        locked = cell.protection.locked
        assert locked is (column in (None, "indicator_id", "breakdown")), header
    headers = [sheet.cell(3, c).value for c in range(1, len(COLUMNS) + 1)]
    assert "Đơn vị chịu trách nhiệm" in headers
    status_col = COLUMNS[COL["status"] - 1][0]
    lists = [dv for dv in sheet.data_validations.dataValidation if dv.type == "list"]
    assert len(lists) == 1 and lists[0].formula1.startswith(f"'{META_SHEET}'!")
    status_letter = sheet.cell(row, COL["status"]).column_letter
    assert f"{status_letter}{row}" in str(lists[0].sqref), status_col
    listed = [c.value for c in book[META_SHEET]["D"] if c.value]
    assert "Hoàn thành" in listed and "Đã triển khai" in listed
    assert sheet.page_setup.orientation == "landscape" and str(sheet.page_setup.paperSize) == "9"
    assert sheet.print_title_rows == "$3:$3"
    dates = [dv for dv in sheet.data_validations.dataValidation if dv.type == "date"]
    assert dates[0].formula1 == "DATE(2024,1,1)" and dates[0].formula2 == "DATE(2024,3,31)"


def test_template_refuses_data_files_existing_files_and_other_names(data_dir, tmp_path, capsys):
    observations = data_dir / "observations.csv"
    before = observations.read_bytes()
    for args in (["-o", str(observations)], ["-o", str(observations), "--force"]):
        assert main(["template", "--period", "2024-Q1", "--data-dir", str(data_dir), *args]) == 1
        assert ".xlsx" in capsys.readouterr().err
    assert main(["template", "--period", "2024-Q1", "--data-dir", str(data_dir), "-o", str(data_dir / "mau.xlsx"),
                 "--force"]) == 1
    assert "thư mục dữ liệu" in capsys.readouterr().err
    assert observations.read_bytes() == before and not (data_dir / "mau.xlsx").exists()
    assert main(["template", "--period", "2024-Q1", "--data-dir", str(data_dir), "-o", str(tmp_path / "mau.csv")]) == 1
    assert ".xlsx" in capsys.readouterr().err
    existing = tmp_path / "co-san.xlsx"
    existing.write_bytes(b"do not lose me")
    assert main(["template", "--period", "2024-Q1", "--data-dir", str(data_dir), "-o", str(existing)]) == 1
    assert "--force" in capsys.readouterr().err and existing.read_bytes() == b"do not lose me"
    assert main(["template", "--period", "2024-Q1", "--data-dir", str(data_dir), "-o", str(existing), "--force"]) == 0
    assert load_workbook(existing).sheetnames[0] == "Hướng dẫn"
    with pytest.raises(TemplateOutputError):
        write_template("nghe-an", "2024-Q1", observations, data_dir, force=True)


# --- Ingest: what only a workbook can get wrong ----------------------------------------------

def refused(path, data_dir, **kwargs):
    before = {p.name: p.read_bytes() for p in data_dir.iterdir()}
    with pytest.raises(DataValidationError) as err:
        ingest(path, data_dir, **kwargs)
    assert {p.name: p.read_bytes() for p in data_dir.iterdir()} == before  # nothing written
    return err.value.issues


def test_formula_cells_are_refused_naming_the_cell(template, data_dir):
    value_row = fill(template, "Hạ tầng số", "bbdd_toc_do", value="=41+1", source=SOURCE)
    only_row = fill(template, "Hạ tầng số", "ho_gd_cap_quang", value="=HYPERLINK(\"http://x\",\"a\")")
    dde_row = fill(template, "Hạ tầng số", "thon_ban_phu_song_bbdd", numerator=1, denominator=2, source=SOURCE,
                   note="=cmd|' /C calc'!A0")
    issues = refused(template, data_dir)
    formulas = {(i.line, i.column) for i in issues if i.rule == "ô chứa công thức"}
    assert formulas == {(value_row, "Giá trị"), (only_row, "Giá trị"), (dde_row, "Ghi chú")}
    letter = load_workbook(template)["Hạ tầng số"].cell(only_row, COL["value"]).column_letter
    assert any(f"ô {letter}{only_row} " in i.message for i in issues)
    assert not [i for i in issues if i.line == only_row and i.rule != "ô chứa công thức"]


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)"])
def test_text_that_excel_would_run_is_refused(template, data_dir, text):
    row = fill(template, "Hạ tầng số", "bbdd_toc_do", value=41.5, source=SOURCE, note=text)
    book = load_workbook(template)
    book["Hạ tầng số"].cell(row, COL["note"]).data_type = "s"  # text, as typed after an apostrophe
    book.save(template)
    issues = refused(template, data_dir)
    assert [(i.line, i.column, i.rule) for i in issues] == [(row, "Ghi chú", "chữ bắt đầu bằng ký tự công thức")]


def test_a_cell_far_outside_the_template_is_refused_fast(template, data_dir):
    book = load_workbook(template)
    book["Hạ tầng số"]["XFD1048576"] = 1
    book.save(template)
    with pytest.raises(IngestError, match="XFD1048576"):
        ingest(template, data_dir)


def test_tampered_meta_or_an_extra_sheet_is_refused(template, data_dir, tmp_path):
    fill(template, "Hạ tầng số", "bbdd_toc_do", value=41.5, source=SOURCE)
    cases = {}
    book = load_workbook(template)
    next(r for r in book[META_SHEET].iter_rows() if r[0].value == "province")[1].value = "ha-tinh"
    cases["province"] = book
    book = load_workbook(template)
    next(r for r in book[META_SHEET].iter_rows() if r[0].value == "period")[1].value = "2023-Q3"
    cases["period"] = book
    book = load_workbook(template)
    book.create_sheet("Thêm")["A4"] = "bbdd_toc_do"
    cases["sheet"] = book
    book = load_workbook(template)
    book["Hạ tầng số"].cell(find_row(book["Hạ tầng số"], "ho_gd_cap_quang"), 1).value = "bbdd_toc_do"
    cases["row"] = book
    before = (data_dir / "observations.csv").read_bytes()
    for name, book in cases.items():
        path = tmp_path / f"{name}.xlsx"
        book.save(path)
        with pytest.raises(IngestError) as err:
            ingest(path, data_dir)
        if name == "sheet":
            assert "Thêm" in str(err.value)
    assert (data_dir / "observations.csv").read_bytes() == before


def test_a_date_outside_the_period_is_refused(template, data_dir):
    row = fill(template, "Hạ tầng số", "bbdd_toc_do", value=41.5, source=SOURCE, as_of=datetime(2023, 12, 31))
    issues = refused(template, data_dir)
    assert [(i.line, i.column, i.rule) for i in issues] == [(row, "Tính đến ngày", "ngày ngoài kỳ")]
    assert "31/3/2024" in issues[0].message


def test_a_percentage_must_agree_with_its_ratio_even_with_a_note(template, data_dir):
    row = fill(template, "Hạ tầng số", "thon_ban_phu_song_bbdd", value=73.35, numerator=1447, denominator=2000,
               source=SOURCE, note="theo báo cáo")
    issues = refused(template, data_dir)
    assert [(i.line, i.column, i.rule) for i in issues] == [(row, "Giá trị", "tỷ lệ không khớp tử số/mẫu số")]
    assert "73,35%" in issues[0].message and "72,35%" in issues[0].message


def test_messages_use_the_workbook_words_never_internal_names(template, data_dir):
    fill(template, "Hạ tầng số", "bbdd_toc_do", value="41,5", source=SOURCE)
    fill(template, "Hạ tầng số", "ho_gd_cap_quang", value=120, source=SOURCE)
    fill(template, "Hạ tầng số", "thon_ban_phu_song_bbdd", numerator=2100, denominator=2000)
    fill(template, "Hạ tầng số", "may_chu", "cấp tỉnh", value=-1, source=SOURCE, as_of="hôm qua")
    issues = refused(template, data_dir)
    assert len(issues) >= 6
    internal = [c for c in schema.OBSERVATIONS.names if c not in ("unit",)] + ["observations.csv", "indicators.csv"]
    headers = {h for h, _, _ in COLUMNS}
    for issue in issues:
        assert issue.column in headers, issue
        text = issue.format()
        for name in internal:
            assert not re.search(rf"(?<![\w.]){re.escape(name)}(?![\w.])", text), (name, text)


def test_the_responsible_agency_is_stored_and_a_new_source_is_registered(template, data_dir):
    fill(template, "Hạ tầng số", "bbdd_toc_do", value=41.5, source=SOURCE, reported_by="Sở KH&CN")
    assert ingest(template, data_dir) == IngestResult(added=1, replaced=0, sources_added=1)
    obs = load(data_dir).observations
    row = obs[(obs["indicator_id"] == "bbdd_toc_do") & (obs["as_of"] == "2024-03-31")].iloc[0]
    assert row["reported_by"] == "Sở KH&CN" and row["source"] == SOURCE
    sources = load(data_dir).sources.set_index("location")
    assert sources.loc[SOURCE, "issuer"] == "Sở KH&CN" and sources.loc[SOURCE, "source_id"].startswith("nhap-")
    assert validate_dir(data_dir) == []
    assert ingest(template, data_dir) == IngestResult(0, 0, 0)


def test_a_correction_needs_replace_and_keeps_the_old_value_in_the_history(template, data_dir, tmp_path, capsys):
    fill(template, "Hạ tầng số", "bbdd_toc_do", value=41.5, source=SOURCE)
    assert main(["ingest", str(template), "--data-dir", str(data_dir)]) == 0
    fill(template, "Hạ tầng số", "bbdd_toc_do", value=42.5, note="sửa số")
    observations = data_dir / "observations.csv"
    before = observations.read_bytes()
    assert main(["ingest", str(template), "--data-dir", str(data_dir)]) == 1
    err = capsys.readouterr().err
    assert "--replace" in err and "41.5" in err and "42.5" in err and "province" not in err
    assert observations.read_bytes() == before
    # without a name for who sent it, a replacement is refused too
    assert main(["ingest", str(template), "--data-dir", str(data_dir), "--replace"]) == 1
    assert "--by" in capsys.readouterr().err and observations.read_bytes() == before
    assert main(["ingest", str(template), "--data-dir", str(data_dir), "--replace", "--by", "Sở KH&CN"]) == 0
    assert "thay 1" in capsys.readouterr().out
    after = observations.read_text(encoding="utf-8").splitlines()
    assert len(after) == len(before.decode("utf-8").splitlines())  # replaced in place, not appended
    obs = load(data_dir).observations
    new = obs[(obs["indicator_id"] == "bbdd_toc_do") & (obs["as_of"] == "2024-03-31")]
    assert new["value"].tolist() == [42.5] and new["note"].tolist() == ["sửa số"]
    with (data_dir / "revisions.csv").open(encoding="utf-8", newline="") as handle:
        history = list(csv.DictReader(handle))
    assert len(history) == 1
    old = history[0]
    assert (old["old_value"], old["old_note"], old["revised_by"], old["workbook"]) == ("41.5", "", "Sở KH&CN", "mau.xlsx")
    assert (old["indicator_id"], old["as_of"], old["source"]) == ("bbdd_toc_do", "2024-03-31", SOURCE)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", old["revised_at"])
    assert validate_dir(data_dir) == [] and len(load(data_dir).revisions) == 1
    # the same corrected workbook again changes nothing
    snapshot = {p.name: p.read_bytes() for p in data_dir.iterdir()}
    assert main(["ingest", str(template), "--data-dir", str(data_dir), "--replace", "--by", "Sở KH&CN"]) == 0
    assert {p.name: p.read_bytes() for p in data_dir.iterdir()} == snapshot


def test_a_replaced_row_keeps_every_other_line_byte_for_byte(template, data_dir):
    path = data_dir / "observations.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",,,Mbps,,,", ",,,Mbps,,,", 1), encoding="utf-8")
    fill(template, "Hạ tầng số", "bbdd_toc_do", value=41.5, source=SOURCE, reported_by="A")
    ingest(template, data_dir)
    lines = path.read_text(encoding="utf-8").splitlines()
    fill(template, "Hạ tầng số", "bbdd_toc_do", value=40)
    ingest(template, data_dir, replace=True)
    changed = [(a, b) for a, b in zip(lines, path.read_text(encoding="utf-8").splitlines()) if a != b]
    assert len(changed) == 1 and ",41.5," in changed[0][0] and ",40," in changed[0][1]


def test_excel_error_cells_and_out_of_range_dates_are_named_not_warned(template, data_dir, recwarn):
    book = load_workbook(template)
    sheet = book["Hạ tầng số"]
    row = find_row(sheet, "bbdd_toc_do")
    sheet.cell(row, COL["value"], "#N/A").data_type = "e"
    other = find_row(sheet, "ho_gd_cap_quang")
    sheet.cell(other, COL["value"], 50)
    sheet.cell(other, COL["source"], SOURCE)
    sheet.cell(other, COL["as_of"], 7450068417816941).number_format = "dd/mm/yyyy"
    book.save(template)
    issues = refused(template, data_dir)
    assert {(i.line, i.column, i.rule) for i in issues} == {(row, "Giá trị", "ô lỗi của Excel"),
                                                            (other, "Tính đến ngày", "ô lỗi của Excel")}
    assert not [w for w in recwarn if "openpyxl" in str(w.filename)]


def test_numbers_are_stored_without_exponents(template, data_dir):
    fill(template, "Hạ tầng số", "bbdd_toc_do", value=0.00001, source=SOURCE)
    ingest(template, data_dir)
    assert ",0.00001," in (data_dir / "observations.csv").read_text(encoding="utf-8")
