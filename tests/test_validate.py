"""Each validation rule, proven on the synthetic data: file, line, column, rule and value."""

from __future__ import annotations

import pytest

from dxreport import validate
from dxreport.cli import main
from dxreport.data import load
from dxreport.errors import DataValidationError

from conftest import REPO, append_row, set_cell


def issues_for(data_dir):
    return validate.validate_dir(data_dir)


def one(issues, rule):
    found = [i for i in issues if i.rule == rule]
    assert found, f"no issue with rule {rule!r} in {[i.format() for i in issues]}"
    return found[0]


def test_shipped_data_is_valid():
    assert validate.validate_dir(REPO / "data") == []


def test_synthetic_fixture_is_valid(data_dir):
    assert issues_for(data_dir) == []


def test_malformed_number_names_file_line_column(data_dir):
    set_cell(data_dir / "observations.csv", 3, "value", "30,25")
    issue = one(issues_for(data_dir), validate.R_NUMBER)
    assert (issue.file, issue.line, issue.column, issue.value) == ("observations.csv", 3, "value", "30,25")
    assert "dòng 3" in issue.format() and "cột value" in issue.format()


def test_date_that_does_not_exist(data_dir):
    set_cell(data_dir / "observations.csv", 2, "as_of", "2023-02-30")
    issue = one(issues_for(data_dir), validate.R_DATE)
    assert (issue.line, issue.column) == (2, "as_of")


def test_unknown_indicator(data_dir):
    set_cell(data_dir / "observations.csv", 4, "indicator_id", "khong_ton_tai")
    issue = one(issues_for(data_dir), validate.R_UNKNOWN_INDICATOR)
    assert (issue.file, issue.line, issue.column, issue.value) == ("observations.csv", 4, "indicator_id", "khong_ton_tai")


def test_unknown_province(data_dir):
    set_cell(data_dir / "observations.csv", 5, "province", "quang-tri")
    issue = one(issues_for(data_dir), validate.R_UNKNOWN_PROVINCE)
    assert (issue.line, issue.column) == (5, "province")
    assert "nghe-an" in issue.message  # lists the valid provinces


def test_percentage_over_100(data_dir):
    set_cell(data_dir / "observations.csv", 5, "value", "100.5")
    issue = one(issues_for(data_dir), validate.R_PERCENT)
    assert (issue.line, issue.column, issue.value) == (5, "value", "100.5")


def test_numerator_above_denominator(data_dir):
    set_cell(data_dir / "observations.csv", 4, "numerator", "2100")
    issue = one(issues_for(data_dir), validate.R_NUM_DEN)
    assert (issue.line, issue.column) == (4, "numerator")


def test_printed_rate_that_disagrees_with_its_ratio(data_dir):
    set_cell(data_dir / "observations.csv", 8, "value", "55.5")  # 505/1000 = 50.5
    issue = one(issues_for(data_dir), validate.R_RATE)
    assert (issue.line, issue.column) == (8, "value")


def test_disagreeing_rate_with_a_note_is_accepted(data_dir):
    set_cell(data_dir / "observations.csv", 8, "value", "55.5")
    set_cell(data_dir / "observations.csv", 8, "note", "Nguồn in 55,5%; 505/1000 = 50,5% (giả lập)")
    assert issues_for(data_dir) == []


def test_rate_within_printed_rounding_is_accepted(data_dir):
    set_cell(data_dir / "observations.csv", 8, "value", "51")  # 50.5 rounds to 51 at 0 decimals
    assert issues_for(data_dir) == []


def test_duplicate_key(data_dir):
    line = append_row(data_dir / "observations.csv", province="nghe-an", indicator_id="bbdd_toc_do", as_of="2023-08-30",
                      value="31", unit="Mbps", source="000_0000000000000000.txt: giả lập")
    issues = issues_for(data_dir)
    duplicate = [i for i in issues if i.rule == validate.R_DUPLICATE]
    assert {i.line for i in duplicate} == {3, line}


def test_unit_that_disagrees_with_the_indicator(data_dir):
    set_cell(data_dir / "observations.csv", 2, "unit", "Gbps")
    issue = one(issues_for(data_dir), validate.R_UNIT)
    assert (issue.line, issue.column, issue.value) == (2, "unit", "Gbps")


