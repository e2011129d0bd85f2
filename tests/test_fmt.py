from datetime import date

from dxreport import fmt


def test_numbers_follow_vietnamese_usage():
    assert fmt.number(3348092) == "3.348.092"
    assert fmt.number(29.45) == "29,45"
    assert fmt.number(15.4) == "15,4"
    assert fmt.number(4920.426) == "4.920,426"
    assert fmt.number(87.01, 3) == "87,010"


def test_percent_and_units():
    assert fmt.percent(72.05) == "72,05%"
    assert fmt.percent(100) == "100%"
    assert fmt.with_unit(29.45, "Mbps") == "29,45 Mbps"
    assert fmt.ratio(3743, 3806, "thôn, bản") == "3.743/3.806 thôn, bản"


def test_dates_pad_the_day_below_10_and_the_months_1_and_2_as_the_decree_does():
    assert fmt.day(date(2023, 8, 30)) == "30/8/2023"
    assert fmt.day(date(2023, 10, 1)) == "01/10/2023"
    assert fmt.day(date(2022, 8, 1)) == "01/8/2022"
    assert fmt.day(date(2023, 2, 15)) == "15/02/2023"
    assert fmt.day(date(2023, 1, 5)) == "05/01/2023"


def test_missing_is_said_plainly_never_zero():
    assert fmt.number(None) == "Chưa có số liệu"
    assert fmt.percent(float("nan")) == "Chưa có số liệu"
