"""Vietnamese number and date formats, through Babel's `vi_VN` locale, never by hand.

    number(3348092)        -> '3.348.092'
    number(29.45)          -> '29,45'
    percent(72.05)         -> '72,05%'    (the argument is already in percent)
    day(date(2023, 8, 30)) -> '30/8/2023'    day(date(2022, 8, 1)) -> '01/8/2022'
"""

from __future__ import annotations

import math
from datetime import date
from functools import lru_cache

from babel.dates import format_date
from babel.numbers import format_decimal

LOCALE = "vi_VN"
MISSING = "Chưa có số liệu"


# Babel formats a number or a date in tens of microseconds; a report prints the same ones many
# times (a site of eight periods, the same dates and figures in every period). The results
# are a pure function of the value and the pattern, kept per process.
@lru_cache(maxsize=16384)
def _cached_decimal(value, pattern: str) -> str:
    return format_decimal(value, format=pattern, locale=LOCALE)


def _decimal(value, pattern: str) -> str:
    try:
        return _cached_decimal(value, pattern)
    except TypeError:  # a value that cannot be a key
        return format_decimal(value, format=pattern, locale=LOCALE)


@lru_cache(maxsize=16384)
def _day(value: date, pattern: str) -> str:
    return format_date(value, pattern, locale=LOCALE)


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value, decimals: int | None = None) -> str:
    """A number with Vietnamese grouping and decimal comma.

    With `decimals=None` up to three significant decimals are kept, trailing zeros dropped.
    """
    if _is_missing(value):
        return MISSING
    if decimals is None:
        pattern = "#,##0.###"
    elif decimals == 0:
        pattern = "#,##0"
    else:
        pattern = "#,##0." + "0" * decimals
    return _decimal(value, pattern)


def percent(value, decimals: int | None = None) -> str:
    """A value already expressed in percent: 72.05 -> '72,05%'."""
    if _is_missing(value):
        return MISSING
    if decimals is None:
        decimals = 0 if float(value).is_integer() else 2
        text = _decimal(value, "#,##0.##")
    else:
        text = number(value, decimals)
    return f"{text}%"


def points(value, decimals: int = 2) -> str:
    """A difference of two percentages: 'điểm phần trăm'."""
    return f"{_decimal(abs(value), '#,##0.' + '#' * decimals)} điểm phần trăm"


def day(value: date | None) -> str:
    """A date as Decree 30/2020/NĐ-CP writes it: a day below 10 and the months 1 and 2 take a
    leading zero ('01/8/2022', '15/02/2023', '30/9/2023')."""
    if value is None or value != value:  # None or NaT
        return MISSING
    return _day(value, "dd/MM/yyyy" if value.month in (1, 2) else "dd/M/yyyy")


def with_unit(value, unit: str) -> str:
    """'29,45 Mbps', '72,05%', '3.348.092 thuê bao'."""
    if _is_missing(value):
        return MISSING
    if unit == "%":
        return percent(value)
    if unit == "hạng":
        return f"hạng {number(value)}"
    return f"{number(value)} {unit}".strip()


def ratio(numerator, denominator, unit: str = "") -> str:
    """'3.743/3.806 thôn, bản'."""
    text = f"{number(numerator, 0)}/{number(denominator, 0)}"
    return f"{text} {unit}".strip()


def tick(value, unit: str = "") -> str:
    """An axis tick's label: a Vietnamese number to two decimals at most (and % when asked)."""
    return percent(round(value, 2)) if unit == "%" else number(round(value, 2))


def axis_formatter(unit: str = ""):
    """A matplotlib tick formatter printing `tick` labels."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _pos: tick(x, unit))


def natural_key(label) -> tuple:
    """Sort key reading digit runs as numbers: '(2)' before '(10)', 'Quý 2' before 'Quý 10',
    'mục I.2' before 'mục I.10'."""
    import re

    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part.lower())
                 for part in re.split(r"(\d+)", str(label)) if part)
