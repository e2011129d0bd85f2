"""The spine: data → validate → execute → render → publish, skipping what has not changed.

`build()` first computes keys from code, parameters and data bytes with nothing but hashlib
(`cache`), so a rebuild with nothing changed returns before pandas is even imported. Otherwise
it validates the data, runs the chapters that are not cached on warm kernels (`execute`),
renders (`render`) into a staging folder and swaps it in (`publish`).

What is published and what is kept aside:

- `outputs/<tỉnh>/<kỳ>/` holds only what a reader gets: `bao-cao.{html,pdf,docx}` (and, with
  Quarto, `bao-cao-html/`), folders 0755 and files 0644;
- `outputs/.cache/reports/<tỉnh>/<kỳ>/` holds the manifest (`build.json`: the key of every
  format, and the size and time of every published file), the executed chapters of the last
  build and the kernels' log; `outputs/.cache/locks/` the report locks; `outputs/.cache/chapters/`
  the chapter cache (each entry checked against its SHA-256 when read);
  `outputs/.cache/failed/<tỉnh>/<kỳ>/` a failing chapter's executed notebook and traceback.

A build of some formats (`--format html`) keeps the report's other formats as they are: they are
carried into the new folder unchanged and the manifest keeps their own keys, so `build` says when
one of them no longer matches the data (`BuildResult.kept`) and a later build of that format
brings it up to date. Nothing the build did not make is deleted.
"""

from __future__ import annotations

import errno
import re
import json
import os
import shutil
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from . import cache, periods
from .errors import DataDirError, OutputError, PeriodError, ProvinceError, UsageError
from .files import data_files, known_provinces
from .paths import FORMATS, OUTPUT_NAME, ProjectPaths, confined, project

MANIFEST = "build.json"
MANIFEST_VERSION = 2
WORK = ".work"  # inside staging, removed before the swap
PROGRESS_MODES = ("auto", "bars", "lines", "none")
RENDERS = 2  # periods of a batch rendering at once (see Batch)
RENDER_NICE = 5  # a batch's renders yield the cores to the kernels running the next period

SAFE_URL = re.compile(r"https?://[^\s<>\"'`\\]+")  # a source address printed as a link


