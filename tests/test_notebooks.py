"""The notebooks as analysts meet them: the project kernel, clean commits, nbval on a fixed
reference period, readable nbval failures, and the build picking only chapters."""

from __future__ import annotations

import csv
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import REPO, append_row, make_project, set_cell
from dxreport.build import notebooks as chapter_notebooks
from dxreport.chapter import default_period, open_chapter
from dxreport.data import load
from dxreport.nbval_plugin import moved_figures
from dxreport.notebook_env import KERNEL_NAME, PERIOD_ENV, REFERENCE_PERIOD, REFERENCE_PROVINCE
from dxreport.paths import project

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
CHAPTER = "02-ha-tang-so.ipynb"


def _tools():
    spec = importlib.util.spec_from_file_location("notebook_tools", REPO / "scripts" / "notebook_tools.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tools = _tools()


def _check_cell_number(path: Path) -> int:
    cells = nbformat.read(str(path), as_version=4).cells
    return next(i for i, c in enumerate(cells, start=1) if tools.is_check(c))


def _stored_figure(path: Path, key: str) -> str:
    cells = nbformat.read(str(path), as_version=4).cells
    text = "".join(o.text for c in cells if tools.is_check(c) for o in c.outputs)
    return next(line.partition(": ")[2] for line in text.splitlines() if line.startswith(f"{key}: "))


def _nbval(root: Path, *notebooks: str) -> subprocess.CompletedProcess:
    """nbval as `make test` runs it, on a copy of the project, output piped (not a terminal)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PY_COLORS", "FORCE_COLOR", PERIOD_ENV)}
    env["DXREPORT_ROOT"] = str(root)
    return subprocess.run([sys.executable, "-m", "pytest", *notebooks, "--nbval-lax", "-p", "no:cacheprovider",
                           "-q", "-rf"], cwd=root, env=env, capture_output=True, text=True, timeout=600)


def _observation_line(path: Path, **match: str) -> int:
    with path.open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            if all(row[k] == v for k, v in match.items()):
                return line
    raise AssertionError(f"no row {match}")


# -- the project kernel ---------------------------------------------------------------------------
def test_project_kernel_is_registered_in_the_venv() -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)  # NoSuchKernel: run `make setup`
    assert Path(spec.argv[0]).resolve() == Path(sys.executable).resolve()
    assert Path(spec.resource_dir).resolve().is_relative_to(Path(sys.prefix).resolve() / "share" / "jupyter")
    assert spec.display_name == "Python (dxreport)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_names_the_project_kernel(path: Path) -> None:
    assert nbformat.read(str(path), as_version=4).metadata["kernelspec"]["name"] == KERNEL_NAME


def test_make_lab_opens_at_the_project_root_without_hiding_user_settings() -> None:
    dry = subprocess.run(["make", "-n", "lab"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert f"--ServerApp.root_dir={REPO}" in dry
    assert "JUPYTER_DATA_DIR" not in dry and "JUPYTER_PATH" not in dry and "--notebook-dir" not in dry


# -- committed notebooks stay clean ---------------------------------------------------------------
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_has_no_outputs_but_its_key_figures(path: Path) -> None:
    assert tools.problems(path) == []


def test_check_catches_a_run_all_and_save_and_strip_cleans_it(tmp_path: Path) -> None:
    path = tmp_path / CHAPTER
    nb = nbformat.read(str(REPO / "notebooks" / CHAPTER), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and not tools.is_check(c)]
    code[1].execution_count = 7
    code[1].outputs = [nbformat.v4.new_output("display_data", data={"text/plain": "Hình 2.1"})]
    code[1].metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00Z"}
    check = next(c for c in nb.cells if tools.is_check(c))
    check.outputs[0].text = check.outputs[0].text.replace(f"| {REFERENCE_PERIOD}", "| 2025-Q4", 1)
    nb.metadata["widgets"] = {}
    nbformat.write(nb, str(path))
    number = nb.cells.index(code[1]) + 1

    found = tools.problems(path)
    assert any(f"ô {number}: ô còn kết quả chạy" in line for line in found)
    assert any(f"ô {number}: ô còn số thứ tự chạy [7]" in line for line in found)
    assert any("metadata của ô còn execution" in line for line in found)
    assert any("metadata của notebook còn widgets" in line for line in found)
    assert any("không phải kỳ tham chiếu" in line for line in found)

    assert tools.main(["strip", str(path)]) == 0
    left = tools.problems(path)
    assert len(left) == 1 and "không phải kỳ tham chiếu" in left[0]  # stripping keeps the key figures
    assert tools.main(["check", str(path)]) == 1


def test_a_check_cell_without_a_count_is_reported_since_nbval_would_skip_it(tmp_path: Path) -> None:
    path = tmp_path / CHAPTER
    nb = nbformat.read(str(REPO / "notebooks" / CHAPTER), as_version=4)
    next(c for c in nb.cells if tools.is_check(c)).execution_count = None
    nbformat.write(nb, str(path))
    assert any("nbval bỏ qua" in line for line in tools.problems(path))


# -- the build reads chapters only ----------------------------------------------------------------
def test_build_picks_only_numbered_chapters(tmp_path: Path) -> None:
    (tmp_path / "notebooks").mkdir()
    for name in ("02-b.ipynb", "01-a.ipynb", "kham-pha-du-lieu.ipynb", "nhap.ipynb", ".01-x.ipynb"):
        (tmp_path / "notebooks" / name).write_text("{}", encoding="utf-8")
    assert [p.name for p in chapter_notebooks(project(tmp_path))] == ["01-a.ipynb", "02-b.ipynb"]
    assert "kham-pha-du-lieu.ipynb" in {p.name for p in NOTEBOOKS}


# -- the reference period -------------------------------------------------------------------------
def test_open_chapter_takes_the_reference_period_from_the_environment(data_dir: Path, monkeypatch) -> None:
    monkeypatch.delenv(PERIOD_ENV, raising=False)
    latest = default_period(load(data_dir), "nghe-an").code
    assert open_chapter("ha-tang-so", "nghe-an", None, data_dir).period.code == latest
    monkeypatch.setenv(PERIOD_ENV, "2022-Q4")
    assert latest != "2022-Q4"
    assert open_chapter("ha-tang-so", "nghe-an", None, data_dir).period.code == "2022-Q4"
    assert open_chapter("ha-tang-so", "nghe-an", "2023-Q3", data_dir).period.code == "2023-Q3"  # explicit wins


def test_a_new_quarter_of_data_leaves_nbval_green(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", [CHAPTER])
    observations = root / "data" / "observations.csv"
    append_row(root / "data" / "sources.csv", source_id="mau-2026-q1", kind="văn bản gốc",
               title_vi="Sổ số liệu quý I năm 2026", short_vi="Sổ số liệu quý I/2026", location="mau-nghe-an-2026-Q1.xlsx")
    append_row(observations, province=REFERENCE_PROVINCE, indicator_id="bbdd_toc_do", as_of="2026-03-31",
               value="41.2", unit="Mbps", source="mau-nghe-an-2026-Q1.xlsx: Hạ tầng số, dòng 6",
               reported_by="Sở Khoa học và Công nghệ")
    # without the pin, the chapter would open on another period and its key figures would differ
    assert default_period(load(root / "data"), REFERENCE_PROVINCE).code != REFERENCE_PERIOD

    run = _nbval(root, f"notebooks/{CHAPTER}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert " passed" in run.stdout and "failed" not in run.stdout


def test_a_changed_reference_figure_fails_nbval_readably(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", [CHAPTER])
    observations = root / "data" / "observations.csv"
    line = _observation_line(observations, province=REFERENCE_PROVINCE, indicator_id="bbdd_toc_do",
                             as_of="2023-08-30", breakdown="")
    set_cell(observations, line, "value", "31.5")
    old = _stored_figure(REPO / "notebooks" / CHAPTER, "bbdd_toc_do")  # "29,45 Mbps @ 30/8/2023"
    new = "31,5 Mbps @ " + old.split(" @ ")[1]
    cell = _check_cell_number(REPO / "notebooks" / CHAPTER)

    run = _nbval(root, f"notebooks/{CHAPTER}")
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert f"{CHAPTER}, ô {cell}: bbdd_toc_do: {old} → {new}\n" in out
    moved = [row for row in out.splitlines() if row.startswith(f"{CHAPTER}, ô {cell}: ") and " → " in row]
    # only the figure that moved; on CI (CI=1) pytest repeats the message in its short summary
    assert set(moved) == {f"{CHAPTER}, ô {cell}: bbdd_toc_do: {old} → {new}"}
    assert f"{CHAPTER}::ô {cell}" in out  # the failing item is named as Lab counts cells
    assert "\x1b[" not in out  # no colour codes off a terminal
    assert "make refresh-expected" in out


def test_a_failing_cell_names_notebook_and_cell_without_colour(tmp_path: Path) -> None:
    (tmp_path / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": KERNEL_NAME, "display_name": "Python (dxreport)",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_markdown_cell("# Thử"), nbformat.v4.new_code_cell("x = 1"),
                nbformat.v4.new_markdown_cell("Chia cho không:"), nbformat.v4.new_code_cell("x / 0")]
    nbformat.write(nb, str(tmp_path / "notebooks" / "thu.ipynb"))
    run = _nbval(tmp_path, "notebooks/thu.ipynb")
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "thu.ipynb, ô 4: ô bị lỗi khi chạy: ZeroDivisionError: division by zero" in out
    assert "thu.ipynb::ô 4" in out and "\x1b[" not in out


# -- the comparison itself ------------------------------------------------------------------------
def test_moved_figures_old_then_new_added_removed_and_period() -> None:
    old = "ha-tang-so | nghe-an | 2023-Q3\na: 1 @ 1/1/2023\nb: 2 @ 1/1/2023\nc: 3 @ 1/1/2023\n"
    new = "ha-tang-so | nghe-an | 2026-Q1\na: 1 @ 1/1/2023\nb: 5 @ 1/3/2026\nd: 4 @ 1/3/2026\n"
    assert moved_figures(old, new) == [
        "ha-tang-so | nghe-an | 2023-Q3 → ha-tang-so | nghe-an | 2026-Q1",
        "b: 2 @ 1/1/2023 → 5 @ 1/3/2026",
        "c: 3 @ 1/1/2023 → (không còn)",
        "d: (chưa có) → 4 @ 1/3/2026",
    ]
    assert moved_figures("h\na: 1\na: 2\n", "h\na: 1\na: 3\n") == ["a#2: 2 → 3"]
    assert moved_figures("h\na: 1\nb: 2\n", "h\nb: 2\na: 1\n") == ["thứ tự các số liệu đã đổi"]


def test_readme_shows_the_two_commands_and_the_notebook_workflow() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    first_block = text.split("```")[1]
    assert "make report" in first_block and "make test" in first_block
    assert text.count("<!-- benchmark:start -->") == 1 and text.count("<!-- benchmark:end -->") == 1
    for needed in (REFERENCE_PERIOD, "make refresh-expected", "make lab", "kham-pha-du-lieu.ipynb", "dx.load()",
                   "make strip", "Python (dxreport)"):
        assert needed in text, needed