def test_missing_required_cell_and_unknown_source(data_dir):
    set_cell(data_dir / "observations.csv", 2, "source", "")
    set_cell(data_dir / "observations.csv", 3, "source", "999_ffffffffffffffff.txt: I.2")
    issues = issues_for(data_dir)
    assert one(issues, validate.R_REQUIRED).line == 2
    assert one(issues, validate.R_UNKNOWN_SOURCE).line == 3


def test_target_rules(data_dir):
    set_cell(data_dir / "targets.csv", 2, "rule", "≥")
    set_cell(data_dir / "targets.csv", 3, "rule", "range")
    issues = issues_for(data_dir)
    assert one(issues, validate.R_CHOICE).line == 2
    assert one(issues, validate.R_RULE).line == 3


def test_every_error_is_reported_in_one_run(data_dir):
    set_cell(data_dir / "observations.csv", 2, "value", "abc")
    set_cell(data_dir / "observations.csv", 4, "indicator_id", "khong_ton_tai")
    set_cell(data_dir / "targets.csv", 2, "target_date", "31/12/2025")
    issues = issues_for(data_dir)
    assert {(i.file, i.line) for i in issues} >= {("observations.csv", 2), ("observations.csv", 4), ("targets.csv", 2)}


def test_load_refuses_invalid_data(data_dir):
    set_cell(data_dir / "observations.csv", 2, "value", "abc")
    with pytest.raises(DataValidationError) as err:
        load(data_dir)
    assert "observations.csv, dòng 2, cột value" in str(err.value)


def test_cli_validate_exit_status_and_message(data_dir, capsys):
    assert main(["validate", "--data-dir", str(data_dir)]) == 0
    set_cell(data_dir / "observations.csv", 5, "value", "120")
    assert main(["validate", "--data-dir", str(data_dir)]) == 1
    err = capsys.readouterr().err
    assert "observations.csv, dòng 5, cột value: [tỷ lệ ngoài 0–100]" in err


def test_missing_file_and_broken_header(data_dir):
    (data_dir / "budget.csv").unlink()
    text = (data_dir / "tasks.csv").read_text(encoding="utf-8").replace("status_as_of", "status_date", 1)
    (data_dir / "tasks.csv").write_text(text, encoding="utf-8")
    issues = issues_for(data_dir)
    assert any(i.file == "budget.csv" and i.rule == "thiếu tệp" for i in issues)
    assert any(i.file == "tasks.csv" and i.rule == "thiếu cột" and i.column == "status_as_of" for i in issues)


def test_a_row_with_too_many_cells_names_its_line(data_dir):
    path = data_dir / "observations.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3] + ",72,05"  # an unquoted decimal comma adds cells
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    issue = one(issues_for(data_dir), "số cột sai")
    assert (issue.file, issue.line) == ("observations.csv", 4)
    assert "dòng 4" in issue.format()


# --- Reading: every broken file is an issue naming the file, never a traceback --------------

from datetime import date  # noqa: E402
import unicodedata  # noqa: E402

from dxreport import data as data_module  # noqa: E402
from dxreport.errors import DataDirError  # noqa: E402
from dxreport.files import known_provinces  # noqa: E402


@pytest.mark.parametrize("content", [b"", b"   \n\n \t\n"])
def test_an_empty_or_blank_file_is_named(data_dir, content):
    (data_dir / "tasks.csv").write_bytes(content)
    issue = one(issues_for(data_dir), data_module.R_EMPTY_FILE)
    assert issue.file == "tasks.csv"
    with pytest.raises(DataValidationError, match="tasks.csv"):
        load(data_dir)


def test_a_header_only_observations_file_is_refused(data_dir):
    path = data_dir / "observations.csv"
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    issue = one(issues_for(data_dir), data_module.R_NO_ROWS)
    assert issue.file == "observations.csv"


def test_a_utf8_bom_is_accepted_and_the_data_loads(data_dir):
    path = data_dir / "units.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert issues_for(data_dir) == []
    assert load(data_dir).province_name("nghe-an") == "Nghệ An"
    assert "nghe-an" in known_provinces(data_dir)