class Batch:
    """The warm work many builds in one process share (`dxreport site`): one pool of kernels,
    started once and fed every period's chapters; the data loaded once (`data.load` keeps it per
    process, each kernel per kernel). Periods execute one at a time, since the pool already uses
    the machine's cores, while the period before renders in another thread.

    Use as a context manager; `abort()` kills the kernels at once (Ctrl-C, a failed period)."""

    def __init__(self, paths: ProjectPaths, workers: int = 2, periods: int | None = None):
        import threading

        self.paths, self.workers = paths, workers
        self.remaining = periods  # executions still to come; at 0 the kernels go (memory for the renders)
        # one period hands its chapters to the pool at a time (released once all are taken)
        self.executing = threading.Lock()
        self.durations: dict[str, float] = {}  # each chapter's last run, to start the longest first
        # Two periods render at once, each running its writers (pandoc HTML, DOCX, typst) one after
        # another: a render alone leaves a core idle whenever one writer waits for another, and the
        # kernels are often done with the next period before the render is; two writers at a time
        # in all keeps memory where one render with two writers had it.
        self.rendering = threading.Semaphore(RENDERS)
        self._guard = threading.Lock()
        self._writers: list = []  # warm pandoc processes not writing a report now (`writer()`)
        self._all_writers: list = []
        self._closed = False
        self._pool = None
        self._validated = None
        self._closing = None  # the pool shutting down after the last period ran
        self.log_path = paths.cache_dir / "batch" / "kernel.log"

    def pool(self, validated: str):
        """The pool, started on first use; kernels told of other data are replaced."""
        from . import execute

        with self._guard:
            if self._pool is not None and self._validated != validated:
                self._pool.close()
                self._pool = None
            if self._pool is None:
                self.log_path.parent.mkdir(parents=True, exist_ok=True)
                self.log_path.write_bytes(b"")
                self._pool = execute.KernelPool(self.paths.root, self.paths.cache_dir / "kernel-start.lock",
                                                self.log_path, self.workers, validated)
                self._validated = validated
            return self._pool

    def executed(self) -> None:
        """One more build has run its chapters; after the last one the kernels shut down while
        the last reports still render."""
        with self._guard:
            if self.remaining is None:
                return
            self.remaining -= 1
            pool = self._pool if self.remaining <= 0 else None
            if pool is not None:
                self._pool = None
        if pool is not None:
            pool.close(wait=False)
            self._closing = pool

    @contextmanager
    def writer(self):
        """A warm pandoc (`render.PandocServer`) for one report's render: the batch keeps one per
        render slot, and each reads what the reports before it read only once."""
        from .render import PandocServer

        with self._guard:
            server = self._writers.pop() if self._writers else None
            if server is None:
                server = PandocServer()
                self._all_writers.append(server)
        try:
            yield server
        except BaseException:
            server.close(kill=True)  # stopped in the middle of a report: the next one starts afresh
            raise
        with self._guard:
            if not self._closed:
                self._writers.append(server)
                return
        server.close()

    def warm_writers(self) -> None:
        """Start the render slots' pandoc processes now, at the renders' priority: they warm up
        while the kernels start, when the cores have little else to do."""
        import threading

        from .render import PandocServer, _lower_priority

        def start() -> None:
            _lower_priority(RENDER_NICE)  # this short thread's: the processes inherit it
            for _ in range(RENDERS):
                server = PandocServer()
                server.start(warm=True)
                with self._guard:
                    self._writers.append(server)
                    self._all_writers.append(server)

        starter = threading.Thread(target=start, name="dxreport-writers")
        starter.start()
        starter.join()

    def _end_writers(self, kill: bool) -> None:
        with self._guard:
            self._closed = True
            servers, self._writers, self._all_writers = self._all_writers, [], []
        for server in servers:
            server.close(kill=kill)

    def abort(self) -> None:
        with self._guard:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.abort()
        self._end_writers(kill=True)

    def close(self) -> None:
        with self._guard:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
        self._end_writers(kill=False)
        if self._closing is not None:
            self._closing.join()

    def __enter__(self) -> "Batch":
        return self

    def __exit__(self, kind, *_exc) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


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
    kept: dict[str, bool] = field(default_factory=dict)  # formats not built this time: up to date?
    warnings: list[str] = field(default_factory=list)  # Vietnamese, printed by the CLI
    remarks: list[str] = field(default_factory=list)  # why the report is a draft (file:line), font fallback
    draft: bool = False


def _series_dates(folder: Path, province: str) -> list[tuple[tuple, date]]:
    """(indicator, breakdown) and as_of of each figure of a province, read without pandas
    (BOM tolerated, NFC; an unreadable file raises the validator's message)."""
    from . import schema
    from .files import table_rows

    if not (folder / schema.OBSERVATIONS.file).exists():
        return []
    rows = []
    for row in table_rows(folder, schema.OBSERVATIONS):
        if row.get("province") == province:
            try:
                rows.append(((row["indicator_id"], row.get("breakdown", "")), date.fromisoformat(row["as_of"])))
            except (KeyError, ValueError):
                continue  # the validator reports it
    return rows


def _default_period(folder: Path, province: str) -> periods.Period:
    """The latest ended quarter whose report is mostly current (`periods.mostly_current_default`)."""
    rows = _series_dates(folder, province)
    if not rows:
        raise PeriodError(f"Tỉnh {province!r} chưa có số liệu nào; hãy chỉ rõ --period.")
    return periods.mostly_current_default(rows)


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
    """Chapter notebooks (`NN-*.ipynb`) in file-name order; other notebooks are for exploring."""
    return sorted(paths.notebooks_dir.glob("[0-9][0-9]-*.ipynb"))


