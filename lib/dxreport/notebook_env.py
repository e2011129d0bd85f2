"""What the notebooks run on outside a build: the project kernel and nbval's reference period.

- The project kernel: `make setup` registers the `.venv` interpreter as the Jupyter kernel
  `KERNEL_NAME` in the venv's own `share/jupyter` (`ipykernel install --sys-prefix`), and every
  notebook names it in `metadata.kernelspec`, so Lab, VS Code or any Jupyter finds it.
- The reference period: the key figures stored in a chapter's `# NBVAL_CHECK_OUTPUT` cell belong
  to one fixed period, not to "the latest quarter with data", so a new quarter's data leaves the
  notebook tests green. nbval and `make refresh-expected` set `PERIOD_ENV`; `open_chapter` reads it
  when the notebook's `period` parameter is None. In Lab the variable is unset and a chapter opens
  on the latest quarter with data.
"""

from __future__ import annotations

KERNEL_NAME = "dxreport"
KERNEL_DISPLAY_NAME = "Python (dxreport)"

PERIOD_ENV = "DXREPORT_PERIOD"
REFERENCE_PROVINCE = "nghe-an"
REFERENCE_PERIOD = "2023-Q3"  # the period of the review the seed documents answer

# A cell whose output nbval compares: a code cell with this comment on a line of its own.
CHECK_MARK = "# NBVAL_CHECK_OUTPUT"


def is_check(cell) -> bool:
    """A key-figure cell (nbformat node or plain dict; source as a string or a list of lines)."""
    source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
    return cell["cell_type"] == "code" and any(line.strip() == CHECK_MARK for line in source.splitlines())


def kernelspec() -> dict:
    """The `metadata.kernelspec` every notebook carries."""
    return {"display_name": KERNEL_DISPLAY_NAME, "language": "python", "name": KERNEL_NAME}
