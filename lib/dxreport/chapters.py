"""The chapters of the report, in the order of the DTI framework, and their sections.

A notebook in `notebooks/` exists for each chapter; its file name starts with the number.
Sections list the indicators they state; `chart` names the indicator drawn.
"""

from __future__ import annotations

from .chapter import ChapterSpec, Section

CHAPTERS: tuple[ChapterSpec, ...] = (
    ChapterSpec("tong-quan", 1, "Tổng quan", "01-tong-quan.ipynb"),
    ChapterSpec(
        "ha-tang-so", 2, "Hạ tầng số", "02-ha-tang-so.ipynb",
        (
            Section("di-dong", "Băng rộng di động",
                    ("bbdd_thue_bao_100dan", "bbdd_thue_bao", "smartphone_ty_le_thue_bao", "bbdd_toc_do",
                     "thon_ban_phu_song_bbdd", "dan_so_phu_song_di_dong", "bts", "phu_song_5g",
                     "smartphone_dan_so_15", "smartphone_ho_gd"),
                    chart="bbdd_toc_do"),
            Section("co-dinh", "Băng rộng cố định",
                    ("bbcd_thue_bao_100dan", "bbcd_thue_bao", "ho_gd_cap_quang", "ho_gd_bang_rong_co_dinh",
                     "bbcd_toc_do", "cap_quang_noi_tinh"),
                    chart="ho_gd_cap_quang"),
            Section("co-quan-nha-nuoc", "Hạ tầng số của cơ quan nhà nước",
                    ("co_quan_ket_noi_tsl_cd", "mang_tsl_cd_diem_ket_noi", "may_chu"),
                    chart="may_chu"),
        ),
    ),
    ChapterSpec("nhan-luc-so", 3, "Nhận thức số và nhân lực số", "03-nhan-luc-so.ipynb"),
    ChapterSpec("chinh-quyen-so", 4, "Chính quyền số", "04-chinh-quyen-so.ipynb"),
    ChapterSpec("kinh-te-so", 5, "Kinh tế số", "05-kinh-te-so.ipynb"),
    ChapterSpec("xa-hoi-so", 6, "Xã hội số", "06-xa-hoi-so.ipynb"),
    ChapterSpec("an-toan-thong-tin", 7, "An toàn thông tin mạng", "07-an-toan-thong-tin.ipynb"),
    ChapterSpec("nhiem-vu-kinh-phi", 8, "Nhiệm vụ và kinh phí", "08-nhiem-vu-kinh-phi.ipynb"),
    ChapterSpec("phu-luc", 9, "Phụ lục", "09-phu-luc.ipynb"),
)

BY_SLUG = {c.slug: c for c in CHAPTERS}


def spec(slug: str) -> ChapterSpec:
    try:
        return BY_SLUG[slug]
    except KeyError:
        raise KeyError(f"unknown chapter {slug!r}; known: {', '.join(BY_SLUG)}") from None


def section(chapter: ChapterSpec, slug: str) -> Section:
    return next(s for s in chapter.sections if s.slug == slug)
