"""The render path reads and writes notebooks without nbformat: same bytes, same rules."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from dxreport import notebook
from dxreport.render import prepare

REPO = Path(__file__).resolve().parents[1]


def _executed_like() -> nbformat.NotebookNode:
    """A notebook with what Papermill and a kernel leave: stream text, an error, an image, a
    multi-line Markdown output, an SVG, JSON data, run metadata, tagged cells."""
    nb = nbformat.v4.new_notebook(metadata={"papermill": {"input_path": "/home/x/01.ipynb"},
                                            "kernelspec": {"name": "dxreport", "display_name": "P", "language": "python"}})
    params = nbformat.v4.new_code_cell("province = 'x'", metadata={"tags": ["parameters"]})
    code = nbformat.v4.new_code_cell("show()\nplot()", metadata={"papermill": {"duration": 1.2},
                                                                    "execution": {"iopub.status.busy": "t"}})
    code.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="dòng 1\ndòng 2\n"),
        nbformat.v4.new_output("display_data", data={"text/markdown": "| a |\n|---|\n| 1 |\n", "text/plain": "x"}),
        nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=\n", "text/plain": "<Figure>"}),
        nbformat.v4.new_output("display_data", data={"image/svg+xml": "<svg>\n</svg>\n",
                                                     "application/json": {"a": [1, 2]}}),
        nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="x", traceback=["l1", "l2"]),
        nbformat.v4.new_output("execute_result", data={"text/plain": "3"}, execution_count=2),
    ]
    hidden = nbformat.v4.new_markdown_cell("ghi chú nội bộ", metadata={"tags": ["remove-cell"]})
    nb.cells = [nbformat.v4.new_markdown_cell("# Chương\n\nĐoạn *một*.\n"), params, code, hidden,
                nbformat.v4.new_code_cell("x = 1")]
    return nb


@pytest.mark.parametrize("source", ["made", *sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))])
def test_write_gives_nbformats_bytes(tmp_path, source):
    path = tmp_path / "a.ipynb"
    if source == "made":
        nbformat.write(_executed_like(), str(path))
    else:
        path.write_bytes((REPO / "notebooks" / source).read_bytes())
    expected = nbformat.writes(nbformat.read(str(path), as_version=4)) + "\n"
    mine = notebook.read(path)
    assert notebook.dumps(mine) == expected
    # reading joins what the file splits, as nbformat does; the caller's copy stays joined
    assert all(isinstance(c["source"], str) for c in mine["cells"])


def test_prepare_keeps_what_a_reader_sees_and_nothing_of_the_run(tmp_path):
    nbformat.write(_executed_like(), str(tmp_path / "raw.ipynb"))
    out = json.loads(prepare(tmp_path / "raw.ipynb", tmp_path / "w" / "01.ipynb").read_text(encoding="utf-8"))
    assert set(out["metadata"]) == {"kernelspec"}  # no papermill paths
    assert [c["cell_type"] for c in out["cells"]] == ["markdown", "code"]  # parameters, tagged and bare cells gone
    code = out["cells"][1]
    assert code["source"] == [] and code["execution_count"] is None and code["metadata"] == {}
    kinds = [sorted(o["data"]) for o in code["outputs"]]
    # the stream, the error and the bare text repr go; Markdown, the image and the SVG stay
    assert kinds == [["text/markdown", "text/plain"], ["image/png", "text/plain"],
                     ["application/json", "image/svg+xml"]]
    assert all("execution_count" not in o for o in code["outputs"])
