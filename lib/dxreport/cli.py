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

    i = sub.add_parser("ingest", formatter_class=_VietnameseHelp, add_help=False, help="nhập số liệu từ tệp Excel đã điền",
                       description="Kiểm tra tệp Excel đã điền; chỉ ghi thêm vào observations.csv khi mọi dòng hợp lệ.")
    _localise(i)
    i.add_argument("workbook", help="tệp .xlsx đã điền")
    i.add_argument("--data-dir", default=None, help="thư mục dữ liệu (mặc định: data/ của dự án)")
    _site_parser(sub)
    return parser


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
    s.add_argument("--workers", type=int, default=2, metavar="N", help="số kernel chạy song song (mặc định: 2)")


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


def _site(args) -> int:
    from .site import build_site

    result = build_site(args.province, args.period, args.out, args.workers, root=args.root,
                        data_dir=args.data_dir, log=lambda line: print(line, flush=True))
    reused = sum(1 for r in result.reports if r.skipped)
    print(f"Đã dựng trang: {len(result.reports)} báo cáo ({reused} dùng lại, không đổi), {result.pages} trang, "
          f"tại {result.out}")
    print(f"Mở {result.out / 'index.html'} để xem; chép nguyên thư mục lên máy chủ web để xuất bản.")
    return 0


COMMANDS = {"build": _build, "validate": _validate, "template": _template, "ingest": _ingest, "site": _site}

if __name__ == "__main__":
    sys.exit(main())