@pytest.mark.parametrize("encoding", ["cp1258", "latin-1"])
def test_a_file_in_a_legacy_encoding_names_the_first_bad_line(data_dir, encoding):
    path = data_dir / "observations.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    text = "\n".join(lines[:4]) + "\n" + "\n".join(lines[4:]).replace("Nghệ", "Nghe") + "\n"
    text = text.replace("giả lập", "gia lap")
    bad_line = 6
    rows = text.splitlines()
    rows[bad_line - 1] = rows[bad_line - 1].replace("gia lap", "Hà Tĩnh" if encoding == "cp1258" else "café")
    path.write_bytes("\n".join(rows).encode(encoding, errors="replace") + b"\n")
    issue = one(issues_for(data_dir), data_module.R_ENCODING)
    assert (issue.file, issue.line) == ("observations.csv", bad_line)
    assert "UTF-8" in issue.format()


def test_a_cell_longer_than_the_csv_limit_is_named(data_dir):
    set_cell(data_dir / "observations.csv", 3, "note", "x" * 131_073)
    issue = one(issues_for(data_dir), data_module.R_CELL_SIZE)
    assert (issue.file, issue.line) == ("observations.csv", 3)


def test_a_nul_byte_is_named(data_dir):
    path = data_dir / "targets.csv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\n\x00", 1))
    issue = one(issues_for(data_dir), data_module.R_BROKEN)
    assert issue.file == "targets.csv"


def test_line_numbers_count_the_lines_inside_quoted_cells(data_dir):
    set_cell(data_dir / "observations.csv", 2, "note", "dòng một\ndòng hai\ndòng ba")
    # row 4 of the data (3rd data row) now starts on editor line 6
    path = data_dir / "observations.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[5].startswith("nghe-an,thon_ban_phu_song_bbdd")
    lines[5] = lines[5].replace(",1900,", ",x1900,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    issue = one(issues_for(data_dir), validate.R_NUMBER)
    assert (issue.line, issue.column, issue.value) == (6, "numerator", "x1900")


def test_text_is_nfc_normalised_so_an_nfd_duplicate_key_is_caught(data_dir):
    nfd = unicodedata.normalize("NFD", "cấp tỉnh")
    assert nfd != "cấp tỉnh"
    path = data_dir / "observations.csv"
    rows = path.read_text(encoding="utf-8").splitlines()
    original = next(r for r in rows if ",may_chu,cấp tỉnh," in r)
    path.write_text("\n".join(rows + [original.replace("cấp tỉnh", nfd)]) + "\n", encoding="utf-8")
    duplicate = [i for i in issues_for(data_dir) if i.rule == validate.R_DUPLICATE]
    assert len(duplicate) == 2


def test_a_missing_data_folder_or_a_file_is_a_clear_error(tmp_path, capsys):
    for bad in (tmp_path / "khong-co", tmp_path / "tep.csv"):
        if bad.suffix:
            bad.write_text("a,b\n", encoding="utf-8")
        for call in (validate.validate_dir, load, known_provinces):
            with pytest.raises(DataDirError) as err:
                call(bad)
            assert str(bad) in str(err.value) and "tỉnh" not in str(err.value)
        assert main(["validate", "--data-dir", str(bad)]) == 1
        assert "--data-dir" in capsys.readouterr().err


def test_an_unreadable_data_folder_is_a_clear_error(data_dir, monkeypatch):
    import os

    real = os.scandir

    def denied(path):
        if str(path) == str(data_dir):
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(os, "scandir", denied)
    with pytest.raises(DataDirError, match="quyền đọc"):
        validate.validate_dir(data_dir)


def test_known_provinces_reports_a_broken_units_file_instead_of_no_province(data_dir):
    path = data_dir / "units.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp1258", errors="replace"))
    with pytest.raises(DataValidationError, match="units.csv"):
        known_provinces(data_dir)


# --- Rules added for hostile or careless data -----------------------------------------------

def test_negative_counts_are_refused(data_dir):
    set_cell(data_dir / "observations.csv", 2, "value", "-3")  # Mbps
    set_cell(data_dir / "observations.csv", 4, "numerator", "-1900")
    issues = [i for i in issues_for(data_dir) if i.rule == validate.R_NEGATIVE]
    assert {(i.line, i.column) for i in issues} == {(2, "value"), (4, "numerator")}


