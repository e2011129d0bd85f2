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
    return [ch.text(f"Mục này tổng hợp kết quả {narrative.lower_first(ch.spec.title)} của tỉnh {ch.province_name} "
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
            targets = [ch.target_for(i) for i in section.indicators if i in known]
            out.append(ch.table(pd.DataFrame(rows, columns=TABLE_COLUMNS), f"{section.title}: mục tiêu và kết quả",
                                ch.cite_parts(t["source"] for t in targets if t is not None),
                                align=TABLE_ALIGN, widths=TABLE_WIDTHS))
        return out
    out = [ch.text(sentences[0] if len(sentences) == 1 else "\n".join(f"- {s}" for s in sentences))]
    frame = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    out.append(ch.table(frame, f"{section.title}: kết quả {ch.period.label_vi}", ch.cite_all(cited),
                        align=TABLE_ALIGN, widths=TABLE_WIDTHS))
    if section.chart in known:  # a data set without the charted indicator simply has no chart
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
        out.append(ch.figure(fig, f"So sánh giữa các tỉnh: {narrative.lower_first(ind['name_vi'])}. "
                                  "Định nghĩa và ngày số liệu của mỗi tỉnh có thể khác nhau",
                             ch.cite_all([o for _, o in compared])))
    history = ch.history(indicator_id)
    history = history[history["value"].notna()]
    if len(points) < 2 and len(history) >= 2:
        fig = charts.trend(history, "as_of", "value", unit, target=target_value)
        cited = [selection.Obs.from_row(r) for _, r in history.iterrows()]
        out.append(ch.figure(fig, f"{ind['name_vi']} qua các kỳ", ch.cite_all(cited)))
    return out


def scorecard(ch: Chapter) -> tuple[pd.DataFrame, list]:
    """Target verdicts per pillar for the period, as a frame and as [text, figure, table]."""
    targets = ch.targets()
    if targets.empty:
        return pd.DataFrame(), [ch.text(f"Chưa có mục tiêu nào có hiệu lực {ch.period.within_vi}.")]
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
    text = (f"Tính đến {fmt.day(ch.until)}, trong {int(total.sum())} mục tiêu có hiệu lực, kết quả của tỉnh "
            f"{ch.province_name} theo từng lĩnh vực như sau: " + "; ".join(parts) + ".")
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
                  f"Đánh giá theo mục tiêu của {plans}, từ số liệu mới nhất tính đến cuối kỳ"),
        ch.table(shown.reset_index(drop=True), "Số mục tiêu theo kết quả đánh giá", f"Mục tiêu: {plans}",
                 widths=[40, 12, 16, 20, 12]),
    ]


def other_indicators(ch: Chapter, section: Section) -> list:
    """Every indicator of the chapter's pillars not stated elsewhere that has a figure or a target."""
    listed = {i for s in ch.spec.sections for i in s.indicators}
    ind = ch.data.indicators
    candidates = ind.loc[ind["pillar"].isin(ch.pillars) & ~ind["indicator_id"].isin(listed), "indicator_id"]
    rows, cited = [], []
    for indicator_id in candidates:
        for breakdown in [""] + ch.breakdowns(indicator_id):
            obs = ch.latest(indicator_id, breakdown)
            row = _row(ch, indicator_id, breakdown)
            if row is None or (obs is None and breakdown):
                continue
            if obs is not None:
                cited.append(obs)
                ch.shown.append((f"{indicator_id}{'/' + breakdown if breakdown else ''}", f"{row[1]} @ {row[2]}"))
            rows.append(row)
    if not rows:
        return [ch.text("Không có chỉ tiêu nào khác có số liệu hoặc mục tiêu trong kỳ báo cáo.")]
    frame = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    return [ch.text("Các chỉ tiêu còn lại của lĩnh vực, theo số liệu mới nhất trong kỳ báo cáo:"),
            ch.table(frame, f"{ch.spec.title}: các chỉ tiêu khác", ch.cite_all(cited),
                     align=TABLE_ALIGN, widths=TABLE_WIDTHS)]


def dti(ch: Chapter) -> list:
    """The DTI rank: a sentence, and the ranks of every province over time."""
    out = []
    obs = ch.latest("dti_xep_hang") if "dti_xep_hang" in set(ch.data.indicators["indicator_id"]) else None
    if obs is None:
        return [ch.text("Chưa có số liệu xếp hạng chỉ số chuyển đổi số cấp tỉnh (DTI) trong kỳ báo cáo.")]
    out.append(ch.text(ch.sentence("dti_xep_hang", name=f"Chỉ số chuyển đổi số (DTI) của tỉnh {ch.province_name}")))
    rows = ch.data.observations
    rows = rows[(rows["indicator_id"] == "dti_xep_hang") & (rows["breakdown"] == "")
                & (rows["as_of"] <= pd.Timestamp(ch.until))].copy()
    if len(rows) >= 2:
        names = ch.data.provinces.set_index("unit_id")["name_vi"]
        rows["Tỉnh"] = rows["province"].map(names)
        fig = charts.trend(rows, "as_of", "value", "hạng", series="Tỉnh", invert=True)
        out.append(ch.figure(fig, "Thứ hạng chỉ số DTI cấp tỉnh qua các năm (thứ hạng càng nhỏ càng tốt; "
                                  "từ năm 2024 xếp hạng trong 34 tỉnh, thành phố)",
                             ch.cite_all(selection.Obs.from_row(r) for _, r in rows.iterrows())))
    return out


