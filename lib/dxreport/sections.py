"""Building blocks of a chapter: paragraphs, tables and charts made from the data.

Each function returns a list of display objects (Text, Table, Figure) for `Chapter.show`.
Nothing here states a figure the data does not hold; missing figures read "Chưa có số liệu".
"""

from __future__ import annotations

import pandas as pd

from . import charts, fmt, narrative, selection
from .chapter import Chapter, Section
from .selection import MET, NO_DATA, NOT_MET

NO_DATA_SECTION = "Chưa có số liệu cho mục này trong kỳ báo cáo."


def intro(ch: Chapter) -> list:
    ids = {i for s in ch.spec.sections for i in s.indicators} or set(
        ch.data.indicators.loc[ch.data.indicators["pillar"].isin(ch.pillars), "indicator_id"])
    obs = ch.data.observations
    rows = obs[(obs["province"] == ch.province) & obs["indicator_id"].isin(ids)
               & (obs["as_of"] <= pd.Timestamp(ch.until))]
    if rows.empty:
        return [ch.text(f"Chưa có số liệu về {ch.spec.title.lower()} của tỉnh {ch.province_name} "
                        f"tính đến {fmt.day(ch.until)}.")]
    newest = rows["as_of"].max().date()
    return [ch.text(f"Mục này tổng hợp kết quả {ch.spec.title.lower()} của tỉnh {ch.province_name} "
                    f"{ch.period.label_vi}, theo số liệu mới nhất tính đến {fmt.day(newest)} "
                    f"(mốc kỳ báo cáo: {fmt.day(ch.until)}).")]


def _row(ch: Chapter, indicator_id: str, breakdown: str = "") -> list[str] | None:
    ind = ch.indicator(indicator_id)
    obs = ch.latest(indicator_id, breakdown)
    target = ch.target_for(indicator_id, breakdown)
    name = ind["name_vi"] + (f" — {breakdown}" if breakdown else "")
    if obs is None and target is None:
        return None
    result = narrative.figure_text(obs, ind["count_unit"]) if obs is not None else fmt.MISSING
    when = fmt.day(obs.as_of) if obs is not None else ""
    goal = narrative.target_text(target) if target is not None else ""
    verdict = ch.evaluate(target).status if target is not None else ""
    return [name, result, when, goal, verdict]


def indicator_section(ch: Chapter, section: Section) -> list:
    """Sentences, a table of the section's indicators, and its chart."""
    sentences, rows, cited = [], [], []
    known = set(ch.data.indicators["indicator_id"])
    for indicator_id in (i for i in section.indicators if i in known):
        keys = [""] + ch.breakdowns(indicator_id)
        for breakdown in keys:
            obs = ch.latest(indicator_id, breakdown)
            if obs is None:
                continue
            cited.append(obs)
            if breakdown == "" or ch.latest(indicator_id, "") is None:
                sentences.append(ch.sentence(indicator_id, breakdown))
            row = _row(ch, indicator_id, breakdown)
            if row:
                rows.append(row)
        if ch.latest(indicator_id, "") is None and not ch.breakdowns(indicator_id):
            row = _row(ch, indicator_id)
            if row:  # a target without data: say so in the table
                rows.append(row)
    if not cited:
        out = [ch.text(NO_DATA_SECTION)]
        if rows:
            out.append(ch.table(pd.DataFrame(rows, columns=["Chỉ tiêu", "Kết quả", "Tính đến", "Mục tiêu", "Đánh giá"]),
                                f"{section.title}: mục tiêu và kết quả", ch.cite_all([])or "Dữ liệu dxreport",
                                align=["l", "r", "r", "r", "l"]))
        return out
    out = [ch.text(" ".join(f"- {s}" if len(sentences) > 1 else s for s in sentences)
                   if len(sentences) == 1 else "\n".join(f"- {s}" for s in sentences))]
    frame = pd.DataFrame(rows, columns=["Chỉ tiêu", "Kết quả", "Tính đến", "Mục tiêu", "Đánh giá"])
    out.append(ch.table(frame, f"{section.title}: kết quả {ch.period.label_vi}", ch.cite_all(cited),
                        align=["l", "r", "r", "r", "l"]))
    if section.chart:
        out += chart_for(ch, section.chart)
    return out


