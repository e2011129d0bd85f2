"""dxreport: reproducible reporting notebooks for provincial digital-transformation reports.

Chapters use `open_chapter`; exploration uses `load` and `figures` (tidy DataFrames, see
`dxreport.explore`); the CLI and tests use `build` and `validate_dir` (and `dxreport.data.load`
for the raw validated tables).
Imports are lazy so `dxreport build` can decide "nothing changed" without loading pandas.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "open_chapter": ("chapter", "open_chapter"),
    "load": ("explore", "load"),
    "figures": ("explore", "figures"),
    "build": ("build", "build"),
    "validate_dir": ("validate", "validate_dir"),
}
__all__ = [*_EXPORTS, "fmt"]


def __getattr__(name: str):
    if name in _EXPORTS:
        module, attr = _EXPORTS[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)
    if name == "fmt":
        return importlib.import_module(".fmt", __name__)
    raise AttributeError(f"module 'dxreport' has no attribute {name!r}")
