"""The trend pages' SVG line chart: ticks, geometry, Vietnamese labels, and data text kept text."""

from __future__ import annotations

import math
from datetime import date, timedelta
from xml.etree import ElementTree

from hypothesis import given, settings
from hypothesis import strategies as st

from dxreport import svgchart

SVG = "{http://www.w3.org/2000/svg}"


def parse(text: str):
    return ElementTree.fromstring(text.encode("utf-8"))


@settings(max_examples=300, deadline=None)
@given(st.floats(-1e7, 1e7, allow_nan=False), st.floats(0, 1e7, allow_nan=False))
def test_ticks_are_round_even_and_inside_the_range(low, width):
    high = low + width
    ticks = svgchart.nice_ticks(low, high)
    assert 1 <= len(ticks) <= 6
    if width > 1e-9 * max(1.0, abs(low), abs(high)) and len(ticks) >= 2:
        step = ticks[1] - ticks[0]
        assert all(math.isclose(b - a, step, rel_tol=1e-6, abs_tol=1e-9) for a, b in zip(ticks, ticks[1:]))
        mantissa = step / 10 ** math.floor(math.log10(step))
        assert any(math.isclose(mantissa, m, rel_tol=1e-6) for m in (1, 2, 2.5, 5, 10))
        slack = step * 1e-6
        assert low - slack <= ticks[0] and ticks[-1] <= high + slack


@settings(max_examples=200, deadline=None)
@given(st.dates(date(2015, 1, 1), date(2030, 12, 31)), st.integers(1, 3000))
def test_month_ticks_are_first_days_inside_the_range(first, days):
    last = first + timedelta(days=days)
    ticks = svgchart.month_ticks(first, last)
    assert len(ticks) <= 7
    assert all(first <= t <= last for t in ticks)
    if len(ticks) >= 2 and ticks != [first, last]:
        assert all(t.day == 1 for t in ticks)
        steps = {(b.year * 12 + b.month) - (a.year * 12 + a.month) for a, b in zip(ticks, ticks[1:])}
        assert len(steps) == 1


def points_of(chart):
    polyline = chart.find(f"{SVG}polyline")
    return [tuple(float(v) for v in pair.split(",")) for pair in polyline.get("points").split()]


def test_a_higher_figure_is_drawn_higher_and_later_further_right():
    chart = parse(svgchart.line_chart([(date(2023, 9, 30), 49.56), (date(2025, 6, 30), 72.35)], "%", target=50))
    (x1, y1), (x2, y2) = points_of(chart)
    assert x2 > x1 and y2 < y1
    texts = [t.text for t in chart.iter(f"{SVG}text")]
    assert "49,56%" in texts and "72,35%" in texts and "Mục tiêu 50%" in texts
    dashed = [line for line in chart.iter(f"{SVG}line") if line.get("stroke-dasharray")]
    assert dashed and all(float(d.get("y1")) == float(d.get("y2")) for d in dashed)
    target_y = float(dashed[0].get("y1"))
    assert y2 < target_y < y1  # 50% lies between the two figures


def test_ranks_put_the_best_on_top_with_whole_number_ticks():
    chart = parse(svgchart.line_chart([(date(2021, 12, 31), 56), (date(2022, 12, 31), 52)], "hạng", invert=True))
    (_, y_first), (_, y_second) = points_of(chart)
    assert y_second < y_first  # rank 52 is better than 56: higher on the page
    texts = [t.text for t in chart.iter(f"{SVG}text")]
    assert "hạng 52" in texts and "hạng 56" in texts
    assert "2021" in texts and "2022" in texts  # year-end figures: one mark per year
    ticks = [t.text for t in chart.find(f"{SVG}g[@text-anchor='end']")]
    assert ticks and all(t.replace(".", "").isdigit() for t in ticks)


def test_every_label_stays_inside_the_drawing():
    chart = parse(svgchart.line_chart([(date(2023, 12, 31), 193374), (date(2025, 3, 31), 216943)], "tỷ đồng"))
    labels = [t for t in chart.iter(f"{SVG}text") if t.text and "tỷ đồng" in t.text]
    assert len(labels) == 2
    for label in labels:
        half = svgchart.CHAR * 0.92 * len(label.text) / 2
        assert 0 <= float(label.get("x")) - half and float(label.get("x")) + half <= svgchart.WIDTH


def test_data_text_stays_text():
    evil = '<script>alert(1)</script> & "x"'
    text = svgchart.line_chart([(date(2022, 12, 31), 1), (date(2023, 12, 31), 2)], "trạm", title=evil)
    chart = parse(text)
    assert chart.find(f"{SVG}title").text == evil
    assert chart.find(f".//{SVG}script") is None and "<script" not in text
    assert "href" not in text and "http://" not in text.replace("http://www.w3.org/2000/svg", "")
