"""End to end: real data, real kernels, real pandoc and typst. Slower; marked e2e."""

from __future__ import annotations

import errno
import getpass
import os
import re
import json
import shutil
import stat
import threading
import zipfile
from pathlib import Path

import nbformat
import pytest
from docx import Document
from pypdf import PdfReader

from dxreport.build import build
from dxreport.cli import main
from dxreport.errors import ChapterError

from conftest import make_project, set_cell

pytestmark = pytest.mark.e2e
CHAPTER = "02-ha-tang-so.ipynb"


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(str(path)).pages)


def docx_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return "\n".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist() if n.endswith(".xml"))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("proj"), [CHAPTER])
    result = build("nghe-an", "2023-Q3", root=root, progress=False)
    return root, result


def test_three_formats_are_published(built):
    _, result = built
    assert sorted(p.name for p in result.files) == ["bao-cao.docx", "bao-cao.html", "bao-cao.pdf"]
    assert result.engine == "pandoc" or shutil.which("quarto")
    assert result.executed == [CHAPTER]


def test_html_has_heading_figure_table_and_vietnamese_numbers(built):
    _, result = built
    html = (result.out_dir / "bao-cao.html").read_text(encoding="utf-8")
    assert 'lang="vi"' in html
    assert re.search(r"<h2[^>]*>1\. Hạ tầng số</h2>", html)  # chapter 1 of part I
    assert re.search(r'<figure>\s*<img[^>]*src="data:image/png;base64,', html)
    assert re.search(r"<figcaption[^>]*>Hình 2\.1\. ", html)
    assert "<table" in html and "Bảng 2.1." in html
    assert "29,45 Mbps" in html and "3.743/3.806 thôn, bản" in html and "3.348.092 thuê bao" in html
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in html  # the decree's form, not a table of contents
    assert "print(" not in html and "open_chapter" not in html  # no code in the report
    assert 'class="sourceCode' not in html and "<pre" not in html  # not even an empty code block


