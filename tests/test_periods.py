from datetime import date

import pytest

from dxreport import periods
from dxreport.errors import PeriodError


@pytest.mark.parametrize(
    "code, start, end, label",
    [
        ("2023", date(2023, 1, 1), date(2023, 12, 31), "năm 2023"),
        ("2023-H1", date(2023, 1, 1), date(2023, 6, 30), "6 tháng đầu năm 2023"),
        ("2023-h2", date(2023, 7, 1), date(2023, 12, 31), "6 tháng cuối năm 2023"),
        ("2023-Q3", date(2023, 7, 1), date(2023, 9, 30), "quý III năm 2023"),
        ("2024-Q1", date(2024, 1, 1), date(2024, 3, 31), "quý I năm 2024"),
        ("2023-10", date(2023, 10, 1), date(2023, 10, 31), "đến hết tháng 10 năm 2023"),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29), "đến hết tháng 2 năm 2024"),
    ],
)
def test_parse_each_form(code, start, end, label):
    period = periods.parse(code)
    assert (period.start, period.end, period.label_vi) == (start, end, label)
    assert period.code == code.upper()


@pytest.mark.parametrize("bad", ["2023-Q5", "2023-13", "2023-00", "23-Q1", "2023Q3", "Q3-2023", "", "1999", "2023-H3"])
def test_bad_period_lists_valid_forms(bad):
    with pytest.raises(PeriodError) as err:
        periods.parse(bad)
    assert "2023-Q1" in str(err.value) and "2023-H1" in str(err.value)


def test_latest_with_data_is_the_quarter_of_the_newest_date():
    assert periods.latest_with_data([date(2023, 8, 30), date(2025, 10, 1), date(2024, 1, 1)]).code == "2025-Q4"
    with pytest.raises(PeriodError):
        periods.latest_with_data([])
