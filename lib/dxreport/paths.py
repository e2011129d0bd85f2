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
        return self.outputs_dir / province / period


def project(root: Path | str | None = None) -> ProjectPaths:
    return ProjectPaths(Path(root).resolve() if root else find_root())


def resolve_data_dir(data_dir: str | Path | None, root: Path | None = None) -> Path:
    """A data directory as given (absolute, or relative to the project root), default `data/`."""
    base = root or find_root()
    if data_dir in (None, ""):
        return base / "data"
    path = Path(data_dir)
    return path if path.is_absolute() else (base / path)
