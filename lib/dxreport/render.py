"""From executed notebooks to bao-cao.html, bao-cao.pdf and bao-cao.docx.

1. `prepare`: strips what a reader must not see — Papermill's metadata
   (input/output paths, environment), the parameters cells, every code cell's source, stderr and
   error outputs, plain-text reprs — leaving Markdown, tables and figures. A figure, which shows
   in JupyterLab as an image output and a caption output, becomes one captioned Markdown figure.
2. Either engine renders the prepared notebooks:
   - `quarto`: a Quarto book from `_quarto.yml`, rendered without executing;
   - `pandoc`: pandoc reads one notebook per call (several at once fail with "expected nbformat
     <= 3"), so each chapter becomes Markdown, the chapters are joined under a title block, and
     the joined document becomes HTML (self-contained), DOCX, and typst source that the `typst`
     compiler turns into the PDF.

Pandoc never reads a file or reaches a host the build did not hand it: every call runs with
`--sandbox`, and `templates/report.lua` guards the writers (only the build's own `media/` figures
are embedded, which the filter hands to pandoc itself; no raw HTML/typst; only safe link
targets). The stylesheet is passed inline (`-H`), since the sandbox does not read `--css` files.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import threading
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import display, escape, notebook
from .errors import RenderError
from .paths import OUTPUT_NAME, TEMPLATES_DIR

REMOVE_TAGS = {"remove-cell", "parameters", "injected-parameters"}
READER_MIME = {"text/markdown", "text/html", "image/png", "image/svg+xml"}


def remove_tagged(nb: dict) -> None:
    """Drop the cells a reader must not see: parameters, the injected parameters and anything
    tagged `remove-cell`."""
    nb["cells"] = [c for c in nb.get("cells", []) if not REMOVE_TAGS & set(c.get("metadata", {}).get("tags", []))]


def hide_code(nb: dict) -> None:
    """The report shows no code: blank every code cell's source, keep only reader outputs.

    Outputs kept: display data carrying Markdown, HTML or an image. Dropped: streams (prints,
    warnings), errors (tracebacks), and bare text reprs. Code cells left with no output go.
    """
    kept = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["source"] = ""
            cell["outputs"] = [o for o in cell.get("outputs", [])
                               if o.get("output_type") in ("display_data", "execute_result")
                               and READER_MIME & set(o.get("data", {}))]
            for output in cell["outputs"]:
                output.pop("execution_count", None)
                output["metadata"] = {}
            cell["execution_count"] = None
            if not cell["outputs"]:
                continue
        kept.append(cell)
    nb["cells"] = kept


def fold_figures(nb: dict) -> None:
    """Fold a figure's two Lab outputs (the `image/png`, then its caption) into the one
    captioned Markdown figure pandoc reads; the caption output goes. See `display.Figure`."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            mark = output.get("metadata", {}).get(display.META_KEY, {})
            if "caption" in mark:
                continue
            figure = mark.get("figure")
            if figure is not None and "image/png" in output.get("data", {}):
                png = "".join(output["data"]["image/png"]).replace("\n", "")
                output["data"] = {"text/markdown": display.figure_markdown(
                    f"data:image/png;base64,{png}", str(figure.get("title", "")), str(figure.get("source", "")),
                    str(figure.get("alt", "")), figure.get("data"))}
                output["metadata"] = {}
            kept.append(output)
        cell["outputs"] = kept


KEEP_CELL_METADATA = ("tags",)


def strip_machine(nb: dict) -> None:
    """Remove what Papermill and Jupyter record about the run: `metadata.papermill` of the
    notebook and of every cell (paths, environment, timings) and cell execution timestamps.
    (nbconvert's ClearMetadataPreprocessor only touches code cells; this covers every cell.)"""
    nb["metadata"] = {k: v for k, v in nb.get("metadata", {}).items() if k in ("kernelspec", "language_info")}
    for cell in nb.get("cells", []):
        cell["metadata"] = {k: v for k, v in cell.get("metadata", {}).items() if k in KEEP_CELL_METADATA}


def prepared(nb: dict) -> dict:
    """An executed notebook made fit to publish, in place; returns it."""
    for step in (remove_tagged, fold_figures, hide_code, strip_machine):
        step(nb)
    return nb


def prepare(executed: Path, target: Path) -> Path:
    """Write a copy of an executed notebook that is fit to publish."""
    nb = prepared(notebook.read(executed))
    target.parent.mkdir(parents=True, exist_ok=True)
    notebook.write(nb, target)
    return target


