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


# -- what "today" is, and which figures are too old to speak for a period ---------------------

REFORM_DAY = date(2025, 7, 1)  # district level (huyện) abolished: local government is tỉnh / xã from here


@dataclass(frozen=True)
class Policy:
    """Report-wide settings, defined once.

    `old_after_months`: a figure dated more than this many months before the period's end is
    "số liệu cũ": printed with its date, but it gives no verdict and no trend (default 12;
    environment `DXREPORT_OLD_MONTHS`). `mostly_current`: share of an indicator's latest figures
    that must be current for a period to count as "mostly current" (more than half).
    """

    old_after_months: int = 12
    mostly_current: float = 0.5

    @classmethod
    def from_env(cls) -> "Policy":
        import os

        raw = os.environ.get("DXREPORT_OLD_MONTHS", "").strip()
        if not raw:
            return cls()
        if not raw.isdigit() or int(raw) < 1:
            raise PeriodError(f"DXREPORT_OLD_MONTHS={raw!r} không hợp lệ: cần một số nguyên dương (số tháng).")
        return cls(old_after_months=int(raw))

    def old_before(self, end: date) -> date:
        """The first day a figure still counts as current for a period ending on `end`."""
        months = end.year * 12 + end.month - 1 - self.old_after_months
        year, month = divmod(months, 12)
        return date(year, month + 1, min(end.day, calendar.monthrange(year, month + 1)[1]))

    def is_old(self, as_of: date, end: date) -> bool:
        return as_of < self.old_before(end)


TODAY_ENV = "DXREPORT_TODAY"


def today() -> date:
    """Today's date; `DXREPORT_TODAY` (YYYY-MM-DD) stands in for it in tests."""
    import os

    raw = os.environ.get(TODAY_ENV, "").strip()
    return date.fromisoformat(raw) if raw else date.today()


def refuse_future(period: Period, on: date | None = None) -> Period:
    """A report cannot state figures "tính đến" a day that has not come: refuse a period not yet ended."""
    on = on or today()
    if period.end > on:
        raise PeriodError(
            f"Kỳ báo cáo {period.code} ({period.label_vi}) kết thúc ngày {period.end.day}/{period.end.month}/"
            f"{period.end.year}, sau ngày hôm nay ({on.day}/{on.month}/{on.year}): chưa thể lập báo cáo cho một "
            "kỳ chưa kết thúc. Hãy chọn một kỳ đã kết thúc.")
    return period


def report_period(code: str | Period, on: date | None = None) -> Period:
    """`parse`, then `refuse_future`: the period a report may be built for."""
    return refuse_future(parse(code), on)


def current_share(latest_dates: Iterable[date], end: date, policy: Policy | None = None) -> tuple[int, int]:
    """(current, total) over the latest figure of each series on or before `end`."""
    policy = policy or Policy.from_env()
    dates = list(latest_dates)
    return sum(not policy.is_old(d, end) for d in dates), len(dates)


def _latest_per_series(rows: Iterable[tuple[tuple, date]], end: date) -> list[date]:
    newest: dict[tuple, date] = {}
    for key, day in rows:
        if day <= end and (key not in newest or day > newest[key]):
            newest[key] = day
    return list(newest.values())


def mostly_current_default(rows: list[tuple[tuple, date]], on: date | None = None,
                           policy: Policy | None = None) -> Period:
    """The default period: the latest ended quarter whose report is mostly current.

    `rows` are (series key, as_of) of one province's figures. A quarter's report is mostly current
    when more than `policy.mostly_current` of its series' latest figures are not old (see `Policy`).
    Candidates are the quarters holding a figure, newest first; when none is mostly current, the
    quarter of the newest figure.
    """
    policy = policy or Policy.from_env()
    on = on or today()
    if not rows:
        raise PeriodError("Chưa có số liệu nào để chọn kỳ báo cáo mặc định.")
    quarters = sorted({quarter_of(day) for _, day in rows if quarter_of(day).end <= on}, reverse=True)
    for quarter in quarters:
        current, total = current_share(_latest_per_series(rows, quarter.end), quarter.end, policy)
        if total and current / total > policy.mostly_current:
            return quarter
    return quarters[0] if quarters else latest_with_data(day for _, day in rows)


def staleness_warning(rows: list[tuple[tuple, date]], period: Period, policy: Policy | None = None) -> str:
    """A Vietnamese warning when most figures a period would state are old, else ''."""
    policy = policy or Policy.from_env()
    current, total = current_share(_latest_per_series(rows, period.end), period.end, policy)
    if not total or current / total > policy.mostly_current:
        return ""
    cut = policy.old_before(period.end)
    return (f"{total - current}/{total} số liệu của kỳ {period.code} có ngày trước {cut.day}/{cut.month}/{cut.year} "
            f"(cũ hơn {policy.old_after_months} tháng so với cuối kỳ): báo cáo không nêu chúng như kết quả của kỳ "
            "mà liệt kê là “số liệu cũ” ở bảng “Chỉ tiêu chưa có số liệu cập nhật trong kỳ” cuối mỗi chương, "
            "không đánh giá và không tính xu hướng từ chúng.")
