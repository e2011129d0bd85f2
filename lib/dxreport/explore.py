"""The data of `data/` as tidy DataFrames, for exploring in JupyterLab.

    import dxreport as dx
    ds = dx.load()                                    # validated, joined, one line
    ds.observations                                   # one row per reported figure
    ds.search("tốc độ")                               # indicators by (part of) their name
    ds.figures(indicator="bbdd_toc_do", since="2023")  # a filtered slice
    ds.latest(indicator="dvc_ho_so_truc_tuyen", until="2023-Q3")
    ds.compare("dvc_ho_so_truc_tuyen")                # the latest figure of each province
    dx.figures(province="nghe-an", indicator="grdp")  # the same as ds.figures, without ds

Each frame has the indicator's Vietnamese name and unit, the pillar's name, the province's name and
the source's title joined in, a plain 0..n-1 index, and dates as pandas dates (datetime64, no time
of day). The raw validated tables stay available as `ds.data` (`dxreport.data.Data`).
The frames are copies: changing them changes nothing in `data/`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from . import periods
from .data import Data
from .data import load as load_data
from .errors import PeriodError

SEED_RE = re.compile(r"(\d{3}_[0-9a-f]{16}\.txt)(?::\s*(.+))?$")

OBSERVATION_COLUMNS = (
    "province", "province_name", "pillar", "pillar_name", "indicator_id", "indicator", "breakdown",
    "as_of", "since", "qualifier", "value", "precision", "unit", "count_unit", "status", "numerator",
    "denominator", "source_title", "source", "note", "as_of_basis", "reported_by",
)
TARGET_COLUMNS = (
    "target_id", "province", "province_name", "pillar", "pillar_name", "indicator_id", "indicator",
    "breakdown", "plan", "plan_item", "target_date", "rule", "value", "value_max", "status", "unit",
    "owner", "text_vi", "source_title", "source", "note",
)


def _ordered(frame: pd.DataFrame, first: tuple[str, ...]) -> pd.DataFrame:
    """Known columns first in a reading order, then any others the tables have."""
    cols = [c for c in first if c in frame.columns] + [c for c in frame.columns if c not in first]
    return frame[cols].reset_index(drop=True)


def source_titles(sources: pd.DataFrame):
    """A function from an observation's `source` text to the titles of the sources it cites."""
    by_location = {loc: title for loc, title in zip(sources["location"], sources["title_vi"]) if loc}

    def title(text: str) -> str:
        titles: list[str] = []
        for part in str(text).split("|"):
            part = part.strip()
            if not part:
                continue
            match = SEED_RE.match(part)
            key = match.group(1) if match else part
            found = by_location.get(key) or by_location.get(key.split(" (")[0]) or key
            if found not in titles:
                titles.append(found)
        return "; ".join(titles)

    return title


def _bound(value, end: bool) -> pd.Timestamp | None:
    """A date bound from a date, a 'YYYY-MM-DD' text or a period code ('2023', '2023-Q3')."""
    if value is None or value == "":
        return None
    if isinstance(value, periods.Period):
        return pd.Timestamp(value.end if end else value.start)
    if isinstance(value, (date, pd.Timestamp)):
        return pd.Timestamp(value)
    try:
        period = periods.parse(str(value))
    except PeriodError:
        return pd.Timestamp(str(value))
    return pd.Timestamp(period.end if end else period.start)


