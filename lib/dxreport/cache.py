"""Keys that decide when work can be skipped: code, parameters and the data actually read.

Quarto's `freeze` and jupyter-cache key a notebook on its code text only, so a new quarter's
data or parameters would be served last quarter's results. Here a chapter's key covers:
the notebook's cells (not its outputs), the injected parameters, the `dxreport` package source
and templates, the pinned environment, and the bytes of every data file the build reads.

This module imports nothing heavy: the CLI's "nothing changed" path runs on it alone.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .paths import PACKAGE_DIR, ProjectPaths

CACHE_VERSION = "1"


def _update_file(h: "hashlib._Hash", path: Path, label: str) -> None:
    h.update(label.encode("utf-8") + b"\0")
    h.update(path.read_bytes())
    h.update(b"\0")


def files_hash(paths: list[Path], base: Path | None = None) -> str:
    h = hashlib.sha256()
    for path in sorted(paths):
        _update_file(h, path, str(path.relative_to(base)) if base else path.name)
    return h.hexdigest()


def code_hash(paths: ProjectPaths) -> str:
    """The package source and templates, plus the lock file that pins every dependency."""
    files = [p for p in PACKAGE_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts
             and p.suffix != ".pyc"]
    extra = [paths.root / name for name in ("requirements.lock", "pyproject.toml") if (paths.root / name).exists()]
    h = hashlib.sha256(files_hash(files, PACKAGE_DIR).encode())
    h.update(files_hash(extra).encode())
    return h.hexdigest()


def notebook_hash(path: Path) -> str:
    """A notebook's cells as code and text, ignoring outputs, counts and metadata other than tags."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = [
        {"type": c.get("cell_type"), "source": "".join(c.get("source", [])) if isinstance(c.get("source"), list)
         else c.get("source", ""), "tags": sorted(c.get("metadata", {}).get("tags", []))}
        for c in nb.get("cells", [])
    ]
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def code_cells_hash(path: Path) -> str:
    """What a notebook's execution depends on: its code cells (source and tags) and where the
    Markdown cells sit, not what they say. A chapter whose prose alone changed keeps its
    executed outputs; its new Markdown is put into them (`splice_markdown`)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = [{"type": "code", "source": _source(c), "tags": sorted(c.get("metadata", {}).get("tags", []))}
             if c.get("cell_type") == "code" else {"type": c.get("cell_type")}
             for c in nb.get("cells", [])]
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


INJECTED_TAG = "injected-parameters"  # the cell Papermill adds after the parameters cell


def splice_markdown(executed: bytes, source: Path) -> bytes | None:
    """The executed notebook `executed` with the Markdown cells (text and metadata) of the
    notebook at `source`, or None when the two do not have the same cells in the same order
    (then the chapter runs again)."""
    try:
        done = json.loads(executed.decode("utf-8"))
        new = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    mine = [c for c in done.get("cells", []) if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])]
    theirs = new.get("cells", [])
    if len(mine) != len(theirs):
        return None
    for old, cell in zip(mine, theirs):
        if old.get("cell_type") != cell.get("cell_type"):
            return None
        if cell.get("cell_type") == "code" and _source(old) != _source(cell):
            return None
        if cell.get("cell_type") in ("markdown", "raw"):
            old["source"] = cell.get("source", "")
            old["metadata"] = cell.get("metadata", {})
            if "attachments" in cell:
                old["attachments"] = cell["attachments"]
            else:
                old.pop("attachments", None)
    return json.dumps(done, ensure_ascii=False, indent=1).encode("utf-8")


def data_hash(data_files: list[Path]) -> str:
    return files_hash(data_files)


def key(*parts: object) -> str:
    text = json.dumps([CACHE_VERSION, *parts], ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# Chapter cache entries: `<key>.ipynb` beside `<key>.sha256`, both written atomically (a temporary
# file renamed into place), the checksum last. An entry is served only when both exist and the
# notebook's bytes hash to the checksum: a truncated or damaged entry is discarded and the chapter
# runs again; it never reaches the report and never stops a build.

def _atomic_write(path: Path, data: bytes) -> None:
    import os
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def store_entry(folder: Path, entry_key: str, source: Path) -> Path:
    """Keep `source` (an executed, stripped chapter) as the entry for `entry_key`."""
    folder.mkdir(parents=True, exist_ok=True)
    data = source.read_bytes()
    target = folder / f"{entry_key}.ipynb"
    _atomic_write(target, data)
    _atomic_write(folder / f"{entry_key}.sha256", hashlib.sha256(data).hexdigest().encode("ascii"))
    return target


def load_entry(folder: Path, entry_key: str) -> bytes | None:
    """The entry's bytes if it is whole; otherwise `None`, with any damaged remains removed."""
    target, check = folder / f"{entry_key}.ipynb", folder / f"{entry_key}.sha256"
    try:
        data = target.read_bytes()
        expected = check.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        data, expected = None, None
    if data is not None and hashlib.sha256(data).hexdigest() == expected:
        try:
            json.loads(data)
            return data
        except ValueError:
            pass
    for path in (target, check):
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass
    return None
