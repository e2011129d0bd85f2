"""The spine: data → validate → execute → render → publish, skipping what has not changed.

`build()` first computes keys from code, parameters and data bytes with nothing but hashlib
(`cache`), so a rebuild with nothing changed returns before pandas is even imported. Otherwise
it validates the data, runs the chapters that are not cached on warm kernels (`execute`),
renders (`render`) into a temporary folder and swaps it in (`publish`).
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from . import cache, periods
from .errors import PeriodError, ProvinceError
from .files import data_files, known_provinces
from .paths import FORMATS, OUTPUT_NAME, ProjectPaths, project

MANIFEST = "build.json"


@dataclass
class BuildResult:
    province: str
    period: str
    out_dir: Path
    engine: str
    files: list[Path] = field(default_factory=list)
    skipped: bool = False
    executed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # seconds spent in validate, execute, render
    remarks: list[str] = field(default_factory=list)  # why the report is a draft (file:line), font fallback
    draft: bool = False


def _default_period(folder: Path, province: str) -> periods.Period:
    path = folder / "observations.csv"
    dates = []
    if path.exists():
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                if row.get("province") == province:
                    try:
                        dates.append(date.fromisoformat(row["as_of"]))
                    except (KeyError, ValueError):
                        continue  # the validator reports it
    if not dates:
        raise PeriodError(f"Tỉnh {province!r} chưa có số liệu nào; hãy chỉ rõ --period.")
    return periods.latest_with_data(dates)


def _data_dir_param(paths: ProjectPaths, folder: Path) -> str:
    """The data directory as the notebooks receive it: relative to the project when possible,
    so no absolute path of this machine lands in an executed notebook."""
    try:
        return str(folder.resolve().relative_to(paths.root))
    except ValueError:
        return str(folder.resolve())


def _engine(engine: str) -> str:
    if engine not in ("auto", "quarto", "pandoc"):
        raise ValueError(engine)
    if engine == "auto":
        return "quarto" if shutil.which("quarto") else "pandoc"
    return engine


def notebooks(paths: ProjectPaths) -> list[Path]:
    """Chapter notebooks in file-name order."""
    return sorted(p for p in paths.notebooks_dir.glob("*.ipynb") if not p.name.startswith("."))


def _read_manifest(out_dir: Path) -> dict:
    try:
        return json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def build(province: str = "nghe-an", period: str | None = None, formats: tuple[str, ...] = FORMATS,
          engine: str = "auto", data_dir: str | Path | None = None, workers: int = 2, force: bool = False,
          progress: bool = True, root: str | Path | None = None) -> BuildResult:
    started = time.perf_counter()
    paths = project(root)
    folder = Path(data_dir).resolve() if data_dir else paths.data_dir
    provinces = known_provinces(folder)
    if province not in provinces:
        raise ProvinceError(f"Tỉnh {province!r} không hợp lệ. Các tỉnh hợp lệ: {', '.join(provinces) or '(chưa có)'}.")
    chosen = periods.parse(period) if period else _default_period(folder, province)
    formats = tuple(dict.fromkeys(formats))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"định dạng không hợp lệ: {', '.join(unknown)}")
    engine_used = _engine(engine)

    chapter_paths = notebooks(paths)
    code = cache.code_hash(paths)
    data = cache.data_hash(data_files(folder))
    params = {"province": province, "period": chosen.code, "data_dir": _data_dir_param(paths, folder)}
    keys = {nb.name: cache.key("chapter", cache.notebook_hash(nb), province, chosen.code, code, data)
            for nb in chapter_paths}
    from .official import inputs_hash

    render_key = cache.key("render", keys, formats, engine_used, code, data,
                           inputs_hash(folder, province, chosen.code))
    out_dir = paths.report_dir(province, chosen.code)
    result = BuildResult(province, chosen.code, out_dir, engine_used)  # engine: "quarto" | "pandoc"

    manifest = _read_manifest(out_dir)
    expected = [out_dir / f"{OUTPUT_NAME}.{f}" for f in formats]
    if not force and manifest.get("render_key") == render_key and all(p.exists() for p in expected):
        result.skipped, result.files = True, expected
        result.remarks, result.draft = manifest.get("remarks", []), manifest.get("draft", False)
        result.seconds = time.perf_counter() - started
        return result

    from .publish import report_lock, staging, swap_in

    with report_lock(out_dir), staging(out_dir) as tmp:
        _run(paths, folder, chosen, params, chapter_paths, keys, formats, workers, progress, tmp, result)
        manifest = {
            "province": province, "period": chosen.code, "engine": result.engine, "formats": list(formats),
            "render_key": render_key, "chapters": keys, "data_hash": data, "code_hash": code,
            "remarks": result.remarks, "draft": result.draft,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        swap_in(tmp, out_dir)
    result.files = [out_dir / p.name for p in result.files]
    result.seconds = time.perf_counter() - started
    return result


def _run(paths, folder, chosen, params, chapter_paths, keys, formats, workers, progress, tmp, result):
    """Execute what is not cached and render, overlapping the stages where they are independent:
    kernels boot while the data is validated, and each chapter is prepared (and, for pandoc,
    converted to Markdown) as soon as it has run, while the others still run."""
    from concurrent.futures import ThreadPoolExecutor

    # nbformat validates through jsonschema, whose format checkers import rfc3987_syntax when it is
    # installed (JupyterLab pulls it in); that import builds a Lark grammar, about a second, for an
    # IRI check nbformat never makes. This process is ours: leave it out.
    sys.modules.setdefault("rfc3987_syntax", None)
    from . import execute
    from .errors import RenderError

    chapter_cache = paths.cache_dir / "chapters"
    chapter_cache.mkdir(parents=True, exist_ok=True)
    nb_dir, work = tmp / "notebooks", tmp / "render"
    nb_dir.mkdir()
    jobs = []
    for nb in chapter_paths:
        cached = chapter_cache / f"{keys[nb.name]}.ipynb"
        if cached.exists():
            shutil.copyfile(cached, nb_dir / nb.name)
            result.cached.append(nb.name)
        else:
            jobs.append(execute.Job(nb.stem, _chapter_title(nb), nb, nb_dir / nb.name, params))
    if result.engine == "quarto" and not shutil.which("quarto"):
        raise RenderError("Không tìm thấy quarto trên PATH; dùng --engine pandoc hoặc --engine auto.")
    validated = cache.data_hash(data_files(folder))
    log_path = tmp / "kernel.log"
    clock = time.perf_counter()
    pool = execute.KernelPool(paths.root, paths.cache_dir / "kernel-start.lock", log_path,
                              min(workers, len(jobs)), validated) if jobs else None
    closed = False
    with ThreadPoolExecutor(max_workers=2) as renderer:
        try:
            from . import render  # nbconvert and friends load while the kernels boot
            from .data import load

            data = load(folder)  # refuses invalid data; the kernels boot meanwhile
            result.phases["validate"] = time.perf_counter() - clock
            meta = title_meta(data, params["province"], chosen)
            from . import official

            names = [nb.name for nb in chapter_paths]
            futures = {}

            def finished(name: str) -> Path:
                executed = nb_dir / name
                if name in result.cached:
                    prepared = render.prepare(executed, work / name)
                else:
                    strip_papermill(executed)
                    shutil.copyfile(executed, chapter_cache / f"{keys[name]}.ipynb")
                    prepared = render.prepare(executed, work / name)
                if result.engine != "pandoc":
                    return prepared
                md = official.place_chapter(render.chapter_markdown(prepared, work), meta.official,
                                            official.chapter_number(names, name))
                if "pdf" in formats:
                    render.chapter_typst(md, work)
                return md

            for name in result.cached:
                futures[name] = renderer.submit(finished, name)
            if pool is not None:
                pool.run(jobs, progress, on_done=lambda job: futures.__setitem__(
                    job.output.name, renderer.submit(finished, job.output.name)))
            result.executed = [job.output.name for job in jobs]
            result.phases["execute"] = time.perf_counter() - clock
            parts = [futures[nb.name].result() for nb in chapter_paths]
            if pool is not None:
                pool.close(wait=False)  # kernels exit while the report renders
                closed = True
        finally:
            if pool is not None and not closed:
                pool.close()
    clock = time.perf_counter()
    if meta.official is not None:
        result.draft = meta.official.draft
        result.remarks = official.remark_lines(meta.official, paths.root)
    if result.engine == "pandoc":
        result.files = render.render_pandoc(parts, work, meta, formats, tmp)
    else:
        result.files = render.render_quarto(parts, work, meta, formats, tmp, paths.quarto_yml)
    result.phases["render"] = time.perf_counter() - clock
    if pool is not None:
        pool.join()
    shutil.rmtree(work, ignore_errors=True)
    log_path.unlink(missing_ok=True)


def _chapter_title(nb: Path) -> str:
    """The first level-1 heading of a notebook, for the progress bar."""
    try:
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            for line in source.splitlines():
                if cell["cell_type"] == "markdown" and line.startswith("# "):
                    return line[2:].strip()
    except (OSError, ValueError, KeyError):
        pass
    return nb.stem


def strip_papermill(path: Path) -> None:
    """Remove what Papermill records about this machine (paths, environment, timings) and the
    namespace-reset cell the warm kernel ran first."""
    import nbformat

    from .render import StripMachinePreprocessor

    from .execute import RESET_TAG

    nb = nbformat.read(str(path), as_version=4)
    nb.cells = [c for c in nb.cells if RESET_TAG not in c.get("metadata", {}).get("tags", [])]
    nb, _ = StripMachinePreprocessor(enabled=True).preprocess(nb, {})
    nbformat.write(nb, str(path))


def title_meta(data, province: str, chosen: periods.Period):
    from . import fmt, official
    from .render import Meta

    name = data.province_name(province)
    doc = official.document(data, province, chosen, data.folder)  # issuer as of the period's end
    issuer = doc.issuer_full
    return Meta(
        title="BÁO CÁO",
        subtitle=f"Kết quả chuyển đổi số tỉnh {name} {chosen.label_vi}",
        issuer=issuer,
        cutoff=f"Số liệu tính đến ngày {fmt.day(chosen.end)}",
        date=f"{name}, {chosen.label_vi}",
        sources_markdown=sources_markdown(data, province, chosen),
        official=doc,
    )


def sources_markdown(data, province: str, chosen: periods.Period) -> str:
    """The closing list: every source cited by the rows this report can use."""
    import pandas as pd

    from .validate import SEED_RE

    end = pd.Timestamp(chosen.end)
    obs = data.observations
    cited = list(obs.loc[(obs["province"] == province) & (obs["as_of"] <= end), "source"])
    cited += list(data.targets.loc[data.targets["province"] == province, "source"])
    cited += list(data.tasks.loc[data.tasks["province"] == province, "source"])
    locations = set()
    for text in cited:
        for part in text.split("|"):
            part = part.strip()
            seed = SEED_RE.search(part)
            locations.add(seed.group(0) if seed else part)
    sources = data.sources[data.sources["location"].isin(locations)]
    lines = ["# Nguồn số liệu {.unnumbered}", ""]
    from . import fmt

    for _, row in sources.sort_values(["kind", "issued"], na_position="last").iterrows():
        when = f", {fmt.day(row['issued'].date())}" if not pd.isna(row["issued"]) else ""
        issuer = f", {row['issuer']}" if row["issuer"] else ""
        link = f" <{row['location']}>" if str(row["location"]).startswith("http") else ""  # never a file name
        lines.append(f"1. {row['title_vi']}{issuer}{when}.{link}")
    if len(lines) == 2:
        lines.append("Không có nguồn nào được trích dẫn trong kỳ báo cáo.")
    return "\n".join(lines)
