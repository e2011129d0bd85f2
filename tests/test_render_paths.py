"""The render's shortcuts agree with the long way: a chapter's Markdown written without a pandoc
process reads as pandoc's own reading of the notebook, the HTML's figures inlined by the build
are the build's own files and nothing else, and charts one kernel drew are read by the others."""

from __future__ import annotations

import base64
import json
import dataclasses
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from dxreport import charts, execute, render
from dxreport.build import build
from dxreport.errors import RenderError
from dxreport.notebook_env import is_check
from dxreport.paths import project

from conftest import REPO, make_project

CHAPTERS = sorted(p.name for p in (REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def pandoc_markdown(nb_path: Path) -> str:
    """What the build did before: pandoc reads the notebook through the chapter filter."""
    env = {**os.environ, "DXREPORT_GUARD": "0" * 32, render.STAGE_ENV: ""}
    return subprocess.run([render.pandoc_path(), str(nb_path), "-f", "ipynb", "-t", "markdown", "--sandbox",
                           "--lua-filter", str(render.FILTER), "--wrap=none"],
                          capture_output=True, text=True, check=True, env=env).stdout


def ast(markdown: str) -> list:
    out = subprocess.run([render.pandoc_path(), "-f", "markdown", "-t", "json"], input=markdown,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["blocks"]


def write(nb, path: Path) -> Path:
    nbformat.write(nb, str(path))
    return path


def shown(text: str, kind: str = "display_data"):
    if kind == "execute_result":
        return nbformat.v4.new_output(kind, data={"text/markdown": text, "text/plain": "x"}, execution_count=1)
    return nbformat.v4.new_output(kind, data={"text/markdown": text, "text/plain": "x"})


def code(*outputs):
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = list(outputs)
    return cell


# -- a chapter's Markdown without pandoc ---------------------------------------------------------------
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A real build of every chapter, with what its render was handed kept aside: the chapters'
    Markdown, the figures and the title page."""
    root = make_project(tmp_path_factory.mktemp("paths"), CHAPTERS)
    kept = tmp_path_factory.mktemp("render-input")
    handed = {}
    real = render.render_pandoc

    def keep(parts, workdir, meta, formats, out_dir, **kwargs):
        shutil.copytree(workdir, kept, dirs_exist_ok=True)
        handed.update(parts=[kept / p.name for p in parts], meta=meta)
        return real(parts, workdir, meta, formats, out_dir, **kwargs)

    render.render_pandoc = keep
    try:
        build("nghe-an", "2023-Q3", root=root, progress=False)
    finally:
        render.render_pandoc = real
    return root, handed


@pytest.fixture(scope="module")
def executed(built, tmp_path_factory):
    root, _ = built
    folder = project(root).report_cache_dir("nghe-an", "2023-Q3") / "notebooks"
    prepared = tmp_path_factory.mktemp("prepared")
    return [render.prepare(nb, prepared / nb.name) for nb in sorted(folder.glob("*.ipynb"))]


def test_every_real_chapter_is_written_as_pandoc_writes_it(executed):
    assert [p.name for p in executed] == CHAPTERS
    for nb_path in executed:
        own = render.notebook_markdown(json.loads(nb_path.read_text(encoding="utf-8")))
        assert own is not None, nb_path.name  # the real chapters take the short way
        assert own == pandoc_markdown(nb_path), nb_path.name


def test_headings_named_the_readers_way_fences_and_results_agree_with_pandoc(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Phụ lục 1. Danh mục, văn bản\n\nLời dẫn 2.5 có dấu chấm."),
        code(shown("Câu một\\."), shown("::: {.khung}\nbên trong\n:::")),
        nbformat.v4.new_markdown_cell("## 3 điều cần biết\n\n- một\n- hai"),
        code(shown("Kết quả\\: 98\\%", "execute_result")),
        nbformat.v4.new_markdown_cell("### Mục con-x (2025)"),
    ]
    path = write(nb, tmp_path / "a.ipynb")
    own = render.notebook_markdown(json.loads(path.read_text(encoding="utf-8")))
    assert own is not None
    assert "{#phụ-lục-1-danh-mục-văn-bản}" in own  # the period and comma dropped, as GitHub names it
    assert "\n::::" in own  # the output holds a ::: fence: its own fence is longer
    assert ast(own) == ast(pandoc_markdown(path))


@pytest.mark.parametrize("cell", [
    nbformat.v4.new_raw_cell("<b>thô</b>"),
    nbformat.v4.new_markdown_cell("Tiêu đề gạch dưới\n=================="),
    nbformat.v4.new_markdown_cell("## Tiêu đề *nhấn mạnh*"),
    nbformat.v4.new_markdown_cell("```\nmã\n```"),
    code(nbformat.v4.new_output("display_data", data={"text/html": "<p>chỉ HTML</p>"})),
    code(nbformat.v4.new_output("stream", name="stdout", text="in ra")),
], ids=["raw", "setext", "heading-syntax", "fenced-code", "html-only", "stream"])
def test_what_the_short_way_cannot_vouch_for_goes_to_pandoc(cell):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Chương"), cell]
    assert render.notebook_markdown(json.loads(nbformat.writes(nb))) is None


def test_two_headings_of_one_name_go_to_pandoc():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("## Các chỉ tiêu khác"), nbformat.v4.new_markdown_cell("## Các chỉ tiêu khác")]
    assert render.notebook_markdown(json.loads(nbformat.writes(nb))) is None


def test_a_notebook_pandoc_must_read_is_still_converted(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Chương"), nbformat.v4.new_raw_cell("thô")]
    md = render.chapter_markdown(write(nb, tmp_path / "b.ipynb"), tmp_path / "work")
    assert md.read_text(encoding="utf-8").startswith("# Chương")


# -- a batch makes each period's frame and check sheet ahead --------------------------------------------
def test_what_a_batch_makes_ahead_is_what_a_build_looks_for(built, monkeypatch):
    """`build.prepare_ahead` keys the report's frame and check sheet as the build looks them up:
    for the period just built it finds them and makes nothing; for another it makes each once."""
    from dxreport import build as build_module, cache, checks, periods
    from dxreport.files import data_files

    root, _ = built
    paths = project(root)
    made = []
    monkeypatch.setattr(build_module, "title_meta", lambda *a, **k: made.append("frame") or "frame")
    monkeypatch.setattr(checks, "write_check_sheet",
                        lambda data, province, chosen, folder: made.append("sheet") or _sheet(folder))
    args = (paths, paths.data_dir, None)
    keys = (cache.data_hash(data_files(paths.data_dir)), cache.code_hash(paths))
    build_module.prepare_ahead(*args, [("nghe-an", periods.parse("2023-Q3"))], *keys)
    assert made == []  # the build made both, under the same keys
    other = periods.parse("2023-Q4")
    try:
        build_module.prepare_ahead(*args, [("nghe-an", other)], *keys)
        build_module.prepare_ahead(*args, [("nghe-an", other)], *keys)
        assert made == ["frame", "sheet"]
    finally:  # the stand-ins are not left for a later build of that period
        (paths.cache_dir / "meta" / f"{build_module._meta_key(*keys, paths.data_dir, 'nghe-an', other)}.pickle").unlink()
        (paths.cache_dir / "checks" / f"{build_module._checks_key(*keys, 'nghe-an', other)}.xlsx").unlink()


def _sheet(folder: Path) -> Path:
    from dxreport.paths import CHECK_SHEET_NAME

    path = folder / CHECK_SHEET_NAME
    path.write_bytes(b"sheet")
    return path


# -- a whole report in one pandoc process ------------------------------------------------------------
def render_both(handed: dict, meta, tmp_path: Path) -> dict[str, Path]:
    """The same report rendered the three ways, each in its own copy of the working folder: four
    pandoc processes, one, and a batch's warm one (twice: the second time its cells come from
    its memory); the command-line way reads the whole parsed document for the PDF too, as a
    batch does."""
    source = handed["parts"][0].parent
    done = {}
    server = render.PandocServer()
    try:
        for way in ("cli", "one", "server", "server-again"):
            work = tmp_path / f"work-{way}"
            shutil.copytree(source, work)
            for typ in work.glob("[0-9][0-9]-*.typ"):
                typ.unlink()
            parts = [work / p.name for p in handed["parts"]]
            render.render_pandoc(parts, work, meta, ("html", "pdf", "docx"), work / "out", one_process=way != "cli",
                                 server=server if way.startswith("server") else None)
            done[way] = work
    finally:
        server.close()
    assert server.counts[0] > 0  # the second report's cells were read from memory
    return done


def docx_parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.parametrize("form", ["official", "plain"])
def test_one_pandoc_process_and_a_warm_one_write_what_four_write(built, tmp_path, form):
    _, handed = built
    meta = handed["meta"] if form == "official" else dataclasses.replace(handed["meta"], official=None)
    cli, *others = render_both(handed, meta, tmp_path).values()
    for one in others:
        for name in ("out/bao-cao.html", "bao-cao.typ"):
            assert (one / name).read_bytes() == (cli / name).read_bytes(), (one.name, name)
        assert docx_parts(one / "out/bao-cao.docx") == docx_parts(cli / "out/bao-cao.docx"), one.name
    one = others[0]
    html = (one / "out/bao-cao.html").read_text(encoding="utf-8")
    assert 'src="data:image/png;base64,' in html and ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in html) == (form == "official")
    assert ('id="TOC"' in html) == (form == "plain")  # the plain report's table of contents came through


@pytest.mark.parametrize("warm", [False, True], ids=["own-process", "warm-server"])
def test_the_one_process_reads_no_file_it_was_not_handed(built, tmp_path, warm):
    """The joined Markdown points at a file on the machine: the reader opens nothing (its sandbox
    holds no file) and the guard drops the image, so the report cannot carry it; a batch's warm
    pandoc neither (it reads cells on their own, each in the same sandbox)."""
    _, handed = built
    secret = tmp_path / "bi-mat.png"
    secret.write_bytes(PNG)
    part = handed["parts"][0]
    work = tmp_path / "work"
    shutil.copytree(part.parent, work)
    planted = work / part.name
    planted.write_text(planted.read_text(encoding="utf-8") + f"\n\n![lộ]({secret})\n\n![lộ](../bi-mat.png)\n\n"
                       f"::: {{.output .display_data}}\n![lộ]({secret})\n:::\n", encoding="utf-8")  # a cell read alone
    parts = [work / p.name for p in handed["parts"]]
    server = render.PandocServer() if warm else None
    try:
        render.render_pandoc(parts, work, handed["meta"], ("html", "docx"), work / "out", one_process=True, server=server)
    finally:
        if server is not None:
            server.close()
    html = (work / "out/bao-cao.html").read_text(encoding="utf-8")
    assert base64.b64encode(PNG).decode() not in html and "bi-mat" not in html
    assert not any(name.endswith(".png") and data == PNG for name, data in docx_parts(work / "out/bao-cao.docx").items())


# -- the HTML's figures, inlined by the build ----------------------------------------------------------
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def page(body: str) -> str:
    return ('<html><head><meta name="generator" content="pandoc" />\n<style>\n/* Default styles provided by pandoc. */\n'
            f'body {{ color: #111; }}\n</style></head><body>{body}</body></html>')


def test_the_builds_figures_are_inlined_and_the_tool_named_nowhere(tmp_path):
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / ("a" * 20 + ".png")).write_bytes(PNG)
    out = tmp_path / "r.html"
    out.write_text(page(f'<figure><img src="media/{"a" * 20}.png" alt="Hình 1" /></figure><a href="#muc-1">x</a>'),
                   encoding="utf-8")
    render.embed_figures(out, tmp_path)
    html = out.read_text(encoding="utf-8")
    assert f'src="data:image/png;base64,{base64.b64encode(PNG).decode()}"' in html
    assert "pandoc" not in html and "/*" not in html and "color: #111" in html


@pytest.mark.parametrize("body", [
    '<img src="../secret.png" alt="x" />',
    '<img src="/etc/passwd" alt="x" />',
    '<video poster="file:///etc/hostname"></video>',
    '<img src="media/bbbbbbbbbbbbbbbbbbbb.png" alt="thiếu" />',
], ids=["outside", "absolute", "file-url", "missing-figure"])
def test_a_page_pointing_at_anything_else_on_the_machine_is_refused(tmp_path, body):
    (tmp_path / "media").mkdir()
    out = tmp_path / "r.html"
    out.write_text(page(body), encoding="utf-8")
    before = out.read_bytes()
    with pytest.raises(RenderError):
        render.embed_figures(out, tmp_path)
    assert out.read_bytes() == before  # nothing written


# -- charts shared by the kernels of a pool ------------------------------------------------------------
def test_a_chart_one_kernel_drew_is_read_by_another(tmp_path, monkeypatch):
    frame = pd.DataFrame({"l": ["a", "b"], "v": [40.0, 55.5]})
    monkeypatch.setenv(charts.STORE_ENV, str(tmp_path))
    monkeypatch.setattr(charts, "_MEMO", type(charts._MEMO)())
    before = charts.draws
    first = charts.drawn(charts.bars, frame, "l", "v", "%", target=60)
    assert charts.draws == before + 1 and len(list(tmp_path.glob("*.png"))) == 1
    monkeypatch.setattr(charts, "_MEMO", type(charts._MEMO)())  # another kernel: its own memo is empty
    assert charts.drawn(charts.bars, frame.copy(), "l", "v", "%", target=60) == first
    assert charts.draws == before + 1  # read, not drawn
    charts.drawn(charts.bars, frame, "l", "v", "%", target=70)  # other arguments: drawn
    assert charts.draws == before + 2 and len(list(tmp_path.glob("*.png"))) == 2


def test_a_damaged_shared_chart_is_drawn_again(tmp_path, monkeypatch):
    frame = pd.DataFrame({"l": ["a"], "v": [12.0]})
    monkeypatch.setenv(charts.STORE_ENV, str(tmp_path))
    monkeypatch.setattr(charts, "_MEMO", type(charts._MEMO)())
    good = charts.drawn(charts.bars, frame, "l", "v", "%")
    (stored,) = tmp_path.glob("*.png")
    stored.write_bytes(b"not a png")
    monkeypatch.setattr(charts, "_MEMO", type(charts._MEMO)())
    before = charts.draws
    assert charts.drawn(charts.bars, frame, "l", "v", "%") == good and charts.draws == before + 1
    assert stored.read_bytes() == good


def test_the_pool_hands_its_kernels_a_store_of_its_own_and_takes_it_away(tmp_path, monkeypatch):
    monkeypatch.setenv(charts.STORE_ENV, "/somewhere/inherited")
    assert charts.STORE_ENV not in execute._kernel_env(tmp_path, "")  # never one from the environment
    pool = execute.KernelPool(tmp_path, tmp_path / "k.lock", tmp_path / "k.log", workers=1)
    try:
        store = pool.runtime / "charts"
        assert store.is_dir()
        assert execute._kernel_env(tmp_path, "", store)[charts.STORE_ENV] == str(store)
        pool.run([])
        assert pool.kernels[0].charts == store
    finally:
        pool.close()
    assert not store.exists()


def test_a_writer_s_lines_arrive_as_printed_and_its_errors_still_fail_the_render(tmp_path):
    """The one-process writer prints each file's path once the file is whole, and the PDF starts
    compiling on that line: the lines come in order, a process that also fills its error stream
    does not stall, and one that fails still raises with what it said."""
    import sys

    script = ("import sys\nsys.stderr.write('x' * 300000)\nfor i in range(3):\n    print(f'tệp-{i}', flush=True)\n"
              "sys.exit(int(sys.argv[1]))")
    seen: list[str] = []
    render._run([sys.executable, "-c", script, "0"], tmp_path, "thử", on_line=seen.append)
    assert seen == ["tệp-0", "tệp-1", "tệp-2"]
    seen.clear()
    with pytest.raises(RenderError) as err:
        render._run([sys.executable, "-c", script.replace("'x' * 300000", "'hỏng rồi'"), "3"], tmp_path, "thử",
                    on_line=seen.append)
    assert seen == ["tệp-0", "tệp-1", "tệp-2"] and "thử thất bại (mã 3): hỏng rồi" in str(err.value)


# -- the chapter run: Papermill's steps, outputs made without a check per output ------------------------
@pytest.mark.parametrize("msg_type, content", [
    ("stream", {"name": "stdout", "text": "dòng 1\n"}),
    ("display_data", {"data": {"text/markdown": "**a**", "text/plain": "a"}, "metadata": {"x": {"y": 1}},
                      "transient": {"display_id": "d"}}),
    ("execute_result", {"data": {"text/plain": "3"}, "metadata": {}, "execution_count": 4}),
    ("error", {"ename": "ValueError", "evalue": "x", "traceback": ["t1", "t2"]}),
])
def test_an_output_is_made_as_nbformat_makes_it(msg_type, content):
    msg = {"header": {"msg_type": msg_type}, "msg_type": msg_type, "content": content, "parent_header": {}}
    mine = execute.output_node(msg)
    assert mine == nbformat.v4.output_from_msg(msg)
    assert isinstance(mine, nbformat.NotebookNode) and isinstance(mine.get("metadata", {}), dict)
    nbformat.validate(mine, "output", version=4)


def test_a_message_that_is_not_an_output_makes_none():
    assert execute.output_node({"header": {"msg_type": "status"}, "content": {"execution_state": "idle"}}) is None


def test_only_the_ci_checks_are_marked_not_to_run():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(ch.key_figures())", metadata={"tags": ["remove-cell"]}),
        nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(1)"),  # shown in the report: it runs
        nbformat.v4.new_code_cell("setup()", metadata={"tags": ["remove-cell"]}),  # hidden set-up: it runs
        nbformat.v4.new_markdown_cell("# NBVAL_CHECK_OUTPUT", metadata={"tags": ["remove-cell"]}),
    ])
    assert execute.skip_checks(nb) == 1
    assert [c.metadata.get("tags") for c in nb.cells] == [["remove-cell", "skip-execution"], None, ["remove-cell"],
                                                           ["remove-cell"]]


def test_a_built_chapter_is_valid_and_its_ci_check_did_not_run(built):
    root, _ = built
    folder = project(root).report_cache_dir("nghe-an", "2023-Q3") / "notebooks"
    for path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        nbformat.validate(nb)
        checks = [c for c in nb.cells if is_check(c)]
        assert checks and all(c.outputs == [] and c.execution_count is None for c in checks), path.name
        ran = [c for c in nb.cells if c.cell_type == "code" and "skip-execution" not in c.metadata.get("tags", [])
               and "parameters" not in c.metadata.get("tags", [])]
        assert ran and all(c.execution_count for c in ran), path.name
        assert path.read_text(encoding="utf-8") == nbformat.writes(nb) + "\n"  # nbformat's own layout


def test_the_report_reader_keeps_tex_maths_and_citations_as_text():
    """An analyst's `$`, `\\` and `@` are text in the report, not maths, raw TeX or a citation
    (which pandoc's default Markdown would make, and the writers would render or drop)."""
    text = "Chi phí $5$ triệu đồng, \\textbf{đậm} và @nguon-1 [@nguon-2].\n\n\\newcommand{\\x}{y}\n"
    out = subprocess.run([render.pandoc_path(), "-f", render.READER, "-t", "json"], input=text,
                         capture_output=True, text=True, check=True).stdout
    kinds = json.dumps(json.loads(out)["blocks"])
    assert '"Math"' not in kinds and '"RawInline"' not in kinds and '"RawBlock"' not in kinds and '"Cite"' not in kinds
    plain = subprocess.run([render.pandoc_path(), "-f", render.READER, "-t", "plain"], input=text,
                           capture_output=True, text=True, check=True).stdout
    assert "$5$" in plain and "\\textbf{đậm}" in plain and "@nguon-1" in plain
    default = subprocess.run([render.pandoc_path(), "-f", "markdown", "-t", "json"], input=text,
                             capture_output=True, text=True, check=True).stdout
    assert '"Math"' in default and '"Cite"' in default  # what the default would have made of it