def _read_manifest(path: Path) -> dict:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) and manifest.get("version") == MANIFEST_VERSION else {}


def format_names(fmt: str) -> tuple[str, ...]:
    """The entries of a report folder that belong to one format."""
    return (f"{OUTPUT_NAME}.html", f"{OUTPUT_NAME}-html") if fmt == "html" else (f"{OUTPUT_NAME}.{fmt}",)


# What older versions put in the report folder and now lives under outputs/.cache: never carried over.
_INTERNAL = {"notebooks", MANIFEST, "kernel.log", "render", WORK}


def _stat_files(out_dir: Path, fmt: str) -> dict:
    files = {}
    for name in format_names(fmt):
        path = out_dir / name
        if path.is_dir():
            files[name] = ["dir", 0]
        elif path.is_file():
            st = path.stat()
            files[name] = [st.st_size, st.st_mtime_ns]
    return files


def _format_current(manifest: dict, out_dir: Path, fmt: str, key: str) -> bool:
    """True when the published files of `fmt` were built from `key` and are still those files."""
    entry = manifest.get("formats", {}).get(fmt)
    if not isinstance(entry, dict) or entry.get("key") != key or not entry.get("files"):
        return False
    for name, (size, mtime) in entry["files"].items():
        path = out_dir / name
        try:
            if size == "dir":
                if not path.is_dir():
                    return False
                continue
            st = path.stat()
        except OSError:
            return False
        if st.st_size != size or st.st_mtime_ns != mtime:
            return False
    return True


def _check_data_dir(folder: Path, given) -> None:
    shown = given if given else folder
    if not folder.exists():
        raise DataDirError(f"Thư mục dữ liệu {shown} không tồn tại; kiểm tra --data-dir.")
    if not folder.is_dir():
        raise DataDirError(f"--data-dir {shown} là một tệp, không phải thư mục dữ liệu.")
    if not os.access(folder, os.R_OK | os.X_OK):
        raise DataDirError(f"Không đọc được thư mục dữ liệu {shown}: không có quyền đọc.")
    if not (folder / "units.csv").is_file():
        raise DataDirError(f"Thư mục dữ liệu {shown} không có units.csv: đây không phải thư mục dữ liệu "
                           f"của dự án (xem data/README.md).")


_WRITE_ERRORS = {
    errno.EACCES: "không có quyền ghi", errno.EPERM: "không có quyền ghi",
    errno.EROFS: "hệ thống tệp chỉ cho đọc", errno.ENOSPC: "hết dung lượng đĩa",
    getattr(errno, "EDQUOT", -1): "vượt hạn mức dung lượng",
}


def _output_error(exc: OSError, outputs: Path) -> OutputError | None:
    """An OSError on the way to `outputs/` as a Vietnamese `OutputError`, or None if it is not one."""
    name = exc.filename if isinstance(exc.filename, str) else None
    if name is not None:
        try:
            Path(os.path.abspath(name)).relative_to(os.path.abspath(outputs))
        except ValueError:
            return None
    if exc.errno not in _WRITE_ERRORS:
        return None
    where = name or str(outputs)
    return OutputError(f"Không ghi được báo cáo vào {where}: {_WRITE_ERRORS[exc.errno]}. "
                       f"Thư mục đầu ra {outputs} phải ghi được; báo cáo đã có (nếu có) được giữ nguyên.")


def _progress_mode(progress) -> str:
    if progress is True or progress is None:
        progress = "auto"
    elif progress is False:
        progress = "none"
    if progress not in PROGRESS_MODES:
        raise UsageError(f"Chế độ tiến độ {progress!r} không hợp lệ: {', '.join(PROGRESS_MODES)}.")
    if progress == "auto":
        try:
            return "bars" if sys.stderr.isatty() else "lines"
        except (AttributeError, ValueError):
            return "lines"
    return progress


