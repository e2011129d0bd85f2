"""Picking figures for a province and a period, and judging targets against them.

`latest` is the newest observation with `as_of` on or before the period's end; `previous` the
one before it (for the change). `evaluate` judges a target: Đạt / Chưa đạt / Chưa có số liệu.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import pandas as pd

from . import schema

MET = "Đạt"
NOT_MET = "Chưa đạt"
NO_DATA = "Chưa có số liệu"
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
        """The figure in percent: the printed rate, else numerator/denominator."""
        if self.unit == schema.PERCENT and self.value is not None:
            return self.value
        if self.numerator is not None and self.denominator:
            return 100.0 * self.numerator / self.denominator
        return None

    @property
    def number(self) -> float | None:
        """The figure in the indicator's unit (the rate for % indicators)."""
        return self.rate if self.unit == schema.PERCENT else self.value


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
    status: str  # MET | NOT_MET | NO_DATA
    measured: float | str | None
    obs: Obs | None


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


def evaluate(target: pd.Series, observations: pd.DataFrame, until: date | None = None) -> Evaluation:
    obs = latest(observations, target["province"], target["indicator_id"], target["breakdown"], until)
    measured = measured_for(target, obs)
    return Evaluation(target["target_id"], judge(target, measured), measured, obs)
