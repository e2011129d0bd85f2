"""Charts in one house style: Vietnamese labels and number formats, targets drawn, no chartjunk.

Every function takes tidy data and returns a matplotlib Figure; the chapter context wraps it
with its number, caption and source line (`Chapter.figure`). Missing values are never drawn as
zero: rows without a figure are left out and named in the caption by the caller.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from . import fmt  # noqa: E402
from .data_env import CHART_STORE_ENV  # noqa: E402

PALETTE = {
    "main": "#1f5b99",
    "second": "#e08a1e",
    "target": "#b3261e",
    "met": "#2e7d32",
    "not_met": "#c62828",
    "no_data": "#9e9e9e",
    "grid": "#d9d9d9",
}
STATUS_COLORS = {"Đạt": PALETTE["met"], "Dự kiến đạt": "#7cb342", "Chưa đạt": PALETTE["not_met"],
                 "Chưa đến hạn": "#f2a900", "Chưa có số liệu": PALETTE["no_data"],
                 "Hoàn thành": PALETTE["met"], "Đã triển khai": "#7cb342", "Đang triển khai": "#f2a900",
                 "Chưa hoàn thành": "#ef6c00", "Chưa triển khai": "#8d6e63", "Quá hạn": PALETTE["not_met"],
                 "Chưa đánh giá": "#bdbdbd", "Chưa có thông tin": PALETTE["no_data"]}


def _share_text_metrics() -> None:
    """Measure each text once per process, not once per renderer.

    matplotlib caches a string's size per renderer object, and a chart makes three: the layout
    at screen resolution, then two at the file's (the tight crop, the drawing). Chapters draw
    many charts with the same labels, ticks and units. With the Agg renderer a size depends only
    on the text, its font properties, the resolution and the hinting settings, so the sizes are
    kept here under exactly those, measured by a one-pixel renderer of that resolution: the same
    numbers, so the same pixels (tested against matplotlib's own cache). Any other renderer, or a
    matplotlib without this hook, keeps matplotlib's cache."""
    import functools

    import matplotlib.text as mtext
    from matplotlib.backends.backend_agg import RendererAgg

    own = getattr(mtext, "_get_text_metrics_function", None)
    if own is None or getattr(own, "dxreport", False):
        return
    measurers: dict[float, RendererAgg] = {}

    @functools.lru_cache(maxsize=16384)
    def measured(dpi, hinting, factor, text, fontprop, ismath):
        measurer = measurers.get(dpi)
        if measurer is None:
            measurer = measurers[dpi] = RendererAgg(1, 1, dpi)
        return measurer.get_text_width_height_descent(text, fontprop, ismath)

    def metrics_function(renderer):
        if type(renderer) is not RendererAgg:
            return own(renderer)

        def get(text, fontprop, ismath, dpi):
            rc = matplotlib.rcParams
            return measured(dpi, rc["text.hinting"], rc["text.hinting_factor"], text, fontprop, ismath)

        return get

    metrics_function.dxreport = True
    metrics_function.__wrapped_original__ = own  # matplotlib's, for the test that compares the two
    mtext._get_text_metrics_function = metrics_function


_share_text_metrics()


def all_full(values, unit: str) -> bool:
    """True when every bar would be 100%: such a chart says nothing a sentence does not."""
    values = [v for v in values if v is not None]
    return unit == "%" and bool(values) and all(abs(float(v) - 100.0) < 1e-9 for v in values)
WIDTH = 7.0


@contextmanager
def house_style():
    rc = {
        "font.family": "DejaVu Sans",
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.edgecolor": "#555555",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "grid.color": PALETTE["grid"],
        "figure.dpi": 100,
        "savefig.dpi": 150,
        "text.parse_math": False,  # labels come from the data: "$" is a dollar sign, never mathtext
    }
    with sns.axes_style("whitegrid", rc=rc), plt.rc_context(rc):
        yield


def _wrap(label: str, width: int = 38) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(str(label), width)) or str(label)


def bars(frame: pd.DataFrame, label: str, value: str, unit: str, target: float | None = None,
         target_label: str = "Mục tiêu", color: str | None = None, xmax: float | None = None):
    """Horizontal bars, one per row, value printed at the bar's end; optional target line."""
    rows = frame.dropna(subset=[value])
    with house_style():
        height = max(1.6, 0.42 * len(rows) + 0.8)
        fig, ax = plt.subplots(figsize=(WIDTH, height))
        labels = [_wrap(x) for x in rows[label]]
        ax.barh(labels, rows[value], color=color or PALETTE["main"], height=0.6)
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(fmt.axis_formatter(unit))
        top = max([*rows[value].tolist(), target or 0, 0]) or 1
        ax.set_xlim(0, xmax if xmax is not None else top * 1.18)
        for y, v in enumerate(rows[value]):
            ax.text(v, y, " " + fmt.with_unit(v, unit), va="center", fontsize=8)
        if target is not None:
            ax.axvline(target, color=PALETTE["target"], linestyle="--", linewidth=1.2)
            ax.text(target, -0.7, f"{target_label}: {fmt.with_unit(target, unit)}", color=PALETTE["target"],
                    fontsize=8, ha="center", va="bottom")
        ax.grid(axis="y", visible=False)
        ax.set_ylabel("")
        fig.tight_layout()
    return fig