def chapter_keys(chapter_paths: list[Path], province: str, period_code: str, code: str, data: str,
                 cells: dict[Path, str] | None = None) -> dict[str, str]:
    """Each chapter's cache key. A chapter's outputs depend on its code, the parameters, the
    package and the data; its prose changes only what is rendered, so the render key also covers
    each whole notebook. `cells`: the notebooks' `cache.code_cells_hash`, when already known."""
    policy = repr(periods.Policy.from_env())
    return {nb.name: cache.key("chapter", (cells or {}).get(nb) or cache.code_cells_hash(nb), province, period_code,
                               code, data, policy)
            for nb in chapter_paths}


def executes(paths: ProjectPaths, plan: list[tuple[str, str]], data: str) -> bool:
    """Whether building the reports of `plan` ([(province, period code)]) would run a chapter:
    one of them has a chapter whose executed notebook is not in the cache. Hashes only."""
    chapter_paths = notebooks(paths)
    code = cache.code_hash(paths)
    cells = {nb: cache.code_cells_hash(nb) for nb in chapter_paths}
    kept = paths.cache_dir / "chapters"
    return any(not (kept / f"{key}.ipynb").is_file()
               for province, period_code in plan
               for key in chapter_keys(chapter_paths, province, period_code, code, data, cells).values())


