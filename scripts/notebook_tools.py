"""Developer tool: write a chapter notebook skeleton, or refresh the expected nbval outputs.

    python scripts/notebook_tools.py refresh notebooks/*.ipynb

`refresh` executes each notebook on its default parameters and keeps only the outputs of the
cells marked `# NBVAL_CHECK_OUTPUT` (the key figures nbval compares); every other output is
stripped, since executed outputs belong in outputs/, not in git.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

CHECK = "# NBVAL_CHECK_OUTPUT"
PARAMS = """# Tham số: Papermill thay các giá trị này khi dựng báo cáo.
# province: mã tỉnh (data/units.csv); period: kỳ báo cáo, ví dụ "2023-Q3",
# None là quý mới nhất có số liệu; data_dir: None là thư mục data/ của dự án.
province = "nghe-an"
period = None
data_dir = None"""


def skeleton(slug: str, title: str, body: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """A chapter notebook: heading, parameters, opening, the given (kind, text) cells, key figures."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
                   "language_info": {"name": "python"}}
    cells = [nbformat.v4.new_markdown_cell(f"# {title}")]
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    cells.append(params)
    cells.append(nbformat.v4.new_code_cell(
        f'import dxreport as dx\n\nch = dx.open_chapter("{slug}", province, period, data_dir)\nch.show(*ch.intro())'))
    for kind, text in body:
        cells.append(nbformat.v4.new_markdown_cell(text) if kind == "md" else nbformat.v4.new_code_cell(text))
    check = nbformat.v4.new_code_cell(f"{CHECK}\nprint(ch.key_figures())")
    check.metadata["tags"] = ["remove-cell"]
    cells.append(check)
    nb.cells = cells
    return nb


def refresh(path: Path) -> None:
    nb = nbformat.read(str(path), as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        if CHECK in cell.source:
            cell.outputs = [o for o in cell.outputs if o.output_type == "stream" and o.name == "stdout"]
            cell.execution_count = 1
        else:
            cell.outputs = []
            cell.execution_count = None
    nb.metadata = {"kernelspec": nb.metadata.get("kernelspec", {}), "language_info": {"name": "python"}}
    nbformat.write(nb, str(path))


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "refresh":
        sys.exit(__doc__)
    for name in sys.argv[2:]:
        refresh(Path(name))
        print(f"refreshed {name}")
