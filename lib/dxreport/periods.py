"""Reporting periods: a year, a half-year, a quarter, or "to the end of month N".

A period is cumulative from the start of its year to its end: a report for `2023-Q3` states
each figure as last known on or before 30/9/2023 ("tính đến"), the way the province reports.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Iterable

from .errors import PeriodError

_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
_PATTERN = re.compile(r"^(?P<year>[0-9]{4})(?:-(?:(?P<half>H[12])|(?P<quarter>Q[1-4])|(?P<month>[0-9]{2})))?$")
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2212"), "-")

VALID_FORMS = "2023 (năm), 2023-H1 / 2023-H2 (6 tháng), 2023-Q1 … 2023-Q4 (quý), 2023-10 (đến hết tháng 10)"


@dataclass(frozen=True, order=True)
class Period:
    end: date
    start: date
    code: str
    kind: str  # "year" | "half" | "quarter" | "month"

    @property
    def year(self) -> int:
        return self.end.year

    @property
    def label_vi(self) -> str:
        """Noun phrase used in titles: 'quý III năm 2023'."""
        if self.kind == "year":
            return f"năm {self.year}"
        if self.kind == "half":
            which = "đầu" if self.end.month == 6 else "cuối"
            return f"6 tháng {which} năm {self.year}"
        if self.kind == "quarter":
            return f"quý {_ROMAN[(self.end.month - 1) // 3 + 1]} năm {self.year}"
        return f"đến hết tháng {self.end.month} năm {self.year}"

    @property
    def within_vi(self) -> str:
        """'trong quý III năm 2023', or 'tính đến hết tháng 10 năm 2023' for a month."""
        return f"tính {self.label_vi}" if self.kind == "month" else f"trong {self.label_vi}"

    def __str__(self) -> str:
        return self.code


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def parse(code: str | Period) -> Period:
    """Parse a period code; raise `PeriodError` listing the valid forms."""
    if isinstance(code, Period):
        return code
    # NFKC folds what a Vietnamese IME or a copied document may type: full-width digits and letters
    # ("２０２３－Ｑ３"), then typographic dashes become "-". Only ASCII digits are accepted after that.
    text = unicodedata.normalize("NFKC", str(code)).translate(_DASHES).strip().upper()
    match = _PATTERN.match(text)
    if not match:
        raise PeriodError(f"Kỳ báo cáo {code!r} không hợp lệ. Các dạng hợp lệ: {VALID_FORMS}.")
    year = int(match["year"])
    if not 2000 <= year <= 2100:
        raise PeriodError(f"Năm {year} nằm ngoài khoảng 2000–2100. Các dạng hợp lệ: {VALID_FORMS}.")
    if match["half"]:
        half = int(match["half"][1])
        return Period(_month_end(year, 6 * half), date(year, 6 * half - 5, 1), text, "half")
    if match["quarter"]:
        quarter = int(match["quarter"][1])
        return Period(_month_end(year, 3 * quarter), date(year, 3 * quarter - 2, 1), text, "quarter")
    if match["month"]:
        month = int(match["month"])
        if not 1 <= month <= 12:
            raise PeriodError(f"Tháng {month} không hợp lệ trong {code!r}. Các dạng hợp lệ: {VALID_FORMS}.")
        return Period(_month_end(year, month), date(year, month, 1), text, "month")
    return Period(date(year, 12, 31), date(year, 1, 1), text, "year")


def quarter_of(day: date) -> Period:
    return parse(f"{day.year}-Q{(day.month - 1) // 3 + 1}")


def latest_with_data(dates: Iterable[date]) -> Period:
    """The quarter holding the newest date: the default period of a report."""
    newest = max(dates, default=None)
    if newest is None:
        raise PeriodError("Chưa có số liệu nào để chọn kỳ báo cáo mặc định.")
    return quarter_of(newest)
