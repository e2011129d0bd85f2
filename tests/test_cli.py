"""The command line: Vietnamese everywhere (argparse's own words too), bad options refused
before any work, progress shown the way the output can carry it. No build runs here."""

from __future__ import annotations

import argparse
import gettext
import io
from pathlib import Path

import pytest

from dxreport import build as build_module
from dxreport import periods
from dxreport.build import build
from dxreport.cli import main
from dxreport.errors import DataDirError, PeriodError, UsageError
from dxreport.execute import finished_line

from conftest import make_project

ENGLISH = ("usage:", "options:", "positional arguments", "show this help", "error:", "invalid", "required",
           "choose from", "unrecognized", "expected one argument")


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def _no_english(text: str) -> None:
    for phrase in ENGLISH:
        assert phrase not in text, phrase


@pytest.mark.parametrize("argv", [["-h"], ["build", "-h"], ["validate", "-h"], ["ingest", "-h"], ["template", "-h"],
                                  ["draft", "-h"], ["site", "-h"]])
def test_help_is_vietnamese(capsys, argv):
    code, out, _ = _run(capsys, *argv)
    assert code == 0
    assert "cách dùng:" in out and "tùy chọn:" in out and "hiện trợ giúp này rồi thoát" in out
    _no_english(out)
    import re

    english_placeholders = r"\b(DATA_DIR|PROVINCE|PERIOD|OUTPUT|WORKBOOK|FORMAT|ENGINE|WORKERS|OLD_MONTHS|BY|OUT|ROOT)\b"
    assert not re.findall(english_placeholders, out)  # argparse's default placeholders are English
    if argv[0] == "ingest":
        assert "tham số vị trí:" in out


@pytest.mark.parametrize("argv, expected", [
    (["build", "--workers", "0"], "tham số --workers: 0 không dùng được; cần ít nhất 1 kernel"),
    (["build", "--workers", "-3"], "tham số --workers: -3 không dùng được"),
    (["build", "--workers", "hai"], "tham số --workers: 'hai' không phải số nguyên"),
    (["build", "--engine", "word"], "tham số --engine: lựa chọn 'word' không hợp lệ (chọn một trong: 'auto', 'quarto', 'pandoc')"),
    (["ingest"], "thiếu tham số bắt buộc: SỔ_EXCEL"),
    (["build", "--bogus"], "tham số không nhận ra: --bogus"),
    (["build", "--province"], "tham số --province: cần một giá trị"),
    (["xuat-ban"], "lựa chọn 'xuat-ban' không hợp lệ"),
])
def test_argument_errors_are_vietnamese(capsys, argv, expected):
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == ""
    assert expected in err and ": lỗi: " in err and "cách dùng: dxreport" in err
    _no_english(err)


def test_argparse_is_left_as_it_was():
    """The Vietnamese table is swapped in only while the command speaks."""
    with pytest.raises(SystemExit):
        main(["build", "--workers", "0"])
    assert argparse._ is gettext.gettext and argparse.ngettext is gettext.ngettext  # noqa: SLF001


def test_library_refuses_workers_below_one(tmp_path):
    root = make_project(tmp_path / "proj", [])
    for bad in (0, -1, True, 1.5):
        with pytest.raises(UsageError, match="--workers"):
            build("nghe-an", "2023-Q3", root=root, workers=bad, progress=False)
    assert not (root / "outputs" / "nghe-an").exists()


def test_full_width_and_typographic_periods_are_folded():
    assert periods.parse("２０２３－Ｑ３").code == "2023-Q3"
    assert periods.parse(" 2023–q3 ").code == "2023-Q3"  # en dash, lower case
    assert periods.parse("２０２３").code == "2023"
    for bad in ("٢٠٢٣-Q3", "2023-Q3/..", "../2023", "2023-Q3\x00"):
        with pytest.raises(PeriodError, match="Các dạng hợp lệ"):
            periods.parse(bad)


def test_cli_full_width_period_is_refused_clearly_or_used(capsys, tmp_path):
    root = make_project(tmp_path / "proj", [])
    code, _, err = _run(capsys, "--root", str(root), "build", "--period", "２０２３－Ｑ５")
    assert code == 1 and "'２０２３－Ｑ５' không hợp lệ" in err and "2023-Q1" in err and "Traceback" not in err


