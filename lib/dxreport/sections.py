"""Building blocks of a chapter: paragraphs, tables and charts made from the data.

Each function returns a list of display objects (Text, Table, Figure) for `Chapter.show`.
Nothing here states a figure the data does not hold; missing figures read "Chưa có số liệu".
"""

from __future__ import annotations

import re

import pandas as pd

from . import charts, fmt, narrative, selection
from .chapter import Chapter, Section
from .display import Emph

NO_DATA_SECTION = "Chưa có số liệu cho mục này trong kỳ báo cáo."
STALE_TITLE = "Chỉ tiêu chưa có số liệu cập nhật trong kỳ"
NOT_UPDATED = "Chưa cập nhật trong kỳ"
TABLE_COLUMNS = ["Chỉ tiêu", "Kết quả", "Tính đến", "Mục tiêu", "Đánh giá"]
TABLE_ALIGN = ["l", "r", "r", "r", "l"]
TABLE_WIDTHS = [42, 20, 12, 12, 14]


def intro(ch: Chapter) -> list:
    if ch.spec.intro_vi:
        return [ch.text(ch.spec.intro_vi.format(province=ch.province_name, period=ch.period.label_vi,
                                                within=ch.period.within_vi, until=fmt.day(ch.until)))]
    ids = {i for s in ch.spec.sections for i in s.indicators} or set(
        ch.data.indicators.loc[ch.data.indicators["pillar"].isin(ch.pillars), "indicator_id"])
    obs = ch.data.observations
    rows = obs[(obs["province"] == ch.province) & obs["indicator_id"].isin(ids)
               & (obs["as_of"] <= pd.Timestamp(ch.until))]
    if rows.empty:
        return [ch.text(f"Chưa có số liệu về {narrative.lower_first(ch.spec.title)} của tỉnh {ch.province_name} "
                        f"tính đến {fmt.day(ch.until)}.")]
    newest = rows["as_of"].max().date()
    if ch.policy.is_old(newest, ch.until):
        return [ch.text(f"Mục này tổng hợp kết quả {narrative.lower_first(ch.spec.title)} của tỉnh {ch.province_name} "
                        f"{ch.period.label_vi} (mốc kỳ báo cáo: {fmt.day(ch.until)}). Trong kỳ chưa có số liệu cập "
                        f"nhật về lĩnh vực này: số liệu gần nhất, ngày {fmt.day(newest)}, cũ hơn "
                        f"{ch.policy.old_after_months} tháng so với cuối kỳ và chỉ được nêu để tham khảo tại bảng "
                        f"“{STALE_TITLE}” cuối chương.")]
    return [ch.text(f"Mục này tổng hợp kết quả {narrative.lower_first(ch.spec.title)} của tỉnh {ch.province_name} "
                    f"{ch.period.label_vi}, theo số liệu mới nhất tính đến {fmt.day(newest)} "
                    f"(mốc kỳ báo cáo: {fmt.day(ch.until)}).")]


def _table(ch: Chapter, frame: pd.DataFrame, caption: str, source: str, align: list[str], widths: list[int],
           optional=("Tính đến", "Mục tiêu", "Đánh giá", "Tình hình", "Báo cáo của tỉnh", "Chủ trì", "Thời gian")):
    """`ch.table` without the optional columns that are empty in every row; the columns kept
    share the whole width, in the proportions asked."""
    keep = [i for i, c in enumerate(frame.columns)
            if c not in optional or frame[c].astype(str).str.strip().ne("").any()]
    frame = frame.iloc[:, keep]
    kept = [widths[i] for i in keep if i < len(widths)]
    if kept and len(kept) == len(keep) and sum(kept) != sum(widths):
        scaled = [round(w * sum(widths) / sum(kept)) for w in kept]
        scaled[kept.index(max(kept))] += sum(widths) - sum(scaled)  # rounding goes to the widest
        kept = scaled
    return ch.table(frame.reset_index(drop=True), caption, source,
                    align=[align[i] for i in keep if i < len(align)], widths=kept)


_OLD_REASON = re.compile(r"chỉ có số liệu cũ \(tính đến [^)]*\)")


def _verdict_cell(status: str, reason: str) -> str:
    """`narrative.verdict_cell`, without repeating an old figure's date: the row gives it already
    (or, in a section, the chapter's closing table does)."""
    return narrative.verdict_cell(status, _OLD_REASON.sub("chỉ có số liệu cũ", reason))


def _row(ch: Chapter, indicator_id: str, breakdown: str = "", hide_old: bool = False) -> list[str] | None:
    """One table row: name, figure, date, target, verdict. With `hide_old`, an old figure is not
    printed ("Chưa cập nhật trong kỳ"): it belongs to the chapter's closing table (`stale_block`)."""
    ind = ch.indicator(indicator_id)
    obs = ch.latest(indicator_id, breakdown)
    history = ch.is_history(breakdown, obs)
    target = None if history else ch.target_for(indicator_id, breakdown)
    name = ind["name_vi"] + (f" — {breakdown}" if breakdown else "")
    if history:
        name += " (số liệu trước 1/7/2025, khi còn cấp huyện)"
    if obs is None and target is None:
        return None
    result = narrative.figure_text(obs, ind["count_unit"]) if obs is not None else fmt.MISSING
    when = fmt.day(obs.as_of) if obs is not None else ""
    if obs is not None and ch.is_old(obs):
        when += " (số liệu cũ)"
        if hide_old:
            result, when = NOT_UPDATED, ""
    goal = narrative.target_text(target) if target is not None else ""
    verdict = ""
    if target is not None:
        ev = ch.evaluate(target)
        verdict = _verdict_cell(ev.status, ev.reason)
    return [name, result, when, goal, verdict]


# At most this many breakdowns (levels) of one indicator are stated in a section, its tables and
# its chart; the real data's largest breakdown has 24 levels, so the real report is never cut. A
# data set with thousands of levels (a synthetic one 100 x today's) gets a note saying how many.
MAX_BREAKDOWNS = 30
MAX_BARS = MAX_BREAKDOWNS


def levels(ch: Chapter, indicator_id: str) -> tuple[list[str], int]:
    """The first MAX_BREAKDOWNS breakdowns of an indicator in natural order, and how many it has."""
    found = sorted(ch.breakdowns(indicator_id), key=fmt.natural_key)
    return found[:MAX_BREAKDOWNS], len(found)


def _levels_note(ch: Chapter, cut: dict[str, int]) -> list:
    """A sentence for each indicator whose breakdowns were cut to MAX_BREAKDOWNS."""
    return [ch.text(f"{ch.indicator(i)['name_vi']}: có {fmt.number(n, 0)} phân tổ; báo cáo chỉ nêu "
                    f"{MAX_BREAKDOWNS} phân tổ đầu.") for i, n in cut.items()]