def test_dates_after_today_or_before_1990_are_refused(data_dir):
    set_cell(data_dir / "observations.csv", 2, "as_of", "2024-01-02")
    set_cell(data_dir / "observations.csv", 3, "as_of", "1989-12-31")
    issues = validate.validate_dir(data_dir, today=date(2024, 1, 1))
    assert one(issues, validate.R_FUTURE).line == 2
    assert one(issues, validate.R_TOO_OLD).line == 3
    assert "1/1/2024" in one(issues, validate.R_FUTURE).message
    assert not [i for i in validate.validate_dir(data_dir, today=date(2024, 1, 2)) if i.rule == validate.R_FUTURE]


def test_a_target_date_may_lie_in_the_future(data_dir):
    set_cell(data_dir / "targets.csv", 2, "target_date", "2099-12-31")
    assert not [i for i in issues_for(data_dir) if i.rule == validate.R_FUTURE]


def test_every_source_must_name_an_entry_of_sources_csv(data_dir):
    append_row(data_dir / "sources.csv", source_id="bao-chi-01", kind="báo chí", title_vi="Trang báo giả lập",
               short_vi="Báo giả lập", location="baogialap.vn/bai-1 (a123)")
    ok = ["000_0000000000000000.txt", "gia-lap: mục 2",
          "baogialap.vn/bai-1 (a123)", "baogialap.vn/bai-1 (a123): đoạn 3", "bao-chi-01",
          "000_0000000000000000.txt: I.2 | baogialap.vn/bai-1 (a123)"]
    bad = ["baogialap.vn/bai-2", "Báo cáo số 12/BC-STTTT", "000_0000000000000000.txt: I | trang-la.vn",
           "gia-lap-2: mục 1"]
    assert len(ok + bad) <= 10  # the fixture's observations
    for i, text in enumerate(ok + bad):
        set_cell(data_dir / "observations.csv", 2 + i, "source", text)
    found = {i.line for i in issues_for(data_dir) if i.rule == validate.R_UNKNOWN_SOURCE}
    assert found == {2 + len(ok) + i for i in range(len(bad))}


@pytest.mark.parametrize("code", ["../../x", "/tmp/x", "Nghe-An", "nghe an", "nghệ-an", "nghe--an", "-nghe"])
def test_province_and_unit_codes_must_be_slugs(data_dir, code):
    set_cell(data_dir / "units.csv", 2, "unit_id", code)
    set_cell(data_dir / "units.csv", 2, "province", code)
    issues = [i for i in issues_for(data_dir) if i.rule == validate.R_SLUG]
    assert {(i.file, i.line, i.column) for i in issues} == {("units.csv", 2, "unit_id"), ("units.csv", 2, "province")}
    assert code not in known_provinces(data_dir)  # never handed to a build as a path


def test_table_rows_for_quick_decisions_tolerate_a_bom_and_name_a_broken_file(data_dir):
    from dxreport import schema
    from dxreport.files import table_rows

    path = data_dir / "observations.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    rows = table_rows(data_dir, schema.OBSERVATIONS)
    assert rows[0]["province"] == "nghe-an" and rows[0]["as_of"] == "2022-12-31"
    path.write_bytes(path.read_text(encoding="utf-8-sig").replace("giả lập", "Hà Tĩnh").encode("cp1258", "replace"))
    with pytest.raises(DataValidationError, match="observations.csv"):
        table_rows(data_dir, schema.OBSERVATIONS)


def test_build_with_a_missing_data_dir_says_so_not_unknown_province(tmp_path, capsys):
    assert main(["build", "--data-dir", str(tmp_path / "khong-co"), "--format", "html"]) == 1
    err = capsys.readouterr().err
    assert "không tồn tại" in err and "--data-dir" in err and "không hợp lệ" not in err


def test_checked_tables_serve_an_unchecked_load_but_not_the_reverse(data_dir, monkeypatch):
    """A site loads and checks the data once; its periods then ask for the tables without the
    checks (the bytes were checked), and get the same tables. Tables read without the checks
    never stand in for a load that asks for them."""
    checked = load(data_dir)
    assert load(data_dir, validate=False) is checked
    data_module._CACHE.clear()
    unchecked = load(data_dir, validate=False)
    calls = []
    real = validate.check_frames
    monkeypatch.setattr(validate, "check_frames", lambda frames: calls.append(1) or real(frames))
    assert load(data_dir) is not unchecked and calls == [1]
