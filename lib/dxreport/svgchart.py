"""A small line chart written as SVG text: the site's trend charts.

The trend page draws each key indicator's published figures over time, with its target as a
dashed line. Written here as SVG rather than drawn with matplotlib: the page needs no
rasterising (a site build imports no plotting library in its own process), and the chart stays
sharp when a phone reader zooms it. Same house style as the report's charts (`charts.trend`):
Vietnamese numbers, dates as month/year (years for year-end figures), each point labelled,
ranks with the best at the top.

Text is escaped for XML (`escape.html`); the chart holds no script, no link and no reference to
any other file, and fonts are the reader's own (no font is fetched).
"""

from __future__ import annotations

import math
from datetime import date

from . import escape, fmt

WIDTH, HEIGHT = 600, 260
MAIN, TARGET, GRID, AXIS, INK = "#1f5b99", "#b3261e", "#d9d9d9", "#555555", "#333333"
FONT = "DejaVu Sans, Verdana, Arial, sans-serif"
CHAR = 7.2  # average width of a 12 px character of those fonts, for margins (text is never measured)


def nice_ticks(low: float, high: float, most: int = 6) -> list[float]:
    """Round tick values inside [low, high]: steps of 1, 2, 2,5 or 5 times a power of ten, at
    most `most` ticks. A range too narrow to divide (one value) is widened by one each way."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("ticks need finite bounds")
    low, high = min(low, high), max(low, high)
    if high - low <= 1e-9 * max(1.0, abs(low), abs(high)):
        low, high = low - 1, high + 1
    raw = (high - low) / max(1, most - 1)
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * power
        ticks = [k * step for k in range(math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9) + 1)]
        if ticks and len(ticks) <= most:
            return ticks
    return [low, high]


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def month_ticks(first: date, last: date, most: int = 7) -> list[date]:
    """First days of months between two dates, every 1, 2, 3, 6, 12 or 24 months (quarters start
    in January, April, July and October), at most `most` of them."""
    start, stop = _month_index(first), _month_index(last)
    for step in (1, 2, 3, 6, 12, 24, 60):
        begin = start + (-start) % step
        if first.day > 1 and begin == start:  # the first day of that month is before the range
            begin += step
        ticks = [date(i // 12, i % 12 + 1, 1) for i in range(begin, stop + 1, step)]
        if len(ticks) <= most:
            return ticks
    return [first, last]


def _num(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def line_chart(points: list[tuple[date, float]], unit: str, target: float | None = None,
               invert: bool = False, title: str = "") -> str:
    """An SVG document: the line through `points` (date, value), each point labelled with its
    figure; `target` as a dashed line named in a legend; `invert` puts small values on top
    (ranks, drawn with whole-number ticks). `title` is the chart's accessible name."""
    points = sorted((d, float(v)) for d, v in points)
    if not points:
        raise ValueError("a line chart needs a point")
    values = [v for _, v in points] + ([float(target)] if target is not None else [])
    low, high = min(values), max(values)
    ticks = nice_ticks(low, high)
    if invert:
        ticks = [t for t in ticks if float(t).is_integer()] or [math.floor(low), math.ceil(high)]
    y_low, y_high = min(ticks[0], low), max(ticks[-1], high)
    span = (y_high - y_low) or 1.0
    y_low, y_high = y_low - span * 0.06, y_high + span * 0.06

    labels = [fmt.tick(t, unit) for t in ticks]  # as the report's charts label theirs
    left = 14 + CHAR * max(len(text) for text in labels)
    right, top, bottom = WIDTH - 16, 40, HEIGHT - 30

    days = [d.toordinal() for d, _ in points]
    first, last = min(days), max(days)
    pad = max(1, (last - first) * 0.06)
    x_low, x_high = first - pad, last + pad

    def x(ordinal: float) -> float:
        return left + (ordinal - x_low) / (x_high - x_low) * (right - left)

    def y(value: float) -> float:
        share = (value - y_low) / (y_high - y_low)
        return top + share * (bottom - top) if invert else bottom - share * (bottom - top)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
           f'height="{HEIGHT}" role="img" font-family="{FONT}" font-size="12">']
    if title:
        out.append(f"<title>{escape.html(title)}</title>")
    out.append(f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>')
    # horizontal grid and value axis
    out.append(f'<g stroke="{GRID}" stroke-width="1">')
    out += [f'<line x1="{_num(left)}" y1="{_num(y(t))}" x2="{right}" y2="{_num(y(t))}"/>' for t in ticks]
    out.append("</g>")
    out.append(f'<g fill="{INK}" text-anchor="end">')
    out += [f'<text x="{_num(left - 6)}" y="{_num(y(t) + 4)}">{escape.html(text)}</text>'
            for t, text in zip(ticks, labels)]
    out.append("</g>")
    # time axis: years for year-end figures, else months
    yearly = all(d.month == 12 and d.day == 31 for d, _ in points)
    if yearly:
        marks = [(date(year, 12, 31), str(year)) for year in sorted({d.year for d, _ in points})]
    else:
        marks = [(day, f"{day.month:02d}/{day.year}")
                 for day in month_ticks(date.fromordinal(math.ceil(x_low)), date.fromordinal(math.floor(x_high)))]
    out.append(f'<line x1="{_num(left)}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="{AXIS}"/>'
               f'<line x1="{_num(left)}" y1="{top - 12}" x2="{_num(left)}" y2="{bottom}" stroke="{AXIS}"/>')
    out.append(f'<g fill="{INK}" text-anchor="middle">')
    for day, text in marks:
        at = x(day.toordinal())
        out.append(f'<line x1="{_num(at)}" y1="{bottom}" x2="{_num(at)}" y2="{bottom + 4}" stroke="{AXIS}"/>'
                   f'<text x="{_num(at)}" y="{bottom + 18}">{escape.html(text)}</text>')
    out.append("</g>")
    if target is not None:
        ty = _num(y(float(target)))
        out.append(f'<line x1="{_num(left)}" y1="{ty}" x2="{right}" y2="{ty}" stroke="{TARGET}" '
                   f'stroke-width="1.5" stroke-dasharray="6 4"/>')
        legend = f"Mục tiêu {fmt.with_unit(target, unit)}"
        out.append(f'<line x1="{_num(left + 8)}" y1="14" x2="{_num(left + 32)}" y2="14" stroke="{TARGET}" '
                   f'stroke-width="1.5" stroke-dasharray="6 4"/>'
                   f'<text x="{_num(left + 38)}" y="18" fill="{INK}">{escape.html(legend)}</text>')
    path = " ".join(f"{_num(x(o))},{_num(y(v))}" for o, (_, v) in zip(days, points))
    out.append(f'<polyline points="{path}" fill="none" stroke="{MAIN}" stroke-width="2"/>')
    out.append(f'<g fill="{MAIN}">')
    out += [f'<circle cx="{_num(x(o))}" cy="{_num(y(v))}" r="4"/>' for o, (_, v) in zip(days, points)]
    out.append("</g>")
    out.append(f'<g fill="{INK}" font-size="11">')
    for o, (_, v) in zip(days, points):
        text = fmt.with_unit(v, unit)
        half = CHAR * 0.92 * len(text) / 2
        at = min(max(x(o), left + half), WIDTH - 2 - half)  # kept inside the chart
        out.append(f'<text x="{_num(at)}" y="{_num(y(v) - 9)}" text-anchor="middle">{escape.html(text)}</text>')
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"