def scorecard(frame: pd.DataFrame, label: str = "pillar", counts=("Đạt", "Chưa đạt", "Chưa có số liệu"),
              xlabel: str = "Số mục tiêu"):
    """Stacked horizontal bars of verdicts per row (targets per pillar, tasks per plan), each
    segment labelled with its count."""
    with house_style():
        fig, ax = plt.subplots(figsize=(WIDTH, max(1.6, 0.5 * len(frame) + 0.9)))
        left = pd.Series(0.0, index=frame.index)
        for status in counts:
            widths = frame[status].astype(float)
            ax.barh(frame[label], widths, left=left, color=STATUS_COLORS[status], label=status, height=0.6)
            for y, (w, x0) in enumerate(zip(widths, left)):
                if w > 0:
                    ax.text(x0 + w / 2, y, fmt.number(w, 0), ha="center", va="center", color="white", fontsize=8)
            left = left + widths
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(fmt.axis_formatter())
        ax.set_xlabel(xlabel)
        ax.legend(frameon=False, ncol=3, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0))
        ax.grid(axis="y", visible=False)
        fig.tight_layout()
    return fig


def trend(frame: pd.DataFrame, date: str, value: str, unit: str, series: str | None = None,
          target: float | None = None, invert: bool = False):
    """A line over time (one line per `series` when given), points labelled; `invert` puts
    small values on top (ranks)."""
    rows = frame.dropna(subset=[value]).sort_values(date)
    with house_style():
        fig, ax = plt.subplots(figsize=(WIDTH, 3.0))
        groups = rows.groupby(series) if series else [("", rows)]
        for i, (name, part) in enumerate(groups):
            color = [PALETTE["main"], PALETTE["second"], "#6a9fd4"][i % 3]
            ax.plot(part[date], part[value], marker="o", color=color, label=name or None)
            for x, y in zip(part[date], part[value]):
                ax.annotate(fmt.with_unit(y, unit), (x, y), textcoords="offset points", xytext=(0, 6),
                            ha="center", fontsize=7)
        ax.yaxis.set_major_formatter(fmt.axis_formatter(unit))
        yearly = all(d.month == 12 and d.day == 31 for d in pd.to_datetime(rows[date]))
        if yearly:  # annual figures: one tick per year
            years = sorted({d.year for d in pd.to_datetime(rows[date])})
            ax.set_xticks([pd.Timestamp(y, 12, 31) for y in years], [str(y) for y in years])
        else:
            ax.xaxis.set_major_formatter(matplotlib.dates.DateFormatter("%m/%Y"))
        if target is not None:
            ax.axhline(target, color=PALETTE["target"], linestyle="--", linewidth=1.2,
                       label=f"Mục tiêu {fmt.with_unit(target, unit)}")
        if invert:  # ranks: whole numbers, the best at the top
            ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
            ax.invert_yaxis()
        if series or target is not None:
            ax.legend(frameon=False, fontsize=8)
        fig.tight_layout()
    return fig


def changes(labels: list[str], values: list[float], texts: list[str], xlabel: str):
    """Horizontal bars of signed changes around zero (green up, red down, grey unchanged), each
    labelled with its text at the bar's end."""
    with house_style():
        fig, ax = plt.subplots(figsize=(WIDTH, 0.42 * len(labels) + 1.0))
        colors = [PALETTE["met"] if v > 0 else PALETTE["not_met"] if v < 0 else PALETTE["no_data"] for v in values]
        ax.barh(labels, values, color=colors, height=0.6)
        ax.invert_yaxis()
        ax.axvline(0, color="#555555", linewidth=0.8)
        span = max((abs(v) for v in values), default=0) or 1
        ax.set_xlim(-span * 1.35, span * 1.35)
        for y, (v, text) in enumerate(zip(values, texts)):
            ax.text(v, y, f" {text} ", va="center", ha="left" if v >= 0 else "right", fontsize=8)
        ax.xaxis.set_major_formatter(fmt.axis_formatter())
        ax.set_xlabel(xlabel)
        ax.grid(axis="y", visible=False)
        fig.tight_layout()
    return fig


