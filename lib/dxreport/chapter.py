"""The chapter context a notebook opens: province, period, data, and numbered outputs.

    ch = dx.open_chapter("ha-tang-so", province, period, data_dir)
    ch.show(*ch.section("di-dong"))

Figure and table numbers restart per chapter ("Hình 2.1", "Bảng 2.1"). Every figure a chapter
states is recorded so `key_figures()` can print them for nbval's `# NBVAL_CHECK_OUTPUT` cells.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from . import escape, fmt, narrative, periods, selection
from .data import Data, load
from .chapters import ChapterSpec, Section  # noqa: F401  (re-exported: chapters are specified there)
from .display import Bullets, Figure, Table, Text, figure_data
from .notebook_env import PERIOD_ENV
from .periods import Period

# A table longer than this prints its first rows and says how many it left out: a data set with
# thousands of breakdowns or tasks must not become a report of thousands of pages. The real data's
# longest table is far shorter, so it is never cut.
MAX_TABLE_ROWS = 100

SEED_RE = re.compile(r"(\d{3}_[0-9a-f]{16}\.txt)(?::\s*([^|]+))?")


def default_period(data: Data, province: str) -> Period:
    """The latest ended quarter whose report is mostly current (`periods.mostly_current_default`)."""
    obs = data.observations[data.observations["province"] == province]
    rows = [((i, b), d.date()) for i, b, d in obs[["indicator_id", "breakdown", "as_of"]].itertuples(index=False)]
    return periods.mostly_current_default(rows)


def bounded(frame: pd.DataFrame, caption: str, limit: int | None = None) -> tuple[pd.DataFrame, str]:
    """At most `limit` (default MAX_TABLE_ROWS) rows of a table, the caption saying how many of how
    many it shows; a table within the limit comes back unchanged."""
    limit = MAX_TABLE_ROWS if limit is None else limit
    if len(frame) <= limit:
        return frame, caption
    return (frame.iloc[:limit], f"{caption} ({fmt.number(limit, 0)} dòng đầu trong tổng số "
                                f"{fmt.number(len(frame), 0)} dòng)")


@dataclass(frozen=True)
class TargetItem:
    """One target as its plan lists it: the rows of targets.csv that share a plan item and wording
    (one plan line "90%/80%/60% cấp tỉnh/huyện/xã" is three rows, one item)."""

    plan: str
    label: str  # the plan's own item number ("I.3", "12"), '' when the plan numbers none
    text_vi: str
    group: str  # the plan's heading ("Chính quyền số") or the indicator's pillar
    rows: tuple  # pd.Series per targets.csv row
    evaluations: tuple  # selection.Evaluation per row

    @property
    def status(self) -> str:
        return next(v for v in SEVERITY if any(e.status == v for e in self.evaluations))

    @property
    def computed(self) -> str:
        return next(v for v in SEVERITY if any((e.computed or e.status) == v for e in self.evaluations))

    @property
    def basis(self) -> str:
        return "review" if any(e.basis == "review" for e in self.evaluations) else "data"

    @property
    def reason(self) -> str:
        return next((e.reason for e in self.evaluations if e.status == self.status and e.reason), "")


SEVERITY = (selection.NOT_MET, selection.NOT_DUE, selection.NO_DATA, selection.EXPECTED, selection.MET)


def item_label(plan_item: str) -> str:
    """The plan's own number from `plan_item`: 'PL5 I.3' -> 'I.3', 'PL01 mục 12' -> '12', 'mục 3' -> '3'.
    Items described rather than numbered ('báo cáo sơ kết mục I.5') have none."""
    text = str(plan_item or "").strip()
    if not text or not (text.startswith("PL") or text.startswith("mục")):
        return ""
    last = text.split()[-1]
    return last if any(c.isdigit() for c in last) else ""


@dataclass
class Chapter:
    spec: ChapterSpec
    province: str
    period: Period
    data: Data
    shown: list[tuple[str, str]] = field(default_factory=list)
    _figures: int = 0
    _tables: int = 0
    _memo: dict = field(default_factory=dict, repr=False)  # derived frames, computed once per chapter
    policy: periods.Policy = field(default_factory=periods.Policy.from_env)

    def _once(self, key, compute):
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def _shared(self, name, compute):
        """Like `_once`, for tables that depend only on the data, the province and the period:
        kept on the data (`Data.derived`), so the other chapters of the period run in the same
        kernel reuse them."""
        return self.data.derived((self.province, self.period.start, self.period.end), name, compute)

    # -- identity ---------------------------------------------------------------------------
    @property
    def number(self) -> int:
        return self.spec.number

    @property
    def province_name(self) -> str:
        return self.data.province_name(self.province)

    @property
    def pillars(self) -> list[str]:
        """The DTI pillars this chapter presents (data/pillars.csv)."""
        rows = self.data.pillars
        return list(rows.loc[rows["chapter"] == self.spec.slug, "pillar"])

    @property
    def until(self) -> date:
        return self.period.end

    # -- numbered outputs -------------------------------------------------------------------
    def figure(self, fig, caption: str, source: str = "", data: pd.DataFrame | None = None) -> Figure:
        """A numbered figure; `data`, what it shows as a table, goes to the site's open data."""
        self._figures += 1
        shown = {**figure_data(data), "source": escape.plain(source)} if data is not None else None
        return Figure.from_matplotlib(fig, f"Hình {self.number}.{self._figures}", caption, source, data=shown)

    def table(self, frame: pd.DataFrame, caption: str, source: str = "", align: list[str] | None = None,
              widths: list[int] | None = None) -> Table:
        self._tables += 1
        frame, caption = bounded(frame, caption)
        return Table(frame, f"Bảng {self.number}.{self._tables}", caption, source, align or [], widths or [])

    @staticmethod
    def text(*parts) -> Text:
        """A paragraph of plain text (escaped when shown); parts may be `display.Note`s."""
        return Text(*parts)

    @staticmethod
    def bullets(items) -> Bullets:
        return Bullets(items)

    @staticmethod
    def show(*objects) -> None:
        from IPython.display import display

        for obj in objects:
            display(obj)

    def intro(self) -> list:
        """The chapter's opening paragraph: scope, province, period and data cut-off."""
        from . import sections

        return sections.intro(self)

    def section(self, slug: str) -> list:
        """The display objects of one section of this chapter (see `chapters.CHAPTERS`)."""
        from . import chapters, sections

        chosen = chapters.section(self.spec, slug)
        if chosen.auto:
            return sections.other_indicators(self, chosen)
        return sections.indicator_section(self, chosen)

    # -- data access ------------------------------------------------------------------------
    def indicator(self, indicator_id: str) -> pd.Series:
        return self.data.indicator(indicator_id)

    def _series_index(self) -> tuple[pd.DataFrame, dict, object]:
        """Observations up to the period's end sorted by date (stable), the row positions of each
        (province, indicator, breakdown) in it, and its `as_of` as an array. Positions, not one
        frame per series: a data set with tens of thousands of series is indexed in one pass."""
        def index():
            obs = self.data.observations
            obs = obs[obs["as_of"] <= pd.Timestamp(self.until)].sort_values("as_of", kind="stable")
            positions = obs.groupby(["province", "indicator_id", "breakdown"], sort=False).indices if len(obs) else {}
            return obs, positions, obs["as_of"].to_numpy()

        return self._shared("series", index)

    def _row(self, position: int) -> dict:
        """Row `position` of the sorted observations as {column: value}, the values `iloc` would
        give (Timestamps, NaT, floats, strings), read from per-column lists made once: building a
        Series of a mixed-type row for each figure cost more than the figure's own work."""
        def columns():
            obs = self._series_index()[0]
            return {name: obs[name].tolist() for name in obs.columns}

        cols = self._shared("series-columns", columns)
        return {name: values[position] for name, values in cols.items()}

    def _series(self, province: str, indicator_id: str, breakdown: str) -> pd.DataFrame:
        """Observations of one (province, indicator, breakdown), oldest first, up to the period's end."""
        obs, positions, _ = self._series_index()
        found = positions.get((province, indicator_id, breakdown))
        return obs.iloc[0:0] if found is None else obs.iloc[found]

    def history(self, indicator_id: str, breakdown: str = "", province: str | None = None) -> pd.DataFrame:
        """Every observation of an indicator up to the period's end, oldest first."""
        return self._series(province or self.province, indicator_id, breakdown)

    def latest(self, indicator_id: str, breakdown: str = "", province: str | None = None):
        key = (province or self.province, indicator_id, breakdown)

        def compute():
            obs, positions, _ = self._series_index()
            found = positions.get(key)
            return None if found is None else selection.Obs.from_row(self._row(found[-1]))

        return self._shared(("latest", key), compute)

    def previous(self, obs):
        if obs is None:
            return None
        rows, positions, as_of = self._series_index()
        found = positions.get((obs.province, obs.indicator_id, obs.breakdown))
        if found is None:
            return None
        before = found[as_of[found] < np.datetime64(pd.Timestamp(obs.as_of))]
        return None if len(before) == 0 else selection.Obs.from_row(self._row(before[-1]))

    def is_old(self, obs) -> bool:
        """A figure older than the policy allows for this period: printed as "số liệu cũ", no verdict, no trend."""
        return obs is not None and self.policy.is_old(obs.as_of, self.until)

    def current(self, indicator_id: str, breakdown: str = "", province: str | None = None):
        """The latest figure when it still speaks for the period (not old by the policy), else None:
        what a section's sentences, tables and breakdown charts state."""
        obs = self.latest(indicator_id, breakdown, province)
        return None if obs is None or self.is_old(obs) else obs

    def is_history(self, breakdown: str, obs=None) -> bool:
        """A district (huyện) breakdown in a period ending after the district level was abolished
        (1/7/2025): history, never presented as current."""
        return (self.until >= periods.REFORM_DAY and "huyện" in breakdown.lower()
                and (obs is None or obs.as_of < periods.REFORM_DAY))

    def trend_base(self, obs):
        """The figure a change is computed against, or None: none for an old figure; none across
        precisions (a rounded press figure "98%" against an exact "98,34%") unless the change is at
        least ten times the coarser rounding step; and for yearly ranks only the year before (never
        the first year in the data)."""
        if obs is None or self.is_old(obs):
            return None
        before = self.previous(obs)
        if before is None:
            return None
        coarse = max(selection.step(obs), selection.step(before))
        if selection.step(obs) != selection.step(before) and (
                obs.number is None or before.number is None or abs(obs.number - before.number) < 10 * coarse):
            return None  # a change within the rounding of the coarser figure says nothing
        if obs.unit == "hạng" and (before.as_of.year != obs.as_of.year - 1 or before.denominator != obs.denominator):
            return None  # a rank among 63 is not a rank among 34
        return before

    def breakdowns(self, indicator_id: str, province: str | None = None) -> list[str]:
        def index():
            obs = self.data.observations
            rows = obs[(obs["as_of"] <= pd.Timestamp(self.until)) & (obs["breakdown"] != "")]
            out: dict = {}
            for prov, ind, breakdown in rows[["province", "indicator_id", "breakdown"]].itertuples(index=False):
                out.setdefault((prov, ind), {})[breakdown] = None
            return out

        return list(self._shared("breakdowns", index).get((province or self.province, indicator_id), {}))

    def targets(self, pillars: list[str] | None = None) -> pd.DataFrame:
        """Targets of this province in force for the period: plan issued before its end (a plan
        issued on the period's last day, like 1174/KH-UBND on 31/12/2025, has nothing to say about
        that period), due after its start (a target without a due date is in force)."""
        def in_force():
            tg = self.data.targets
            rows = tg[(tg["province"] == self.province)
                      & (tg["target_date"].isna() | (tg["target_date"] >= pd.Timestamp(self.period.start)))]
            issued = rows["plan"].map(self.plan_issued)
            return rows[issued.isna() | (issued < pd.Timestamp(self.until))]

        rows = self._shared("targets", in_force)
        if pillars is not None:
            pillar = rows["indicator_id"].map(self.data.indicators.set_index("indicator_id")["pillar"])
            rows = rows[pillar.isin(pillars)]
        return rows

    def plan_issued(self, plan: str):
        return self._once(("plan", plan), lambda: self._plan_issued(plan))

    def _plan_issued(self, plan: str):
        docs = self.data.documents
        dates = [docs.loc[(docs["doc_id"] == part.strip()) & (docs["province"] == self.province), "issued"].max()
                 for part in plan.split(";")]
        dates = [d for d in dates if not pd.isna(d)]
        return max(dates) if dates else pd.NaT

    def assessment(self, target_id: str):
        """The review's latest word on a target dated on or before the period's end, or None."""
        def index():
            rows = self.data.assessments
            rows = rows[rows["as_of"] <= pd.Timestamp(self.until)].sort_values("as_of", kind="stable")
            return {t: r for t, r in zip(rows["target_id"], (r for _, r in rows.iterrows()))}

        return self._shared("assessments", index).get(target_id)

    def evaluate(self, target: pd.Series) -> selection.Evaluation:
        """`selection.verdict` for this period, on this chapter's indexed observations."""
        def compute():
            obs = self.latest(target["indicator_id"], target["breakdown"], province=target["province"])
            if obs is not None and self.is_history(target["breakdown"], obs):
                obs = None
            return selection.verdict(target, obs, self.period.start, self.until,
                                     self.assessment(target["target_id"]), self.policy)

        # the overview, the pillar's chapter and the appendix judge the same targets
        return self._shared(("evaluate", target["target_id"], self.policy), compute)

    def target_items(self, pillars: list[str] | None = None) -> list[TargetItem]:
        """The targets in force as their plans list them, one item per plan line, in file order."""
        pillar_of = self.data.indicators.set_index("indicator_id")["pillar"]
        names = self.data.pillars.set_index("pillar")["name_vi"]
        items: dict[tuple, list] = {}
        for _, t in self.targets(pillars).iterrows():
            items.setdefault((t["plan"], t["plan_item"] or t["target_id"], t["text_vi"]), []).append(t)
        out = []
        for (plan, _, text), rows in items.items():
            group = str(rows[0].get("group_vi", "") or "") or names.get(pillar_of.get(rows[0]["indicator_id"]), "")
            out.append(TargetItem(plan, item_label(rows[0]["plan_item"]), text, group, tuple(rows),
                                  tuple(self.evaluate(t) for t in rows)))
        return out

    def target_for(self, indicator_id: str, breakdown: str = "") -> pd.Series | None:
        """The nearest target in force for an indicator (earliest due date)."""
        def index():  # the first row of each (indicator, breakdown) once sorted, found by position
            rows = self.targets().sort_values("target_date", na_position="last")
            first = rows.drop_duplicates(["indicator_id", "breakdown"], keep="first")
            keys = zip(first["indicator_id"], first["breakdown"])
            return first, {key: i for i, key in enumerate(keys)}

        key = (indicator_id, breakdown)

        def row():
            first, positions = self._shared("target_for", index)
            found = positions.get(key)
            return None if found is None else first.iloc[found]

        return self._once(("target_for", key), row)

    # -- citations ----------------------------------------------------------------------------
    def cite_parts(self, sources) -> str:
        """Source strings -> 'Báo cáo sơ kết 01 năm Kế hoạch 586/KH-UBND (mục I.2, II.1); Công văn 6828/UBND-TH'."""
        short = self.data.sources.set_index("location")["short_vi"].to_dict()
        groups: dict[str, list[str]] = {}
        for source in sources:
            for part in str(source).split("|"):
                part = part.strip()
                if not part:
                    continue
                match = SEED_RE.match(part)
                if match:
                    title, where = short.get(match.group(1), match.group(1)), (match.group(2) or "").strip()
                else:
                    title, where = short.get(part, part), ""
                places = groups.setdefault(title, [])
                if where:
                    where = where if where.split()[0].lower() in ("đoạn", "phụ", "chú", "mục") else f"mục {where}"
                    if where not in places:
                        places.append(where)
        return "; ".join(f"{t} ({_places(p)})" if p else t for t, p in groups.items())

    def cite_all(self, observations) -> str:
        return self.cite_parts(o.source for o in observations if o is not None)

    # -- narrative --------------------------------------------------------------------------
    def sentence(self, indicator_id: str, breakdown: str = "", name: str | None = None) -> str:
        ind = self.indicator(indicator_id)
        obs = self.latest(indicator_id, breakdown)
        target = self.target_for(indicator_id, breakdown)
        evaluation = self.evaluate(target) if target is not None else None
        label = name or ind["name_vi"] + (f" – {breakdown}" if breakdown else "")
        if obs is not None:
            self.shown.append((f"{indicator_id}{'/' + breakdown if breakdown else ''}",
                               f"{narrative.figure_text(obs, ind['count_unit'])} @ {fmt.day(obs.as_of)}"))
        return narrative.indicator_sentence(label, obs, self.trend_base(obs), ind["count_unit"],
                                            bool(ind["higher_is_better"]), target, evaluation, old=self.is_old(obs))

    def key_figures(self) -> str:
        """Every figure the chapter stated, one per line: the text nbval compares."""
        lines = [f"{self.spec.slug} | {self.province} | {self.period.code}"]
        lines += [f"{key}: {value}" for key, value in self.shown] or ["(không có số liệu)"]
        return "\n".join(lines)


