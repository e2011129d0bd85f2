"""The workbook writer behind the open data and the check sheet: what it writes, openpyxl (and so
Excel's format) reads back as written; text is never a formula; the bytes are reproducible."""

import math
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from dxreport import xlsx


def test_cells_read_back_with_their_types_and_styles(tmp_path):
    rows = [["Tiêu đề dài"], ["Chỉ tiêu", "Giá trị", "Ghi chú"],
            ["Thuê bao", 3348092, "=1+1"], ["Tỷ lệ", 72.05, None], ["  lề  ", -5, "a & <b> \"c\""],
            ["numpy", np.int64(7), np.float64(0.5)], ["NaN", math.nan, "dòng\nmới"]]
    path = xlsx.write(tmp_path / "a.xlsx", [xlsx.Sheet("Trang 1", rows, bold={2}, wrap_from=3, widths=[18, 45],
                                                       freeze=3)])
    book = load_workbook(path)
    sheet = book["Trang 1"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "Tiêu đề dài"
    assert values[1] == ["Chỉ tiêu", "Giá trị", "Ghi chú"]
    assert values[2] == ["Thuê bao", 3348092, "=1+1"] and sheet["C3"].data_type == "s"  # text, not a formula
    assert values[3][:2] == ["Tỷ lệ", 72.05] and sheet["B4"].data_type == "n"
    assert values[4] == ["  lề  ", -5, "a & <b> \"c\""]
    assert values[5][1:] == [7, 0.5]
    assert values[6][1] is None and values[6][2] == "dòng\nmới"
    assert sheet["A2"].font.b and not sheet["A1"].font.b and not sheet["A3"].font.b
    assert sheet["A3"].alignment.wrap_text and sheet["A3"].alignment.vertical == "top"
    assert not sheet["A2"].alignment.wrap_text
    assert sheet.freeze_panes == "A3"
    assert sheet.column_dimensions["A"].width == 18 and sheet.column_dimensions["B"].width == 45


def test_many_sheets_keep_their_order_and_names(tmp_path):
    sheets = [xlsx.Sheet(f"Bảng {i}", [[f"ô {i}"]], bold={1}) for i in range(1, 30)]
    book = load_workbook(xlsx.write(tmp_path / "b.xlsx", sheets))
    assert book.sheetnames == [f"Bảng {i}" for i in range(1, 30)]
    assert book["Bảng 28"]["A1"].value == "ô 28" and book["Bảng 28"]["A1"].font.b


def test_characters_xml_cannot_hold_are_dropped_not_fatal(tmp_path):
    path = xlsx.write(tmp_path / "c.xlsx", [xlsx.Sheet("T", [["a\x00b\x1fc\td"]])])
    assert load_workbook(path)["T"]["A1"].value == "abc\td"


def excel_view(text):
    """What Excel shows for a stored string: `_xHHHH_` is the character HHHH."""
    import re

    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def test_text_that_looks_like_an_excel_escape_or_holds_a_carriage_return_is_kept(tmp_path):
    texts = ["_x0041_", "a_x000D_b", "dòng 1\r\ndòng 2", "\r=1"]
    path = xlsx.write(tmp_path / "e.xlsx", [xlsx.Sheet("T", [[t] for t in texts])])
    sheet = load_workbook(path)["T"]
    assert [excel_view(sheet.cell(r, 1).value) for r in range(1, 5)] == texts


def test_the_same_tables_give_the_same_bytes(tmp_path):
    sheet = xlsx.Sheet("T", [["x", 1.5]], bold={1})
    a = xlsx.write(tmp_path / "a.xlsx", [sheet]).read_bytes()
    b = xlsx.write(tmp_path / "b.xlsx", [sheet]).read_bytes()
    assert a == b
    names = zipfile.ZipFile(tmp_path / "a.xlsx").namelist()
    assert "docProps/core.xml" not in names  # no author, no build time


@pytest.mark.parametrize("title", ["", "x" * 32, "a/b", "a[1]", "a:b", "a?b", "a*b", "a\\b"])
def test_names_excel_refuses_are_refused(tmp_path, title):
    with pytest.raises(ValueError):
        xlsx.write(tmp_path / "d.xlsx", [xlsx.Sheet(title, [["x"]])])


def test_what_is_neither_text_nor_a_number_is_refused(tmp_path):
    from datetime import date

    for value in (date(2024, 1, 1), True, [1]):
        with pytest.raises(TypeError):
            xlsx.write(tmp_path / "e.xlsx", [xlsx.Sheet("T", [[value]])])
    with pytest.raises(ValueError):
        xlsx.write(tmp_path / "f.xlsx", [xlsx.Sheet("A", [[1]]), xlsx.Sheet("a", [[2]])])  # Excel ignores case
    with pytest.raises(ValueError):
        xlsx.write(tmp_path / "g.xlsx", [])


def test_column_letters():
    assert [xlsx.column_letter(i) for i in (1, 26, 27, 52, 53, 702, 703, 16384)] == \
        ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA", "XFD"]


_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.one_of(_TEXT, st.integers(-10**12, 10**12),
                                   st.floats(allow_nan=False, allow_infinity=False, width=64)),
                         min_size=1, max_size=5), min_size=1, max_size=6))
def test_any_grid_of_text_and_numbers_reads_back(tmp_path_factory, rows):
    path = xlsx.write(tmp_path_factory.mktemp("x") / "h.xlsx", [xlsx.Sheet("T", rows)])
    sheet = load_workbook(path)["T"]
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            got = sheet.cell(r, c).value
            if isinstance(value, str):
                assert excel_view(got or "") == xlsx.ILLEGAL.sub("", value)
            else:
                assert got == value