def indicator_section(ch: Chapter, section: Section) -> list:
    """Sentences, a table of the section's indicators, and its chart."""
    sentences, rows, cited, stale, cut = [], [], [], 0, {}
    known = set(ch.data.indicators["indicator_id"])
    for indicator_id in (i for i in section.indicators if i in known):
        shown, total = levels(ch, indicator_id)
        if total > len(shown):
            cut[indicator_id] = total
        keys = [""] + shown
        for breakdown in keys:
            obs = ch.latest(indicator_id, breakdown)
            if obs is None:
                continue
            if ch.is_old(obs):  # not a result of the period: listed once, in the chapter's closing table
                stale += 1
                if not ch.is_history(breakdown, obs) and ch.target_for(indicator_id, breakdown) is not None:
                    rows.append(_row(ch, indicator_id, breakdown, hide_old=True))  # the target and its verdict
                continue
            cited.append(obs)
            if (breakdown == "" or ch.current(indicator_id, "") is None) and not ch.is_history(breakdown, obs):
                sentences.append(ch.sentence(indicator_id, breakdown))
            elif row := _row(ch, indicator_id, breakdown):  # each figure once: in a sentence or a row
                rows.append(row)
        if ch.latest(indicator_id, "") is None and not ch.breakdowns(indicator_id):
            row = _row(ch, indicator_id)
            if row:  # a target without data: say so in the table
                rows.append(row)
    if not cited:
        out = [ch.text(NO_DATA_SECTION if not stale else
                       f"Chưa có số liệu cập nhật cho mục này {ch.period.within_vi}; số liệu gần nhất (cũ hơn "
                       f"{ch.policy.old_after_months} tháng) được nêu tại bảng “{STALE_TITLE}” cuối chương.")]
        if rows:
            targets = [ch.target_for(i) for i in section.indicators if i in known]
            out.append(_table(ch, pd.DataFrame(rows, columns=TABLE_COLUMNS), f"{section.title}: mục tiêu và kết quả",
                              ch.cite_parts(t["source"] for t in targets if t is not None), TABLE_ALIGN, TABLE_WIDTHS))
        return out
    out = ([ch.text(sentences[0]) if len(sentences) == 1 else ch.bullets(sentences)]) if sentences else []
    if not rows:
        out.append(ch.text(Emph(f"Nguồn: {ch.cite_all(cited)}")))
    else:
        frame = pd.DataFrame(rows, columns=TABLE_COLUMNS)
        out.append(_table(ch, frame, f"{section.title}: kết quả {ch.period.label_vi}", ch.cite_all(cited),
                          TABLE_ALIGN, TABLE_WIDTHS))
    out += _levels_note(ch, cut)
    if section.chart in known:  # a data set without the charted indicator simply has no chart
        out += chart_for(ch, section.chart)
    return out


def _comparable(ch: Chapter, mine, theirs) -> bool:
    """Two provinces' figures may stand in one chart only when they measure the same thing the same
    way: same unit, same denominator kind (a rank among 63 is not a rank among 34), neither old."""
    if mine is None or theirs is None or mine.unit != theirs.unit:
        return False
    if mine.unit == "hạng" and mine.denominator != theirs.denominator:
        return False
    return not (ch.is_old(mine) or ch.is_old(theirs))


def chart_for(ch: Chapter, indicator_id: str) -> list:
    """A breakdown chart when the indicator has levels, a comparison across provinces when several
    provinces report it comparably, else a trend when it has several dates; nothing when none applies."""
    ind = ch.indicator(indicator_id)
    unit = ind["unit"]
    out = []
    levels = sorted(ch.breakdowns(indicator_id), key=fmt.natural_key)
    points = [(b, ch.latest(indicator_id, b)) for b in levels]
    points = [(b, o) for b, o in points
              if o is not None and o.number is not None and not ch.is_history(b, o) and not ch.is_old(o)]
    target = ch.target_for(indicator_id)
    target_value = float(target["value"]) if target is not None and target["rule"] in (">=", ">") and target["unit"] == unit else None
    if len(points) >= 2 and not charts.all_full([o.number for _, o in points], unit):
        shown_of = ""
        if len(points) > MAX_BARS:  # thousands of bars are neither readable nor cheap to draw
            shown_of = f" ({MAX_BARS} phân tổ đầu trong tổng số {fmt.number(len(points), 0)})"
            points = points[:MAX_BARS]
        frame = pd.DataFrame({"label": [b for b, _ in points], "value": [o.number for _, o in points]})
        fig = charts.drawn(charts.bars, frame, "label", "value", unit, target=target_value,
                          xmax=100 if unit == "%" else None)
        out.append(ch.figure(fig, f"{ind['name_vi']} theo phân tổ{shown_of}, tính đến "
                                  f"{fmt.day(max(o.as_of for _, o in points))}",
                             ch.cite_all([o for _, o in points]),
                             data=pd.DataFrame({"Phân tổ": frame["label"], _value_column(unit): frame["value"],
                                                "Tính đến": [o.as_of for _, o in points]})))
    mine = ch.latest(indicator_id)
    provinces = sorted(set(ch.data.provinces["unit_id"]))
    compared = [(p, ch.latest(indicator_id, "", province=p)) for p in provinces]
    compared = [(p, o) for p, o in compared if o is not None and o.number is not None and _comparable(ch, mine, o)]
    if len(compared) >= 2 and not charts.all_full([o.number for _, o in compared], unit):
        names = ch.data.provinces.set_index("unit_id")["name_vi"]
        frame = pd.DataFrame({"label": [f"{names[p]} ({fmt.day(o.as_of)})" for p, o in compared],
                              "value": [o.number for _, o in compared]})
        fig = charts.drawn(charts.bars, frame, "label", "value", unit, target=target_value, color=charts.PALETTE["second"],
                          xmax=100 if unit == "%" else None)
        out.append(ch.figure(fig, f"So sánh giữa các tỉnh: {narrative.lower_first(ind['name_vi'])}, cùng đơn vị tính; "
                                  "ngày số liệu của mỗi tỉnh ghi trong ngoặc",
                             ch.cite_all([o for _, o in compared]),
                             data=pd.DataFrame({"Tỉnh": [names[p] for p, _ in compared],
                                                _value_column(unit): frame["value"],
                                                "Tính đến": [o.as_of for _, o in compared]})))
    history = ch.history(indicator_id)
    history = history[history["value"].notna()]
    newest = ch.latest(indicator_id)
    # a trend is history by nature, but it ends on a current figure: one ending on an old figure
    # would present that figure as the period's; it stays in the chapter's closing table instead
    if (len(points) < 2 and len(history) >= 2 and not charts.all_full(history["value"], unit)
            and newest is not None and not ch.is_old(newest)):
        fig = charts.drawn(charts.trend, history, "as_of", "value", unit, target=target_value)
        cited = [selection.Obs.from_row(r) for _, r in history.iterrows()]
        first = history["as_of"].min().date()
        out.append(ch.figure(fig, f"{ind['name_vi']} qua các kỳ, từ {fmt.day(first)} đến {fmt.day(newest.as_of)}",
                             ch.cite_all(cited),
                             data=pd.DataFrame({"Tính đến": list(history["as_of"]),
                                                _value_column(unit): list(history["value"])})))
    return out


def _value_column(unit: str) -> str:
    return f"Giá trị ({unit})" if unit else "Giá trị"


