"""Developer tool for the notebooks: keep them clean, and record what nbval compares.

    python scripts/notebook_tools.py normalize notebooks/*.ipynb   # kernel, parameters cell, strip
    python scripts/notebook_tools.py strip notebooks/*.ipynb       # drop outputs and counts
    python scripts/notebook_tools.py refresh notebooks/[0-9][0-9]-*.ipynb
    python scripts/notebook_tools.py check notebooks/*.ipynb       # what `make test` enforces

- `strip` removes every output, execution count and volatile metadata (timings, Lab's view state)
  except the stdout of the cells marked `# NBVAL_CHECK_OUTPUT`: the key figures nbval compares.
  Executed outputs belong in outputs/, not in git; a Run All plus Save otherwise grows a notebook
  from 5 KB to 500 KB and silently rewrites nbval's expectations.
- `normalize` is `strip` plus the project's conventions, so it can be re-run after a merge: the
  notebook names the project kernel (`dxreport.notebook_env.KERNEL_NAME`) and a chapter's
  parameters cell is the standard one (`PARAMS`).
- `refresh` executes each chapter on the project kernel with the reference period pinned
  (`notebook_env.PERIOD_ENV` = `REFERENCE_PERIOD`), exactly as nbval runs it, and keeps only the
  key-figure outputs.
- `check` lists what `strip` would change plus the problems nbval would silently ignore (a check
  cell without an execution count or output is never compared), and exits 1 when there are any.
"""

from __future__ import annotations

import copy
import os
import re
import sys
from pathlib import Path

import nbformat

from dxreport.notebook_env import (CHECK_MARK, KERNEL_NAME, PERIOD_ENV, REFERENCE_PERIOD, REFERENCE_PROVINCE, is_check,
                                   kernelspec)

CHAPTER_RE = re.compile(r"^\d{2}-.+\.ipynb$")
PARAMS = f"""# Tham số: Papermill thay các giá trị này khi dựng báo cáo.
# province: mã tỉnh (data/units.csv); period: kỳ báo cáo, ví dụ "2023-Q3", None là quý mới nhất
# có số liệu (khi chạy kiểm thử, nbval dùng kỳ tham chiếu {REFERENCE_PERIOD} qua biến môi trường {PERIOD_ENV});
# data_dir: None là thư mục data/ của dự án.
province = "{REFERENCE_PROVINCE}"
period = None
data_dir = None"""
# Cell metadata Jupyter front ends write while you work; none of it is part of the notebook.
VOLATILE_CELL_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled", "papermill", "jupyter", "vscode")


def is_chapter(path: Path) -> bool:
    return bool(CHAPTER_RE.match(path.name))


def _key_output(cell) -> list:
    return [o for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stdout"]


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Outputs, counts and volatile metadata removed; key-figure cells keep their stdout."""
    for cell in nb.cells:
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type != "code":
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
            continue
        if is_check(cell):
            cell.outputs = _key_output(cell)
            # nbval compares a cell only when it has an execution count
            cell.execution_count = 1 if cell.outputs else None
        else:
            cell.outputs = []
            cell.execution_count = None
    nb.metadata = nbformat.from_dict({"kernelspec": nb.metadata.get("kernelspec", kernelspec()),
                                      "language_info": {"name": "python"}})
    return nb


def normalize(nb: nbformat.NotebookNode, chapter: bool) -> nbformat.NotebookNode:
    """`strip`, plus the project kernel in metadata and, in a chapter, the standard parameters cell."""
    strip(nb)
    nb.metadata["kernelspec"] = kernelspec()
    if chapter:
        params = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
        if len(params) != 1:
            raise SystemExit(f"expected one cell tagged 'parameters', found {len(params)}")
        params[0].source = PARAMS
    return nb


def problems(path: Path) -> list[str]:
    """Why a committed notebook is not clean, one line per problem (Vietnamese: the analyst reads it)."""
    nb = nbformat.read(str(path), as_version=4)
    found = []
    name = nb.metadata.get("kernelspec", {}).get("name")
    if name != KERNEL_NAME:
        found.append(f"{path.name}: metadata.kernelspec.name là {name!r}, cần {KERNEL_NAME!r} (kernel của dự án)")
    extra = sorted(set(nb.metadata) - {"kernelspec", "language_info"})
    if extra:
        found.append(f"{path.name}: metadata của notebook còn {', '.join(extra)}")
    checks = 0
    for number, cell in enumerate(nb.cells, start=1):
        where = f"{path.name}, ô {number}"
        volatile = [k for k in VOLATILE_CELL_METADATA if k in cell.metadata]
        if volatile:
            found.append(f"{where}: metadata của ô còn {', '.join(volatile)}")
        if cell.cell_type != "code":
            continue
        if is_check(cell):
            checks += 1
            kept = _key_output(cell)
            if len(kept) != len(cell.outputs):
                found.append(f"{where}: ô {CHECK_MARK} chỉ được giữ kết quả in ra (stdout)")
            if not kept or cell.execution_count is None:
                found.append(f"{where}: ô {CHECK_MARK} chưa có số liệu ghi sẵn nên nbval bỏ qua; chạy make refresh-expected")
            elif is_chapter(path):
                first = "".join(o.text for o in kept).splitlines()[0]
                period = first.split(" | ")[1:]
                if period != [REFERENCE_PROVINCE, REFERENCE_PERIOD]:
                    found.append(f"{where}: số liệu ghi sẵn thuộc {' '.join(period) or first!r}, không phải kỳ tham chiếu "
                                 f"{REFERENCE_PROVINCE} {REFERENCE_PERIOD}; chạy make refresh-expected")
            continue
        if cell.outputs:
            found.append(f"{where}: ô còn kết quả chạy ({len(cell.outputs)} output); chạy make strip")
        if cell.execution_count is not None:
            found.append(f"{where}: ô còn số thứ tự chạy [{cell.execution_count}]; chạy make strip")
    if is_chapter(path) and checks != 1:
        found.append(f"{path.name}: một chương cần đúng một ô {CHECK_MARK}, có {checks}")
    return found


def refresh(path: Path) -> None:
    """Execute a chapter on the reference period and keep only its key-figure output."""
    from nbclient import NotebookClient

    nb = nbformat.read(str(path), as_version=4)
    env = dict(os.environ, **{PERIOD_ENV: REFERENCE_PERIOD})
    client = NotebookClient(nb, timeout=600, kernel_name=KERNEL_NAME, resources={"metadata": {"path": str(path.parent)}})
    client.execute(env=env)
    nbformat.write(strip(nb), str(path))


def _write_if_changed(path: Path, nb: nbformat.NotebookNode, before: nbformat.NotebookNode) -> bool:
    if nb == before:
        return False
    nbformat.write(nb, str(path))
    return True


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("normalize", "strip", "refresh", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    command, paths = argv[0], [Path(p) for p in argv[1:]]
    if command == "check":
        found = [line for path in paths for line in problems(path)]
        print("\n".join(found) or f"{len(paths)} notebook sạch")
        return 1 if found else 0
    for path in paths:
        if command == "refresh":
            refresh(path)
            print(f"refreshed {path}")
            continue
        nb = nbformat.read(str(path), as_version=4)
        before = copy.deepcopy(nb)
        nb = normalize(nb, is_chapter(path)) if command == "normalize" else strip(nb)
        if _write_if_changed(path, nb, before):
            print(f"{command}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