def build(province: str = "nghe-an", period: str | None = None, formats: tuple[str, ...] = FORMATS,
          engine: str = "auto", data_dir: str | Path | None = None, workers: int = 2, force: bool = False,
          progress: bool | str = True, root: str | Path | None = None, batch: Batch | None = None) -> BuildResult:
    """Build one report; in a `Batch`, on its kernels. `progress`: "bars" (tqdm, for a terminal), "lines" (one line per finished
    chapter on stderr), "none" (False), or "auto"/True (bars on a terminal, lines otherwise)."""
    started = time.perf_counter()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UsageError(f"Số kernel chạy song song (--workers) phải là số nguyên từ 1 trở lên, không phải {workers!r}.")
    mode = _progress_mode(progress)
    paths = project(root)
    folder = Path(data_dir).resolve() if data_dir else paths.data_dir
    _check_data_dir(folder, data_dir)
    provinces = known_provinces(folder)
    if province not in provinces:
        raise ProvinceError(f"Tỉnh {province!r} không hợp lệ. Các tỉnh hợp lệ: {', '.join(provinces) or '(chưa có)'}.")
    chosen = periods.report_period(period) if period else _default_period(folder, province)
    formats = tuple(dict.fromkeys(formats))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UsageError(f"Định dạng không hợp lệ: {', '.join(unknown) or '(trống)'}. Hợp lệ: {', '.join(FORMATS)}.")
    engine_used = _engine(engine)

    out_dir = paths.report_dir(province, chosen.code)  # refuses codes that leave outputs/
    private = paths.report_cache_dir(province, chosen.code)
    lock_dir = confined(paths.cache_dir / "locks", province)
    failed = paths.failed_dir(province, chosen.code)

    chapter_paths = notebooks(paths)
    code = cache.code_hash(paths)
    data = cache.data_hash(data_files(folder))
    params = {"province": province, "period": chosen.code, "data_dir": _data_dir_param(paths, folder)}
    keys = chapter_keys(chapter_paths, province, chosen.code, code, data)
    texts = {nb.name: cache.notebook_hash(nb) for nb in chapter_paths}
    from .official import inputs_hash

    official_inputs = inputs_hash(folder, province, chosen.code)  # narrative file, settings, reference doc

    def render_key(fmt: str) -> str:
        return cache.key("render", keys, texts, fmt, engine_used, code, data, official_inputs)

    format_keys = {f: render_key(f) for f in formats}
    result = BuildResult(province, chosen.code, out_dir, engine_used)  # engine: "quarto" | "pandoc"

    def up_to_date() -> bool:
        manifest = _read_manifest(private / MANIFEST)
        return all(_format_current(manifest, out_dir, f, k) for f, k in format_keys.items())

    def expected() -> list[Path]:
        return [out_dir / name for f in formats for name in format_names(f) if (out_dir / name).exists()]

    def skip() -> BuildResult:
        manifest = _read_manifest(private / MANIFEST)
        result.skipped, result.files = True, expected()
        result.remarks, result.draft = manifest.get("remarks", []), manifest.get("draft", True)
        result.warnings = manifest.get("warnings", [])  # computed when the report was built: same data
        result.seconds = time.perf_counter() - started
        return result

    if not force and up_to_date():
        if failed.exists():  # the report is current: a failure kept from an earlier attempt is not
            shutil.rmtree(failed, ignore_errors=True)
        if out_dir.parent.exists():
            from .publish import clean_if_idle

            try:
                clean_if_idle(out_dir, lock_dir)  # what a killed build left beside the report
            except OSError:
                pass
        return skip()

    from .publish import report_lock, staging, swap_in

    try:
        with report_lock(out_dir, lock_dir):
            if not force and up_to_date():  # another build made it while this one waited
                return skip()
            old = _read_manifest(private / MANIFEST)
            result.warnings = [w for w in [periods.staleness_warning(_series_dates(folder, province), chosen)] if w]
            private.mkdir(parents=True, exist_ok=True)
            with staging(out_dir) as tmp:
                _run(paths, folder, chosen, params, chapter_paths, keys, formats, workers, mode, tmp, result,
                     force, private, failed, batch, code)
                kept = _carry_over(out_dir, tmp, formats)
                notebooks_new = private / "notebooks.new"
                shutil.rmtree(notebooks_new, ignore_errors=True)
                shutil.move(str(tmp / WORK / "notebooks"), str(notebooks_new))
                shutil.rmtree(tmp / WORK)
                swap_in(tmp, out_dir)
            shutil.rmtree(private / "notebooks", ignore_errors=True)
            os.replace(notebooks_new, private / "notebooks")
            built_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
            entries = {f: {"key": format_keys[f], "built": built_at, "files": _stat_files(out_dir, f)} for f in formats}
            for fmt in kept:
                entry = dict(old.get("formats", {}).get(fmt) or {"key": None, "built": None})
                entry["files"] = _stat_files(out_dir, fmt)
                entries[fmt] = entry
                current_key = render_key(fmt)
                result.kept[fmt] = entry.get("key") == current_key
            manifest = {
                "version": MANIFEST_VERSION, "province": province, "period": chosen.code, "engine": result.engine,
                "formats": {f: entries[f] for f in FORMATS if f in entries},
                "chapters": keys, "data_hash": data, "code_hash": code,
                "remarks": result.remarks, "draft": result.draft, "warnings": result.warnings,
            }
            cache._atomic_write(private / MANIFEST,
                                json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"))
            shutil.rmtree(failed, ignore_errors=True)
    except OSError as exc:
        translated = _output_error(exc, paths.outputs_dir)
        if translated is None:
            raise
        raise translated from None
    result.files = expected()
    result.seconds = time.perf_counter() - started
    return result


def _carry_over(out_dir: Path, tmp: Path, formats: tuple[str, ...]) -> list[str]:
    """Copy into the staging folder what the previous report holds and this build did not make
    (formats not asked for, files another step put beside the report); return the formats kept."""
    kept: list[str] = []
    if not out_dir.is_dir():
        return kept
    built = {name for f in formats for name in format_names(f)}
    owner = {name: f for f in FORMATS for name in format_names(f)}
    for entry in sorted(out_dir.iterdir()):
        if entry.name in built or entry.name in _INTERNAL or (tmp / entry.name).exists():
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, tmp / entry.name, symlinks=True)
        else:
            shutil.copy2(entry, tmp / entry.name, follow_symlinks=False)
        fmt = owner.get(entry.name)
        if fmt and fmt not in kept:
            kept.append(fmt)
    return kept