def _tally_frame(items, group_order=None) -> pd.DataFrame:
    """Verdict counts per group of target items, columns in VERDICTS order (only those used)."""
    frame = pd.DataFrame({"group": [i.group for i in items], "verdict": [i.status for i in items]})
    table = frame.groupby("group", sort=False)["verdict"].value_counts().unstack(fill_value=0)
    used = [v for v in selection.VERDICTS if v in table.columns]
    table = table.reindex(columns=used, fill_value=0)
    if group_order:
        table = table.reindex(sorted(table.index, key=lambda g: group_order.get(g, 99)))
    return table


def scorecard(ch: Chapter) -> tuple[pd.DataFrame, list]:
    """Target verdicts per group for the period, as a frame and as [text, figure, table]. A target
    is counted once however many rows it takes in the data; the groups are the plans' headings."""
    items = ch.target_items()
    if not items:
        return pd.DataFrame(), [ch.text(f"Chưa có mục tiêu nào có hiệu lực {ch.period.within_vi}.")]
    order = dict(zip(ch.data.pillars["name_vi"], ch.data.pillars["order"]))
    table = _tally_frame(items, order)
    used = list(table.columns)
    total = table.sum(axis=1)
    parts = []
    for group, row in table.iterrows():
        part = narrative.tally_text(group, int(row.get(selection.MET, 0)), int(total[group]))
        if row.get(selection.EXPECTED, 0):
            part += f" (thêm {int(row[selection.EXPECTED])} mục tiêu dự kiến đạt)"
        parts.append(part)
    text = (f"Tính đến {fmt.day(ch.until)}, trong {int(total.sum())} mục tiêu có hiệu lực, kết quả của tỉnh "
            f"{ch.province_name} theo từng nhóm như sau: " + "; ".join(parts) + ".")
    review = [i for i in items if i.basis == "review"]
    if review:
        text += (f" Với {len(review)} mục tiêu, đánh giá là đánh giá của chính báo cáo của tỉnh trong kỳ; "
                 "các mục tiêu còn lại được đánh giá theo số liệu mới nhất tính đến cuối kỳ.")
    shown_table = table.reset_index().rename(columns={"group": "pillar_name"})
    fig = charts.drawn(charts.scorecard, shown_table, label="pillar_name", counts=tuple(used))
    shown = pd.DataFrame({"Nhóm mục tiêu": table.index})
    for v in used:
        shown[v] = [fmt.number(x, 0) for x in table[v]]
    shown["Tổng"] = [fmt.number(x, 0) for x in total]
    # a target may cite several plans ("09-NQ/TU; 586/KH-UBND"): each plan named once
    plans = ", ".join(dict.fromkeys(part.strip() for i in items for part in str(i.plan).split(";") if part.strip()))
    for group, row in table.iterrows():
        ch.shown.append((f"muc_tieu/{group}", f"{int(row.get(selection.MET, 0))}/{int(total[group])}"))
    return table, [
        ch.text(text),
        ch.figure(fig, f"Kết quả thực hiện mục tiêu theo nhóm, tính đến {fmt.day(ch.until)}",
                  f"Đánh giá theo số liệu và báo cáo của tỉnh; mục tiêu của {plans}",
                  data=shown_table.rename(columns={"pillar_name": "Nhóm mục tiêu"})[["Nhóm mục tiêu", *used]]),
        ch.table(shown.reset_index(drop=True), "Số mục tiêu theo kết quả đánh giá", f"Mục tiêu: {plans}",
                 widths=[40] + [int(48 / (len(used) + 1))] * (len(used) + 1)),
    ]


def other_indicators(ch: Chapter, section: Section) -> list:
    """Every indicator of the chapter's pillars not stated elsewhere that has a figure or a target."""
    listed = {i for s in ch.spec.sections for i in s.indicators}
    ind = ch.data.indicators
    candidates = ind.loc[ind["pillar"].isin(ch.pillars) & ~ind["indicator_id"].isin(listed), "indicator_id"]
    rows, cited, cut = [], [], {}
    for indicator_id in candidates:
        shown, total = levels(ch, indicator_id)
        if total > len(shown):
            cut[indicator_id] = total
        for breakdown in [""] + shown:
            obs = ch.latest(indicator_id, breakdown)
            old = obs is not None and ch.is_old(obs)
            if old and (ch.is_history(breakdown, obs) or ch.target_for(indicator_id, breakdown) is None):
                continue  # an old figure without a target: only in the closing table
            row = _row(ch, indicator_id, breakdown, hide_old=True)
            if row is None or (obs is None and breakdown):
                continue
            if obs is not None and not old:
                cited.append(obs)
                ch.shown.append((f"{indicator_id}{'/' + breakdown if breakdown else ''}", f"{row[1]} @ {row[2]}"))
            rows.append(row)
    out = []
    if rows:
        frame = pd.DataFrame(rows, columns=TABLE_COLUMNS)
        out = [ch.text("Các chỉ tiêu còn lại của lĩnh vực, theo số liệu mới nhất trong kỳ báo cáo:"),
               _table(ch, frame, f"{ch.spec.title}: các chỉ tiêu khác", ch.cite_all(cited) or "Số liệu của tỉnh",
                      TABLE_ALIGN, TABLE_WIDTHS), *_levels_note(ch, cut)]
    stale = stale_block(ch)
    if not rows and not stale:
        return [ch.text("Không có chỉ tiêu nào khác có số liệu hoặc mục tiêu trong kỳ báo cáo.")]
    return out + stale


def chapter_indicators(ch: Chapter) -> list[str]:
    """The indicators a thematic chapter presents: its sections' in order, then the others of its pillars."""
    ind = ch.data.indicators
    known = set(ind["indicator_id"])
    listed = [i for s in ch.spec.sections for i in s.indicators if i in known]
    others = ind.loc[ind["pillar"].isin(ch.pillars) & ~ind["indicator_id"].isin(listed), "indicator_id"]
    return list(dict.fromkeys(listed + list(others)))


def stale_figures(ch: Chapter) -> list[tuple[str, str, selection.Obs]]:
    """(indicator, breakdown, latest figure) of every series of the chapter whose latest figure is old."""
    out = []
    for indicator_id in chapter_indicators(ch):
        for breakdown in [""] + levels(ch, indicator_id)[0]:
            obs = ch.latest(indicator_id, breakdown)
            if obs is not None and ch.is_old(obs):
                out.append((indicator_id, breakdown, obs))
    return out


