"""The render path reads and writes notebooks without nbformat: same bytes, same rules."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


_leaf = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63 - 1), st.text(),
                  st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: "e" not in repr(f)))
_tree = st.recursive(_leaf, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                     max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(metadata=_tree, text=st.text(), source=st.text())
def test_fast_writer_lays_out_as_json_does(metadata, text, source):
    """orjson, re-indented, gives the standard library's bytes: escapes, key order (by code
    point, non-ASCII and astral keys included), empty containers, nesting."""
    nb = {"cells": [{"cell_type": "code", "source": source, "metadata": {"x": metadata}, "execution_count": 1,
                     "outputs": [{"output_type": "stream", "name": "stdout", "text": text},
                                 {"output_type": "display_data", "data": {"text/markdown": text,
                                                                           "application/json": metadata},
                                  "metadata": {}}]}],
          "metadata": {"m": metadata}, "nbformat": 4, "nbformat_minor": 5}
    copy = json.loads(json.dumps(nb))
    notebook._split(copy)
    assert notebook.dumps(nb) == notebook._dumps_json(copy) + "\n"
    assert nb["cells"][0]["source"] == source  # the caller's copy is left joined


def test_fast_writer_falls_back_where_orjson_refuses(tmp_path):
    nb = {"cells": [], "metadata": {"big": 2**70, "odd": "\ud800"}, "nbformat": 4, "nbformat_minor": 5}
    assert notebook.dumps(nb) == notebook._dumps_json(nb) + "\n"
    path = tmp_path / "a.ipynb"
    path.write_text('{"cells": [], "metadata": {"x": NaN}, "nbformat": 4, "nbformat_minor": 5}', encoding="utf-8")
    assert notebook.read(path)["metadata"]["x"] != notebook.read(path)["metadata"]["x"]  # NaN, read as json reads it


def test_a_notebook_in_memory_and_written_and_read_back_are_the_same_content(tmp_path):
    """The build prepares a chapter it just ran from memory, and a cached chapter from its file:
    both must be the same content, and key the same conversion."""
    from dxreport.render import chapter_markdown, prepared

    nb = _executed_like()
    path = tmp_path / "raw.ipynb"
    notebook.write(nb, path)
    from_file = prepared(notebook.read(path))
    in_memory = prepared(nbformat.from_dict(json.loads(json.dumps(nb))))
    assert notebook.canonical(in_memory) == notebook.canonical(from_file)
    assert notebook.canonical({"b": "x\ny", "a": 1}) != notebook.canonical({"b": "x\nz", "a": 1})
    cache = tmp_path / "conversions"
    made = chapter_markdown(tmp_path / "w" / "01.ipynb", tmp_path / "w", cache, nb=in_memory).read_text(encoding="utf-8")
    (tmp_path / "w" / "01.md").unlink()
    (cache / next(p.name for p in cache.iterdir()) / "out").write_text("từ bộ nhớ đệm", encoding="utf-8")  # mark the entry
    again = chapter_markdown(tmp_path / "w2" / "01.ipynb", tmp_path / "w2", cache, nb=from_file)
    assert again.read_text(encoding="utf-8") == "từ bộ nhớ đệm"  # the file's copy found the memory's conversion
    assert "Đoạn *một*." in made