def _run(paths, folder, chosen, params, chapter_paths, keys, formats, workers, mode, tmp, result,
         force=False, private=None, failed=None, batch=None, code=None):
    """Execute what is not cached and render, overlapping the stages where they are independent:
    kernels boot while the data is validated, and each chapter is prepared (and, for pandoc,
    converted to Markdown) as soon as it has run, while the others still run.

    Any exception, Ctrl-C included, kills the kernels and waits for the chapter conversions in
    flight before it goes on, so the staging folder can be removed whole."""
    from concurrent.futures import ThreadPoolExecutor

    # nbformat validates through jsonschema, whose format checkers import rfc3987_syntax when it is
    # installed (JupyterLab pulls it in); that import builds a Lark grammar, about a second, for an
    # IRI check nbformat never makes. This process is ours: leave it out.
    sys.modules.setdefault("rfc3987_syntax", None)
    from . import execute
    from .errors import RenderError

    chapter_cache = paths.cache_dir / "chapters"
    chapter_cache.mkdir(parents=True, exist_ok=True)
    conversions = paths.cache_dir / "conversions"  # chapter → Markdown → typst, by content
    salt = code or cache.code_hash(paths)  # the package's hash, as `build` keyed this report
    private = private or (tmp / WORK)
    nb_dir, work = tmp / WORK / "notebooks", tmp / WORK / "render"
    nb_dir.mkdir(parents=True)
    say = _say if mode == "lines" else (lambda text: None)
    jobs = []
    for nb in chapter_paths:
        entry = None if force else cache.load_entry(chapter_cache, keys[nb.name])
        if entry is not None:
            entry = cache.splice_markdown(entry, nb)  # the chapter's current prose, same outputs
        if entry is not None:
            (nb_dir / nb.name).write_bytes(entry)
            result.cached.append(nb.name)
            say(execute.finished_line(nb.stem, _chapter_title(nb)))
        else:
            jobs.append(execute.Job(nb.stem, _chapter_title(nb), nb, nb_dir / nb.name, params, failed))
    if result.engine == "quarto" and not shutil.which("quarto"):
        raise RenderError("Không tìm thấy quarto trên PATH; dùng --engine pandoc hoặc --engine auto.")
    validated = cache.data_hash(data_files(folder))
    clock = time.perf_counter()
    if batch is not None:
        pool = batch.pool(validated) if jobs else None
    else:
        log_path = private / "kernel.log"
        log_path.write_bytes(b"")
        pool = execute.KernelPool(paths.root, paths.cache_dir / "kernel-start.lock", log_path,
                                  min(workers, len(jobs)), validated) if jobs else None
    renderer = ThreadPoolExecutor(max_workers=2)
    try:
        from . import notebook, render

        # refuses invalid data (the kernels boot meanwhile); bytes that passed the same code's
        # checks before, as the marker records, are not checked again
        marker = paths.cache_dir / "validated" / cache.key("validated", validated, salt,
                                                             os.environ.get(periods.TODAY_ENV, ""))
        trusted = marker.exists() and not force
        loaded = []

        def data():
            """The tables, read when first needed: a rebuild whose title page and check sheet are
            cached reads none, and does not even import pandas (trusted bytes: this code checked
            them before)."""
            if not loaded:
                from .data import load

                loaded.append(load(folder, validate=not trusted))
            return loaded[0]

        if not trusted:
            data()  # refuses invalid data before anything is rendered
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()

        result.phases["validate"] = time.perf_counter() - clock
        from . import official

        meta = _title_meta_cached(data, params["province"], chosen, folder, paths.cache_dir / "meta",
                                  _meta_key(validated, salt, folder, params["province"], chosen), cached=not force)

        # made now, while the kernels boot and this process waits for them (in a batch: while
        # the periods before execute, or ahead, `prepare_ahead`), not after the chapters, when
        # the report waits for it
        _check_sheet(data, params["province"], chosen, tmp, paths.cache_dir / "checks",
                     _checks_key(validated, salt, params["province"], chosen))
        names = [nb.name for nb in chapter_paths]
        futures = {}

        def finished(name: str, nb=None) -> Path:
            """A chapter is done: keep it in the cache, and prepare and convert it (from `nb`,
            the executed notebook just written, when it ran; from its file when cached)."""
            executed = nb_dir / name
            if name not in result.cached:
                cache.store_entry(chapter_cache, keys[name], executed)
            if result.engine != "pandoc":
                return render.prepare(executed, work / name)
            prepared = render.prepared(nb if nb is not None else notebook.read(executed))
            md = official.place_chapter(render.chapter_markdown(work / name, work, conversions, salt, nb=prepared),
                                        meta.official, official.chapter_number(names, name))
            if "pdf" in formats and batch is None:  # converted early, while other chapters run; in a
                render.chapter_typst(md, work, conversions, salt)  # batch, once for the whole report
            return md

        def done(job, seconds, nb):
            if batch is not None:
                batch.durations[job.output.name] = seconds
            futures[job.output.name] = renderer.submit(finished, job.output.name, nb)
            say(execute.finished_line(job, seconds=seconds))

        for name in result.cached:
            futures[name] = renderer.submit(finished, name)
        if pool is not None and batch is not None:
            # the longest chapters (as the periods before ran them) first, so the kernels finish
            # together; the next period starts on a kernel as soon as this one's last chapter is taken
            jobs.sort(key=lambda job: -batch.durations.get(job.output.name, float("inf")))
            batch.executing.acquire()
            handed = []

            def drained() -> None:
                if not handed:
                    handed.append(True)
                    batch.executing.release()

            try:
                pool.run(jobs, mode == "bars", on_done=done, on_drained=drained)
            finally:
                drained()
        if batch is not None:
            batch.executed()
        elif pool is not None:
            pool.run(jobs, mode == "bars", on_done=done)
        result.executed = [job.output.name for job in jobs]
        result.phases["execute"] = time.perf_counter() - clock
        parts = [futures[nb.name].result() for nb in chapter_paths]
        if pool is not None and batch is None:
            pool.close(wait=False)  # kernels exit while the report renders
        renderer.shutdown()
    except BaseException:
        if batch is not None:
            batch.abort()  # a failed period fails the batch: its kernels stop now
        elif pool is not None:
            pool.abort()
        renderer.shutdown(wait=True, cancel_futures=True)  # conversions in flight end in seconds
        raise
    clock = time.perf_counter()

    from contextlib import nullcontext

    with batch.rendering if batch is not None else nullcontext(), \
            batch.writer() if batch is not None else nullcontext() as server:
        if meta.official is not None:
            result.draft = meta.official.draft
            result.remarks = official.remark_lines(meta.official, paths.root)
        if result.engine == "pandoc":
            # in a batch the writers yield the cores to the kernels running the next period
            result.files = render.render_pandoc(parts, work, meta, formats, tmp, nice=RENDER_NICE if batch is not None else 0,
                                                writers=1 if batch is not None else 3,
                                                one_process=batch is not None,
                                                references=paths.cache_dir / "references", server=server)
        else:
            result.files = render.render_quarto(parts, work, meta, formats, tmp, paths.quarto_yml)
    result.phases["render"] = time.perf_counter() - clock
    if pool is not None and batch is None:
        pool.join()
    shutil.rmtree(work, ignore_errors=True)


