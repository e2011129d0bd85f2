"""The `dxreport` command: parses arguments, calls one library function, prints Vietnamese.

A `DxreportError` becomes its message on stderr and exit status 1; Ctrl-C (SIGINT) and SIGTERM
stop the build, leave the previous report as it was and exit 130 (143 for SIGTERM). Every word
the command prints is Vietnamese, argparse's own included ("cách dùng:", "lỗi:", "tham số bắt
buộc"…): its messages go through a module-level `_` that is swapped for a Vietnamese table while
the command parses its arguments.
"""

from __future__ import annotations

import argparse
import signal
import sys
from contextlib import contextmanager

from .errors import DxreportError

FORMATS_HELP = "định dạng đầu ra, phân cách bằng dấu phẩy: html,pdf,docx (mặc định: cả ba)"

# argparse's messages (CPython 3.11–3.13), word for word, and what the user reads instead.
_ARGPARSE_VI = {
    "usage: ": "cách dùng: ",
    "positional arguments": "tham số vị trí",
    "options": "tùy chọn",
    "optional arguments": "tùy chọn",
    "show this help message and exit": "hiện trợ giúp này rồi thoát",
    "subcommands": "các lệnh",
    "%(prog)s: error: %(message)s\n": "%(prog)s: lỗi: %(message)s\n",
    "argument %(argument_name)s: %(message)s": "tham số %(argument_name)s: %(message)s",
    "the following arguments are required: %s": "thiếu tham số bắt buộc: %s",
    "invalid %(type)s value: %(value)r": "giá trị %(value)r không hợp lệ (cần kiểu %(type)s)",
    "invalid choice: %(value)r (choose from %(choices)s)":
        "lựa chọn %(value)r không hợp lệ (chọn một trong: %(choices)s)",
    "unrecognized arguments: %s": "tham số không nhận ra: %s",
    "expected one argument": "cần một giá trị",
    "expected at most one argument": "cần nhiều nhất một giá trị",
    "expected at least one argument": "cần ít nhất một giá trị",
    "ambiguous option: %(option)s could match %(matches)s":
        "tùy chọn %(option)s không rõ: có thể là %(matches)s",
    "not allowed with argument %s": "không dùng được cùng tham số %s",
    "ignored explicit argument %r": "bỏ qua giá trị %r không được phép",
    "one of the arguments %s is required": "cần một trong các tham số %s",
    "unexpected option string: %s": "tùy chọn không mong đợi: %s",
    "unknown parser %(parser_name)r (choices: %(choices)s)":
        "lệnh %(parser_name)r không có (các lệnh: %(choices)s)",
    "argument \"-\" with mode %r": "tham số \"-\" với chế độ %r",
    "can't open '%(filename)s': %(error)s": "không mở được '%(filename)s': %(error)s",
}
_ARGPARSE_VI_PLURAL = {
    "expected %s argument": "cần %s giá trị",
    "ambiguous option: %(option)s could match %(matches)s":
        "tùy chọn %(option)s không rõ: có thể là %(matches)s",
}


def _vi(message: str) -> str:
    return _ARGPARSE_VI.get(message, message)


def _vi_plural(singular: str, plural: str, n: int) -> str:
    return _ARGPARSE_VI_PLURAL.get(singular, singular if n == 1 else plural)


@contextmanager
def _vietnamese_argparse():
    """argparse looks its messages up through its module's `_` and `ngettext` at call time."""
    saved = argparse._, argparse.ngettext  # noqa: SLF001
    argparse._, argparse.ngettext = _vi, _vi_plural  # noqa: SLF001
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved  # noqa: SLF001


class _VietnameseHelp(argparse.HelpFormatter):
    """argparse's own words ("usage:", "options:") in Vietnamese."""

    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, prefix if prefix is not None else "cách dùng: ")


class _Parser(argparse.ArgumentParser):
    """Vietnamese whenever it speaks, also outside `main` (e.g. a test calling `_parser()`)."""

    def parse_args(self, args=None, namespace=None):
        with _vietnamese_argparse():
            return super().parse_args(args, namespace)

    def parse_known_args(self, args=None, namespace=None):
        with _vietnamese_argparse():
            return super().parse_known_args(args, namespace)

    def format_help(self):
        with _vietnamese_argparse():
            return super().format_help()

    def format_usage(self):
        with _vietnamese_argparse():
            return super().format_usage()

    def error(self, message):
        with _vietnamese_argparse():
            super().error(message)