def stale_block(ch: Chapter) -> list:
    """Once per chapter, at its end: the indicators with no figure updated in the period, with their
    latest figure and its date as a reference ("số liệu gần nhất"); no verdict, no trend."""
    found = stale_figures(ch)
    if not found:
        return []
    cut = ch.policy.old_before(ch.until)
    count_units = ch.data.indicators.set_index("indicator_id")["count_unit"]
    grouped: dict[str, list] = {}
    for indicator_id, breakdown, obs in found:
        grouped.setdefault(indicator_id, []).append((breakdown, obs))
        ch.shown.append((f"{indicator_id}{'/' + breakdown if breakdown else ''}",
                         f"{narrative.figure_text(obs, count_units.get(indicator_id, ''))} @ {fmt.day(obs.as_of)} "
                         "(số liệu cũ)"))
    rows = []  # one row per indicator: its breakdowns' figures side by side keep the table compact
    for indicator_id, parts in grouped.items():
        newest = max(o.as_of for _, o in parts)
        texts = []
        for breakdown, obs in parts:
            text = narrative.figure_text(obs, count_units.get(indicator_id, ""))
            label = breakdown + (" (khi còn cấp huyện)" if ch.is_history(breakdown, obs) else "")
            text = f"{label}: {text}" if breakdown and len(parts) > 1 else text
            texts.append(text + (f" ({fmt.day(obs.as_of)})" if obs.as_of != newest else ""))
        name = ch.indicator(indicator_id)["name_vi"]
        if len(parts) == 1 and parts[0][0]:
            name += f" — {parts[0][0]}"
        rows.append([name, "; ".join(texts), fmt.day(newest)])
    indicators = len({i for i, _, _ in found})
    frame = pd.DataFrame(rows, columns=["Chỉ tiêu", "Số liệu gần nhất", "Ngày số liệu"])
    return [ch.text(f"{fmt.number(indicators, 0)} chỉ tiêu của chương chưa có số liệu cập nhật kể từ ngày "
                    f"{fmt.day(cut)} (cũ hơn {ch.policy.old_after_months} tháng so với cuối kỳ). Số liệu gần nhất "
                    "của các chỉ tiêu này chỉ để tham khảo: không phải kết quả của kỳ, không dùng để đánh giá "
                    "mục tiêu hay tính xu hướng."),
            ch.table(frame, STALE_TITLE, ch.cite_all(o for *_, o in found), **_figure_column(frame["Số liệu gần nhất"]))]


LONG_FIGURE = 40  # characters: a figure longer than this wraps onto several lines in its column


def _figure_column(values: pd.Series) -> dict:
    """Alignment and widths of a (name, figure, date) table: figures right-aligned in a narrow
    column, unless one of them is a passage of text (breakdowns side by side, a list of services),
    which then reads left-aligned in a wider column instead of a ragged-left strip."""
    if values.map(lambda v: len(str(v))).max() > LONG_FIGURE:
        return {"align": ["l", "l", "r"], "widths": [40, 45, 15]}
    return {"align": ["l", "r", "r"], "widths": [58, 27, 15]}


def dti(ch: Chapter) -> list:
    """The DTI rank: a sentence (the change against the year before), and the province's rank in
    every year of the data up to the period's end."""
    out = []
    obs = ch.latest("dti_xep_hang") if "dti_xep_hang" in set(ch.data.indicators["indicator_id"]) else None
    if obs is None:
        return [ch.text("Chưa có số liệu xếp hạng chỉ số chuyển đổi số cấp tỉnh (DTI) trong kỳ báo cáo.")]
    out.append(ch.text(ch.sentence("dti_xep_hang", name=f"Chỉ số chuyển đổi số (DTI) của tỉnh {ch.province_name}")))
    rows = ch.history("dti_xep_hang").copy()
    rows = rows[rows["value"].notna()]
    if len(rows) >= 2:
        scopes = sorted({int(d) for d in rows["denominator"].dropna()}, reverse=True)
        rows["Xếp hạng"] = [f"trong {int(d)} tỉnh, thành phố" if not pd.isna(d) else "xếp hạng" for d in rows["denominator"]]
        scope = (" (xếp hạng trong " + " và trong ".join(f"{n} tỉnh, thành phố" for n in scopes) + ")") if scopes else ""
        fig = charts.drawn(charts.trend, rows, "as_of", "value", "hạng", invert=True,
                           series="Xếp hạng" if len(scopes) > 1 else None)  # ranks among 63 and 34: two lines
        last = (f"; xếp hạng gần nhất trong dữ liệu là năm {obs.as_of.year} (số liệu cũ)"
                if ch.is_old(obs) else "")  # the history's last point is not the period's rank
        out.append(ch.figure(fig, f"Thứ hạng chỉ số DTI của tỉnh {ch.province_name} qua các năm có số liệu"
                                  f"{scope}; thứ hạng càng nhỏ càng tốt{last}",
                             ch.cite_all(selection.Obs.from_row(r) for _, r in rows.iterrows()),
                             data=pd.DataFrame({"Tính đến": list(rows["as_of"]), "Thứ hạng": list(rows["value"]),
                                                "Xếp hạng": list(rows["Xếp hạng"])})))
    return out


def review_tally(ch: Chapter, plan_items) -> tuple[str, list, str]:
    """The review's own tally of the items it assessed (its latest word up to the period's end),
    the items on which the period's verdict from the data alone differs from it, and the date of
    the review: (text, [(item, review word, data's verdict)], date)."""
    said = {}
    for n, item in enumerate(plan_items):
        words = [ch.assessment(t["target_id"]) for t in item.rows]
        words = [w for w in words if w is not None]
        if words:
            said[n] = (item, words[-1])
    if not said:
        return "", [], ""
    frame = pd.DataFrame({"group": [i.group for i, _ in said.values()],
                          "verdict": [selection.review_word(w["assessment"]) for _, w in said.values()]})
    parts = []
    for group, part in frame.groupby("group", sort=False):
        text = f"{group.lower()} đạt {int((part['verdict'] == selection.MET).sum())}/{len(part)} mục tiêu"
        expected = int((part["verdict"] == selection.EXPECTED).sum())
        parts.append(text + (f" và {expected} mục tiêu dự kiến đạt" if expected else ""))
    differ = []
    for item, word in said.values():
        review, data = selection.review_word(word["assessment"]), (item.computed if item.basis == "review" else item.status)
        if review == selection.EXPECTED or (review == selection.MET) != (data == selection.MET):
            differ.append((item, review, data))
    when = fmt.day(max(w["as_of"] for _, w in said.values()).date())
    return "; ".join(parts), differ, when