def own_tally(ch: Chapter) -> list:
    """What the province's own report says of its targets ('đạt 8/11 mục tiêu về Chính quyền số')."""
    obs = ch.data.observations
    rows = obs[(obs["province"] == ch.province) & (obs["indicator_id"] == "muc_tieu_dat")
               & (obs["as_of"] <= pd.Timestamp(ch.until))]
    if rows.empty:
        return []
    newest = rows[rows["as_of"] == rows["as_of"].max()]
    parts = [narrative.tally_text(r["breakdown"].capitalize() if r["breakdown"] else "tổng thể",
                                  int(r["value"]), int(r["denominator"]))
             for _, r in newest.iterrows() if not pd.isna(r["denominator"])]
    cited = [selection.Obs.from_row(r) for _, r in newest.iterrows()]
    return [ch.text(f"Theo báo cáo của tỉnh, tính đến {fmt.day(newest['as_of'].max().date())}: "
                    + "; ".join(parts) + f". Nguồn: {ch.cite_all(cited)}.")]


def movers(ch: Chapter, top: int = 6) -> list:
    """The figures that moved most since their previous value (relative change)."""
    obs = ch.data.observations
    rows = obs[(obs["province"] == ch.province) & (obs["as_of"] <= pd.Timestamp(ch.until)) & obs["value"].notna()]
    found = []
    for (indicator_id, breakdown), _ in rows.groupby(["indicator_id", "breakdown"]):
        current = ch.latest(indicator_id, breakdown)
        before = ch.previous(current)
        if current is None or before is None or not before.number or current.number is None:
            continue
        if current.unit == "hạng":
            continue  # ranks have their own chart
        change = (current.number - before.number) / abs(before.number)
        found.append((abs(change), indicator_id, breakdown, current, before))
    if not found:
        return [ch.text("Chưa có chỉ tiêu nào có hai mốc số liệu để so sánh trong kỳ báo cáo.")]
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


def _task_state(row: pd.Series, until: pd.Timestamp) -> str:
    if row["status"] == "Hoàn thành" and not pd.isna(row["status_as_of"]) and row["status_as_of"] <= until:
        return "Hoàn thành"
    if not pd.isna(row["deadline"]) and row["deadline"] < until:
        return "Quá hạn"
    if row["status"] == "" or pd.isna(row["status_as_of"]) or row["status_as_of"] > until:
        return "Chưa có thông tin"
    return "Đang thực hiện"


TASK_STATES = ("Hoàn thành", "Đang thực hiện", "Quá hạn", "Chưa có thông tin")


def task_frame(ch: Chapter) -> pd.DataFrame:
    tasks = ch.data.tasks
    rows = tasks[tasks["province"] == ch.province].copy()
    issued = rows["plan"].map(ch.plan_issued)
    rows = rows[issued.isna() | (issued <= pd.Timestamp(ch.until))]
    rows["state"] = [_task_state(r, pd.Timestamp(ch.until)) for _, r in rows.iterrows()]
    return rows