def _meta_key(validated: str, salt: str, folder: Path, province: str, chosen: periods.Period) -> str:
    from . import official

    return cache.key("meta", validated, salt, str(folder), province, chosen.code,
                     official.inputs_hash(folder, province, chosen.code), repr(official.serif_font_dirs()),
                     repr(periods.Policy.from_env()), os.environ.get(periods.TODAY_ENV, ""))


def _checks_key(validated: str, salt: str, province: str, chosen: periods.Period) -> str:
    return cache.key("checks", validated, salt, province, chosen.code, repr(periods.Policy.from_env()))


def prepare_ahead(paths: ProjectPaths, folder: Path, data, plan: list[tuple[str, periods.Period]],
                  validated: str, salt: str, stop=None) -> None:
    """Make, into the cache, what each period's build makes before its chapters run (the
    report's frame, the check sheet), the last period first: a batch runs this while its
    kernels start, when the cores are idle, and each build then finds them made. A period
    whose build got there first is skipped; `stop` (an Event) ends it early."""
    import tempfile

    for province, chosen in reversed(plan):
        if stop is not None and stop.is_set():
            return
        _title_meta_cached(lambda: data, province, chosen, folder, paths.cache_dir / "meta",
                           _meta_key(validated, salt, folder, province, chosen))
        store, key = paths.cache_dir / "checks", _checks_key(validated, salt, province, chosen)
        if not (store / f"{key}.xlsx").is_file():
            store.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=store, prefix=".ahead-") as scratch:
                _check_sheet(lambda: data, province, chosen, Path(scratch), store, key)


