"""Validation of `data/`: pandera schemas per table, then cross-table rules.

Everything runs lazily and returns every broken rule at once as `DataIssue`s naming file, line,
column, rule and value, in Vietnamese. Cells are validated as text, before any conversion, so a
malformed number such as "3,4" is reported instead of silently becoming NaN.

Beyond each table's own schema: references between tables, every source citation naming an
entry of sources.csv, province and unit codes as slugs (they become paths), no negative counts,
no date before 1990 and no date of a past event after today (`today` is injectable).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from . import schema
from .errors import DataIssue

NUMBER_RE = r"-?\d+(\.\d+)?"
SEED_RE = schema.SEED_RE

# Rule names shown to the user (the "[...]" part of a message).
R_REQUIRED = "thiếu giá trị bắt buộc"
R_NUMBER = "số không hợp lệ"
R_DATE = "ngày không hợp lệ"
R_BOOL = "giá trị đúng/sai không hợp lệ"
R_CHOICE = "giá trị ngoài danh mục"
R_DUPLICATE = "trùng khóa"
R_UNKNOWN_INDICATOR = "chỉ tiêu không xác định"
R_UNKNOWN_PROVINCE = "tỉnh không xác định"
R_UNKNOWN_PILLAR = "trụ cột không xác định"
R_UNKNOWN_TARGET = "mục tiêu không xác định"
R_UNKNOWN_SOURCE = "nguồn không xác định"
R_UNIT = "đơn vị không khớp chỉ tiêu"
R_PERCENT = "tỷ lệ ngoài 0–100"
R_NUM_DEN = "tử số lớn hơn mẫu số"
R_RATE = "tỷ lệ không khớp tử số/mẫu số"
R_NUMERATOR = "tử số khác giá trị"
R_EMPTY = "thiếu số liệu"
R_DATES = "khoảng thời gian ngược"
R_RULE = "quy tắc mục tiêu không đầy đủ"
R_NEGATIVE = "số âm"
R_FUTURE = "ngày trong tương lai"
R_TOO_OLD = "ngày quá cũ"
R_SLUG = "mã không hợp lệ"

EARLIEST = date(1990, 1, 1)
# Dates that record something already done or published: none may lie after today.
# (Target dates, deadlines and validity ends look ahead and are only checked against 1990.)
PAST_DATES = {
    "sources": ("issued",), "units": ("valid_from",), "observations": ("as_of", "since"),
    "assessments": ("as_of",), "tasks": ("status_as_of",), "budget": ("as_of",), "documents": ("issued",),
}
# Columns holding a province or unit code: used in output paths, so they must be slugs.
SLUG_COLUMNS = {
    "units": ("unit_id", "province"), "observations": ("province",), "targets": ("province",),
    "tasks": ("province",), "budget": ("province",), "documents": ("province",), "platforms": ("province",),
}
SOURCE_SEPARATOR = " | "

MESSAGES = {
    R_REQUIRED: "ô này không được để trống",
    R_NUMBER: "cần một số, dùng dấu chấm thập phân và không phân cách hàng nghìn (ví dụ 3348092 hoặc 72.05)",
    R_DATE: "cần một ngày có thật theo dạng YYYY-MM-DD (ví dụ 2023-08-30)",
    R_BOOL: "cần true hoặc false",
    R_CHOICE: "giá trị không thuộc danh sách cho phép",
    R_DUPLICATE: "dòng này trùng khóa với một dòng khác",
}


def _is_number(s: pd.Series) -> pd.Series:
    return s.eq("") | s.str.fullmatch(NUMBER_RE)


def _is_date(s: pd.Series) -> pd.Series:
    parsed = pd.to_datetime(s.where(s.ne(""), None), format="%Y-%m-%d", errors="coerce")
    return s.eq("") | (parsed.notna() & s.str.fullmatch(r"\d{4}-\d{2}-\d{2}"))


def _is_bool(s: pd.Series) -> pd.Series:
    return s.eq("") | s.str.lower().isin(["true", "false"])


def build_schema(table: schema.Table) -> pa.DataFrameSchema:
    columns = {}
    for col in table.columns:
        checks = []
        if col.required:
            checks.append(pa.Check(lambda s: s.ne(""), error=R_REQUIRED))
        if col.kind == "number":
            checks.append(pa.Check(_is_number, error=R_NUMBER))
        elif col.kind == "date":
            checks.append(pa.Check(_is_date, error=R_DATE))
        elif col.kind == "bool":
            checks.append(pa.Check(_is_bool, error=R_BOOL))
        if col.choices:
            allowed = set(col.choices)
            checks.append(pa.Check(lambda s, allowed=allowed: s.eq("") | s.isin(allowed), error=R_CHOICE))
        columns[col.name] = pa.Column(str, checks=checks, nullable=False, coerce=False)
    return pa.DataFrameSchema(columns, unique=list(table.key) or None, report_duplicates="all", name=table.file)


_SCHEMA_CACHE: dict[tuple[str, str], list[DataIssue]] = {}
_CACHED_CELLS = 50_000


def _fingerprint(frame: pd.DataFrame) -> str:
    """The exact cells, column names and line numbers of a text frame."""
    h = hashlib.sha256()
    h.update(json.dumps([list(map(str, frame.columns)), [int(i) for i in frame.index]]).encode())
    for column in frame.columns:
        h.update(b"\x1e" + "\x1f".join(frame[column].astype(str)).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _schema_issues(table: schema.Table, frame: pd.DataFrame) -> list[DataIssue]:
    """pandera's verdict on one table, remembered for identical cells (pandera is the slow part:
    an ingest or a second validation re-checks eleven unchanged tables)."""
    if frame.size > _CACHED_CELLS:  # hashing a large table costs about what checking it does
        return _run_schema(table, frame)
    key = (table.name, _fingerprint(frame))
    if key not in _SCHEMA_CACHE:
        if len(_SCHEMA_CACHE) >= 64:
            _SCHEMA_CACHE.pop(next(iter(_SCHEMA_CACHE)))
        _SCHEMA_CACHE[key] = _run_schema(table, frame)
    return list(_SCHEMA_CACHE[key])


def _run_schema(table: schema.Table, frame: pd.DataFrame) -> list[DataIssue]:
    try:
        build_schema(table).validate(frame, lazy=True)
        return []
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    issues = []
    for case in cases.itertuples(index=False):
        line = None if pd.isna(case.index) else int(case.index)
        if case.check == "field_uniqueness" or "unique" in str(case.check):
            key = ", ".join(table.key)
            issues.append(DataIssue(table.file, line, str(case.column), R_DUPLICATE, str(case.failure_case),
                                    f"trùng khóa ({key}) với một dòng khác"))
            continue
        rule = str(case.check)
        issues.append(DataIssue(table.file, line, str(case.column), rule, str(case.failure_case),
                                MESSAGES.get(rule, rule)))
    # One issue per (line, column, rule): pandera reports uniqueness once per key column.
    seen, unique = set(), []
    for issue in issues:
        ident = (issue.line, issue.column if issue.rule != R_DUPLICATE else None, issue.rule)
        if ident not in seen:
            seen.add(ident)
            unique.append(issue)
    return unique


class _Rules:
    """Cross-table rules; each method adds issues for the rows its mask selects."""

    def __init__(self, frames: dict[str, pd.DataFrame], today: date | None = None):
        self.f = frames
        self.today = today or date.today()
        self.issues: list[DataIssue] = []
        units = frames["units"]
        self.provinces = set(units.loc[units["kind"] == "tỉnh", "unit_id"])
        self.indicators = frames["indicators"].drop_duplicates("indicator_id").set_index("indicator_id")
        self.pillars = set(frames["pillars"]["pillar"])
        self.source_locations = set(frames["sources"]["location"])
        self.source_names = sorted((self.source_locations | set(frames["sources"]["source_id"])) - {""},
                                   key=len, reverse=True)

    def flag(self, table: str, mask: pd.Series, column: str, rule: str, message, value_col: str | None = None):
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        frame = self.f[table]
        for line, row in frame[mask].iterrows():
            text = message(row) if callable(message) else message
            value = row[value_col or column] if (value_col or column) in row else None
            self.issues.append(DataIssue(f"{table}.csv", int(line), column, rule, value, text))

    @staticmethod
    def num(frame: pd.DataFrame, column: str) -> pd.Series:
        return pd.to_numeric(frame[column].where(frame[column].ne(""), None), errors="coerce")

    def references(self):
        for table in ("units", "observations", "targets", "tasks", "budget", "documents", "platforms"):
            frame = self.f[table]
            if frame.empty:
                continue
            bad = frame["province"].ne("") & ~frame["province"].isin(self.provinces)
            valid = ", ".join(sorted(self.provinces)) or "(chưa có tỉnh nào trong units.csv)"
            self.flag(table, bad, "province", R_UNKNOWN_PROVINCE,
                      f"tỉnh không có trong units.csv (các tỉnh hợp lệ: {valid})")
        for table in ("observations", "targets"):
            frame = self.f[table]
            bad = frame["indicator_id"].ne("") & ~frame["indicator_id"].isin(self.indicators.index)
            self.flag(table, bad, "indicator_id", R_UNKNOWN_INDICATOR, "mã chỉ tiêu không có trong indicators.csv")
        ind = self.f["indicators"]
        self.flag("indicators", ind["pillar"].ne("") & ~ind["pillar"].isin(self.pillars), "pillar",
                  R_UNKNOWN_PILLAR, "trụ cột không có trong pillars.csv")
        ass = self.f["assessments"]
        self.flag("assessments", ass["target_id"].ne("") & ~ass["target_id"].isin(set(self.f["targets"]["target_id"])),
                  "target_id", R_UNKNOWN_TARGET, "mã mục tiêu không có trong targets.csv")
        for table in ("observations", "targets", "tasks", "budget", "assessments", "documents", "platforms", "units"):
            frame = self.f[table]
            if frame.empty:
                continue
            unknown = frame["source"].map(self.unknown_sources)
            self.flag(table, unknown.map(bool), "source", R_UNKNOWN_SOURCE,
                      lambda row: "nguồn không có trong sources.csv: " + "; ".join(self.unknown_sources(row["source"]))
                      + " (mỗi nguồn, phân cách bằng ' | ', phải bắt đầu bằng location hoặc source_id của một "
                        "dòng sources.csv, có thể kèm ': mục')")

    def unknown_sources(self, cell: str) -> list[str]:
        """The parts of a source cell that name no entry of sources.csv.

        A cell cites one or more sources separated by ' | '; each starts with an entry's
        `location` (a seed file name or a page address) or `source_id`, optionally followed by
        ': section' or ' (detail)'. Seed file names mentioned anywhere must be listed too.
        """
        if not cell:
            return []
        bad = []
        for part in (p.strip() for p in cell.split(SOURCE_SEPARATOR.strip())):
            if not part:
                continue
            if not any(part == name or part.startswith((name + ":", name + " ")) for name in self.source_names):
                bad.append(part)
        bad += [seed for seed in sorted(set(SEED_RE.findall(cell)) - self.source_locations) if seed not in bad]
        return bad

    def codes(self):
        for table, columns in SLUG_COLUMNS.items():
            frame = self.f[table]
            for column in columns:
                bad = frame[column].ne("") & ~frame[column].str.fullmatch(schema.SLUG_RE.pattern)
                self.flag(table, bad, column, R_SLUG,
                          "mã tỉnh, đơn vị chỉ gồm chữ thường không dấu, chữ số và dấu gạch nối (ví dụ nghe-an)")

    def dates(self):
        for table in schema.ALL:
            frame = self.f[table.name]
            if frame.empty:
                continue
            for col in table.columns:
                if col.kind != "date":
                    continue
                day = pd.to_datetime(frame[col.name].where(frame[col.name].ne(""), None), errors="coerce",
                                     format="%Y-%m-%d")
                self.flag(table.name, day < pd.Timestamp(EARLIEST), col.name, R_TOO_OLD,
                          f"ngày trước {EARLIEST.year}; kiểm tra lại năm")
                if col.name in PAST_DATES.get(table.name, ()):
                    self.flag(table.name, day > pd.Timestamp(self.today), col.name, R_FUTURE,
                              f"ngày sau hôm nay ({self.today.day}/{self.today.month}/{self.today.year}); "
                              "số liệu, văn bản chỉ có thể ghi ngày đã qua")

    def negatives(self):
        obs = self.f["observations"]
        if not obs.empty:
            counted = ~obs["unit"].isin([schema.PERCENT, *schema.SIGNED_UNITS])
            self.flag("observations", counted & (self.num(obs, "value") < 0), "value", R_NEGATIVE,
                      lambda row: f"số đếm ({row['unit']}) không thể âm")
            for column in ("numerator", "denominator"):
                self.flag("observations", self.num(obs, column) < 0, column, R_NEGATIVE,
                          "tử số, mẫu số là số đếm, không thể âm")
        budget = self.f["budget"]
        if not budget.empty:
            self.flag("budget", self.num(budget, "amount") < 0, "amount", R_NEGATIVE, "số tiền không thể âm")

    def observations(self):
        obs = self.f["observations"]
        if obs.empty:
            return
        value, num, den = self.num(obs, "value"), self.num(obs, "numerator"), self.num(obs, "denominator")
        unit = obs["indicator_id"].map(self.indicators["unit"])
        known = unit.notna()
        self.flag("observations", known & obs["unit"].ne(unit), "unit", R_UNIT,
                  lambda row: f"chỉ tiêu {row['indicator_id']} có đơn vị {self.indicators.at[row['indicator_id'], 'unit']!r}")
        pct = obs["unit"].eq(schema.PERCENT)
        self.flag("observations", pct & ((value < 0) | (value > 100)), "value", R_PERCENT,
                  "tỷ lệ phần trăm phải nằm trong khoảng 0–100")
        self.flag("observations", (num > den), "numerator", R_NUM_DEN,
                  lambda row: f"tử số {row['numerator']} lớn hơn mẫu số {row['denominator']}")
        decimals = obs["value"].str.extract(r"\.(\d+)$")[0].str.len().fillna(0)
        tolerance = 0.5 * 10.0 ** (-decimals) + 1e-9
        computed = 100 * num / den
        mismatch = pct & value.notna() & computed.notna() & ((value - computed).abs() > tolerance) & obs["note"].eq("")
        self.flag("observations", mismatch, "value", R_RATE,
                  lambda row: (f"tỷ lệ in {row['value']}% khác {row['numerator']}/{row['denominator']} = "
                               f"{100 * float(row['numerator']) / float(row['denominator']):.2f}%; "
                               "sửa số hoặc ghi rõ lý do ở cột note"))
        self.flag("observations", ~pct & num.notna() & value.notna() & (num != value), "numerator", R_NUMERATOR,
                  "với chỉ tiêu không phải %, tử số phải bằng value")
        empty = value.isna() & obs["status"].eq("") & ~(num.notna() & den.notna())
        self.flag("observations", empty, "value", R_EMPTY, "cần value, status, hoặc cả tử số và mẫu số")
        since = pd.to_datetime(obs["since"].where(obs["since"].ne(""), None), errors="coerce", format="%Y-%m-%d")
        as_of = pd.to_datetime(obs["as_of"].where(obs["as_of"].ne(""), None), errors="coerce", format="%Y-%m-%d")
        self.flag("observations", since > as_of, "since", R_DATES, "ngày bắt đầu (since) sau ngày tính đến (as_of)")

    def targets(self):
        tg = self.f["targets"]
        if tg.empty:
            return
        value, value_max = self.num(tg, "value"), self.num(tg, "value_max")
        rule = tg["rule"]
        numeric_rule = rule.isin([">=", ">", "=", "<="])
        self.flag("targets", numeric_rule & value.isna(), "value", R_RULE, "quy tắc so sánh cần value")
        self.flag("targets", rule.eq("range") & (value.isna() | value_max.isna()), "value_max", R_RULE,
                  "quy tắc range cần cả value và value_max")
        self.flag("targets", rule.eq("range") & (value > value_max), "value_max", R_RULE, "value lớn hơn value_max")
        self.flag("targets", rule.ne("range") & value_max.notna(), "value_max", R_RULE, "value_max chỉ dùng với range")
        self.flag("targets", rule.eq("status") & tg["status"].eq(""), "status", R_RULE, "quy tắc status cần cột status")
        pct = tg["unit"].eq(schema.PERCENT)
        self.flag("targets", pct & ((value < 0) | (value > 100) | (value_max > 100)), "value", R_PERCENT,
                  "tỷ lệ phần trăm phải nằm trong khoảng 0–100")

    def tasks(self):
        tasks = self.f["tasks"]
        self.flag("tasks", tasks["status"].ne("") & tasks["status_as_of"].eq(""), "status_as_of", R_REQUIRED,
                  "có status thì phải có status_as_of")


def check_frames(frames: dict[str, pd.DataFrame], today: date | None = None) -> list[DataIssue]:
    """Every broken rule in the tables; `today` (default: the real date) bounds recorded dates."""
    issues: list[DataIssue] = []
    for table in schema.ALL:
        issues += _schema_issues(table, frames[table.name])
    rules = _Rules(frames, today)
    rules.references()
    rules.codes()
    rules.dates()
    rules.negatives()
    rules.observations()
    rules.targets()
    rules.tasks()
    return issues + rules.issues


def validate_dir(data_dir: str | Path | None = None, today: date | None = None) -> list[DataIssue]:
    """Every issue in a data directory (empty list when valid)."""
    from .data import read_raw

    frames, issues = read_raw(data_dir)
    return issues + check_frames(frames, today)