def own_tally(ch: Chapter) -> list:
    """The tallies side by side: the review's (its appendix of targets), the one computed from the
    data alone for this period, the targets on which they differ, and what a news item reported
    (cited as the news item it is)."""
    out = []
    items = ch.target_items()
    said, differ, when = review_tally(ch, items)
    if said:
        assessed = [i for i in items if any(ch.assessment(t["target_id"]) is not None for t in i.rows)]
        computed = pd.DataFrame({"group": [i.group for i in assessed],
                                 "verdict": [i.computed if i.basis == "review" else i.status for i in assessed]})
        mine = [f"{group.lower()} đạt {int((part['verdict'] == selection.MET).sum())}/{len(part)}"
                for group, part in computed.groupby("group", sort=False)]
        text = (f"Theo đánh giá của báo cáo của tỉnh (tính đến {when}): {said}. Tính riêng theo số liệu hiện có "
                f"tính đến {fmt.day(ch.until)}, cùng các mục tiêu đó: " + "; ".join(mine) + ".")
        if len(differ) > 4:
            text += (f" Hai cách tính khác nhau ở {len(differ)} mục: "
                     + ", ".join(i.label or i.text_vi[:40] for i, _, _ in differ) + ".")
        elif differ:
            text += " Hai cách tính khác nhau ở " + "; ".join(
                f"mục {i.label or i.text_vi[:40]} (báo cáo: {word.lower()}, số liệu: {data.lower()})"
                for i, word, data in differ) + "."
        if any(i.basis == "review" for i in items):
            text += " Trong kỳ mà báo cáo của tỉnh bao quát, báo cáo này giữ đánh giá của tỉnh."
        out.append(ch.text(text))
    obs = ch.data.observations
    rows = obs[(obs["province"] == ch.province) & (obs["indicator_id"] == "muc_tieu_dat")
               & (obs["as_of"] <= pd.Timestamp(ch.until))]
    if not rows.empty:
        newest = rows[rows["as_of"] == rows["as_of"].max()]
        parts = [narrative.tally_text(r["breakdown"].capitalize() if r["breakdown"] else "tổng thể",
                                      int(r["value"]), int(r["denominator"]))
                 for _, r in newest.iterrows() if not pd.isna(r["denominator"])]
        cited = [selection.Obs.from_row(r) for _, r in newest.iterrows()]
        out.append(ch.text(f"Tin bài ({ch.cite_all(cited)}, {fmt.day(newest['as_of'].max().date())}) đưa tin tỉnh "
                           + "; ".join(parts) + "."))
    return out


def movers(ch: Chapter, top: int = 6) -> list:
    """The figures that moved most since their previous comparable value (relative change)."""
    obs = ch.data.observations
    rows = obs[(obs["province"] == ch.province) & (obs["as_of"] <= pd.Timestamp(ch.until)) & obs["value"].notna()]
    found = []
    for (indicator_id, breakdown), _ in rows.groupby(["indicator_id", "breakdown"]):
        current = ch.latest(indicator_id, breakdown)
        before = ch.trend_base(current)
        if current is None or before is None or not before.number or current.number is None:
            continue
        if current.unit == "hạng" or ch.is_history(breakdown, current):
            continue  # ranks have their own chart; district figures are history after 1/7/2025
        change = (current.number - before.number) / abs(before.number)
        found.append((abs(change), indicator_id, breakdown, current, before))
    if not found:
        return [ch.text("Chưa có chỉ tiêu nào có hai mốc số liệu so sánh được trong kỳ báo cáo.")]
    found.sort(key=lambda x: -x[0])
    names = ch.data.indicators.set_index("indicator_id")["name_vi"]
    table = []
    for _, indicator_id, breakdown, current, before in found[:top]:
        label = names[indicator_id] + (f" — {breakdown}" if breakdown else "")
        table.append([label, f"{fmt.with_unit(before.number, before.unit)} ({fmt.day(before.as_of)})",
                      f"{fmt.with_unit(current.number, current.unit)} ({fmt.day(current.as_of)})",
                      narrative.change_text(current, before).split(" so với")[0]])
    frame = pd.DataFrame(table, columns=["Chỉ tiêu", "Mốc trước", "Mốc mới nhất", "Thay đổi"])
    cited = [c for *_, c, _ in found[:top]] + [b for *_, b in found[:top]]
    return [ch.table(frame, "Các chỉ tiêu thay đổi nhiều nhất so với mốc số liệu trước", ch.cite_all(cited),
                     align=["l", "r", "r", "l"], widths=[40, 22, 22, 16])]


DONE_STATES = ("Hoàn thành", "Đã triển khai")
TASK_STATES = ("Hoàn thành", "Đã triển khai", "Đang triển khai", "Chưa hoàn thành", "Chưa triển khai", "Quá hạn",
               "Chưa đánh giá", "Chưa có thông tin")


def _task_state(row: pd.Series, until: pd.Timestamp) -> str:
    """The task's status in the source's own words as of `until`: 'Hoàn thành', 'Chưa hoàn thành',
    'Đã triển khai'…; 'Quá hạn' only when the deadline has passed and nothing shows it done;
    'Chưa đánh giá' when a review lists it without a verdict; 'Chưa có thông tin' otherwise."""
    known = not pd.isna(row["status_as_of"]) and row["status_as_of"] <= until
    status = row["status"] if known else ""
    if status in DONE_STATES:
        return status
    if not pd.isna(row["deadline"]) and row["deadline"] < until:
        return "Quá hạn"
    if status:
        return status
    return "Chưa đánh giá" if known else "Chưa có thông tin"


def task_frame(ch: Chapter) -> pd.DataFrame:
    tasks = ch.data.tasks
    rows = tasks[tasks["province"] == ch.province].copy()
    issued = rows["plan"].map(ch.plan_issued)
    # a plan whose issue date is not in documents.csv is taken to speak from the start of its
    # deadline's year (Hà Tĩnh's 2023 task), or from the first report on it
    since = [pd.Timestamp(d.year, 1, 1) if not pd.isna(d) else s for d, s in zip(rows["deadline"], rows["status_as_of"])]
    unknown = pd.Series([pd.isna(s) or s <= pd.Timestamp(ch.until) for s in since], index=rows.index)
    rows = rows[(issued.isna() & unknown) | (issued < pd.Timestamp(ch.until))]
    rows["state"] = [_task_state(r, pd.Timestamp(ch.until)) for _, r in rows.iterrows()]
    return rows


def tasks(ch: Chapter) -> list:
    rows = task_frame(ch)
    if rows.empty:
        return [ch.text(f"Chưa có nhiệm vụ nào được giao tính đến {fmt.day(ch.until)}.")]
    table = rows.groupby("plan", sort=False)["state"].value_counts().unstack(fill_value=0)
    used = [s for s in TASK_STATES if s in table.columns]
    table = table.reindex(columns=used, fill_value=0)
    total = table.sum(axis=1)
    parts = []
    for plan, r in table.iterrows():
        counts = ", ".join(f"{s.lower()} {int(r[s])}" for s in used if r[s])
        parts.append(f"{plan}: {int(total[plan])} nhiệm vụ ({counts})")
        ch.shown.append((f"nhiem_vu/{plan}", f"{int(total[plan])}: {counts}"))
    out = [ch.text(f"Tính đến {fmt.day(ch.until)}: " + "; ".join(parts) + ". Tình hình ghi đúng như văn bản đánh "
                   "giá; một nhiệm vụ là quá hạn khi đã qua thời hạn ghi trong kế hoạch mà không có đánh giá hay số "
                   "liệu nào cho thấy đã thực hiện.")]
    fig = charts.drawn(charts.scorecard, table.reset_index(), label="plan", counts=tuple(used), xlabel="Số nhiệm vụ")
    out.append(ch.figure(fig, f"Tình hình thực hiện nhiệm vụ theo kế hoạch, tính đến {fmt.day(ch.until)}",
                         ch.cite_parts(rows["source"]),
                         data=table.reset_index().rename(columns={"plan": "Kế hoạch"})[["Kế hoạch", *used]]))
    late = rows[rows["state"] == "Quá hạn"]
    if not late.empty:
        frame = pd.DataFrame({
            "Nhiệm vụ": late["name_vi"], "Chủ trì": late["owner"],
            "Thời hạn": late["deadline"].map(lambda d: fmt.day(d.date()) if not pd.isna(d) else ""),
            "Tình hình": late["status_text"],
        })
        out.append(_table(ch, frame, "Nhiệm vụ quá hạn", ch.cite_parts(late["source"]),
                          ["l", "l", "r", "l"], [40, 18, 12, 30]))
    return out


