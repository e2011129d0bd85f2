"""Sentences in the register of a provincial report, written only from what the data holds.

Each helper takes observations and evaluations and returns Vietnamese text; a missing figure is
said plainly ("Chưa có số liệu"), never replaced by zero.
"""

from __future__ import annotations

import pandas as pd

from . import fmt, schema
from .display import Sentence
from .selection import EXPECTED, MET, NO_DATA, NOT_DUE, NOT_MET, Evaluation, Obs, step

RULE_TEXT = {">=": "≥", ">": ">", "=": "=", "<=": "≤"}


def figure_text(obs: Obs, count_unit: str = "") -> str:
    """The figure as the report prints it: '72,05% (293.670/407.595 hồ sơ)', '3.743/3.806 thôn, bản',
    with the source's qualifier before it ('hơn 2.500 trạm')."""
    text = _figure_text(obs, count_unit)
    return f"{obs.qualifier} {text}" if obs.qualifier and (obs.value is not None or obs.numerator is not None) else text


def _figure_text(obs: Obs, count_unit: str = "") -> str:
    if obs.value is None and obs.numerator is None:
        return obs.status or fmt.MISSING
    if obs.unit == schema.PERCENT:
        if obs.numerator is not None and obs.denominator:
            whole = float(obs.numerator).is_integer() and float(obs.denominator).is_integer()
            pair = (fmt.ratio(obs.numerator, obs.denominator, count_unit) if whole else
                    f"{fmt.number(obs.numerator)}/{fmt.number(obs.denominator)} {count_unit}".strip())
            computed = 100.0 * obs.numerator / obs.denominator
            if obs.value is None:  # only x/y printed: the share is computed, and shown after it
                return f"{pair} ({fmt.percent(round(obs.rate, 2))})"
            if abs(obs.value - computed) > max(0.05, step(obs) / 2):  # the printed share does not follow from x/y (the
                return f"{fmt.percent(round(computed, 2))} ({pair})"  # data note keeps it): print x/y's
            return f"{fmt.percent(obs.value)} ({pair})"
        return fmt.percent(obs.value)
    if obs.denominator and obs.unit == "hạng":
        return f"{fmt.number(obs.value)}/{fmt.number(obs.denominator)}"
    if obs.denominator:
        return fmt.ratio(obs.value, obs.denominator, obs.unit)
    return fmt.with_unit(obs.value, obs.unit)


def when_text(obs: Obs) -> str:
    if obs.since and (obs.since.month, obs.since.day, obs.as_of.month, obs.as_of.day) == (1, 1, 12, 31) \
            and obs.since.year == obs.as_of.year:
        return f"năm {obs.as_of.year}"
    if obs.since:
        return f"từ {fmt.day(obs.since)} đến {fmt.day(obs.as_of)}"
    return f"tính đến {fmt.day(obs.as_of)}"


def change_text(current: Obs, before: Obs | None, higher_is_better: bool = True) -> str:
    """'tăng 2,1 điểm phần trăm so với 70% (31/12/2022)', or '' when there is nothing to compare."""
    if before is None or current.number is None or before.number is None:
        return ""
    delta = current.number - before.number
    base = f"so với {fmt.with_unit(before.number, current.unit)} ({fmt.day(before.as_of)})"
    if current.unit == "hạng" and (before.as_of.month, before.as_of.day) == (12, 31):
        base = f"so với năm {before.as_of.year} ({fmt.with_unit(before.number, current.unit)})"
    if abs(delta) < 1e-9:
        return f"không đổi {base}"
    word = "tăng" if delta > 0 else "giảm"
    if current.unit == "hạng":
        word = "tăng" if delta < 0 else "giảm"  # a smaller rank number is a climb
        amount = f"{fmt.number(abs(delta))} bậc"
    elif current.unit == schema.PERCENT:
        amount = fmt.points(delta)
    else:
        amount = fmt.with_unit(abs(delta), current.unit)
    return f"{word} {amount} {base}"


