"""The chapters of the report, in the order of the DTI framework, and their sections.

A notebook in `notebooks/` exists for each chapter; its file name starts with the number.
Sections list the indicators they state; `chart` names the indicator drawn. The last section of
each thematic chapter is automatic: every other indicator of the chapter's pillars that has a
figure or a target in the period, so no figure in `data/` goes unreported.
"""

from __future__ import annotations

from dataclasses import dataclass

# Plain specifications, kept apart from `chapter` (pandas, the data): the render reads them.


@dataclass(frozen=True)
class Section:
    slug: str
    title: str
    indicators: tuple[str, ...]
    chart: str | None = None  # indicator id whose breakdown (or value) is drawn
    auto: bool = False  # the chapter's other indicators with data or a target, as a table


@dataclass(frozen=True)
class ChapterSpec:
    slug: str
    number: int
    title: str
    notebook: str
    sections: tuple[Section, ...] = ()
    intro_vi: str = ""  # opening paragraph of a chapter without indicator sections


OTHERS = Section("khac", "Các chỉ tiêu khác", (), auto=True)

CHAPTERS: tuple[ChapterSpec, ...] = (
    ChapterSpec("tong-quan", 1, "Tổng quan", "01-tong-quan.ipynb", intro_vi=(
        "Báo cáo tổng hợp kết quả chuyển đổi số tỉnh {province} {period}, theo các trụ cột của Chỉ số "
        "chuyển đổi số cấp tỉnh (DTI): hạ tầng số, nhận thức số và nhân lực số, chính quyền số, kinh tế số, "
        "xã hội số và an toàn thông tin mạng. Mỗi số liệu được nêu với ngày “tính đến” của nó và nguồn; "
        "mốc của kỳ báo cáo là {until}.")),
    ChapterSpec(
        "ha-tang-so", 2, "Hạ tầng số", "02-ha-tang-so.ipynb",
        (
            Section("di-dong", "Băng rộng di động",
                    ("bbdd_thue_bao_100dan", "bbdd_thue_bao", "smartphone_ty_le_thue_bao", "bbdd_toc_do",
                     "thon_ban_phu_song_bbdd", "thon_ban_chua_phu_song_bbdd", "dan_so_phu_song_di_dong",
                     "khu_vuc_dan_cu_phu_song_di_dong", "bts", "phu_song_5g", "smartphone_dan_so_15",
                     "smartphone_ho_gd"),
                    chart="bts"),
            Section("co-dinh", "Băng rộng cố định",
                    ("bbcd_thue_bao_100dan", "bbcd_thue_bao", "ho_gd_cap_quang", "ho_gd_bang_rong_co_dinh",
                     "bbcd_toc_do", "bbcd_1gbps_nguoi_dung", "cap_quang_noi_tinh"),
                    chart="ho_gd_cap_quang"),
            Section("co-quan-nha-nuoc", "Hạ tầng số của cơ quan nhà nước",
                    ("co_quan_ket_noi_tsl_cd", "mang_tsl_cd_diem_ket_noi", "cbcc_co_may_tinh", "may_chu",
                     "co_quan_chuan_hoa_ha_tang_so"),
                    chart="may_chu"),
            Section("nen-tang", "Nền tảng số và dữ liệu số",
                    ("nen_tang_lgsp", "csdl_dung_chung_dien_toan_dam_may", "csdl_quoc_gia_ket_noi", "csdl_mo_ket_noi",
                     "csdl_so_hoa_lien_thong_tw", "du_lieu_tich_hop_truc_lien_thong", "ioc_tinh"),
                    chart="csdl_dung_chung_dien_toan_dam_may"),
            OTHERS,
        ),
    ),
    ChapterSpec(
        "nhan-luc-so", 3, "Nhận thức số và nhân lực số", "03-nhan-luc-so.ipynb",
        (
            Section("chi-dao", "Lãnh đạo, chỉ đạo và nâng cao nhận thức",
                    ("ke_hoach_cds_nam", "ke_hoach_cds_giai_doan", "bcd_cds_thanh_lap", "van_ban_trien_khai_kh586",
                     "trang_cds_tin_bai", "trang_cds_luot_theo_doi", "tin_bai_tuyen_truyen", "mo_hinh_diem_tuyen_truyen"),
                    chart="ke_hoach_cds_nam"),
            Section("nhan-luc", "Cán bộ chuyên trách và đào tạo, bồi dưỡng",
                    ("cb_chuyen_trach_cntt", "don_vi_co_cb_chuyen_trach_cntt", "ty_le_cb_chuyen_trach_cntt",
                     "cbccvc_dao_tao_ky_nang_so", "cds_dao_tao_luot", "cds_boi_duong_lop", "cds_boi_duong_hoc_vien",
                     "dao_tao_cds_lop", "dao_tao_cds_hoc_vien"),
                    chart="cb_chuyen_trach_cntt"),
            Section("to-cong-nghe-so", "Tổ công nghệ số cộng đồng",
                    ("to_cnscd", "to_cnscd_thanh_vien", "to_cnscd_tap_huan"),
                    chart="to_cnscd_thanh_vien"),
            Section("giao-duc", "Năng lực công nghệ thông tin trong giáo dục",
                    ("csgd_dap_ung_day_tin_hoc", "gd_tap_huan_cbgv"),
                    chart="csgd_dap_ung_day_tin_hoc"),
            OTHERS,
        ),
    ),
    ChapterSpec(
        "chinh-quyen-so", 4, "Chính quyền số", "04-chinh-quyen-so.ipynb",
        (
            Section("dich-vu-cong", "Dịch vụ công trực tuyến",
                    ("dvc_ho_so_truc_tuyen", "dvc_toan_trinh_ho_so", "ho_so_tthc_tiep_nhan", "so_hoa_ho_so_tthc",
                     "hai_long_tthc", "thanh_toan_truc_tuyen_giao_dich", "thanh_toan_truc_tuyen_so_tien",
                     "thanh_toan_truc_tuyen_tthc"),
                    chart="dvc_ho_so_truc_tuyen"),
            Section("de-an-06", "Thủ tục hành chính thiết yếu theo Đề án 06",
                    ("tthc_thiet_yeu_de_an06",), chart="tthc_thiet_yeu_de_an06"),
            Section("dieu-hanh", "Điều hành, liên thông và chia sẻ dữ liệu",
                    ("ho_so_cong_viec_truc_tuyen", "van_ban_lien_thong", "lgsp_ket_noi", "bao_cao_truc_tuyen",
                     "hoi_nghi_truc_tuyen"),
                    chart="lgsp_ket_noi"),
            OTHERS,
        ),
    ),
    ChapterSpec(
        "kinh-te-so", 5, "Kinh tế số", "05-kinh-te-so.ipynb",
        (
            Section("kinh-te-so", "Quy mô kinh tế số",
                    ("kts_grdp", "kts_grdp_xep_hang", "kts_ict_ty_trong", "kts_nganh_khac_ty_trong", "tk_ngan_hang_15t"),
                    chart="kts_grdp"),
            Section("thuong-mai-dien-tu", "Thương mại điện tử",
                    ("tmdt_xep_hang", "san_tmdt_na_thanh_vien", "san_tmdt_na_luot_truy_cap", "san_tmdt_na_san_pham",
                     "tmdt_chu_the_len_san", "tmdt_san_pham_len_san", "ocop_len_san_tmdt", "ocop_san_pham_tren_san",
                     "tmdt_dao_tao_luot"),
                    chart="ocop_san_pham_tren_san"),
            Section("khong-tien-mat", "Thanh toán không dùng tiền mặt",
                    ("truong_thu_hoc_phi_ktm", "hs_tai_khoan_ngan_hang", "hs_thanh_toan_hoc_phi_ktm",
                     "csgd_thu_phi_ktm", "co_so_y_te_thu_vien_phi_ktm", "thanh_toan_khong_tien_mat"),
                    chart="truong_thu_hoc_phi_ktm"),
            OTHERS,
        ),
    ),
    ChapterSpec(
        "xa-hoi-so", 6, "Xã hội số", "06-xa-hoi-so.ipynb",
        (
            Section("cong-dan-so", "Công dân số",
                    ("cccd_cap", "cccd_cap_ty_le", "dinh_danh_dien_tu_ho_so", "dinh_danh_dien_tu_kich_hoat",
                     "vneid_tien_ich"),
                    chart="cccd_cap"),
            Section("y-te-so", "Y tế số",
                    ("hssk_dien_tu", "hssk_co_du_lieu_kcb", "nguoi_dan_quan_ly_suc_khoe", "app_so_suc_khoe",
                     "csyt_lien_thong_hssk", "cskcb_phan_mem_kcb_bhyt", "cskcb_may_quet_qr_cccd"),
                    chart="csyt_lien_thong_hssk"),
            Section("giao-duc-so", "Giáo dục số",
                    ("csgd_phan_mem_quan_tri", "csgd_so_diem_hoc_ba_dien_tu", "csgd_su_dung_lms", "hoc_lieu_so"),
                    chart="csgd_phan_mem_quan_tri"),
            OTHERS,
        ),
    ),
    ChapterSpec(
        "an-toan-thong-tin", 7, "An toàn thông tin mạng", "07-an-toan-thong-tin.ipynb",
        (
            Section("cap-do", "Bảo đảm an toàn hệ thống thông tin theo cấp độ",
                    ("httt_phe_duyet_cap_do", "soc_thue_dich_vu", "soc_ket_noi"), chart="httt_phe_duyet_cap_do"),
            Section("ma-doc", "Phòng, chống mã độc",
                    ("may_tinh_phong_chong_ma_doc", "boc_go_ma_doc_nhan_thong_tin", "boc_go_ma_doc_trien_khai"),
                    chart="may_tinh_phong_chong_ma_doc"),
            Section("dao-tao", "Giám sát, diễn tập và đào tạo",
                    ("attt_giam_sat_dia_chi_ip", "attt_giam_sat_ten_mien", "attt_dien_tap_hang_nam",
                     "attt_khoa_tap_huan", "attt_tap_huan_lop", "attt_tap_huan_hoc_vien"),
                    chart="attt_tap_huan_hoc_vien"),
            OTHERS,
        ),
    ),
    ChapterSpec("nhiem-vu-kinh-phi", 8, "Nhiệm vụ và kinh phí", "08-nhiem-vu-kinh-phi.ipynb", intro_vi=(
        "Chương này đánh giá tình hình thực hiện các nhiệm vụ của các kế hoạch chuyển đổi số đã ban hành "
        "tính đến {until}, và kinh phí bố trí cho chuyển đổi số của tỉnh {province}.")),
    ChapterSpec("phu-luc", 9, "Phụ lục", "09-phu-luc.ipynb", intro_vi=(
        "Các phụ lục liệt kê đầy đủ mục tiêu và nhiệm vụ có hiệu lực {within}, với kết quả tính đến {until}.")),
)

BY_SLUG = {c.slug: c for c in CHAPTERS}


def spec(slug: str) -> ChapterSpec:
    try:
        return BY_SLUG[slug]
    except KeyError:
        raise KeyError(f"unknown chapter {slug!r}; known: {', '.join(BY_SLUG)}") from None


def section(chapter: ChapterSpec, slug: str) -> Section:
    return next(s for s in chapter.sections if s.slug == slug)
