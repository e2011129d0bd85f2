"""`dxreport draft`: a first draft of a period's narrative file, written from the data.

What the data can say is written out: under Hạn chế the targets not met (figure, target, gap),
the weakest rates, the overdue tasks, and the bodies that have not yet acted (x/y figures short
of the whole); under Nhiệm vụ the tasks and targets due in the next period with their owners.
What the data cannot say (causes, proposals, the opening) is left as `[[CẦN BỔ SUNG: ...]]`
placeholders, so the report stays a draft until the analyst writes them. An existing file is
never overwritten without `force`.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd

from . import fmt, narrative, periods, schema, story
from .errors import DxreportError
from .selection import NOT_MET

WEAKEST = 5  # rates listed as the weakest
BODIES = ("đơn vị", "huyện", "sở", "cơ quan", "xã", "trường", "cơ sở", "bệnh viện", "trạm", "thôn")  # who can act


class DraftExistsError(DxreportError):
    """The narrative file exists and --force was not given."""


def next_period(period: periods.Period) -> periods.Period:
    start = period.end + timedelta(days=1)
    code = {"year": f"{start.year}", "half": f"{start.year}-H{1 if start.month <= 6 else 2}",
            "quarter": f"{start.year}-Q{(start.month - 1) // 3 + 1}",
            "month": f"{start.year}-{start.month:02d}"}[period.kind]
    return periods.parse(code)


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _gap(target: pd.Series, obs) -> str:
    if obs is None or obs.number is None or target["rule"] not in (">=", ">") or pd.isna(target["value"]):
        return ""
    unit = target["unit"]
    if unit != obs.unit or target["value"] <= obs.number:
        return ""
    gap = fmt.points(target["value"] - obs.number) if unit == schema.PERCENT else fmt.with_unit(
        target["value"] - obs.number, unit)
    return f"; còn thiếu {gap}"


def shortfalls(ch) -> list[str]:
    """Hạn chế from the data: targets not met, weakest rates, overdue tasks, bodies not acted."""
    from .sections import task_frame

    lines = []
    targets = ch.targets()
    named = set()
    for _, t in targets.iterrows():
        ev = ch.evaluate(t)
        if ev.status != NOT_MET or ev.obs is None:
            continue
        ind = ch.indicator(t["indicator_id"])
        named.add(t["indicator_id"])
        due = "" if pd.isna(t["target_date"]) else f" đến {fmt.day(t['target_date'].date())}"
        figure = narrative.figure_text(ev.obs, ind["count_unit"])
        status_only = ev.obs.value is None and ev.obs.numerator is None  # "Đang triển khai kế hoạch …"
        reached = f"mới ở mức: {narrative.lower_first(figure)}" if status_only else f"mới đạt {figure}"
        lines.append(f"- {_upper_first(str(t['text_vi']).rstrip('.'))}: tính đến {fmt.day(ev.obs.as_of)} {reached}; "
                     f"mục tiêu {narrative.target_text(t)}{due} theo {t['plan']}{_gap(t, ev.obs)}.")
    rates, short = [], []
    indicators = ch.data.indicators
    for _, ind in indicators[(indicators["unit"] == schema.PERCENT) & indicators["higher_is_better"]].iterrows():
        obs = ch.latest(ind["indicator_id"])
        if obs is None or obs.number is None or obs.number >= 100:
            continue
        if obs.numerator is not None and obs.denominator and obs.numerator < obs.denominator \
                and any(w in str(ind["count_unit"]) for w in BODIES) and ind["indicator_id"] not in named:
            missing = int(obs.denominator - obs.numerator)
            short.append(f"- {_upper_first(ind['name_vi'])}: còn {fmt.number(missing, 0)}/"
                         f"{fmt.number(obs.denominator, 0)} {ind['count_unit']} chưa thực hiện "
                         f"(tính đến {fmt.day(obs.as_of)}).")
        elif ind["indicator_id"] not in named:
            rates.append((obs.number, ind, obs))
    rates.sort(key=lambda r: r[0])
    weakest = [f"- {_upper_first(ind['name_vi'])} mới đạt {narrative.figure_text(obs, ind['count_unit'])} "
               f"(tính đến {fmt.day(obs.as_of)})." for _, ind, obs in rates[:WEAKEST]]
    tasks = task_frame(ch)
    late = tasks[tasks["state"] == "Quá hạn"]
    overdue = [f"- Nhiệm vụ “{r['name_vi']}” ({r['plan']}, chủ trì: {r['owner'] or 'chưa ghi'}) đã quá thời hạn "
               f"{fmt.day(r['deadline'].date())} mà chưa được đánh giá hoàn thành." for _, r in late.iterrows()]
    groups = [("Mục tiêu chưa đạt", lines), ("Chỉ tiêu còn thấp", weakest), ("Nhiệm vụ quá hạn", overdue),
              ("Cơ quan, đơn vị chưa thực hiện", short)]
    out = []
    for letter, (title, items) in zip("abcdeg", [g for g in groups if g[1]]):
        out += [f"#### {letter}) {title}", ""] + items + [""]
    if not out:
        out = ["Số liệu của kỳ chưa cho thấy mục tiêu chưa đạt, nhiệm vụ quá hạn hay chỉ tiêu thấp.", ""]
    return out


def due_next(ch, nxt: periods.Period) -> list[str]:
    """Nhiệm vụ from the data: tasks and targets due in the next period, with their owners."""
    from .sections import task_frame

    start, end = pd.Timestamp(nxt.start), pd.Timestamp(nxt.end)
    tasks = task_frame(ch)
    open_tasks = tasks[tasks["state"] != "Hoàn thành"]
    due = open_tasks[open_tasks["deadline"].between(start, end)]
    lines = [f"- {_upper_first(r['name_vi'])} (chủ trì: {r['owner'] or 'chưa ghi'}; thời hạn: "
             f"{fmt.day(r['deadline'].date())}; {r['plan']})." for _, r in due.iterrows()]
    targets = ch.data.targets
    targets = targets[(targets["province"] == ch.province) & targets["target_date"].between(start, end)]
    for _, t in targets.iterrows():
        owner = f"chủ trì: {t['owner']}; " if t["owner"] else ""
        lines.append(f"- Hoàn thành mục tiêu: {str(t['text_vi']).rstrip('.')} ({owner}hạn "
                     f"{fmt.day(t['target_date'].date())}; {t['plan']}).")
    if not lines:
        return [f"Số liệu không có nhiệm vụ hay mục tiêu nào đến hạn {nxt.within_vi}.", ""]
    return [f"Các nhiệm vụ, mục tiêu đến hạn {nxt.within_vi}:", ""] + lines + [""]


def text(data, province: str, period: periods.Period, folder: Path) -> str:
    """The draft narrative file's content."""
    from . import official
    from .chapter import Chapter
    from .chapters import spec

    doc = official.document(data, province, period, folder)
    ch = Chapter(spec("phu-luc"), province, period, data)
    ph = story.PLACEHOLDER_TEMPLATE.format
    out = ["---",
           f"# Bản nháp lời văn báo cáo chuyển đổi số tỉnh {data.province_name(province)} {period.label_vi},",
           "# tạo từ số liệu bằng lệnh draft. Sửa lời văn, viết vào các chỗ đánh dấu CẦN BỔ SUNG rồi dựng",
           "# lại báo cáo; còn chỗ đánh dấu thì báo cáo vẫn là DỰ THẢO. Các khóa (kinh_gui, noi_nhan,",
           "# quyen_han, chuc_vu, nguoi_ky, ngay, so, so_lieu_cho_phep...) xem data/README.md.",
           "---", "", "## Mở đầu", "",
           ph("căn cứ, văn bản yêu cầu báo cáo") + f" {doc.issuer_full} báo cáo "
           f"{doc.abstract[:1].lower() + doc.abstract[1:]} như sau.", ""]
    nxt = next_period(period)
    for section in doc.sections:
        out += [f"## {section.title[:1] + section.title[1:].lower()}", ""]
        number = 0
        if "han-che" in section.roles:
            number += 1
            label = "Khó khăn, vướng mắc" if "KHÓ KHĂN" in section.title else "Hạn chế"
            out += [f"### {number}. {label}", ""] + shortfalls(ch)
        if "nguyen-nhan" in section.roles:
            number += 1
            out += [f"### {number}. Nguyên nhân", "", ph("nguyên nhân khách quan và chủ quan của các hạn chế nêu trên"),
                    ""]
        if "nhiem-vu" in section.roles:
            out += due_next(ch, nxt)
            out += [ph("nhiệm vụ, giải pháp trọng tâm và cơ quan chủ trì"), ""]
        if "kien-nghi" in section.roles:
            if len(section.roles) > 1:
                number += 1
                out += [f"### {number}. Đề xuất, kiến nghị", ""]
            out += [ph("đề xuất, kiến nghị với UBND tỉnh và các bộ, ngành Trung ương"), ""]
    return "\n".join(out).rstrip() + "\n"


def write(province: str, period: str, data_dir: str | Path | None = None, force: bool = False) -> Path:
    """Write data/bao-cao/<tỉnh>/<kỳ>.md; refuse to overwrite an existing file unless `force`."""
    from .data import load
    from .paths import resolve_data_dir

    folder = resolve_data_dir(data_dir)
    data = load(folder)
    data.province_name(province)  # refuses an unknown province with the valid list
    chosen = periods.parse(period)
    path = story.path_for(folder, province, chosen.code)
    if path.exists() and not force:
        raise DraftExistsError(f"Tệp {path} đã có; không ghi đè. Dùng --force để tạo lại bản nháp (nội dung cũ sẽ mất).")
    content = text(data, province, chosen, folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return path
