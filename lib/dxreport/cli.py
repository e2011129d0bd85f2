"""The `dxreport` command: parses arguments, calls one library function, prints Vietnamese.

A `DxreportError` becomes its message on stderr and exit status 1; nothing else is caught.
"""

from __future__ import annotations

import argparse
import sys

from .errors import DxreportError

FORMATS_HELP = "định dạng đầu ra, phân cách bằng dấu phẩy: html,pdf,docx (mặc định: cả ba)"


class _VietnameseHelp(argparse.HelpFormatter):
    """argparse's own words ("usage:", "options:") in Vietnamese."""

    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, prefix if prefix is not None else "cách dùng: ")


def _new_parser(**kwargs) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(formatter_class=_VietnameseHelp, add_help=False, **kwargs)


def _localise(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser._optionals.title = "tùy chọn"  # noqa: SLF001 - argparse offers no public hook for this title
    parser.add_argument("-h", "--help", action="help", help="hiện trợ giúp này rồi thoát")
    return parser


def _parser() -> argparse.ArgumentParser:
    parser = _localise(_new_parser(
        prog="dxreport",
        description="Báo cáo chuyển đổi số cấp tỉnh: kiểm tra dữ liệu, chạy các chương và xuất bản báo cáo.",
    ))
    parser.add_argument("--root", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="LỆNH", title="các lệnh", parser_class=argparse.ArgumentParser)

    b = sub.add_parser("build", formatter_class=_VietnameseHelp, add_help=False, help="dựng báo cáo của một tỉnh cho một kỳ",
                       description="Chạy các chương (notebooks/) với tham số của kỳ và xuất bản "
                                   "outputs/<tỉnh>/<kỳ>/bao-cao.{html,pdf,docx}.")
    _localise(b)
    b.add_argument("--province", default="nghe-an", help="mã tỉnh, ví dụ nghe-an, ha-tinh (mặc định: nghe-an)")
    b.add_argument("--period", default=None,
                   help="kỳ báo cáo: 2023 (năm), 2023-H1/H2, 2023-Q1…Q4, 2023-10 (đến hết tháng 10); "
                        "mặc định: quý mới nhất có số liệu")
    b.add_argument("--format", default="html,pdf,docx", help=FORMATS_HELP)
    b.add_argument("--engine", default="auto", choices=["auto", "quarto", "pandoc"],
                   help="công cụ dựng: quarto nếu có trên PATH (auto), hoặc pandoc + typst")
    b.add_argument("--data-dir", default=None, help="thư mục dữ liệu (mặc định: data/ của dự án)")
    b.add_argument("--workers", type=int, default=2, help="số kernel chạy song song (mặc định: 2)")
    b.add_argument("--force", action="store_true", help="dựng lại toàn bộ, bỏ qua bộ nhớ đệm")
    b.add_argument("--no-progress", action="store_true", help="không hiện thanh tiến độ")

    v = sub.add_parser("validate", formatter_class=_VietnameseHelp, add_help=False, help="kiểm tra toàn bộ dữ liệu, liệt kê mọi lỗi",
                       description="Kiểm tra mọi bảng trong thư mục dữ liệu; mỗi lỗi nêu tệp, dòng, cột, quy tắc và giá trị.")
    _localise(v)
    v.add_argument("--data-dir", default=None, help="thư mục dữ liệu (mặc định: data/ của dự án)")

    t = sub.add_parser("template", formatter_class=_VietnameseHelp, add_help=False, help="tạo tệp Excel để các đơn vị điền số liệu kỳ mới",
                       description="Tạo sổ Excel: mỗi trụ cột một trang, mỗi chỉ tiêu một dòng.")
    _localise(t)
    t.add_argument("--province", default="nghe-an", help="mã tỉnh (mặc định: nghe-an)")
    t.add_argument("--period", required=True, help="kỳ cần thu thập số liệu, ví dụ 2026-Q1")
    t.add_argument("-o", "--output", required=True, help="tệp .xlsx sẽ tạo")
    t.add_argument("--data-dir", default=None, help="thư mục dữ liệu (mặc định: data/ của dự án)")

    d = sub.add_parser("draft", formatter_class=_VietnameseHelp, add_help=False,
                       help="tạo bản nháp lời văn của kỳ (hạn chế, nhiệm vụ) từ số liệu",
                       description="Viết data/bao-cao/<tỉnh>/<kỳ>.md: hạn chế và nhiệm vụ lấy từ số liệu, "
                                   "nguyên nhân và kiến nghị để chỗ [[CẦN BỔ SUNG: ...]] cho chuyên viên viết.")
    _localise(d)
    d.add_argument("--province", default="nghe-an", help="mã tỉnh (mặc định: nghe-an)")
    d.add_argument("--period", required=True, help="kỳ báo cáo, ví dụ 2023-Q3, 2023-10")
    d.add_argument("--force", action="store_true", help="ghi đè tệp lời văn đã có")
    d.add_argument("--data-dir", default=None, help="thư mục dữ liệu (mặc định: data/ của dự án)")

    i = sub.add_parser("ingest", formatter_class=_VietnameseHelp, add_help=False, help="nhập số liệu từ tệp Excel đã điền",
                       description="Kiểm tra tệp Excel đã điền; chỉ ghi thêm vào observations.csv khi mọi dòng hợp lệ.")
    _localise(i)
    i.add_argument("workbook", help="tệp .xlsx đã điền")
    i.add_argument("--data-dir", default=None, help="thư mục dữ liệu (mặc định: data/ của dự án)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command](args)
    except DxreportError as exc:
        print(str(exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("Đã dừng theo yêu cầu; báo cáo trước đó được giữ nguyên.", file=sys.stderr)
        return 130


def _build(args) -> int:
    from .build import build

    formats = tuple(f.strip() for f in args.format.split(",") if f.strip())
    bad = [f for f in formats if f not in ("html", "pdf", "docx")]
    if bad or not formats:
        print(f"Định dạng không hợp lệ: {', '.join(bad) or '(trống)'}. Hợp lệ: html, pdf, docx.", file=sys.stderr)
        return 2
    result = build(args.province, args.period, formats, args.engine, args.data_dir, args.workers, args.force,
                   progress=not args.no_progress, root=args.root)
    if result.skipped:
        print(f"Không có thay đổi; báo cáo {result.province} {result.period} đã mới nhất: {result.out_dir}")
    else:
        print(f"Đã dựng báo cáo {result.province} {result.period} bằng {result.engine} trong "
              f"{result.seconds:.1f} giây ({len(result.executed)} chương chạy, {len(result.cached)} chương dùng lại):")
    for path in result.files:
        print(f"  {path}")
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

    path = write_template(args.province, args.period, args.output, args.data_dir)
    print(f"Đã tạo {path}")
    return 0


def _ingest(args) -> int:
    from .workbook import ingest

    added = ingest(args.workbook, args.data_dir)
    print(f"Đã thêm {added} số liệu vào observations.csv." if added else "Không có số liệu mới (đã nhập trước đó).")
    return 0


def _draft(args) -> int:
    from .draft import write

    path = write(args.province, args.period, args.data_dir, args.force)
    print(f"Đã tạo bản nháp lời văn {path}. Điền các chỗ [[CẦN BỔ SUNG: ...]] rồi dựng lại báo cáo.")
    return 0


COMMANDS = {"build": _build, "validate": _validate, "template": _template, "ingest": _ingest, "draft": _draft}

if __name__ == "__main__":
    sys.exit(main())