def budget(ch: Chapter) -> list:
    rows = ch.data.budget
    rows = rows[(rows["province"] == ch.province) & (rows["year_from"] <= ch.period.year)].copy()
    if rows.empty:
        return [ch.text("Chưa có số liệu kinh phí chuyển đổi số trong kỳ báo cáo.")]
    rows["Năm"] = [str(int(a)) if a == b else f"{int(a)}–{int(b)}" for a, b in zip(rows["year_from"], rows["year_to"])]
    frame = pd.DataFrame({
        "Năm": rows["Năm"], "Trụ cột": rows["pillar"].str.capitalize(), "Loại": rows["kind"].str.capitalize(),
        "Số tiền": rows["amount"].map(lambda v: fmt.with_unit(v, "tỷ đồng")),
    })
    for _, r in rows.iterrows():
        ch.shown.append((f"kinh_phi/{r['Năm']}/{r['pillar']}/{r['kind']}", fmt.with_unit(r["amount"], "tỷ đồng")))
    out = []
    pillars = rows[(rows["pillar"] != "tổng") & (rows["year_from"] == rows["year_to"])]
    if not pillars.empty:
        year = int(pillars["year_from"].max())
        part = pillars[pillars["year_from"] == year]
        total = rows[(rows["pillar"] == "tổng") & (rows["year_from"] == year) & (rows["kind"] == part["kind"].iloc[0])]
        lead = (f"Năm {year}, tỉnh {part['kind'].iloc[0]} "
                + (f"{fmt.with_unit(total['amount'].iloc[0], 'tỷ đồng')} cho chuyển đổi số, trong đó " if not total.empty else "")
                + ", ".join(f"{r['pillar']} {fmt.with_unit(r['amount'], 'tỷ đồng')}" for _, r in part.iterrows()) + ".")
        out.append(ch.text(lead))
        fig = charts.drawn(charts.bars, part.assign(label=part["pillar"].str.capitalize()), "label", "amount", "tỷ đồng")
        out.append(ch.figure(fig, f"Kinh phí chuyển đổi số năm {year} theo trụ cột", ch.cite_parts(part["source"]),
                             data=pd.DataFrame({"Trụ cột": list(part["pillar"].str.capitalize()),
                                                "Số tiền (tỷ đồng)": list(part["amount"])})))
    out.append(ch.table(frame.reset_index(drop=True), "Kinh phí chuyển đổi số theo năm và trụ cột",
                        ch.cite_parts(rows["source"]), align=["l", "l", "l", "r"], widths=[15, 30, 20, 35]))
    return out  # the rows' data notes belong to the internal check sheet, not to the report


def _result_of(ch: Chapter, item, units) -> str:
    """An item's result: each part's figure once (with its level when the item has several), and
    its date; the review's own words when the data holds no figure."""
    parts = []
    for t, ev in zip(item.rows, item.evaluations):
        if ev.obs is None:
            continue
        text = narrative.figure_text(ev.obs, units.get(t["indicator_id"], ""))
        parts.append((f"{t['breakdown']}: {text}" if len(item.rows) > 1 and t["breakdown"] else text, ev.obs.as_of))
    if parts:
        dates = {d for _, d in parts}
        text = "; ".join(p for p, _ in parts)
        return text + (f" ({fmt.day(max(dates))}" + ("; số liệu cũ" if any(ch.is_old(e.obs) for e in item.evaluations
                                                                         if e.obs is not None) else "") + ")")
    said = [ch.assessment(t["target_id"]) for t in item.rows]
    said = [a for a in said if a is not None]
    if said:
        return f"{said[-1]['result_text']} ({fmt.day(said[-1]['as_of'].date())})"
    return fmt.MISSING


def appendix_targets(ch: Chapter) -> list:
    """The target table in the shape of the review's appendix 5: one table per plan, one row per
    plan item, numbered as the plan numbers them, the plan's wording in the target column."""
    items = ch.target_items()
    if not items:
        return [ch.text(f"Không có mục tiêu nào có hiệu lực {ch.period.within_vi}.")]
    units = ch.data.indicators.set_index("indicator_id")["count_unit"]
    out = []
    plans: dict[str, list] = {}
    for item in items:
        plans.setdefault(item.plan, []).append(item)
    for plan, group in plans.items():
        rows = []
        for item in group:
            own = ""
            said = ch.assessment(item.rows[0]["target_id"])
            if said is not None and item.basis != "review":
                own = f"{said['assessment']} ({fmt.day(said['as_of'].date())})"
            rows.append([item.label or "–", item.text_vi, _result_of(ch, item, units),
                         _verdict_cell(item.status, item.reason), own])
            for t, ev in zip(item.rows, item.evaluations):
                ch.shown.append((f"muc_tieu/{t['target_id']}", narrative.verdict_cell(ev.status, ev.reason)))
        frame = pd.DataFrame(rows, columns=["TT", "Mục tiêu", "Kết quả", "Đánh giá", "Báo cáo của tỉnh"])
        sources = [t["source"] for i in group for t in i.rows]
        out.append(_table(ch, frame, f"Mục tiêu theo {plan} và kết quả tính đến {fmt.day(ch.until)}",
                          ch.cite_parts(sources), ["r", "l", "l", "l", "l"], [6, 44, 22, 16, 12]))
    out.append(ch.text("Cột “Đánh giá”: với kỳ mà báo cáo của tỉnh bao quát, là đánh giá của chính báo cáo đó; "
                       "các kỳ khác, theo số liệu mới nhất tính đến cuối kỳ: “Chưa đạt” khi đã đến hạn (mục tiêu "
                       "chưa có số liệu thống kê cũng được ghi “Chưa đạt”, theo cách đánh giá của tỉnh), “Chưa đến "
                       "hạn” khi chưa đến hạn, kèm phần còn thiếu và thời gian còn lại. Cột “Báo cáo của tỉnh” "
                       "(nếu có) là đánh giá in trong báo cáo của tỉnh, để đối chiếu."))
    return out


def _section_parts(section: str) -> tuple[str, str]:
    """'I Chính quyền số' -> ('I', 'Chính quyền số'); a heading without a numeral -> ('', heading)."""
    head, _, rest = str(section).partition(" ")
    if head and all(c in "IVXLC" for c in head):
        return head, rest
    return "", str(section)


