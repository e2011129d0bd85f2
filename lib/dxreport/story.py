"""The analyst's narrative file of one province and period: parsing, placeholders, number check.

    data/bao-cao/<tỉnh>/<kỳ>.md      e.g. data/bao-cao/nghe-an/2023-Q3.md

The file is Markdown with an optional YAML front matter (Kính gửi, Nơi nhận, signer, date,
number, numbers allowed without a match). Each level-2 heading (`## ...`) names either one of
the province's narrative sections after part I (II. Hạn chế, nguyên nhân; III. Nhiệm vụ...;
the names come from the province's `cau-hinh.yml`), the preamble (`## Mở đầu`), or a chapter
of part I by its title, whose text is placed under that chapter as commentary. Deeper headings
(`###`, `####`) are the analyst's own sub-items, numbered by the analyst ("1. Hạn chế",
"a) Về hạ tầng số").

A placeholder `[[CẦN BỔ SUNG: ...]]` marks text still to write: the report stays a draft
(DỰ THẢO) while one remains. Every number of the prose is checked against the figures of the
period (`check_numbers`); one that matches nothing is listed with file:line and also keeps the
report a draft unless the front matter allows it (`so_lieu_cho_phep`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DxreportError

PLACEHOLDER = re.compile(r"\[\[\s*CẦN BỔ SUNG\s*:?\s*(.*?)\]\]", re.S)
PLACEHOLDER_TEMPLATE = "[[CẦN BỔ SUNG: {}]]"
PREAMBLE_TITLES = ("mở đầu", "căn cứ")
NARRATIVE_DIR = "bao-cao"


class NarrativeError(DxreportError):
    """A narrative file that cannot be read: bad front matter, a heading that names nothing."""


@dataclass
class Remark:
    """Something the CLI lists: a placeholder, an unmatched number (file:line)."""

    path: Path
    line: int
    kind: str  # "placeholder" | "number"
    text: str

    def format(self, root: Path | None = None) -> str:
        shown = self.path
        if root is not None:
            try:
                shown = self.path.resolve().relative_to(root.resolve())
            except ValueError:
                pass
        label = {"placeholder": "còn chỗ cần bổ sung", "number": "số không khớp số liệu"}[self.kind]
        return f"{shown}:{self.line}: {label}: {self.text}"


@dataclass
class Block:
    """The text under one level-2 heading: title as written, Markdown body, first body line."""

    title: str
    body: str
    line: int


@dataclass
class Story:
    path: Path
    meta: dict = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)
    body_start: int = 1  # the file line of the first line after the front matter

    @property
    def exists(self) -> bool:
        return self.path.exists()

    def placeholders(self) -> list[Remark]:
        text = self.path.read_text(encoding="utf-8") if self.exists else ""
        out = []
        for match in PLACEHOLDER.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            out.append(Remark(self.path, line, "placeholder", match.group(1).strip() or "(trống)"))
        return out

    def block(self, *titles: str) -> Block | None:
        wanted = {key(t) for t in titles}
        return next((b for b in self.blocks if key(b.title) in wanted), None)


def key(title: str) -> str:
    """A heading compared loosely: no leading 'II.' / '1.', no case, no trailing colon."""
    text = unicodedata.normalize("NFC", title).strip().rstrip(":").strip()
    text = re.sub(r"^(?:[IVXLC]+|\d+)[.)]\s+", "", text)
    return re.sub(r"\s+", " ", text).lower()


def path_for(folder: Path, province: str, period: str) -> Path:
    return folder / NARRATIVE_DIR / province / f"{period}.md"


def read(path: Path) -> Story:
    """Parse a narrative file; a missing file is an empty story (the report is then a draft)."""
    story = Story(path)
    if not path.exists():
        return story
    text = unicodedata.normalize("NFC", path.read_text(encoding="utf-8"))
    lines = text.split("\n")
    start = 0
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
        if end is None:
            raise NarrativeError(f"{path}: phần đầu YAML mở bằng '---' ở dòng 1 nhưng không có dòng '---' đóng lại.")
        import yaml

        try:
            meta = yaml.safe_load("\n".join(lines[1:end])) or {}
        except yaml.YAMLError as exc:
            raise NarrativeError(f"{path}: phần đầu YAML không đọc được: {exc}") from None
        if not isinstance(meta, dict):
            raise NarrativeError(f"{path}: phần đầu YAML phải là các cặp 'khóa: giá trị'.")
        story.meta = meta
        start = end + 1
    story.body_start = start + 1
    current: Block | None = None
    buffer: list[str] = []
    fence = False
    for number, line in enumerate(lines[start:], start=start + 1):
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
        heading = re.match(r"^##\s+(.+?)\s*#*\s*$", line) if not fence else None
        if heading and not line.startswith("###"):
            if current is not None:
                current.body = "\n".join(buffer).strip("\n")
                story.blocks.append(current)
            current, buffer = Block(heading.group(1), "", number + 1), []
            continue
        if current is None:
            if line.strip() and not line.startswith("# "):
                raise NarrativeError(f"{path}:{number}: nội dung phải nằm dưới một tiêu đề cấp 2 ('## ...'), "
                                     "ví dụ '## Hạn chế, nguyên nhân'.")
            continue
        buffer.append(line)
    if current is not None:
        current.body = "\n".join(buffer).strip("\n")
        story.blocks.append(current)
    return story


# -- the number check -----------------------------------------------------------------------------

_NUM = r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?"
TOKEN = re.compile(
    rf"(?<![\w.,/\-])(?P<a>{_NUM})(?:\s*/\s*(?P<b>{_NUM}))?(?P<pct>\s*%)?(?P<scale>\s+(?:nghìn|triệu|tỷ)\b)?"
    r"(?![\w]|[.,]\d|/\s*\d|[/\-][^\W\d_])")
DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{4}\b|\b\d{1,2}/\d{4}\b")
# a number right after these words is a date part, an item or a document number, not a figure
NOT_FIGURE_BEFORE = re.compile(
    r"(?:ngày|tháng|năm|quý|giai đoạn|số|điều|khoản|điểm|mục|phụ lục|chương|phần|kỳ|lần|đợt|nghị định|"
    r"thông tư|quyết định|kế hoạch|chỉ thị|nghị quyết|công văn|văn bản|đề án|tiểu mục|trang|giờ|tuổi)\s*$",
    re.I)
SCALE = {"nghìn": 1e3, "triệu": 1e6, "tỷ": 1e9}


def parse_number(text: str) -> tuple[float, int]:
    """'3.348.092' -> (3348092, 0); '72,05' -> (72.05, 2)."""
    whole, _, frac = text.partition(",")
    return float(whole.replace(".", "") + ("." + frac if frac else "")), len(frac)


def _matches(value: float, decimals: int, known: set[float]) -> bool:
    """Whether a number written with `decimals` decimals is one of `known`, rounded as written."""
    for v in known:
        if round(v, decimals) == round(value, decimals) or abs(v - value) < 1e-9:
            return True
    return False


@dataclass
class Figures:
    """Every number the data states for one province up to the period's end."""

    values: set[float] = field(default_factory=set)
    pairs: set[tuple[float, float]] = field(default_factory=set)

    def add(self, value) -> None:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return
        if number == number:  # not NaN
            self.values.add(number)

    def add_pair(self, a, b) -> None:
        try:
            a, b = float(a), float(b)
        except (TypeError, ValueError):
            return
        if a == a and b == b and b:
            self.pairs.add((a, b))
            self.pairs.add((b - a, b))  # "04/21 chưa ban hành" beside "17/21 đã ban hành"
            self.values.update({a, b, b - a, round(100 * a / b, 2), round(100 * (b - a) / b, 2)})