def _at_least_one(need: str, example: int):
    """An argparse type: a whole number from 1 up, refused in Vietnamese ("cần ít nhất 1 kernel")."""
    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} không phải số nguyên; cần {need}, ví dụ {example}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{value} không dùng được; cần {need}, ví dụ {example}")
        return value

    return parse


_positive_int = _at_least_one("ít nhất 1 kernel", 2)
_months = _at_least_one("số tháng từ 1 trở lên", 12)


def _new_parser(**kwargs) -> argparse.ArgumentParser:
    return _Parser(formatter_class=_VietnameseHelp, add_help=False, **kwargs)


def _localise(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser._optionals.title = "tùy chọn"  # noqa: SLF001 - argparse offers no public hook for this title
    parser._positionals.title = "tham số vị trí"  # noqa: SLF001
    parser.add_argument("-h", "--help", action="help", help="hiện trợ giúp này rồi thoát")
    return parser


def _parser() -> argparse.ArgumentParser:
    parser = _localise(_new_parser(
        prog="dxreport",
        description="Báo cáo chuyển đổi số cấp tỉnh: kiểm tra dữ liệu, chạy các chương và xuất bản báo cáo.",
    ))
    parser.add_argument("--root", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="LỆNH", title="các lệnh", parser_class=_Parser)

    b = sub.add_parser("build", formatter_class=_VietnameseHelp, add_help=False, help="dựng báo cáo của một tỉnh cho một kỳ",
                       description="Chạy các chương (notebooks/) với tham số của kỳ và xuất bản "
                                   "outputs/<tỉnh>/<kỳ>/bao-cao.{html,pdf,docx}.")
    _localise(b)
    b.add_argument("--province", default="nghe-an", metavar="TỈNH", help="mã tỉnh, ví dụ nghe-an, ha-tinh (mặc định: nghe-an)")
    b.add_argument("--period", default=None, metavar="KỲ",
                   help="kỳ báo cáo: 2023 (năm), 2023-H1/H2, 2023-Q1…Q4, 2023-10 (đến hết tháng 10); "
                        "mặc định: quý gần nhất đã kết thúc mà phần lớn số liệu còn mới")
    b.add_argument("--format", default="html,pdf,docx", metavar="ĐỊNH_DẠNG", help=FORMATS_HELP)
    b.add_argument("--engine", default="auto", metavar="CÔNG_CỤ", choices=["auto", "quarto", "pandoc"],
                   help="công cụ dựng: auto (quarto nếu có trên PATH, nếu không thì pandoc), quarto, hoặc pandoc (pandoc + typst)")
    b.add_argument("--data-dir", default=None, metavar="THƯ_MỤC", help="thư mục dữ liệu (mặc định: data/ của dự án)")
    b.add_argument("--workers", type=_positive_int, default=2, metavar="SỐ", help="số kernel chạy song song, từ 1 trở lên (mặc định: 2)")
    b.add_argument("--force", action="store_true", help="dựng lại toàn bộ, bỏ qua bộ nhớ đệm")
    b.add_argument("--no-progress", action="store_true",
                   help="không hiện thanh tiến độ, chỉ in một dòng khi mỗi chương xong (mặc định khi không chạy trong terminal)")
    b.add_argument("--old-months", type=_months, default=None, metavar="SỐ_THÁNG",
                   help="số liệu cũ hơn bấy nhiêu tháng so với cuối kỳ được ghi là “số liệu cũ” (mặc định: 12)")

    v = sub.add_parser("validate", formatter_class=_VietnameseHelp, add_help=False, help="kiểm tra toàn bộ dữ liệu, liệt kê mọi lỗi",
                       description="Kiểm tra mọi bảng trong thư mục dữ liệu; mỗi lỗi nêu tệp, dòng, cột, quy tắc và giá trị.")
    _localise(v)
    v.add_argument("--data-dir", default=None, metavar="THƯ_MỤC", help="thư mục dữ liệu (mặc định: data/ của dự án)")

    t = sub.add_parser("template", formatter_class=_VietnameseHelp, add_help=False, help="tạo tệp Excel để các đơn vị điền số liệu kỳ mới",
                       description="Tạo sổ Excel: mỗi trụ cột một trang, mỗi chỉ tiêu một dòng.")
    _localise(t)
    t.add_argument("--province", default="nghe-an", metavar="TỈNH", help="mã tỉnh (mặc định: nghe-an)")
    t.add_argument("--period", required=True, metavar="KỲ", help="kỳ cần thu thập số liệu, ví dụ 2026-Q1")
    t.add_argument("-o", "--output", required=True, metavar="TỆP_XLSX",
                   help="tệp .xlsx sẽ tạo (không được nằm trong thư mục dữ liệu; tệp đã có thì cần --force)")
    t.add_argument("--data-dir", default=None, metavar="THƯ_MỤC", help="thư mục dữ liệu (mặc định: data/ của dự án)")
    t.add_argument("--force", action="store_true", help="ghi đè tệp .xlsx đã có")

    d = sub.add_parser("draft", formatter_class=_VietnameseHelp, add_help=False,
                       help="tạo bản nháp lời văn của kỳ (hạn chế, nhiệm vụ) từ số liệu",
                       description="Viết data/bao-cao/<tỉnh>/<kỳ>.md: hạn chế và nhiệm vụ lấy từ số liệu, "
                                   "nguyên nhân và kiến nghị để chỗ [[CẦN BỔ SUNG: ...]] cho chuyên viên viết.")
    _localise(d)
    d.add_argument("--province", default="nghe-an", metavar="TỈNH", help="mã tỉnh (mặc định: nghe-an)")
    d.add_argument("--period", required=True, metavar="KỲ", help="kỳ báo cáo, ví dụ 2023-Q3, 2023-10")
    d.add_argument("--force", action="store_true", help="ghi đè tệp lời văn đã có")
    d.add_argument("--data-dir", default=None, metavar="THƯ_MỤC", help="thư mục dữ liệu (mặc định: data/ của dự án)")

    i = sub.add_parser("ingest", formatter_class=_VietnameseHelp, add_help=False, help="nhập số liệu từ tệp Excel đã điền",
                       description="Kiểm tra tệp Excel đã điền; chỉ ghi thêm vào observations.csv khi mọi dòng hợp lệ. "
                                   "Số liệu đã có với số khác (bản sửa) chỉ được thay khi có --replace; "
                                   "số cũ được lưu vào revisions.csv kèm người gửi và thời điểm.")
    _localise(i)
    i.add_argument("workbook", metavar="SỔ_EXCEL", help="tệp .xlsx đã điền")
    i.add_argument("--data-dir", default=None, metavar="THƯ_MỤC", help="thư mục dữ liệu (mặc định: data/ của dự án)")
    i.add_argument("--replace", action="store_true",
                   help="thay số liệu đã có (cùng chỉ tiêu, phân tổ, ngày, nguồn) bằng số mới của sổ; "
                        "số cũ được ghi vào revisions.csv")
    i.add_argument("--by", default=None, metavar="NGƯỜI_GỬI",
                   help="người hoặc đơn vị gửi bản sửa, khi sổ không ghi cột Đơn vị chịu trách nhiệm")
    _site_parser(sub)
    return parser


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: the build unwinds, kernels are killed, staging removed."""


def _on_sigterm(signum, frame):
    raise _Terminated()


def _site_parser(sub) -> None:
    s = sub.add_parser("site", formatter_class=_VietnameseHelp, add_help=False,
                       help="dựng trang tĩnh để xuất bản lên cổng thông tin (mọi tỉnh, mọi kỳ có số liệu)",
                       description="Dựng (hoặc dùng lại) báo cáo của mọi tỉnh và mọi kỳ có số liệu, rồi ghi một "
                                   "trang tĩnh: trang chủ, trang tỉnh, báo cáo đọc trên màn hình, dữ liệu mở "
                                   "(CSV, XLSX) và xu hướng các chỉ tiêu. Chép nguyên thư mục lên máy chủ web.")
    _localise(s)
    s.add_argument("--province", action="append", default=None, metavar="TỈNH",
                   help="chỉ các tỉnh này (lặp lại được); mặc định: mọi tỉnh trong units.csv")
    s.add_argument("--period", action="append", default=None, metavar="KỲ",
                   help="chỉ các kỳ này (lặp lại được), ví dụ 2023-Q3, 2023; mặc định: mọi quý và năm có "
                        "số liệu, đã kết thúc")
    s.add_argument("--out", default=None, metavar="THƯ_MỤC", help="thư mục của trang (mặc định: outputs/site)")
    s.add_argument("--data-dir", default=None, metavar="THƯ_MỤC", help="thư mục dữ liệu (mặc định: data/ của dự án)")
    s.add_argument("--workers", type=_positive_int, default=2, metavar="SỐ", help="số kernel chạy song song, từ 1 trở lên (mặc định: 2)")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    previous = None
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):  # not the main thread (a test calling main from a thread)
        previous = None
    try:
        return COMMANDS[args.command](args)
    except DxreportError as exc:
        print(str(exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        print("Đã dừng theo yêu cầu; báo cáo trước đó được giữ nguyên.", file=sys.stderr)
        return 143 if isinstance(exc, _Terminated) else 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _build(args) -> int:
    from .build import build, format_names

    formats = tuple(f.strip().lower() for f in args.format.split(",") if f.strip())
    bad = [f for f in formats if f not in ("html", "pdf", "docx")]
    if bad or not formats:
        print(f"Định dạng không hợp lệ: {', '.join(bad) or '(trống)'}. Hợp lệ: html, pdf, docx.", file=sys.stderr)
        return 2
    if args.old_months is not None:
        import os

        os.environ["DXREPORT_OLD_MONTHS"] = str(args.old_months)  # read by periods.Policy, here and in the kernels
    result = build(args.province, args.period, formats, args.engine, args.data_dir, args.workers, args.force,
                   progress="lines" if args.no_progress else "auto", root=args.root)
    if result.skipped:
        print(f"Không có thay đổi; báo cáo {result.province} {result.period} đã mới nhất: {result.out_dir}")
    else:
        from . import fmt  # Babel: only when there is a duration to print

        print(f"Đã dựng báo cáo {result.province} {result.period} bằng {result.engine} trong "
              f"{fmt.number(result.seconds, 1)} giây ({len(result.executed)} chương chạy, "
              f"{len(result.cached)} chương dùng lại):")
    for path in result.files:
        print(f"  {path}")
    for name, current in result.kept.items():
        files = ", ".join(n for n in format_names(name) if (result.out_dir / n).exists())
        state = ("vẫn khớp dữ liệu hiện tại" if current else
                 f"dựng từ dữ liệu hoặc mã cũ hơn; dựng lại bằng --format {name} để cập nhật")
        print(f"  {files}: giữ nguyên từ lần dựng trước ({state})")
    for warning in result.warnings:
        print(f"Cảnh báo: {warning}", file=sys.stderr)
    if result.draft:
        print("Báo cáo là DỰ THẢO (mỗi trang ghi “DỰ THẢO”). Còn phải xử lý:", file=sys.stderr)
    for line in result.remarks:
        print(f"  - {line}", file=sys.stderr)
    return 0


def _validate(args) -> int:
    from .validate import validate_dir

    issues = validate_dir(args.data_dir)
    if issues:
        print(f"Dữ liệu không hợp lệ: {len(issues)} lỗi.", file=sys.stderr)
        for issue in issues:
            print("- " + issue.format(), file=sys.stderr)
        return 1
    print("Dữ liệu hợp lệ.")
    return 0


def _template(args) -> int:
    from .workbook import write_template

    path = write_template(args.province, args.period, args.output, args.data_dir, force=args.force)
    print(f"Đã tạo {path}")
    return 0


def _ingest(args) -> int:
    from .workbook import ingest

    result = ingest(args.workbook, args.data_dir, replace=args.replace, by=args.by)
    if not (result.added or result.replaced):
        print("Sổ không có số liệu mới: mọi dòng đã điền đều đã có trong dữ liệu với cùng giá trị.")
        return 0
    done = [f"thêm {result.added} số liệu" if result.added else "",
            f"thay {result.replaced} số liệu (số cũ lưu trong revisions.csv)" if result.replaced else "",
            f"thêm {result.sources_added} nguồn vào sources.csv" if result.sources_added else ""]
    print("Đã " + "; ".join(d for d in done if d) + ".")
    return 0


def _draft(args) -> int:
    from .draft import write

    path = write(args.province, args.period, args.data_dir, args.force)
    print(f"Đã tạo bản nháp lời văn {path}. Điền các chỗ [[CẦN BỔ SUNG: ...]] rồi dựng lại báo cáo.")
    return 0



def _site(args) -> int:
    from .site import build_site

    result = build_site(args.province, args.period, args.out, args.workers, root=args.root,
                        data_dir=args.data_dir, log=lambda line: print(line, flush=True))
    reused = sum(1 for r in result.reports if r.skipped)
    print(f"Đã dựng trang: {len(result.reports)} báo cáo ({reused} dùng lại, không đổi), {result.pages} trang, "
          f"tại {result.out}")
    print(f"Mở {result.out / 'index.html'} để xem; chép nguyên thư mục lên máy chủ web để xuất bản.")
    return 0


COMMANDS = {"build": _build, "validate": _validate, "template": _template, "ingest": _ingest, "draft": _draft, "site": _site}

if __name__ == "__main__":
    sys.exit(main())
