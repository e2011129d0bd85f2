"""What lets a rebuild or a site do less: chapters keyed on their code, prose spliced into cached
outputs, data checked once, charts drawn once per kernel, one kernel pool for a whole site."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from dxreport import cache, charts
from dxreport.build import build

from conftest import REPO, make_project, set_cell

CHAPTER = "02-ha-tang-so.ipynb"


def _notebook(path: Path, cells: list) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nbformat.write(nb, str(path))
    return path


def _edit(path: Path, index: int, source: str) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["cells"][index]["source"] = source
    path.write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")


# -- the chapter key: code, not prose ---------------------------------------------------------------
def test_code_cells_hash_ignores_prose_but_not_code_tags_or_structure(tmp_path):
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    path = _notebook(tmp_path / "a.ipynb", [md("# Tiêu đề"), code("x = 1"), md("Lời văn")])
    base = cache.code_cells_hash(path)
    _edit(path, 2, "Lời văn đã sửa")
    assert cache.code_cells_hash(path) == base
    _edit(path, 1, "x = 2")
    assert cache.code_cells_hash(path) != base
    _edit(path, 1, "x = 1")
    assert cache.code_cells_hash(path) == base
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["cells"][1]["metadata"]["tags"] = ["remove-cell"]
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert cache.code_cells_hash(path) != base
    _notebook(path, [md("# Tiêu đề"), md("thêm"), code("x = 1"), md("Lời văn")])
    assert cache.code_cells_hash(path) != base  # a cell more: positions differ


def test_splice_markdown_takes_new_prose_keeps_outputs_and_refuses_other_cells(tmp_path):
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    executed = nbformat.v4.new_notebook()
    params = code("period = None")
    params.metadata["tags"] = ["parameters"]
    injected = code('period = "2023-Q3"')
    injected.metadata["tags"] = ["injected-parameters"]
    shown = code("print(1)")
    shown.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    executed.cells = [md("# Cũ"), params, injected, shown, md("Lời cũ")]
    blob = nbformat.writes(executed).encode("utf-8")

    fresh = md("Lời mới")
    fresh.metadata["tags"] = ["remove-cell"]
    source = _notebook(tmp_path / "s.ipynb", [md("# Mới"), code("period = None"), code("print(1)"), fresh])
    spliced = json.loads(cache.splice_markdown(blob, source))
    texts = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in spliced["cells"]]
    assert texts == ["# Mới", "period = None", 'period = "2023-Q3"', "print(1)", "Lời mới"]
    assert "".join(spliced["cells"][3]["outputs"][0]["text"]) == "1\n"
    assert spliced["cells"][4]["metadata"]["tags"] == ["remove-cell"]

    _notebook(source, [md("# Mới"), code("period = None"), code("print(2)"), md("Lời mới")])
    assert cache.splice_markdown(blob, source) is None  # code differs: run again
    _notebook(source, [md("# Mới"), code("period = None"), code("print(1)")])
    assert cache.splice_markdown(blob, source) is None  # a cell fewer
    _notebook(source, [code("# Mới"), code("period = None"), code("print(1)"), md("x")])
    assert cache.splice_markdown(blob, source) is None  # a cell changed type


@pytest.mark.e2e
def test_edited_prose_rebuilds_without_running_a_chapter_and_edited_code_reruns(tmp_path, monkeypatch):
    root = make_project(tmp_path / "proj", [CHAPTER])
    first = build("nghe-an", "2023-Q3", root=root, progress=False, formats=("html", "pdf"))
    assert first.executed == [CHAPTER]
    nb_path = root / "notebooks" / CHAPTER
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    prose = next(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "markdown" and i > 0)
    _edit(nb_path, prose, "## Băng rộng di động\n\nĐoạn văn sửa trong kiểm thử: mạng di động phủ khắp tỉnh.")

    # the data passed its checks in the first build: they do not run again for the same bytes
    import dxreport.validate

    def no_check(*_args, **_kwargs):
        raise AssertionError("data checked again")

    monkeypatch.setattr(dxreport.validate, "check_frames", no_check)
    import dxreport.checks

    sheet = (first.out_dir / "kiem-tra-so-lieu.xlsx").read_bytes()
    monkeypatch.setattr(dxreport.checks, "write_check_sheet", no_check)  # same data and period: copied
    # nor are the tables read at all: the title page and the form come from the cache
    import dxreport.build
    import dxreport.data

    monkeypatch.setattr(dxreport.data, "load", no_check)
    monkeypatch.setattr(dxreport.build, "title_meta", no_check)
    second = build("nghe-an", "2023-Q3", root=root, progress=False, formats=("html", "pdf"))
    assert (second.out_dir / "kiem-tra-so-lieu.xlsx").read_bytes() == sheet

    assert not second.skipped and second.executed == [] and second.cached == [CHAPTER]
    html = (second.out_dir / "bao-cao.html").read_text(encoding="utf-8")
    assert "Đoạn văn sửa trong kiểm thử" in html
    assert "29,45 Mbps" in html  # the figures still there, from the cached outputs
    assert "Kết quả chuyển đổi số tỉnh Nghệ An quý III năm 2023" in html  # and the title, from the cache

    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    code = next(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
                and "parameters" not in c["metadata"].get("tags", []))
    _edit(nb_path, code, "".join(nb["cells"][code]["source"]) + "\n# sửa mã trong kiểm thử")
    third = build("nghe-an", "2023-Q3", root=root, progress=False, formats=("html", "pdf"))
    assert third.executed == [CHAPTER]

    # the narrative is part of the title page's key: edited, the frame is built again
    assert not any("đoạn thử" in line for line in third.remarks)
    monkeypatch.undo()
    story = root / "data" / "bao-cao" / "nghe-an" / "2023-Q3.md"
    story.write_text(story.read_text(encoding="utf-8") + "\n[[CẦN BỔ SUNG: đoạn thử]]\n", encoding="utf-8")
    fourth = build("nghe-an", "2023-Q3", root=root, progress=False, formats=("html",))
    assert fourth.draft and any("đoạn thử" in line for line in fourth.remarks)

    # other bytes are checked again
    obs = root / "data" / "observations.csv"
    line = next(i for i, row in enumerate(obs.read_text(encoding="utf-8").splitlines(), 1)
                if ",bbdd_toc_do,,2023-08-30," in row)
    set_cell(obs, line, "note", "SỬA ĐỔI GIẢ LẬP trong kiểm thử")
    monkeypatch.undo()  # the sheet may be written again; the checks are watched once more
    monkeypatch.setattr(dxreport.validate, "check_frames", no_check)
    with pytest.raises(AssertionError, match="data checked again"):
        build("nghe-an", "2023-Q3", root=root, progress=False, formats=("html",))


# -- charts drawn once ------------------------------------------------------------------------------
def test_the_same_chart_of_the_same_data_is_drawn_once(monkeypatch):
    monkeypatch.setattr(charts, "_MEMO", type(charts._MEMO)())
    monkeypatch.setattr(charts, "_memo_size", 0)
    frame = pd.DataFrame({"l": ["Huyện A", "Huyện B"], "v": [40.0, 55.5]})
    before = charts.draws
    first = charts.drawn(charts.bars, frame, "l", "v", "%", target=60)
    again = charts.drawn(charts.bars, frame.copy(), "l", "v", "%", target=60)
    assert first.startswith(b"\x89PNG") and again == first and charts.draws == before + 1
    charts.drawn(charts.bars, frame.assign(v=[40.0, 55.6]), "l", "v", "%", target=60)  # a value differs
    charts.drawn(charts.bars, frame, "l", "v", "%", target=70)  # an argument differs
    charts.drawn(charts.bars, frame.set_axis([5, 6]), "l", "v", "%", target=60)  # the index differs
    charts.drawn(charts.bars, frame, "l", "v", "%", target=60, dpi=100)  # the resolution differs
    assert charts.draws == before + 5


def test_a_chart_argument_without_fingerprint_is_drawn_every_time_and_the_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(charts, "_MEMO", type(charts._MEMO)())
    monkeypatch.setattr(charts, "_memo_size", 0)
    frame = pd.DataFrame({"l": ["a"], "v": [1.0]})

    def odd(frame, thing):
        return charts.bars(frame, "l", "v", "%")

    before = charts.draws
    charts.drawn(odd, frame, object())
    charts.drawn(odd, frame, object())
    assert charts.draws == before + 2 and not charts._MEMO

    monkeypatch.setattr(charts, "MEMO_LIMIT", 60_000)
    for i in range(8):
        charts.drawn(charts.bars, pd.DataFrame({"l": [f"mục {i}"], "v": [float(i + 1)]}), "l", "v", "%")
    assert 0 < charts._memo_size <= 60_000
    assert charts._memo_size == sum(len(v) for v in charts._MEMO.values())


# -- warm kernels -----------------------------------------------------------------------------------
@pytest.mark.e2e
def test_chapters_sharing_a_kernel_see_nothing_of_each_other_and_leave_no_history(tmp_path):
    from dxreport import execute

    code = nbformat.v4.new_code_cell
    first = _notebook(tmp_path / "a.ipynb", [code("leak = 41\nimport matplotlib.pyplot as plt\nplt.figure()")])
    # a key-figure cell first (a build does not run it): the reset goes with the first cell that
    # runs, here the parameters
    check = code("# NBVAL_CHECK_OUTPUT\nprint(leak)", metadata={"tags": ["remove-cell"]})
    params = code("x = 0", metadata={"tags": ["parameters"]})
    second = _notebook(tmp_path / "b.ipynb", [check, params, code(
        "import matplotlib.pyplot as plt, gc, logging\n"
        "print('leak' in dir(), len(plt.get_fignums()), get_ipython().history_manager.hist_file)\n"
        "print(gc.get_freeze_count() > 10000, logging.getLogger('IPKernelApp').isEnabledFor(logging.DEBUG))")])
    for path in (first, second):
        nb = nbformat.read(str(path), as_version=4)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, str(path))
    jobs = [execute.Job(p.stem, p.stem, p, tmp_path / f"out-{p.name}", {}) for p in (first, second)]
    with execute.KernelPool(tmp_path, tmp_path / "start.lock", tmp_path / "kernel.log", workers=1) as pool:
        pool.run(jobs, progress=False)
    out = nbformat.read(str(tmp_path / "out-b.ipynb"), as_version=4)
    printed = "".join(o.get("text", "") for c in out.cells for o in c.get("outputs", []))
    assert printed.strip() == "False 0 :memory:\nTrue False"  # warmed up: imports frozen, no debug records
    ran = [c.source for c in out.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    assert ran == [c.source for c in nbformat.read(str(second), as_version=4).cells]  # read as written
    assert "fresh_namespace" not in json.dumps(out)


def test_papermill_bookkeeping_of_a_cell_keeps_its_times_without_dateutil(monkeypatch):
    import datetime

    import dateutil.parser
    from papermill.engines import papermill_engines

    from dxreport import execute

    def refused(*_args, **_kwargs):
        raise AssertionError("dateutil's general parser was called")

    monkeypatch.setattr(dateutil.parser, "parse", refused)
    manager = papermill_engines.get_engine(execute._warm_engine()).manager
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_markdown_cell("# Đề mục")]
    nb.metadata.papermill = {}  # as Papermill's prepare_notebook_metadata leaves it
    man = manager(nb, progress_bar=False)
    man.notebook_start()
    for index, cell in enumerate(man.nb.cells):
        man.cell_start(cell, index)
        man.cell_complete(cell, index)
    man.notebook_complete()
    for cell in man.nb.cells:
        times = cell.metadata.papermill
        start, end = (datetime.datetime.fromisoformat(times[k]) for k in ("start_time", "end_time"))
        assert times["duration"] == (end - start).total_seconds() >= 0
        assert times["status"] == "completed" and times["exception"] is False
    assert man.nb.metadata.papermill["duration"] >= 0


def test_the_pool_says_when_every_chapter_is_taken_and_a_second_run_waits_for_a_busy_kernel(tmp_path):
    """A batch hands the next period to the pool once the last chapter of this one is taken, not
    finished; a run that arrives then uses the free kernel and waits for the busy one."""
    import threading

    from dxreport import execute

    code = nbformat.v4.new_code_cell

    def chapter(name: str, source: str) -> Path:
        path = _notebook(tmp_path / f"{name}.ipynb", [code(source)])
        nb = nbformat.read(str(path), as_version=4)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, str(path))
        return path

    def job(path: Path) -> execute.Job:
        return execute.Job(path.stem, path.stem, path, tmp_path / f"out-{path.name}", {})

    slow, quick, quick2, later = (chapter("slow", "import time\ntime.sleep(4)"), chapter("quick", "x = 1"),
                                  chapter("quick2", "y = 2"), chapter("later", "z = 3"))
    finished, drained = [], []
    with execute.KernelPool(tmp_path, tmp_path / "start.lock", tmp_path / "kernel.log", workers=2) as pool:
        def on_drained():
            drained.append(list(finished))
            # the next run starts while the slow chapter still holds its kernel
            second = threading.Thread(target=pool.run, args=([job(later)], False),
                                      kwargs={"on_done": lambda j, _s, _nb: finished.append(j.slug)})
            second.start()
            threads.append(second)

        threads: list = []
        pool.run([job(slow), job(quick), job(quick2)], False,
                 on_done=lambda j, _s, _nb: finished.append(j.slug), on_drained=on_drained)
        for thread in threads:
            thread.join()
    assert len(drained) == 1 and "slow" not in drained[0]  # called once, before the slow one ended
    assert set(finished) == {"slow", "quick", "quick2", "later"}
    assert finished.index("later") < finished.index("slow")  # ran on the free kernel meanwhile


@pytest.mark.e2e
def test_a_site_of_two_periods_starts_its_kernels_once(tmp_path, monkeypatch):
    from dxreport import execute
    from dxreport.site import build_site

    started = []
    original = execute.KernelPool.__init__

    def counting(self, *args, **kwargs):
        started.append(kwargs.get("workers", args[3] if len(args) > 3 else None))
        original(self, *args, **kwargs)

    monkeypatch.setattr(execute.KernelPool, "__init__", counting)
    root = make_project(tmp_path / "proj", [CHAPTER])
    result = build_site(["nghe-an"], ["2023-Q2", "2023-Q3"], root=root, progress=False)
    assert len(started) == 1
    assert [r.period.code for r in result.reports] == ["2023-Q2", "2023-Q3"]
    for code in ("2023-Q2", "2023-Q3"):
        assert (result.out / "nghe-an" / code / "index.html").is_file()
        assert (root / "outputs" / "nghe-an" / code / "bao-cao.pdf").is_file()
    # the kernels boot before the data is read only when a chapter will run: not for a site whose
    # chapters are all cached, again for one whose chapter code changed
    from dxreport.build import executes
    from dxreport.cache import data_hash
    from dxreport.files import data_files
    from dxreport.paths import project

    paths, data = project(root), data_hash(data_files(root / "data"))
    assert not executes(paths, [("nghe-an", "2023-Q2"), ("nghe-an", "2023-Q3")], data)
    assert executes(paths, [("nghe-an", "2023-Q4")], data)
    again = build_site(["nghe-an"], ["2023-Q2", "2023-Q3"], root=root, progress=False)
    assert len(started) == 1 and all(r.skipped for r in again.reports)
    chapter = root / "notebooks" / CHAPTER
    nb = nbformat.read(str(chapter), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("x = 1"))
    nbformat.write(nb, str(chapter))
    assert executes(paths, [("nghe-an", "2023-Q2")], data)


@pytest.mark.e2e
def test_a_period_that_fails_fails_the_site_stops_the_kernels_and_keeps_the_previous_site(tmp_path):
    import psutil

    from dxreport.errors import ChapterError
    from dxreport.site import build_site

    root = make_project(tmp_path / "proj", [CHAPTER])
    first = build_site(["nghe-an"], ["2023-Q2"], root=root, progress=False)
    before = (first.out / "index.html").read_bytes()
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('province = "nghe-an"\nperiod = None\ndata_dir = None')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Chương lỗi"), params,
                nbformat.v4.new_code_cell('if period == "2023-Q3":\n    raise ValueError("lỗi cố ý của một kỳ")')]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(root / "notebooks" / "09-loi.ipynb"))
    kernels = lambda: [p for p in psutil.Process().children(recursive=True)  # noqa: E731
                       if "ipykernel" in " ".join(p.cmdline())]
    with pytest.raises(ChapterError) as err:
        build_site(["nghe-an"], ["2023-Q2", "2023-Q3", "2023-Q4"], root=root, progress=False)
    assert err.value.chapter == "09-loi" and "lỗi cố ý của một kỳ" in str(err.value)
    assert (first.out / "index.html").read_bytes() == before  # the previous site, as it was
    assert not [p for p in first.out.parent.iterdir() if ".tmp-" in p.name]
    psutil.wait_procs(kernels(), timeout=15)
    assert kernels() == []