def _places(places: list[str]) -> str:
    """The places cited in one document, read once: 'mục I.2, I.10, PL5 I.3, đoạn 9' (the
    sections in their order, the word 'mục' once), not 'mục I.2, mục PL5 I.3, mục I.10, …';
    an appendix cited for more than three of its items is cited whole ('PL4')."""
    sections = [p.removeprefix("mục ") for p in places if p.startswith("mục ")]
    # more than three items of one appendix ('PL4 I.1', 'PL4 I.2', …): the appendix itself
    appendix = {}
    for section in sections:
        head = section.split()[0]
        if re.fullmatch(r"PL\d+", head) and head != section:
            appendix[head] = appendix.get(head, 0) + 1
    whole = {head for head, n in appendix.items() if n > 3}
    sections = sorted({section.split()[0] if section.split()[0] in whole else section for section in sections},
                      key=fmt.natural_key)
    others = [p for p in places if not p.startswith("mục ")]
    return ", ".join((["mục " + ", ".join(sections)] if sections else []) + others)


def open_chapter(slug: str, province: str = "nghe-an", period: str | Period | None = None,
                 data_dir: str | None = None) -> Chapter:
    from .chapters import spec

    data = load(data_dir)
    data.province_name(province)  # refuses an unknown province with the valid list
    if period in (None, ""):
        period = os.environ.get(PERIOD_ENV) or None  # nbval pins its reference period this way
    chosen = default_period(data, province) if period in (None, "", "latest") else periods.report_period(period)
    return Chapter(spec(slug), province, chosen, data)