def appendix_tasks(ch: Chapter) -> list:
    """The task tables in the shape of the source's appendices: one table per plan and appendix,
    tasks under the appendix's headings (I Chính quyền số, II …), numbered as the source numbers them."""
    rows = task_frame(ch)
    if rows.empty:
        return [ch.text("Không có nhiệm vụ nào trong kỳ báo cáo.")]
    out = []
    for (plan, appendix), group in rows.groupby(["plan", "appendix"], sort=False):
        lines, heading = [], None
        for _, r in group.iterrows():
            if r["section"] and r["section"] != heading:
                heading = r["section"]
                numeral, name = _section_parts(heading)
                lines.append([numeral, name.upper() if numeral else name[:1].upper() + name[1:], "", "", "", ""])
            state = "" if r["state"] == "Chưa đánh giá" else r["state"]  # the source gives no verdict: none is shown
            lines.append([r["task_no"], r["name_vi"], r["owner"], r["period_text"], r["status_text"], state])
        frame = pd.DataFrame(lines, columns=["TT", "Nhiệm vụ", "Chủ trì", "Thời gian", "Tình hình", "Đánh giá"])
        where = f" ({appendix})" if appendix else ""
        out.append(_table(ch, frame, f"Nhiệm vụ theo {plan}{where}", ch.cite_parts(group["source"]),
                          ["r", "l", "l", "l", "l", "l"], [5, 35, 16, 10, 22, 12]))
    return out


# -- 2025 figures: DTI pillar ranks, plans' progress, two-level local government ----------------

PROGRESS_INDICATORS = ("nq57_chi_tieu_hoan_thanh", "nq57_nhiem_vu_hoan_thanh", "nq05_chi_tieu_hoan_thanh",
                       "nhiem_vu_bcd_ctct_2025", "xa_dat_tieu_chi_cds")


def dti_pillars(ch: Chapter) -> list:
    """The latest DTI ranks of the main indicators (pillars) with their change from the year before,
    as the press printed them, and every overall rank the sources give for that year, side by side."""
    known = set(ch.data.indicators["indicator_id"])
    if not {"dti_xep_hang", "dti_xep_hang_thay_doi"} <= known:
        return []
    changes = {b: ch.latest("dti_xep_hang_thay_doi", b) for b in ch.breakdowns("dti_xep_hang_thay_doi")}
    ranks = {b: ch.latest("dti_xep_hang", b) for b in changes}
    pairs = [(b, r, changes[b]) for b, r in ranks.items()
             if r is not None and r.value is not None and changes[b].value is not None and r.as_of == changes[b].as_of]
    if not pairs:
        return []
    year = pairs[0][1].as_of.year
    pairs.sort(key=lambda p: p[1].value)
    size = pairs[0][1].denominator
    of = f"/{fmt.number(size)}" if size else ""

    def moved(change: float) -> str:
        return "không đổi" if change == 0 else f"{'tăng' if change > 0 else 'giảm'} {fmt.number(abs(change))} bậc"

    parts = [f"{b} hạng {fmt.number(r.value)}{of} ({moved(c.value)})" for b, r, c in pairs]
    out = [ch.text(f"Theo báo chí, năm {year} các chỉ số chính DTI của tỉnh {ch.province_name} xếp hạng như sau "
                   f"(so với năm {year - 1}): " + "; ".join(parts) + ".")]
    overall = ch.history("dti_xep_hang")
    overall = overall[(overall["as_of"] == pd.Timestamp(pairs[0][1].as_of)) & overall["value"].notna()]
    if len(overall) >= 2:  # several pages, several ranks: all are shown, none is picked
        said = [f"{narrative.figure_text(o)} theo {ch.cite_parts([o.source])}"
                for o in (selection.Obs.from_row(r) for _, r in overall.iterrows())]
        out.append(ch.text(f"Về thứ hạng chung năm {year}, các nguồn không thống nhất: " + "; ".join(said)
                           + ". Báo cáo nêu đủ các số liệu này, chưa chọn số nào khi chưa có bảng xếp hạng chính thức."))
    for b, r, c in pairs:
        ch.shown.append((f"dti_xep_hang/{b}", f"{fmt.number(r.value)}{of} ({moved(c.value)}) @ {fmt.day(r.as_of)}"))
    labels = [f"{b.capitalize()}: hạng {fmt.number(r.value)}{of}" for b, r, _ in pairs]
    fig = charts.drawn(charts.changes, labels, [c.value for _, _, c in pairs], [moved(c.value) for _, _, c in pairs],
                       f"Số bậc thay đổi so với năm {year - 1} (dương: tăng hạng)")
    scope = f"trong {fmt.number(size)} tỉnh, thành phố trước sắp xếp năm 2025" if size == 63 else "như nguồn in"
    out.append(ch.figure(fig, f"Thứ hạng các chỉ số chính DTI năm {year} của tỉnh {ch.province_name} và mức thay đổi "
                              f"so với năm {year - 1}, theo báo chí (xếp hạng {scope}; số liệu báo chí, "
                              "có thể khác bảng xếp hạng chính thức)",
                         ch.cite_all([r for _, r, _ in pairs] + [c for *_, c in pairs]),
                         data=pd.DataFrame({"Chỉ số": [b.capitalize() for b, _, _ in pairs],
                                            "Thứ hạng": [r.value for _, r, _ in pairs],
                                            "Thay đổi so với năm trước (bậc)": [c.value for _, _, c in pairs],
                                            "Năm": [str(year)] * len(pairs)})))
    return out


def _progress(ch: Chapter) -> list:
    """(indicator, breakdown, figure) of every programme reported as 'x/y chỉ tiêu, nhiệm vụ'."""
    known = set(ch.data.indicators["indicator_id"])
    found = []
    for indicator_id in (i for i in PROGRESS_INDICATORS if i in known):
        for breakdown in [""] + ch.breakdowns(indicator_id)[:MAX_BREAKDOWNS]:
            obs = ch.latest(indicator_id, breakdown)
            if obs is not None:
                found.append((indicator_id, breakdown, obs))
    return found


def _progress_table(ch: Chapter, found: list, caption: str):
    rows = [[ch.indicator(i)["name_vi"] + (f" ({b})" if b else ""), narrative.figure_text(o),
             fmt.day(o.as_of) + (" (số liệu cũ)" if ch.is_old(o) else "")] for i, b, o in found]
    frame = pd.DataFrame(rows, columns=["Chương trình, kế hoạch", "Kết quả", "Tính đến"])
    return ch.table(frame, caption, ch.cite_all([o for *_, o in found]), align=["l", "r", "r"], widths=[60, 25, 15])


def plan_progress(ch: Chapter) -> list:
    """Progress of the programmes reported as 'x/y chỉ tiêu, nhiệm vụ' (Resolution 57's provincial
    programme, Hà Tĩnh's 05-NQ/TU, the steering committee's work plan), as sentences and a table."""
    found = _progress(ch)
    if not found:
        return [ch.text(f"Chưa có số liệu công bố về tiến độ các chương trình, kế hoạch tính đến {fmt.day(ch.until)}.")]
    sentences = [ch.sentence(i, b) for i, b, _ in found]
    return [ch.text(sentences[0]) if len(sentences) == 1 else ch.bullets(sentences),
            _progress_table(ch, found, "Tiến độ thực hiện các chương trình, kế hoạch theo số liệu công bố")]