def test_pdf_pages_and_vietnamese_text_survive(built):
    _, result = built
    pdf = result.out_dir / "bao-cao.pdf"
    assert len(PdfReader(str(pdf)).pages) >= 4
    text = pdf_text(pdf)
    for phrase in ("BÁO CÁO", "Kết quả thực hiện chuyển đổi số quý III năm 2023", "Hạ tầng số",
                   "Băng rộng di động", "29,45 Mbps", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Nguồn số liệu"):
        assert phrase in text, phrase


def test_docx_has_headings_and_real_tables(built):
    _, result = built
    doc = Document(str(result.out_dir / "bao-cao.docx"))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert any("Hạ tầng số" in h for h in headings)
    assert any("Băng rộng di động" in h for h in headings)
    assert len(doc.tables) >= 3
    assert any("148 máy chủ" in cell.text for table in doc.tables for row in table.rows for cell in row.cells)
    assert any("29,45 Mbps" in p.text for p in doc.paragraphs)  # stated once, in the list (issue 12)


def test_nothing_published_reveals_the_machine(built):
    root, result = built
    secrets = [str(root), str(Path.home()), "/root/", "/home/", "/tmp/", "Traceback", "papermill"]
    user = getpass.getuser()
    if len(user) > 4:
        secrets.append(user)
    texts = {
        "html": (result.out_dir / "bao-cao.html").read_text(encoding="utf-8"),
        "pdf": pdf_text(result.out_dir / "bao-cao.pdf"),
        "docx": docx_xml(result.out_dir / "bao-cao.docx"),
    }
    for name, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"{secret!r} found in {name}"
    kept = sorted((root / "outputs" / ".cache" / "reports" / "nghe-an" / "2023-Q3" / "notebooks").glob("*.ipynb"))
    assert [p.name for p in kept] == [CHAPTER]
    for nb_path in kept:
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        assert "papermill" not in nb["metadata"]
        assert all("papermill" not in c["metadata"] for c in nb["cells"])


def test_report_folder_holds_only_the_readers_files_world_readable(built):
    root, result = built
    out = result.out_dir
    assert sorted(p.name for p in out.iterdir()) == ["bao-cao.docx", "bao-cao.html", "bao-cao.pdf", "kiem-tra-so-lieu.xlsx"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {0o644}
    assert sorted(p.name for p in out.parent.iterdir()) == ["2023-Q3"]  # no lock, staging or manifest beside it
    private = root / "outputs" / ".cache" / "reports" / "nghe-an" / "2023-Q3"
    manifest = json.loads((private / "build.json").read_text(encoding="utf-8"))
    assert sorted(manifest["formats"]) == ["docx", "html", "pdf"]
    assert manifest["formats"]["pdf"]["files"]["bao-cao.pdf"][0] == (out / "bao-cao.pdf").stat().st_size
    assert (private / "kernel.log").exists()
    assert "TCP" not in (private / "kernel.log").read_text(encoding="utf-8", errors="replace")


def test_force_damaged_cache_and_a_partial_format_build(tmp_path):
    root = make_project(tmp_path / "proj", [CHAPTER])
    first = build("nghe-an", "2023-Q3", root=root, progress=False, formats=("html", "docx"))
    assert first.executed == [CHAPTER]
    docx_before = (first.out_dir / "bao-cao.docx").read_bytes()
    forced = build("nghe-an", "2023-Q3", root=root, progress=False, formats=("html",), force=True)
    assert forced.executed == [CHAPTER] and forced.cached == []  # --force ignores the cache
    assert (forced.out_dir / "bao-cao.docx").read_bytes() == docx_before  # not built, not deleted
    assert forced.kept == {"docx": True}
    entries = list((root / "outputs" / ".cache" / "chapters").glob("*.ipynb"))
    assert len(entries) == 1
    entries[0].write_bytes(entries[0].read_bytes()[:1000])  # truncated, as by a full disk or a kill
    html_before = (forced.out_dir / "bao-cao.html").read_bytes()
    pdf = build("nghe-an", "2023-Q3", root=root, progress=False, formats=("pdf",))
    assert pdf.executed == [CHAPTER] and pdf.cached == []  # the damaged entry was discarded and rerun
    assert sorted(p.name for p in pdf.out_dir.iterdir()) == ["bao-cao.docx", "bao-cao.html", "bao-cao.pdf",
                                                           "kiem-tra-so-lieu.xlsx"]
    assert (pdf.out_dir / "bao-cao.html").read_bytes() == html_before
    assert pdf.kept == {"html": True, "docx": True}
    again = build("nghe-an", "2023-Q3", root=root, progress=False)
    assert again.skipped  # every format is up to date for this key
    json.loads(entries[0].read_text(encoding="utf-8"))  # and the entry is whole again


def test_read_only_outputs_gives_a_vietnamese_message(tmp_path, monkeypatch, capsys):
    root = make_project(tmp_path / "proj", [CHAPTER])
    outputs = root / "outputs"
    outputs.mkdir()
    real_mkdir = Path.mkdir

    def refuse(self, *args, **kwargs):  # what a read-only outputs/ does, also for root (who ignores modes)
        if outputs in Path(os.path.abspath(self)).parents:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    outputs.chmod(0o555)
    monkeypatch.setattr(Path, "mkdir", refuse)
    try:
        code = main(["--root", str(root), "build", "--period", "2023-Q3", "--no-progress"])
    finally:
        outputs.chmod(0o755)
    err = capsys.readouterr().err
    assert code == 1
    assert "Không ghi được báo cáo vào" in err and "không có quyền ghi" in err and str(outputs) in err
    assert "Traceback" not in err and "PermissionError" not in err


def test_rebuild_with_nothing_changed_is_skipped(built):
    root, result = built
    before = {p: p.stat().st_mtime_ns for p in result.files}
    again = build("nghe-an", "2023-Q3", root=root, progress=False)
    assert again.skipped
    assert {p: p.stat().st_mtime_ns for p in again.files} == before


def test_changed_data_rebuilds_and_shows_the_new_figure(tmp_path):
    root = make_project(tmp_path / "proj", [CHAPTER])
    first = build("nghe-an", "2023-Q3", root=root, progress=False, formats=("html",))
    assert "29,45 Mbps" in (first.out_dir / "bao-cao.html").read_text(encoding="utf-8")
    obs = root / "data" / "observations.csv"
    text = obs.read_text(encoding="utf-8")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if ",bbdd_toc_do,,2023-08-30," in row)
    set_cell(obs, line, "value", "31.5")
    set_cell(obs, line, "note", "SỬA ĐỔI GIẢ LẬP trong kiểm thử")
    second = build("nghe-an", "2023-Q3", root=root, progress=False, formats=("html",))
    assert not second.skipped and second.executed == [CHAPTER]
    html = (second.out_dir / "bao-cao.html").read_text(encoding="utf-8")
    assert "31,5 Mbps" in html and "29,45 Mbps" not in html
    # a different period is a different key: no stale cache is served
    third = build("nghe-an", "2025-Q4", root=root, progress=False, formats=("html",))
    assert not third.skipped and third.executed == [CHAPTER]


def _failing_notebook(path: Path, code: str = 'raise ValueError("lỗi cố ý trong kiểm thử")') -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('province = "nghe-an"\nperiod = None\ndata_dir = None')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Chương lỗi"), params,
                nbformat.v4.new_code_cell(code)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return path


def test_failing_chapter_fails_the_build_and_keeps_the_previous_report(tmp_path):
    root = make_project(tmp_path / "proj", [CHAPTER])
    good = build("nghe-an", "2023-Q3", root=root, progress=False)
    before = {p.name: p.read_bytes() for p in good.files}
    _failing_notebook(root / "notebooks" / "09-loi.ipynb")
    with pytest.raises(ChapterError) as err:
        build("nghe-an", "2023-Q3", root=root, progress=False)
    assert err.value.chapter == "09-loi" and err.value.cell_index is not None
    assert err.value.ename == "ValueError" and "lỗi cố ý" in err.value.evalue
    assert "09-loi" in str(err.value) and "ValueError" in str(err.value)
    assert {p.name: p.read_bytes() for p in good.files} == before
    leftovers = [p.name for p in (root / "outputs" / "nghe-an").iterdir() if ".tmp-" in p.name or ".old-" in p.name]
    assert leftovers == []
    kept = root / "outputs" / ".cache" / "failed" / "nghe-an" / "2023-Q3"
    assert err.value.cell_index == 2 and err.value.code_cell == 2  # third cell, second code cell: [2]
    assert "ô thứ 3 (ô mã [2]" in str(err.value)
    assert "lỗi cố ý" in (kept / "09-loi.txt").read_text(encoding="utf-8") and (kept / "09-loi.ipynb").exists()
    assert "09-loi.txt" in str(err.value) and "Toàn bộ vết lỗi" in str(err.value)

    _failing_notebook(root / "notebooks" / "09-loi.ipynb", "x = 1\nfirst = next(v for v in [] if v)")
    with pytest.raises(ChapterError) as err:
        build("nghe-an", "2023-Q3", root=root, progress=False)
    assert err.value.ename == "StopIteration" and err.value.evalue == ""
    message = str(err.value)
    assert "StopIteration: (lỗi không kèm thông điệp) next(...) không tìm thấy phần tử nào" in message
    assert "Dòng gây lỗi: first = next(v for v in [] if v)" in message
    assert not any(p.name.startswith(".") and p.is_dir() for p in good.out_dir.parent.iterdir())
    (root / "notebooks" / "09-loi.ipynb").unlink()
    assert build("nghe-an", "2023-Q3", root=root, progress=False, formats=("html",)).executed == []
    assert not kept.exists()  # a successful build clears the failure it replaces


def test_parallel_builds_and_workers_do_not_race(tmp_path):
    """Two builds at once, each with two warm kernels: every kernel start is serialised."""
    root = make_project(tmp_path / "proj", [CHAPTER])
    shutil.copyfile(root / "notebooks" / CHAPTER, root / "notebooks" / "03-ha-tang-so-ban-sao.ipynb")
    results, errors = {}, []

    def run(period):
        try:
            results[period] = build("nghe-an", period, root=root, progress=False, workers=2, formats=("html",))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in ("2023-Q3", "2023-10")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    q3 = re.sub(r"\s+", " ", (results["2023-Q3"].out_dir / "bao-cao.html").read_text(encoding="utf-8"))
    oct_ = re.sub(r"\s+", " ", (results["2023-10"].out_dir / "bao-cao.html").read_text(encoding="utf-8"))
    assert "quý III năm 2023" in q3 and "đến hết tháng 10 năm 2023" in oct_
    assert len(re.findall(r"<figcaption[^>]*>Hình 2\.1\. ", q3)) == 2
    assert len(results["2023-10"].executed) == 2


def test_cli_refuses_bad_province_and_period(capsys):
    assert main(["build", "--province", "quang-tri", "--period", "2023-Q3"]) == 1
    err = capsys.readouterr().err
    assert "quang-tri" in err and "nghe-an" in err and "ha-tinh" in err
    assert main(["build", "--province", "nghe-an", "--period", "2023-Q5"]) == 1
    err = capsys.readouterr().err
    assert "2023-Q5" in err and "2023-Q1" in err and "2023-10" in err


@pytest.mark.quarto
@pytest.mark.skipif(shutil.which("quarto") is None,
                    reason="quarto is not on PATH (conda route: environment.yml installs it from conda-forge)")
def test_quarto_engine_renders_the_same_book(tmp_path):
    root = make_project(tmp_path / "proj", [CHAPTER])
    result = build("nghe-an", "2023-Q3", root=root, progress=False, engine="quarto")
    assert result.engine == "quarto"
    assert (result.out_dir / "bao-cao.pdf").exists() and (result.out_dir / "bao-cao.docx").exists()
    assert "Hạ tầng số" in pdf_text(result.out_dir / "bao-cao.pdf")


ALL_CHAPTERS = sorted(p.name for p in (Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_full_report_for_a_peer_province_and_a_month(tmp_path):
    """Hà Tĩnh to the end of October 2023: the seed's own figures, in Vietnamese format."""
    root = make_project(tmp_path / "proj", ALL_CHAPTERS)
    result = build("ha-tinh", "2023-10", root=root, progress=False, formats=("html", "pdf"))
    html = re.sub(r"\s+", " ", (result.out_dir / "bao-cao.html").read_text(encoding="utf-8"))
    assert "Kết quả chuyển đổi số đến hết tháng 10 năm 2023" in html
    assert "Sở Thông tin và Truyền thông Hà Tĩnh" in html
    assert "72,05% (293.670/407.595 hồ sơ)" in html
    assert "So sánh giữa các tỉnh" in html  # Nghệ An and Hà Tĩnh side by side
    text = pdf_text(result.out_dir / "bao-cao.pdf")
    for heading in ("Tổng quan", "Hạ tầng số", "Chính quyền số", "Kinh tế số", "Xã hội số",
                    "An toàn thông tin mạng", "Nhiệm vụ và kinh phí", "Phụ lục", "Nguồn số liệu"):
        assert heading in text, heading


def test_a_period_without_any_data_still_builds_and_says_so(tmp_path):
    root = make_project(tmp_path / "proj", ALL_CHAPTERS)
    result = build("ha-tinh", "2021-Q1", root=root, progress=False, formats=("html",))
    html = re.sub(r"\s+", " ", (result.out_dir / "bao-cao.html").read_text(encoding="utf-8"))
    assert "Kết quả chuyển đổi số quý I năm 2021" in html
    assert "Chưa có số liệu về hạ tầng số" in html
    assert "Chưa có số liệu xếp hạng chỉ số chuyển đổi số cấp tỉnh (DTI)" in html
    assert "<figure>" not in html  # nothing is drawn from no data


def test_invalid_data_is_refused_before_any_chapter_runs(tmp_path, capsys):
    root = make_project(tmp_path / "proj", [CHAPTER])
    obs = root / "data" / "observations.csv"
    set_cell(obs, 2, "value", "3,4")
    assert main(["--root", str(root), "build", "--period", "2023-Q3", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "observations.csv, dòng 2, cột value: [số không hợp lệ]" in err
    assert not (root / "outputs" / "nghe-an" / "2023-Q3").exists()


def test_quarto_project_handed_to_quarto_is_complete(tmp_path, monkeypatch):
    """Without Quarto on this machine: check what dxreport gives `quarto render` (the book's
    _quarto.yml, its chapters, the Vietnamese labels, no execution) by standing in for the
    quarto process only; the kernels, notebooks and preparation are real."""
    import yaml

    from dxreport import build as build_module
    from dxreport import render

    calls = []

    seen = {}

    def fake_quarto(cmd, cwd, what):
        calls.append(cmd)
        seen["config"] = (Path(cmd[2]) / "_quarto.yml").read_text(encoding="utf-8")
        seen["chapter"] = nbformat.read(str(Path(cmd[2]) / CHAPTER), as_version=4)
        book = Path(cmd[2]) / "_book"
        book.mkdir()
        for name in ("bao-cao.pdf", "bao-cao.docx", "index.html"):
            (book / name).write_text("stand-in", encoding="utf-8")

    real_run = render._run
    monkeypatch.setattr(render, "_run", lambda cmd, cwd, what: fake_quarto(cmd, cwd, what)
                        if cmd[0] == "quarto" else real_run(cmd, cwd, what))
    monkeypatch.setattr(build_module.shutil, "which", lambda name: "/usr/bin/quarto" if name == "quarto" else None)
    root = make_project(tmp_path / "proj", [CHAPTER])
    result = build("nghe-an", "2023-Q3", root=root, progress=False, engine="quarto")
    assert result.engine == "quarto" and len(calls) == 1
    assert calls[0][:2] == ["quarto", "render"] and "--no-execute" in calls[0]
    config = yaml.safe_load(seen["config"])
    assert config["project"]["type"] == "book"
    assert config["book"]["chapters"] == ["index.qmd", CHAPTER, "nguon.qmd"]
    assert config["book"]["subtitle"] == "Kết quả chuyển đổi số tỉnh Nghệ An quý III năm 2023"
    assert config["execute"]["enabled"] is False and config["execute"]["cache"] is False
    assert config["lang"] == "vi" and config["language"]["crossref-fig-title"] == "Hình"
    assert config["language"]["crossref-tbl-title"] == "Bảng" and config["language"]["toc-title-document"] == "Mục lục"
    chapter = seen["chapter"]
    assert all(c.source == "" for c in chapter.cells if c.cell_type == "code")
    assert "papermill" not in chapter.metadata
    assert sorted(p.name for p in result.files) == ["bao-cao-html", "bao-cao.docx", "bao-cao.html", "bao-cao.pdf"]