@dataclass(frozen=True)
class Meta:
    """What the title page says."""

    title: str  # "BÁO CÁO"
    subtitle: str  # "Kết quả chuyển đổi số tỉnh Nghệ An quý III năm 2023"
    issuer: str
    cutoff: str  # "Số liệu tính đến ngày 30/9/2023"
    date: str  # "Nghệ An, quý III năm 2023"
    sources_markdown: str  # the closing list of sources
    official: object = None  # dxreport.official.Document: the decree's form and the report's frame


# The report's Markdown: pandoc's, without what a report never holds and a reader of prose or data
# would only be surprised by: TeX (raw commands, `$...$` maths, macros) and citations (`@name`).
# With them off, `\`, `$` and `@` in an analyst's text stay text; it also reads a sixth faster.
READER = "markdown-raw_tex-tex_math_dollars-latex_macros-citations"
FILTER = TEMPLATES_DIR / "report.lua"
WRITER = TEMPLATES_DIR / "write.lua"  # a whole report in one pandoc process (render_pandoc(one_process=True))


def pandoc_path() -> str:
    import pypandoc

    return pypandoc.get_pandoc_path()


_GUARD: list[str] = []


def guard_token() -> str:
    """This process's random token: a div carrying it marks raw blocks the build wrote itself
    (the official form), which the guard filter keeps; data text cannot know it."""
    if not _GUARD:
        import secrets

        _GUARD.append(secrets.token_hex(16))
    return _GUARD[0]


STAGE_ENV = "DXREPORT_STAGE"  # "write": the filter only hands figure files to a writer (see report.lua)


# pandoc's Haskell runtime: an old generation sized for a whole report (-O), so reading and
# writing it does not stop for a dozen major collections of a heap that never exceeds a few
# tens of MiB: about a tenth less CPU per pandoc run. A GHCRTS the user set is kept; a pandoc
# linked without RTS options refuses the variable, and is then run without it.
PANDOC_RTS = "-O64m"
_RTS_REFUSED = "RTS options"


def _run(cmd: list[str], cwd: Path, what: str, stage: str = "", env_extra: dict | None = None,
         on_line: Callable[[str], None] | None = None) -> None:
    """Run pandoc; `on_line` is called with each line it prints, as it prints it."""
    env = {"GHCRTS": PANDOC_RTS, **os.environ, "DXREPORT_GUARD": guard_token(), STAGE_ENV: stage,
           **(env_extra or {})}  # never the caller's stage
    returncode, stderr = _call(cmd, cwd, env, on_line)
    if returncode != 0 and _RTS_REFUSED in stderr and env.get("GHCRTS") == PANDOC_RTS:
        del env["GHCRTS"]
        returncode, stderr = _call(cmd, cwd, env, on_line)
    if returncode != 0:
        raise RenderError(f"{what} thất bại (mã {returncode}): {stderr.strip()[:2000]}")


def _call(cmd: list[str], cwd: Path, env: dict, on_line: Callable[[str], None] | None) -> tuple[int, str]:
    if on_line is None:
        proc = subprocess.run(cmd, cwd=str(cwd), capture_output=True, text=True, env=env)
        return proc.returncode, proc.stderr
    with subprocess.Popen(cmd, cwd=str(cwd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env) as proc:
        errors: list[str] = []
        drain = threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True)
        drain.start()  # a full stderr pipe would stop pandoc while this thread waits on stdout
        for line in proc.stdout:
            on_line(line.rstrip("\n"))
        drain.join()
        return proc.wait(), "".join(errors)


def _yaml_str(text: str) -> str:
    """A YAML string whose value pandoc reads as Markdown that says exactly `text`."""
    return '"' + escape.markdown(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


DATA_URI = re.compile(r"\(data:image/(png|svg\+xml);base64,([A-Za-z0-9+/=]+)\)")


def _conversion_key(kind: str, text: bytes, salt: str) -> str:
    h = hashlib.sha256(f"{kind}\0{salt}\0".encode())
    h.update(FILTER.read_bytes())
    h.update(text)
    return h.hexdigest()


def _from_cache(cache_dir: Path | None, key: str, target: Path, media: Path) -> bool:
    """Copy a cached conversion (its text and the figure files it names) to `target`."""
    if cache_dir is None:
        return False
    entry = cache_dir / key
    try:
        text = (entry / "out").read_bytes()
        for item in (entry / "media").iterdir() if (entry / "media").is_dir() else []:
            media.mkdir(exist_ok=True)
            shutil.copyfile(item, media / item.name)
    except OSError:
        return False
    target.write_bytes(text)
    return True


def _to_cache(cache_dir: Path | None, key: str, source: Path, media_names: list[str], media: Path) -> None:
    """Keep a conversion whole or not at all (written aside, then renamed into place)."""
    if cache_dir is None or (cache_dir / key).exists():
        return
    import tempfile

    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=cache_dir))
        shutil.copyfile(source, tmp / "out")
        if media_names:
            (tmp / "media").mkdir()
            for name in media_names:
                shutil.copyfile(media / name, tmp / "media" / name)
        try:
            os.rename(tmp, cache_dir / key)
        except OSError:  # another build stored the same conversion first
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError:
        pass


