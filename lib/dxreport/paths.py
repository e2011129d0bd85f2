"""Where things live. The one helper every other module asks for a path.

The project root is found from this file's location (the package is installed in editable mode
from `lib/`), or from `DXREPORT_ROOT` when set. Nothing depends on the current directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

FORMATS = ("html", "pdf", "docx")
OUTPUT_NAME = "bao-cao"
CHECK_SHEET_NAME = "kiem-tra-so-lieu.xlsx"  # the internal data-check sheet beside a report
PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"


def _looks_like_root(path: Path) -> bool:
    return (path / "notebooks").is_dir() and (path / "_quarto.yml").is_file()


def find_root() -> Path:
    env = os.environ.get("DXREPORT_ROOT")
    if env:
        return Path(env).resolve()
    candidate = PACKAGE_DIR.parents[1]
    if _looks_like_root(candidate):
        return candidate
    for parent in [Path.cwd(), *Path.cwd().parents]:
        if _looks_like_root(parent):
            return parent
    return candidate


@dataclass(frozen=True)
class ProjectPaths:
    root: Path

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def notebooks_dir(self) -> Path:
        return self.root / "notebooks"

    @property
    def outputs_dir(self) -> Path:
        return self.root / "outputs"

    @property
    def cache_dir(self) -> Path:
        return self.outputs_dir / ".cache"

    @property
    def quarto_yml(self) -> Path:
        return self.root / "_quarto.yml"

    def report_dir(self, province: str, period: str) -> Path:
        """`outputs/<province>/<period>/`, refused if the codes would lead anywhere else."""
        return confined(self.outputs_dir, province, period)

    def report_cache_dir(self, province: str, period: str) -> Path:
        """What a build keeps about a report but never publishes: its manifest (`build.json`),
        the executed chapter notebooks of the last build, the kernels' log, the lock."""
        return confined(self.cache_dir / "reports", province, period)

    def failed_dir(self, province: str, period: str) -> Path:
        """Where a failed chapter's executed notebook and full traceback are kept."""
        return confined(self.cache_dir / "failed", province, period)


def confined(base: Path, *parts: str) -> Path:
    """`base / part / ...`, resolved, refused with `OutputPathError` unless every part is one plain
    path component and the result stays inside `base` (codes come from the data: a unit code such as
    `../../x` or `/tmp/x` must never decide where a build writes or deletes)."""
    from .errors import OutputPathError

    top = Path(os.path.abspath(base))
    for part in parts:
        text = str(part)
        if (not text or text in (".", "..") or text.startswith(".") or "/" in text or "\\" in text
                or "\0" in text or os.path.isabs(text)):
            raise OutputPathError(f"Mã {text!r} không dùng được làm tên thư mục đầu ra: chỉ gồm chữ thường, "
                                  f"số và dấu gạch ngang, ví dụ nghe-an, 2023-Q3.")
    target = top.joinpath(*map(str, parts))
    real_top = top.resolve()
    real = target.resolve()
    if real != real_top and real_top not in real.parents:
        raise OutputPathError(f"Đường dẫn đầu ra {target} trỏ ra ngoài {top} (tới {real}); "
                              f"không ghi và không xóa gì ở đó.")
    return target


def project(root: Path | str | None = None) -> ProjectPaths:
    return ProjectPaths(Path(root).resolve() if root else find_root())


def resolve_data_dir(data_dir: str | Path | None, root: Path | None = None) -> Path:
    """A data directory as given (absolute, or relative to the project root), default `data/`."""
    base = root or find_root()
    if data_dir in (None, ""):
        return base / "data"
    path = Path(data_dir)
    return path if path.is_absolute() else (base / path)
