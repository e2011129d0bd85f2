"""Shared fixtures: a copy of the synthetic data, and throw-away project roots for builds."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURE_DATA = REPO / "tests" / "fixtures" / "data"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A writable copy of the synthetic test data."""
    target = tmp_path / "data"
    shutil.copytree(FIXTURE_DATA, target)
    return target


def set_cell(path: Path, line: int, column: str, value: str) -> None:
    """Set one cell of a CSV; `line` is the editor's line number (header = 1)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
        fields = list(rows[0].keys()) if rows else []
    rows[line - 2][column] = value
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fields)
        writer.writeheader()
        writer.writerows(rows)


def append_row(path: Path, **values: str) -> int:
    """Append a row; returns its line number."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames
        count = sum(1 for _ in reader)
    with path.open("a", encoding="utf-8", newline="") as handle:
        csv.DictWriter(handle, fields).writerow({f: values.get(f, "") for f in fields})
    return count + 2


def make_project(root: Path, notebooks: list[str], data: Path | None = None) -> Path:
    """A project root with the given chapter notebooks of the repository and its _quarto.yml."""
    (root / "notebooks").mkdir(parents=True, exist_ok=True)
    for name in notebooks:
        source = Path(name) if Path(name).is_absolute() else REPO / "notebooks" / name
        shutil.copyfile(source, root / "notebooks" / source.name)
    shutil.copyfile(REPO / "_quarto.yml", root / "_quarto.yml")
    shutil.copytree(data or (REPO / "data"), root / "data")
    return root
