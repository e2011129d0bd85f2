"""Reading and writing notebook files as plain JSON, laid out as nbformat writes them.

The render path only filters cells and outputs; nbformat and nbconvert cost about 0,4 s of
imports (jsonschema, mistune, bs4, nbclient) on every build, which is most of what a rebuild
after a prose edit does. This module does the same reads and writes on plain dicts:

- `read` gives the notebook as dicts, multi-line strings joined (as `nbformat.read` does);
- `write` splits them again and dumps with nbformat's settings (sorted keys, indent 1, UTF-8,
  final newline), so the bytes equal `nbformat.write`'s for the v4 notebooks the build makes.

Both go through orjson (a chapter's notebook is read and written a few times per build, and
the standard library's encoder falls back to pure Python when it indents): orjson indents by
two spaces, halved here, and its strings are escaped as `json.dumps(ensure_ascii=False)` escapes
them. Two differences are left on purpose: a float in exponent form is written `1e-8`, not
`1e-08` (the same number when read), and NaN or an infinity, which JSON lacks, becomes `null`.
The notebooks the build publishes hold no floats (run timings are stripped). What orjson
refuses (a lone surrogate, an integer beyond 64 bits, NaN in a file read) goes through `json`.
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson


def _json_mime(mime: str) -> bool:
    return mime == "application/json" or (mime.startswith("application/") and mime.endswith("+json"))


def _join_bundle(data: dict) -> None:
    for mime, value in data.items():
        if not _json_mime(mime) and isinstance(value, list) and all(isinstance(v, str) for v in value):
            data[mime] = "".join(value)


def _split_bundle(data: dict) -> None:
    for mime, value in data.items():
        if isinstance(value, str) and (mime.startswith("text/") or mime in ("application/javascript", "image/svg+xml")):
            data[mime] = value.splitlines(True)


def _rejoin(nb: dict) -> None:
    """nbformat's `rejoin_lines`: what a file stores as lists of lines becomes strings."""
    for cell in nb.get("cells", []):
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
        for attachment in cell.get("attachments", {}).values():
            _join_bundle(attachment)
        if cell.get("cell_type") == "code":
            for output in cell.get("outputs", []):
                kind = output.get("output_type", "")
                if kind in ("execute_result", "display_data"):
                    _join_bundle(output.get("data", {}))
                elif kind and isinstance(output.get("text", ""), list):
                    output["text"] = "".join(output["text"])


def _split(nb: dict) -> None:
    """nbformat's `split_lines` and `strip_transient`, as `nbformat.write` applies them."""
    for key in ("orig_nbformat", "orig_nbformat_minor", "signature"):
        nb.get("metadata", {}).pop(key, None)
    for cell in nb.get("cells", []):
        cell.get("metadata", {}).pop("trusted", None)
        if isinstance(cell.get("source"), str):
            cell["source"] = cell["source"].splitlines(True)
        for attachment in cell.get("attachments", {}).values():
            _split_bundle(attachment)
        if cell.get("cell_type") == "code":
            for output in cell.get("outputs", []):
                kind = output.get("output_type")
                if kind in ("execute_result", "display_data"):
                    _split_bundle(output.get("data", {}))
                elif kind == "stream" and isinstance(output.get("text"), str):
                    output["text"] = output["text"].splitlines(True)


def read(path: Path) -> dict:
    raw = Path(path).read_bytes()
    try:
        nb = orjson.loads(raw)
    except orjson.JSONDecodeError:
        nb = json.loads(raw.decode("utf-8"))
    _rejoin(nb)
    return nb


def _halve_indent(raw: bytes) -> bytes:
    """orjson's two-space indent as nbformat's one (JSON text has no raw newline inside a
    string, so every line's leading spaces are indentation)."""
    lines = raw.split(b"\n")
    return b"\n".join(line[(len(line) - len(line.lstrip(b" "))) // 2:] for line in lines)


def _dumps_json(nb: dict) -> str:
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False, separators=(",", ": "))


def dumps(nb: dict) -> str:
    try:
        nb = orjson.loads(orjson.dumps(nb))  # a copy: the caller's strings stay joined
        _split(nb)
        raw = orjson.dumps(nb, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        text = _halve_indent(raw).decode("utf-8")
    except orjson.JSONEncodeError:
        nb = json.loads(json.dumps(nb))
        _split(nb)
        text = _dumps_json(nb)
    return text if text.endswith("\n") else text + "\n"


def canonical(nb: dict) -> bytes:
    """The notebook's content as compact JSON with sorted keys, multi-line strings joined: the
    same bytes for a notebook in memory and for that notebook written and read back (a key for
    caches, not a file format)."""
    try:
        return orjson.dumps(nb, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return json.dumps(nb, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def write(nb: dict, path: Path) -> None:
    Path(path).write_text(dumps(nb), encoding="utf-8")