def figures_for(data, province: str, end) -> Figures:
    """The figures a narrative may cite: observations (values, x/y and their complements,
    changes between two dates), targets, budget and counts of tasks, targets and documents."""
    import pandas as pd

    end = pd.Timestamp(end)
    out = Figures()
    obs = data.observations
    obs = obs[(obs["province"] == province) & (obs["as_of"] <= end)].sort_values("as_of")
    for row in obs.itertuples(index=False):
        out.add(row.value)
        out.add(row.numerator)
        out.add(row.denominator)
        if not pd.isna(row.denominator):
            if not pd.isna(row.numerator):
                out.add_pair(row.numerator, row.denominator)
            if not pd.isna(row.value):
                out.add_pair(row.value, row.denominator)
    for _, group in obs.groupby(["indicator_id", "breakdown"]):
        values = [v for v in group["value"] if not pd.isna(v)]
        for before, after in zip(values, values[1:]):
            out.add(abs(after - before))
            out.add(round(abs(after - before), 2))
    targets = data.targets[data.targets["province"] == province]
    latest = obs.drop_duplicates(["indicator_id", "breakdown"], keep="last").set_index(["indicator_id", "breakdown"])
    for t in targets.itertuples(index=False):  # "còn thiếu 0,44 điểm phần trăm" to reach a target
        key = (t.indicator_id, t.breakdown)
        if key in latest.index and not pd.isna(t.value):
            value = latest.loc[key, "value"]
            if not pd.isna(value):
                out.add(round(abs(t.value - value), 2))
    for column in ("value", "value_max"):
        for v in targets[column]:
            out.add(v)
    for v in data.budget.loc[data.budget["province"] == province, "amount"]:
        out.add(v)
    budget = data.budget[data.budget["province"] == province]
    amounts = list(budget["amount"])
    for a in amounts:  # shares between two budget figures ("chiếm 20,29%")
        for b in amounts:
            if b:
                out.add(round(100 * a / b, 2))
    out.add(len(targets))
    out.add(len(data.tasks[data.tasks["province"] == province]))
    docs = data.documents[data.documents["province"] == province]
    out.add(len(docs))
    for kind, group in docs.groupby("kind"):
        out.add(len(group))
    return out


