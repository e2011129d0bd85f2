"""`dxreport draft`: a first narrative written from the data, never over an existing one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dxreport import draft, official, periods, story
from dxreport.cli import main
from dxreport.data import load

from conftest import REPO


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(REPO / "data", target)
    return target


def test_the_draft_states_shortfalls_and_next_tasks_from_the_data_and_leaves_placeholders(folder):
    path = draft.write("nghe-an", "2023-Q4", folder)
    assert path == folder / "bao-cao" / "nghe-an" / "2023-Q4.md"
    text = path.read_text(encoding="utf-8")
    for heading in ("## Mở đầu", "## Hạn chế, nguyên nhân", "### 1. Hạn chế", "### 2. Nguyên nhân",
                    "## Nhiệm vụ, giải pháp trong thời gian tới", "## Đề xuất, kiến nghị"):
        assert heading in text, heading
    assert "#### a) Mục tiêu chưa đạt" in text
    assert "mới đạt 49,56%" in text and "còn thiếu 30,44 điểm phần trăm" in text  # figure, target and gap
    assert "#### c) Nhiệm vụ quá hạn" in text and "đã quá thời hạn 30/9/2023" in text
    assert "còn 9/21 huyện chưa thực hiện" in text  # bodies that have not acted
    assert text.count("[[CẦN BỔ SUNG:") == 4  # opening, causes, tasks to add, proposals
    doc = official.document(load(folder), "nghe-an", periods.parse("2023-Q4"), folder)
    assert doc.draft
    assert [r for r in doc.remarks if r.kind == "number"] == []  # every figure it wrote matches the data
    assert {r.kind for r in doc.remarks} == {"placeholder"}


def test_tasks_and_targets_due_in_the_next_period_are_listed_with_their_owners(folder):
    text = draft.write("nghe-an", "2023-Q3", folder, force=True).read_text(encoding="utf-8")
    due = text.split("## Nhiệm vụ, giải pháp trong thời gian tới", 1)[1].split("## Đề xuất", 1)[0]
    assert "đến hạn trong quý IV năm 2023" in due
    assert "chủ trì: Sở TT&TT" in due and "hạn 31/12/2023" in due


def test_the_draft_follows_the_provinces_own_sections(folder):
    text = draft.write("ha-tinh", "2023-Q3", folder).read_text(encoding="utf-8")
    assert "## Khó khăn, vướng mắc, đề xuất, kiến nghị" in text
    assert "## Nhiệm vụ" not in text and "### 3. Đề xuất, kiến nghị" in text
    assert "### 1. Khó khăn, vướng mắc" in text


def test_an_existing_narrative_is_never_overwritten_without_force(folder, capsys):
    path = story.path_for(folder, "nghe-an", "2023-Q3")
    before = path.read_text(encoding="utf-8")
    assert main(["draft", "--province", "nghe-an", "--period", "2023-Q3", "--data-dir", str(folder)]) == 1
    assert "đã có; không ghi đè" in capsys.readouterr().err
    assert path.read_text(encoding="utf-8") == before
    assert main(["draft", "--province", "nghe-an", "--period", "2023-Q3", "--data-dir", str(folder), "--force"]) == 0
    assert path.read_text(encoding="utf-8") != before


def test_next_period_of_each_kind():
    assert draft.next_period(periods.parse("2023-Q4")).code == "2024-Q1"
    assert draft.next_period(periods.parse("2023-10")).code == "2023-11"
    assert draft.next_period(periods.parse("2023-H2")).code == "2024-H1"
    assert draft.next_period(periods.parse("2023")).code == "2024"