def tasks(ch: Chapter) -> list:
    rows = task_frame(ch)
    if rows.empty:
        return [ch.text(f"Chưa có nhiệm vụ nào được giao tính đến {fmt.day(ch.until)}.")]
    table = (rows.groupby("plan")["state"].value_counts().unstack(fill_value=0)
             .reindex(columns=list(TASK_STATES), fill_value=0))
    total = table.sum(axis=1)
    parts = [f"{plan}: hoàn thành {int(r['Hoàn thành'])}/{int(t)} nhiệm vụ"
             + (f", quá hạn {int(r['Quá hạn'])}" if r["Quá hạn"] else "")
             for (plan, r), t in zip(table.iterrows(), total)]
    for (plan, r), t in zip(table.iterrows(), total):
        ch.shown.append((f"nhiem_vu/{plan}", f"{int(r['Hoàn thành'])}/{int(t)} hoàn thành, {int(r['Quá hạn'])} quá hạn"))
    out = [ch.text(f"Tính đến {fmt.day(ch.until)}: " + "; ".join(parts) + ". Một nhiệm vụ được coi là quá hạn khi "
                   "đã qua thời hạn ghi trong kế hoạch mà chưa được đánh giá hoàn thành; nhiệm vụ chưa có báo cáo "
                   "tình hình được ghi là chưa có thông tin.")]
    fig = charts.scorecard(table.reset_index(), label="plan", counts=TASK_STATES, xlabel="Số nhiệm vụ")
    out.append(ch.figure(fig, f"Tình hình thực hiện nhiệm vụ theo kế hoạch, tính đến {fmt.day(ch.until)}",
                         ch.cite_parts(rows["source"])))
    late = rows[rows["state"] == "Quá hạn"]
    if not late.empty:
        frame = pd.DataFrame({
            "Nhiệm vụ": late["name_vi"], "Chủ trì": late["owner"],
            "Thời hạn": late["deadline"].map(lambda d: fmt.day(d.date()) if not pd.isna(d) else ""),
            "Tình hình (theo báo cáo)": late["status_text"],
        })
        out.append(ch.table(frame.reset_index(drop=True), "Nhiệm vụ quá hạn", ch.cite_parts(late["source"]),
                            align=["l", "l", "r", "l"], widths=[40, 18, 12, 30]))
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
        fig = charts.bars(part.assign(label=part["pillar"].str.capitalize()), "label", "amount", "tỷ đồng")
        out.append(ch.figure(fig, f"Kinh phí chuyển đổi số năm {year} theo trụ cột", ch.cite_parts(part["source"])))
    out.append(ch.table(frame.reset_index(drop=True), "Kinh phí chuyển đổi số theo năm và trụ cột",
                        ch.cite_parts(rows["source"]), align=["l", "l", "l", "r"], widths=[15, 30, 20, 35]))
    return out  # the rows' data notes belong to the internal check sheet, not to the report


def appendix_targets(ch: Chapter) -> list:
    """The full target table in the shape of the review's appendix 5, one table per plan."""
    targets = ch.targets()
    if targets.empty:
        return [ch.text(f"Không có mục tiêu nào có hiệu lực {ch.period.within_vi}.")]
    assessed = ch.data.assessments
    assessed = assessed[assessed["as_of"] <= pd.Timestamp(ch.until)].sort_values("as_of").drop_duplicates(
        "target_id", keep="last").set_index("target_id")
    units = ch.data.indicators.set_index("indicator_id")["count_unit"]
    out = []
    for plan, group in targets.groupby("plan", sort=False):
        rows = []
        for number, (_, t) in enumerate(group.iterrows(), start=1):
            item = str(t["plan_item"]).split()[-1] if t["plan_item"] else ""
            label = item if item and len(item) <= 8 and any(c.isdigit() for c in item) else str(number)
            ev = ch.evaluate(t)
            result = (narrative.figure_text(ev.obs, units.get(t["indicator_id"], "")) + f" ({fmt.day(ev.obs.as_of)})"
                      if ev.obs is not None else fmt.MISSING)
            own = assessed.loc[t["target_id"], "assessment"] if t["target_id"] in assessed.index else ""
            rows.append([label, t["text_vi"], narrative.target_text(t), result, ev.status, own])
            ch.shown.append((f"muc_tieu/{t['target_id']}", ev.status))
        frame = pd.DataFrame(rows, columns=["TT", "Mục tiêu", "Chỉ tiêu", "Kết quả", "Đánh giá", "Văn bản đánh giá"])
        if not frame["Văn bản đánh giá"].any():
            frame = frame.drop(columns=["Văn bản đánh giá"])
        widths = [5, 40, 11, 22, 11, 11][: len(frame.columns)]
        out.append(ch.table(frame, f"Mục tiêu theo {plan} và kết quả tính đến {fmt.day(ch.until)}",
                            ch.cite_parts(group["source"]), align=["r", "l", "r", "l", "l", "l"][: len(frame.columns)],
                            widths=widths))
    out.append(ch.text("Cột “Đánh giá” được tính từ số liệu mới nhất tính đến cuối kỳ; cột “Văn bản đánh giá” "
                       "(nếu có) là đánh giá in trong báo cáo gốc, để đối chiếu."))
    return out


def appendix_tasks(ch: Chapter) -> list:
    rows = task_frame(ch)
    if rows.empty:
        return [ch.text("Không có nhiệm vụ nào trong kỳ báo cáo.")]
    out = []
    for plan, group in rows.groupby("plan", sort=False):
        frame = pd.DataFrame({
            "TT": group["task_no"], "Nhiệm vụ": group["name_vi"], "Chủ trì": group["owner"],
            "Thời gian": group["period_text"], "Tình hình": group["status_text"], "Đánh giá": group["state"],
        })
        out.append(ch.table(frame.reset_index(drop=True), f"Nhiệm vụ theo {plan}", ch.cite_parts(group["source"]),
                            align=["r", "l", "l", "l", "l", "l"], widths=[5, 35, 16, 10, 22, 12]))
    return out


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
