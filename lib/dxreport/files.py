"""The data files a build reads, found without pandas (for the CLI's "nothing changed" path)."""

from __future__ import annotations

import csv
from pathlib import Path

from . import schema
from .paths import resolve_data_dir


def data_files(data_dir: str | Path | None) -> list[Path]:
    """Every declared table present in the directory: the data a build reads and keys on."""
    folder = resolve_data_dir(data_dir)
    return [folder / t.file for t in schema.ALL if (folder / t.file).exists()]


def known_provinces(data_dir: str | Path | None = None) -> list[str]:
    """Province slugs read straight from units.csv."""
    path = resolve_data_dir(data_dir) / schema.UNITS.file
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return sorted(row["unit_id"] for row in csv.DictReader(handle) if row.get("kind") == "tỉnh")