def _title_meta_cached(data, province: str, chosen, folder: Path, store: Path, key: str, cached: bool = True):
    """`title_meta` for the tables `data()` gives, kept under `key` (data, code, the frame's
    files, fonts, policy, today): a rebuild after a prose edit neither reads the tables nor
    builds the frame again. A kept copy that does not load is built again."""
    import pickle

    kept = store / f"{key}.pickle"
    if cached:
        try:
            with kept.open("rb") as fh:
                return pickle.load(fh)  # our own cache folder, written below by this code
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError):
            pass
    meta = title_meta(data(), province, chosen)
    try:
        store.mkdir(parents=True, exist_ok=True)
        cache._atomic_write(kept, pickle.dumps(meta, protocol=pickle.HIGHEST_PROTOCOL))
    except (OSError, pickle.PicklingError):
        pass
    return meta


def _check_sheet(data, province: str, chosen, folder: Path, store: Path, key: str) -> None:
    """The internal check sheet beside the report (never linked from it); the same data, code,
    province and period give the same sheet, kept in the cache and copied. `data()` gives the
    tables, read only when the sheet is made."""
    from .paths import CHECK_SHEET_NAME as FILE_NAME

    kept = store / f"{key}.xlsx"
    if kept.is_file():
        try:
            shutil.copyfile(kept, folder / FILE_NAME)
            return
        except OSError:
            pass
    from .checks import write_check_sheet  # pandas and openpyxl: only when a sheet is made

    made = write_check_sheet(data(), province, chosen, folder)
    try:
        store.mkdir(parents=True, exist_ok=True)
        cache._atomic_write(kept, made.read_bytes())
    except OSError:
        pass


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


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

    from .schema import SEED_RE  # not .validate: that imports pandera

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
    from . import escape, fmt

    for _, row in sources.sort_values(["kind", "issued"], na_position="last").iterrows():
        when = f", {fmt.day(row['issued'].date())}" if not pd.isna(row["issued"]) else ""
        issuer = f", {row['issuer']}" if row["issuer"] else ""
        location = str(row["location"])
        link = f" <{location}>" if SAFE_URL.fullmatch(location) else ""  # a page address, never a file name
        lines.append("1. " + escape.markdown(f"{row['title_vi']}{issuer}{when}.") + link)
    if len(lines) == 2:
        lines.append("Không có nguồn nào được trích dẫn trong kỳ báo cáo.")
    return "\n".join(lines)
