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