def appendix_plan_progress(ch: Chapter) -> list:
    """For the appendix of targets: the programmes whose progress is published only as totals
    (no list of their targets and tasks in the data), e.g. the provincial programme of
    Resolution 57-NQ/TW; nothing when the period has none."""
    found = _progress(ch)
    if not found:
        return []
    return [ch.text("Các chương trình, kế hoạch sau chỉ có số liệu tiến độ dạng tổng số (chưa có danh mục "
                    "từng chỉ tiêu, nhiệm vụ trong dữ liệu):"),
            _progress_table(ch, found, f"Tiến độ các chương trình, kế hoạch tính đến {fmt.day(ch.until)}")]


def local_government(ch: Chapter) -> list:
    """From 1/7/2025 local government has two levels: the province's communes and wards, by count."""
    if "so_don_vi_hanh_chinh" not in set(ch.data.indicators["indicator_id"]):
        return []
    total = ch.latest("so_don_vi_hanh_chinh", "cấp xã")
    if total is None or total.as_of < pd.Timestamp("2025-07-01").date():
        return []
    parts = [(b, ch.latest("so_don_vi_hanh_chinh", b)) for b in ("xã", "phường")]
    detail = ", ".join(f"{fmt.number(o.value)} {b}" for b, o in parts if o is not None and o.as_of == total.as_of)
    ch.shown.append(("so_don_vi_hanh_chinh/cấp xã", f"{fmt.number(total.value)} @ {fmt.day(total.as_of)}"))
    return [ch.text(f"Từ ngày {fmt.day(total.as_of)}, chính quyền địa phương tổ chức theo hai cấp (tỉnh và xã); "
                    f"tỉnh {ch.province_name} có {fmt.number(total.value)} đơn vị hành chính cấp xã"
                    + (f" ({detail})" if detail else "") + f" (nguồn: {ch.cite_all([total])}).")]


# -- the leadership part and the first two appendices of the review (documents, platforms) ---------

KIND_ORDER = ("Nghị quyết", "Chỉ thị", "Kế hoạch", "Quyết định", "Công văn", "Văn bản")
_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _documents(ch: Chapter, since=None) -> pd.DataFrame:
    docs = ch.data.documents
    rows = docs[(docs["province"] == ch.province) & docs["issued"].notna()
                & (docs["issued"] <= pd.Timestamp(ch.until))]
    if since is not None:
        rows = rows[rows["issued"] >= pd.Timestamp(since)]
    order = {k: i for i, k in enumerate(KIND_ORDER)}
    names = ch.data.units.set_index("unit_id")["name_vi"]
    issuer = rows["issuer"].map(lambda v: names.get(v, v))  # an issuer given as a unit id prints its name
    return rows.assign(_k=rows["kind"].map(lambda k: order.get(k, len(order))), issuer=issuer).sort_values(
        ["_k", "issued"])


def leadership(ch: Chapter) -> list:
    """Documents of direction issued in the period, as the review's 'Sự lãnh đạo, chỉ đạo' opens."""
    cumulative = ch.period.kind == "month"  # "đến hết tháng 10": the year so far
    rows = _documents(ch, ch.period.start.replace(month=1) if cumulative else ch.period.start)
    within = f"từ đầu năm {ch.period.label_vi}" if cumulative else ch.period.within_vi
    total = _documents(ch)
    ch.shown.append(("van_ban/trong_ky", str(len(rows))))
    if rows.empty:
        text = (f"{_upper_first(within)}, dữ liệu chưa ghi nhận văn bản chỉ đạo, điều hành mới về chuyển đổi số "
                f"của tỉnh {ch.province_name}.")
        if not total.empty:
            text += (f" Tính đến {fmt.day(ch.until)}, các văn bản đã ban hành được liệt kê tại Phụ lục 1.")
        return [ch.text(text)]
    counts = rows.groupby("kind", sort=False).size()
    parts = ", ".join(f"{fmt.number(n, 0)} {k.lower()}" for k, n in counts.items())
    out = [ch.text(f"{_upper_first(within)}, tỉnh {ch.province_name} đã ban hành {parts} "
                   "về chuyển đổi số (danh mục đầy đủ tại Phụ lục 1):")]
    frame = pd.DataFrame({
        "Số, ký hiệu": rows["number"].where(rows["number"] != "", rows["doc_id"]),
        "Ngày ban hành": rows["issued"].map(lambda d: fmt.day(d.date())),
        "Cơ quan ban hành": rows["issuer"], "Trích yếu": rows["title_vi"],
    })
    out.append(ch.table(frame.reset_index(drop=True), f"Văn bản chỉ đạo, điều hành ban hành {within}",
                        ch.cite_parts(rows["source"]), align=["l", "r", "l", "l"], widths=[16, 14, 20, 50]))
    return out


def appendix_documents(ch: Chapter) -> list:
    """Appendix 1 of the review: directives, plans and decisions issued up to the period's end."""
    rows = _documents(ch)
    if rows.empty:
        return [ch.text(f"Chưa có văn bản chỉ đạo, điều hành nào được ghi nhận tính đến {fmt.day(ch.until)}.")]
    table = []
    for group_no, (kind, group) in enumerate(rows.groupby("_k", sort=True)):
        table.append([_ROMAN[group_no] if group_no < len(_ROMAN) else str(group_no + 1),
                      group["kind"].iloc[0].upper(), "", ""])
        for i, (_, r) in enumerate(group.iterrows(), start=1):
            table.append([str(i), r["number"] or r["doc_id"], fmt.day(r["issued"].date()), r["title_vi"]])
    frame = pd.DataFrame(table, columns=["STT", "Số, ký hiệu", "Ngày ban hành", "Trích yếu"])
    ch.shown.append(("van_ban/luy_ke", str(len(rows))))
    return [ch.table(frame, f"Văn bản chỉ đạo, điều hành về chuyển đổi số tính đến {fmt.day(ch.until)}",
                     ch.cite_parts(rows["source"]), align=["l", "l", "r", "l"], widths=[7, 20, 14, 59])]


def appendix_platforms(ch: Chapter) -> list:
    """Appendix 2 of the review: shared platforms and systems of the province's state bodies."""
    rows = ch.data.platforms
    rows = rows[rows["province"] == ch.province].sort_values("platform_no")
    if rows.empty:
        return [ch.text(f"Chưa có danh sách nền tảng, hệ thống dùng chung của tỉnh {ch.province_name} trong dữ liệu.")]
    frame = pd.DataFrame({
        "TT": rows["platform_no"].map(lambda v: fmt.number(v, 0)), "Tên hệ thống": rows["name_vi"],
        "Đơn vị chủ trì triển khai": rows["owner"], "Hình thức triển khai": rows["mode"],
    })
    ch.shown.append(("nen_tang", str(len(rows))))
    return [ch.table(frame.reset_index(drop=True), f"Nền tảng, hệ thống dùng chung trong các cơ quan nhà nước "
                                                   f"của tỉnh {ch.province_name}",
                     ch.cite_parts(rows["source"]), align=["r", "l", "l", "l"], widths=[6, 44, 25, 25])]