MEDIA_REF = re.compile(r"\(media/([0-9a-f]{20}\.(?:png|svg))\)")
MEDIA_NAME = re.compile(r"^[0-9a-f]{20}\.(?:png|svg)$")


_FENCE = re.compile(r"^(:{3,})", re.M)


def notebook_markdown(nb: dict) -> str | None:
    """A prepared chapter as Markdown, without a pandoc process, when the chapter holds nothing
    but Markdown cells and outputs that carry Markdown (what the display objects and
    `fold_figures` leave): the Markdown cells as written, each output in the fenced div pandoc's
    ipynb reader puts it in. The text is not trusted for that: the joined report is parsed
    through the guard filter like any other. Anything else (raw cells, an output with HTML or
    an image only) returns None, and pandoc converts the notebook."""
    blocks: list[str] = []
    ids: set[str] = set()
    for cell in nb.get("cells", []):
        kind = cell.get("cell_type")
        if kind == "markdown":
            text = _markdown_cell(cell, ids)
            if text is None:
                return None
            if text.strip():
                blocks.append(text)
        elif kind == "code":
            if _joined(cell.get("source", "")).strip():
                return None
            for output in cell.get("outputs", []):
                kind_out = output.get("output_type")
                text = output.get("data", {}).get("text/markdown")
                if kind_out not in ("display_data", "execute_result") or text is None:
                    return None
                text = _joined(text).strip("\n")
                longest = max((len(m) for m in _FENCE.findall(text)), default=0)
                fence = ":" * max(3, longest + 1)
                count = output.get("execution_count")
                attrs = f".output .{kind_out}" + (f' execution_count="{int(count)}"' if count is not None else "")
                blocks.append(f"{fence} {{{attrs}}}\n{text}\n{fence}")
        else:
            return None
    return "\n\n".join(blocks) + "\n"


_ATX = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
_SETEXT = re.compile(r"^(=+|-+)[ \t]*$")
_INLINE_SYNTAX = set("\\*_`[]<>!$^~{}|&")


def _markdown_cell(cell: dict, ids: set[str]) -> str | None:
    """A Markdown cell's text as pandoc's ipynb reader would hand it on, or None where this
    simple reading is not certain to agree with it. That reader names headings GitHub's way
    ("phụ-lục-1-danh-mục", the period dropped), the Markdown reader pandoc's way ("phụ-lục-1.-…"):
    as pandoc's writer does, such a heading gets its reader's name written out. Headings that use
    inline syntax, repeat a name, underline their text or sit in code are left to pandoc."""
    if cell.get("attachments"):
        return None
    text = _joined(cell.get("source", "")).strip("\n")
    if "```" in text or "~~~" in text or "\t" in text or unicodedata.normalize("NFC", text) != text:
        return None
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if i and lines[i - 1].strip() and _SETEXT.match(line):
            return None
        match = _ATX.match(line)
        if match is None:
            continue
        title = match.group(2)
        if _INLINE_SYNTAX & set(title):
            return None
        gfm = _heading_id(title, github=True)
        if not gfm or gfm in ids:
            return None
        ids.add(gfm)
        if gfm != _heading_id(title, github=False):
            lines[i] = f"{match.group(1)} {title} {{#{gfm}}}"
    return "\n".join(lines)


def _heading_id(title: str, github: bool) -> str:
    """pandoc's automatic identifier of a plain-text heading: GitHub's (`gfm_auto_identifiers`,
    the ipynb reader) or pandoc Markdown's (`auto_identifiers`)."""
    text = "-".join(title.lower().split(" "))
    if github:
        return "".join(c for c in text if c.isalnum() or c in "_-")
    text = "".join(c for c in text if c.isalnum() or c in "_-.")
    while text and not text[0].isalpha():
        text = text[1:]
    return text or "section"