def test_bad_data_dir_is_named_before_anything_else(capsys, tmp_path):
    root = make_project(tmp_path / "proj", [])
    a_file = tmp_path / "observations.csv"
    a_file.write_text("x\n", encoding="utf-8")
    cases = {
        str(tmp_path / "khong-co"): "không tồn tại",
        str(a_file): "là một tệp, không phải thư mục dữ liệu",
        str(tmp_path): "không có units.csv",
    }
    for given, expected in cases.items():
        code, _, err = _run(capsys, "--root", str(root), "build", "--province", "khong-ton-tai", "--data-dir", given)
        assert code == 1, err
        assert given in err and expected in err
        assert "tỉnh" not in err.lower().split(given)[0]  # not "tỉnh không hợp lệ"
        assert "Traceback" not in err
    with pytest.raises(DataDirError):
        build("nghe-an", "2023-Q3", root=root, data_dir=tmp_path / "khong-co", progress=False)


def test_progress_bars_only_on_a_terminal(monkeypatch):
    class Stream(io.StringIO):
        def __init__(self, tty):
            super().__init__()
            self.tty = tty

        def isatty(self):
            return self.tty

    monkeypatch.setattr("sys.stderr", Stream(True))
    assert build_module._progress_mode("auto") == "bars"
    assert build_module._progress_mode(True) == "bars"
    monkeypatch.setattr("sys.stderr", Stream(False))
    assert build_module._progress_mode("auto") == "lines"
    assert build_module._progress_mode(False) == "none"
    assert build_module._progress_mode("lines") == "lines"
    with pytest.raises(UsageError):
        build_module._progress_mode("thanh")


def test_one_line_per_finished_chapter():
    assert finished_line("02-ha-tang-so", "Hạ tầng số", 1.84) == "✓ 02 Hạ tầng số (1,8 giây)"
    assert finished_line("09-phu-luc", "Phụ lục") == "✓ 09 Phụ lục (dùng lại kết quả trước)"


def test_no_progress_prints_lines_not_bars(monkeypatch, capsys):
    seen = {}

    def fake_build(*args, **kwargs):
        seen.update(kwargs)
        raise UsageError("dừng ở đây")

    monkeypatch.setattr(build_module, "build", fake_build)
    assert main(["build", "--no-progress"]) == 1
    assert seen["progress"] == "lines"
    assert main(["build"]) == 1
    assert seen["progress"] == "auto"
    assert "dừng ở đây" in capsys.readouterr().err


def test_output_paths_stay_inside_outputs(tmp_path):
    from dxreport.errors import OutputPathError
    from dxreport.paths import confined, project

    paths = project(make_project(tmp_path / "proj", []))
    assert paths.report_dir("nghe-an", "2023-Q3") == paths.outputs_dir / "nghe-an" / "2023-Q3"
    for province in ("../../x", "/tmp/x", "..", ".", "", ".an", "a/b", "a\\b", "x\0"):
        with pytest.raises(OutputPathError):
            paths.report_dir(province, "2023-Q3")
    outside = tmp_path / "outside"
    outside.mkdir()
    paths.outputs_dir.mkdir(exist_ok=True)
    (paths.outputs_dir / "lien-ket").symlink_to(outside)
    with pytest.raises(OutputPathError, match="ra ngoài"):
        paths.report_dir("lien-ket", "2023-Q3")
    with pytest.raises(OutputPathError):
        confined(paths.cache_dir / "reports", "../../../etc", "x")


def test_a_province_code_that_leaves_outputs_is_refused_by_build(tmp_path, capsys):
    root = make_project(tmp_path / "proj", [])
    units = root / "data" / "units.csv"
    header = units.read_text(encoding="utf-8").splitlines()[0].split(",")
    row = {name: "" for name in header}
    row.update({"unit_id": "../../thoat", "kind": "tỉnh", "name_vi": "Thoát"})
    with units.open("a", encoding="utf-8") as handle:
        handle.write(",".join(row[name] for name in header) + "\n")
    code, _, err = _run(capsys, "--root", str(root), "build", "--province", "../../thoat", "--period", "2023-Q3")
    assert code == 1 and "Traceback" not in err and "../../thoat" in err
    assert not (tmp_path / "thoat").exists() and not (root / "thoat").exists()
    assert not (root / "outputs" / "nghe-an").exists()