# -- drawn once per process, and once per kernel pool -------------------------------------------
# Consecutive periods often show the same chart of the same figures (a site of eight quarters
# draws 68 charts, 28 of them distinct). A kernel runs many chapters and periods, so a chart is
# kept as PNG bytes, keyed by the chart function and a fingerprint of everything it is given;
# an identical call gets the same bytes without drawing. The memo lives in this process only
# (it survives the `%reset` between chapters, not the kernel) and is bounded in bytes.
# The kernels of one pool (`execute.KernelPool`) also share a folder, named in STORE_ENV, that
# lives as long as the pool: a chart one kernel drew is read there by the others. The pool's
# kernels run the same code, and the folder goes with the pool, so nothing outlives the code
# or data it was drawn from.
STORE_ENV = CHART_STORE_ENV
MEMO_LIMIT = 64 * 1024 * 1024
_MEMO: "OrderedDict[str, bytes]" = OrderedDict()
_memo_size = 0
draws = 0  # charts actually drawn by `drawn` in this process (for tests and benchmarks)


def _fingerprint(value, digest) -> None:
    """Feed `value` into `digest`: frames and series by their values, index, columns and
    dtypes; containers item by item; anything else by type and repr. Raises TypeError for what
    it cannot fingerprint (the chart is then drawn without the memo)."""
    if isinstance(value, pd.DataFrame):
        digest.update(b"F" + repr((list(value.columns), [str(t) for t in value.dtypes], value.shape)).encode())
        digest.update(pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes())
        digest.update(repr(list(value.index)).encode())
    elif isinstance(value, pd.Series):
        digest.update(b"S" + repr((value.name, str(value.dtype), len(value))).encode())
        digest.update(pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes())
    elif isinstance(value, (list, tuple)):
        digest.update(f"{type(value).__name__}{len(value)}(".encode())
        for item in value:
            _fingerprint(item, digest)
        digest.update(b")")
    elif isinstance(value, dict):
        digest.update(f"d{len(value)}(".encode())
        for key in sorted(value, key=repr):
            _fingerprint(key, digest)
            _fingerprint(value[key], digest)
        digest.update(b")")
    elif value is None or isinstance(value, (str, int, float, bool)):
        digest.update(f"{type(value).__name__}:{value!r};".encode())
    else:
        raise TypeError(f"no fingerprint for {type(value).__name__}")


def png(fig, dpi: int = 150) -> bytes:
    """A matplotlib figure as PNG bytes (cropped to its content, no software stamp); closes it."""
    import io

    buf = io.BytesIO()
    # zlib's fastest level: the same pixels, a file about 1 % larger, an eighth less time a chart
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None},
                pil_kwargs={"compress_level": 1})
    plt.close(fig)
    return buf.getvalue()


def _read_shared(store: str, key: str) -> bytes | None:
    try:
        raw = (Path(store) / f"{key}.png").read_bytes()
    except OSError:
        return None
    return raw if raw.startswith(b"\x89PNG") else None


def _write_shared(store: str, key: str, raw: bytes) -> None:
    """Written aside and renamed, so another kernel never reads half a file; a store that cannot
    be written only costs the other kernels a drawing."""
    folder = Path(store)
    tmp = folder / f".{key}.{os.getpid()}.tmp"
    try:
        tmp.write_bytes(raw)
        os.replace(tmp, folder / f"{key}.png")
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass


def drawn(chart, *args, dpi: int = 150, **kwargs) -> bytes:
    """`chart(*args, **kwargs)` saved as PNG, drawn only if this process has not drawn the same
    chart of the same data at the same resolution before."""
    global _memo_size, draws
    digest = hashlib.sha256(f"{chart.__module__}.{chart.__qualname__}@{dpi}".encode())
    try:
        _fingerprint((args, kwargs), digest)
        key = digest.hexdigest()
    except TypeError:
        key = None
    if key is not None and key in _MEMO:
        _MEMO.move_to_end(key)
        return _MEMO[key]
    store = os.environ.get(STORE_ENV) if key is not None else None
    raw = _read_shared(store, key) if store else None
    if raw is None:
        draws += 1
        raw = png(chart(*args, **kwargs), dpi)
        if store:
            _write_shared(store, key, raw)
    if key is not None and len(raw) <= MEMO_LIMIT:
        _MEMO[key] = raw
        _memo_size += len(raw)
        while _memo_size > MEMO_LIMIT:
            _, old = _MEMO.popitem(last=False)
            _memo_size -= len(old)
    return raw