def target_text(target: pd.Series) -> str:
    """'≥ 70%', '50–80%', 'Hoàn thành', '≥ 1.708.473 tài khoản'."""
    rule, unit = target["rule"], target["unit"]
    if rule == "status":
        return str(target["status"])
    if rule == "range":
        low, high = fmt.number(target["value"]), fmt.number(target["value_max"])
        return f"{low}–{high}{'%' if unit == schema.PERCENT else ' ' + unit}"
    return f"{RULE_TEXT[rule]} {fmt.with_unit(target['value'], unit)}"


VERDICT_WORDS = {MET: "đạt", EXPECTED: "dự kiến đạt", NOT_MET: "chưa đạt", NOT_DUE: "chưa đến hạn",
                 NO_DATA: "chưa có số liệu để đánh giá"}


def verdict_text(evaluation: Evaluation) -> str:
    """'chưa đạt (chưa có số liệu thống kê)', 'chưa đến hạn (còn thiếu 0,44 điểm phần trăm, còn 27 tháng …)'."""
    word = VERDICT_WORDS[evaluation.status]
    reason = evaluation.reason
    if reason.lower().startswith(word):  # the review's own phrase: "Dự kiến đạt chỉ tiêu trong năm 2023"
        return reason[0].lower() + reason[1:]
    return f"{word} ({reason})" if reason else word


def verdict_cell(status: str, reason: str = "") -> str:
    """The verdict as a table cell: 'Chưa đạt (chưa có số liệu thống kê)'."""
    if reason.lower().startswith(status.lower()):
        return reason
    return f"{status} ({reason})" if reason else status


def indicator_sentence(name: str, obs: Obs | None, before: Obs | None = None, count_unit: str = "",
                       higher_is_better: bool = True, target: pd.Series | None = None,
                       evaluation: Evaluation | None = None, old: bool = False) -> Sentence:
    """One sentence for one indicator: value, unit, date, change, target and verdict. An old
    figure is marked "số liệu cũ" beside its date (its change is not computed by the caller).

    Plain text (data strings are escaped when displayed); the figure's note is attached as a
    footnote after the figure's date."""
    notes = {}
    if obs is None:
        sentence = f"{name}: {fmt.MISSING.lower()} trong kỳ báo cáo."
    else:
        # a status reads "…: chưa ban hành", a count "Số …: 6 văn bản", a rate or measure "… đạt 72,05%";
        # how a figure was read from its source (obs.note) is for the internal check sheet, not the report
        status_only = obs.value is None and obs.numerator is None
        label = ("đứng thứ" if obs.unit == "hạng" else ":" if status_only or name.startswith("Số ")
                 else "là" if not higher_is_better else "đạt")
        figure = figure_text(obs, count_unit)  # with the source's qualifier: "trên 870 điểm"
        figure = lower_first(figure) if status_only else figure
        sentence = (f"{name}{'' if label == ':' else ' '}{label} {figure} "
                    f"({when_text(obs)}{'; số liệu cũ' if old else ''})")
        change = change_text(obs, before, higher_is_better)
        sentence += f", {change}." if change else "."
    if target is not None and evaluation is not None:
        due = "" if pd.isna(target["target_date"]) else f" đến {fmt.day(target['target_date'].date())}"
        sentence += f" Mục tiêu {target_text(target)}{due} ({target['plan']}): {verdict_text(evaluation)}."
    return Sentence(sentence, notes)


def tally_text(pillar_name: str, met: int, total: int) -> str:
    """'Chính quyền số: đạt 8/11 mục tiêu'."""
    return f"{pillar_name}: đạt {met}/{total} mục tiêu"


def lower_first(text: str) -> str:
    """'Chưa ban hành' -> 'chưa ban hành', keeping acronyms ('TTHC', 'BTS') and proper nouns in capitals."""
    first = str(text).split(" ", 1)[0]
    if len(first) > 1 and (first.isupper() or any(c.isupper() for c in first[1:])):
        return str(text)
    return str(text)[:1].lower() + str(text)[1:]
