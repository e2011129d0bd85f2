"""Picking figures for a province and a period, and judging targets against them.

`latest` is the newest observation with `as_of` on or before the period's end; `previous` the
one before it (for the change). `judge` compares one figure with a target (Đạt / Chưa đạt / Chưa
có số liệu); `verdict` turns that into what the report prints for a period:

- the review's own word (`assessments.csv`) for the period the review covers: its date falls
  within the period and no figure of the target is newer than it. "Dự kiến đạt" is kept;
- else the data's: "Đạt"; "Chưa đạt" once the deadline has come (a target without statistics by
  then is "Chưa đạt", reason "chưa có số liệu thống kê", the province's convention); before the
  deadline "Chưa đến hạn" with the gap and the time left, or "Chưa có số liệu";
- a figure older than the policy's threshold (`periods.Policy`) gives no verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import pandas as pd

from . import schema

MET = "Đạt"
EXPECTED = "Dự kiến đạt"
NOT_MET = "Chưa đạt"
NOT_DUE = "Chưa đến hạn"
NO_DATA = "Chưa có số liệu"
VERDICTS = (MET, EXPECTED, NOT_MET, NOT_DUE, NO_DATA)  # the order of tallies and tables
NO_STATISTICS = "chưa có số liệu thống kê"
DONE_PREFIXES = ("đã hoàn thành", "đã triển khai", "hoàn thành")
DONE_WORDS = {"hoàn thành", "đã hoàn thành", "đã triển khai", "đã hoàn thành triển khai", "có", "ứng dụng",
              "đã ứng dụng", "đạt"}


def _num(x) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


@dataclass(frozen=True)
class Obs:
    province: str
    indicator_id: str
    breakdown: str
    as_of: date
    since: date | None
    value: float | None
    status: str
    unit: str
    numerator: float | None
    denominator: float | None
    source: str
    note: str
    qualifier: str = ""  # "hơn", "khoảng"... as the source printed it
    precision: float | None = None  # rounding step of the printed figure; None: as many decimals as written

    @classmethod
    def from_row(cls, row: pd.Series) -> "Obs":
        since = row["since"]
        return cls(
            province=row["province"], indicator_id=row["indicator_id"], breakdown=row["breakdown"],
            as_of=row["as_of"].date(), since=None if pd.isna(since) else since.date(),
            value=_num(row["value"]), status=row["status"], unit=row["unit"],
            numerator=_num(row["numerator"]), denominator=_num(row["denominator"]),
            source=row["source"], note=row["note"],
            qualifier=row.get("qualifier", ""), precision=_num(row.get("precision")),
        )

    @property
    def rate(self) -> float | None:
        """The figure in percent: the printed rate, else numerator/denominator; x/y's share when
        the printed rate does not follow from x/y (the source's print stays in the data note)."""
        computed = (100.0 * self.numerator / self.denominator
                    if self.numerator is not None and self.denominator else None)
        if self.unit == schema.PERCENT and self.value is not None:
            if computed is not None and abs(self.value - computed) > max(0.05, step(self) / 2):
                return computed
            return self.value
        return computed

    @property
    def number(self) -> float | None:
        """The figure in the indicator's unit (the rate for % indicators)."""
        return self.rate if self.unit == schema.PERCENT else self.value


def step(obs: Obs) -> float:
    """The rounding step of a figure as printed: its `precision`, else the decimals written
    (98.34 -> 0.01, 98 -> 1); 0 for a share computed from x/y (exact)."""
    if obs.precision:
        return float(obs.precision)
    if obs.value is None:
        return 0.0
    text = repr(float(obs.value))
    decimals = 0 if text.endswith(".0") or "e" in text else len(text.split(".")[1])
    return 10.0 ** -decimals


def observations_for(obs: pd.DataFrame, province: str, indicator_id: str, breakdown: str = "",
                     until: date | None = None) -> pd.DataFrame:
    rows = obs[(obs["province"] == province) & (obs["indicator_id"] == indicator_id) & (obs["breakdown"] == breakdown)]
    if until is not None:
        rows = rows[rows["as_of"] <= pd.Timestamp(until)]
    return rows.sort_values("as_of", kind="stable")  # same-day rows of several sources keep file order


def latest(obs: pd.DataFrame, province: str, indicator_id: str, breakdown: str = "",
           until: date | None = None) -> Obs | None:
    rows = observations_for(obs, province, indicator_id, breakdown, until)
    return None if rows.empty else Obs.from_row(rows.iloc[-1])


def previous(obs: pd.DataFrame, current: Obs | None) -> Obs | None:
    if current is None:
        return None
    rows = observations_for(obs, current.province, current.indicator_id, current.breakdown)
    rows = rows[rows["as_of"] < pd.Timestamp(current.as_of)]
    return None if rows.empty else Obs.from_row(rows.iloc[-1])


@dataclass(frozen=True)
class Evaluation:
    target_id: str
    status: str  # one of VERDICTS
    measured: float | str | None
    obs: Obs | None
    reason: str = ""  # why, in the report's words ("chưa có số liệu thống kê", the gap and time left)
    basis: str = "data"  # "data": computed from the figures; "review": the review's own word
    computed: str = ""  # the data's own verdict, kept beside the review's word to record disagreement
    old: bool = False  # the latest figure is older than the policy allows: no verdict from it


def measured_for(target: pd.Series, obs: Obs | None) -> float | str | None:
    if obs is None:
        return None
    if target["rule"] == "status":
        return obs.status or None
    if target["unit"] == schema.PERCENT:
        return obs.rate
    return obs.value


def judge(target: pd.Series, measured: float | str | None) -> str:
    """The verdict of one target given the measured figure (already in the target's unit)."""
    if measured is None or (isinstance(measured, float) and math.isnan(measured)):
        return NO_DATA
    rule = target["rule"]
    if rule == "status":  # every status target asks for something to be done or to exist
        got = str(measured).strip().lower()
        wanted = str(target["status"]).strip().lower()
        done = got in DONE_WORDS or got.startswith(DONE_PREFIXES)
        return MET if got == wanted or done else NOT_MET
    value, value_max = float(target["value"]), target["value_max"]
    ok = {
        ">=": measured >= value,
        ">": measured > value,
        "=": math.isclose(measured, value),
        "<=": measured <= value,
        "range": value <= measured <= float(value_max) if not pd.isna(value_max) else False,
    }[rule]
    return MET if ok else NOT_MET


def review_word(assessment: str) -> str:
    """The review's verdict as one of VERDICTS ('Dự kiến đạt chỉ tiêu trong năm 2023' -> Dự kiến đạt)."""
    word = str(assessment).strip().lower()
    if word.startswith("dự kiến"):
        return EXPECTED
    if word.startswith("chưa đạt") or word.startswith("không đạt"):
        return NOT_MET
    if word.startswith("đạt"):
        return MET
    return NO_DATA


def months_between(start: date, end: date) -> int:
    """Whole months from `start` to `end` (0 when end is within a month of start)."""
    months = (end.year - start.year) * 12 + end.month - start.month - (end.day < start.day)
    return max(months, 0)


def gap_text(target: pd.Series, measured) -> str:
    """'còn thiếu 0,44 điểm phần trăm' — how far a numeric figure is from its threshold."""
    from . import fmt

    if target["rule"] not in (">=", ">") or not isinstance(measured, (int, float)):
        return ""
    missing = float(target["value"]) - float(measured)
    if missing <= 0:
        return ""
    unit = target["unit"]
    amount = fmt.points(missing) if unit == schema.PERCENT else fmt.with_unit(missing, unit)
    return f"còn thiếu {amount}"


def verdict(target: pd.Series, obs: Obs | None, start: date, until: date,
            assessment: pd.Series | None = None, policy=None) -> Evaluation:
    """What the report prints for one target in the period [start, until] (see the module doc)."""
    from . import fmt, periods

    policy = policy or periods.Policy.from_env()
    measured = measured_for(target, obs)
    old = obs is not None and policy.is_old(obs.as_of, until)
    computed = NO_DATA if old else judge(target, measured)
    due = target.get("target_date")
    due = None if due is None or pd.isna(due) else pd.Timestamp(due).date()
    reason = f"chỉ có số liệu cũ (tính đến {fmt.day(obs.as_of)})" if old else ""
    if old:  # an old figure gives no verdict, whatever the deadline
        status = NO_DATA
    elif computed == MET:
        status = MET
    elif due is not None and until < due:
        status = NOT_DUE if computed == NOT_MET else NO_DATA
        left = months_between(until, due)
        wait = f"còn {left} tháng đến hạn {fmt.day(due)}" if left else f"đến hạn {fmt.day(due)}"
        if computed == NOT_MET:
            reason = ", ".join(p for p in (gap_text(target, measured), wait) if p)
        elif not reason:
            reason = wait
    elif computed == NOT_MET:
        status = NOT_MET
    elif due is not None:  # the deadline has come and there are no (current) statistics
        status, reason = NOT_MET, reason or NO_STATISTICS
    else:
        status = NO_DATA
    data_verdict = Evaluation(target["target_id"], status, measured, obs, reason, "data", status, old)
    if assessment is None or pd.isna(assessment.get("as_of")):
        return data_verdict
    said = pd.Timestamp(assessment["as_of"]).date()
    newer = obs is not None and obs.as_of > said
    if not (start <= said <= until) or newer:
        return data_verdict
    word = review_word(assessment["assessment"])
    result = str(assessment.get("result_text", ""))
    why = NO_STATISTICS if NO_STATISTICS in result.lower() else (
        str(assessment["assessment"]).strip() if word == EXPECTED else "")
    return Evaluation(target["target_id"], word, measured, obs, why, "review", status, old)


def evaluate(target: pd.Series, observations: pd.DataFrame, until: date | None = None) -> Evaluation:
    """The data's verdict for a target at `until` (no review), as `verdict` computes it."""
    obs = latest(observations, target["province"], target["indicator_id"], target["breakdown"], until)
    return evaluate_latest(target, obs, until)


def evaluate_latest(target: pd.Series, obs: Obs | None, until: date | None = None) -> Evaluation:
    """`evaluate` for a caller that has already found the target's latest figure up to `until`."""
    if until is None:
        return Evaluation(target["target_id"], judge(target, measured_for(target, obs)), measured_for(target, obs), obs)
    return verdict(target, obs, date(until.year, 1, 1), until)