def _figure_text_for_lines(story: Story) -> list[tuple[int, str]]:
    """(file line, text) of every prose line: headings and the front matter left out."""
    if not story.exists:
        return []
    lines = story.path.read_text(encoding="utf-8").split("\n")
    out = []
    for number in range(story.body_start, len(lines) + 1):
        line = unicodedata.normalize("NFC", lines[number - 1])
        if line.startswith("#"):
            continue
        out.append((number, line))
    return out


def check_numbers(story: Story, figures: Figures) -> list[Remark]:
    """Numbers in the prose that match no figure of the period, as file:line remarks.

    Left out of the check: dates (30/9/2023), years, a number after a word that makes it a
    date part, an item or a document number ("tháng 10", "mục 3", "Kế hoạch số 586/KH-UBND"),
    list markers ("1."), standalone whole numbers below 10 ("3 cấp", "01 năm"), text inside
    placeholders, and what the front matter's `so_lieu_cho_phep` lists (written as in the text).
    """
    allowed = {unicodedata.normalize("NFC", str(a)).strip() for a in story.meta.get("so_lieu_cho_phep", []) or []}
    remarks = []
    for number, line in _figure_text_for_lines(story):
        text = PLACEHOLDER.sub(lambda m: " " * len(m.group(0)), line)
        text = re.sub(r"<[^>]*>|https?://\S+", lambda m: " " * len(m.group(0)), text)
        text = DATE.sub(lambda m: " " * len(m.group(0)), text)
        text = re.sub(r"^\s*(?:[-*+]\s+)?(?:\d+|[a-zđ])[.)]\s", lambda m: " " * len(m.group(0)), text)
        fractions = []
        for match in TOKEN.finditer(text):
            written = match.group(0).strip()
            if written in allowed or written.replace(" ", "") in allowed:
                continue
            if NOT_FIGURE_BEFORE.search(text[: match.start()]) or re.match(r"\s*tuổi\b", text[match.end():]):
                continue
            a, da = parse_number(match.group("a"))
            scale = SCALE[match.group("scale").strip()] if match.group("scale") else 1.0
            if match.group("b"):
                b, _ = parse_number(match.group("b"))
                fractions.append((a, b))
                _, db = parse_number(match.group("b"))
                if any(round(x, da) == round(a * k, da) and round(y, db) == round(b * k, db)
                       for x, y in figures.pairs for k in {1.0, scale}):
                    continue
                remarks.append(Remark(story.path, number, "number", written))
                continue
            if not match.group("pct") and not match.group("scale") and da == 0 and a < 10:
                continue
            if not match.group("pct") and da == 0 and 1900 <= a <= 2100 and "." not in match.group("a"):
                continue  # a year
            if (_matches(a, da, figures.values) or _matches(a * scale, da, figures.values)
                    or (scale > 1 and _matches(a, da, {v / scale for v in figures.values}))):
                continue
            if match.group("pct") and any(b and round(100 * x / b, da) == a for x, b in fractions):
                continue  # the share of a ratio written in the same line
            remarks.append(Remark(story.path, number, "number", written))
    return remarks