def _joined(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def chapter_markdown(nb_path: Path, workdir: Path, cache_dir: Path | None = None, salt: str = "",
                     nb: dict | None = None) -> Path:
    """One prepared chapter notebook → Markdown (pandoc reads one notebook per call). `nb`: the
    prepared notebook, already in memory (`prepared`); `nb_path` is then written only if
    pandoc must convert it.

    Figures travel inside the notebook as data URIs; here they become files under `media/`, so
    the joined document the three writers parse is small text, not megabytes of base64. With a
    `cache_dir`, a notebook converted before (same content, same filter, same `salt`: the
    package's code) is not converted again: a report whose other chapters changed re-renders
    only those."""
    workdir.mkdir(parents=True, exist_ok=True)
    md = workdir / f"{nb_path.stem}.md"
    media = workdir / "media"
    if nb is None:
        nb = notebook.read(nb_path)
    key = _conversion_key("markdown", notebook.canonical(nb), salt) if cache_dir is not None else ""
    if _from_cache(cache_dir, key, md, media):
        return md
    own = notebook_markdown(nb)
    if own is not None:
        md.write_text(own, encoding="utf-8")
    else:
        if not nb_path.exists():
            nb_path.parent.mkdir(parents=True, exist_ok=True)
            notebook.write(nb, nb_path)
        _run([pandoc_path(), str(nb_path), "-f", "ipynb", "-t", "markdown", "--sandbox", "--lua-filter", str(FILTER),
              "--wrap=none", "-o", str(md)], workdir, f"pandoc ({nb_path.name})")
    media.mkdir(exist_ok=True)

    def to_file(match: re.Match) -> str:
        raw = base64.b64decode(match.group(2))
        name = f"{hashlib.sha256(raw).hexdigest()[:20]}.{'png' if match.group(1) == 'png' else 'svg'}"
        (media / name).write_bytes(raw)
        return f"(media/{name})"

    text = DATA_URI.sub(to_file, md.read_text(encoding="utf-8"))
    md.write_text(text, encoding="utf-8")
    _to_cache(cache_dir, key, md, sorted(set(MEDIA_REF.findall(text))), media)
    return md


def chapter_typst(md: Path, workdir: Path, cache_dir: Path | None = None, salt: str = "") -> Path:
    """A chapter's Markdown → typst body, made while other chapters still run; the PDF then only
    includes the chapters instead of converting the whole joined document at the end. Cached
    like `chapter_markdown`."""
    typ = md.with_suffix(".typ")
    key = _conversion_key("typst", md.read_bytes(), salt) if cache_dir is not None else ""
    if _from_cache(cache_dir, key, typ, workdir / "media"):
        return typ
    _run([pandoc_path(), str(md), "-f", READER, "-t", "typst", "--sandbox", "--lua-filter", str(FILTER),
          "--wrap=none", "-o", str(typ)], workdir, f"pandoc ({md.stem}, typst)")
    _to_cache(cache_dir, key, typ, [], workdir / "media")
    return typ


class PandocServer:
    """One pandoc process that writes report after report (`templates/write.lua --serve`), for
    a batch: a process a report paid pandoc's start-up and a cold heap each time, and read every
    cell of every report. This one stays, and reads a cell it has read before from memory (a
    site's periods share about half of their tables and paragraphs word for word); what it
    writes is what a process of its own writes (tested). One report at a time: a batch keeps one
    per render slot. It runs at the priority of the thread that first asks it for a report
    (`_lower_priority`), and ends when its input closes: `close()`, or this process ending."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._stderr: list[str] = []
        self._rts = True
        self.counts = (0, 0)  # cells read from memory and by the reader, after the last report

    def start(self, warm: bool = False) -> subprocess.Popen:
        """Start the process now (`render` otherwise starts it for its first report); `warm`: it
        runs its reader and writers on a sample first, for a batch that starts it while its
        kernels start, not while they run."""
        env = {**({"GHCRTS": PANDOC_RTS} if self._rts else {}), **os.environ, "DXREPORT_GUARD": guard_token(),
               STAGE_ENV: "", "SOURCE_DATE_EPOCH": "0"}
        proc = subprocess.Popen([pandoc_path(), "lua", str(WRITER), "--serve", *(["--warm"] if warm else [])],
                                stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8", env=env)
        errors = self._stderr = []
        # a full stderr pipe would stop pandoc while this process waits on its stdout
        threading.Thread(target=lambda: errors.extend(proc.stderr), daemon=True).start()
        self._proc = proc
        return proc

    def render(self, config: Path, on_line: Callable[[str], None]) -> None:
        """Write the report `config` describes (as `pandoc lua write.lua CONFIG` would);
        `on_line` gets each output's path once the file is whole."""
        for _attempt in range(2):
            proc = self._proc if self._proc is not None and self._proc.poll() is None else self.start()
            del self._stderr[:]
            try:
                proc.stdin.write(f"{config}\n")
                proc.stdin.flush()
                for line in proc.stdout:
                    line = line.rstrip("\n")
                    if line.startswith("=ok"):
                        hits, misses = (line.split() + ["0", "0"])[1:3]
                        self.counts = (int(hits), int(misses))
                        return
                    if line.startswith("=error"):
                        raise RenderError(f"pandoc (báo cáo) thất bại: {line[len('=error '):][:2000]}")
                    on_line(line)
            except (BrokenPipeError, ValueError):  # it ended before it took the request
                pass
            code = proc.wait()
            self._proc = None
            stderr = "".join(self._stderr)
            if _RTS_REFUSED in stderr and self._rts and "GHCRTS" not in os.environ:
                self._rts = False  # a pandoc linked without RTS options: start it again without them
                continue
            raise RenderError(f"pandoc (báo cáo) thất bại (mã {code}): {stderr.strip()[:2000]}")

    def close(self, kill: bool = False) -> None:
        """End the process: its input closes and it exits (at once with `kill`)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if kill:
                proc.kill()
            else:
                proc.stdin.close()
            proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


def _lower_priority(nice: int) -> None:
    """Lower this thread's CPU priority (Linux: per thread; pandoc started from it inherits it)."""
    if nice and hasattr(os, "setpriority"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
        except OSError:
            pass


def render_pandoc(parts: list[Path], workdir: Path, meta: Meta, formats: tuple[str, ...], out_dir: Path,
                  nice: int = 0, writers: int = 3, one_process: bool = False,
                  references: Path | None = None, server: "PandocServer | None" = None) -> list[Path]:
    """Join the chapters' Markdown under a title block; write HTML, DOCX and PDF (via typst).
    `nice` > 0 runs the writers at a lower priority (each in its own short-lived thread);
    `writers` is how many run at once (each pandoc holds the whole document in memory).

    `one_process` (a batch, where other reports keep the cores busy): one pandoc reads the
    document once and writes every format (`templates/write.lua`), a third less work than a
    parse and three writers each reading the parsed document again, but one writer after
    another. The outputs are the same (tested). `references`: where the draft variant of a
    reference document is kept (`official.draft_reference`); the working folder by default.
    `server`: with `one_process`, the batch's warm pandoc that writes it (`PandocServer`)."""
    pandoc = pandoc_path()
    workdir.mkdir(parents=True, exist_ok=True)
    front = "\n".join([
        "---",
        f"title: {_yaml_str(meta.title)}",
        f"subtitle: {_yaml_str(meta.subtitle)}",
        f"author: {_yaml_str(meta.issuer)}",
        f"date: {_yaml_str(meta.cutoff)}",
        f"place: {_yaml_str(meta.date)}",
        f"issuer: {_yaml_str(meta.issuer)}",
        "lang: vi",
        f"toc-title: {_yaml_str('Mục lục')}",
        "---",
        "",
        "",
    ])
    body = "\n\n".join(p.read_text(encoding="utf-8") for p in parts)
    joined = workdir / f"{OUTPUT_NAME}.md"
    joined.write_text(front + body + "\n\n" + meta.sources_markdown + "\n", encoding="utf-8")
    doc = meta.official
    if doc is not None:  # the official form: headings carry their own numbers, no table of contents
        from . import official

        front = official.yaml_front(doc, meta)
        joined.write_text(front + official.body(doc, parts, lambda p: p.read_text(encoding="utf-8"),
                                                meta.sources_markdown), encoding="utf-8")

    options = ["--toc", "--toc-depth=2", "--number-sections"] if doc is None else []
    common = [pandoc, str(joined), "-f", READER, "--sandbox", *options, "--lua-filter", str(FILTER)]
    outputs: list[Path] = []
    # The joined document is read once, through the guard, into pandoc's AST; each writer reads
    # that (a JSON file of our own), not the Markdown again.
    ast = workdir / f"{OUTPUT_NAME}.json"
    written = [pandoc, str(ast), "-f", "json", "--sandbox", *options]

    def parse() -> Path:
        _run(common + ["-t", "json", "-o", str(ast)], workdir, "pandoc (đọc báo cáo)")
        return ast

    parsed = None  # the future of parse(), set below

    style_html = "<style>\n" + "\n".join((TEMPLATES_DIR / name).read_text(encoding="utf-8")
                                          for name in ("report.css", "form.css")) + "\n</style>\n"
    pagetitle = f"{escape.plain(meta.title)} – {escape.plain(meta.subtitle)}"
    reference = official.reference_docx(doc) if doc is not None else None
    if reference is not None and doc.draft and "docx" in formats:  # the mark comes with the reference's headers
        reference = official.draft_reference(reference, references or workdir / "references")
    paths = {"html": workdir / f"{OUTPUT_NAME}.html", "docx": workdir / f"{OUTPUT_NAME}.docx",
             "typst": workdir / f"{OUTPUT_NAME}.typ", "pdf": workdir / f"{OUTPUT_NAME}.pdf"}

    def typst_setup() -> tuple[list[Path], dict[str, str]]:
        """The PDF's font folders and the template's variables (the decree's serif, the draft mark)."""
        if doc is None:
            return [font_dir()], {}
        fonts, family, _warning = official.serif_font_dirs()
        return fonts, {"mainfont": family, **({"draft": "true"} if doc.draft else {})}

    def html_done(out: Path) -> Path:
        embed_figures(out, workdir)
        return out

    def docx_done(out: Path) -> Path:
        if doc is not None:
            official.finish_docx(out)
        return out

    def compile_pdf(typ: Path, fonts: list[Path]) -> Path:
        import typst

        out = paths["pdf"]
        try:
            typst.compile(str(typ), output=str(out), root=str(workdir), font_paths=[str(f) for f in fonts],
                          ignore_system_fonts=True)
        except Exception as exc:  # typst raises its own error types
            raise RenderError(typst_error_message(exc)) from None
        return out

    def html() -> Path:
        out = paths["html"]
        style = workdir / "report-style.html"
        style.write_text(style_html, encoding="utf-8")
        parsed.result()
        # Written without --embed-resources (which re-reads the whole page to inline it, as much
        # again as writing it): the only resources are the build's own figures, inlined below.
        _run(written + ["-t", "html5", "-s", "--wrap=none", "-H", str(style), "-M", f"pagetitle={pagetitle}",
                        "-o", str(out)], workdir, "pandoc (HTML)")
        return html_done(out)

    def docx() -> Path:
        out = paths["docx"]
        extra = ["--reference-doc", str(reference)] if reference is not None else []
        parsed.result()
        _run(written + ["--lua-filter", str(FILTER), "-t", "docx"] + extra + ["-o", str(out)], workdir,
             "pandoc (DOCX)", stage="write")
        return docx_done(out)

    def pdf() -> Path:
        typ = paths["typst"]
        source = None  # the parsed document, unless the chapters were converted to typst already
        if includes_ready:
            includes = "\n".join(f'#include "{p.with_suffix(".typ").name}"' for p in parts)
            source = workdir / f"{OUTPUT_NAME}-typst.md"
            source.write_text(front + "```{=typst}\n" + includes + "\n```\n\n" + meta.sources_markdown + "\n",
                              encoding="utf-8")
            if doc is not None:
                source.write_text(front + official.body(doc, parts, lambda p: official.typst_include(p.with_suffix(".typ")),
                                                        meta.sources_markdown), encoding="utf-8")
        fonts, variables = typst_setup()
        extra = [arg for key, value in variables.items() for arg in ("-V", f"{key}={value}")]
        to_typst = ["-t", "typst", "--template", str(TEMPLATES_DIR / "report.typ"), "-o", str(typ)] + extra
        if source is not None:
            _run([pandoc, str(source)] + common[2:] + to_typst, workdir, "pandoc (typst)")
        else:  # figure paths stay paths: typst reads the files itself, under `root`
            parsed.result()
            _run(written + to_typst, workdir, "pandoc (typst)", stage="write")
        return compile_pdf(typ, fonts)

    if one_process:
        _lower_priority(nice)
        fonts, variables = typst_setup()
        media = sorted(f"media/{p.name}" for p in (workdir / "media").glob("*") if MEDIA_NAME.match(p.name))
        outputs_cfg = {
            "html": {"format": "html5", "path": str(paths["html"]), "standalone": True, "wrap": "wrap-none",
                     "variables": {"header-includes": style_html}, "meta": {"pagetitle": pagetitle}},
            "docx": {"format": "docx", "path": str(paths["docx"]), "media": True,
                     **({"reference_doc": str(reference)} if reference is not None else {})},
            "pdf": {"format": "typst", "path": str(paths["typst"]), "variables": variables,
                    "template_file": str(TEMPLATES_DIR / "report.typ")},
        }
        # typst first: the PDF compiles while the same process writes HTML and DOCX (the writer
        # prints each file's path once it is whole)
        order = sorted(formats, key=lambda f: f != "pdf")
        config = workdir / "write.json"
        config.write_text(json.dumps({"markdown": str(joined), "reader": READER, "filter": str(FILTER), "toc": doc is None,
                                      "workdir": str(workdir.resolve()), "media": media,
                                      "outputs": [outputs_cfg[f] for f in order]},
                                     ensure_ascii=False), encoding="utf-8")
        pdf: list = []

        def written(path: str) -> None:
            if "pdf" in formats and path == str(paths["typst"]) and not pdf:
                pdf.append(compiler.submit(lambda: (_lower_priority(nice), compile_pdf(paths["typst"], fonts))[1]))

        with ThreadPoolExecutor(max_workers=1) as compiler:  # waits for the compile, whatever happens
            # the DOCX's creation time as the sandboxed command line writes it (none), so the bytes
            # depend on the document alone
            if server is not None and "\n" not in str(config):  # a path is a line of the server's input
                server.render(config, written)
            else:
                _run([pandoc, "lua", str(WRITER), str(config)], workdir, "pandoc (báo cáo)",
                     env_extra={"SOURCE_DATE_EPOCH": "0"}, on_line=written)
            done = {"html": lambda: html_done(paths["html"]), "docx": lambda: docx_done(paths["docx"]),
                    "pdf": lambda: pdf[0].result() if pdf else compile_pdf(paths["typst"], fonts)}
            return _publish([done[f]() for f in formats], out_dir)

    jobs = {"html": html, "docx": docx, "pdf": pdf}

    def job(name: str) -> Path:
        _lower_priority(nice)
        return jobs[name]()

    includes_ready = all(p.with_suffix(".typ").exists() for p in parts)
    needs_ast = bool({"html", "docx"} & set(formats)) or ("pdf" in formats and not includes_ready)
    with ThreadPoolExecutor(max_workers=max(1, writers)) as pool:
        if needs_ast:  # first in the queue: a writer waiting on it never blocks it
            parsed = pool.submit(lambda: (_lower_priority(nice), parse())[1])
        futures = [pool.submit(job, f) for f in formats]
        outputs = [f.result() for f in futures]
    return _publish(outputs, out_dir)


def _publish(outputs: list[Path], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    published = []
    for path in outputs:
        dest = out_dir / path.name
        shutil.copyfile(path, dest)
        published.append(dest)
    return published


_FIGURE_SRC = re.compile(r'(<img\b[^>]*?\ssrc=")(media/[0-9a-f]{20}\.(png|svg))(")')
_ANY_SOURCE = re.compile(r'\s(?:src|href|data|poster|srcset)="(?!data:image/(?:png|svg\+xml);base64,|#|https?://|mailto:)([^"]*)"')


_STYLE = re.compile(r"(<style[^>]*>)(.*?)(</style>)", re.S)
_CSS_COMMENT = re.compile(r"/\*.*?\*/\s*", re.S)
_GENERATOR = re.compile(r'[ \t]*<meta name="generator"[^>]*>\n?')


def embed_figures(html_path: Path, workdir: Path) -> None:
    """Make the written page self-contained: each `<img src="media/<hash>.png">` (the guard let
    only the build's own figures through) gets the file's bytes as a data URI. The page is then
    checked to point at nothing else on this machine: a reference the writer made that is not a
    figure, an anchor or a web address is an error, never a file read."""
    mime = {"png": "image/png", "svg": "image/svg+xml"}
    text = html_path.read_text(encoding="utf-8")
    media = (workdir / "media").resolve()

    def inline(match: re.Match) -> str:
        path = (workdir / match.group(2)).resolve()
        if path.parent != media:
            raise RenderError(f"Hình {match.group(2)} không thuộc bản dựng này.")
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"{match.group(1)}data:{mime[match.group(3)]};base64,{data}{match.group(4)}"

    try:
        text = _FIGURE_SRC.sub(inline, text)
    except OSError as exc:
        raise RenderError(f"Không đọc được hình của báo cáo: {exc.filename}") from None
    # what embedding used to do besides: the stylesheets minified, so no comment (pandoc's names
    # itself) reaches the reader; and no generator line naming the tool
    text = _STYLE.sub(lambda m: m.group(1) + _CSS_COMMENT.sub("", m.group(2)) + m.group(3), text)
    text = _GENERATOR.sub("", text)
    stray = _ANY_SOURCE.search(text)
    if stray:
        raise RenderError(f"Bản HTML trỏ tới một tệp ngoài bản dựng ({stray.group(1)[:80]}); không xuất bản.")
    html_path.write_text(text, encoding="utf-8")


TYPST_WHERE = re.compile(r"┌─ (?P<file>[^\s:]+(?:\.typ)?):(?P<line>\d+):(?P<col>\d+)")


def typst_error_message(exc: Exception) -> str:
    """'typst thất bại tại 02-ha-tang-so.typ, dòng 41, cột 3 (chương 02-ha-tang-so.ipynb): …'
    from typst's diagnostic, which names the file, line and column and quotes the line (the
    typst sources live in the build's staging folder, which a failed build removes)."""
    message = str(getattr(exc, "message", "") or exc).strip() or type(exc).__name__
    diagnostic = str(getattr(exc, "diagnostic", "") or "")
    found = TYPST_WHERE.search(diagnostic)
    if not found:
        return f"typst thất bại khi biên dịch {OUTPUT_NAME}.typ: {message}"
    name = Path(found["file"]).name
    what = (f"chương {Path(name).stem}.ipynb" if name != f"{OUTPUT_NAME}.typ"
            else "phần chung của báo cáo: trang bìa, mục lục, nguồn số liệu")
    where = f"{name}, dòng {found['line']}, cột {found['col']}"
    detail = diagnostic.strip()[:1500]
    return f"typst thất bại tại {where} ({what}): {message}\n{detail}"


def font_dir() -> Path:
    """DejaVu fonts ship with matplotlib: a Vietnamese-capable font on every machine. Found
    without importing matplotlib (0,1 s of a rebuild)."""
    from importlib.util import find_spec

    return Path(find_spec("matplotlib").submodule_search_locations[0]) / "mpl-data" / "fonts" / "ttf"


def render_quarto(prepared: list[Path], workdir: Path, meta: Meta, formats: tuple[str, ...], out_dir: Path,
                  quarto_yml: Path) -> list[Path]:
    """Render a Quarto book made from the project's `_quarto.yml` and the prepared notebooks."""
    import yaml

    project_dir = workdir / "quarto"
    project_dir.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load(quarto_yml.read_text(encoding="utf-8"))
    chapters = []
    for nb_path in prepared:
        shutil.copyfile(nb_path, project_dir / nb_path.name)
        chapters.append(nb_path.name)
    md = escape.markdown
    (project_dir / "index.qmd").write_text(
        f"# Lời giới thiệu {{.unnumbered}}\n\n**{md(meta.subtitle)}**\n\n{md(meta.issuer)}\n\n*{md(meta.cutoff)}.*\n",
        encoding="utf-8")
    (project_dir / "nguon.qmd").write_text(meta.sources_markdown.replace("# Nguồn số liệu", "# Nguồn số liệu {.unnumbered}", 1),
                                           encoding="utf-8")
    book = config.setdefault("book", {})
    book.update({"title": md(meta.title), "subtitle": md(meta.subtitle), "author": md(meta.issuer), "date": md(meta.date),
                 "chapters": ["index.qmd", *chapters, "nguon.qmd"], "output-file": OUTPUT_NAME})
    config.setdefault("project", {})["output-dir"] = "_book"
    config["project"].pop("render", None)
    (project_dir / "_quarto.yml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                                             encoding="utf-8")
    to = ",".join({"pdf": "pdf", "html": "html", "docx": "docx"}[f] for f in formats)
    _run(["quarto", "render", str(project_dir), "--to", to, "--no-execute"], project_dir, "quarto render")
    book_dir = project_dir / "_book"
    out_dir.mkdir(parents=True, exist_ok=True)
    published = []
    for fmt in formats:
        if fmt == "html":
            site = out_dir / f"{OUTPUT_NAME}-html"
            shutil.copytree(book_dir, site, ignore=shutil.ignore_patterns("*.pdf", "*.docx"), dirs_exist_ok=True)
            redirect = out_dir / f"{OUTPUT_NAME}.html"
            redirect.write_text(
                f'<!doctype html><html lang="vi"><meta charset="utf-8"><meta http-equiv="refresh" '
                f'content="0; url={OUTPUT_NAME}-html/index.html"><title>{escape.html(meta.subtitle)}</title>'
                f'<a href="{OUTPUT_NAME}-html/index.html">{escape.html(meta.subtitle)}</a></html>', encoding="utf-8")
            published += [redirect, site]
        else:
            found = next(book_dir.rglob(f"*.{fmt}"), None)
            if found is None:
                raise RenderError(f"quarto không tạo ra tệp .{fmt}")
            dest = out_dir / f"{OUTPUT_NAME}.{fmt}"
            shutil.copyfile(found, dest)
            published.append(dest)
    return published



