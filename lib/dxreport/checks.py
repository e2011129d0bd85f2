"""The internal check sheet: what a reviewer should look at before a report is sent.

For one province and period it lists, one row each:

- every data-quality note of the figures the report can use (misprints, readings, how an undated
  page was dated), of the targets and of the funding rows;
- every disagreement between sources: the same indicator and breakdown, dates at most
  `close_days` apart, different sources, values that differ by more than their printed precision.
  Each side of a disagreement is its own row, so both values are always shown, never one;
- printed rates that disagree with their own x/y;
- figures older than `old_months` before the period's end that are still the latest known.

The sheet is internal: the build writes it beside the report (`kiem-tra-so-lieu.xlsx`) and the
report never links to it. Text cells that a spreadsheet would run as a formula (=, +, -, @, tab,
carriage return at the start) are neutralised with a leading apostrophe (OWASP, CSV injection).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from . import fmt, narrative, periods
from .escape import FORMULA_START
from .paths import CHECK_SHEET_NAME
from .selection import Obs

FILE_NAME = CHECK_SHEET_NAME
COLUMNS = ["Loại", "Chỉ tiêu", "Mã chỉ tiêu", "Phân tổ", "Ngày", "Giá trị", "Nguồn", "Ghi chú"]
NOTE = "Ghi chú số liệu"
CONFLICT = "Nguồn mâu thuẫn"
MISMATCH = "Tỷ lệ in khác x/y"
OLD = "Số liệu cũ"
KINDS = (CONFLICT, MISMATCH, OLD, NOTE)  # the sheet's order: what needs a decision first


def check_sheet(data, province: str, period: periods.Period | str, close_days: int = 31,
                old_months: int = 12) -> pd.DataFrame:
    """Every check for `province` up to the end of `period`, as a frame with Vietnamese columns."""
    chosen = periods.parse(period) if isinstance(period, str) else period
    end = pd.Timestamp(chosen.end)
    obs = data.observations
    obs = obs[(obs["province"] == province) & (obs["as_of"] <= end)].sort_values("as_of", kind="stable")
    names = data.indicators.set_index("indicator_id")["name_vi"].to_dict()
    counts = data.indicators.set_index("indicator_id")["count_unit"].to_dict()
    rows: list[dict] = []

    def add(kind: str, o: Obs, note: str) -> None:
        rows.append({
            "Loại": kind, "Chỉ tiêu": names.get(o.indicator_id, o.indicator_id), "Mã chỉ tiêu": o.indicator_id,
            "Phân tổ": o.breakdown, "Ngày": fmt.day(o.as_of),
            "Giá trị": narrative.figure_text(o, counts.get(o.indicator_id, "")), "Nguồn": o.source, "Ghi chú": note,
        })

    observations = [Obs.from_row(r) for r in obs.to_dict("records")]  # a Series per row cost most of the sheet
    bases = obs["as_of_basis"].tolist() if "as_of_basis" in obs.columns else [""] * len(obs)
    for o, basis in zip(observations, bases):
        if o.note or basis:
            add(NOTE, o, " ".join(p for p in (o.note, f"Ngày tính đến: {basis}." if basis else "") if p))
        computed = _computed_rate(o)
        if computed is not None and abs(computed - o.value) > _tolerance(o):
            add(MISMATCH, o, f"In {fmt.percent(o.value)}, nhưng {fmt.number(o.numerator, 0)}/{fmt.number(o.denominator, 0)}"
                             f" = {fmt.percent(round(computed, 2))}.")
    for a, b in _conflicts(observations, close_days):
        add(CONFLICT, a, f"Khác với {narrative.figure_text(b, counts.get(b.indicator_id, ''))} theo {b.source}"
                         f" ({fmt.day(b.as_of)}). Giữ cả hai, không lấy trung bình.")
    cutoff = (end - pd.DateOffset(months=old_months)).date()
    for o in _latest(observations):
        if o.as_of < cutoff:
            add(OLD, o, f"Số liệu mới nhất tính đến {fmt.day(chosen.end)} có ngày {fmt.day(o.as_of)}, "
                        f"cũ hơn {old_months} tháng so với cuối kỳ.")
    rows += _other_notes(data, province, chosen.end)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    order = {k: i for i, k in enumerate(KINDS)}
    return frame.sort_values("Loại", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)


def _computed_rate(o: Obs) -> float | None:
    if o.unit != "%" or o.value is None or o.numerator is None or not o.denominator:
        return None
    return 100.0 * o.numerator / o.denominator


def _tolerance(o: Obs) -> float:
    """Half the printed rounding step: 72,35% allows 0,005; '98%' (precision 1) allows 0,5."""
    if o.precision:
        return o.precision / 2 + 1e-9
    text = f"{o.value:.10f}".rstrip("0")
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10 ** -decimals + 1e-9


def _differ(a: Obs, b: Obs) -> bool:
    if a.number is None or b.number is None:
        return bool(a.status or b.status) and a.status.strip().lower() != b.status.strip().lower()
    step = max(a.precision or 0.0, b.precision or 0.0)
    return abs(a.number - b.number) > step / 2 + 1e-9


def _conflicts(observations: list[Obs], close_days: int) -> list[tuple[Obs, Obs]]:
    """(row, other row) for every pair of sources that disagree; each pair is listed both ways."""
    groups: dict[tuple, list[Obs]] = {}
    for o in observations:
        groups.setdefault((o.indicator_id, o.breakdown), []).append(o)
    found = []
    for group in groups.values():
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                if a.source == b.source or abs((a.as_of - b.as_of).days) > close_days or not _differ(a, b):
                    continue
                found += [(a, b), (b, a)]
    return found


def _latest(observations: list[Obs]) -> list[Obs]:
    newest: dict[tuple, Obs] = {}
    for o in observations:  # oldest first: the last one seen is the latest, as selection.latest
        newest[(o.indicator_id, o.breakdown)] = o
    return list(newest.values())


def _other_notes(data, province: str, end: date) -> list[dict]:
    """Notes of the targets and funding rows the report can show."""
    rows = []
    targets = data.targets[(data.targets["province"] == province) & (data.targets["note"] != "")]
    for _, t in targets.iterrows():
        rows.append({"Loại": NOTE, "Chỉ tiêu": t["text_vi"], "Mã chỉ tiêu": t["indicator_id"], "Phân tổ": t["breakdown"],
                     "Ngày": fmt.day(t["target_date"].date()) if not pd.isna(t["target_date"]) else "",
                     "Giá trị": f"Mục tiêu {narrative.target_text(t)} ({t['plan']})", "Nguồn": t["source"],
                     "Ghi chú": t["note"]})
    budget = data.budget[(data.budget["province"] == province) & (data.budget["note"] != "")
                         & (data.budget["year_from"] <= end.year)]
    for _, b in budget.iterrows():
        years = f"{int(b['year_from'])}" + (f"–{int(b['year_to'])}" if b["year_to"] != b["year_from"] else "")
        rows.append({"Loại": NOTE, "Chỉ tiêu": f"Kinh phí {b['pillar']} ({b['kind']})", "Mã chỉ tiêu": "",
                     "Phân tổ": "", "Ngày": years, "Giá trị": fmt.with_unit(b["amount"], "tỷ đồng"),
                     "Nguồn": b["source"], "Ghi chú": b["note"]})
    return rows


def neutralise(value):
    """A text cell a spreadsheet would evaluate (=, +, -, @...) gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_check_sheet(data, province: str, period: periods.Period | str, folder: str | Path) -> Path:
    """Write the sheet into `folder` as an .xlsx workbook; returns its path."""
    from . import xlsx

    frame = check_sheet(data, province, period)
    chosen = periods.parse(period) if isinstance(period, str) else period
    title = (f"Kiểm tra số liệu nội bộ: tỉnh {data.province_name(province)}, {chosen.label_vi} "
             "(không công bố, không đính kèm báo cáo)")
    rows = [[title], list(COLUMNS)] + [[neutralise(v) for v in record] for record in frame.itertuples(index=False)]
    sheet = xlsx.Sheet("Kiểm tra số liệu", rows, bold={2}, wrap_from=3, widths=[18, 45, 24, 22, 12, 22, 45, 90],
                       freeze=3)
    path = Path(folder) / FILE_NAME
    xlsx.write(path, [sheet])
    return path