def chart_for(ch: Chapter, indicator_id: str) -> list:
    """A breakdown chart when the indicator has levels, a comparison across provinces when several
    provinces report it, else a trend when it has several dates; nothing when none applies."""
    ind = ch.indicator(indicator_id)
    unit = ind["unit"]
    out = []
    levels = ch.breakdowns(indicator_id)
    points = [(b, ch.latest(indicator_id, b)) for b in levels]
    points = [(b, o) for b, o in points if o is not None and o.number is not None]
    target = ch.target_for(indicator_id)
    target_value = float(target["value"]) if target is not None and target["rule"] in (">=", ">") and target["unit"] == unit else None
    if len(points) >= 2:
        frame = pd.DataFrame({"label": [b for b, _ in points], "value": [o.number for _, o in points]})
        fig = charts.bars(frame, "label", "value", unit, target=target_value,
                          xmax=100 if unit == "%" else None)
        out.append(ch.figure(fig, f"{ind['name_vi']} theo phân tổ, tính đến {fmt.day(max(o.as_of for _, o in points))}",
                             ch.cite_all([o for _, o in points])))
    provinces = sorted(set(ch.data.provinces["unit_id"]))
    compared = [(p, ch.latest(indicator_id, "", province=p)) for p in provinces]
    compared = [(p, o) for p, o in compared if o is not None and o.number is not None]
    if len(compared) >= 2:
        names = ch.data.provinces.set_index("unit_id")["name_vi"]
        frame = pd.DataFrame({"label": [f"{names[p]} ({fmt.day(o.as_of)})" for p, o in compared],
                              "value": [o.number for _, o in compared]})
        fig = charts.bars(frame, "label", "value", unit, target=target_value, color=charts.PALETTE["second"],
                          xmax=100 if unit == "%" else None)
        out.append(ch.figure(fig, f"So sánh giữa các tỉnh: {ind['name_vi'].lower()}. "
                                  "Định nghĩa và ngày số liệu của mỗi tỉnh có thể khác nhau",
                             ch.cite_all([o for _, o in compared])))
    history = selection.observations_for(ch.data.observations, ch.province, indicator_id, "", ch.until)
    history = history[history["value"].notna()]
    if len(points) < 2 and len(history) >= 2:
        fig = charts.trend(history.assign(as_of=history["as_of"]), "as_of", "value", unit, target=target_value)
        cited = [selection.Obs.from_row(r) for _, r in history.iterrows()]
        out.append(ch.figure(fig, f"{ind['name_vi']} qua các kỳ", ch.cite_all(cited)))
    return out


def scorecard(ch: Chapter) -> tuple[pd.DataFrame, list]:
    """Target verdicts per pillar for the period, as a frame and as [text, figure, table]."""
    targets = ch.targets()
    if targets.empty:
        return pd.DataFrame(), [ch.text(f"Chưa có mục tiêu nào có hiệu lực trong {ch.period.label_vi}.")]
    pillar_of = ch.data.indicators.set_index("indicator_id")["pillar"]
    names = ch.data.pillars.set_index("pillar")
    verdicts = [ch.evaluate(t).status for _, t in targets.iterrows()]
    frame = targets.assign(pillar=targets["indicator_id"].map(pillar_of), verdict=verdicts)
    table = (frame.groupby("pillar")["verdict"].value_counts().unstack(fill_value=0)
             .reindex(columns=[MET, NOT_MET, NO_DATA], fill_value=0))
    table = table.reindex(sorted(table.index, key=lambda p: names.loc[p, "order"]))
    table.insert(0, "pillar_name", [names.loc[p, "name_vi"] for p in table.index])
    total = table[[MET, NOT_MET, NO_DATA]].sum(axis=1)
    parts = [narrative.tally_text(row.pillar_name, int(row[MET]), int(t)) for (_, row), t in zip(table.iterrows(), total)]
    text = (f"Tính đến {fmt.day(ch.until)}, trong {int(total.sum())} mục tiêu có hiệu lực, tỉnh {ch.province_name} "
            + "; ".join(parts) + ".")
    fig = charts.scorecard(table.reset_index(drop=True), label="pillar_name")
    shown = pd.DataFrame({
        "Trụ cột": table["pillar_name"], "Đạt": table[MET].map(lambda v: fmt.number(v, 0)),
        "Chưa đạt": table[NOT_MET].map(lambda v: fmt.number(v, 0)),
        "Chưa có số liệu": table[NO_DATA].map(lambda v: fmt.number(v, 0)),
        "Tổng": total.map(lambda v: fmt.number(v, 0)),
    })
    plans = ", ".join(dict.fromkeys(targets["plan"]))
    for (_, row), t in zip(table.iterrows(), total):
        ch.shown.append((f"muc_tieu/{row.pillar_name}", f"{int(row[MET])}/{int(t)}"))
    return table, [
        ch.text(text),
        ch.figure(fig, f"Kết quả thực hiện mục tiêu theo trụ cột, tính đến {fmt.day(ch.until)}",
                  f"Đánh giá của dxreport theo mục tiêu của {plans}"),
        ch.table(shown.reset_index(drop=True), "Số mục tiêu theo kết quả đánh giá", f"Mục tiêu: {plans}"),
    ]