def _as_list(value) -> list | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """The tables of one data directory, joined for reading."""

    data: Data
    observations: pd.DataFrame
    targets: pd.DataFrame
    indicators: pd.DataFrame
    provinces: pd.DataFrame
    pillars: pd.DataFrame
    sources: pd.DataFrame

    def __repr__(self) -> str:
        return (f"<dxreport Dataset {self.data.folder}: {len(self.observations)} số liệu, {len(self.targets)} mục tiêu, "
                f"{len(self.indicators)} chỉ tiêu, {len(self.provinces)} tỉnh>")

    def _province_ids(self, province) -> list[str] | None:
        """Province slugs from slugs or Vietnamese names ('nghe-an' or 'Nghệ An')."""
        wanted = _as_list(province)
        if wanted is None:
            return None
        by_name = dict(zip(self.provinces["province_name"], self.provinces["province"]))
        return [by_name.get(p, p) for p in wanted]

    def figures(self, province=None, indicator=None, since=None, until=None, breakdown=None,
                pillar=None) -> pd.DataFrame:
        """Observations filtered by province (slug or name, or a list), indicator id (or list),
        date range (`since`/`until`: a date, 'YYYY-MM-DD' or a period code; `until='2023-Q3'` is
        'tính đến 30/9/2023'), breakdown ('' is the whole province) and pillar; oldest first."""
        obs = self.observations
        keep = pd.Series(True, index=obs.index)
        provinces = self._province_ids(province)
        if provinces is not None:
            keep &= obs["province"].isin(provinces)
        if indicator is not None:
            keep &= obs["indicator_id"].isin(_as_list(indicator))
        if breakdown is not None:
            keep &= obs["breakdown"].isin(_as_list(breakdown))
        if pillar is not None:
            wanted = _as_list(pillar)
            keep &= obs["pillar"].isin(wanted) | obs["pillar_name"].isin(wanted)
        start, end = _bound(since, end=False), _bound(until, end=True)
        if start is not None:
            keep &= obs["as_of"] >= start
        if end is not None:
            keep &= obs["as_of"] <= end
        rows = obs[keep].sort_values(["province", "indicator_id", "breakdown", "as_of"], kind="stable")
        return rows.reset_index(drop=True)

    def latest(self, province=None, indicator=None, until=None, breakdown=None, pillar=None) -> pd.DataFrame:
        """The newest figure of each (province, indicator, breakdown), as last known on `until`."""
        rows = self.figures(province, indicator, None, until, breakdown, pillar)
        rows = rows.groupby(["province", "indicator_id", "breakdown"], sort=False).tail(1)
        return rows.reset_index(drop=True)

    def compare(self, indicator: str, until=None, breakdown: str = "", province=None) -> pd.DataFrame:
        """The latest figure of one indicator in each province, one row per province."""
        rows = self.latest(province, indicator, until, breakdown)
        cols = ["province_name", "indicator", "breakdown", "as_of", "qualifier", "value", "unit",
                "numerator", "denominator", "status", "source_title"]
        return rows[[c for c in cols if c in rows.columns]].reset_index(drop=True)

    def search(self, text: str) -> pd.DataFrame:
        """Indicators whose id or Vietnamese name contains `text` (case-insensitive)."""
        ind = self.indicators
        needle = text.casefold()
        hit = ind["indicator"].str.casefold().str.contains(needle, regex=False) | ind["indicator_id"].str.contains(
            needle, regex=False)
        return ind[hit].reset_index(drop=True)


def tidy(data: Data) -> Dataset:
    """Join the validated tables of `data` into a `Dataset`."""
    pillars = data.pillars.rename(columns={"name_vi": "pillar_name"}).sort_values("order", kind="stable")
    indicators = data.indicators.rename(columns={"name_vi": "indicator", "unit": "indicator_unit"})
    indicators = indicators.merge(pillars[["pillar", "pillar_name"]], on="pillar", how="left")
    indicators = indicators.rename(columns={"indicator_unit": "unit"})
    indicators = _ordered(indicators, ("indicator_id", "indicator", "pillar", "pillar_name", "unit", "count_unit",
                                       "higher_is_better", "description"))
    provinces = data.provinces[["unit_id", "name_vi", "code"]].rename(
        columns={"unit_id": "province", "name_vi": "province_name"})
    title = source_titles(data.sources)

    def joined(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
        out = frame.merge(provinces[["province", "province_name"]], on="province", how="left")
        out = out.merge(indicators[["indicator_id", "indicator", "pillar", "pillar_name", "count_unit"]],
                        on="indicator_id", how="left")
        out["source_title"] = out["source"].map(title) if len(out) else pd.Series(dtype=str)
        return _ordered(out, columns)

    observations = joined(data.observations, OBSERVATION_COLUMNS)
    observations = observations.sort_values(["province", "indicator_id", "breakdown", "as_of"], kind="stable")
    targets = joined(data.targets, TARGET_COLUMNS).drop(columns=["count_unit"], errors="ignore")
    return Dataset(
        data=data,
        observations=observations.reset_index(drop=True),
        targets=targets.reset_index(drop=True),
        indicators=indicators,
        provinces=provinces.reset_index(drop=True),
        pillars=pillars.reset_index(drop=True),
        sources=data.sources.reset_index(drop=True),
    )


def load(data_dir: str | Path | None = None) -> Dataset:
    """The validated tables of `data_dir` (default: the project's `data/`), joined for reading.
    Raises `DataValidationError` listing every broken rule, like the build."""
    return tidy(load_data(data_dir))


def figures(province=None, indicator=None, since=None, until=None, breakdown=None, pillar=None,
            data_dir: str | Path | None = None) -> pd.DataFrame:
    """`load(data_dir).figures(...)`: observations filtered by province, indicator and dates."""
    return load(data_dir).figures(province, indicator, since, until, breakdown, pillar)
