"""The data tables, declared once: file, columns, kinds, required cells, allowed values.

The loader, the validator (which builds pandera schemas from these), the Excel template and
the column-by-column documentation in `data/README.md` all read this one declaration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A seed document's file name as a source cites it ("000_<16 hex>.txt").
SEED_RE = re.compile(r"\b\d{3}_[0-9a-f]{16}\.txt\b")

RULES = (">=", ">", "=", "<=", "range", "status")
TASK_STATUSES = ("Hoàn thành", "Chưa hoàn thành", "Đã triển khai", "Đang triển khai", "Chưa triển khai")
BUDGET_KINDS = ("bố trí", "đề xuất", "dự kiến")
BUDGET_PILLARS = ("tổng", "an toàn thông tin", "chính quyền số", "kinh tế số", "xã hội số")
PERCENT = "%"
# Units of a change rather than a count: a rank that fell 13 places is -13 "bậc".
SIGNED_UNITS = ("bậc", "điểm phần trăm")
# Province and unit codes are used in paths (outputs/<tỉnh>/...): lowercase ASCII words joined by '-'.
SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Words a source puts before a figure ("hơn 2.500 trạm", "khoảng 8.500"): they stay in the sentence.
QUALIFIERS = ("trên", "hơn", "gần", "khoảng", "dưới", "xấp xỉ", "ít nhất", "gần như", "chưa đến")


@dataclass(frozen=True)
class Col:
    name: str
    kind: str = "text"  # text | number | date | bool
    required: bool = False
    choices: tuple[str, ...] | None = None
    doc: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Col, ...]
    key: tuple[str, ...] = ()
    doc: str = ""
    optional: bool = False

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def col(self, name: str) -> Col:
        return next(c for c in self.columns if c.name == name)


SOURCES = Table(
    "sources",
    (
        Col("source_id", required=True, doc="Mã nguồn ngắn, ví dụ 000, 003, bao-chi."),
        Col("kind", required=True, choices=("văn bản gốc", "báo chí"), doc="Loại nguồn."),
        Col("title_vi", required=True, doc="Tên văn bản hoặc trang."),
        Col("short_vi", required=True, doc="Tên ngắn dùng trong dòng 'Nguồn:' của báo cáo."),
        Col("issuer", doc="Cơ quan ban hành."),
        Col("issued", "date", doc="Ngày ban hành (YYYY-MM-DD)."),
        Col("location", required=True, doc="Tên tệp trong shared/seeds hoặc địa chỉ trang."),
        Col("note"),
    ),
    key=("source_id",),
    doc="Danh mục nguồn mà mọi số liệu trích dẫn.",
)

UNITS = Table(
    "units",
    (
        Col("unit_id", required=True, doc="Mã đơn vị; với tỉnh là slug (nghe-an)."),
        Col("province", required=True, doc="Tỉnh mà đơn vị thuộc về (slug)."),
        Col("kind", required=True, choices=("tỉnh", "sở, ban, ngành", "huyện", "xã", "cơ quan khác"),
            doc="Loại đơn vị."),
        Col("name_vi", required=True, doc="Tên đầy đủ, có dấu."),
        Col("code", doc="Mã đơn vị hành chính chính thức (với tỉnh)."),
        Col("role", doc="'cơ quan báo cáo' với cơ quan đứng tên báo cáo chuyển đổi số."),
        Col("valid_from", "date", doc="Có hiệu lực từ ngày."),
        Col("valid_to", "date", doc="Có hiệu lực đến ngày."),
        Col("source", required=True),
        Col("note"),
    ),
    key=("unit_id",),
    doc="Tỉnh, cơ quan, huyện mà các nguồn nêu tên.",
)

PILLARS = Table(
    "pillars",
    (
        Col("pillar", required=True, doc="Mã trụ cột (slug)."),
        Col("name_vi", required=True, doc="Tên trụ cột theo khung DTI."),
        Col("chapter", required=True, doc="Chương báo cáo trình bày trụ cột này."),
        Col("order", "number", required=True, doc="Thứ tự theo khung DTI."),
    ),
    key=("pillar",),
    doc="Các trụ cột (chỉ số chính) của khung DTI cấp tỉnh và chương tương ứng.",
)

INDICATORS = Table(
    "indicators",
    (
        Col("indicator_id", required=True, doc="Mã chỉ tiêu, ổn định, không dấu (ví dụ bbdd_toc_do)."),
        Col("pillar", required=True, doc="Trụ cột (xem pillars.csv)."),
        Col("name_vi", required=True, doc="Tên chỉ tiêu, có dấu."),
        Col("unit", required=True, doc="Đơn vị của value: %, Mbps, thuê bao, hạng, trạng thái..."),
        Col("count_unit", doc="Với chỉ tiêu %, đơn vị của tử số/mẫu số (thôn, bản; hồ sơ...)."),
        Col("higher_is_better", "bool", required=True, doc="true nếu càng cao càng tốt."),
        Col("description"),
    ),
    key=("indicator_id",),
    doc="Danh mục chỉ tiêu.",
)

OBSERVATIONS = Table(
    "observations",
    (
        Col("province", required=True, doc="Tỉnh (slug)."),
        Col("indicator_id", required=True, doc="Mã chỉ tiêu (indicators.csv)."),
        Col("breakdown", doc="Phân tổ: để trống là toàn tỉnh; 'cấp tỉnh', 'cấp xã', 'THCS'..."),
        Col("as_of", "date", required=True, doc="Ngày 'tính đến' của số liệu (YYYY-MM-DD)."),
        Col("since", "date", doc="Với số lũy kế theo khoảng thời gian: ngày bắt đầu."),
        Col("qualifier", choices=QUALIFIERS,
            doc="Từ nguồn đặt trước con số (trên, hơn, gần, khoảng...); giữ nguyên trong câu của báo cáo."),
        Col("value", "number", doc="Giá trị theo đơn vị của chỉ tiêu; dấu chấm thập phân, không phân cách hàng nghìn."),
        Col("precision", "number",
            doc="Bước làm tròn của con số như nguồn in (1 với '98%', 0.01 với '98,34%', 100 với 'hơn 2.500'); "
                "để trống là đúng như số chữ số thập phân đã ghi."),
        Col("status", doc="Kết quả định tính (Đã triển khai, Hoàn thành...) khi không có số."),
        Col("unit", required=True, doc="Đơn vị của value, phải trùng với indicators.csv."),
        Col("numerator", "number", doc="Tử số khi nguồn ghi dạng x/y."),
        Col("denominator", "number", doc="Mẫu số khi nguồn ghi dạng x/y."),
        Col("source", required=True, doc="Tệp nguồn và mục, ví dụ '000_6498fc08514e6603.txt: I.2'."),
        Col("note", doc="Ghi chú: số in sai, cách hiểu, chênh lệch với x/y..."),
        Col("as_of_basis", doc="Khi nguồn không ghi ngày: ngày tính đến được xác định thế nào."),
        Col("reported_by", doc="Đơn vị chịu trách nhiệm số liệu (khi nhập từ sổ Excel của các đơn vị)."),
    ),
    key=("province", "indicator_id", "as_of", "breakdown", "source"),
    doc="Mỗi dòng là một số liệu đã báo cáo; hai nguồn công bố khác nhau cho cùng một ngày là hai dòng.",
)

TARGETS = Table(
    "targets",
    (
        Col("target_id", required=True, doc="Mã mục tiêu ổn định (ví dụ kh1174-33)."),
        Col("province", required=True),
        Col("indicator_id", required=True),
        Col("breakdown"),
        Col("plan", required=True, doc="Văn bản đặt mục tiêu: 09-NQ/TU; 586/KH-UBND, 6828/UBND-TH, 1174/KH-UBND."),
        Col("plan_item", doc="Số thứ tự trong văn bản."),
        Col("target_date", "date", doc="Hạn đạt mục tiêu; để trống khi văn bản không ghi hạn."),
        Col("rule", required=True, choices=RULES, doc="Quy tắc: >=, >, =, <=, range (value–value_max), status."),
        Col("value", "number"),
        Col("value_max", "number", doc="Cận trên, chỉ với rule = range."),
        Col("status", doc="Trạng thái cần đạt, chỉ với rule = status (Hoàn thành, Có...)."),
        Col("unit", required=True, doc="Đơn vị của mục tiêu (%, đơn vị đếm, hoặc trạng thái)."),
        Col("owner", doc="Đơn vị chủ trì tham mưu."),
        Col("text_vi", required=True, doc="Mục tiêu như văn bản ghi."),
        Col("group_vi", doc="Nhóm mà văn bản xếp mục tiêu vào (Chính quyền số, Kinh tế số...); trống: theo trụ cột của chỉ tiêu."),
        Col("source", required=True),
        Col("note"),
    ),
    key=("target_id",),
    doc="Mục tiêu và quy tắc đánh giá.",
)

ASSESSMENTS = Table(
    "assessments",
    (
        Col("target_id", required=True),
        Col("as_of", "date", required=True),
        Col("result_text", required=True, doc="Kết quả như văn bản ghi."),
        Col("assessment", required=True, doc="Đánh giá như văn bản ghi (Đạt / Chưa đạt...)."),
        Col("source", required=True),
    ),
    key=("target_id", "as_of"),
    doc="Đánh giá của chính văn bản nguồn với từng mục tiêu (để đối chiếu).",
)

TASKS = Table(
    "tasks",
    (
        Col("task_id", required=True),
        Col("province", required=True),
        Col("plan", required=True),
        Col("appendix"),
        Col("section"),
        Col("task_no"),
        Col("name_vi", required=True),
        Col("owner"),
        Col("follow_up", doc="Cơ quan theo dõi, tổng hợp."),
        Col("period_text", doc="Thời gian như văn bản ghi."),
        Col("deadline", "date", doc="Hạn hoàn thành (ngày cuối của thời gian ghi trong văn bản)."),
        Col("status_text", doc="Tình hình triển khai như văn bản ghi."),
        Col("status", choices=TASK_STATUSES,
            doc="Đánh giá như văn bản ghi: Hoàn thành / Chưa hoàn thành, hoặc Đã triển khai / Đang triển khai / "
                "Chưa triển khai khi văn bản chỉ nêu tình hình."),
        Col("status_as_of", "date"),
        Col("source", required=True),
        Col("note"),
    ),
    key=("task_id",),
    doc="Nhiệm vụ của các kế hoạch.",
)

BUDGET = Table(
    "budget",
    (
        Col("province", required=True),
        Col("year_from", "number", required=True, doc="Năm đầu của khoảng (bằng year_to với số liệu một năm)."),
        Col("year_to", "number", required=True, doc="Năm cuối của khoảng."),
        Col("pillar", required=True, choices=BUDGET_PILLARS,
            doc="tổng, an toàn thông tin, chính quyền số, kinh tế số, xã hội số."),
        Col("kind", required=True, choices=BUDGET_KINDS,
            doc="bố trí (đã bố trí), đề xuất, dự kiến (tổng mức dự kiến của kế hoạch)."),
        Col("amount", "number", required=True, doc="Số tiền, tỷ đồng."),
        Col("unit", required=True, choices=("tỷ đồng",)),
        Col("as_of", "date"),
        Col("source", required=True),
        Col("note"),
    ),
    key=("province", "year_from", "year_to", "pillar", "kind"),
    doc="Kinh phí chuyển đổi số theo năm và trụ cột.",
)

DOCUMENTS = Table(
    "documents",
    (
        Col("doc_id", required=True),
        Col("province", required=True),
        Col("kind", required=True),
        Col("number"),
        Col("issued", "date"),
        Col("title_vi", required=True),
        Col("issuer"),
        Col("listed_in"),
        Col("source", required=True),
    ),
    key=("province", "doc_id"),
    doc="Văn bản chỉ đạo, kế hoạch, quyết định.",
)

PLATFORMS = Table(
    "platforms",
    (
        Col("platform_no", "number", required=True),
        Col("province", required=True),
        Col("name_vi", required=True),
        Col("owner"),
        Col("mode"),
        Col("source", required=True),
    ),
    key=("province", "platform_no"),
    doc="Nền tảng, hệ thống dùng chung.",
    optional=True,
)

# The observation columns a corrected resubmission may change; revisions.csv keeps their old values.
REVISED = ("since", "qualifier", "value", "precision", "status", "numerator", "denominator", "note", "reported_by")

REVISIONS = Table(
    "revisions",
    (
        Col("revised_at", required=True, doc="Thời điểm thay số liệu (giờ UTC, dạng 2026-04-05T08:30:00Z)."),
        Col("revised_by", required=True, doc="Người hoặc đơn vị gửi bản sửa (cột Đơn vị chịu trách nhiệm của sổ, "
                                             "hoặc tham số --by của dxreport ingest)."),
        Col("workbook", required=True, doc="Tên tệp Excel đã nhập."),
        Col("province", required=True),
        Col("indicator_id", required=True),
        Col("breakdown"),
        Col("as_of", "date", required=True),
        Col("source", required=True, doc="Bốn cột trên cùng tỉnh, mã chỉ tiêu, phân tổ, as_of, source là khóa của "
                                         "dòng observations.csv đã được thay."),
        *(Col(f"old_{name}", OBSERVATIONS.col(name).kind, doc=f"Giá trị cũ của cột {name}.") for name in REVISED),
    ),
    doc="Lịch sử thay số liệu: mỗi lần `dxreport ingest --replace` thay một dòng của observations.csv, "
        "dòng cũ được ghi thêm vào đây. Không sửa, không xóa các dòng của bảng này.",
    optional=True,
)

ALL = (SOURCES, UNITS, PILLARS, INDICATORS, OBSERVATIONS, TARGETS, ASSESSMENTS, TASKS, BUDGET,
       DOCUMENTS, PLATFORMS, REVISIONS)
BY_NAME = {t.name: t for t in ALL}
