"""The batch's warm pandoc (`render.PandocServer`, `templates/write.lua --serve`): it reads a
document as pandoc reads it whole, though it reads each output cell on its own and only once; a
report that fails leaves it serving the next; it ends with its batch."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from dxreport import render
from dxreport.build import Batch
from dxreport.errors import RenderError
from dxreport.paths import project

from conftest import make_project

TABLE = "| Chỉ tiêu | Giá trị |\n|:--|--:|\n| Thuê bao | 3\\.348\\.092 |\n| *Tỷ lệ* | 72,05% |\n\n: Bảng 1\\. Thử"


def cell(body: str, fence: str = ":::") -> str:
    return f"{fence} {{.output .display_data}}\n{body}\n{fence}\n"


# Each cell below is one case pandoc's Markdown reads differently in a document than alone, or
# one the cell reader must leave to the document's own reading.
DOCUMENT = "\n".join([
    "---\ntitle: Thử\n---\n",
    "# Chương một\n",
    cell(TABLE),
    cell(TABLE),  # the same cell again: read from memory
    cell("- một\n- hai"),
    cell("- ba"),  # lists in two cells stay two lists
    cell("## Chương một"),  # a heading's identifier is unique in the document: chuong-mot-1
    cell("Tiêu đề gạch dưới\n-----------------"),
    cell('Xem [Chương một], [liên kết](https://example.org){.x} và "ngoặc kép".'),  # a link to a heading by its text
    cell("::: {.ghi-chu}\nlồng\n:::", fence="::::"),  # a div inside the cell
    cell("(@) ví dụ"),
    cell("(@) ví dụ hai"),  # example lists number on across the document
    cell("```\nmã\n:::\n```"),
    "Đoạn văn cuối.\n",
])
# a definition anywhere applies everywhere: such a document is read whole
DEFINED = DOCUMENT + "\n" + cell("Xem [nguồn].") + "\n[nguồn]: https://example.org\n"


def whole(markdown: Path) -> dict:
    """The document as the four-process route parses it: read whole, through the guard."""
    env = {**os.environ, "DXREPORT_GUARD": render.guard_token(), render.STAGE_ENV: ""}
    out = subprocess.run([render.pandoc_path(), str(markdown), "-f", render.READER, "--sandbox", "--lua-filter",
                          str(render.FILTER), "-t", "json"], capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout)


def config(folder: Path, markdown: str, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.md").write_text(markdown, encoding="utf-8")
    path = folder / f"{name}.json"
    path.write_text(json.dumps({
        "markdown": str(folder / f"{name}.md"), "reader": render.READER, "filter": str(render.FILTER), "toc": False,
        "workdir": str(folder), "media": [],
        "outputs": [{"format": "json", "path": str(folder / f"{name}.out.json")}],
    }), encoding="utf-8")
    return path


@pytest.fixture
def server():
    made = render.PandocServer()
    yield made
    made.close()


@pytest.mark.parametrize("text", [DOCUMENT, DEFINED], ids=["cells", "definitions"])
def test_a_document_read_cell_by_cell_is_the_document_read_whole(server, tmp_path, text):
    written = []
    for name in ("a", "b"):  # the second time, from memory
        server.render(config(tmp_path, text, name), written.append)
        assert json.loads((tmp_path / f"{name}.out.json").read_text(encoding="utf-8")) == whole(tmp_path / f"{name}.md")
    assert written == [str(tmp_path / "a.out.json"), str(tmp_path / "b.out.json")]
    assert (server.counts == (0, 0)) == (text is DEFINED)  # read whole, or cell by cell


def test_each_cell_is_read_once(server, tmp_path):
    server.render(config(tmp_path, DOCUMENT, "a"), lambda _line: None)
    hits, misses = server.counts
    # read: the table (its second copy from memory) and the two lists; the other cases are left in place
    assert (hits, misses) == (1, 3)
    server.render(config(tmp_path, DOCUMENT.replace("Đoạn văn cuối.", "Một đoạn khác."), "b"), lambda _line: None)
    assert server.counts == (hits + misses + 1, misses)  # every cell of the second report came from memory


def test_a_failed_report_leaves_the_server_serving(server, tmp_path):
    bad = config(tmp_path, DOCUMENT, "bad")
    (tmp_path / "bad.md").unlink()
    server.render(config(tmp_path, DOCUMENT, "good"), lambda _line: None)
    pid = server._proc.pid
    with pytest.raises(RenderError, match=r"^pandoc \(báo cáo\) thất bại: .*bad\.md"):
        server.render(bad, lambda _line: None)
    server.render(config(tmp_path, DOCUMENT, "again"), lambda _line: None)
    assert server._proc.pid == pid and (tmp_path / "again.out.json").exists()


def test_a_server_that_died_is_started_again(server, tmp_path):
    server.render(config(tmp_path, DOCUMENT, "a"), lambda _line: None)
    server._proc.kill()
    server._proc.wait()
    server.render(config(tmp_path, DOCUMENT, "b"), lambda _line: None)
    assert (tmp_path / "b.out.json").exists()


def test_the_batch_ends_its_writers(tmp_path):
    paths = project(make_project(tmp_path / "p", []))
    batch = Batch(paths)
    with batch.writer() as first:
        first.render(config(tmp_path / "w", DOCUMENT, "a"), lambda _line: None)
    with batch.writer() as again:
        assert again is first  # kept warm for the next report
    proc = first._proc
    with pytest.raises(KeyboardInterrupt):
        with batch.writer() as interrupted:
            interrupted.render(config(tmp_path / "w", DOCUMENT, "b"), lambda _line: None)
            raise KeyboardInterrupt
    assert proc.poll() is not None  # stopped in the middle of a report: killed, not kept
    with batch.writer() as other:
        other.render(config(tmp_path / "w", DOCUMENT, "c"), lambda _line: None)
        running = other._proc
    batch.close()
    assert running.wait(timeout=10) == 0  # its input closed: it ended by itself


def test_a_batch_starts_its_writers_warm_ahead_of_the_first_report(tmp_path):
    from dxreport.build import RENDERS

    batch = Batch(project(make_project(tmp_path / "p", [])))
    batch.warm_writers()
    started = [server._proc for server in batch._writers]
    assert len(started) == RENDERS and all(proc is not None and proc.poll() is None for proc in started)
    with batch.writer() as server:
        assert server._proc in started  # no new process for the first report
        server.render(config(tmp_path / "w", DOCUMENT, "a"), lambda _line: None)
    batch.close()
    assert all(proc.wait(timeout=10) == 0 for proc in started)
